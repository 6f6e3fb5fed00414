//! Inventory models: domains, clusters, hosts, SDDC Managers and their capacity figures.

use serde::{Deserialize, Serialize};

use crate::Status;

/// The spec's `Domain` (a workload domain). It has no version field: see
/// [`VcfClient::releases`](crate::VcfClient::releases) with a domain id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Domain {
    /// Domain id.
    pub id: String,
    /// Domain name, e.g. `sfo-m01`.
    pub name: String,
    /// Organisation name.
    pub org_name: Option<String>,
    /// Domain status (`ACTIVE`, `UPGRADING`, ...), kept verbatim.
    pub status: Option<String>,
    /// `MANAGEMENT` or `VI`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Upgrade state (`AVAILABLE`, `FAILED`).
    pub upgrade_state: Option<String>,
    /// Upgrade progress of the domain.
    pub upgrade_status: Option<UpgradeStatus>,
    /// vCenters of the domain.
    pub vcenters: Vec<VcenterReference>,
    /// Clusters of the domain.
    pub clusters: Vec<ClusterReference>,
    /// NSX cluster of the domain.
    pub nsxt_cluster: Option<NsxtClusterReference>,
    /// SSO domain id.
    pub sso_id: Option<String>,
    /// SSO domain name.
    pub sso_name: Option<String>,
    /// Whether this domain hosts the management SSO domain.
    pub is_management_sso_domain: Option<bool>,
    /// Aggregated capacity.
    pub capacity: Option<Capacity>,
    /// Lifecycle mode (`IMAGES`, `BASELINES`, ...).
    pub lifecycle_management_mode: Option<String>,
}

/// The spec's `UpgradeStatus` of a domain.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UpgradeStatus {
    /// `UP_TO_DATE`, `SCHEDULED`, `IN_PROGRESS`, `READY`, `AVAILABLE`.
    pub status: Option<Status>,
    /// Resources already upgraded.
    pub completed_resources: Option<i64>,
    /// Resources to upgrade.
    pub total_resources: Option<i64>,
}

/// The spec's `VcenterReference`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VcenterReference {
    /// vCenter id.
    pub id: String,
    /// vCenter FQDN.
    pub fqdn: Option<String>,
}

/// The spec's `ClusterReference`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClusterReference {
    /// Cluster id.
    pub id: String,
    /// Cluster name.
    pub name: Option<String>,
}

/// The spec's `NsxTClusterReference`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NsxtClusterReference {
    /// NSX cluster id.
    pub id: Option<String>,
    /// Virtual IP FQDN.
    pub vip_fqdn: Option<String>,
    /// Virtual IP.
    pub vip: Option<String>,
}

/// The spec's `DomainReference` (in clusters, hosts and SDDC Managers).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DomainReference {
    /// Domain id.
    pub id: String,
    /// Domain name.
    pub name: Option<String>,
    /// `MANAGEMENT` or `VI`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// The spec's `Capacity`: used and total CPU, memory and storage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Capacity {
    /// CPU.
    pub cpu: Option<CpuInfo>,
    /// Memory.
    pub memory: Option<StorageOrMemoryInfo>,
    /// Storage.
    pub storage: Option<StorageOrMemoryInfo>,
}

/// The spec's `CpuInfo`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CpuInfo {
    /// Used frequency.
    pub used: Option<FrequencyMetric>,
    /// Total frequency.
    pub total: Option<FrequencyMetric>,
    /// Number of cores.
    pub number_of_cores: Option<i64>,
    /// Number of CPU packages.
    #[serde(rename = "numberOfCPUPackages")]
    pub number_of_cpu_packages: Option<i64>,
}

/// The spec's `MemoryInfo` / `StorageInfo` (same shape).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StorageOrMemoryInfo {
    /// Used amount.
    pub used: Option<DataMetric>,
    /// Total amount.
    pub total: Option<DataMetric>,
}

/// The spec's `FrequencyMetric` (`unit`: Hz, KHz, MHz, GHz, THz).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FrequencyMetric {
    /// Value in `unit`.
    pub value: f64,
    /// Unit.
    pub unit: String,
}

/// The spec's `DataMetric` (`unit`: B, KB, MB, GB, TB, PB).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DataMetric {
    /// Value in `unit`.
    pub value: f64,
    /// Unit.
    pub unit: String,
}

/// The spec's `Cluster`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Cluster {
    /// Cluster id.
    pub id: String,
    /// Cluster name.
    pub name: String,
    /// Owning domain.
    pub domain: Option<DomainReference>,
    /// Cluster status (`ACTIVE`, ...), kept verbatim.
    pub status: Option<String>,
    /// Primary datastore name.
    pub primary_datastore_name: Option<String>,
    /// Primary datastore type (`VSAN`, `NFS`, ...).
    pub primary_datastore_type: Option<String>,
    /// Hosts of the cluster.
    pub hosts: Vec<HostReference>,
    /// Stretched cluster?
    pub is_stretched: Option<bool>,
    /// Default cluster of the domain?
    pub is_default: Option<bool>,
    /// vLCM image based?
    pub is_image_based: Option<bool>,
    /// Aggregated capacity.
    pub capacity: Option<Capacity>,
    /// vCenter of the cluster.
    pub vcenter: Option<VcenterReference>,
    /// vSphere managed object id, e.g. `domain-c8`.
    pub managed_object_reference_id: Option<String>,
}

/// The spec's `HostReference` (in clusters).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HostReference {
    /// Host id.
    pub id: String,
    /// Host FQDN.
    pub fqdn: Option<String>,
    /// Management IP.
    pub ip_address: Option<String>,
}

/// The spec's `Host` (ESXi host).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Host {
    /// Host id.
    pub id: String,
    /// Host FQDN.
    pub fqdn: Option<String>,
    /// ESXi version, e.g. `8.0.3-24022510`.
    pub esxi_version: Option<String>,
    /// Hardware vendor.
    pub hardware_vendor: Option<String>,
    /// Hardware model.
    pub hardware_model: Option<String>,
    /// Serial number.
    pub serial_number: Option<String>,
    /// IP addresses.
    pub ip_addresses: Vec<HostIpAddress>,
    /// CPU frequency and usage.
    pub cpu: Option<HostCpu>,
    /// Memory size and usage.
    pub memory: Option<HostMemory>,
    /// Storage size and usage.
    pub storage: Option<HostStorage>,
    /// Owning domain.
    pub domain: Option<DomainReference>,
    /// Owning cluster.
    pub cluster: Option<ClusterReference>,
    /// `ASSIGNED`, `UNASSIGNED_USEABLE`, `UNASSIGNED_UNUSEABLE`.
    pub status: Option<String>,
    /// Configuration status (same values as the domain status).
    pub configuration_status: Option<String>,
}

/// The spec's `IpAddress` of a host.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HostIpAddress {
    /// The address.
    pub ip_address: Option<String>,
    /// `MANAGEMENT`, `VSAN`, `VMOTION`, ...
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// The spec's `Cpu` of a host (MHz figures).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HostCpu {
    /// Total frequency, MHz.
    #[serde(rename = "frequencyMHz")]
    pub frequency_mhz: Option<f64>,
    /// Used frequency, MHz.
    #[serde(rename = "usedFrequencyMHz")]
    pub used_frequency_mhz: Option<f64>,
    /// Cores.
    pub cores: Option<i64>,
}

/// The spec's `Memory` of a host (MB figures).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HostMemory {
    /// Total, MB.
    #[serde(rename = "totalCapacityMB")]
    pub total_capacity_mb: Option<f64>,
    /// Used, MB.
    #[serde(rename = "usedCapacityMB")]
    pub used_capacity_mb: Option<f64>,
}

/// The spec's `Storage` of a host (MB figures).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct HostStorage {
    /// Total, MB.
    #[serde(rename = "totalCapacityMB")]
    pub total_capacity_mb: Option<f64>,
    /// Used, MB.
    #[serde(rename = "usedCapacityMB")]
    pub used_capacity_mb: Option<f64>,
}

/// The spec's `SddcManager`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SddcManager {
    /// SDDC Manager id.
    pub id: String,
    /// FQDN.
    pub fqdn: Option<String>,
    /// `<vcf-version>-<build>`, e.g. `5.2.1.0-24307856`.
    pub version: Option<String>,
    /// IP address.
    pub ip_address: Option<String>,
    /// Domain it belongs to.
    pub domain: Option<DomainReference>,
    /// Basic authentication state.
    pub basic_auth_details: Option<BasicAuthDetails>,
}

/// The spec's `BasicAuthDetails`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BasicAuthDetails {
    /// `ENABLED` or `DISABLED`.
    pub status: Option<String>,
    /// User name.
    pub username: Option<String>,
}
