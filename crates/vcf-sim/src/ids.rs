//! Identifiers: deterministic UUIDs for scenario objects (the same scenario and seed give
//! the same ids on every start, so clients can keep ids across simulator restarts), random
//! ones for objects created at run time, and six-character reference tokens.

use uuid::Uuid;

/// 64-bit mix (splitmix64 finaliser), the basis of every deterministic value here.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// FNV-1a of a string, mixed with a seed.
pub fn hash(seed: u64, s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ mix(seed);
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    mix(h)
}

/// A version-4-shaped UUID derived from a seed and a name.
pub fn stable(seed: u64, name: &str) -> String {
    let hi = hash(seed, name);
    let lo = hash(seed ^ 0x5eed, name);
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&hi.to_be_bytes());
    bytes[8..].copy_from_slice(&lo.to_be_bytes());
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// A random UUID for an object created at run time.
pub fn fresh() -> String {
    Uuid::new_v4().to_string()
}

/// A six-character upper-case reference token, like the ones in VCF error bodies.
pub fn reference_token(n: u64) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut x = mix(n);
    (0..6)
        .map(|_| {
            let c = ALPHABET[(x % ALPHABET.len() as u64) as usize] as char;
            x /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn stable_ids_are_stable_and_distinct() {
        assert_eq!(stable(1, "a"), stable(1, "a"));
        assert_ne!(stable(1, "a"), stable(2, "a"));
        assert_ne!(stable(1, "a"), stable(1, "b"));
        assert!(Uuid::parse_str(&stable(1, "a")).is_ok());
        assert_eq!(reference_token(7).len(), 6);
    }
}
