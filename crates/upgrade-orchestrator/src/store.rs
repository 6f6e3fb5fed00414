//! [`Store`]: one JSON file per domain in `state_dir`, written atomically (temp file → fsync →
//! rename → fsync of the directory) after every transition, with a `schema_version`, so a
//! `kill -9` at any moment leaves either the old or the new state, never a torn one.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::machine::FlowState;

/// Version of the file layout; bumped on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

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
    #[error("state file {path} has schema_version {found}, this build reads {SCHEMA_VERSION}")]
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
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
                path: path.to_owned(),
                detail: e.to_string(),
            })?;
        let found = value
            .get("schema_version")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        if found != u64::from(SCHEMA_VERSION) {
            return Err(StoreError::Schema {
                path: path.to_owned(),
                found: u32::try_from(found).unwrap_or(u32::MAX),
            });
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
        assert!(text.contains("\"schema_version\": 1"));
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
}
