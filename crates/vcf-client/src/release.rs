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
/// `isApplicable == true`. Build suffixes are ignored in the comparison; releases with an
/// unreadable version are skipped; a missing `minCompatibleVcfVersion` (optional in VCF 9)
/// sets no lower bound.
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
                && r.is_applicable == Some(true)
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

/// The bundles of a release, fallback bundles included.
///
/// A bundle belongs to the release when its `version`, or a component's `toVersion`, equals the
/// version of a BOM entry. A fallback bundle carries the same version as a BOM entry (or the
/// release itself) apart from the build number, and the same release date as the release; it
/// is downloaded with the others but never applied by itself. Order follows `bundles`.
pub fn release_bundles<'a, R: ReleaseInfo + ?Sized>(
    release: &R,
    bundles: &'a [Bundle],
) -> Vec<&'a Bundle> {
    let bom_versions: Vec<&str> = release.bom().iter().map(|e| e.version.as_str()).collect();
    let mut base_versions: Vec<&str> = bom_versions.iter().map(|v| without_build(v)).collect();
    base_versions.push(without_build(release.release_version()));
    let release_day = release.release_date().map(day);

    bundles
        .iter()
        .filter(|b| {
            let versions = b
                .version
                .iter()
                .map(String::as_str)
                .chain(b.components.iter().filter_map(|c| c.to_version.as_deref()));
            let mut exact = false;
            let mut base = false;
            for v in versions {
                exact |= bom_versions.contains(&v);
                base |= base_versions.contains(&without_build(v));
            }
            let same_day = match (release_day, b.released_date.as_deref()) {
                (Some(r), Some(d)) => r == day(d),
                _ => false,
            };
            exact || (base && same_day)
        })
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
        // flag missing
        let mut r = fr("5.2.1.0", "5.2.0.0", "APPLICABLE", true);
        r.is_applicable = None;
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
}
