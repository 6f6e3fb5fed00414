//! [`Logbook`]: the per-domain upgrade log shown on a Home Assistant Markdown card.
//!
//! Entries are appended with a timestamp and an icon (✅ ❌ ⚠️ ℹ️); the log is bounded both by
//! entry count and by the size of the rendered markdown (Home Assistant attributes must stay
//! well under 16 KiB), dropping the oldest entries first.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Upper bound for the rendered markdown, in bytes. Below 16 KiB with room for JSON escaping of
/// the attribute payload that carries it.
pub const MAX_MARKDOWN_BYTES: usize = 15 * 1024;

/// Longest text kept for one entry (a single huge VCF error message must not evict everything).
const MAX_ENTRY_CHARS: usize = 2000;

/// The markdown shown when the log is empty.
pub const EMPTY_MARKDOWN: &str = "### Upgrade Logs\n\n_No Messages_";

/// Severity of a log entry, rendered as an icon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogLevel {
    /// ✅ something finished well.
    Success,
    /// ❌ something failed.
    Error,
    /// ⚠️ needs attention.
    Warning,
    /// ℹ️ progress information.
    Info,
}

impl LogLevel {
    /// The icon rendered in front of the entry.
    pub fn icon(self) -> &'static str {
        match self {
            Self::Success => "✅",
            Self::Error => "❌",
            Self::Warning => "⚠️",
            Self::Info => "ℹ️",
        }
    }
}

/// One log line (its text may contain inline markdown and continuation lines).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// When it was written.
    pub at: DateTime<Utc>,
    /// Icon.
    pub level: LogLevel,
    /// Markdown text.
    pub text: String,
}

/// Bounded, append-only markdown log.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Logbook {
    entries: VecDeque<LogEntry>,
    /// Entries dropped to respect the bounds since the last reset.
    dropped: usize,
}

impl Logbook {
    /// An empty log ("No Messages").
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends an entry, then drops the oldest ones until at most `max_entries` remain and the
    /// rendered markdown fits [`MAX_MARKDOWN_BYTES`].
    pub fn push(&mut self, at: DateTime<Utc>, level: LogLevel, text: &str, max_entries: usize) {
        let mut text = text.trim().to_owned();
        if text.chars().count() > MAX_ENTRY_CHARS {
            text = text.chars().take(MAX_ENTRY_CHARS).collect::<String>() + " …";
        }
        self.entries.push_back(LogEntry { at, level, text });
        while self.entries.len() > max_entries.max(1) {
            self.entries.pop_front();
            self.dropped += 1;
        }
        while self.entries.len() > 1 && self.render().len() >= MAX_MARKDOWN_BYTES {
            self.entries.pop_front();
            self.dropped += 1;
        }
    }

    /// Back to the default "No Messages".
    pub fn clear(&mut self) {
        self.entries.clear();
        self.dropped = 0;
    }

    /// Number of entries currently kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries, oldest first.
    pub fn entries(&self) -> impl Iterator<Item = &LogEntry> {
        self.entries.iter()
    }

    /// The log as markdown: a heading and one bullet per entry, oldest first.
    pub fn render(&self) -> String {
        if self.entries.is_empty() {
            return EMPTY_MARKDOWN.to_owned();
        }
        let mut out = String::from("### Upgrade Logs\n");
        if self.dropped > 0 {
            out.push_str(&format!(
                "\n_({} older messages not shown)_\n",
                self.dropped
            ));
        }
        for e in &self.entries {
            out.push_str(&format!(
                "\n- `{}` {} {}",
                e.at.format("%Y-%m-%d %H:%M:%S UTC"),
                e.level.icon(),
                e.text.replace('\n', "\n  ")
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-01T10:00:00Z")
            .expect("valid")
            .with_timezone(&Utc)
    }

    #[test]
    fn empty_log_says_no_messages() {
        assert!(Logbook::new().render().contains("No Messages"));
    }

    #[test]
    fn entries_render_with_timestamp_and_icon_in_order() {
        let mut l = Logbook::new();
        l.push(t0(), LogLevel::Info, "first", 10);
        l.push(t0(), LogLevel::Success, "second", 10);
        let md = l.render();
        assert!(md.contains("`2026-01-01 10:00:00 UTC` ℹ️ first"), "{md}");
        let a = md.find("first").expect("first");
        let b = md.find("✅ second").expect("second");
        assert!(a < b);
        assert!(!md.contains("No Messages"));
        l.clear();
        assert_eq!(l.render(), EMPTY_MARKDOWN);
    }

    #[test]
    fn entry_count_is_bounded_oldest_dropped() {
        let mut l = Logbook::new();
        for i in 0..5 {
            l.push(t0(), LogLevel::Info, &format!("entry {i}"), 3);
        }
        assert_eq!(l.len(), 3);
        let md = l.render();
        assert!(!md.contains("entry 1"));
        assert!(md.contains("entry 4"));
        assert!(md.contains("2 older messages"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn rendered_markdown_stays_under_16_kib(texts in proptest::collection::vec(".{0,3000}", 1..60)) {
            let mut l = Logbook::new();
            for t in &texts {
                l.push(t0(), LogLevel::Warning, t, 200);
            }
            prop_assert!(l.render().len() < 16 * 1024);
            prop_assert!(!l.is_empty());
        }
    }
}
