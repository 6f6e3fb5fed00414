//! [`Store`]: one JSON file per domain in `state_dir`, written atomically (temp file → fsync →
//! rename → fsync of the directory) after every transition, with a `schema_version`, so a
//! `kill -9` at any moment leaves either the old or the new state, never a torn one.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::machine::FlowState;

/// Version of the file layout; bumped on incompatible changes (additive ones are migrated in
/// place by `migrate`).
pub const SCHEMA_VERSION: u32 = 2;

/// Files of schema 1 (the target release next to the phase) are read and brought up to date.
const OLDEST_READABLE: u32 = 1;

const PREFIX: &str = "flow-";
const SUFFIX: &str = ".json";

/// Errors of the state store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Reading or writing a file failed.
    #[error("state file {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file is not valid JSON for this schema.
    #[error("state file {path} is unreadable: {detail}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// A file was written by an incompatible version.
    #[error(
        "state file {path} has schema_version {found}, this build reads {OLDEST_READABLE} to {SCHEMA_VERSION}"
    )]
    Schema {
        /// The file.
        path: PathBuf,
        /// The version found.
        found: u32,
    },
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    schema_version: u32,
    saved_at: DateTime<Utc>,
    flow: FlowState,
}

/// Per-domain persisted flows (the Ignore Alerts switch is part of each flow).
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl StoreError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            Self::Io { path, .. } | Self::Corrupt { path, .. } | Self::Schema { path, .. } => path,
        }
    }
}

impl Store {
    /// Opens (and creates) `dir`.
    ///
    /// # Errors
    /// [`StoreError::Io`] when the directory cannot be created.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(|source| StoreError::Io {
            path: dir.clone(),
            source,
        })?;
        Ok(Self { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of a domain: `flow-<id>.json` with anything but `[A-Za-z0-9-_]` replaced.
    pub fn path_for(&self, domain_id: &str) -> PathBuf {
        let safe: String = domain_id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.dir.join(format!("{PREFIX}{safe}{SUFFIX}"))
    }

    /// Writes a flow atomically.
    ///
    /// # Errors
    /// [`StoreError::Io`] when any step of the write fails (the previous file stays intact).
    pub fn save(&self, flow: &FlowState, now: DateTime<Utc>) -> Result<(), StoreError> {
        let path = self.path_for(&flow.domain.id);
        let tmp = path.with_extension("json.tmp");
        let io = |source| StoreError::Io {
            path: tmp.clone(),
            source,
        };
        let env = Envelope {
            schema_version: SCHEMA_VERSION,
            saved_at: now,
            flow: flow.clone(),
        };
        let bytes = serde_json::to_vec_pretty(&env).map_err(|e| StoreError::Corrupt {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        {
            let mut f = fs::File::create(&tmp).map_err(io)?;
            f.write_all(&bytes).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        fs::rename(&tmp, &path).map_err(|source| StoreError::Io {
            path: path.clone(),
            source,
        })?;
        // Persist the rename itself; best effort where directories cannot be opened.
        if let Ok(d) = fs::File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// Reads one file.
    ///
    /// # Errors
    /// [`StoreError::Io`], [`StoreError::Corrupt`] or [`StoreError::Schema`].
    pub fn load_file(path: &Path) -> Result<FlowState, StoreError> {
        let bytes = fs::read(path).map_err(|source| StoreError::Io {
            path: path.to_owned(),
            source,
        })?;
        let mut value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
                path: path.to_owned(),
                detail: e.to_string(),
            })?;
        let found = value
            .get("schema_version")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        if !(u64::from(OLDEST_READABLE)..=u64::from(SCHEMA_VERSION)).contains(&found) {
            return Err(StoreError::Schema {
                path: path.to_owned(),
                found: u32::try_from(found).unwrap_or(u32::MAX),
            });
        }
        if let Some(flow) = value.get_mut("flow") {
            migrate(flow).map_err(|detail| StoreError::Corrupt {
                path: path.to_owned(),
                detail,
            })?;
        }
        let env: Envelope = serde_json::from_value(value).map_err(|e| StoreError::Corrupt {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
        Ok(env.flow)
    }

    /// Moves an unreadable state file aside (`<name>.unreadable`) so it is kept for inspection
    /// but neither loaded again nor overwritten; returns the new path.
    ///
    /// # Errors
    /// [`StoreError::Io`] when the rename fails.
    pub fn quarantine(path: &Path) -> Result<PathBuf, StoreError> {
        let mut name = path.as_os_str().to_owned();
        name.push(".unreadable");
        let target = PathBuf::from(name);
        fs::rename(path, &target).map_err(|source| StoreError::Io {
            path: path.to_owned(),
            source,
        })?;
        Ok(target)
    }

    /// Loads every flow; unreadable files are returned as errors next to the good ones.
    ///
    /// # Errors
    /// [`StoreError::Io`] when the directory cannot be listed.
    pub fn load_all(&self) -> Result<(Vec<FlowState>, Vec<StoreError>), StoreError> {
        let rd = fs::read_dir(&self.dir).map_err(|source| StoreError::Io {
            path: self.dir.clone(),
            source,
        })?;
        let mut flows = Vec::new();
        let mut errors = Vec::new();
        let mut paths: Vec<PathBuf> = rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(PREFIX) && n.ends_with(SUFFIX))
            })
            .collect();
        paths.sort();
        for p in paths {
            match Self::load_file(&p) {
                Ok(f) => flows.push(f),
                Err(e) => errors.push(e),
            }
        }
        Ok((flows, errors))
    }
}

/// Brings a flow of schema 1 up to date. Those files kept the
/// target release next to the phase (`flow.target`); now every active phase carries it and the
/// flow keeps only its version for the view.
///
/// # Errors
/// The reason, when an active phase has no target release to carry.
fn migrate(flow: &mut serde_json::Value) -> Result<(), String> {
    let Some(flow) = flow.as_object_mut() else {
        return Ok(());
    };
    let Some(target) = flow.remove("target") else {
        return Ok(());
    };
    let version = target.get("version").cloned().unwrap_or_default();
    flow.entry("target_version").or_insert(version);
    let Some(phase) = flow.get_mut("phase").and_then(|p| p.as_object_mut()) else {
        return Ok(());
    };
    let idle = matches!(
        phase.get("phase").and_then(serde_json::Value::as_str),
        Some("idle" | "completed" | "failed")
    );
    if idle || phase.contains_key("target") {
        return Ok(());
    }
    if target.is_null() {
        return Err("an active phase has no target release".to_owned());
    }
    phase.insert("target".to_owned(), target);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::DomainRef;

    fn flow(id: &str) -> FlowState {
        FlowState::new(DomainRef {
            id: id.into(),
            name: "sfo-m01".into(),
        })
    }

    #[test]
    fn save_then_load_round_trips_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let mut f = flow("a/b:c");
        f.ignore_alerts = true;
        store.save(&f, Utc::now()).expect("save");
        let (flows, errors) = store.load_all().expect("load");
        assert!(errors.is_empty());
        assert_eq!(flows, vec![f]);
        let names: Vec<_> = fs::read_dir(dir.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        let text = fs::read_to_string(store.path_for("a/b:c")).expect("read");
        assert!(text.contains("\"schema_version\": 2"));
    }

    #[test]
    fn the_upgrade_history_is_saved_with_the_flow_and_bounded() {
        use crate::history::{self, MAX_HISTORY, RunResult, UpgradeRecord};
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let mut f = flow("dom-1");
        let t0 = Utc::now();
        for i in 0..(MAX_HISTORY as i64 + 3) {
            history::push(
                &mut f.history,
                UpgradeRecord {
                    started_at: Some(t0 + chrono::Duration::hours(i)),
                    finished_at: t0 + chrono::Duration::hours(i) + chrono::Duration::minutes(5),
                    mode: "upgrade".into(),
                    from_version: Some("5.2.0.0".into()),
                    to_version: Some("5.2.1.0".into()),
                    result: RunResult::Failed,
                    duration_seconds: Some(300),
                    components: vec![],
                    error: Some(format!("run {i}")),
                },
            );
        }
        store.save(&f, Utc::now()).expect("save");
        // A new process reads the same directory.
        let (flows, errors) = Store::open(dir.path())
            .expect("open")
            .load_all()
            .expect("load");
        assert!(errors.is_empty());
        let loaded = &flows[0];
        assert_eq!(loaded.history.len(), MAX_HISTORY);
        assert_eq!(loaded.history[0].error.as_deref(), Some("run 12"));
        assert_eq!(loaded.history, f.history);
    }

    #[test]
    fn corrupt_and_foreign_schema_files_are_reported_not_loaded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        store.save(&flow("good"), Utc::now()).expect("save");
        fs::write(dir.path().join("flow-torn.json"), b"{\"schema_version\":1,").expect("write");
        fs::write(
            dir.path().join("flow-future.json"),
            b"{\"schema_version\":99,\"flow\":{}}",
        )
        .expect("write");
        let (flows, errors) = store.load_all().expect("load");
        assert_eq!(flows.len(), 1);
        assert_eq!(errors.len(), 2);
        assert!(
            errors
                .iter()
                .any(|e| matches!(e, StoreError::Schema { found: 99, .. }))
        );
    }

    /// A flow as written before the phases carried the target release: `flow.target` next to
    /// a phase without it.
    fn old_shape(phase: &str, target: &str) -> String {
        format!(
            r#"{{
  "schema_version": 1,
  "saved_at": "2026-03-01T08:00:00Z",
  "flow": {{
    "domain": {{ "id": "dom-1", "name": "sfo-m01" }},
    "phase": {phase},
    "download_only": false,
    "target": {target},
    "started_at": "2026-03-01T07:00:00Z",
    "last_error": null,
    "ignore_alerts": true,
    "fallback_bundles": ["b-fallback"],
    "known_bundles": ["b-fallback", "b-nsx"],
    "applied_bundles": ["b-sddc"],
    "sddc_upgrades": 1,
    "prechecks_passed": true,
    "upgrades_done": 1,
    "upgrades_total": 3,
    "retries": 2,
    "logbook": {{
      "entries": [
        {{ "at": "2026-03-01T07:00:00Z", "level": "info", "text": "Upgrade started" }}
      ],
      "dropped": 0
    }}
  }}
}}"#
        )
    }

    const OLD_TARGET: &str = r#"{
      "version": "5.2.1.0",
      "current_version": "5.2.0.0",
      "release_date": null,
      "bom": [{ "name": "VCENTER", "version": "8.0.3" }]
    }"#;

    #[test]
    fn state_files_with_the_target_beside_the_phase_still_load() {
        use crate::api::{TargetRelease, UpgradeRequest};
        use crate::phase::{Phase, UpgradeStep};

        let dir = tempfile::tempdir().expect("tempdir");
        let running = r#"{
      "phase": "starting_upgrades",
      "step": {
        "step": "running",
        "upgrade_id": "up-1",
        "request": {
          "bundle_id": "b-nsx",
          "resource_type": "DOMAIN",
          "resource_ids": ["dom-1"],
          "draft": true
        },
        "component": "NSX_T_MANAGER",
        "deadline": "2026-03-01T11:00:00Z"
      }
    }"#;
        let path = dir.path().join("flow-dom-1.json");
        fs::write(&path, old_shape(running, OLD_TARGET)).expect("write");
        let flow = Store::load_file(&path).expect("old shape loads");
        let target = TargetRelease {
            version: "5.2.1.0".into(),
            current_version: "5.2.0.0".into(),
            release_date: None,
            bom: vec![crate::api::BomItem {
                name: "VCENTER".into(),
                version: "8.0.3".into(),
                managed_by: None,
                change_id: None,
            }],
        };
        assert_eq!(
            flow.phase,
            Phase::StartingUpgrades {
                step: UpgradeStep::Running {
                    upgrade_id: "up-1".into(),
                    request: UpgradeRequest {
                        bundle_id: "b-nsx".into(),
                        resource_type: "DOMAIN".into(),
                        resource_ids: vec!["dom-1".into()],
                        draft: true,
                        personalities: std::collections::BTreeMap::new(),
                        vcenter_input: None,
                    },
                    component: "NSX_T_MANAGER".into(),
                    deadline: "2026-03-01T11:00:00Z".parse().expect("time"),
                },
                target: target.clone(),
            }
        );
        assert_eq!(flow.target(), Some(&target));
        assert_eq!(flow.target_version.as_deref(), Some("5.2.1.0"));
        assert_eq!((flow.retries, flow.upgrades_total), (2, 3));
        assert!(flow.ignore_alerts);
        assert_eq!(flow.logbook.len(), 1);

        // a unit phase of the old shape, and an idle flow that never had a target
        fs::write(
            &path,
            old_shape(r#"{ "phase": "initializing_prechecks" }"#, OLD_TARGET),
        )
        .expect("write");
        let flow = Store::load_file(&path).expect("old unit phase loads");
        assert_eq!(flow.phase, Phase::InitializingPrechecks { target });
        fs::write(&path, old_shape(r#"{ "phase": "idle" }"#, "null")).expect("write");
        let flow = Store::load_file(&path).expect("old idle flow loads");
        assert_eq!((flow.phase, flow.target_version), (Phase::Idle, None));

        // an active phase without any release cannot be resumed: reported, not loaded
        fs::write(&path, old_shape(r#"{ "phase": "setting_target" }"#, "null")).expect("write");
        assert!(matches!(
            Store::load_file(&path),
            Err(StoreError::Corrupt { .. })
        ));
    }
}
