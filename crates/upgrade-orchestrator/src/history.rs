//! [`UpgradeRecord`]: what a finished flow leaves behind once its log is reset: when it ran,
//! from which version to which, how long each component took and how it ended.
//!
//! The records live in the domain's [`FlowState`](crate::FlowState) (so they are persisted with
//! it and survive a bridge restart), newest first and at most [`MAX_HISTORY`] of them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How many finished flows a domain keeps.
pub const MAX_HISTORY: usize = 10;

/// How a flow ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunResult {
    /// The upgrade finished and the final validation passed.
    Completed,
    /// A Download Bundles flow downloaded every bundle.
    Downloaded,
    /// The flow failed.
    Failed,
    /// Abort Upgrade ended it.
    Aborted,
}

impl RunResult {
    /// The snake_case name used on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Downloaded => "downloaded",
            Self::Failed => "failed",
            Self::Aborted => "aborted",
        }
    }
}

/// One component's upgrade in the running flow: opened when the flow starts working on it,
/// closed when it moves on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentTiming {
    /// Component as VCF names it (`SDDC_MANAGER`, `NSX_T_MANAGER`, `VCENTER`, `HOST`).
    pub component: String,
    /// When the flow started on it.
    pub started_at: DateTime<Utc>,
    /// When the flow moved on (`None` while it runs).
    pub finished_at: Option<DateTime<Utc>>,
}

/// Time spent on one component in a finished flow (summed when it ran more than once, e.g.
/// one ESXi upgrade per cluster).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentDuration {
    /// Component as VCF names it.
    pub component: String,
    /// Seconds.
    pub seconds: i64,
}

/// A finished flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpgradeRecord {
    /// When it started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it ended.
    pub finished_at: DateTime<Utc>,
    /// `upgrade`, or `download_only` for Download Bundles.
    pub mode: String,
    /// The domain's VCF version when it started.
    pub from_version: Option<String>,
    /// The VCF version it installed (or downloaded).
    pub to_version: Option<String>,
    /// How it ended.
    pub result: RunResult,
    /// Seconds from start to end.
    pub duration_seconds: Option<i64>,
    /// Time per component, in the order they were upgraded.
    pub components: Vec<ComponentDuration>,
    /// Why it failed (failed or aborted flows).
    pub error: Option<String>,
}

/// Keeps `timings` in step with the component the flow works on now: closes the open entry
/// when the component changes (or the flow stops upgrading) and opens one for the new one.
pub fn track(timings: &mut Vec<ComponentTiming>, current: Option<&str>, now: DateTime<Utc>) {
    let open = timings.last_mut().filter(|t| t.finished_at.is_none());
    if let Some(t) = open {
        if Some(t.component.as_str()) == current {
            return;
        }
        t.finished_at = Some(now);
    }
    if let Some(component) = current {
        timings.push(ComponentTiming {
            component: component.to_owned(),
            started_at: now,
            finished_at: None,
        });
    }
}

/// Seconds per component, summed by component in first-seen order; an entry still open counts
/// until `now`.
pub fn durations(timings: &[ComponentTiming], now: DateTime<Utc>) -> Vec<ComponentDuration> {
    let mut out: Vec<ComponentDuration> = Vec::new();
    for t in timings {
        let secs = (t.finished_at.unwrap_or(now) - t.started_at)
            .num_seconds()
            .max(0);
        match out.iter_mut().find(|d| d.component == t.component) {
            Some(d) => d.seconds += secs,
            None => out.push(ComponentDuration {
                component: t.component.clone(),
                seconds: secs,
            }),
        }
    }
    out
}

/// Puts `record` in front of `history` and drops the oldest beyond [`MAX_HISTORY`].
pub fn push(history: &mut Vec<UpgradeRecord>, record: UpgradeRecord) {
    history.insert(0, record);
    history.truncate(MAX_HISTORY);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_780_000_000 + secs, 0).expect("valid")
    }

    fn record(n: i64) -> UpgradeRecord {
        UpgradeRecord {
            started_at: Some(at(n)),
            finished_at: at(n + 1),
            mode: "upgrade".into(),
            from_version: None,
            to_version: None,
            result: RunResult::Completed,
            duration_seconds: Some(1),
            components: vec![],
            error: None,
        }
    }

    #[test]
    fn timings_open_and_close_as_the_component_changes() {
        let mut t = Vec::new();
        track(&mut t, None, at(0));
        assert!(t.is_empty());
        track(&mut t, Some("NSX_T_MANAGER"), at(10));
        track(&mut t, Some("NSX_T_MANAGER"), at(50));
        track(&mut t, Some("HOST"), at(70));
        track(&mut t, None, at(100));
        track(&mut t, Some("HOST"), at(200));
        assert_eq!(t.len(), 3);
        assert_eq!(t[0].finished_at, Some(at(70)));
        let d = durations(&t, at(230));
        assert_eq!(
            d,
            vec![
                ComponentDuration {
                    component: "NSX_T_MANAGER".into(),
                    seconds: 60
                },
                ComponentDuration {
                    component: "HOST".into(),
                    seconds: 30 + 30
                },
            ]
        );
    }

    #[test]
    fn history_is_newest_first_and_bounded() {
        let mut h = Vec::new();
        for n in 0..(MAX_HISTORY as i64 + 5) {
            push(&mut h, record(n));
        }
        assert_eq!(h.len(), MAX_HISTORY);
        assert_eq!(h[0].started_at, Some(at(MAX_HISTORY as i64 + 4)));
        assert_eq!(h[MAX_HISTORY - 1].started_at, Some(at(5)));
    }
}
