//! Release logic: which future release a domain moves to next, and which bundles belong to a
//! release.

use crate::models::{BomEntry, Bundle, FutureRelease, Release};
use crate::version::VcfVersion;

/// What [`release_bundles`] needs to know about a release; implemented by [`Release`] and
/// [`FutureRelease`].
pub trait ReleaseInfo {
    /// The release version, e.g. `5.2.1.0`.
    fn release_version(&self) -> &str;
    /// The release date (ISO 8601), if known.
    fn release_date(&self) -> Option<&str>;
    /// The bill of materials.
    fn bom(&self) -> &[BomEntry];
}

impl ReleaseInfo for Release {
    fn release_version(&self) -> &str {
        &self.version
    }
    fn release_date(&self) -> Option<&str> {
        self.release_date.as_deref()
    }
    fn bom(&self) -> &[BomEntry] {
        &self.bom
    }
}

impl ReleaseInfo for FutureRelease {
    fn release_version(&self) -> &str {
        &self.version
    }
    fn release_date(&self) -> Option<&str> {
        self.release_date.as_deref()
    }
    fn bom(&self) -> &[BomEntry] {
        &self.bom
    }
}

/// The release a domain on `current` should move to next: the **oldest** future release with
/// `version > current >= minCompatibleVcfVersion`, `applicabilityStatus == APPLICABLE` and
/// `isApplicable` not `false`. `isApplicable` is deprecated and absent from VCF 9.x answers;
/// `applicabilityStatus` alone decides then. Build suffixes are ignored in the comparison;
/// releases with an unreadable version are skipped; a missing `minCompatibleVcfVersion`
/// (optional in VCF 9) sets no lower bound.
pub fn select_next_release<'a>(
    current: &VcfVersion,
    releases: &'a [FutureRelease],
) -> Option<&'a FutureRelease> {
    let current = current.base();
    releases
        .iter()
        .filter(|r| {
            r.applicability_status
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case("APPLICABLE"))
                && r.is_applicable != Some(false)
        })
        .filter_map(|r| {
            let version = r.version.parse::<VcfVersion>().ok()?.base();
            let min_ok = match r.min_compatible_vcf_version.as_deref() {
                None | Some("") => true,
                Some(min) => min
                    .parse::<VcfVersion>()
                    .is_ok_and(|min| current >= min.base()),
            };
            (version > current && min_ok).then_some((version, r))
        })
        .min_by(|(a, _), (b, _)| a.cmp(b))
        .map(|(_, r)| r)
}

/// The calendar day of an ISO 8601 timestamp (`2024-10-09T00:00:00.000Z` → `2024-10-09`).
fn day(ts: &str) -> &str {
    ts.get(..10).unwrap_or(ts)
}

/// The version without build suffix (`5.2.1.0-24307856` → `5.2.1.0`).
fn without_build(v: &str) -> &str {
    v.split_once('-').map_or(v, |(base, _)| base)
}

/// How a bundle belongs to a release (see [`bom_match`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BomMatch {
    /// The bundle carries a BOM entry's version (or, for an entry without version, its build;
    /// for an entry with neither, it is that component's bundle released the same day).
    Exact,
    /// Same version as a BOM entry (or the release) apart from the build, released the same
    /// day as the release. Downloaded, never applied by itself.
    Fallback,
}

/// The build of a version (`8.0.3.00300-24305161` → `24305161`).
fn build_of(v: &str) -> Option<&str> {
    v.split_once('-').map(|(_, build)| build)
}

/// Whether a bundle component type and a BOM entry name are the same product
/// (`HOST`/`ESX_HOST`, `SDDC_MANAGER`/`SDDC_MANAGER_VCF`, `NSX_T_MANAGER`, `VCENTER`).
fn same_product(bom_name: &str, kind: &str) -> bool {
    let norm = |s: &str| {
        let s = s.to_ascii_uppercase().replace(['_', ' ', '-'], "");
        match s.as_str() {
            "HOST" | "ESX" | "ESXHOST" | "ESXI" => "ESX".to_owned(),
            "SDDCMANAGER" | "SDDCMANAGERVCF" => "SDDC".to_owned(),
            "NSX" | "NSXT" | "NSXTMANAGER" | "NSXMANAGER" => "NSX".to_owned(),
            _ => s,
        }
    };
    norm(bom_name) == norm(kind)
}

/// Whether `bundle` belongs to `release`, and how.
///
/// A bundle belongs to the release when its `version`, or a component's `toVersion`, equals the
/// version of a BOM entry. VCF 9.x may leave a BOM entry's `version` out; such an entry is
/// matched by its `changeId` (the build) instead, and when it has none, by component type and
/// the release date (a bundle of that component released the same day). A fallback bundle carries the same version as a BOM entry (or
/// the release itself) apart from the build number, and the same release date as the release.
pub fn bom_match<R: ReleaseInfo + ?Sized>(release: &R, bundle: &Bundle) -> Option<BomMatch> {
    let bom = release.bom();
    let bom_versions: Vec<&str> = bom.iter().filter_map(BomEntry::version).collect();
    let mut base_versions: Vec<&str> = bom_versions.iter().map(|v| without_build(v)).collect();
    base_versions.push(without_build(release.release_version()));
    let versions: Vec<&str> = bundle
        .version
        .iter()
        .map(String::as_str)
        .chain(
            bundle
                .components
                .iter()
                .filter_map(|c| c.to_version.as_deref()),
        )
        .collect();
    let kinds: Vec<&str> = bundle
        .components
        .iter()
        .filter_map(|c| c.kind.as_deref())
        .chain(bundle.kind.as_deref())
        .collect();
    let same_day = match (
        release.release_date().map(day),
        bundle.released_date.as_deref(),
    ) {
        (Some(r), Some(d)) => r == day(d),
        _ => false,
    };
    let mut exact = versions.iter().any(|v| bom_versions.contains(v));
    for entry in bom.iter().filter(|e| e.version().is_none()) {
        exact |= match entry.change_id.as_deref().filter(|c| !c.is_empty()) {
            Some(change_id) => versions.iter().any(|v| build_of(v) == Some(change_id)),
            // Nothing but the component and the date is left to go by.
            None => same_day && kinds.iter().any(|k| same_product(&entry.name, k)),
        };
    }
    if exact {
        return Some(BomMatch::Exact);
    }
    let base = versions
        .iter()
        .any(|v| base_versions.contains(&without_build(v)));
    (base && same_day).then_some(BomMatch::Fallback)
}

/// The bundles of a release, fallback bundles included (see [`bom_match`]). Order follows
/// `bundles`. BOM entries without a version are logged, as they are matched by weaker means.
pub fn release_bundles<'a, R: ReleaseInfo + ?Sized>(
    release: &R,
    bundles: &'a [Bundle],
) -> Vec<&'a Bundle> {
    for entry in release.bom().iter().filter(|e| e.version().is_none()) {
        tracing::info!(
            release = release.release_version(),
            component = %entry.name,
            change_id = entry.change_id.as_deref().unwrap_or("-"),
            "BOM entry has no version; matching its bundles by build or by component and release date"
        );
    }
    bundles
        .iter()
        .filter(|b| bom_match(release, b).is_some())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::BundleComponent;

    fn fr(version: &str, min: &str, status: &str, applicable: bool) -> FutureRelease {
        FutureRelease {
            version: version.into(),
            min_compatible_vcf_version: Some(min.into()),
            applicability_status: Some(status.into()),
            is_applicable: Some(applicable),
            ..FutureRelease::default()
        }
    }

    fn v(s: &str) -> VcfVersion {
        s.parse().expect("version")
    }

    #[test]
    fn picks_oldest_applicable_newer_release() {
        let releases = vec![
            fr("5.2.2.0", "5.2.0.0", "APPLICABLE", true),
            fr("5.2.1.0", "5.2.0.0", "APPLICABLE", true),
            fr("5.2.0.1", "5.2.0.0", "NOT_APPLICABLE", false),
            fr("5.10.0.0", "5.2.0.0", "APPLICABLE", true),
        ];
        let next = select_next_release(&v("5.2.0.0-24108943"), &releases).expect("release");
        assert_eq!(next.version, "5.2.1.0");
    }

    #[test]
    fn respects_every_condition() {
        let current = v("5.2.0.0");
        // not newer
        assert!(
            select_next_release(&current, &[fr("5.2.0.0", "5.1.0.0", "APPLICABLE", true)])
                .is_none()
        );
        // current below minimum
        assert!(
            select_next_release(&current, &[fr("5.3.0.0", "5.2.1.0", "APPLICABLE", true)])
                .is_none()
        );
        // status not applicable
        assert!(
            select_next_release(
                &current,
                &[fr("5.2.1.0", "5.2.0.0", "NOT_APPLICABLE", true)]
            )
            .is_none()
        );
        // deprecated flag false
        assert!(
            select_next_release(&current, &[fr("5.2.1.0", "5.2.0.0", "APPLICABLE", false)])
                .is_none()
        );
        // flag missing (deprecated, absent on VCF 9.x): the status alone decides
        let mut r = fr("5.2.1.0", "5.2.0.0", "APPLICABLE", true);
        r.is_applicable = None;
        assert!(select_next_release(&current, &[r.clone()]).is_some());
        r.applicability_status = Some("NOT_APPLICABLE".into());
        assert!(select_next_release(&current, &[r]).is_none());
        // current == minimum is fine
        assert!(
            select_next_release(&current, &[fr("5.2.1.0", "5.2.0.0", "APPLICABLE", true)])
                .is_some()
        );
    }

    fn bundle(id: &str, version: &str, date: &str, to: &[&str]) -> Bundle {
        Bundle {
            id: id.into(),
            version: Some(version.into()),
            released_date: Some(date.into()),
            components: to
                .iter()
                .map(|t| BundleComponent {
                    to_version: Some((*t).into()),
                    ..BundleComponent::default()
                })
                .collect(),
            ..Bundle::default()
        }
    }

    #[test]
    fn bundles_of_a_release_include_fallbacks() {
        let release = Release {
            version: "5.2.1.0".into(),
            release_date: Some("2024-10-09T00:00:00.000Z".into()),
            bom: vec![
                BomEntry {
                    name: "SDDC_MANAGER_VCF".into(),
                    version: "5.2.1.0-24307856".into(),
                    ..BomEntry::default()
                },
                BomEntry {
                    name: "VCENTER".into(),
                    version: "8.0.3.00300-24305161".into(),
                    ..BomEntry::default()
                },
            ],
            ..Release::default()
        };
        let bundles = vec![
            bundle("sddc", "5.2.1.0-24307856", "2024-10-09T00:00:00.000Z", &[]),
            bundle(
                "vc",
                "8.0.3.00300-24305161",
                "2024-10-01T00:00:00.000Z",
                &["8.0.3.00300-24305161"],
            ),
            bundle(
                "fallback",
                "5.2.1.0-24307999",
                "2024-10-09T12:00:00.000Z",
                &[],
            ),
            bundle(
                "other-date",
                "5.2.1.0-24307000",
                "2024-11-09T00:00:00.000Z",
                &[],
            ),
            bundle("older", "5.2.0.0-24108943", "2024-07-23T00:00:00.000Z", &[]),
        ];
        let ids: Vec<&str> = release_bundles(&release, &bundles)
            .iter()
            .map(|b| b.id.as_str())
            .collect();
        assert_eq!(ids, ["sddc", "vc", "fallback"]);
    }

    #[test]
    fn vcf9_releases_without_is_applicable_are_selected_by_status() {
        let mut releases = vec![
            fr("9.1.0.0", "9.0.0.0", "APPLICABLE", true),
            fr("9.0.2.0", "9.0.0.0", "NOT_APPLICABLE", true),
        ];
        for r in &mut releases {
            r.is_applicable = None;
            r.min_compatible_vcf_version = None;
        }
        let next = select_next_release(&v("9.0.1.0-24962180"), &releases).expect("release");
        assert_eq!(next.version, "9.1.0.0");
    }

    #[test]
    fn bom_entries_without_version_match_by_build_then_component() {
        let release = Release {
            version: "9.1.0.0".into(),
            release_date: Some("2025-11-20T00:00:00.000Z".into()),
            bom: vec![
                BomEntry {
                    name: "VCENTER".into(),
                    change_id: Some("25101240".into()),
                    ..BomEntry::default()
                },
                BomEntry {
                    name: "NSX_T_MANAGER".into(),
                    ..BomEntry::default()
                },
                BomEntry {
                    name: "ESX_HOST".into(),
                    version: "9.1.0.0-25101250".into(),
                    ..BomEntry::default()
                },
            ],
            ..Release::default()
        };
        let mut nsx = bundle("nsx", "9.1.0.0.0-25101230", "2025-11-20T00:00:00.000Z", &[]);
        nsx.components = vec![BundleComponent {
            kind: Some("NSX_T_MANAGER".into()),
            to_version: Some("9.1.0.0.0-25101230".into()),
            ..BundleComponent::default()
        }];
        let mut old_nsx = nsx.clone();
        old_nsx.id = "old-nsx".into();
        old_nsx.released_date = Some("2025-06-17T00:00:00.000Z".into());
        let bundles = vec![
            bundle(
                "vc",
                "9.1.0.0-25101240",
                "2025-11-01T00:00:00.000Z",
                &["9.1.0.0-25101240"],
            ),
            bundle(
                "vc-other-build",
                "9.1.0.0-25101999",
                "2025-11-01T00:00:00.000Z",
                &[],
            ),
            nsx,
            old_nsx,
            bundle("esx", "9.1.0.0-25101250", "2025-11-02T00:00:00.000Z", &[]),
        ];
        let got: Vec<(&str, Option<BomMatch>)> = bundles
            .iter()
            .map(|b| (b.id.as_str(), bom_match(&release, b)))
            .collect();
        assert_eq!(
            got,
            [
                ("vc", Some(BomMatch::Exact)),
                ("vc-other-build", None),
                ("nsx", Some(BomMatch::Exact)),
                ("old-nsx", None),
                ("esx", Some(BomMatch::Exact)),
            ]
        );
        let ids: Vec<&str> = release_bundles(&release, &bundles)
            .iter()
            .map(|b| b.id.as_str())
            .collect();
        assert_eq!(ids, ["vc", "nsx", "esx"]);
    }
}
