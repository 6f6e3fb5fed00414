//! The managed inventory built from a scenario: SDDC Manager, domains with their NSX and
//! vCenter, clusters, hosts, the release catalogue and the depot's bundles. Versions here
//! change as upgrades complete; everything else is fixed for the life of a run.

use crate::ids;
use crate::scenario::{BundleKind, Scenario};
use crate::version;

/// The SDDC Manager appliance.
#[derive(Debug, Clone)]
pub struct SddcManager {
    /// Id.
    pub id: String,
    /// FQDN.
    pub fqdn: String,
    /// IP address.
    pub ip_address: String,
    /// Version with build (`5.2.0.0-24108943`).
    pub version: String,
    /// Ids of drift bundles already applied.
    pub applied_drift: Vec<String>,
}

/// A workload domain.
#[derive(Debug, Clone)]
pub struct Domain {
    /// Id.
    pub id: String,
    /// Name (`sfo-m01`).
    pub name: String,
    /// `MANAGEMENT` or `VI`.
    pub domain_type: String,
    /// Current VCF version (`5.2.0.0`).
    pub version: String,
    /// Last selected target version.
    pub target: Option<String>,
    /// NSX Manager cluster id.
    pub nsx_id: String,
    /// NSX VIP FQDN.
    pub nsx_fqdn: String,
    /// NSX VIP.
    pub nsx_vip: String,
    /// NSX version.
    pub nsx_version: String,
    /// vCenter id.
    pub vc_id: String,
    /// vCenter FQDN.
    pub vc_fqdn: String,
    /// vCenter instance UUID.
    pub vc_instance_id: String,
    /// vCenter version.
    pub vc_version: String,
    /// SSO domain id.
    pub sso_id: String,
    /// Network pool id.
    pub network_pool_id: String,
    /// Indexes into the cluster list.
    pub clusters: Vec<usize>,
    /// The last component upgrade of this domain failed.
    pub upgrade_failed: bool,
}

/// A vSphere cluster.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Index of its domain.
    pub domain: usize,
    /// Indexes into the host list.
    pub hosts: Vec<usize>,
    /// Primary datastore type.
    pub datastore_type: String,
    /// vCenter managed object reference.
    pub moref: String,
    /// First cluster of its domain.
    pub is_default: bool,
    /// Managed by vLCM images.
    pub image_based: bool,
}

/// An ESXi host.
#[derive(Debug, Clone)]
pub struct Host {
    /// Id.
    pub id: String,
    /// FQDN.
    pub fqdn: String,
    /// Management IP.
    pub ip_address: String,
    /// Serial number.
    pub serial: String,
    /// Physical cores.
    pub cores: u32,
    /// Total CPU frequency in MHz.
    pub cpu_mhz: f64,
    /// Memory in MB.
    pub memory_mb: f64,
    /// Storage in MB.
    pub storage_mb: f64,
    /// Index of its cluster.
    pub cluster: usize,
    /// Index of its domain.
    pub domain: usize,
    /// ESXi version with build.
    pub esxi_version: String,
    /// Global index (drives its usage curve).
    pub index: usize,
}

/// One BOM entry.
#[derive(Debug, Clone)]
pub struct BomEntry {
    /// `SDDC_MANAGER_VCF`, `NSX_T_MANAGER`, `VCENTER`, `ESX_HOST`, ...
    pub name: String,
    /// Version with build.
    pub version: String,
    /// Public name.
    pub public_name: String,
    /// `version` is left out of the answers (9.x).
    pub hide_version: bool,
}

/// A VCF release of the catalogue.
#[derive(Debug, Clone)]
pub struct Release {
    /// VCF version.
    pub version: String,
    /// Minimum compatible VCF version.
    pub min_compatible: String,
    /// Stepping stone requirement.
    pub requires: Option<String>,
    /// Release date, ISO.
    pub release_date: String,
    /// End of life, ISO.
    pub eol: Option<String>,
    /// Description.
    pub description: String,
    /// Bill of materials.
    pub bom: Vec<BomEntry>,
}

impl Release {
    /// BOM version of a component (`SDDC_MANAGER_VCF`, `NSX_T_MANAGER`, `VCENTER`, `ESX_HOST`).
    pub fn bom_version(&self, name: &str) -> Option<&str> {
        self.bom
            .iter()
            .find(|b| b.name == name)
            .map(|b| b.version.as_str())
    }
}

/// Static description of a bundle (its download state lives in the simulation state).
#[derive(Debug, Clone)]
pub struct BundleInfo {
    /// Id.
    pub id: String,
    /// `SDDC_MANAGER`, `NSX_T_MANAGER`, `VCENTER`, `ESX_HOST`.
    pub component: String,
    /// VCF release.
    pub release: String,
    /// What it does.
    pub kind: BundleKind,
    /// Target component version with build.
    pub version: String,
    /// Component version it upgrades from (previous release's BOM).
    pub from_version: Option<String>,
    /// Release date, ISO.
    pub released_date: String,
    /// Size in MB.
    pub size_mb: f64,
    /// Severity.
    pub severity: String,
    /// Listed only when the SDDC Manager runs at least this version.
    pub needs_sddc_version: Option<String>,
    /// Downloaded at start.
    pub initially_downloaded: bool,
}

impl BundleInfo {
    /// The spec's bundle type: `SDDC_MANAGER` or `VMWARE_SOFTWARE`.
    pub fn bundle_type(&self) -> &'static str {
        if self.component == "SDDC_MANAGER" {
            "SDDC_MANAGER"
        } else {
            "VMWARE_SOFTWARE"
        }
    }

    /// The BOM entry name of the bundle's component.
    pub fn bom_name(&self) -> &'static str {
        bom_name(&self.component)
    }
}

/// BOM entry name of a bundle component.
pub fn bom_name(component: &str) -> &'static str {
    match component {
        "SDDC_MANAGER" => "SDDC_MANAGER_VCF",
        "NSX_T_MANAGER" => "NSX_T_MANAGER",
        "VCENTER" => "VCENTER",
        _ => "ESX_HOST",
    }
}

/// Display name of a component.
pub fn public_name(component: &str) -> &'static str {
    match component {
        "SDDC_MANAGER" | "SDDC_MANAGER_VCF" => "SDDC Manager",
        "NSX_T_MANAGER" => "VMware NSX",
        "VCENTER" => "VMware vCenter Server",
        "ESX_HOST" => "VMware ESXi",
        _ => "VMware component",
    }
}

/// The whole inventory.
#[derive(Debug, Clone)]
pub struct Inventory {
    /// The SDDC Manager.
    pub sddc: SddcManager,
    /// Domains, management first as in the scenario.
    pub domains: Vec<Domain>,
    /// Clusters.
    pub clusters: Vec<Cluster>,
    /// Hosts.
    pub hosts: Vec<Host>,
    /// Release catalogue, oldest first.
    pub releases: Vec<Release>,
    /// Bundles.
    pub bundles: Vec<BundleInfo>,
}

/// FQDN (empty = generated), IP, cores, memory GB of a host to create.
type HostSeed = (String, Option<String>, Option<u32>, Option<f64>);

fn date_iso(d: &str) -> String {
    if d.contains('T') {
        d.to_string()
    } else {
        format!("{d}T00:00:00.000Z")
    }
}

fn short(name: &str) -> String {
    // "sfo-m01" -> "m01", used in generated host names ("sfo01-m01-esx01").
    name.rsplit('-').next().unwrap_or(name).to_string()
}

impl Inventory {
    /// Builds the inventory of a scenario.
    pub fn build(sc: &Scenario) -> Inventory {
        let seed = sc.seed;
        let mut releases: Vec<Release> = sc
            .releases
            .iter()
            .map(|r| Release {
                version: r.version.clone(),
                min_compatible: r.min_compatible.clone(),
                requires: r.requires.clone(),
                release_date: date_iso(&r.release_date),
                eol: r.eol.as_deref().map(date_iso),
                description: if r.description.is_empty() {
                    format!("VMware Cloud Foundation {}", r.version)
                } else {
                    r.description.clone()
                },
                bom: r
                    .bom
                    .iter()
                    .map(|b| BomEntry {
                        name: b.name.clone(),
                        version: b.version.clone(),
                        public_name: b
                            .public_name
                            .clone()
                            .unwrap_or_else(|| public_name(&b.name).to_string()),
                        hide_version: b.hide_version,
                    })
                    .collect(),
            })
            .collect();
        releases.sort_by(|a, b| version::cmp(&a.version, &b.version));

        let bom_of = |vcf: &str, name: &str| -> String {
            releases
                .iter()
                .find(|r| r.version == vcf)
                .and_then(|r| r.bom_version(name))
                .map(str::to_string)
                .unwrap_or_else(|| format!("{vcf}-0"))
        };

        let mgmt = sc
            .domains
            .iter()
            .find(|d| d.domain_type == "MANAGEMENT")
            .unwrap_or(&sc.domains[0]);
        let sddc = SddcManager {
            id: ids::stable(seed, "sddc-manager"),
            fqdn: sc.system.fqdn.clone(),
            ip_address: sc.system.ip_address.clone(),
            version: sc
                .system
                .version
                .clone()
                .unwrap_or_else(|| bom_of(&mgmt.version, "SDDC_MANAGER_VCF")),
            applied_drift: Vec::new(),
        };

        let suffix = &sc.system.dns_suffix;
        let site = sc
            .system
            .fqdn
            .split('-')
            .next()
            .unwrap_or("sfo")
            .to_string();
        let mut domains = Vec::new();
        let mut clusters = Vec::new();
        let mut hosts: Vec<Host> = Vec::new();
        for (di, d) in sc.domains.iter().enumerate() {
            let mut domain = Domain {
                id: ids::stable(seed, &format!("domain/{}", d.name)),
                name: d.name.clone(),
                domain_type: d.domain_type.clone(),
                version: d.version.clone(),
                target: None,
                nsx_id: ids::stable(seed, &format!("nsx/{}", d.name)),
                nsx_fqdn: format!("{}-nsx01.{suffix}", d.name),
                nsx_vip: format!("172.16.{}.65", 11 + di),
                nsx_version: bom_of(&d.version, "NSX_T_MANAGER"),
                vc_id: ids::stable(seed, &format!("vcenter/{}", d.name)),
                vc_fqdn: format!("{}-vc01.{suffix}", d.name),
                vc_instance_id: ids::stable(seed, &format!("vc-instance/{}", d.name)),
                vc_version: bom_of(&d.version, "VCENTER"),
                sso_id: ids::stable(seed, "sso/vsphere.local"),
                network_pool_id: ids::stable(seed, &format!("np/{}", d.name)),
                clusters: Vec::new(),
                upgrade_failed: false,
            };
            let esx = bom_of(&d.version, "ESX_HOST");
            for (ci, c) in d.clusters.iter().enumerate() {
                let cidx = clusters.len();
                let mut cluster = Cluster {
                    id: ids::stable(seed, &format!("cluster/{}/{}", d.name, c.name)),
                    name: c.name.clone(),
                    domain: di,
                    hosts: Vec::new(),
                    datastore_type: c.datastore_type.clone(),
                    moref: format!("domain-c{}", 8 + cidx * 1003),
                    is_default: ci == 0,
                    image_based: c.image_based,
                };
                let listed: Vec<HostSeed> = if c.host.is_empty() {
                    (0..c.host_count)
                        .map(|_| (String::new(), None, None, None))
                        .collect()
                } else {
                    c.host
                        .iter()
                        .map(|h| (h.fqdn.clone(), h.ip_address.clone(), h.cores, h.memory_gb))
                        .collect()
                };
                for (fqdn, ip, cores, mem_gb) in listed {
                    let index = hosts.len();
                    let in_domain = hosts.iter().filter(|h| h.domain == di).count() + 1;
                    let fqdn = if fqdn.is_empty() {
                        format!("{site}01-{}-esx{in_domain:02}.{suffix}", short(&d.name))
                    } else {
                        fqdn
                    };
                    let cores = cores.unwrap_or(if index % 3 == 0 { 32 } else { 28 });
                    hosts.push(Host {
                        id: ids::stable(seed, &format!("host/{fqdn}")),
                        ip_address: ip.unwrap_or_else(|| {
                            format!(
                                "172.{}.{}.{}",
                                16 + index / 60000,
                                (index / 250) % 256,
                                101 + index % 150
                            )
                        }),
                        serial: format!("SN{:08X}", ids::hash(seed, &fqdn) as u32),
                        fqdn,
                        cores,
                        cpu_mhz: f64::from(cores) * 2400.0,
                        memory_mb: mem_gb.unwrap_or(512.0) * 1024.0,
                        storage_mb: 7_325_000.0,
                        cluster: cidx,
                        domain: di,
                        esxi_version: esx.clone(),
                        index,
                    });
                    cluster.hosts.push(index);
                }
                domain.clusters.push(cidx);
                clusters.push(cluster);
            }
            domains.push(domain);
        }

        let bundles = sc
            .bundles
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let bom = bom_name(&b.component);
                let version = b.version.clone().unwrap_or_else(|| bom_of(&b.release, bom));
                let release = releases.iter().find(|r| r.version == b.release);
                let from_version = releases
                    .iter()
                    .rfind(|r| version::cmp(&r.version, &b.release).is_lt())
                    .and_then(|r| r.bom_version(bom))
                    .map(str::to_string);
                BundleInfo {
                    id: b.id.clone().unwrap_or_else(|| {
                        ids::stable(
                            seed,
                            &format!("bundle/{}/{}/{:?}/{i}", b.release, b.component, b.kind),
                        )
                    }),
                    component: b.component.clone(),
                    release: b.release.clone(),
                    kind: b.kind,
                    version,
                    from_version,
                    released_date: release.map(|r| r.release_date.clone()).unwrap_or_default(),
                    size_mb: b.size_mb,
                    severity: b.severity.clone(),
                    needs_sddc_version: if b.after_sddc_manager_upgrade {
                        Some(bom_of(&b.release, "SDDC_MANAGER_VCF"))
                    } else {
                        None
                    },
                    initially_downloaded: b.downloaded,
                }
            })
            .collect();

        Inventory {
            sddc,
            domains,
            clusters,
            hosts,
            releases,
            bundles,
        }
    }

    /// The release of a VCF version.
    pub fn release(&self, version: &str) -> Option<&Release> {
        self.releases.iter().find(|r| r.version == version)
    }

    /// Index of a domain by id.
    pub fn domain_index(&self, id: &str) -> Option<usize> {
        self.domains.iter().position(|d| d.id == id)
    }

    /// Whether the bundle is listed by the SDDC Manager's current version.
    pub fn bundle_visible(&self, b: &BundleInfo) -> bool {
        match &b.needs_sddc_version {
            Some(v) => version::cmp(&self.sddc.version, v).is_ge(),
            None => true,
        }
    }

    /// Recomputes every domain's VCF version from its component versions: the newest
    /// release whose NSX, vCenter and ESXi versions the domain runs and whose SDDC Manager
    /// version the appliance has reached.
    pub fn recompute_domain_versions(&mut self) {
        for di in 0..self.domains.len() {
            let d = &self.domains[di];
            let hosts: Vec<&Host> = self.hosts.iter().filter(|h| h.domain == di).collect();
            let matches = |r: &Release| {
                let ok = |name: &str, have: &str| r.bom_version(name).is_none_or(|v| v == have);
                let sddc_ok = r
                    .bom_version("SDDC_MANAGER_VCF")
                    .is_none_or(|v| version::cmp(&self.sddc.version, v).is_ge());
                sddc_ok
                    && ok("NSX_T_MANAGER", &d.nsx_version)
                    && ok("VCENTER", &d.vc_version)
                    && hosts.iter().all(|h| ok("ESX_HOST", &h.esxi_version))
            };
            let newest = self
                .releases
                .iter()
                .rfind(|r| matches(r) && version::cmp(&r.version, &d.version).is_ge())
                .map(|r| r.version.clone());
            if let Some(v) = newest {
                self.domains[di].version = v;
            }
        }
    }
}
