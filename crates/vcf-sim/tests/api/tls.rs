//! HTTPS with the generated CA, a wrong CA (must fail), and the `vcf-sim` binary.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::json;
use vcf_sim::{Scenario, SimOptions};

async fn tls_sim() -> vcf_sim::SimServer {
    let mut opts = SimOptions::new("127.0.0.1:0".parse().unwrap());
    opts.tls = true;
    vcf_sim::start(Scenario::builtin("default").unwrap(), opts)
        .await
        .unwrap()
}

fn client(ca_pem: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

#[tokio::test]
async fn https_with_the_generated_ca_and_not_with_another() {
    let sim = tls_sim().await;
    let other = tls_sim().await;
    assert!(sim.url.starts_with("https://localhost:"), "{}", sim.url);
    let login = json!({"username": sim.username, "password": sim.password});

    let good = client(sim.ca_pem.as_deref().unwrap());
    let r = good
        .post(format!("{}/v1/tokens", sim.url))
        .json(&login)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The certificate also names 127.0.0.1.
    let by_ip = format!("https://127.0.0.1:{}/v1/tokens", sim.local_addr().port());
    let r = good.post(by_ip).json(&login).send().await.unwrap();
    assert_eq!(r.status(), 200);

    let wrong = client(other.ca_pem.as_deref().unwrap());
    let err = wrong
        .post(format!("{}/v1/tokens", sim.url))
        .json(&login)
        .send()
        .await
        .unwrap_err();
    assert!(err.is_connect() || err.is_request(), "{err:?}");
    sim.shutdown().await;
    other.shutdown().await;
}

#[test]
fn the_binary_prints_url_and_credentials_and_writes_the_ca() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    let mut child = Command::new(env!("CARGO_BIN_EXE_vcf-sim"))
        .args([
            "--scenario",
            "up-to-date",
            "--listen",
            "127.0.0.1:0",
            "--tls",
            "--time-scale",
            "0.01",
            "--write-ca",
        ])
        .arg(&ca)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    while seen.len() < 5 {
        match lines.next() {
            Some(Ok(l)) => seen.push(l),
            _ => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = seen.join("\n");
    assert!(text.contains("URL:      https://localhost:"), "{text}");
    assert!(text.contains("username: admin@local"), "{text}");
    assert!(text.contains("password: VMware123!VMware123!"), "{text}");
    let pem = std::fs::read_to_string(&ca).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));

    let bad = Command::new(env!("CARGO_BIN_EXE_vcf-sim"))
        .args([
            "--scenario",
            "no-such-scenario-file.toml",
            "--listen",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no-such-scenario-file.toml"));
}
