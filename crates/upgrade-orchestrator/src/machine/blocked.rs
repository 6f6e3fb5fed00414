//! Blocked, and why: when upgradables remain but none is AVAILABLE, the flow does not wait
//! silently. It shows each remaining upgradable's `errors` (the spec's `Upgradable.errors`,
//! "errors found during computation of upgrade availability") and, on 9.x, the BOM components
//! whose `lifecycleManagedBy` is not SDDC Manager: VCF Operations upgrades those first.

use super::Machine;
use crate::api::{TargetRelease, UpgradablesSnapshot};
use crate::logbook::LogLevel;
use crate::names::component_name;

impl Machine<'_> {
    /// Records (and logs, when they change) why the remaining upgradables are not AVAILABLE;
    /// returns them as a suffix for the failure text (`": a; b"`, or empty).
    pub(super) fn note_blocked(
        &mut self,
        snap: &UpgradablesSnapshot,
        target: &TargetRelease,
    ) -> String {
        let mut reasons: Vec<String> = self
            .remaining(snap)
            .flat_map(|u| {
                let name = if u.component.is_empty() {
                    component_name(&u.bundle_type)
                } else {
                    component_name(&u.component)
                };
                u.errors.iter().map(move |e| format!("{name}: {e}"))
            })
            .collect();
        let elsewhere: Vec<&str> = target
            .bom
            .iter()
            .filter(|b| b.managed_outside_sddc_manager())
            .map(|b| b.name.as_str())
            .collect();
        if !elsewhere.is_empty() {
            reasons.push(format!(
                "VCF {}: management components ({}) must first be upgraded from VCF Operations",
                target.version,
                elsewhere.join(", ")
            ));
        }
        if reasons != self.s.blocked {
            if !reasons.is_empty() {
                let list: Vec<String> = reasons.iter().map(|r| format!("- {r}")).collect();
                self.log(
                    LogLevel::Warning,
                    &format!(
                        "No upgradable is AVAILABLE; VCF reports:\n{}",
                        list.join("\n")
                    ),
                );
            }
            self.s.blocked.clone_from(&reasons);
        }
        if reasons.is_empty() {
            String::new()
        } else {
            format!(": {}", reasons.join("; "))
        }
    }
}
