//! Fault injection: the scenario's faults plus what `POST /sim/faults` changes at run time
//! (5xx rate, outages, restarts, unreachable, failing or hanging components, failing
//! downloads and validations, token lifetime).

use serde::Deserialize;

use crate::clock::SimTime;
use crate::ids;
use crate::scenario::FaultSpec;

/// An outage injected at run time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutageWindow {
    /// Connections are refused until this simulated time.
    pub refused_until: SimTime,
    /// Then HTTP 503 (HTML body) until this simulated time.
    pub unready_until: SimTime,
    /// Tokens are invalidated when the outage ends.
    pub restart: bool,
}

/// Faults in force.
#[derive(Debug, Clone)]
pub struct Faults {
    /// Fraction of `/v1` requests answered 500/503.
    pub error_rate: f64,
    /// Components whose upgrade fails.
    pub fail_component: Vec<String>,
    /// Failing attempts per component before one succeeds.
    pub fail_attempts: u32,
    /// Components whose upgrade hangs.
    pub hang_component: Vec<String>,
    /// Bundles (ids or component types) whose download fails.
    pub fail_download: Vec<String>,
    /// Failing download attempts per bundle before one succeeds.
    pub download_fail_attempts: u32,
    /// Validations complete with `resultStatus` `FAILED`.
    pub validation_failure: bool,
    /// Validations complete with `resultStatus` `FAILED_WITH_WARNINGS` (9.x: `WARNING`).
    pub validation_warnings: bool,
    /// Validations of a target not yet set complete with `resultStatus` `FAILED`.
    pub target_validation_failure: bool,
    /// Refuse every connection.
    pub unreachable: bool,
    /// Injected outage.
    pub outage: Option<OutageWindow>,
    /// Access token lifetime override, simulated seconds.
    pub token_ttl: Option<f64>,
    /// `PATCH /v1/tokens/access-token/refresh` answers 200 with a long string that is not a
    /// JWT (what a broken or mutating proxy in front of SDDC Manager can hand out).
    pub garbage_refresh: bool,
    /// The status of every injected failure (500..=599); alternating 500/503 when unset.
    pub error_status: Option<u16>,
    /// Every `/v1` request hangs, unanswered, until this is cleared (an application server
    /// stuck behind its reverse proxy); the client's own timeout has to end it.
    pub hang: bool,
    seed: u64,
    counter: u64,
}

/// Body of `POST /sim/faults`; every field optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultPatch {
    /// Fraction (0..1) of `/v1` requests answered with a 5xx.
    pub error_rate: Option<f64>,
    /// Refuse connections for this many simulated seconds from now.
    pub outage_seconds: Option<f64>,
    /// After the refused phase, answer 503 (HTML) for this many simulated seconds.
    pub unready_seconds: Option<f64>,
    /// With `outage_seconds`: invalidate tokens when it ends (default true). Alone:
    /// invalidate every token now, like an SDDC Manager restart.
    pub restart: Option<bool>,
    /// Refuse (true) or accept again (false) connections.
    pub unreachable: Option<bool>,
    /// Components whose upgrades fail.
    pub fail_component: Option<Vec<String>>,
    /// Failing attempts per component.
    pub fail_attempts: Option<u32>,
    /// Components whose upgrades hang.
    pub hang_component: Option<Vec<String>>,
    /// Bundles (ids or component types) whose downloads fail.
    pub fail_download: Option<Vec<String>>,
    /// Validations complete with `resultStatus` `FAILED`.
    pub validation_failure: Option<bool>,
    /// Validations complete with warnings.
    pub validation_warnings: Option<bool>,
    /// Validations of a target not yet set complete with `FAILED`.
    pub target_validation_failure: Option<bool>,
    /// Access token lifetime in simulated seconds.
    pub token_ttl_seconds: Option<f64>,
    /// Refresh answers 200 with a long non-JWT string (true) or works again (false).
    pub garbage_refresh: Option<bool>,
    /// Every injected failure answers this status (500..=599) instead of alternating 500/503.
    pub error_status: Option<u16>,
    /// Every `/v1` request hangs unanswered (true) until set to false.
    pub hang: Option<bool>,
    /// Remove every fault first.
    pub clear: Option<bool>,
}

impl Faults {
    /// The scenario's faults.
    pub fn from_spec(spec: &FaultSpec, seed: u64) -> Faults {
        Faults {
            error_rate: spec.error_rate,
            fail_component: spec.fail_component.clone(),
            fail_attempts: spec.fail_attempts,
            hang_component: spec.hang_component.clone(),
            fail_download: spec.fail_download.clone(),
            download_fail_attempts: spec.download_fail_attempts,
            validation_failure: spec.validation_failure,
            validation_warnings: spec.validation_warnings,
            target_validation_failure: spec.target_validation_failure,
            unreachable: false,
            outage: None,
            token_ttl: None,
            garbage_refresh: false,
            error_status: None,
            hang: false,
            seed,
            counter: 0,
        }
    }

    /// Whether the next `/v1` request gets an injected 5xx (deterministic sequence).
    pub fn next_request_fails(&mut self) -> bool {
        self.counter += 1;
        if self.error_rate <= 0.0 {
            return false;
        }
        let x = ids::mix(self.seed ^ self.counter.wrapping_mul(0x2545_F491_4F6C_DD1D));
        (x as f64 / u64::MAX as f64) < self.error_rate
    }

    /// Number of requests seen by the error injector (used for reference tokens).
    pub fn counter(&self) -> u64 {
        self.counter
    }

    /// Whether a component (`VCENTER`, ...) is set to fail.
    pub fn component_fails(&self, component: &str) -> bool {
        self.fail_component.iter().any(|c| c == component)
    }

    /// Whether a component is set to hang.
    pub fn component_hangs(&self, component: &str) -> bool {
        self.hang_component.iter().any(|c| c == component)
    }

    /// Whether a bundle's download is set to fail.
    pub fn download_fails(&self, bundle_id: &str, component: &str) -> bool {
        self.fail_download
            .iter()
            .any(|c| c == bundle_id || c == component)
    }
}
