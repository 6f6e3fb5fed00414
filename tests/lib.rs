//! Support library for the end-to-end tests of DataCenter Assistant.
//!
//! Everything a test needs to drive the product the way a user would, all on 127.0.0.1:
//!
//! - [`broker`]: a Mosquitto on a free port (or, when `mosquitto` is not installed, the embedded
//!   rumqttd broker in a child process), stoppable and restartable on the same port;
//! - [`sim`]: the SDDC Manager simulator, in-process so it outlives every bridge it serves,
//!   plus its `/sim/*` test endpoints (request counts, request log, faults, state);
//! - [`bridge`]: the real `vcf-mqtt-bridge` binary with a generated TOML configuration,
//!   stopped with SIGTERM or killed with SIGKILL by PID;
//! - [`recorder`]: an MQTT client that records every message under the test's topics and waits
//!   for a topic or payload with a timeout, and publishes commands;
//! - [`ha`]: the real Home Assistant harness from `../shared/ha-harness`;
//! - [`ha_values`]: whether Home Assistant shows every value the broker holds for the bridge;
//! - [`rig`]: all of the above wired together for one test;
//! - [`wait`]: polling with deadlines (timeouts are generous and scale with `DCA_TEST_TIMEOUT_SCALE`).

#[path = "support/bridge.rs"]
pub mod bridge;
#[path = "support/broker.rs"]
pub mod broker;
#[path = "support/ha.rs"]
pub mod ha;
#[path = "support/ha_values.rs"]
pub mod ha_values;
#[path = "support/process.rs"]
pub mod process;
#[path = "support/recorder.rs"]
pub mod recorder;
#[path = "support/rig.rs"]
pub mod rig;
#[path = "support/sim.rs"]
pub mod sim;
#[path = "support/wait.rs"]
pub mod wait;

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
///
/// # Errors
/// When no socket can be bound on 127.0.0.1.
pub fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// A name unique within this machine for this run: `<prefix>_<pid>_<counter>`.
///
/// Used for base topics, client ids and instance ids, so that tests never see each other's
/// messages even on a shared broker.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}_{}_{n}", std::process::id())
}

/// The repository root (the parent of this package's directory).
pub fn repo_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}

/// The cargo target directory the running executable was built into (`target/debug` for tests,
/// `target/release` for benchmarks), found from the executable's own path.
pub fn target_profile_dir() -> PathBuf {
    if let Ok(exe) = std::env::current_exe() {
        // target/<profile>/deps/<test-binary> or target/<profile>/<binary>
        let mut dir = exe.parent().map(PathBuf::from).unwrap_or_default();
        if dir.file_name().is_some_and(|n| n == "deps") {
            dir.pop();
        }
        if dir.join(".fingerprint").is_dir() || dir.join("deps").is_dir() {
            return dir;
        }
    }
    repo_root().join("target").join("debug")
}

/// `../shared` next to the repository (or `DCA_SHARED_DIR`), when it exists.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("DCA_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("..").join("shared"));
    dir.is_dir().then_some(dir)
}

/// The Home Assistant harness (`../shared/ha-harness`) for a test that runs a real Home Assistant.
///
/// `tests/run.sh` runs these tests only when the harness is there and says so when it skips them.
///
/// # Errors
/// When the harness is absent: a test that was asked to run without it fails and says where it
/// looked, rather than passing without having checked anything.
pub fn require_ha_harness(test: &str) -> anyhow::Result<PathBuf> {
    let Some(dir) = shared_dir().filter(|d| d.join("ha-harness").is_dir()) else {
        anyhow::bail!(
            "{test} needs the Home Assistant harness at {}/ha-harness (or under DCA_SHARED_DIR); \
             tests/run.sh skips this test when the harness is absent",
            repo_root().join("..").join("shared").display()
        );
    };
    Ok(dir)
}
