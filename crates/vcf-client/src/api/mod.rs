//! The endpoint methods of [`VcfClient`](crate::VcfClient), one module per API area.
//!
//! Each method describes its call (method, path template, query, body) and hands it to the
//! shared transport in [`client`](crate::client); list methods fetch every page.

mod bundles;
mod checksets;
mod inventory;
pub mod readiness;
mod releases;
mod tasks;
mod upgradables;
mod upgrades;

/// Percent-encodes one path segment (ids are UUIDs, but nothing guarantees it).
pub(crate) fn seg(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn segments_are_encoded() {
        assert_eq!(super::seg("a4c1-f2e3"), "a4c1-f2e3");
        assert_eq!(super::seg("a/b c"), "a%2Fb%20c");
    }
}
