//! [`Checked`]: what a list element must carry to be used at all.
//!
//! The models default almost every field, so a missing field never fails a poll; but an
//! element without what identifies it would become a wrong value (a domain named `""` becomes
//! `domain/unnamed/...` entities, a release without a version a wrong "up to date"). The
//! OpenAPI specs (5.2.1 and 9.0.2) mark `version` required on `Release` and
//! `DomainFutureRelease`, `id` on `Task` and `Upgrade`, `domainId` on `DomainReleaseView`,
//! `resourceId` on `UpgradablesClusterResource`; they mark nothing required on `Domain`,
//! `Cluster`, `Host` or `Upgradable`, whose ids (and names) the product keys its entities and
//! requests by, so they are required here too.

use super::{
    Bundle, Cluster, ClusterUpgradable, Domain, DomainReleaseView, FutureRelease, Host,
    Personality, Release, SddcManager, Task, Upgradable, Upgrade,
};

/// A list element's identity: what it must carry, and the id that must not repeat in a list.
pub trait Checked {
    /// What the element is, for messages (`a domain`).
    const WHAT: &'static str;
    /// The name of the field [`Checked::key`] reads.
    const KEY: &'static str = "id";
    /// The first required field that is missing or empty, by its JSON name.
    fn missing(&self) -> Option<&'static str> {
        None
    }
    /// The id that must be unique within one list, if the element has one.
    fn key(&self) -> Option<&str> {
        None
    }
}

fn empty(s: &str) -> bool {
    s.trim().is_empty()
}

/// The first of `fields` (JSON name, value) that is missing or empty.
fn first_missing<const N: usize>(
    fields: [(&'static str, Option<&str>); N],
) -> Option<&'static str> {
    fields
        .into_iter()
        .find(|(_, v)| v.is_none_or(empty))
        .map(|(name, _)| name)
}

impl Checked for Domain {
    const WHAT: &'static str = "a domain";
    fn missing(&self) -> Option<&'static str> {
        first_missing([("id", Some(&self.id)), ("name", Some(&self.name))])
    }
    fn key(&self) -> Option<&str> {
        Some(&self.id)
    }
}

impl Checked for Cluster {
    const WHAT: &'static str = "a cluster";
    fn missing(&self) -> Option<&'static str> {
        first_missing([("id", Some(&self.id)), ("name", Some(&self.name))])
    }
    fn key(&self) -> Option<&str> {
        Some(&self.id)
    }
}

impl Checked for Host {
    const WHAT: &'static str = "a host";
    fn missing(&self) -> Option<&'static str> {
        first_missing([("id", Some(&self.id)), ("fqdn", self.fqdn.as_deref())])
    }
    fn key(&self) -> Option<&str> {
        Some(&self.id)
    }
}

impl Checked for SddcManager {
    const WHAT: &'static str = "an SDDC Manager";
}

impl Checked for Personality {
    const WHAT: &'static str = "a personality";
    const KEY: &'static str = "personalityId";
    fn missing(&self) -> Option<&'static str> {
        first_missing([("personalityId", Some(&self.personality_id))])
    }
    fn key(&self) -> Option<&str> {
        Some(&self.personality_id)
    }
}

impl Checked for Release {
    const WHAT: &'static str = "a release";
    fn missing(&self) -> Option<&'static str> {
        first_missing([("version", Some(&self.version))])
    }
}

impl Checked for FutureRelease {
    const WHAT: &'static str = "a future release";
    fn missing(&self) -> Option<&'static str> {
        first_missing([("version", Some(&self.version))])
    }
}

impl Checked for DomainReleaseView {
    const WHAT: &'static str = "a domain release view";
    const KEY: &'static str = "domainId";
    fn missing(&self) -> Option<&'static str> {
        first_missing([("domainId", Some(&self.domain_id))])
    }
    fn key(&self) -> Option<&str> {
        Some(&self.domain_id)
    }
}

impl Checked for Upgradable {
    const WHAT: &'static str = "an upgradable";
    fn missing(&self) -> Option<&'static str> {
        first_missing([("bundleId", Some(&self.bundle_id))])
    }
}

impl Checked for ClusterUpgradable {
    const WHAT: &'static str = "a cluster upgradable";
    const KEY: &'static str = "resourceId";
    fn missing(&self) -> Option<&'static str> {
        first_missing([("resourceId", Some(&self.resource_id))])
    }
    fn key(&self) -> Option<&str> {
        Some(&self.resource_id)
    }
}

impl Checked for Bundle {
    const WHAT: &'static str = "a bundle";
    fn missing(&self) -> Option<&'static str> {
        first_missing([("id", Some(&self.id))])
    }
    fn key(&self) -> Option<&str> {
        Some(&self.id)
    }
}

impl Checked for Task {
    const WHAT: &'static str = "a task";
    fn missing(&self) -> Option<&'static str> {
        first_missing([("id", Some(&self.id))])
    }
    fn key(&self) -> Option<&str> {
        Some(&self.id)
    }
}

impl Checked for Upgrade {
    const WHAT: &'static str = "an upgrade";
    fn missing(&self) -> Option<&'static str> {
        first_missing([("id", Some(&self.id))])
    }
    fn key(&self) -> Option<&str> {
        Some(&self.id)
    }
}
