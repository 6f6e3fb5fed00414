//! Typed serde models of the SDDC Manager API, named after the OpenAPI schemas.
//!
//! All models ignore unknown fields (the server adds fields between releases) and make almost
//! every field optional, so a missing field never fails a poll. Status fields use the normalised
//! [`Status`](crate::Status). Request bodies skip empty fields: the API rejects some bodies that
//! carry extra empty keys.

mod bundle;
mod check;
mod checkset;
mod common;
mod inventory;
mod personality;
mod readiness;
mod release;
mod task;
mod upgradable;
mod upgrade;

pub use bundle::{Bundle, BundleComponent, BundleDownloadSpec, BundleUpdateSpec};
pub use check::Checked;
pub use checkset::{
    AssessmentMetadata, AssessmentOutput, AssessmentResource, AssessmentTaskInfo,
    CheckSetCandidate, CheckSetDomain, CheckSetQueryDomain, CheckSetQueryInput,
    CheckSetQueryResource, CheckSetQueryResult, CheckSetResource, CheckSetRunInput,
    CheckSetSelection, DiscoveryProgress, EntityRest, SelectedCheckSetCandidate,
    ValidationDomainSummary,
};
pub use common::{ApiError, ErrorCause, MessagePack, PageMetadata, PageOf, Resource};
pub use inventory::{
    BasicAuthDetails, Capacity, Cluster, ClusterReference, CpuInfo, DataMetric, Domain,
    DomainReference, FrequencyMetric, Host, HostCpu, HostIpAddress, HostMemory, HostReference,
    HostStorage, NsxtClusterReference, SddcManager, StorageOrMemoryInfo, UpgradeStatus,
    VcenterReference,
};
pub use personality::{BaseImageInfo, Personality, SoftwareInfo};
pub use readiness::{
    AuthenticatedResource, BackupConfiguration, BackupLocation, BackupResource, BackupSchedule,
    BackupSpec, BackupTask, Certificate, ClusterImageCompliance, ClusterImageComplianceDetail,
    Credential, CredentialExpirationCheck, CredentialsExpiration, CredentialsExpirationSpec,
    DepotAccount, DepotSettings, DepotSyncInfo, ExpirationDetails, NamedReference,
    NotifiableDomain, NotifiableResource, Notification, NotificationMessage,
};
pub use release::{
    BomEntry, DomainRelease, DomainReleaseView, FutureRelease, PatchBundle, Release,
    TargetProductVersion, Validation, ValidationCheck,
};
pub use task::{Stage, SubTask, Task};
pub use upgradable::{ClusterUpgradable, SoftwareComponent, Upgradable};
pub use upgrade::{
    ResourceUpgradeSpec, TemporaryNetwork, Upgrade, UpgradeCommitSpec, UpgradeSpec,
    VcenterUpgradeUserInputSpec,
};
