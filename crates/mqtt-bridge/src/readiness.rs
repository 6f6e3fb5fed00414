//! Upgrade readiness: whether each domain can be upgraded now, and every reason it cannot.
//!
//! The poller ([`poll`]) reads, at the updates cadence, what blocks real VCF upgrades — password
//! expiry and disconnected accounts, resource certificates, the SDDC Manager backup, the depot
//! and recently failed tasks — into [`Inputs`]; [`evaluate`] (pure, given `now`) turns them into a
//! [`Report`]: one [`Summary`] for the SDDC Manager and one per domain, each `ready`, `warnings`
//! or `blocked` with every reason listed. Start Upgrade on a `blocked` domain is refused unless
//! its Override Readiness switch ([`overrides`]) is on.
//!
//! What blocks and what only warns:
//!
//! | finding | level | why |
//! |---|---|---|
//! | password expired, account disconnected | blocked | SDDC Manager cannot log in to the component it must upgrade |
//! | certificate expired, or signed with SHA-1 | blocked | upgrade prechecks fail on them |
//! | password or certificate expiring within the threshold | warning | it may expire during the upgrade |
//! | no successful backup within `backup_max_age`, backup not configured | warning | VMware asks for an SDDC Manager backup before an upgrade |
//! | depot not configured or not working (9.x: no download token, sync failed) | warning | bundles cannot be downloaded (they may be already) |
//! | failed tasks in the window | warning | a failed workflow can stop the next one; a domain's own failed upgrade is retried with Retry Upgrade, which must stay possible |
//! | an area could not be read | warning | unknown is not ready, but not proof of a problem |
//! | 9.x: a cluster's hosts differ from its vLCM image (`NON_COMPLIANT`), or its compliance is `UNAVAILABLE` | warning | the ESXi upgrade remediates the drift; worth knowing before it does |
//! | 9.x: a cluster's image is `INCOMPATIBLE` with a host | blocked | vSphere Lifecycle Manager cannot apply the image to that host: the ESXi upgrade of the cluster would fail |
//! | 9.x: an active SDDC Manager notification of severity `ERROR` or `CRITICAL` | warning | SDDC Manager itself reports a problem on the domain (or the instance) |
//!
//! Accounts belong to the domains named in their `resource.domainNames`; accounts without a
//! domain, the backup, the depot and failed tasks concern the whole SDDC Manager, so their
//! reasons are listed on every domain too.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub mod actions;
pub mod notices;
pub mod overrides;
pub mod poll;

/// The latest [`Report`], shared by the monitor (writes) and the command task (reads).
pub type Board = Arc<RwLock<Option<Report>>>;

/// The readiness of a domain or of the SDDC Manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Nothing found.
    Ready,
    /// Something to look at; Start Upgrade is allowed.
    Warnings,
    /// Start Upgrade is refused (unless overridden).
    Blocked,
}

impl Level {
    /// The sensor state (`ready`, `warnings`, `blocked`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::Warnings => "warnings",
            Self::Blocked => "blocked",
        }
    }
}

/// Every state of the Upgrade Readiness sensor.
pub const STATES: &[&str] = &["ready", "warnings", "blocked"];

/// The area a reason comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    /// Passwords and accounts.
    Credentials,
    /// Resource certificates.
    Certificates,
    /// The SDDC Manager backup.
    Backup,
    /// The bundle depot.
    Depot,
    /// Failed tasks.
    Tasks,
    /// 9.x: cluster image compliance.
    Images,
    /// 9.x: SDDC Manager notifications.
    Notifications,
}

/// One thing that keeps a domain from being `ready`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// `warnings` or `blocked`.
    pub level: Level,
    /// Where it comes from.
    pub area: Area,
    /// What, in one sentence.
    pub text: String,
}

/// The thresholds (`[readiness]` configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// A password expiring within this many days is a warning.
    pub password_expiry_days: i64,
    /// A certificate expiring within this many days is a warning.
    pub certificate_expiry_days: i64,
    /// The last successful backup may be this old.
    pub backup_max_age: Duration,
    /// Failed tasks completed within this window are listed.
    pub failed_task_window: Duration,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            password_expiry_days: 14,
            certificate_expiry_days: 30,
            backup_max_age: Duration::from_secs(24 * 3600),
            failed_task_window: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// An account and its password expiry (`GET /v1/credentials`, refreshed by the expiration
/// checks).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Account {
    /// Credential id.
    pub id: String,
    /// User name.
    pub username: String,
    /// Resource name (FQDN).
    pub resource: String,
    /// Resource type (`VCENTER`).
    pub resource_type: String,
    /// Domain names (empty: SDDC-wide).
    #[serde(skip)]
    pub domains: Vec<String>,
    /// Password expiry.
    pub expires: Option<DateTime<Utc>>,
    /// `ACTIVE`, `EXPIRING`, `EXPIRED`, `UNKNOWN`.
    #[serde(skip)]
    pub status: Option<String>,
    /// `ACTIVE`, `ERROR`, `UNKNOWN`.
    #[serde(skip)]
    pub connectivity: Option<String>,
}

/// A resource certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Cert {
    /// Resource name (FQDN).
    pub resource: String,
    /// Resource type.
    pub resource_type: String,
    /// Not valid after.
    pub not_after: Option<DateTime<Utc>>,
    /// Days to expiry as SDDC Manager reports them.
    #[serde(skip)]
    pub days_to_expire: Option<i64>,
    /// `ACTIVE`, `ABOUT_TO_EXPIRE`, `EXPIRED`.
    #[serde(skip)]
    pub expiration_status: Option<String>,
    /// Signature algorithm.
    pub signature_algorithm: Option<String>,
}

/// The SDDC Manager backup.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Backup {
    /// `isConfigured` of the backup configuration.
    pub configured: Option<bool>,
    /// Backup server.
    pub server: Option<String>,
    /// Completion of the newest successful backup task.
    pub last_success: Option<DateTime<Utc>>,
    /// The newest backup task (id, status), if any.
    pub last_task: Option<(String, String)>,
    /// More backup tasks existed than were read.
    pub truncated: bool,
}

/// The depot account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Depot {
    /// An online or offline depot account is set.
    pub configured: bool,
    /// The account's `status`.
    pub status: Option<String>,
    /// Its `message`.
    pub message: Option<String>,
    /// 9.x: a download token is set (`None` on 5.2).
    pub download_token: Option<bool>,
    /// 9.x: `syncStatus` of the last depot sync.
    pub sync_status: Option<String>,
    /// 9.x: its `errorMessage`.
    pub sync_error: Option<String>,
}

/// A failed task.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FailedTask {
    /// Task id (the payload of the retry command).
    pub id: String,
    /// Task name.
    pub name: String,
    /// Task type.
    pub kind: Option<String>,
    /// Completion time.
    pub completed: Option<DateTime<Utc>>,
    /// `isRetryable`.
    pub retryable: bool,
}

/// Failed tasks of the window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FailedTasks {
    /// The failed, unresolved tasks.
    pub tasks: Vec<FailedTask>,
    /// More tasks completed in the window than were read.
    pub truncated: bool,
}

/// The event types of the SDDC Manager Notification event entity: a notification's severity in
/// lower case, `other` for a severity outside the list (the spec types it as free text).
pub const NOTIFICATION_EVENT_TYPES: &[&str] = &["info", "warning", "error", "critical", "other"];

/// A 9.x SDDC Manager notification (`GET /v1/notifications`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Notice {
    /// What tells it apart from the others (the spec gives notifications no id): creation time,
    /// type, message id and arguments, resources and domain.
    #[serde(skip)]
    pub key: String,
    /// Severity as SDDC Manager wrote it (`ERROR`).
    pub severity: String,
    /// Type as SDDC Manager wrote it.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The localized message (else the message id, else the type).
    pub message: String,
    /// Created.
    pub created: Option<DateTime<Utc>>,
    /// Expires.
    pub expires: Option<DateTime<Utc>>,
    /// Domain id.
    #[serde(skip)]
    pub domain_id: Option<String>,
    /// Domain name.
    pub domain: Option<String>,
    /// Resource names (FQDNs).
    pub resources: Vec<String>,
}

impl Notice {
    /// The event type: the severity in lower case when it is one of
    /// [`NOTIFICATION_EVENT_TYPES`], else `other`.
    pub fn event_type(&self) -> &'static str {
        let s = self.severity.trim().to_ascii_lowercase();
        let s = match s.as_str() {
            "warn" => "warning",
            "information" | "informational" => "info",
            other => other,
        };
        NOTIFICATION_EVENT_TYPES
            .iter()
            .find(|t| **t == s)
            .copied()
            .unwrap_or("other")
    }

    /// Whether SDDC Manager reports a problem (`ERROR`, `CRITICAL`).
    pub fn is_problem(&self) -> bool {
        matches!(self.event_type(), "error" | "critical")
    }

    /// Still shown at `now`.
    pub fn active(&self, now: DateTime<Utc>) -> bool {
        self.expires.is_none_or(|e| e > now)
    }
}

/// States of the Image Compliance sensor (`not_available`: SDDC Manager has no result, or says
/// `UNAVAILABLE`, or answered a status this list does not have).
pub const IMAGE_COMPLIANCE_STATES: &[&str] = &[
    "compliant",
    "non_compliant",
    "incompatible",
    "not_available",
];

/// One non-compliant entry of a cluster's image compliance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ComplianceFinding {
    /// Host (entity) name.
    pub host: String,
    /// Component name.
    pub component: String,
    /// `BASE_IMAGE`, `COMPONENTS`, `HARDWARE_SUPPORT`, ...
    pub component_type: Option<String>,
    /// `NON_COMPLIANT`, `INCOMPATIBLE`, `UNAVAILABLE`.
    pub status: String,
    /// `ERROR`, `WARNING`, `INFO`.
    pub severity: Option<String>,
    /// Version on the host.
    pub current: Option<String>,
    /// Version the image wants.
    pub target: Option<String>,
    /// What is wrong.
    pub message: Option<String>,
}

/// A 9.x cluster's compliance with its vLCM image (`GET /v1/clusters/{id}/image-compliance`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImageCompliance {
    /// Cluster name (from the answer; the id when it names none).
    pub cluster: String,
    /// One of [`IMAGE_COMPLIANCE_STATES`].
    pub state: &'static str,
    /// The status as SDDC Manager wrote it (`None`: no result, the spec's 404).
    pub status: Option<String>,
    /// When SDDC Manager computed it.
    pub checked: Option<DateTime<Utc>>,
    /// The image's name.
    pub image: Option<String>,
    /// The image's ESXi base image version.
    pub base_image: Option<String>,
    /// Entries that are not compliant, errors first.
    pub findings: Vec<ComplianceFinding>,
}

/// A cluster's image compliance as read, with the domain the cluster belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterImage {
    /// Cluster name.
    pub name: String,
    /// Owning domain id.
    pub domain_id: String,
    /// What was read; `Err` is why it could not be.
    pub read: Result<ImageCompliance, String>,
}

impl ImageCompliance {
    /// The sensor state for a VCF status.
    pub fn state_of(status: Option<&str>) -> &'static str {
        match status.map(|s| s.trim().to_ascii_uppercase()).as_deref() {
            Some("COMPLIANT") => "compliant",
            Some("NON_COMPLIANT") => "non_compliant",
            Some("INCOMPATIBLE") => "incompatible",
            _ => "not_available",
        }
    }
}

/// What the poller read; `Err` is why an area could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    /// Accounts.
    pub accounts: Result<Vec<Account>, String>,
    /// Certificates by domain id.
    pub certificates: BTreeMap<String, Result<Vec<Cert>, String>>,
    /// Backup.
    pub backup: Result<Backup, String>,
    /// Depot.
    pub depot: Result<Depot, String>,
    /// Failed tasks.
    pub failed_tasks: Result<FailedTasks, String>,
    /// 9.x: SDDC Manager's notifications (`None` on 5.2).
    pub notifications: Option<Result<Vec<Notice>, String>>,
    /// 9.x: image compliance by cluster id (empty on 5.2; `Err` when the cluster list could not
    /// be read).
    pub image_compliance: Result<BTreeMap<String, ClusterImage>, String>,
}

/// The readiness of the SDDC Manager or of one domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// The worst level of `reasons`.
    pub state: Level,
    /// Every reason, blocking ones first.
    pub reasons: Vec<Reason>,
    /// Accounts with an expired, expiring or disconnected password.
    pub accounts: Vec<Account>,
    /// Certificates expired, expiring or with a weak signature (domains only).
    pub certificates: Vec<Cert>,
}

impl Summary {
    fn new(reasons: Vec<Reason>, accounts: Vec<Account>, certificates: Vec<Cert>) -> Self {
        let mut reasons = reasons;
        // Stable: blocked first, then in the order found.
        reasons.sort_by_key(|r| std::cmp::Reverse(r.level));
        Self {
            state: reasons
                .iter()
                .map(|r| r.level)
                .max()
                .unwrap_or(Level::Ready),
            reasons,
            accounts,
            certificates,
        }
    }

    /// The reasons that block, as one line each.
    pub fn blocking(&self) -> Vec<&str> {
        self.reasons
            .iter()
            .filter(|r| r.level == Level::Blocked)
            .map(|r| r.text.as_str())
            .collect()
    }
}

/// A whole evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// When it was evaluated.
    pub checked_at: DateTime<Utc>,
    /// The SDDC Manager: SDDC-wide reasons plus every domain's (its state is the worst).
    pub sddc: Summary,
    /// By domain id.
    pub domains: BTreeMap<String, Summary>,
    /// The backup as read.
    pub backup: Option<Backup>,
    /// The depot as read.
    pub depot: Option<Depot>,
    /// Failed tasks as read.
    pub failed_tasks: Option<FailedTasks>,
    /// 9.x: the active notifications, newest first (`None` on 5.2 or when unreadable).
    pub notifications: Option<Vec<Notice>>,
    /// 9.x: image compliance by cluster id.
    pub image_compliance: BTreeMap<String, ClusterImage>,
}

fn reason(level: Level, area: Area, text: String) -> Reason {
    Reason { level, area, text }
}

fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

fn days_until(t: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    (t - now).num_hours().div_euclid(24)
}

fn human_age(d: chrono::TimeDelta) -> String {
    let h = d.num_hours();
    if h >= 48 {
        format!("{} days", h / 24)
    } else if h >= 1 {
        format!("{h} hours")
    } else {
        format!("{} minutes", d.num_minutes().max(0))
    }
}

fn eq(a: Option<&str>, want: &str) -> bool {
    a.is_some_and(|a| a.eq_ignore_ascii_case(want))
}

/// What is wrong with an account, if anything.
fn account_reason(a: &Account, th: &Thresholds, now: DateTime<Utc>) -> Option<Reason> {
    let who = format!("{} on {} ({})", a.username, a.resource, a.resource_type);
    if eq(a.connectivity.as_deref(), "ERROR") {
        return Some(reason(
            Level::Blocked,
            Area::Credentials,
            format!("Account {who} is disconnected: SDDC Manager cannot log in with it"),
        ));
    }
    let expired_by_date = a.expires.is_some_and(|e| e <= now);
    if eq(a.status.as_deref(), "EXPIRED") || expired_by_date {
        let when = a
            .expires
            .map(|e| format!(" on {}", day(e)))
            .unwrap_or_default();
        return Some(reason(
            Level::Blocked,
            Area::Credentials,
            format!("Password of {who} expired{when}"),
        ));
    }
    match a.expires {
        Some(e) if days_until(e, now) < th.password_expiry_days => Some(reason(
            Level::Warnings,
            Area::Credentials,
            format!(
                "Password of {who} expires in {} days ({})",
                days_until(e, now),
                day(e)
            ),
        )),
        None if eq(a.status.as_deref(), "EXPIRING") => Some(reason(
            Level::Warnings,
            Area::Credentials,
            format!("Password of {who} is about to expire"),
        )),
        _ => None,
    }
}

/// What is wrong with a certificate, if anything (one reason each, worst first).
fn cert_reasons(c: &Cert, th: &Thresholds, now: DateTime<Utc>) -> Vec<Reason> {
    let what = format!("Certificate of {} ({})", c.resource, c.resource_type);
    let mut out = Vec::new();
    let days = c.not_after.map(|t| days_until(t, now)).or(c.days_to_expire);
    let expired = eq(c.expiration_status.as_deref(), "EXPIRED")
        || c.not_after.is_some_and(|t| t <= now)
        || (c.not_after.is_none() && days.is_some_and(|d| d < 0));
    let when = |t: Option<DateTime<Utc>>| t.map(|t| format!(" ({})", day(t))).unwrap_or_default();
    if expired {
        out.push(reason(
            Level::Blocked,
            Area::Certificates,
            format!("{what} expired{}", when(c.not_after)),
        ));
    } else if let Some(d) = days.filter(|d| *d < th.certificate_expiry_days) {
        out.push(reason(
            Level::Warnings,
            Area::Certificates,
            format!("{what} expires in {d} days{}", when(c.not_after)),
        ));
    }
    if let Some(alg) = &c.signature_algorithm {
        let norm = alg.to_ascii_uppercase().replace('-', "");
        if norm.starts_with("SHA1") {
            out.push(reason(
                Level::Blocked,
                Area::Certificates,
                format!("{what} is signed with {alg}, a weak (SHA-1) signature"),
            ));
        }
    }
    out
}

fn unreadable(area: Area, what: &str, e: &str) -> Reason {
    reason(Level::Warnings, area, format!("Could not read {what}: {e}"))
}

/// The SDDC-wide reasons: backup, depot, failed tasks.
fn sddc_reasons(inputs: &Inputs, th: &Thresholds, now: DateTime<Utc>) -> Vec<Reason> {
    let mut out = Vec::new();
    match &inputs.backup {
        Err(e) => out.push(unreadable(Area::Backup, "the SDDC Manager backup", e)),
        Ok(b) => {
            if b.configured == Some(false) {
                out.push(reason(
                    Level::Warnings,
                    Area::Backup,
                    "SDDC Manager backup is not configured (no backup server)".into(),
                ));
            }
            let max =
                chrono::TimeDelta::from_std(th.backup_max_age).unwrap_or(chrono::TimeDelta::MAX);
            match b.last_success {
                None if b.configured != Some(false) => out.push(reason(
                    Level::Warnings,
                    Area::Backup,
                    "No successful SDDC Manager backup found".into(),
                )),
                Some(t) if now - t > max => out.push(reason(
                    Level::Warnings,
                    Area::Backup,
                    format!(
                        "Last successful SDDC Manager backup is {} old (at most {} allowed)",
                        human_age(now - t),
                        humantime::format_duration(th.backup_max_age)
                    ),
                )),
                _ => {}
            }
        }
    }
    match &inputs.depot {
        Err(e) => out.push(unreadable(Area::Depot, "the depot settings", e)),
        Ok(d) => {
            let ok = eq(d.status.as_deref(), "DEPOT_CONNECTION_SUCCESSFUL");
            if !d.configured || eq(d.status.as_deref(), "DEPOT_USER_NOT_SET") {
                out.push(reason(
                    Level::Warnings,
                    Area::Depot,
                    "No depot account is configured: bundles cannot be downloaded".into(),
                ));
            } else if d.download_token == Some(false) && !ok {
                out.push(reason(
                    Level::Warnings,
                    Area::Depot,
                    "No depot download token is set: bundles cannot be downloaded".into(),
                ));
            } else if !ok {
                let status = d.status.as_deref().unwrap_or("no status");
                let msg = d
                    .message
                    .as_deref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default();
                out.push(reason(
                    Level::Warnings,
                    Area::Depot,
                    format!("Depot connection is not working ({status}){msg}"),
                ));
            }
            if let Some(s) = &d.sync_status
                && s.to_ascii_uppercase().contains("FAIL")
            {
                let msg = d
                    .sync_error
                    .as_deref()
                    .map(|m| format!(": {m}"))
                    .unwrap_or_default();
                out.push(reason(
                    Level::Warnings,
                    Area::Depot,
                    format!("Last depot sync {s}{msg}"),
                ));
            }
        }
    }
    match &inputs.notifications {
        None => {}
        Some(Err(e)) => out.push(unreadable(
            Area::Notifications,
            "the SDDC Manager notifications",
            e,
        )),
        Some(Ok(list)) => out.extend(
            list.iter()
                .filter(|n| n.domain_id.is_none() && n.is_problem() && n.active(now))
                .map(notice_reason),
        ),
    }
    if let Err(e) = &inputs.image_compliance {
        out.push(unreadable(
            Area::Images,
            "the clusters for their image compliance",
            e,
        ));
    }
    match &inputs.failed_tasks {
        Err(e) => out.push(unreadable(Area::Tasks, "the recent tasks", e)),
        Ok(f) => {
            for t in &f.tasks {
                let when = t
                    .completed
                    .map(|c| format!(" on {}", day(c)))
                    .unwrap_or_default();
                let retry = if t.retryable { " (retryable)" } else { "" };
                out.push(reason(
                    Level::Warnings,
                    Area::Tasks,
                    format!("Task \"{}\" failed{when}{retry}", t.name),
                ));
            }
        }
    }
    out
}

fn notice_reason(n: &Notice) -> Reason {
    reason(
        Level::Warnings,
        Area::Notifications,
        format!("SDDC Manager reports ({}): {}", n.severity, n.message),
    )
}

/// What a cluster's image compliance says, if anything.
fn image_reason(c: &ImageCompliance) -> Option<Reason> {
    let first = c
        .findings
        .first()
        .and_then(|f| f.message.clone())
        .map(|m| format!(": {m}"))
        .unwrap_or_default();
    let hosts = {
        let mut h: Vec<&str> = c.findings.iter().map(|f| f.host.as_str()).collect();
        h.sort_unstable();
        h.dedup();
        h.len()
    };
    match c.state {
        "non_compliant" => Some(reason(
            Level::Warnings,
            Area::Images,
            format!(
                "Cluster {} is not compliant with its image ({hosts} host(s) differ){first}",
                c.cluster
            ),
        )),
        "incompatible" => Some(reason(
            Level::Blocked,
            Area::Images,
            format!(
                "The image of cluster {} is incompatible with its hosts (the ESXi upgrade would fail){first}",
                c.cluster
            ),
        )),
        "compliant" => None,
        // VCF said UNAVAILABLE (or a status we do not know); no result at all says nothing.
        _ if c.status.is_some() => Some(reason(
            Level::Warnings,
            Area::Images,
            format!(
                "Image compliance of cluster {} could not be determined ({})",
                c.cluster,
                c.status.as_deref().unwrap_or_default()
            ),
        )),
        _ => None,
    }
}

/// Evaluates `inputs` for `domains` (id, name) at `now`.
pub fn evaluate(
    domains: &[(String, String)],
    inputs: &Inputs,
    th: &Thresholds,
    now: DateTime<Utc>,
) -> Report {
    let shared = sddc_reasons(inputs, th, now);
    // Accounts: by domain name, or SDDC-wide.
    let mut sddc_accounts: Vec<(Account, Reason)> = Vec::new();
    let mut by_domain: BTreeMap<&str, Vec<(Account, Reason)>> = BTreeMap::new();
    let mut shared_account_error = None;
    match &inputs.accounts {
        Err(e) => shared_account_error = Some(unreadable(Area::Credentials, "the credentials", e)),
        Ok(accounts) => {
            for a in accounts {
                let Some(r) = account_reason(a, th, now) else {
                    continue;
                };
                let known: Vec<&str> = a
                    .domains
                    .iter()
                    .filter_map(|n| {
                        domains
                            .iter()
                            .find(|(_, dn)| dn == n)
                            .map(|(_, dn)| dn.as_str())
                    })
                    .collect();
                if known.is_empty() {
                    sddc_accounts.push((a.clone(), r));
                } else {
                    for n in known {
                        by_domain.entry(n).or_default().push((a.clone(), r.clone()));
                    }
                }
            }
        }
    }
    let shared_with_accounts: Vec<Reason> = shared_account_error
        .iter()
        .cloned()
        .chain(sddc_accounts.iter().map(|(_, r)| r.clone()))
        .chain(shared.iter().cloned())
        .collect();

    let mut out = BTreeMap::new();
    let mut all_reasons = shared_with_accounts.clone();
    let mut all_accounts: Vec<Account> = sddc_accounts.iter().map(|(a, _)| a.clone()).collect();
    for (id, name) in domains {
        let mine = by_domain.remove(name.as_str()).unwrap_or_default();
        let mut reasons: Vec<Reason> = mine.iter().map(|(_, r)| r.clone()).collect();
        let mut certs = Vec::new();
        match inputs.certificates.get(id) {
            None => {}
            Some(Err(e)) => reasons.push(unreadable(
                Area::Certificates,
                &format!("the certificates of {name}"),
                e,
            )),
            Some(Ok(list)) => {
                for c in list {
                    let rs = cert_reasons(c, th, now);
                    if !rs.is_empty() {
                        certs.push(c.clone());
                        reasons.extend(rs);
                    }
                }
            }
        }
        let clusters = inputs.image_compliance.as_ref().ok().into_iter().flatten();
        for (_, c) in clusters.filter(|(_, c)| &c.domain_id == id) {
            match &c.read {
                Ok(ic) => reasons.extend(image_reason(ic)),
                Err(e) => reasons.push(unreadable(
                    Area::Images,
                    &format!("the image compliance of cluster {}", c.name),
                    e,
                )),
            }
        }
        if let Some(Ok(list)) = &inputs.notifications {
            reasons.extend(
                list.iter()
                    .filter(|n| n.domain_id.as_deref() == Some(id.as_str()))
                    .filter(|n| n.is_problem() && n.active(now))
                    .map(notice_reason),
            );
        }
        let domain_only: Vec<Reason> = reasons.clone();
        all_reasons.extend(domain_only.into_iter().map(|mut r| {
            r.text = format!("{name}: {}", r.text);
            r
        }));
        all_accounts.extend(mine.iter().map(|(a, _)| a.clone()));
        reasons.extend(shared_with_accounts.iter().cloned());
        let mut accounts: Vec<Account> = mine.into_iter().map(|(a, _)| a).collect();
        accounts.extend(sddc_accounts.iter().map(|(a, _)| a.clone()));
        out.insert(id.clone(), Summary::new(reasons, accounts, certs));
    }
    all_accounts.dedup_by(|a, b| a.id == b.id);
    Report {
        checked_at: now,
        sddc: Summary::new(all_reasons, all_accounts, Vec::new()),
        domains: out,
        backup: inputs.backup.as_ref().ok().cloned(),
        depot: inputs.depot.as_ref().ok().cloned(),
        failed_tasks: inputs.failed_tasks.as_ref().ok().cloned(),
        notifications: match &inputs.notifications {
            Some(Ok(list)) => {
                let mut active: Vec<Notice> =
                    list.iter().filter(|n| n.active(now)).cloned().collect();
                active.sort_by_key(|n| std::cmp::Reverse(n.created));
                Some(active)
            }
            _ => None,
        },
        image_compliance: inputs.image_compliance.clone().unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests;
