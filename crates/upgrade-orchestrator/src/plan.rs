//! [`plan`]: what an upgrade of a domain would do, read from SDDC Manager without changing it.
//!
//! The plan reads the same answers the flow reads (next release, release bundles, upgradables)
//! and builds every request body by calling the functions the flow builds them with
//! (`machine::component_request`, `machine::sddc_manager_request`,
//! [`VcfApi::upgrade_body`], the check-set target versions), so it stays true when they change.
//! It only ever calls read operations of [`VcfApi`]: no download, no target version, no
//! check-set query or run, no upgrade.

use crate::names::component_name;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::api::{ApiResult, BomItem, BundleInfo, DownloadState, UpgradeRequest, VcfApi};
use crate::config::OrchestratorConfig;
use crate::machine::{
    FlowState, MAX_SDDC_UPGRADES, cluster_images, component_request, first_candidate, remaining,
    sddc_manager_request, vcenter_input,
};
use crate::notify::DomainRef;

/// The check-set resource types of an upgrade, in the order VCF checks them.
const CHECK_RESOURCE_TYPES: &[&str] = &["SDDC_MANAGER", "NSXT_MANAGER", "VCENTER", "ESXI"];

/// The request a plan shows: method and path, and the exact JSON body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedRequest {
    /// `POST /v1/upgrades`.
    pub endpoint: String,
    /// The body the flow would send.
    pub body: serde_json::Value,
}

/// One component upgrade, in VCF's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedUpgrade {
    /// Component (`NSX_T_MANAGER`, `VCENTER`, `HOST`, `SDDC_MANAGER`, …).
    pub component: String,
    /// Bundle VCF applies.
    pub bundle_id: String,
    /// VCF offers it now (`AVAILABLE`); the others follow once the earlier ones are done.
    pub available: bool,
    /// The request the flow sends for it, when it can be built now.
    pub request: Option<PlannedRequest>,
    /// Why there is no request yet.
    pub note: Option<String>,
}

/// A check-set resource type and the version it is checked against (target BOM).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckTarget {
    /// Resource type as VCF's check-set query names it.
    pub resource_type: String,
    /// `resourceTargetVersion` from the target BOM (none when the BOM has no entry for it).
    pub target_version: Option<String>,
}

/// What an upgrade of one domain would do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpgradePlan {
    /// The domain.
    pub domain: DomainRef,
    /// The domain's current VCF version.
    pub current_version: String,
    /// The release an upgrade installs (`None`: up to date).
    pub target_version: Option<String>,
    /// Release date of the target.
    pub release_date: Option<String>,
    /// Bundles the flow downloads (fallback bundles are downloaded, never applied).
    pub bundles: Vec<BundleInfo>,
    /// The SDDC Manager upgrade that goes first, if any.
    pub sddc_manager_first: Option<PlannedUpgrade>,
    /// Check-set resource types and their target versions.
    pub check_sets: Vec<CheckTarget>,
    /// False when VCF listed no upgradables for the target (before the target is set).
    pub upgradables_listed: bool,
    /// The component upgrades in VCF's order.
    pub upgrades: Vec<PlannedUpgrade>,
    /// When VCF lists no upgradables yet: what the target BOM says will be upgraded.
    pub bom: Vec<BomItem>,
    /// vLCM images to import before ESXi can be upgraded.
    pub images: Vec<String>,
    /// What stops the upgrade now.
    pub blockers: Vec<String>,
    /// Anything else worth knowing.
    pub notes: Vec<String>,
}

/// Reads SDDC Manager and returns what an upgrade of `domain` would do. Only read operations
/// of `api` are called.
///
/// # Errors
/// When SDDC Manager cannot tell the domain's releases (unreachable, unknown domain, …).
pub async fn plan(
    api: &dyn VcfApi,
    domain: &DomainRef,
    cfg: &OrchestratorConfig,
) -> ApiResult<UpgradePlan> {
    let check = api.next_release(&domain.id).await?;
    let mut plan = UpgradePlan {
        domain: domain.clone(),
        current_version: check.current_version.clone(),
        target_version: None,
        release_date: None,
        bundles: Vec::new(),
        sddc_manager_first: None,
        check_sets: Vec::new(),
        upgradables_listed: false,
        upgrades: Vec::new(),
        bom: Vec::new(),
        images: Vec::new(),
        blockers: Vec::new(),
        notes: Vec::new(),
    };
    let Some(target) = check.next else {
        plan.notes.push(format!(
            "No applicable VCF release after {}: nothing to upgrade",
            check.current_version
        ));
        return Ok(plan);
    };
    plan.target_version = Some(target.version.clone());
    plan.release_date.clone_from(&target.release_date);
    plan.bundles = api.release_bundles(&target).await?;
    // The flow's own bookkeeping decides what it would skip (fallback bundles) and start first.
    let mut flow = FlowState::new(domain.clone());
    flow.fallback_bundles = plan
        .bundles
        .iter()
        .filter(|b| b.fallback)
        .map(|b| b.id.clone())
        .collect();
    plan.check_sets = CHECK_RESOURCE_TYPES
        .iter()
        .map(|t| CheckTarget {
            resource_type: (*t).to_owned(),
            target_version: crate::vcf::resource_target_version(&target, t),
        })
        .collect();
    plan.notes.push(
        "VCF names the exact check-set resources in its check-set query, which is not sent \
         while planning"
            .to_owned(),
    );
    let snap = match api.upgradables(&domain.id, &target.version).await {
        Ok(snap) => snap,
        Err(e) => {
            plan.notes.push(format!(
                "Listing the upgradables for the target failed: {e}"
            ));
            Default::default()
        }
    };
    if snap.upgradables.is_empty() {
        plan.bom.clone_from(&target.bom);
        plan.notes.push(format!(
            "VCF lists upgradables only once VCF {} is set as the domain's target version \
             (the upgrade sets it after the downloads); the target BOM lists what will be upgraded",
            target.version
        ));
    } else {
        plan.upgradables_listed = true;
    }
    let first = first_candidate(&flow, &snap);
    for u in remaining(&flow, &snap) {
        let (component, request) = if u.is_sddc_manager() {
            let name = if u.component.is_empty() {
                "SDDC_MANAGER".to_owned()
            } else {
                u.component.clone()
            };
            (
                name,
                Ok(sddc_manager_request(&domain.id, u.bundle_id.clone())),
            )
        } else {
            let inputs = if u.is_esxi() {
                Ok((cluster_images(&snap, &target).found, None))
            } else {
                vcenter_input(u, &target, &domain.name, cfg).map(|v| (BTreeMap::new(), v))
            };
            match inputs.and_then(|(personalities, vcenter)| {
                component_request(
                    &domain.id,
                    u,
                    &snap,
                    cfg.per_upgrade_precheck,
                    personalities,
                    vcenter,
                )
            }) {
                Ok((component, request)) => (component, Ok(request)),
                Err(why) => (u.component.clone(), Err(why)),
            }
        };
        let mut planned = PlannedUpgrade {
            component,
            bundle_id: u.bundle_id.clone(),
            available: u.available,
            request: None,
            note: None,
        };
        match request {
            Ok(request) => {
                if request.draft {
                    planned.note = Some(
                        "Created as a draft, prechecked by VCF (POST /v1/upgrades/{id}/prechecks), \
                         then started (PATCH /v1/upgrades/{id} upgradeNow)"
                            .to_owned(),
                    );
                }
                planned.request = Some(planned_request(api, &request));
            }
            Err(_) if !u.available => {
                planned.note = Some(
                    "VCF lists the clusters to upgrade once this upgradable is AVAILABLE"
                        .to_owned(),
                );
            }
            Err(why) => plan.blockers.push(why),
        }
        let goes_first = first.as_ref().is_some_and(|f| f.bundle_id == u.bundle_id)
            && u.is_sddc_manager()
            && flow.sddc_upgrades < MAX_SDDC_UPGRADES;
        if goes_first {
            plan.sddc_manager_first = Some(planned);
        } else {
            plan.upgrades.push(planned);
        }
    }
    let left = remaining(&flow, &snap).count();
    if left > 0 && first.is_none() {
        plan.blockers.push(format!(
            "{left} upgradable(s) remain but none is AVAILABLE in VCF"
        ));
    }
    let images = cluster_images(&snap, &target);
    if !images.missing.is_empty() {
        plan.images.push(format!(
            "ESXi {} for {}",
            images
                .esxi_version
                .as_deref()
                .unwrap_or("of the target release"),
            images.missing.join(", ")
        ));
    }
    Ok(plan)
}

fn planned_request(api: &dyn VcfApi, request: &UpgradeRequest) -> PlannedRequest {
    PlannedRequest {
        endpoint: "POST /v1/upgrades".to_owned(),
        body: api.upgrade_body(request),
    }
}

// === rendering ===

impl UpgradePlan {
    /// The plan as markdown sections (one per topic), each short enough for one log entry.
    pub fn sections(&self) -> Vec<String> {
        let mut out = Vec::new();
        let Some(target) = &self.target_version else {
            out.push(format!(
                "**Plan for {}**: runs VCF {}; {}",
                self.domain.name,
                self.current_version,
                self.notes.join("; ")
            ));
            return out;
        };
        let date = self
            .release_date
            .as_deref()
            .map(|d| format!(" (released {d})"))
            .unwrap_or_default();
        out.push(format!(
            "**Plan for {}**: VCF {} → {target}{date}",
            self.domain.name, self.current_version
        ));
        let mut s = String::from("**Bundles to download**");
        if self.bundles.is_empty() {
            s.push_str(": none");
        }
        for b in &self.bundles {
            let state = match b.state {
                DownloadState::Done => "downloaded",
                DownloadState::InProgress => "downloading",
                DownloadState::Failed => "download failed",
                DownloadState::NotStarted => "to download",
            };
            let fallback = if b.fallback {
                " · fallback, never applied"
            } else {
                ""
            };
            s.push_str(&format!(
                "\n- {} {} ({state}{fallback}; bundle `{}`)",
                component_name(&b.component),
                b.version,
                b.id
            ));
        }
        out.push(s);
        let sddc_in_bom = self
            .bom
            .iter()
            .find(|b| b.name.to_ascii_uppercase().starts_with("SDDC_MANAGER"));
        out.push(match (&self.sddc_manager_first, sddc_in_bom) {
            (Some(u), _) => format!("**SDDC Manager goes first**\n{}", upgrade_line(u)),
            (None, Some(b)) => format!(
                "**SDDC Manager goes first**: when VCF offers its bundle first once the target \
                 is set (the BOM upgrades it to {})",
                b.version
            ),
            (None, None) => "**SDDC Manager goes first**: no".to_owned(),
        });
        let mut s = String::from("**Check-set resources** (target versions from the BOM)");
        for c in &self.check_sets {
            let v = c.target_version.as_deref().unwrap_or("not in the BOM");
            s.push_str(&format!("\n- {}: {v}", c.resource_type));
        }
        out.push(s);
        let mut s = String::from("**Component upgrades** (in VCF's order)");
        if self.upgrades.is_empty() && self.bom.is_empty() {
            s.push_str(": none");
        }
        for u in &self.upgrades {
            s.push('\n');
            s.push_str(&upgrade_line(u));
        }
        if !self.bom.is_empty() {
            s.push_str("\nVCF lists none yet; the target BOM upgrades:");
            for b in &self.bom {
                s.push_str(&format!("\n- {} → {}", b.name, b.version));
            }
        }
        out.push(s);
        if !self.images.is_empty() {
            out.push(format!(
                "**Images to import**\n- {}",
                self.images.join("\n- ")
            ));
        }
        out.push(if self.blockers.is_empty() {
            "**Blockers**: none".to_owned()
        } else {
            format!("**Blockers**\n- {}", self.blockers.join("\n- "))
        });
        if !self.notes.is_empty() {
            out.push(format!("**Notes**\n- {}", self.notes.join("\n- ")));
        }
        out
    }

    /// The plan as text for a terminal.
    pub fn to_text(&self) -> String {
        self.sections().join("\n\n") + "\n"
    }
}

fn upgrade_line(u: &PlannedUpgrade) -> String {
    let state = if u.available {
        "AVAILABLE"
    } else {
        "after the ones before it"
    };
    let mut line = format!(
        "- {} ({state}; bundle `{}`)",
        component_name(&u.component),
        u.bundle_id
    );
    if let Some(r) = &u.request {
        line.push_str(&format!("\n  `{}` `{}`", r.endpoint, r.body));
    }
    if let Some(note) = &u.note {
        line.push_str(&format!("\n  {note}"));
    }
    line
}
