//! Maintenance windows in the component upgrade loop: before a component upgrade (NSX,
//! vCenter, ESXi, …) is started, the domain's window must be open; otherwise the loop waits in
//! `UpgradeStep::WaitingForWindow` (`phase_detail` `waiting_for_window`) until the next one
//! opens, then lists the upgradables again. Downloads, the SDDC Manager upgrade that VCF
//! requires before the prechecks, and the prechecks run at once; a component upgrade already
//! running is never interrupted when a window closes. The windows are data ([`FlowState::windows`]
//! set from Home Assistant, else the configuration) and the time is the machine's `now`.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::common::wait_for;
use super::{Effect, Event, Machine};
use crate::api::TargetRelease;
use crate::logbook::LogLevel;
use crate::notify::NotificationKind;
use crate::phase::{Phase, UpgradeStep};
use crate::windows::{Window, WindowCheck, list_text};

/// Longest single wait for a window: the window is checked again at least this often, so a
/// changed wall clock (NTP step, a suspended host) cannot delay the start by more.
pub const WINDOW_RECHECK: Duration = Duration::from_secs(5 * 60);

impl Machine<'_> {
    /// The windows in effect for this flow's domain: those set from Home Assistant, else the
    /// configured ones.
    pub(super) fn windows(&self) -> &[Window] {
        match &self.s.windows {
            Some(w) => w,
            None => self.cfg.windows_of(&self.s.domain.name),
        }
    }

    fn window_check(&self) -> WindowCheck {
        self.cfg.schedule(self.windows()).check(self.now)
    }

    /// True when `component` may start now; otherwise the loop waits for the next window
    /// (told once per opening time) and false is returned.
    pub(super) fn window_open_for(&mut self, component: &str, target: &TargetRelease) -> bool {
        let WindowCheck::Closed { opens_at } = self.window_check() else {
            return true;
        };
        let already = matches!(
            &self.s.phase,
            Phase::StartingUpgrades {
                step: UpgradeStep::WaitingForWindow { opens_at: o },
                ..
            } if *o == opens_at
        );
        if !already {
            let msg = format!(
                "Outside the maintenance window of {} ({}): the {component} upgrade starts when \
                 the next window opens at {} UTC",
                self.s.domain.name,
                list_text(self.windows()),
                opens_at.format("%Y-%m-%d %H:%M")
            );
            self.log(LogLevel::Info, &msg);
            self.notify(NotificationKind::Info, msg);
        }
        self.enter_step(UpgradeStep::WaitingForWindow { opens_at }, target.clone());
        self.act(wait_capped(self.now, opens_at));
        false
    }

    /// `WaitingForWindow`: on each tick, list the upgradables once the window is open, or wait
    /// on (for a window that moved, until its new start).
    pub(super) fn waiting_for_window(
        &mut self,
        opens_at: DateTime<Utc>,
        target: TargetRelease,
        ev: Event,
    ) {
        if ev != Event::Tick {
            return;
        }
        match self.window_check() {
            WindowCheck::Always | WindowCheck::Open { .. } => {
                self.log(
                    LogLevel::Info,
                    &format!(
                        "Maintenance window of {} open: continuing the upgrades",
                        self.s.domain.name
                    ),
                );
                self.start_upgrade_loop(target);
            }
            WindowCheck::Closed { opens_at: next } => {
                if next != opens_at {
                    self.enter_step(UpgradeStep::WaitingForWindow { opens_at: next }, target);
                }
                self.act(wait_capped(self.now, next));
            }
        }
    }

    /// The windows were set from Home Assistant: kept with the flow, logged, and a flow that
    /// waits for a window looks again at once.
    pub(super) fn set_windows(&mut self, windows: Option<Vec<Window>>) {
        if self.s.windows == windows {
            return;
        }
        self.s.windows = windows;
        let text = list_text(self.windows());
        if self.s.is_active() {
            self.log(
                LogLevel::Info,
                &format!(
                    "Maintenance windows of {} set to {text}",
                    self.s.domain.name
                ),
            );
        }
        if let Phase::StartingUpgrades {
            step: UpgradeStep::WaitingForWindow { opens_at },
            target,
        } = self.s.phase.clone()
        {
            self.waiting_for_window(opens_at, target, Event::Tick);
        }
    }
}

/// The wait until `opens_at`, at most [`WINDOW_RECHECK`] (plus a hair, so the tick lands
/// inside the window).
fn wait_capped(now: DateTime<Utc>, opens_at: DateTime<Utc>) -> Effect {
    match wait_for(now, opens_at) {
        Effect::Wait(d) => Effect::Wait((d + Duration::from_millis(1)).min(WINDOW_RECHECK)),
        other => other,
    }
}
