//! [`VcfApi`] over [`vcf_client::VcfClient`]: maps client models and errors to the small types
//! the state machine works on.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::json;
use vcf_client::{
    AssessmentMetadata, AssessmentOutput, AssessmentResource, BomEntry, CheckSetQueryDomain,
    CheckSetQueryInput, CheckSetQueryResource, CheckSetResource, CheckSetRunInput,
    CheckSetSelection, Release, ResourceUpgradeSpec, SelectedCheckSetCandidate, Status,
    TemporaryNetwork, UpgradeSpec, VcenterUpgradeUserInputSpec, VcfClient, VcfError, VcfVersion,
};

use crate::api::{
    ApiFailure, ApiResult, BomItem, BundleInfo, CheckQuery, CheckResource, CheckRunReport,
    ClusterInfo, DownloadState, FailedTask, Finding, FindingSeverity, FoundUpgrade, OpState,
    PersonalityInfo, ReleaseCheck, TargetRelease, UpgradableInfo, UpgradablesSnapshot,
    UpgradeRequest, ValidationReport, VcenterUpgradeInfo, VcfApi,
};

impl From<VcfError> for ApiFailure {
    fn from(e: VcfError) -> Self {
        // 401/403 after the client's own re-login, and 5xx with a VCF error body, are also
        // worth another try on the next poll (SDDC Manager restarting, inventory settling).
        let transient = e.is_transient()
            || matches!(e, VcfError::Auth { .. })
            || e.http_status().is_some_and(|s| s >= 500);
        Self {
            message: e.to_string(),
            transient,
        }
    }
}

fn download_state(status: Option<&Status>) -> DownloadState {
    match status {
        Some(s) if s.is_success() => DownloadState::Done,
        Some(s) if s.is_failure() => DownloadState::Failed,
        Some(Status::Pending | Status::Available | Status::Unknown) | None => {
            DownloadState::NotStarted
        }
        Some(s) if s.is_running() => DownloadState::InProgress,
        Some(_) => DownloadState::NotStarted,
    }
}

fn op_state(status: Option<&Status>) -> OpState {
    match status {
        Some(s) if s.is_success() => OpState::Succeeded,
        Some(s) if s.is_running() => OpState::Running,
        Some(Status::Draft) => OpState::Draft,
        None => OpState::Running,
        Some(s) => OpState::Failed(s.as_str().to_owned()),
    }
}

fn release_of(target: &TargetRelease) -> Release {
    Release {
        version: target.version.clone(),
        release_date: target.release_date.clone(),
        bom: target
            .bom
            .iter()
            .map(|b| BomEntry {
                name: b.name.clone(),
                version: b.version.clone(),
                change_id: b.change_id.clone(),
                ..BomEntry::default()
            })
            .collect(),
        ..Release::default()
    }
}

/// The BOM entry name a check-set resource type is upgraded by.
fn bom_name(resource_type: &str) -> &'static str {
    let t = resource_type.to_ascii_uppercase();
    if t.starts_with("SDDC") {
        "SDDC_MANAGER_VCF"
    } else if t.starts_with("NSX") {
        "NSX_T_MANAGER"
    } else if t.starts_with("VCENTER") || t == "PSC" {
        "VCENTER"
    } else {
        "ESX_HOST"
    }
}

/// The version a check-set resource of `resource_type` is upgraded to: its BOM entry in the
/// target release. The check-set run and the plan ([`crate::plan`]) both read it from here.
pub(crate) fn resource_target_version(
    target: &TargetRelease,
    resource_type: &str,
) -> Option<String> {
    let name = bom_name(resource_type);
    target
        .bom
        .iter()
        .find(|b| b.name == name)
        .map(|b| b.version.clone())
}

/// The body of `POST /v1/upgrades` for `request`; what is sent, and what the plan shows.
fn upgrade_spec(request: &UpgradeRequest) -> UpgradeSpec {
    UpgradeSpec {
        bundle_id: request.bundle_id.clone(),
        resource_type: request.resource_type.clone(),
        // A draft waits for its per-upgrade precheck and is started by the commit.
        draft_mode: request.draft.then_some(true),
        resource_upgrade_specs: request
            .resource_ids
            .iter()
            .map(|id| ResourceUpgradeSpec {
                resource_id: id.clone(),
                upgrade_now: (!request.draft).then_some(true),
                // Spec `PersonalitySpec`: "Personality Specification for vLCM based upgrade",
                // `personalityId` required.
                personality_spec: request
                    .personalities
                    .get(id)
                    .map(|p| json!({ "personalityId": p })),
                ..ResourceUpgradeSpec::default()
            })
            .collect(),
        vcenter_upgrade_user_input_specs: vcenter_input_specs(request),
        ..UpgradeSpec::default()
    }
}

/// Errors and warnings the run's `validation-domain-summary` counts but no listed finding
/// stands for (a result filtered down, or an INFO-only tree): one finding per domain and
/// severity, so a counted problem is never silently passed.
fn unlisted_findings(out: &AssessmentOutput, listed: &[Finding]) -> Vec<Finding> {
    let listed_of = |severity| count_of(listed.iter().filter(|f| f.severity == severity));
    let mut errors_left = listed_of(FindingSeverity::Error);
    let mut warnings_left = listed_of(FindingSeverity::Warning);
    let mut extra = Vec::new();
    for s in out.domain_summaries() {
        let domain = s.domain_name.clone().unwrap_or_else(|| "-".to_owned());
        let counted = [
            (
                FindingSeverity::Error,
                s.error_validations_count
                    + s.critical_gaps_count
                    + s.internal_error_validations_count,
                &mut errors_left,
            ),
            (
                FindingSeverity::Warning,
                s.warning_gaps_count,
                &mut warnings_left,
            ),
        ];
        for (severity, n, left) in counted {
            // The counts are JSON floats on the wire; anything below one is none.
            let n = if n.is_finite() && n >= 1.0 {
                n as u64
            } else {
                0
            };
            let covered = n.min(*left);
            *left -= covered;
            if n > covered {
                extra.push(Finding {
                    severity,
                    resource: domain.clone(),
                    check: "Check-set summary".to_owned(),
                    message: format!(
                        "VCF counts {} {} in {domain} that the result does not list; see the run in SDDC Manager",
                        n - covered,
                        if severity == FindingSeverity::Error { "error(s)" } else { "warning(s)" },
                    ),
                    remediation: None,
                });
            }
        }
    }
    extra
}

fn count_of<'a>(it: impl Iterator<Item = &'a Finding>) -> u64 {
    it.count() as u64
}

fn finding(node: &vcf_client::ApiError) -> Option<Finding> {
    let severity = match node.severity().as_deref() {
        Some("ERROR" | "CRITICAL") => FindingSeverity::Error,
        Some("WARNING" | "WARN") => FindingSeverity::Warning,
        _ => return None,
    };
    let ctx = |k: &str| {
        node.context
            .get(k)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    Some(Finding {
        severity,
        resource: ctx("resourceName")
            .or_else(|| ctx("resourceId"))
            .or_else(|| ctx("resource"))
            .unwrap_or_else(|| "-".to_owned()),
        check: ctx("validationName")
            .or_else(|| node.error_code.clone())
            .unwrap_or_else(|| "check".to_owned()),
        message: node.message.clone().unwrap_or_else(|| node.summary()),
        remediation: node.remediation_message.clone(),
    })
}

fn check_report(out: &AssessmentOutput) -> CheckRunReport {
    let state = op_state(out.status.as_ref());
    let findings = if state == OpState::Running {
        Vec::new()
    } else {
        out.findings().into_iter().filter_map(finding).collect()
    };
    let percent = out
        .discovery_progress
        .as_ref()
        .and_then(|p| p.percentage_complete)
        .and_then(|p| u8::try_from(p.clamp(0, 100)).ok());
    CheckRunReport {
        state,
        percent,
        findings,
    }
}

/// A per-upgrade precheck task: failed subtasks (and task errors) become error findings,
/// subtasks completed with warnings become warnings.
fn precheck_report(task: &vcf_client::Task) -> CheckRunReport {
    fn walk(subs: &[vcf_client::SubTask], out: &mut Vec<Finding>) {
        for st in subs {
            let severity = match st.status.as_ref() {
                Some(s) if s.is_failure() => Some(FindingSeverity::Error),
                Some(Status::CompletedWithWarning) => Some(FindingSeverity::Warning),
                _ => None,
            };
            if let Some(severity) = severity {
                let message = if st.errors.is_empty() {
                    st.description.clone().unwrap_or_default()
                } else {
                    st.errors
                        .iter()
                        .map(vcf_client::ApiError::summary)
                        .collect::<Vec<_>>()
                        .join("; ")
                };
                out.push(Finding {
                    severity,
                    resource: st
                        .resources
                        .first()
                        .and_then(|r| r.name.clone().or_else(|| r.resource_id.clone()))
                        .unwrap_or_else(|| "-".to_owned()),
                    check: st.name.clone().unwrap_or_else(|| "precheck".to_owned()),
                    message,
                    remediation: st.errors.iter().find_map(|e| e.remediation_message.clone()),
                });
            }
            walk(&st.sub_tasks, out);
        }
    }
    let state = op_state(task.status.as_ref());
    let mut findings = Vec::new();
    if state != OpState::Running {
        walk(&task.sub_tasks, &mut findings);
        findings.extend(task.errors.iter().map(|e| Finding {
            severity: FindingSeverity::Error,
            resource: "-".to_owned(),
            check: task.name.clone().unwrap_or_else(|| "precheck".to_owned()),
            message: e.summary(),
            remediation: e.remediation_message.clone(),
        }));
    }
    CheckRunReport {
        state,
        percent: None,
        findings,
    }
}

/// The errors of a failed task (its own, else its sub-tasks'), and its `isRetryable`.
fn failed_task(task: &vcf_client::Task) -> FailedTask {
    fn walk(subs: &[vcf_client::SubTask], out: &mut Vec<String>) {
        for st in subs {
            out.extend(st.errors.iter().map(vcf_client::ApiError::summary));
            walk(&st.sub_tasks, out);
        }
    }
    let mut errors: Vec<String> = task
        .errors
        .iter()
        .map(vcf_client::ApiError::summary)
        .collect();
    if errors.is_empty() {
        walk(&task.sub_tasks, &mut errors);
    }
    errors.dedup();
    let message = if errors.is_empty() {
        task.status
            .as_ref()
            .map_or_else(|| "FAILED".to_owned(), |s| s.as_str().to_owned())
    } else {
        errors.join("; ")
    };
    FailedTask {
        message,
        retryable: task.is_retryable == Some(true),
    }
}

fn validation_report(v: &vcf_client::Validation) -> ValidationReport {
    let status = v.execution_status.as_ref();
    let result = v.result_status.as_deref().unwrap_or("UNKNOWN");
    let executed = status.is_some_and(|s| *s == Status::Successful);
    // Spec `Validation.resultStatus`: SUCCEEDED, FAILED, FAILED_WITH_WARNINGS (9.x: WARNING),
    // UNKNOWN, CANCELLATION_IN_PROGRESS. Anything but a pass is not a success.
    let passed = ["SUCCEEDED", "FAILED_WITH_WARNINGS", "WARNING"]
        .iter()
        .any(|ok| result.eq_ignore_ascii_case(ok));
    let failed =
        |c: &&vcf_client::ValidationCheck| c.result_status.as_ref().is_some_and(Status::is_failure);
    let severity_is = |c: &vcf_client::ValidationCheck, level: &str| {
        c.severity
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case(level))
    };
    ValidationReport {
        id: v.id.clone(),
        completed: executed && passed,
        running: status.is_none_or(Status::is_running),
        // As the spec names them (the normalised status says SUCCESSFUL for COMPLETED).
        execution_status: match status {
            Some(Status::Successful) => "COMPLETED",
            Some(s) => s.as_str(),
            None => "UNKNOWN",
        }
        .to_owned(),
        result_status: result.to_owned(),
        problems: v
            .validation_checks
            .iter()
            .filter(|c| failed(c) && !severity_is(c, "WARNING"))
            .map(validation_check_text)
            .collect(),
        warnings: v
            .validation_checks
            .iter()
            .filter(|c| failed(c) && severity_is(c, "WARNING"))
            .map(validation_check_text)
            .collect(),
    }
}

/// One validation check for the log: `description (SEVERITY): message (remediation: …)`.
fn validation_check_text(c: &vcf_client::ValidationCheck) -> String {
    let mut text = c
        .description
        .clone()
        .unwrap_or_else(|| "validation check".to_owned());
    if let Some(severity) = &c.severity {
        text.push_str(&format!(" ({severity})"));
    }
    if let Some(e) = &c.error_response {
        text.push_str(": ");
        text.push_str(&e.summary());
    }
    text
}

/// `vcenterUpgradeUserInputSpecs` of a vCenter major upgrade (spec 9.0.2 `UpgradeSpec`).
fn vcenter_input_specs(request: &UpgradeRequest) -> Vec<serde_json::Value> {
    let Some(input) = &request.vcenter_input else {
        return Vec::new();
    };
    let net = &input.temporary_network;
    let spec = VcenterUpgradeUserInputSpec {
        resource_id: input.resource_id.clone(),
        temporary_network: TemporaryNetwork {
            network_mode: Some(net.mode()),
            ip_address: net.ip_address.clone(),
            subnet_mask: net.subnet_mask.clone(),
            gateway: net.gateway.clone(),
        },
    };
    serde_json::to_value(spec).map_or_else(|_| Vec::new(), |v| vec![v])
}

/// Reads what a vCenter upgradable needs for [`VcenterUpgradeInfo`]: its vCenter id from
/// `softwareComponents`, its from/to versions from its bundle (`GET /v1/bundles/{id}`).
async fn vcenter_upgrade_info(
    client: &VcfClient,
    u: &vcf_client::Upgradable,
) -> Result<VcenterUpgradeInfo, VcfError> {
    let is_vc = |k: Option<&str>| k.is_some_and(|k| k.eq_ignore_ascii_case("VCENTER"));
    let resource_id = u
        .software_components
        .iter()
        .find(|c| is_vc(c.kind.as_deref()))
        .and_then(|c| c.id.clone());
    let bundle = client.bundle(&u.bundle_id).await?;
    let component = bundle
        .components
        .iter()
        .find(|c| is_vc(c.kind.as_deref()))
        .or(bundle.components.first());
    Ok(VcenterUpgradeInfo {
        resource_id,
        from_version: component.and_then(|c| c.from_version.clone()),
        to_version: component
            .and_then(|c| c.to_version.clone())
            .or(bundle.version),
    })
}

#[async_trait]
impl VcfApi for VcfClient {
    async fn next_release(&self, domain_id: &str) -> ApiResult<ReleaseCheck> {
        let current = self
            .releases(Some(domain_id))
            .await?
            .into_iter()
            .filter_map(|r| r.version.parse::<VcfVersion>().ok().map(|v| (v, r)))
            .max_by(|a, b| a.0.cmp(&b.0))
            .ok_or_else(|| {
                ApiFailure::permanent(format!("no current release known for domain {domain_id}"))
            })?;
        let future = self.future_releases(domain_id).await?;
        let next = vcf_client::select_next_release(&current.0, &future).map(|r| TargetRelease {
            version: r.version.clone(),
            current_version: current.1.version.clone(),
            release_date: r.release_date.clone(),
            bom: r
                .bom
                .iter()
                .map(|b| BomItem {
                    name: b.name.clone(),
                    version: b.version.clone(),
                    managed_by: b.lifecycle_managed_by.clone(),
                    change_id: b.change_id.clone(),
                })
                .collect(),
        });
        Ok(ReleaseCheck {
            current_version: current.1.version.clone(),
            next,
        })
    }

    async fn release_bundles(&self, target: &TargetRelease) -> ApiResult<Vec<BundleInfo>> {
        let all = self.bundles().await?;
        let release = release_of(target);
        Ok(vcf_client::release_bundles(&release, &all)
            .into_iter()
            .map(|b| {
                let exact = vcf_client::bom_match(&release, b) == Some(vcf_client::BomMatch::Exact);
                let install_only = !b.components.is_empty()
                    && b.components.iter().all(|c| {
                        c.image_type
                            .as_deref()
                            .is_some_and(|t| t.eq_ignore_ascii_case("INSTALL"))
                    });
                BundleInfo {
                    id: b.id.clone(),
                    component: b
                        .components
                        .iter()
                        .filter_map(|c| c.kind.clone())
                        .next()
                        .or_else(|| b.kind.clone())
                        .unwrap_or_default(),
                    version: b.version.clone().unwrap_or_default(),
                    fallback: !exact || install_only,
                    state: download_state(b.download_status.as_ref()),
                }
            })
            .collect())
    }

    async fn bundle_state(&self, bundle_id: &str) -> ApiResult<DownloadState> {
        let b = self.bundle(bundle_id).await?;
        Ok(download_state(b.download_status.as_ref()))
    }

    async fn start_download(&self, bundle_id: &str) -> ApiResult<()> {
        match self.download_bundle(bundle_id).await {
            Ok(_) => Ok(()),
            // "Only one download can be triggered for a bundle": it is already downloading.
            Err(e) if e.http_status() == Some(409) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn set_target_version(&self, domain_id: &str, version: &str) -> ApiResult<()> {
        // Already targeted (an earlier attempt, or a request whose answer a restart lost):
        // nothing to change, so nothing is sent.
        if let Ok(view) = self.domain_release_view(domain_id).await {
            if view.target_version == version {
                return Ok(());
            }
        }
        Ok(VcfClient::set_target_version(self, domain_id, version).await?)
    }

    async fn upgradables(&self, domain_id: &str, version: &str) -> ApiResult<UpgradablesSnapshot> {
        let list = VcfClient::upgradables(self, domain_id, Some(version)).await?;
        let upgradables: Vec<UpgradableInfo> = list
            .iter()
            .map(|u| {
                let status = u.status.clone().unwrap_or(Status::Unknown);
                UpgradableInfo {
                    bundle_id: u.bundle_id.clone(),
                    bundle_type: u.bundle_type.clone().unwrap_or_default(),
                    component: u
                        .software_components
                        .iter()
                        .filter_map(|c| c.kind.clone())
                        .next()
                        .unwrap_or_default(),
                    available: status == Status::Available,
                    in_progress: status == Status::InProgress,
                    completed: status.is_success()
                        || matches!(&status, Status::Other(s) if s.eq_ignore_ascii_case("UPGRADED")),
                    errors: u.errors.iter().map(vcf_client::ApiError::summary).collect(),
                    vcenter: None,
                }
            })
            .collect();
        let mut upgradables = upgradables;
        for (u, info) in list.iter().zip(upgradables.iter_mut()) {
            if info.available && info.component.eq_ignore_ascii_case("VCENTER") {
                info.vcenter = Some(vcenter_upgrade_info(self, u).await?);
            }
        }
        let esxi_available = upgradables.iter().any(|u| u.available && u.is_esxi());
        let mut cluster_ids = Vec::new();
        if esxi_available {
            let clusters: Vec<String> = self
                .cluster_upgradables(domain_id)
                .await?
                .into_iter()
                .map(|c| c.resource_id)
                .collect();
            // The clusters the pending ESXi upgradables name (one upgradable per cluster);
            // clusters already on the target are left out of the request.
            let named: Vec<String> = list
                .iter()
                .zip(&upgradables)
                .filter(|(_, info)| info.is_esxi() && !info.completed)
                .filter_map(|(u, _)| u.resource.as_ref().and_then(|r| r.resource_id.clone()))
                .collect();
            cluster_ids = clusters
                .iter()
                .filter(|c| named.contains(c))
                .cloned()
                .collect();
            if cluster_ids.is_empty() {
                cluster_ids = clusters;
            }
        }
        let mut clusters = Vec::new();
        let mut personalities = Vec::new();
        if !cluster_ids.is_empty() {
            // Spec `Cluster.isImageBased`: "true if managed [by vLCM Images], false if managed
            // by vSphere Lifecycle Manager Baselines".
            clusters = self
                .clusters()
                .await?
                .into_iter()
                .filter(|c| cluster_ids.contains(&c.id))
                .map(|c| ClusterInfo {
                    image_based: c.is_image_based.unwrap_or(false),
                    id: c.id,
                    name: c.name,
                })
                .collect();
            if clusters.iter().any(|c| c.image_based) {
                personalities = self
                    .personalities()
                    .await?
                    .into_iter()
                    .filter_map(|p| {
                        let esxi_version = p.esxi_version()?.to_owned();
                        Some(PersonalityInfo {
                            name: p
                                .personality_name
                                .clone()
                                .or_else(|| p.display_name.clone())
                                .unwrap_or_else(|| p.personality_id.clone()),
                            id: p.personality_id,
                            esxi_version,
                        })
                    })
                    .collect();
            }
        }
        Ok(UpgradablesSnapshot {
            upgradables,
            cluster_ids,
            clusters,
            personalities,
        })
    }

    async fn start_upgrade(&self, request: &UpgradeRequest) -> ApiResult<String> {
        Ok(VcfClient::start_upgrade(self, &upgrade_spec(request))
            .await?
            .id)
    }

    fn upgrade_body(&self, request: &UpgradeRequest) -> serde_json::Value {
        serde_json::to_value(upgrade_spec(request)).unwrap_or_default()
    }

    async fn upgrade_state(&self, upgrade_id: &str) -> ApiResult<OpState> {
        let u = self.upgrade(upgrade_id).await?;
        Ok(op_state(u.status.as_ref()))
    }

    async fn start_upgrade_precheck(&self, upgrade_id: &str) -> ApiResult<String> {
        Ok(VcfClient::start_upgrade_precheck(self, upgrade_id)
            .await?
            .id)
    }

    async fn upgrade_precheck(
        &self,
        upgrade_id: &str,
        precheck_id: &str,
    ) -> ApiResult<CheckRunReport> {
        let task = VcfClient::upgrade_precheck(self, upgrade_id, precheck_id).await?;
        Ok(precheck_report(&task))
    }

    async fn commit_upgrade(&self, upgrade_id: &str) -> ApiResult<()> {
        VcfClient::commit_upgrade(self, upgrade_id).await?;
        Ok(())
    }

    async fn failed_task(&self, task_id: &str) -> ApiResult<FailedTask> {
        let task = self.task(task_id).await?;
        Ok(failed_task(&task))
    }

    async fn task_state(&self, task_id: &str) -> ApiResult<OpState> {
        let task = self.task(task_id).await?;
        Ok(op_state(task.status.as_ref()))
    }

    async fn retry_task(&self, task_id: &str) -> ApiResult<()> {
        Ok(VcfClient::retry_task(self, task_id).await?)
    }

    async fn find_upgrade(
        &self,
        bundle_id: &str,
        resource_ids: &[String],
    ) -> ApiResult<Option<FoundUpgrade>> {
        let all = self.upgrades().await?;
        let mut matching: Vec<FoundUpgrade> = all
            .iter()
            .filter(|u| u.bundle_id.as_deref() == Some(bundle_id))
            .filter(|u| {
                u.resource_upgrade_specs.is_empty()
                    || u.resource_upgrade_specs
                        .iter()
                        .any(|s| resource_ids.contains(&s.resource_id))
            })
            .map(|u| FoundUpgrade {
                id: u.id.clone(),
                state: op_state(u.status.as_ref()),
            })
            .filter(|f| !matches!(f.state, OpState::Failed(_)))
            .collect();
        // A running one first; otherwise the last (newest) successful one.
        if let Some(pos) = matching.iter().position(|f| f.state == OpState::Running) {
            return Ok(Some(matching.swap_remove(pos)));
        }
        Ok(matching.pop())
    }

    async fn domains(&self) -> ApiResult<Vec<(crate::notify::DomainRef, bool)>> {
        Ok(VcfClient::domains(self)
            .await?
            .into_iter()
            .map(|d| {
                let management = d
                    .kind
                    .as_deref()
                    .is_some_and(|k| k.eq_ignore_ascii_case("MANAGEMENT"));
                (
                    crate::notify::DomainRef {
                        id: d.id,
                        name: d.name,
                    },
                    management,
                )
            })
            .collect())
    }

    async fn api_ready(&self) -> bool {
        let ready = match self.domains().await {
            Ok(_) => true,
            Err(VcfError::Auth { .. }) => {
                self.login().await.is_ok() && self.domains().await.is_ok()
            }
            Err(_) => false,
        };
        if ready {
            // Back after its own upgrade: what the client asks depends on the version it runs
            // now (e.g. the 9.1 check-set result filter).
            if let Err(e) = self.detect_sddc_manager_version().await {
                tracing::debug!(error = %e, "SDDC Manager version not read after its restart");
            }
        }
        ready
    }

    async fn query_check_sets(
        &self,
        domain_id: &str,
        target: &TargetRelease,
    ) -> ApiResult<CheckQuery> {
        let query = |resources: Vec<CheckSetQueryResource>| CheckSetQueryInput {
            check_set_type: "UPGRADE".to_owned(),
            domains: vec![CheckSetQueryDomain {
                domain_id: domain_id.to_owned(),
                resources,
            }],
        };
        // Step 1: discover the domain's resources (spec `CheckSetQueryDomainResources`:
        // `resources` is optional).
        let found = VcfClient::query_check_sets(self, &query(Vec::new())).await?;
        // Step 2: the same resources with their upgrade target from the target BOM (spec
        // `CheckSetQueryResource.resourceTargetVersion`: "Upgrade target version for the
        // resources"); its query id and check sets are the ones the run uses.
        let wanted: Vec<CheckSetQueryResource> = found
            .resources
            .iter()
            .filter_map(|r| {
                let resource_type = r.resource_type.clone()?;
                Some(CheckSetQueryResource {
                    resource_target_version: resource_target_version(target, &resource_type),
                    resource_type,
                    resource_id: r.resource_id.clone(),
                })
            })
            .collect();
        let r = if wanted.is_empty() {
            found
        } else {
            VcfClient::query_check_sets(self, &query(wanted)).await?
        };
        Ok(CheckQuery {
            query_id: r.query_id.clone(),
            resources: r
                .resources
                .iter()
                .map(|res| {
                    let resource_type = res.resource_type.clone().unwrap_or_default();
                    CheckResource {
                        resource_id: res.resource_id.clone().unwrap_or_default(),
                        resource_name: res.resource_name.clone().unwrap_or_default(),
                        target_version: resource_target_version(target, &resource_type),
                        resource_type,
                        check_set_ids: res
                            .check_sets
                            .iter()
                            .map(|c| c.check_set_id.clone())
                            .collect(),
                        raw: serde_json::to_value(res).unwrap_or_default(),
                    }
                })
                .collect(),
        })
    }

    async fn start_check_run(
        &self,
        query: &CheckQuery,
        target: &TargetRelease,
    ) -> ApiResult<String> {
        // Spec `CheckSetResourceSelection` / `SelectedCheckSetCandidate`: the resource, its
        // domain, and only the ids of the selected check sets.
        let resources: Vec<CheckSetSelection> = query
            .resources
            .iter()
            .map(|r| {
                let full: CheckSetResource =
                    serde_json::from_value(r.raw.clone()).unwrap_or_default();
                CheckSetSelection {
                    resource_name: r.resource_name.clone(),
                    resource_id: r.resource_id.clone(),
                    resource_type: r.resource_type.clone(),
                    domain: full.domain,
                    check_sets: r
                        .check_set_ids
                        .iter()
                        .map(|id| SelectedCheckSetCandidate {
                            check_set_id: id.clone(),
                        })
                        .collect(),
                }
            })
            .collect();
        // `metadata` is `AssessmentMetadata`, as the 9.1 SDK's `CheckSetRunInput` defines it
        // (and as every spec's run info returns it). Neither the 5.2.1 nor the 9.0.2 spec's
        // `CheckSetRunInput` has it, so only an SDDC Manager on 9.1 or later is sent it.
        let with_metadata = self.sddc_manager_at_least(9, 1);
        let metadata = AssessmentMetadata {
            target_version: Some(target.version.clone()),
            resources: query
                .resources
                .iter()
                .map(|r| {
                    let full: CheckSetResource =
                        serde_json::from_value(r.raw.clone()).unwrap_or_default();
                    AssessmentResource {
                        kind: Some(r.resource_type.clone()),
                        id: Some(r.resource_id.clone()),
                        name: Some(r.resource_name.clone()),
                        domain_id: full.domain.and_then(|d| d.domain_id),
                        target_version: r
                            .target_version
                            .clone()
                            .or_else(|| resource_target_version(target, &r.resource_type)),
                    }
                })
                .collect(),
            upgrade_id: None,
        };
        let run = CheckSetRunInput {
            query_id: query.query_id.clone(),
            resources,
            metadata: with_metadata
                .then(|| serde_json::to_value(metadata).ok())
                .flatten(),
        };
        Ok(VcfClient::start_check_run(self, &run).await?.id)
    }

    async fn find_check_run(
        &self,
        domain_id: &str,
        since: DateTime<Utc>,
    ) -> ApiResult<Option<String>> {
        // `GET /v1/system/check-sets?domainId=` lists the runs, newest first. A run still in
        // progress, or one started after this flow asked for it, is the one whose answer was
        // lost; an older finished run belongs to an earlier attempt.
        let since_ms = (since - chrono::Duration::seconds(5)).timestamp_millis();
        match self.check_runs(&[domain_id]).await {
            Ok(runs) => Ok(runs
                .into_iter()
                .find(|r| {
                    r.state.as_ref().is_some_and(Status::is_running)
                        || r.timestamp.is_some_and(|t| t >= since_ms)
                })
                .map(|r| r.id)),
            // Servers without the list: the run is also a task (task id == run id).
            Err(e) if matches!(e.http_status(), Some(404 | 405)) => {
                let tasks = self.tasks().await?;
                Ok(tasks
                    .into_iter()
                    .filter(|t| {
                        let kind = t.kind.as_deref().unwrap_or("").to_ascii_uppercase();
                        kind.contains("CHECK") || kind.contains("ASSESSMENT")
                    })
                    .filter(|t| t.status.as_ref().is_some_and(Status::is_running))
                    .max_by(|a, b| a.creation_timestamp.cmp(&b.creation_timestamp))
                    .map(|t| t.id))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn check_run(&self, run_id: &str) -> ApiResult<CheckRunReport> {
        let out = VcfClient::check_run(self, run_id).await?;
        let mut report = check_report(&out);
        if report.state == OpState::Running {
            return Ok(report);
        }
        // 9.1 filters the result by severity (SDK 9.1 `CheckSets.get_result(severity=…)`): ask
        // for the errors and warnings explicitly so none is left out of the default answer.
        // Neither the 5.2.1 nor the 9.0.2 spec has that parameter, so older SDDC Managers get
        // only the spec's request; what their summary counts but the result does not list is
        // reported below either way.
        if self.sddc_manager_at_least(9, 1) {
            let filtered = self
                .check_run_filtered(run_id, &["ERROR", "WARNING"])
                .await?;
            for f in filtered.findings().into_iter().filter_map(finding) {
                if !report.findings.contains(&f) {
                    report.findings.push(f);
                }
            }
        }
        report
            .findings
            .extend(unlisted_findings(&out, &report.findings));
        Ok(report)
    }

    async fn start_validation(
        &self,
        domain_id: &str,
        version: &str,
    ) -> ApiResult<ValidationReport> {
        Ok(validation_report(
            &VcfClient::start_validation(self, domain_id, version).await?,
        ))
    }

    async fn validation(&self, validation_id: &str) -> ApiResult<ValidationReport> {
        Ok(validation_report(
            &VcfClient::validation(self, validation_id).await?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_download_and_op_states() {
        let p = |s: &str| Status::parse(s);
        assert_eq!(download_state(Some(&p("SUCCESSFUL"))), DownloadState::Done);
        assert_eq!(
            download_state(Some(&p("IN_PROGRESS"))),
            DownloadState::InProgress
        );
        assert_eq!(
            download_state(Some(&p("SCHEDULED"))),
            DownloadState::InProgress
        );
        assert_eq!(
            download_state(Some(&p("PENDING"))),
            DownloadState::NotStarted
        );
        assert_eq!(download_state(Some(&p("FAILED"))), DownloadState::Failed);
        assert_eq!(op_state(Some(&p("INPROGRESS"))), OpState::Running);
        assert_eq!(
            op_state(Some(&p("COMPLETED_WITH_SUCCESS"))),
            OpState::Succeeded
        );
        assert!(matches!(
            op_state(Some(&p("COMPLETED_WITH_FAILURE"))),
            OpState::Failed(_)
        ));
    }

    #[test]
    fn check_set_resources_map_to_bom_names() {
        assert_eq!(bom_name("SDDC_MANAGER"), "SDDC_MANAGER_VCF");
        assert_eq!(bom_name("NSXT_MANAGER"), "NSX_T_MANAGER");
        assert_eq!(bom_name("VCENTER"), "VCENTER");
        assert_eq!(bom_name("ESXI"), "ESX_HOST");
    }

    #[test]
    fn counted_findings_that_the_result_does_not_list_are_reported() {
        let out: AssessmentOutput = serde_json::from_value(serde_json::json!({
            "status": "COMPLETED_WITH_SUCCESS",
            "presentedArtifactsMap": { "validation-domain-summary": { "sfo-m01": {
                "domainName": "sfo-m01", "errorValidationsCount": 0.0, "criticalGapsCount": 0.0,
                "internalErrorValidationsCount": 0.0, "warningGapsCount": 2.0 } } },
            "validationResult": { "errorCode": "X.info", "context": { "severity": "INFO" },
                "nestedErrors": [ { "errorCode": "A.warning", "message": "one",
                    "context": { "severity": "WARNING", "validationName": "A" } } ] },
        }))
        .expect("AssessmentOutput");
        let listed: Vec<Finding> = out.findings().into_iter().filter_map(finding).collect();
        assert_eq!(listed.len(), 1);
        let extra = unlisted_findings(&out, &listed);
        assert_eq!(extra.len(), 1);
        assert_eq!(extra[0].severity, FindingSeverity::Warning);
        assert!(
            extra[0].message.contains("1 warning(s) in sfo-m01"),
            "{}",
            extra[0].message
        );
        // an INFO-only run with zero counts passes with no finding
        let info_only: AssessmentOutput = serde_json::from_value(serde_json::json!({
            "status": "COMPLETED_WITH_SUCCESS",
            "presentedArtifactsMap": { "validation-domain-summary": { "sfo-m01": {
                "domainName": "sfo-m01", "warningGapsCount": 0.0 } } },
        }))
        .expect("AssessmentOutput");
        assert!(unlisted_findings(&info_only, &[]).is_empty());
    }

    #[test]
    fn a_vcenter_major_upgrade_sends_the_spec_temporary_network() {
        let mut request = UpgradeRequest {
            bundle_id: "b-vc".into(),
            resource_type: "DOMAIN".into(),
            resource_ids: vec!["dom-1".into()],
            draft: false,
            personalities: std::collections::BTreeMap::new(),
            vcenter_input: None,
        };
        assert!(vcenter_input_specs(&request).is_empty());
        request.vcenter_input = Some(Box::new(crate::api::VcenterInput {
            resource_id: Some("vc-1".into()),
            temporary_network: crate::config::TemporaryNetwork {
                ip_address: Some("172.16.12.98".into()),
                subnet_mask: Some("255.255.255.0".into()),
                gateway: Some("172.16.12.1".into()),
                ..Default::default()
            },
        }));
        assert_eq!(
            vcenter_input_specs(&request),
            vec![json!({"resourceId": "vc-1", "temporaryNetwork": {
                "networkMode": "STATIC", "ipAddress": "172.16.12.98",
                "subnetMask": "255.255.255.0", "gateway": "172.16.12.1"}})]
        );
    }

    #[test]
    fn a_major_vcenter_upgrade_is_told_by_versions_or_by_the_release() {
        let info = |from: Option<&str>, to: Option<&str>| VcenterUpgradeInfo {
            resource_id: None,
            from_version: from.map(str::to_owned),
            to_version: to.map(str::to_owned),
        };
        let major = info(Some("8.0.3.00300-24305161"), Some("9.0.1.0-24957454"));
        assert!(major.is_major("5.2.1.0", "9.0.1.0"));
        let minor = info(Some("9.0.1.0-24957454"), Some("9.1.0.0-25210130"));
        assert!(!minor.is_major("9.0.1.0", "9.1.0.0"));
        // Without the bundle's versions, the VCF versions of the flow decide.
        assert!(info(None, Some("9.0.1.0")).is_major("5.2.1.0", "9.0.1.0"));
        assert!(!info(None, None).is_major("9.0.1.0", "9.1.0.0"));
    }
}
