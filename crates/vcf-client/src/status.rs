//! [`Status`]: one normalised view of the many status spellings the API uses.
//!
//! Tasks say `In Progress` or `IN_PROGRESS`, upgrades say `INPROGRESS`, bundles say
//! `SUCCESSFUL`, check-set runs say `COMPLETED_WITH_SUCCESS`, validations `COMPLETED`. Matching
//! ignores case, spaces, underscores and dashes; anything unknown is kept in [`Status::Other`].

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A normalised status of a task, bundle download, upgrade, upgradable, validation or check run.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Status {
    /// Waiting to start (`PENDING`, `Pending`).
    Pending,
    /// Scheduled for later (`SCHEDULED`).
    Scheduled,
    /// Running (`IN_PROGRESS`, `INPROGRESS`, `In Progress`, `RUNNING`).
    InProgress,
    /// Finished successfully (`SUCCESSFUL`, `SUCCESS`, `SUCCEEDED`, `COMPLETED`, `COMPLETED_WITH_SUCCESS`).
    Successful,
    /// Finished with a failure (`FAILED`, `FAILURE`, `COMPLETED_WITH_FAILURE`).
    Failed,
    /// Cancelled (`CANCELLED`, `CANCELED`).
    Cancelled,
    /// Ready to be acted upon (`AVAILABLE`), e.g. the one upgradable that can run now.
    Available,
    /// Being validated (`VALIDATING`).
    Validating,
    /// Created in draft mode (`DRAFT`).
    Draft,
    /// Finished, with warnings (`COMPLETED_WITH_WARNING`).
    CompletedWithWarning,
    /// Skipped (`SKIPPED`).
    Skipped,
    /// Withdrawn by the vendor (`RECALLED`).
    Recalled,
    /// The server itself does not know (`UNKNOWN`).
    Unknown,
    /// Any other value, exactly as received.
    Other(String),
}

/// Upper-cases and drops spaces, underscores and dashes: `In Progress` → `INPROGRESS`.
fn normalise(raw: &str) -> String {
    raw.chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-'))
        .flat_map(char::to_uppercase)
        .collect()
}

// === impl Status ===

impl Status {
    /// Parses any spelling; never fails (unknown values become [`Status::Other`]).
    pub fn parse(raw: &str) -> Self {
        match normalise(raw).as_str() {
            "PENDING" | "QUEUED" => Self::Pending,
            "SCHEDULED" => Self::Scheduled,
            "INPROGRESS" | "RUNNING" => Self::InProgress,
            "SUCCESSFUL" | "SUCCESS" | "SUCCEEDED" | "COMPLETED" | "COMPLETEDWITHSUCCESS" => {
                Self::Successful
            }
            "FAILED" | "FAILURE" | "COMPLETEDWITHFAILURE" => Self::Failed,
            "CANCELLED" | "CANCELED" => Self::Cancelled,
            "AVAILABLE" => Self::Available,
            "VALIDATING" => Self::Validating,
            "DRAFT" => Self::Draft,
            "COMPLETEDWITHWARNING" | "COMPLETEDWITHWARNINGS" => Self::CompletedWithWarning,
            "SKIPPED" => Self::Skipped,
            "RECALLED" => Self::Recalled,
            "UNKNOWN" => Self::Unknown,
            _ => Self::Other(raw.to_owned()),
        }
    }

    /// The wire string: the canonical upper-case spelling for known values (`IN_PROGRESS`),
    /// the received text for [`Status::Other`].
    pub fn as_str(&self) -> &str {
        match self {
            Self::Pending => "PENDING",
            Self::Scheduled => "SCHEDULED",
            Self::InProgress => "IN_PROGRESS",
            Self::Successful => "SUCCESSFUL",
            Self::Failed => "FAILED",
            Self::Cancelled => "CANCELLED",
            Self::Available => "AVAILABLE",
            Self::Validating => "VALIDATING",
            Self::Draft => "DRAFT",
            Self::CompletedWithWarning => "COMPLETED_WITH_WARNING",
            Self::Skipped => "SKIPPED",
            Self::Recalled => "RECALLED",
            Self::Unknown => "UNKNOWN",
            Self::Other(raw) => raw,
        }
    }

    /// Still going: pending, scheduled, in progress, validating (and `CANCELLATION_IN_PROGRESS`).
    pub fn is_running(&self) -> bool {
        match self {
            Self::Pending | Self::Scheduled | Self::InProgress | Self::Validating => true,
            Self::Other(raw) => normalise(raw).ends_with("INPROGRESS"),
            _ => false,
        }
    }

    /// Finished well: successful, or completed with warnings.
    pub fn is_success(&self) -> bool {
        matches!(self, Self::Successful | Self::CompletedWithWarning)
    }

    /// Finished badly: failed, cancelled or recalled.
    pub fn is_failure(&self) -> bool {
        matches!(self, Self::Failed | Self::Cancelled | Self::Recalled)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for Status {
    fn from(raw: &str) -> Self {
        Self::parse(raw)
    }
}

impl Serialize for Status {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Ok(Self::parse(&raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_normalise() {
        for raw in ["IN_PROGRESS", "INPROGRESS", "In Progress", "in_progress"] {
            assert_eq!(Status::parse(raw), Status::InProgress, "{raw}");
        }
        for raw in [
            "SUCCESSFUL",
            "Successful",
            "SUCCESS",
            "SUCCEEDED",
            "COMPLETED",
            "COMPLETED_WITH_SUCCESS",
        ] {
            assert_eq!(Status::parse(raw), Status::Successful, "{raw}");
        }
        assert_eq!(Status::parse("COMPLETED_WITH_FAILURE"), Status::Failed);
        assert_eq!(Status::parse("Failed"), Status::Failed);
        assert_eq!(Status::parse("Cancelled"), Status::Cancelled);
        assert_eq!(
            Status::parse("COMPLETED_WITH_WARNING"),
            Status::CompletedWithWarning
        );
        assert_eq!(
            Status::parse("UP_TO_DATE"),
            Status::Other("UP_TO_DATE".into())
        );
    }

    #[test]
    fn classification() {
        assert!(Status::parse("In Progress").is_running());
        assert!(Status::parse("CANCELLATION_IN_PROGRESS").is_running());
        assert!(!Status::parse("CANCELLATION_IN_PROGRESS").is_failure());
        assert!(Status::parse("COMPLETED_WITH_WARNING").is_success());
        assert!(Status::parse("RECALLED").is_failure());
        assert!(!Status::parse("AVAILABLE").is_running());
        assert_eq!(Status::parse("Weird").as_str(), "Weird");
    }

    #[test]
    fn serde_round_trip() {
        let s: Status = serde_json::from_str("\"Pending\"").expect("json");
        assert_eq!(s, Status::Pending);
        assert_eq!(
            serde_json::to_string(&Status::InProgress).expect("json"),
            "\"IN_PROGRESS\""
        );
    }
}
