//! [`VcfVersion`]: four-part VCF versions (`5.2.1.0`, `5.2.1.0-24307856`) ordered numerically.
//!
//! Plain string comparison gets `5.10.0.0 < 5.9.0.0` wrong; this type compares the four numbers,
//! then the build number.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A VCF version: four numeric parts and an optional build suffix (`-24307856`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VcfVersion {
    parts: [u64; 4],
    build: Option<String>,
}

/// Why a string is not a [`VcfVersion`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a four-part VCF version: {input:?} ({reason})")]
pub struct ParseVersionError {
    input: String,
    reason: &'static str,
}

// === impl VcfVersion ===

impl VcfVersion {
    /// A version without build suffix.
    pub fn new(major: u64, minor: u64, patch: u64, revision: u64) -> Self {
        Self {
            parts: [major, minor, patch, revision],
            build: None,
        }
    }

    /// The same version with a build suffix (digits, letters, dots).
    pub fn with_build(mut self, build: impl Into<String>) -> Self {
        self.build = Some(build.into());
        self
    }

    /// The four numbers.
    pub fn parts(&self) -> [u64; 4] {
        self.parts
    }

    /// The first number (5 for `5.2.1.0`, 9 for `9.0.1.0`).
    pub fn major(&self) -> u64 {
        self.parts[0]
    }

    /// The build suffix, without the dash.
    pub fn build(&self) -> Option<&str> {
        self.build.as_deref()
    }

    /// The version without its build suffix (`5.2.1.0-24307856` → `5.2.1.0`).
    pub fn base(&self) -> Self {
        Self {
            parts: self.parts,
            build: None,
        }
    }
}

/// The leading number of any dotted version string (`8.0.3.00300-24305161` → 8,
/// `4.2.1.0.0-24304122` → 4), for component versions that are not four-part VCF versions.
pub fn major_version(version: &str) -> Option<u64> {
    version.trim().split(['.', '-']).next()?.parse().ok()
}

impl FromStr for VcfVersion {
    type Err = ParseVersionError;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        let err = |reason| ParseVersionError {
            input: s.to_owned(),
            reason,
        };
        let trimmed = s.trim();
        let (numbers, build) = match trimmed.split_once('-') {
            Some((n, b)) => (n, Some(b)),
            None => (trimmed, None),
        };
        if let Some(b) = build {
            if b.is_empty() || !b.chars().all(|c| c.is_ascii_alphanumeric() || c == '.') {
                return Err(err("bad build suffix"));
            }
        }
        let mut parts = [0u64; 4];
        let mut count = 0;
        for piece in numbers.split('.') {
            if count == 4 {
                return Err(err("more than four parts"));
            }
            if piece.is_empty() || !piece.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err("non-numeric part"));
            }
            parts[count] = piece.parse().map_err(|_| err("part out of range"))?;
            count += 1;
        }
        if count != 4 {
            return Err(err("fewer than four parts"));
        }
        Ok(Self {
            parts,
            build: build.map(str::to_owned),
        })
    }
}

impl fmt::Display for VcfVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.parts;
        write!(f, "{a}.{b}.{c}.{d}")?;
        if let Some(build) = &self.build {
            write!(f, "-{build}")?;
        }
        Ok(())
    }
}

impl Ord for VcfVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.parts.cmp(&other.parts).then_with(|| {
            match (&self.build, &other.build) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (Some(a), Some(b)) => match (a.parse::<u64>(), b.parse::<u64>()) {
                    // Numeric builds compare as numbers; the string comparison afterwards keeps
                    // `Ord` consistent with `Eq` for spellings such as `007` vs `7`.
                    (Ok(x), Ok(y)) => x.cmp(&y).then_with(|| a.cmp(b)),
                    _ => a.cmp(b),
                },
            }
        })
    }
}

impl PartialOrd for VcfVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Serialize for VcfVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for VcfVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_orders_numerically() {
        let a: VcfVersion = "5.9.0.0".parse().expect("version");
        let b: VcfVersion = "5.10.0.0".parse().expect("version");
        assert!(a < b);
        let c: VcfVersion = "5.2.1.0-24307856".parse().expect("version");
        assert_eq!(c.base(), VcfVersion::new(5, 2, 1, 0));
        assert_eq!(c.build(), Some("24307856"));
        assert!(c > c.base());
        assert_eq!(c.to_string(), "5.2.1.0-24307856");
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "5.2.1",
            "5.2.1.0.0",
            "5.2.x.0",
            "5.2.1.0-",
            "v5.2.1.0",
            "5..1.0",
        ] {
            assert!(bad.parse::<VcfVersion>().is_err(), "{bad}");
        }
    }

    #[test]
    fn serde_as_string() {
        let v: VcfVersion = serde_json::from_str("\"5.2.0.0\"").expect("json");
        assert_eq!(serde_json::to_string(&v).expect("json"), "\"5.2.0.0\"");
    }

    fn version() -> impl Strategy<Value = VcfVersion> {
        (
            [0u64..30, 0u64..30, 0u64..30, 0u64..30],
            proptest::option::of(1u64..99_999_999),
        )
            .prop_map(|(parts, build)| {
                let v = VcfVersion::new(parts[0], parts[1], parts[2], parts[3]);
                match build {
                    Some(b) => v.with_build(b.to_string()),
                    None => v,
                }
            })
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(v in version()) {
            let back: VcfVersion = v.to_string().parse().expect("round trip");
            prop_assert_eq!(back, v);
        }

        #[test]
        fn order_matches_numeric_tuple(a in version(), b in version()) {
            let key = |v: &VcfVersion| (v.parts(), v.build().map(|s| s.parse::<u64>().expect("numeric build")));
            prop_assert_eq!(a.cmp(&b), key(&a).cmp(&key(&b)));
            prop_assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
        }

        #[test]
        fn order_is_transitive(a in version(), b in version(), c in version()) {
            let mut v = [a, b, c];
            v.sort();
            prop_assert!(v[0] <= v[1] && v[1] <= v[2] && v[0] <= v[2]);
        }
    }
}
