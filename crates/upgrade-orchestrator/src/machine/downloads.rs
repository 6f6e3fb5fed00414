//! Phases `Preparing` (listing the release's bundles), `DownloadingBundles` and
//! `SettingTarget`, plus the bundle bookkeeping the SDDC Manager bundle download shares.

use crate::names::component_name;
use chrono::{DateTime, Utc};

use super::common::{after, wait_until};
use super::validation::Checked;
use super::{Effect, Event, Machine};
use crate::api::{ApiResult, BundleInfo, DownloadState, TargetRelease};
use crate::logbook::LogLevel;
use crate::notify::NotificationKind;
use crate::phase::{BundleTrack, DownloadPurpose, DownloadRequest, Phase, TargetCheck};

impl Machine<'_> {
    pub(super) fn preparing(&mut self, purpose: DownloadPurpose, target: TargetRelease, ev: Event) {
        match ev {
            Event::Tick => self.act(Effect::ListReleaseBundles(target)),
            Event::BundlesListed(Ok(bundles)) => self.bundles_listed(purpose, target, bundles),
            Event::BundlesListed(Err(e)) => self.retry_or_fail(
                "Listing the release bundles",
                &e,
                self.cfg.bundle_poll_interval,
            ),
            _ => {}
        }
    }

    pub(super) fn downloading_bundles(&mut self, ev: Event) {
        match ev {
            Event::Tick => {
                let Phase::DownloadingBundles { bundles, .. } = &self.s.phase else {
                    return;
                };
                let ids = bundles
                    .iter()
                    .filter(|b| b.state != DownloadState::Done)
                    .map(|b| b.id.clone())
                    .collect();
                self.act(Effect::CheckBundles(ids));
            }
            Event::BundleStates(states) => self.bundle_states(states),
            Event::DownloadRequested { bundle_id, result } => {
                self.download_requested(&bundle_id, result);
            }
            _ => {}
        }
    }

    /// Asks VCF whether the domain can go to the target before anything in VCF changes.
    fn validate_target(&mut self, target: TargetRelease) {
        let version = target.version.clone();
        self.log(
            LogLevel::Info,
            &format!(
                "Validating VCF {version} as the target of {}",
                self.s.domain.name
            ),
        );
        self.enter(Phase::SettingTarget {
            target,
            check: TargetCheck::Validating {
                validation_id: None,
                deadline: after(self.now, self.cfg.validation_timeout),
            },
        });
        self.act(Effect::StartValidation(version));
    }

    pub(super) fn setting_target(&mut self, target: TargetRelease, check: TargetCheck, ev: Event) {
        match (check, ev) {
            (
                TargetCheck::Validating {
                    validation_id,
                    deadline,
                },
                ev,
            ) => {
                self.validating_target(target, validation_id, deadline, ev);
            }
            (TargetCheck::Setting, Event::Tick) => {
                self.act(Effect::SetTargetVersion(target.version));
            }
            (TargetCheck::Setting, Event::TargetSet(Ok(()))) => {
                self.log(
                    LogLevel::Success,
                    &format!("Target version set to VCF {}", target.version),
                );
                let version = target.version.clone();
                self.enter(Phase::InspectingUpgradables { target });
                self.act(Effect::ListUpgradables(version));
            }
            (TargetCheck::Setting, Event::TargetSet(Err(e))) => self.retry_or_fail(
                "Setting the target version",
                &e,
                self.cfg.bundle_poll_interval,
            ),
            _ => {}
        }
    }

    fn validating_target(
        &mut self,
        target: TargetRelease,
        validation_id: Option<String>,
        deadline: DateTime<Utc>,
        ev: Event,
    ) {
        let what = format!("validation of VCF {} as the target", target.version);
        match self.validation_result(validation_id, deadline, &target, &what, ev) {
            Some(Checked::Passed) => {
                self.log(
                    LogLevel::Success,
                    &format!(
                        "VCF {} is a valid target for {}",
                        target.version, self.s.domain.name
                    ),
                );
                let version = target.version.clone();
                self.enter(Phase::SettingTarget {
                    target,
                    check: TargetCheck::Setting,
                });
                self.act(Effect::SetTargetVersion(version));
            }
            Some(Checked::Failed(reason)) => self.fail(format!(
                "VCF {} cannot be the target of {}: {reason}; nothing was changed in VCF",
                target.version, self.s.domain.name
            )),
            None => {}
        }
    }

    /// Starts (or, after an SDDC Manager upgrade, continues) the release's bundle downloads.
    pub(super) fn bundles_listed(
        &mut self,
        purpose: DownloadPurpose,
        target: TargetRelease,
        bundles: Vec<BundleInfo>,
    ) {
        let mut tracks = Vec::new();
        for b in bundles {
            if b.fallback {
                self.s.fallback_bundles.insert(b.id.clone());
            }
            let new = self.s.known_bundles.insert(b.id.clone());
            if purpose == DownloadPurpose::AfterSddcManager && !new {
                continue;
            }
            tracks.push(BundleTrack {
                id: b.id,
                component: b.component,
                fallback: b.fallback,
                state: b.state,
                request: DownloadRequest::None,
            });
        }
        let fallbacks = tracks.iter().filter(|b| b.fallback).count();
        let text = match purpose {
            DownloadPurpose::AfterSddcManager => format!(
                "The new SDDC Manager lists {} more bundle(s) for VCF {}",
                tracks.len(),
                target.version
            ),
            _ => format!(
                "VCF {} has {} bundle(s), {fallbacks} of them fallback bundle(s) (downloaded, never applied)",
                target.version,
                tracks.len()
            ),
        };
        self.log(LogLevel::Info, &text);
        let ids: Vec<String> = tracks
            .iter()
            .filter(|b| b.state != DownloadState::Done)
            .map(|b| b.id.clone())
            .collect();
        self.enter(Phase::DownloadingBundles {
            purpose,
            bundles: tracks,
            deadline: after(self.now, self.cfg.download_timeout),
            target,
        });
        if ids.is_empty() {
            self.downloads_done();
        } else {
            self.act(Effect::CheckBundles(ids));
        }
    }

    fn bundle_states(&mut self, states: Vec<(String, ApiResult<DownloadState>)>) {
        let Phase::DownloadingBundles { bundles, .. } = &mut self.s.phase else {
            return;
        };
        let mut failure = None;
        let mut transient = None;
        let mut unreadable = None;
        for (id, r) in states {
            let Some(track) = bundles.iter_mut().find(|b| b.id == id) else {
                continue;
            };
            match r {
                Ok(state) => {
                    if let Some(msg) = apply_download_state(track, state) {
                        failure = Some(msg);
                    }
                }
                Err(e) if e.transient => transient = Some(e),
                Err(e) => unreadable = Some(format!("bundle {id} ({e})")),
            }
        }
        if let Some(msg) = failure {
            self.fail(msg);
            return;
        }
        // An unreadable answer is asked for again within the poll error budget; the bundle's
        // own answer is the only word VCF has on its download.
        match unreadable {
            Some(what) if self.s.retries >= self.cfg.poll_error_budget => {
                return self.fail(format!(
                    "reading {what} failed {} times in a row",
                    self.cfg.poll_error_budget
                ));
            }
            Some(what) => {
                self.s.retries += 1;
                let note = format!(
                    "Reading {what} failed; asking again ({}/{})",
                    self.s.retries, self.cfg.poll_error_budget
                );
                self.log(LogLevel::Warning, &note);
            }
            None if transient.is_none() => self.poll_answered(),
            None => {}
        }
        if let Some(e) = transient {
            self.log(
                LogLevel::Warning,
                &format!("Reading bundle download status failed ({e}); retrying"),
            );
        }
        self.next_download_action();
    }

    /// Either request the next bundle, finish, or wait for the next poll.
    fn next_download_action(&mut self) {
        let Phase::DownloadingBundles {
            bundles, deadline, ..
        } = &mut self.s.phase
        else {
            return;
        };
        let deadline = *deadline;
        if let Some(track) = bundles.iter_mut().find(|b| needs_request(b)) {
            track.request = DownloadRequest::Sent;
            let id = track.id.clone();
            self.act(Effect::StartDownload(id));
            return;
        }
        if bundles.iter().all(|b| b.state == DownloadState::Done) {
            self.downloads_done();
        } else {
            self.act(wait_until(
                self.now,
                self.cfg.bundle_poll_interval,
                deadline,
            ));
        }
    }

    /// The answer to a download request, in either download phase.
    pub(super) fn download_requested(&mut self, bundle_id: &str, result: ApiResult<()>) {
        let track = match &mut self.s.phase {
            Phase::DownloadingBundles { bundles, .. } => {
                bundles.iter_mut().find(|b| b.id == bundle_id)
            }
            Phase::DownloadingSddcManagerBundle { bundle, .. } if bundle.id == bundle_id => {
                Some(bundle)
            }
            _ => None,
        };
        let Some(track) = track else { return };
        let component = track.component.clone();
        match result {
            Ok(()) => {
                track.request = DownloadRequest::Confirmed;
                if track.state != DownloadState::Done {
                    track.state = DownloadState::InProgress;
                }
                let fallback = if track.fallback { " (fallback)" } else { "" };
                self.log(
                    LogLevel::Info,
                    &format!(
                        "Download of the {component} bundle{fallback} started (bundle `{bundle_id}`)",
                        component = component_name(&component)
                    ),
                );
            }
            // The PATCH may or may not have arrived: the next status read decides (a bundle
            // still not downloading is requested again, one that is downloading is not).
            Err(e) if e.transient => self.log(
                LogLevel::Warning,
                &format!(
                    "Requesting the download of the {component} bundle failed ({e}); checking again (bundle `{bundle_id}`)",
                    component = component_name(&component)
                ),
            ),
            Err(e) => {
                self.fail(format!(
                    "download of the {component} bundle could not be started: {e} (bundle {bundle_id})",
                    component = component_name(&component),
                ));
                return;
            }
        }
        match &self.s.phase {
            Phase::DownloadingBundles { .. } => self.next_download_action(),
            Phase::DownloadingSddcManagerBundle { deadline, .. } => {
                let deadline = *deadline;
                self.act(wait_until(
                    self.now,
                    self.cfg.bundle_poll_interval,
                    deadline,
                ));
            }
            _ => {}
        }
    }

    fn downloads_done(&mut self) {
        let Phase::DownloadingBundles {
            purpose, target, ..
        } = &self.s.phase
        else {
            return;
        };
        let (purpose, target) = (*purpose, target.clone());
        self.log(LogLevel::Success, "All bundles are downloaded");
        match purpose {
            DownloadPurpose::DownloadOnly => {
                let msg = format!(
                    "Every bundle of VCF {} is downloaded for {}",
                    target.version, self.s.domain.name
                );
                self.notify(NotificationKind::DownloadsCompleted, msg);
                self.enter(Phase::Idle);
                self.s.download_only = false;
            }
            DownloadPurpose::Upgrade => self.validate_target(target),
            DownloadPurpose::AfterSddcManager => {
                let version = target.version.clone();
                self.enter(Phase::InspectingUpgradables { target });
                self.act(Effect::ListUpgradables(version));
            }
        }
    }
}

/// Applies a polled download state to a tracked bundle; returns a failure message when the
/// download this flow requested failed.
pub(super) fn apply_download_state(
    track: &mut BundleTrack,
    state: DownloadState,
) -> Option<String> {
    match state {
        DownloadState::Failed if track.request != DownloadRequest::None => {
            track.state = DownloadState::Failed;
            Some(format!(
                "download of the {} bundle failed (bundle {})",
                component_name(&track.component),
                track.id
            ))
        }
        // Confirmed requests are never repeated: VCF may still show PENDING for a moment.
        DownloadState::NotStarted if track.request == DownloadRequest::Confirmed => {
            track.state = DownloadState::InProgress;
            None
        }
        _ => {
            track.state = state;
            None
        }
    }
}

/// A bundle this flow must ask VCF to download: not downloaded, not downloading, and not
/// already asked (an unconfirmed ask is repeated only when VCF shows nothing happening).
pub(super) fn needs_request(track: &BundleTrack) -> bool {
    matches!(
        track.state,
        DownloadState::NotStarted | DownloadState::Failed
    ) && track.request != DownloadRequest::Confirmed
}
