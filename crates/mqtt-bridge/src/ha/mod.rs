//! Home Assistant MQTT discovery: serde payload types ([`discovery`]), one module per HA platform,
//! and [`entities`], whose tables ([`entities::table`]) list every entity and whose renderer turns the
//! bridge's view of VCF into discovery configs and states.
//!
//! Modeled on zigbee2mqtt's `lib/extension/homeassistant.ts`: retained QoS 1 configs with `origin`
//! and `device` blocks, stable `unique_id`s, `object_id` + `default_entity_id`, availability through
//! the bridge's retained state topic and LWT.

pub mod binary_sensor;
pub mod button;
pub mod discovery;
pub mod entities;
pub mod event;
pub mod sensor;
pub mod switch;
pub mod text;
pub mod update;

/// Home Assistant drops a state longer than this (it becomes `unknown`).
pub const MAX_STATE_LEN: usize = 255;

/// Attribute payloads stay under this size so dashboards (Markdown cards) stay responsive.
pub const MAX_ATTRIBUTES_LEN: usize = 16 * 1024;

/// Truncates `s` to at most `max` characters (not bytes), ending with `…` when cut.
pub fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A state payload that Home Assistant accepts: at most [`MAX_STATE_LEN`] characters.
pub fn state_text(s: &str) -> String {
    truncate_chars(s, MAX_STATE_LEN)
}

/// Keeps the tail of `markdown` (newest entries) so it fits in `max_bytes`.
pub fn tail_to_bytes(markdown: &str, max_bytes: usize) -> String {
    if markdown.len() <= max_bytes {
        return markdown.to_owned();
    }
    let marker = "…(older entries trimmed)\n";
    let budget = max_bytes.saturating_sub(marker.len());
    let mut start = markdown.len() - budget;
    while !markdown.is_char_boundary(start) {
        start += 1;
    }
    // Start at a line boundary so the markdown stays well-formed.
    let cut = match markdown[start..].find('\n') {
        Some(nl) if start + nl + 1 < markdown.len() => start + nl + 1,
        _ => start,
    };
    format!("{marker}{}", &markdown[cut..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn truncation() {
        assert_eq!(truncate_chars("abc", 3), "abc");
        assert_eq!(truncate_chars("abcd", 3), "ab…");
        assert_eq!(state_text(&"x".repeat(255)).chars().count(), 255);
        assert_eq!(state_text(&"x".repeat(300)).chars().count(), 255);
        assert_eq!(state_text(&"✅".repeat(300)).chars().count(), 255);
    }

    #[test]
    fn tail_keeps_newest_lines() {
        let md: String = (0..2000).map(|i| format!("- entry {i}\n")).collect();
        let t = tail_to_bytes(&md, 1024);
        assert!(t.len() <= 1024, "{}", t.len());
        assert!(t.ends_with("- entry 1999\n"));
        assert!(t.starts_with("…(older entries trimmed)\n- entry "));
    }

    proptest! {
        #[test]
        fn state_never_exceeds_limit(s in "\\PC{0,600}") {
            let out = state_text(&s);
            prop_assert!(out.chars().count() <= MAX_STATE_LEN);
            if s.chars().count() <= MAX_STATE_LEN { prop_assert_eq!(out, s); }
        }

        #[test]
        fn tail_fits(s in "(\\PC{0,30}\n){0,200}", max in 64usize..2048) {
            let out = tail_to_bytes(&s, max);
            prop_assert!(out.len() <= max);
        }
    }
}
