//! Scenarios: the TOML description of a simulated VCF instance (inventory, release
//! catalogue, bundles, precheck findings, durations and faults) and the built-in set
//! embedded from `crates/vcf-sim/scenarios/*.toml`.
//!
//! Every duration is a *real* VCF duration ("1h", "20m"); the server multiplies it by
//! `--time-scale` at run time.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use serde::{Deserialize, Deserializer};

/// Names and TOML sources of the built-in scenarios.
const BUILTINS: &[(&str, &str)] = &[
    ("default", include_str!("../scenarios/default.toml")),
    (
        "readiness-blocked",
        include_str!("../scenarios/readiness-blocked.toml"),
    ),
    (
        "readiness-warnings",
        include_str!("../scenarios/readiness-warnings.toml"),
    ),
    (
        "precheck-warnings",
        include_str!("../scenarios/precheck-warnings.toml"),
    ),
    (
        "precheck-errors",
        include_str!("../scenarios/precheck-errors.toml"),
    ),
    (
        "component-failure",
        include_str!("../scenarios/component-failure.toml"),
    ),
    ("up-to-date", include_str!("../scenarios/up-to-date.toml")),
    ("large", include_str!("../scenarios/large.toml")),
    ("vlcm-images", include_str!("../scenarios/vlcm-images.toml")),
    (
        "hanging-component",
        include_str!("../scenarios/hanging-component.toml"),
    ),
    (
        "download-failure",
        include_str!("../scenarios/download-failure.toml"),
    ),
    (
        "validation-failure",
        include_str!("../scenarios/validation-failure.toml"),
    ),
    ("vcf9", include_str!("../scenarios/vcf9.toml")),
    (
        "vcf9-readiness",
        include_str!("../scenarios/vcf9-readiness.toml"),
    ),
    (
        "validation-warnings",
        include_str!("../scenarios/validation-warnings.toml"),
    ),
    (
        "target-validation-failure",
        include_str!("../scenarios/target-validation-failure.toml"),
    ),
    (
        "vi-behind-management",
        include_str!("../scenarios/vi-behind-management.toml"),
    ),
    ("second-site", include_str!("../scenarios/second-site.toml")),
];

/// Names of the built-in scenarios, for `--scenario NAME`.
const BUILTIN_NAMES: &[&str] = &[
    "default",
    "readiness-blocked",
    "readiness-warnings",
    "precheck-warnings",
    "precheck-errors",
    "component-failure",
    "up-to-date",
    "large",
    "hanging-component",
    "download-failure",
    "validation-failure",
    "validation-warnings",
    "target-validation-failure",
    "vi-behind-management",
    "vlcm-images",
    "vcf9",
    "vcf9-readiness",
    "second-site",
];

/// A simulated duration, written in TOML as a humantime string (`"90m"`) or seconds.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SimDuration(pub Duration);

impl SimDuration {
    /// Seconds of simulated time.
    pub fn secs(&self) -> f64 {
        self.0.as_secs_f64()
    }

    const fn from_secs(s: u64) -> Self {
        SimDuration(Duration::from_secs(s))
    }
}

impl<'de> Deserialize<'de> for SimDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Secs(f64),
        }
        match Raw::deserialize(d)? {
            Raw::Text(s) => humantime::parse_duration(&s)
                .map(SimDuration)
                .map_err(|e| serde::de::Error::custom(format!("bad duration {s:?}: {e}"))),
            Raw::Secs(f) if f >= 0.0 && f.is_finite() => {
                Ok(SimDuration(Duration::from_secs_f64(f)))
            }
            Raw::Secs(f) => Err(serde::de::Error::custom(format!("bad duration {f}"))),
        }
    }
}

/// A complete simulated SDDC Manager: what it manages and how it behaves.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Scenario name (shown in `/sim/state`).
    pub name: String,
    /// One-line description.
    #[serde(default)]
    pub description: String,
    /// A built-in scenario this one extends: its tables are merged key by key, arrays
    /// replaced.
    #[serde(default)]
    pub base: Option<String>,
    /// Seed for everything pseudo-random (ids of scenario objects, error injection).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// The SDDC Manager appliance and its credentials.
    #[serde(default)]
    pub system: SystemSpec,
    /// Durations of every simulated operation.
    #[serde(default)]
    pub timing: Timing,
    /// Faults present from the start.
    #[serde(default)]
    pub faults: FaultSpec,
    /// The VCF release catalogue (current and future releases).
    #[serde(default)]
    pub releases: Vec<ReleaseSpec>,
    /// Bundles known to the SDDC Manager.
    #[serde(default)]
    pub bundles: Vec<BundleSpec>,
    /// Workload domains.
    pub domains: Vec<DomainSpec>,
    /// Findings that upgrade check-set runs report.
    #[serde(default)]
    pub findings: Vec<FindingSpec>,
    /// vLCM images (personalities) imported into SDDC Manager from the start.
    #[serde(default)]
    pub personalities: Vec<PersonalitySpec>,
    /// What upgrade readiness looks at: accounts, certificates, backup, depot, failed tasks.
    #[serde(default)]
    pub readiness: ReadinessSpec,
}

/// Upgrade readiness of the simulated SDDC Manager. Every domain gets a vCenter `root` and an
/// NSX `admin` account expiring in 90 days and vCenter and NSX certificates valid for a year
/// (SHA256withRSA); the lists below change or add to them.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReadinessSpec {
    /// A backup server is configured.
    pub backup_configured: bool,
    /// The last successful SDDC Manager backup ended this many hours ago (none when absent).
    pub last_backup_hours_ago: Option<f64>,
    /// How long a backup task runs, in simulated seconds.
    pub backup_secs: f64,
    /// `ok`, `not_configured`, `bad_credentials` or (9.x) `token_expired`.
    pub depot: String,
    /// Accounts (matched to the generated ones by domain, resource type and user name).
    pub credentials: Vec<CredentialSpec>,
    /// Certificates (matched to the generated ones by domain and resource type).
    pub certificates: Vec<CertificateSpec>,
    /// Failed tasks in the task history.
    pub failed_tasks: Vec<FailedTaskSpec>,
    /// 9.x: SDDC Manager's notifications (`GET /v1/notifications`).
    pub notifications: Vec<NotificationSpec>,
    /// 9.x: the image compliance of clusters (`GET /v1/clusters/{id}/image-compliance`); a
    /// cluster not listed is `COMPLIANT` when it is image-based and has no result (404) when not.
    pub image_compliance: Vec<ImageComplianceSpec>,
}

impl Default for ReadinessSpec {
    fn default() -> Self {
        Self {
            backup_configured: true,
            last_backup_hours_ago: Some(6.0),
            backup_secs: 600.0,
            depot: "ok".into(),
            credentials: Vec::new(),
            certificates: Vec::new(),
            failed_tasks: Vec::new(),
            notifications: Vec::new(),
            image_compliance: Vec::new(),
        }
    }
}

/// An account of a domain's component.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialSpec {
    /// Domain name.
    pub domain: String,
    /// `VCENTER` or `NSXT_MANAGER`.
    pub resource_type: String,
    /// User name.
    pub username: String,
    /// Days until the password expires (negative: expired).
    pub expires_in_days: f64,
    /// SDDC Manager cannot log in with it (`connectivityStatus: ERROR`).
    #[serde(default)]
    pub disconnected: bool,
}

/// A certificate of a domain's component.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertificateSpec {
    /// Domain name.
    pub domain: String,
    /// `VCENTER` or `NSXT_MANAGER`.
    pub resource_type: String,
    /// Days until it expires (negative: expired).
    pub expires_in_days: f64,
    /// Signature algorithm.
    #[serde(default = "default_signature")]
    pub signature_algorithm: String,
}

fn default_signature() -> String {
    "SHA256withRSA".into()
}

/// A task that failed before the simulation started.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailedTaskSpec {
    /// Task name.
    pub name: String,
    /// Task type.
    pub task_type: String,
    /// It failed this many hours ago.
    pub hours_ago: f64,
    /// `isRetryable`.
    #[serde(default = "yes")]
    pub retryable: bool,
}

fn yes() -> bool {
    true
}

/// A notification of a 9.x SDDC Manager (spec 9.0.2 `Notification`). Also the body of
/// `POST /sim/notifications`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationSpec {
    /// Severity (`INFO`, `WARNING`, `ERROR`, `CRITICAL`; free text in the spec).
    pub severity: String,
    /// Type (free text in the spec, e.g. `CERTIFICATE_EXPIRY`).
    #[serde(rename = "type")]
    pub kind: String,
    /// The localized message.
    pub message: String,
    /// The domain it concerns (none: SDDC-wide).
    #[serde(default)]
    pub domain: Option<String>,
    /// The resource of that domain it concerns (`VCENTER` or `NSXT_MANAGER`).
    #[serde(default)]
    pub resource_type: Option<String>,
    /// Created this many hours before the start (or before it was posted).
    #[serde(default)]
    pub hours_ago: f64,
    /// Expires this many days after its creation (never when absent).
    #[serde(default)]
    pub expires_in_days: Option<f64>,
}

impl NotificationSpec {
    /// Checks it against `scenario`: a known domain, a known resource type, sane times.
    ///
    /// # Errors
    /// What is wrong, naming the field.
    pub fn validate(&self, scenario: &Scenario) -> anyhow::Result<()> {
        if self.severity.trim().is_empty() || self.message.trim().is_empty() {
            bail!("readiness.notifications: severity and message must not be empty");
        }
        if let Some(d) = &self.domain
            && !scenario.domains.iter().any(|x| &x.name == d)
        {
            bail!("readiness.notifications: no domain {d:?} in this scenario");
        }
        if let Some(t) = &self.resource_type {
            if self.domain.is_none() {
                bail!("readiness.notifications: resource_type needs a domain");
            }
            if t != "VCENTER" && t != "NSXT_MANAGER" {
                bail!("readiness.notifications: resource_type must be VCENTER or NSXT_MANAGER");
            }
        }
        if !(self.hours_ago.is_finite() && self.hours_ago >= 0.0)
            || self
                .expires_in_days
                .is_some_and(|d| !(d.is_finite() && d > 0.0))
        {
            bail!("readiness.notifications: hours_ago must be >= 0 and expires_in_days positive");
        }
        Ok(())
    }
}

/// The statuses `GET /v1/clusters/{id}/image-compliance` can answer (the 9.0.2 spec's example
/// of `ClusterImageCompliance.status`), and `NO_RESULT` for its 404.
pub const IMAGE_COMPLIANCE_STATUSES: &[&str] = &[
    "COMPLIANT",
    "NON_COMPLIANT",
    "INCOMPATIBLE",
    "UNAVAILABLE",
    "NO_RESULT",
];

/// The image compliance of one cluster on a 9.x SDDC Manager.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageComplianceSpec {
    /// Cluster name.
    pub cluster: String,
    /// One of [`IMAGE_COMPLIANCE_STATUSES`].
    pub status: String,
}

/// A vLCM image SDDC Manager has (`GET /v1/personalities`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonalitySpec {
    /// `personalityName` (spec pattern `^[a-zA-Z\d\-]{3,20}$`).
    pub name: String,
    /// ESXi base image version, e.g. `8.0.3-0.35.24280767`.
    pub esxi_version: String,
}

fn default_seed() -> u64 {
    5201
}

/// The SDDC Manager appliance.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SystemSpec {
    /// FQDN of the SDDC Manager.
    pub fqdn: String,
    /// IP address of the SDDC Manager.
    pub ip_address: String,
    /// Login user name.
    pub username: String,
    /// Login password.
    pub password: String,
    /// Organisation name shown on domains.
    pub org_name: String,
    /// DNS suffix for generated host names.
    pub dns_suffix: String,
    /// SDDC Manager version with build (`5.2.0.0-24108943`); default: the BOM entry
    /// `SDDC_MANAGER_VCF` of the management domain's release.
    pub version: Option<String>,
    /// Task status spelling: `"upper"` (`IN_PROGRESS`, `SUCCESSFUL`) or `"mixed"`
    /// (`In Progress`, `Successful`) for `GET /v1/tasks`; 202 bodies always use upper case.
    pub task_status_case: String,
    /// Model the VCF rule that a VI workload domain cannot go past the management domain's
    /// version: its future releases above the management domain's current version are
    /// `NOT_APPLICABLE` with a reason. Off in the scenarios whose flows upgrade the VI domain
    /// on its own; on in `vi-behind-management`.
    pub vi_limited_by_management: bool,
}

impl Default for SystemSpec {
    fn default() -> Self {
        SystemSpec {
            fqdn: "sfo-vcf01.sfo.rainpole.io".into(),
            ip_address: "172.16.11.59".into(),
            username: "admin@local".into(),
            password: "VMware123!VMware123!".into(),
            org_name: "rainpole".into(),
            dns_suffix: "sfo.rainpole.io".into(),
            version: None,
            task_status_case: "upper".into(),
            vi_limited_by_management: false,
        }
    }
}

/// Durations of the simulated operations (real VCF durations, scaled at run time).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timing {
    /// Access token lifetime.
    pub token_ttl: SimDuration,
    /// Refresh token lifetime.
    pub refresh_token_ttl: SimDuration,
    /// Time a requested download stays `SCHEDULED`.
    pub download_scheduled: SimDuration,
    /// Depot bandwidth in MB per simulated second (download time = sizeMB / this).
    pub download_mb_per_sec: f64,
    /// Duration of a check-set run.
    pub check_run: SimDuration,
    /// Duration of a domain release validation.
    pub validation: SimDuration,
    /// Duration of a per-upgrade precheck.
    pub upgrade_precheck: SimDuration,
    /// Time an upgrade stays `PENDING` before `INPROGRESS`.
    pub upgrade_pending: SimDuration,
    /// SDDC Manager upgrade: staging time before the appliance restarts.
    pub sddc_manager_staging: SimDuration,
    /// SDDC Manager upgrade: connections refused for this long.
    pub outage: SimDuration,
    /// SDDC Manager upgrade: then HTTP 503 with an HTML body for this long.
    pub unready: SimDuration,
    /// Duration of a "drift" (configuration) SDDC Manager bundle.
    pub drift_upgrade: SimDuration,
    /// Duration of an NSX upgrade.
    pub nsx_upgrade: SimDuration,
    /// Duration of a vCenter upgrade.
    pub vcenter_upgrade: SimDuration,
    /// ESXi upgrade time per host (hosts of a cluster go one after the other).
    pub esx_per_host: SimDuration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            token_ttl: SimDuration::from_secs(3600),
            refresh_token_ttl: SimDuration::from_secs(24 * 3600),
            download_scheduled: SimDuration::from_secs(60),
            download_mb_per_sec: 10.0,
            check_run: SimDuration::from_secs(8 * 60),
            validation: SimDuration::from_secs(2 * 60),
            upgrade_precheck: SimDuration::from_secs(5 * 60),
            upgrade_pending: SimDuration::from_secs(30),
            sddc_manager_staging: SimDuration::from_secs(10 * 60),
            outage: SimDuration::from_secs(20 * 60),
            unready: SimDuration::from_secs(10 * 60),
            drift_upgrade: SimDuration::from_secs(10 * 60),
            nsx_upgrade: SimDuration::from_secs(90 * 60),
            vcenter_upgrade: SimDuration::from_secs(75 * 60),
            esx_per_host: SimDuration::from_secs(20 * 60),
        }
    }
}

/// Faults present from the start (more can be injected through `POST /sim/faults`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FaultSpec {
    /// Fraction (0..1) of `/v1` requests answered with a 5xx `Error` body.
    pub error_rate: f64,
    /// Components whose upgrade fails (`SDDC_MANAGER`, `NSX_T_MANAGER`, `VCENTER`, `ESX_HOST`).
    pub fail_component: Vec<String>,
    /// How many attempts of a failing component fail before a retry succeeds.
    #[serde(default = "one")]
    pub fail_attempts: u32,
    /// Components whose upgrade never finishes.
    pub hang_component: Vec<String>,
    /// Bundles whose download fails: bundle ids or component types.
    pub fail_download: Vec<String>,
    /// How many download attempts of such a bundle fail before one succeeds.
    #[serde(default = "one")]
    pub download_fail_attempts: u32,
    /// Domain release validations after the target is set complete with `resultStatus`
    /// `FAILED`.
    pub validation_failure: bool,
    /// Domain release validations after the target is set complete with `resultStatus`
    /// `FAILED_WITH_WARNINGS`.
    pub validation_warnings: bool,
    /// Validations of a target not yet set complete with `resultStatus` `FAILED`.
    pub target_validation_failure: bool,
}

fn one() -> u32 {
    1
}

/// One VCF release of the catalogue.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseSpec {
    /// VCF version, `5.2.1.0`.
    pub version: String,
    /// Oldest VCF version that can upgrade to it.
    pub min_compatible: String,
    /// Release date (`2024-10-09`).
    pub release_date: String,
    /// Description text.
    #[serde(default)]
    pub description: String,
    /// End of life date.
    #[serde(default)]
    pub eol: Option<String>,
    /// A stepping stone: domains must run at least this version first (else `NOT_APPLICABLE`).
    #[serde(default)]
    pub requires: Option<String>,
    /// Bill of materials.
    pub bom: Vec<BomSpec>,
}

/// One BOM entry of a release.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BomSpec {
    /// Component name (`SDDC_MANAGER_VCF`, `NSX_T_MANAGER`, `VCENTER`, `ESX_HOST`).
    pub name: String,
    /// Component version with build.
    pub version: String,
    /// Public name; derived from `name` when absent.
    #[serde(default)]
    pub public_name: Option<String>,
    /// Leave `version` out of the answers (a 9.x SDDC Manager may: the 9.0.2 spec no longer
    /// requires `ProductVersion.version`); `changeId` still carries the build.
    #[serde(default)]
    pub hide_version: bool,
}

/// What a bundle does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum BundleKind {
    /// Upgrades its component to the release's BOM version.
    #[default]
    Upgrade,
    /// A second SDDC Manager bundle for the same release (configuration drift).
    Drift,
    /// Same version and release date as the release, downloaded but never applied.
    Fallback,
}

/// A bundle of the depot.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleSpec {
    /// Fixed id; derived from the seed and the other fields when absent.
    #[serde(default)]
    pub id: Option<String>,
    /// Component: `SDDC_MANAGER`, `NSX_T_MANAGER`, `VCENTER`, `ESX_HOST`.
    pub component: String,
    /// VCF release the bundle belongs to.
    pub release: String,
    /// What the bundle does.
    #[serde(default)]
    pub kind: BundleKind,
    /// Bundle version; default: the release's BOM version of the component. A fallback
    /// bundle may carry another build of the same version.
    #[serde(default)]
    pub version: Option<String>,
    /// Size in MB (sets the download time).
    #[serde(default = "default_size")]
    pub size_mb: f64,
    /// Already downloaded at start.
    #[serde(default)]
    pub downloaded: bool,
    /// Listed only once the SDDC Manager runs this release's version.
    #[serde(default)]
    pub after_sddc_manager_upgrade: bool,
    /// Bundle severity.
    #[serde(default = "default_severity")]
    pub severity: String,
}

fn default_size() -> f64 {
    1024.0
}

fn default_severity() -> String {
    "CRITICAL".into()
}

/// A workload domain.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainSpec {
    /// Domain name (`sfo-m01`).
    pub name: String,
    /// `MANAGEMENT` or `VI`.
    #[serde(rename = "type")]
    pub domain_type: String,
    /// Current VCF version; its release must be in the catalogue.
    pub version: String,
    /// Clusters of the domain.
    pub clusters: Vec<ClusterSpec>,
}

/// A vSphere cluster.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSpec {
    /// Cluster name.
    pub name: String,
    /// Generate this many hosts (ignored when `host` entries are listed).
    #[serde(default)]
    pub host_count: u32,
    /// Listed hosts.
    #[serde(default)]
    pub host: Vec<HostSpec>,
    /// Primary datastore type.
    #[serde(default = "default_datastore")]
    pub datastore_type: String,
    /// Managed by vLCM images (spec `Cluster.isImageBased`) instead of baselines.
    #[serde(default)]
    pub image_based: bool,
}

fn default_datastore() -> String {
    "VSAN".into()
}

/// A listed ESXi host.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostSpec {
    /// Host FQDN.
    pub fqdn: String,
    /// Management IP address.
    #[serde(default)]
    pub ip_address: Option<String>,
    /// CPU cores.
    #[serde(default)]
    pub cores: Option<u32>,
    /// Memory in GB.
    #[serde(default)]
    pub memory_gb: Option<f64>,
}

/// A finding that check-set runs report.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingSpec {
    /// `WARNING` or `ERROR` (`CRITICAL` counts as an error).
    pub severity: String,
    /// Check code, e.g. `VSAN_HCL_CHECK`.
    pub code: String,
    /// Check name.
    pub check: String,
    /// Message.
    pub message: String,
    /// Remediation text.
    #[serde(default)]
    pub remediation: Option<String>,
    /// Resource the finding is about (a host or component name).
    #[serde(default)]
    pub resource: Option<String>,
    /// Only in runs for this domain (all domains when absent).
    #[serde(default)]
    pub domain: Option<String>,
}

// === impl Scenario ===

impl Scenario {
    /// Loads a built-in scenario by name.
    ///
    /// # Errors
    /// Unknown name, or a built-in that does not parse (a bug caught by the tests).
    pub fn builtin(name: &str) -> anyhow::Result<Scenario> {
        let Some((_, text)) = BUILTINS.iter().find(|(n, _)| *n == name) else {
            bail!(
                "unknown scenario {name:?}; built-in scenarios: {}",
                BUILTIN_NAMES.join(", ")
            );
        };
        Scenario::from_toml_str(text).with_context(|| format!("built-in scenario {name}"))
    }

    /// Names of the built-in scenarios.
    pub fn builtin_names() -> &'static [&'static str] {
        BUILTIN_NAMES
    }

    /// Loads a scenario from a TOML file.
    ///
    /// # Errors
    /// The file cannot be read or is not a valid scenario.
    pub fn from_file(path: &Path) -> anyhow::Result<Scenario> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading scenario {}", path.display()))?;
        Scenario::from_toml_str(&text).with_context(|| format!("scenario {}", path.display()))
    }

    /// Parses a scenario from TOML text and checks it is consistent.
    ///
    /// # Errors
    /// Invalid TOML, unknown keys, or references to releases that are not in the catalogue.
    pub fn from_toml_str(s: &str) -> anyhow::Result<Scenario> {
        let value: toml::Value = toml::from_str(s).context("parsing scenario TOML")?;
        let merged = resolve_base(value, 0)?;
        let sc: Scenario = merged.try_into().context("reading scenario")?;
        sc.validate()?;
        Ok(sc)
    }

    /// A built-in name or a path to a TOML file.
    ///
    /// # Errors
    /// Neither a built-in name nor a readable scenario file.
    pub fn load(name_or_path: &str) -> anyhow::Result<Scenario> {
        if BUILTIN_NAMES.contains(&name_or_path) {
            Scenario::builtin(name_or_path)
        } else {
            Scenario::from_file(Path::new(name_or_path))
        }
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.domains.is_empty() {
            bail!("a scenario needs at least one domain");
        }
        if !self.domains.iter().any(|d| d.domain_type == "MANAGEMENT") {
            bail!("a scenario needs a MANAGEMENT domain");
        }
        let r = &self.readiness;
        if !["ok", "not_configured", "bad_credentials", "token_expired"].contains(&r.depot.as_str())
        {
            bail!(
                "readiness.depot must be ok, not_configured, bad_credentials or token_expired, got {:?}",
                r.depot
            );
        }
        for (what, domain) in r
            .credentials
            .iter()
            .map(|c| ("credentials", &c.domain))
            .chain(r.certificates.iter().map(|c| ("certificates", &c.domain)))
        {
            if !self.domains.iter().any(|d| &d.name == domain) {
                bail!("readiness.{what}: no domain {domain:?} in this scenario");
            }
        }
        for n in &r.notifications {
            n.validate(self)?;
        }
        for c in &r.image_compliance {
            if !IMAGE_COMPLIANCE_STATUSES.contains(&c.status.as_str()) {
                bail!(
                    "readiness.image_compliance: status must be one of {}, got {:?}",
                    IMAGE_COMPLIANCE_STATUSES.join(", "),
                    c.status
                );
            }
            if !self
                .domains
                .iter()
                .any(|d| d.clusters.iter().any(|k| k.name == c.cluster))
            {
                bail!(
                    "readiness.image_compliance: no cluster {:?} in this scenario",
                    c.cluster
                );
            }
        }
        if !(r.backup_secs.is_finite() && r.backup_secs > 0.0) {
            bail!("readiness.backup_secs must be a positive number of seconds");
        }
        for d in &self.domains {
            if d.domain_type != "MANAGEMENT" && d.domain_type != "VI" {
                bail!("domain {}: type must be MANAGEMENT or VI", d.name);
            }
            if !self.releases.iter().any(|r| r.version == d.version) {
                bail!(
                    "domain {}: version {} is not in the release catalogue",
                    d.name,
                    d.version
                );
            }
            if d.clusters.is_empty() {
                bail!("domain {} has no cluster", d.name);
            }
        }
        for b in &self.bundles {
            if !self.releases.iter().any(|r| r.version == b.release) {
                bail!(
                    "bundle for {} refers to unknown release {}",
                    b.component,
                    b.release
                );
            }
            if !matches!(
                b.component.as_str(),
                "SDDC_MANAGER" | "NSX_T_MANAGER" | "VCENTER" | "ESX_HOST"
            ) {
                bail!("bundle component {} is not supported", b.component);
            }
        }
        if !(0.0..=1.0).contains(&self.faults.error_rate) {
            bail!("faults.error_rate must be within 0..1");
        }
        if self.timing.download_mb_per_sec <= 0.0 {
            bail!("timing.download_mb_per_sec must be positive");
        }
        Ok(())
    }
}

/// Applies `base = "NAME"`: the built-in's TOML with this one's keys merged over it.
fn resolve_base(value: toml::Value, depth: u32) -> anyhow::Result<toml::Value> {
    let Some(base) = value
        .get("base")
        .and_then(|b| b.as_str())
        .map(str::to_owned)
    else {
        return Ok(value);
    };
    if depth > 4 {
        bail!("scenario base chain too deep at {base:?}");
    }
    let Some((_, text)) = BUILTINS.iter().find(|(n, _)| *n == base) else {
        bail!("unknown base scenario {base:?}");
    };
    let base_value: toml::Value = toml::from_str(text).context("parsing base scenario")?;
    let mut merged = resolve_base(base_value, depth + 1)?;
    merge(&mut merged, value);
    Ok(merged)
}

/// Deep merge of tables; any other value (arrays included) replaces the old one.
fn merge(into: &mut toml::Value, from: toml::Value) {
    match (into, from) {
        (toml::Value::Table(a), toml::Value::Table(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(old) => merge(old, v),
                    None => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_parses() {
        for name in Scenario::builtin_names() {
            let sc = Scenario::builtin(name).unwrap();
            assert_eq!(&sc.name, name);
        }
        assert!(Scenario::builtin("nope").is_err());
    }

    #[test]
    fn bad_scenarios_are_refused_with_a_reason() {
        let base = "base = \"default\"\nname = \"x\"\n";
        let cases = [
            (format!("{base}colour = 1\n"), "colour"),
            (format!("{base}[timing]\noutage = \"soon\"\n"), "soon"),
            (
                format!(
                    "{base}[[domains]]\nname = \"d\"\ntype = \"VI\"\nversion = \"5.2.0.0\"\nclusters = [{{name = \"c\", host_count = 1}}]\n"
                ),
                "MANAGEMENT",
            ),
            (
                format!("{base}[[bundles]]\ncomponent = \"VCENTER\"\nrelease = \"6.0.0.0\"\n"),
                "6.0.0.0",
            ),
            (format!("{base}[faults]\nerror_rate = 2.0\n"), "error_rate"),
            ("base = \"nope\"\nname = \"x\"\n".to_string(), "nope"),
        ];
        for (text, needle) in cases {
            let err = format!("{:#}", Scenario::from_toml_str(&text).unwrap_err());
            assert!(err.contains(needle), "{needle}: {err}");
        }
    }

    #[test]
    fn base_merges_tables_and_replaces_arrays() {
        let sc = Scenario::from_toml_str(
            "base = \"default\"\nname = \"m\"\n[timing]\noutage = \"1m\"\n[[findings]]\nseverity = \"WARNING\"\ncode = \"C\"\ncheck = \"c\"\nmessage = \"m\"\n",
        )
        .unwrap();
        assert_eq!(sc.timing.outage.secs(), 60.0);
        assert_eq!(
            sc.timing.nsx_upgrade.secs(),
            5400.0,
            "other timings from the base"
        );
        assert_eq!(sc.findings.len(), 1);
        assert_eq!(sc.domains.len(), 2);
        let large = Scenario::builtin("large").unwrap();
        let hosts: u32 = large
            .domains
            .iter()
            .flat_map(|d| &d.clusters)
            .map(|c| c.host_count)
            .sum();
        assert!(hosts >= 1000 && large.domains.len() >= 10);
    }

    #[test]
    fn durations_parse_from_text_and_seconds() {
        let d: SimDuration = toml::from_str::<toml::Value>("a = \"1h 30m\"")
            .unwrap()
            .get("a")
            .unwrap()
            .clone()
            .try_into()
            .unwrap();
        assert_eq!(d.secs(), 5400.0);
        let d: SimDuration = toml::Value::Integer(5).try_into().unwrap();
        assert_eq!(d.secs(), 5.0);
    }
}
