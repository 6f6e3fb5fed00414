//! Which SDDC Manager notifications are new, so each one is sent to Home Assistant as an event
//! once: not again at the next poll, nor after a bridge or Home Assistant restart.
//!
//! The spec gives a notification no id; [`Notice::key`] stands in for one. The keys of the
//! notifications last listed are kept in `state_dir/notifications-seen.json` (written to a
//! temporary file, synced, then renamed). A notification is new when its key is not there. The
//! first list ever read only fills the file: what SDDC Manager showed before the bridge first
//! ran is listed on the Notifications sensor, not replayed as a burst of events.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tracing::warn;

use super::Notice;

/// File name in `state_dir`.
pub const FILE: &str = "notifications-seen.json";

#[derive(Debug, Default, Serialize, Deserialize)]
struct OnDisk {
    /// Keys of the notifications last listed.
    seen: BTreeSet<String>,
}

#[derive(Debug)]
struct Inner {
    /// `None` until a list was read once (from the file or from SDDC Manager).
    seen: Option<BTreeSet<String>>,
    /// A write failed and was reported; reported again only after one succeeded.
    write_failed: bool,
}

/// The notifications seen so far; cheap to clone.
#[derive(Debug, Clone)]
pub struct Feed {
    path: PathBuf,
    inner: Arc<Mutex<Inner>>,
}

impl Feed {
    /// Loads what was seen from `state_dir`. An unreadable file is reported and treated as
    /// missing: the next list becomes the new starting point (no event is sent twice, some may
    /// not be sent at all).
    pub fn load(state_dir: &Path) -> (Self, Option<String>) {
        let path = state_dir.join(FILE);
        let (seen, problem) = match std::fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<OnDisk>(&bytes) {
                Ok(d) => (Some(d.seen), None),
                Err(e) => (
                    None,
                    Some(format!(
                        "{} is not valid ({e}); SDDC Manager notifications listed now are taken as seen",
                        path.display()
                    )),
                ),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (None, None),
            Err(e) => (
                None,
                Some(format!(
                    "cannot read {} ({e}); SDDC Manager notifications listed now are taken as seen",
                    path.display()
                )),
            ),
        };
        (
            Self {
                path,
                inner: Arc::new(Mutex::new(Inner {
                    seen,
                    write_failed: false,
                })),
            },
            problem,
        )
    }

    /// The notifications of `listed` not seen before, in the order listed; remembers `listed`
    /// as the seen set (forgetting notifications SDDC Manager no longer lists). The very first
    /// list returns nothing.
    pub fn fresh(&self, listed: &[Notice]) -> Vec<Notice> {
        let keys: BTreeSet<String> = listed.iter().map(|n| n.key.clone()).collect();
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let new: Vec<Notice> = match &inner.seen {
            None => Vec::new(),
            Some(seen) => {
                let mut sent = BTreeSet::new();
                listed
                    .iter()
                    .filter(|n| !seen.contains(&n.key) && sent.insert(n.key.clone()))
                    .cloned()
                    .collect()
            }
        };
        if inner.seen.as_ref() != Some(&keys) {
            match self.write(&keys) {
                Ok(()) => inner.write_failed = false,
                Err(e) => {
                    if !inner.write_failed {
                        warn!(
                            "cannot save {} ({e}); SDDC Manager notifications may be sent again after a restart",
                            self.path.display()
                        );
                    }
                    inner.write_failed = true;
                }
            }
            inner.seen = Some(keys);
        }
        new
    }

    fn write(&self, keys: &BTreeSet<String>) -> std::io::Result<()> {
        let bytes = serde_json::to_vec_pretty(&OnDisk { seen: keys.clone() })
            .map_err(std::io::Error::other)?;
        super::overrides::write_atomically(&self.path, &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(key: &str) -> Notice {
        Notice {
            key: key.into(),
            severity: "ERROR".into(),
            message: key.into(),
            ..Notice::default()
        }
    }

    #[test]
    fn the_first_list_is_the_baseline_and_later_ones_yield_only_new_notifications() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (feed, problem) = Feed::load(dir.path());
        assert!(problem.is_none());
        assert!(feed.fresh(&[n("a"), n("b")]).is_empty(), "baseline");
        assert!(feed.fresh(&[n("a"), n("b")]).is_empty(), "nothing new");
        let got = feed.fresh(&[n("a"), n("b"), n("c"), n("c")]);
        assert_eq!(
            got.iter().map(|x| x.key.as_str()).collect::<Vec<_>>(),
            ["c"]
        );
        // A restart: nothing is sent again; one raised while the bridge was down is sent.
        let (again, _) = Feed::load(dir.path());
        let got = again.fresh(&[n("b"), n("c"), n("d")]);
        assert_eq!(
            got.iter().map(|x| x.key.as_str()).collect::<Vec<_>>(),
            ["d"]
        );
        // `a` was forgotten once no longer listed: if SDDC Manager lists it again, it is new.
        assert_eq!(again.fresh(&[n("a")]).len(), 1);
    }

    #[test]
    fn a_bad_file_is_reported_and_taken_as_no_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(FILE), b"[not json").expect("write");
        let (feed, problem) = Feed::load(dir.path());
        assert!(problem.is_some_and(|p| p.contains("taken as seen")));
        assert!(feed.fresh(&[n("a")]).is_empty());
        assert_eq!(feed.fresh(&[n("a"), n("b")]).len(), 1);
    }

    #[test]
    fn an_unwritable_state_dir_still_tells_new_from_seen_in_memory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (feed, _) = Feed::load(&dir.path().join("missing"));
        assert!(feed.fresh(&[n("a")]).is_empty());
        assert_eq!(feed.fresh(&[n("a"), n("b")]).len(), 1);
        assert!(feed.fresh(&[n("a"), n("b")]).is_empty());
    }
}
