//! Models of the endpoints that tell whether a domain is ready to upgrade: credentials and
//! their password expiry, resource certificates, the SDDC Manager backup, the depot settings.
//!
//! Named after the OpenAPI schemas (5.2.1 and 9.0.2 agree on every field used here unless a
//! field's doc says otherwise); every field is optional so a missing one never fails a poll.

use serde::{Deserialize, Serialize};

use super::{ApiError, Resource};

/// The spec's `Credential` (`GET /v1/credentials`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Credential {
    /// Credential id.
    pub id: String,
    /// `SSO`, `SSH`, `API`, `FTP`, `AUDIT`.
    pub credential_type: Option<String>,
    /// `USER`, `SYSTEM`, `SERVICE`.
    pub account_type: Option<String>,
    /// User name.
    pub username: Option<String>,
    /// The resource the account belongs to.
    pub resource: Option<AuthenticatedResource>,
    /// Password expiry and connectivity, as SDDC Manager last checked them.
    pub expiry: Option<ExpirationDetails>,
}

/// The spec's `AuthenticatedResource`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AuthenticatedResource {
    /// Resource id.
    pub resource_id: Option<String>,
    /// Resource name (FQDN).
    pub resource_name: Option<String>,
    /// `ESXI`, `VCENTER`, `PSC`, `NSXT_MANAGER`, `NSXT_EDGE`, `NSX_ALB`, `BACKUP`, ...
    pub resource_type: Option<String>,
    /// Names of the domains the resource belongs to (empty for SDDC-wide resources).
    pub domain_names: Vec<String>,
}

/// The spec's `ExpirationDetails`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ExpirationDetails {
    /// When the password expires (ISO 8601).
    pub expiry_date: Option<String>,
    /// When SDDC Manager last checked.
    pub last_checked_date: Option<String>,
    /// `ACTIVE`, `ERROR`, `UNKNOWN`: `ERROR` is an account SDDC Manager cannot log in with
    /// (disconnected).
    pub connectivity_status: Option<String>,
    /// `ACTIVE`, `EXPIRING`, `EXPIRED`, `UNKNOWN`.
    pub status: Option<String>,
}

/// The spec's `CredentialsExpirationSpec` (`POST /v1/credentials/expirations`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialsExpirationSpec {
    /// Resource type to check (required by the spec).
    pub resource_type: String,
    /// Only this domain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain_name: Option<String>,
    /// Only these credentials.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub credential_ids: Vec<String>,
}

/// The spec's `CredentialsExpiration`: the expiration check task and its results.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CredentialsExpiration {
    /// Check id (for `GET /v1/credentials/expirations/{id}`).
    pub id: Option<String>,
    /// `COMPLETED`, `FAILED`, `IN_PROGRESS`.
    pub status: Option<String>,
    /// One result per credential checked.
    pub elements: Vec<CredentialExpirationCheck>,
    /// Created at.
    pub creation_timestamp: Option<String>,
    /// Completed at.
    pub completion_timestamp: Option<String>,
}

/// The spec's `CredentialExpirationCheck`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CredentialExpirationCheck {
    /// Credential id.
    pub id: Option<String>,
    /// User name.
    pub username: Option<String>,
    /// The resource.
    pub resource: Option<AuthenticatedResource>,
    /// The fresh expiry details.
    pub expiry: Option<ExpirationDetails>,
    /// Errors of this check.
    pub errors: Vec<ApiError>,
}

/// The spec's `Certificate` (`GET /v1/domains/{id}/resource-certificates`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Certificate {
    /// To whom it is issued (FQDN).
    pub issued_to: Option<String>,
    /// Issuer DN.
    pub issued_by: Option<String>,
    /// Resource type (`VCENTER`, `NSXT_MANAGER`, `SDDC_MANAGER`, ...).
    pub resource_type: Option<String>,
    /// Resource FQDN.
    pub resource_name: Option<String>,
    /// Not valid after (ISO 8601).
    pub not_after: Option<String>,
    /// `SHA256withRSA`, `SHA1withRSA`, ...
    pub signature_algorithm: Option<String>,
    /// Days until it expires.
    pub number_of_days_to_expire: Option<i64>,
    /// `ACTIVE`, `ABOUT_TO_EXPIRE`, `EXPIRED`.
    pub expiration_status: Option<String>,
    /// Domain id.
    pub domain: Option<String>,
    /// Installed on the resource.
    pub is_installed: Option<bool>,
    /// Why the certificate could not be read, if it could not.
    pub get_certificate_error: Option<String>,
}

/// The spec's `BackupConfiguration` (`GET /v1/system/backup-configuration`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BackupConfiguration {
    /// Backup server and passphrase both configured.
    pub is_configured: Option<bool>,
    /// Backup locations.
    pub backup_locations: Vec<BackupLocation>,
    /// Schedules.
    pub backup_schedules: Vec<BackupSchedule>,
}

/// The spec's `BackupLocation` (the password is never read).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BackupLocation {
    /// Backup server.
    pub server: Option<String>,
    /// `SFTP`.
    pub protocol: Option<String>,
    /// Directory.
    pub directory_path: Option<String>,
}

/// The spec's `BackupSchedule`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BackupSchedule {
    /// `SDDC_MANAGER`.
    pub resource_type: Option<String>,
    /// Scheduled backups on.
    pub take_scheduled_backups: Option<bool>,
    /// `WEEKLY`, `HOURLY`.
    pub frequency: Option<String>,
}

/// The spec's `BackupSpec` (`POST /v1/backups/tasks`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BackupSpec {
    /// What to back up.
    pub elements: Vec<BackupResource>,
}

/// The spec's `BackupResource`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupResource {
    /// `SDDC_MANAGER`.
    pub resource_type: String,
}

/// The spec's `BackupTask`: the 202 answer of `POST /v1/backups/tasks`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BackupTask {
    /// Task id (followed with `GET /v1/tasks/{id}`).
    pub id: Option<String>,
    /// Name.
    pub name: Option<String>,
    /// `IN_PROGRESS`.
    pub status: Option<String>,
    /// Resources.
    pub resources: Vec<Resource>,
    /// Errors.
    pub errors: Vec<ApiError>,
}

/// The spec's `DepotSettings` (`GET /v1/system/settings/depot`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DepotSettings {
    /// The online (Broadcom) depot account.
    pub vmware_account: Option<DepotAccount>,
    /// The Dell EMC account (VxRail).
    pub dell_emc_support_account: Option<DepotAccount>,
    /// The offline depot.
    pub offline_account: Option<DepotAccount>,
}

/// The spec's `DepotAccount` (the password is never read).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DepotAccount {
    /// User name (optional on 9.x when a download token is used).
    pub username: Option<String>,
    /// `DEPOT_CONNECTION_SUCCESSFUL`, `DEPOT_INVALID_CREDENTIAL`, `DEPOT_USER_NOT_SET`,
    /// `DEPOT_NOT_AVAILABLE`, `DEPOT_UNKNOWN_HOST`, `UNKNOWN_FAILURE`.
    pub status: Option<String>,
    /// Why, in words.
    pub message: Option<String>,
    /// 9.x only: the Broadcom download token (its presence is all the bridge looks at).
    pub download_token: Option<String>,
}

/// 9.x only: the spec's `DepotSyncInfo` (`GET /v1/system/settings/depot/depot-sync-info`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DepotSyncInfo {
    /// Sync status (free text in the spec).
    pub sync_status: Option<String>,
    /// Why the last sync failed.
    pub error_message: Option<String>,
    /// When the last sync finished.
    pub last_sync_completion_timestamp: Option<String>,
}

/// 9.x only: the spec's `Notification` (`GET /v1/notifications`). The spec gives it no id:
/// a notification is told apart by its type, message, creation time and resources.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Notification {
    /// The type of the notification (free text in the spec).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The severity (free text in the spec).
    pub severity: Option<String>,
    /// What it says.
    pub message: Option<NotificationMessage>,
    /// When it was created (ISO 8601).
    pub creation_timestamp: Option<String>,
    /// When it expires (ISO 8601).
    pub expiration_timestamp: Option<String>,
    /// The resources it concerns.
    pub resources: Vec<NotifiableResource>,
    /// The domain those resources belong to.
    pub domain: Option<NotifiableDomain>,
}

/// The spec's `Message` of a [`Notification`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NotificationMessage {
    /// Message id.
    pub id: Option<String>,
    /// The message in the SDDC Manager's language.
    pub localized_message: Option<String>,
    /// Its arguments.
    pub arguments: Vec<String>,
}

/// The spec's `NotifiableResource`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NotifiableResource {
    /// Resource id.
    pub id: Option<String>,
    /// Resource type.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// FQDN.
    pub name: Option<String>,
}

/// The spec's `NotifiableDomain`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NotifiableDomain {
    /// Domain id.
    pub id: Option<String>,
    /// Domain name.
    pub name: Option<String>,
}

/// 9.x only: the spec's `ClusterImageCompliance` (`GET /v1/clusters/{id}/image-compliance`).
/// `status`, `imageComplianceDetails` and `timestamp` are required by the spec; a missing one
/// is an unreadable answer, not a compliant cluster.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterImageCompliance {
    /// The cluster.
    #[serde(default)]
    pub cluster: Option<NamedReference>,
    /// The cluster's image.
    #[serde(default)]
    pub cluster_image: Option<NamedReference>,
    /// What the image holds (only its base image is read).
    #[serde(default)]
    pub cluster_image_details: Option<super::SoftwareInfo>,
    /// `COMPLIANT`, `NON_COMPLIANT`, `INCOMPATIBLE`, `UNAVAILABLE` (the spec's example).
    pub status: String,
    /// One entry per entity and component checked.
    pub image_compliance_details: Vec<ClusterImageComplianceDetail>,
    /// When the compliance was last computed (ISO 8601).
    pub timestamp: String,
}

/// The spec's `ClusterReference` / `ClusterImageReference`: an id and a name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NamedReference {
    /// Id.
    pub id: Option<String>,
    /// Name.
    pub name: Option<String>,
}

/// The spec's `ClusterImageComplianceDetail` (every field required by the spec; read leniently
/// here, since one odd entry must not hide the cluster's status).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClusterImageComplianceDetail {
    /// The entity (a host name).
    pub entity_name: Option<String>,
    /// `ADD_ON`, `BASE_IMAGE`, `COMPONENTS`, `HARDWARE_SUPPORT`, `SOLUTIONS`.
    pub component_type: Option<String>,
    /// `COMPLIANT`, `NON_COMPLIANT`, `INCOMPATIBLE`, `UNAVAILABLE`.
    pub compliance_status: Option<String>,
    /// `ERROR`, `INFO`, `WARNING`.
    pub severity: Option<String>,
    /// Version on the entity.
    pub component_current_version: Option<String>,
    /// Version the image wants.
    pub component_target_version: Option<String>,
    /// Component name.
    pub component_name: Option<String>,
    /// Component vendor.
    pub component_vendor: Option<String>,
    /// What is wrong.
    pub message: Option<String>,
    /// Impact on the entity.
    pub impact: Option<String>,
}
