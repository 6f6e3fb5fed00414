//! Ordering of VCF and component versions (`5.2.1.0`, `5.2.1.0-24307856`,
//! `8.0.3.00300-24305161`): dotted numeric parts, then the build number.

use std::cmp::Ordering;

fn parts(v: &str) -> (Vec<u64>, u64) {
    let (main, build) = v.split_once('-').unwrap_or((v, "0"));
    let nums = main
        .split('.')
        .map(|p| p.trim().parse::<u64>().unwrap_or(0))
        .collect();
    (nums, build.trim().parse().unwrap_or(0))
}

/// Compares two versions numerically (missing parts count as 0).
pub fn cmp(a: &str, b: &str) -> Ordering {
    let (an, ab) = parts(a);
    let (bn, bb) = parts(b);
    let len = an.len().max(bn.len());
    for i in 0..len {
        let x = an.get(i).copied().unwrap_or(0);
        let y = bn.get(i).copied().unwrap_or(0);
        match x.cmp(&y) {
            Ordering::Equal => {}
            o => return o,
        }
    }
    ab.cmp(&bb)
}

/// The first number (`9` for `9.0.1.0-24962180`; 0 when unreadable).
pub fn major(v: &str) -> u64 {
    parts(v).0.first().copied().unwrap_or(0)
}

/// The version without its build suffix.
pub fn base(v: &str) -> &str {
    v.split_once('-').map(|(m, _)| m).unwrap_or(v)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn numeric_order() {
        assert_eq!(cmp("5.2.10.0", "5.2.9.0"), Ordering::Greater);
        assert_eq!(cmp("5.2.1.0-24307856", "5.2.1.0"), Ordering::Greater);
        assert_eq!(cmp("5.2.1", "5.2.1.0"), Ordering::Equal);
        assert_eq!(cmp("4.2.0.0.0-1", "4.2.1.0.0-0"), Ordering::Less);
        assert_eq!(base("5.2.1.0-24307856"), "5.2.1.0");
    }
}
