//! The vendor's own client as a second yardstick for the simulator.
//!
//! `tests/sdk/drive_sim.py` drives the `vcf-sim` binary with the official Python SDK
//! (`vmware-sddc-manager`, pinned in `tests/sdk/requirements.txt`): every SDDC Manager
//! operation the product uses, then a whole domain upgrade. It fails, naming the operation,
//! when the SDK cannot read an answer or the simulator refuses a request the SDK built.
//!
//! The SDK lives in a virtual environment that `tests/run.sh` creates; its path comes in
//! `DCA_SDK_VENV` (default: `target/sdk-venv`). Without it these tests fail and say so.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Simulated time runs 5000 times faster: a whole domain upgrade takes a few seconds.
const TIME_SCALE: &str = "0.0002";

/// The virtual environment's python, or a failure telling how to create it.
fn sdk_python() -> PathBuf {
    let venv = std::env::var_os("DCA_SDK_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| dca_tests::repo_root().join("target/sdk-venv"));
    let python = venv.join("bin/python");
    assert!(
        python.is_file(),
        "the official SDK's virtual environment is missing ({} not found): run tests/run.sh, \
         which creates it (python3 -m venv + pip install -r tests/sdk/requirements.txt), or \
         point DCA_SDK_VENV at one",
        python.display()
    );
    python
}

/// A `vcf-sim` process on a free port, killed (by its handle) when dropped.
struct SimProcess {
    child: Child,
    url: String,
    username: String,
    password: String,
}

impl SimProcess {
    fn start(scenario: &str) -> Self {
        let bin =
            dca_tests::bridge::locate_or_build("vcf-sim", &["-p", "vcf-sim", "--bin", "vcf-sim"])
                .expect("the vcf-sim binary");
        let port = dca_tests::free_port().expect("a free port");
        let mut child = Command::new(bin)
            .args(["--scenario", scenario, "--time-scale", TIME_SCALE])
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawning vcf-sim");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
        let mut field = |key: &str| {
            lines
                .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_owned()))
                .unwrap_or_else(|| panic!("vcf-sim printed no {key:?}"))
        };
        let url = field("URL:");
        let username = field("username:");
        let password = field("password:");
        // Keep draining its output, so its logging never meets a closed pipe.
        std::thread::spawn(move || lines.for_each(drop));
        SimProcess {
            child,
            url,
            username,
            password,
        }
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the SDK script against a fresh simulator; panics with its output when it fails.
async fn drive(scenario: &str, domain: &str) -> String {
    drive_with(scenario, domain, &[]).await
}

/// [`drive`] with extra arguments for the script.
async fn drive_with(scenario: &str, domain: &str, extra: &[&str]) -> String {
    let python = sdk_python();
    let sim = SimProcess::start(scenario);
    let script = dca_tests::repo_root().join("tests/sdk/drive_sim.py");
    let mut cmd = tokio::process::Command::new(&python);
    cmd.arg(&script)
        .args(["--url", &sim.url, "--username", &sim.username])
        .args(["--password", &sim.password, "--domain", domain])
        .args(extra)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(300), cmd.output())
        .await
        .expect("the SDK script ran longer than 300 s")
        .expect("running the SDK script");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the official SDK failed against vcf-sim ({scenario}, {domain}): {}\n{stderr}\n{stdout}",
        out.status
    );
    stdout
}

#[tokio::test]
async fn the_official_sdk_reads_every_answer_and_upgrades_the_management_domain() {
    let out = drive("default", "sfo-m01").await;
    for op in [
        "POST /v1/tokens",
        "PATCH /v1/tokens/access-token/refresh",
        "GET /v1/domains",
        "GET /v1/clusters",
        "GET /v1/hosts",
        "GET /v1/releases",
        "GET /v1/releases/domains/{domainId}/future-releases",
        "PATCH /v1/releases/domains/{domainId}",
        "POST /v1/releases/domains/{domainId}/validations",
        "GET /v1/releases/domains/validations/{validationId}",
        "PATCH /v1/bundles/{id}",
        "GET /v1/upgradables/domains/{domainId}",
        "POST /v1/system/check-sets/queries",
        "POST /v1/system/check-sets",
        "GET /v1/system/check-sets/{runId}",
        "POST /v1/upgrades",
        "PATCH /v1/upgrades/{upgradeId}",
        "GET /v1/upgrades/{upgradeId}",
        "GET /v1/upgrades",
        "GET /v1/tasks",
    ] {
        assert!(
            out.lines()
                .any(|l| l.trim().starts_with(&format!("{op} ("))),
            "{op} not called through the SDK:\n{out}"
        );
    }
}

#[tokio::test]
async fn the_official_sdk_retries_a_failed_component() {
    let out = drive("component-failure", "sfo-w01").await;
    assert!(
        out.contains("PATCH /v1/tasks/{id} (retryTask)"),
        "no task retry through the SDK:\n{out}"
    );
}

#[tokio::test]
async fn the_official_sdk_upgrades_a_vcf9_management_domain_to_9_1() {
    // 9.x shapes: versionless BOM entries, no `isApplicable`, `WARNING` validations, and the
    // 409 of the restarted SDDC Manager (waited out; the SDK has no mapping for it there).
    let out = drive("vcf9", "sfo-m01").await;
    assert!(out.contains("sfo-m01 upgraded"), "{out}");
    assert!(
        out.contains("409 (inventory cache not seeded), waited out"),
        "no 409 after the SDDC Manager restart:\n{out}"
    );
}

#[tokio::test]
async fn the_official_sdk_sends_a_vcenter_major_upgrade_with_its_temporary_network() {
    let out = drive_with(
        "vcf9",
        "sfo-w01",
        &[
            "--temporary-network",
            "172.16.12.98,255.255.255.0,172.16.12.1",
        ],
    )
    .await;
    assert!(out.contains("sfo-w01 upgraded"), "{out}");
    assert!(out.contains("GET /v1/bundles/{id} (getBundle)"), "{out}");
}

/// Runs `tests/sdk/readiness_sim.py` against a fresh simulator; panics with its output when it
/// fails.
async fn read_readiness(scenario: &str, extra: &[&str]) -> String {
    let python = sdk_python();
    let sim = SimProcess::start(scenario);
    let script = dca_tests::repo_root().join("tests/sdk/readiness_sim.py");
    let mut cmd = tokio::process::Command::new(&python);
    cmd.arg(&script)
        .args(["--url", &sim.url, "--username", &sim.username])
        .args(["--password", &sim.password])
        .args(extra)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .expect("the SDK script ran longer than 120 s")
        .expect("running the SDK script");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "the official SDK could not read vcf-sim's readiness answers ({scenario}): {}\n{}\n{stdout}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[tokio::test]
async fn the_official_sdk_reads_every_readiness_answer() {
    let out = read_readiness("readiness-warnings", &[]).await;
    for op in [
        "getCredentials",
        "getPasswordExpirationByTaskID",
        "getResourceCertificatesByDomain",
        "getBackupConfiguration",
        "startBackup",
        "getDepotSettings",
    ] {
        assert!(out.contains(op), "{op} not read through the SDK:\n{out}");
    }
    let out = read_readiness("vcf9-readiness", &["--vcf9"]).await;
    for op in [
        "getDepotSyncInfo",
        "getNotifications",
        "getClusterImageCompliance",
    ] {
        assert!(out.contains(op), "{op} not read through the SDK:\n{out}");
    }
}
