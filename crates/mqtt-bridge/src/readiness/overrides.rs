//! The per-domain Override Readiness switches, kept in `state_dir/readiness-overrides.json` so
//! they survive a restart (written to a temporary file, synced, then renamed).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

/// File name in `state_dir`.
pub const FILE: &str = "readiness-overrides.json";

#[derive(Debug, Default, Serialize, Deserialize)]
struct OnDisk {
    /// Domain ids whose switch is on.
    domains: BTreeSet<String>,
}

/// The switches, shared by the command task (writes) and the hub (renders).
#[derive(Debug, Clone)]
pub struct Overrides {
    path: PathBuf,
    on: Arc<RwLock<BTreeSet<String>>>,
}

impl Overrides {
    /// Loads the switches from `state_dir`; an unreadable file is reported and treated as all
    /// off (the safe side: Start on a blocked domain is refused).
    pub fn load(state_dir: &Path) -> (Self, Option<String>) {
        let path = state_dir.join(FILE);
        let (on, problem) = match std::fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<OnDisk>(&bytes) {
                Ok(d) => (d.domains, None),
                Err(e) => (
                    BTreeSet::new(),
                    Some(format!(
                        "{} is not valid ({e}); every Override Readiness switch starts off",
                        path.display()
                    )),
                ),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (BTreeSet::new(), None),
            Err(e) => (
                BTreeSet::new(),
                Some(format!(
                    "cannot read {} ({e}); every Override Readiness switch starts off",
                    path.display()
                )),
            ),
        };
        (
            Self {
                path,
                on: Arc::new(RwLock::new(on)),
            },
            problem,
        )
    }

    /// Whether the domain's switch is on.
    pub fn is_on(&self, domain_id: &str) -> bool {
        self.on
            .read()
            .map(|s| s.contains(domain_id))
            .unwrap_or(false)
    }

    /// Every domain id whose switch is on.
    pub fn all(&self) -> BTreeSet<String> {
        self.on.read().map(|s| s.clone()).unwrap_or_default()
    }

    /// Sets a switch and persists all of them.
    ///
    /// # Errors
    /// When the file cannot be written (the switch keeps its new value in memory).
    pub fn set(&self, domain_id: &str, on: bool) -> std::io::Result<()> {
        let snapshot = {
            let mut set = self.on.write().unwrap_or_else(|e| e.into_inner());
            if on {
                set.insert(domain_id.to_owned());
            } else {
                set.remove(domain_id);
            }
            set.clone()
        };
        let bytes = serde_json::to_vec_pretty(&OnDisk { domains: snapshot })
            .map_err(std::io::Error::other)?;
        write_atomically(&self.path, &bytes)
    }
}

/// Writes `bytes` to `path` through a synced temporary file and a rename, so a crash leaves the
/// old file or the new one, never half of one.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    {
        use std::io::Write as _;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switches_survive_a_reload_and_a_bad_file_means_off() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (o, problem) = Overrides::load(dir.path());
        assert!(problem.is_none());
        assert!(!o.is_on("w01"));
        o.set("w01", true).expect("write");
        let (again, _) = Overrides::load(dir.path());
        assert!(again.is_on("w01") && !again.is_on("m01"));
        again.set("w01", false).expect("write");
        assert!(!Overrides::load(dir.path()).0.is_on("w01"));
        std::fs::write(dir.path().join(FILE), b"{not json").expect("write");
        let (bad, problem) = Overrides::load(dir.path());
        assert!(!bad.is_on("w01"));
        assert!(problem.is_some_and(|p| p.contains("starts off")));
    }
}
