//! TLS: a private CA added by PEM, a wrong CA refused, certificate pin match and mismatch,
//! and the explicit insecure mode. A tiny HTTPS server on 127.0.0.1:0 answers every request
//! with a token pair.

use std::sync::Arc;

use chrono::Utc;
use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use vcf_client::{TlsOptions, VcfClient, VcfError};

use crate::support::*;

pub(crate) struct Ca {
    pub(crate) cert: rcgen::Certificate,
    key: KeyPair,
}

pub(crate) fn ca() -> Ca {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).expect("ca");
    Ca { cert, key }
}

/// Starts an HTTPS server with a leaf for 127.0.0.1 signed by `ca`; returns URL and leaf DER.
async fn https_server(ca: &Ca) -> (String, Vec<u8>) {
    let key = KeyPair::generate().expect("key");
    let params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .expect("params");
    let leaf = params.signed_by(&key, &ca.cert, &ca.key).expect("leaf");
    let leaf_der = leaf.der().to_vec();
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(leaf_der.clone())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .expect("server config");
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let body = token_pair(&jwt(Utc::now(), 3600, "tls")).to_string();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let body = body.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read the head and the (small) body the client sends with POST /v1/tokens.
                loop {
                    let Ok(n) = tls.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf);
                    if let Some(head_end) = text.find("\r\n\r\n") {
                        let len = text[..head_end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if buf.len() >= head_end + 4 + len {
                            break;
                        }
                    }
                }
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{}",
                    body.len(),
                    body
                );
                let _ = tls.write_all(response.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (format!("https://127.0.0.1:{port}"), leaf_der)
}

fn client_with(url: &str, tls: TlsOptions) -> VcfClient {
    let mut cfg = config(url);
    cfg.tls = tls;
    cfg.retry.max_attempts = 1;
    VcfClient::new(cfg).expect("client")
}

#[tokio::test]
async fn private_ca_is_trusted_when_given_and_refused_otherwise() {
    let ca = ca();
    let (url, _) = https_server(&ca).await;
    let trusted = client_with(
        &url,
        TlsOptions {
            ca_pem: Some(ca.cert.pem().into_bytes()),
            ..Default::default()
        },
    );
    trusted.login().await.expect("CA given as PEM bytes");

    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("ca.pem");
    std::fs::write(&file, ca.cert.pem()).expect("write");
    let from_file = client_with(
        &url,
        TlsOptions {
            ca_file: Some(file),
            ..Default::default()
        },
    );
    from_file.login().await.expect("CA given as file");

    let system_only = client_with(&url, TlsOptions::default());
    let err = system_only
        .login()
        .await
        .expect_err("private CA unknown to the system roots");
    assert!(matches!(err, VcfError::Unreachable { .. }), "{err:?}");

    let wrong = client_with(
        &url,
        TlsOptions {
            ca_pem: Some(self::ca().cert.pem().into_bytes()),
            ..Default::default()
        },
    );
    let err = wrong.login().await.expect_err("wrong CA");
    assert!(matches!(err, VcfError::Unreachable { .. }), "{err:?}");
}

#[tokio::test]
async fn certificate_pin_match_and_mismatch() {
    let ca = ca();
    let (url, leaf) = https_server(&ca).await;
    let fp = vcf_client::tls::fingerprint_sha256(&leaf);
    let colon_pin = fp
        .as_bytes()
        .chunks(2)
        .map(|c| String::from_utf8_lossy(c).to_uppercase())
        .collect::<Vec<_>>()
        .join(":");
    // The pin alone is enough: the CA is not known to the client.
    let pinned = client_with(
        &url,
        TlsOptions {
            pin_sha256: Some(colon_pin),
            ..Default::default()
        },
    );
    pinned.login().await.expect("pin matches");

    let mismatched = client_with(
        &url,
        TlsOptions {
            pin_sha256: Some("00".repeat(32)),
            ..Default::default()
        },
    );
    let err = mismatched.login().await.expect_err("pin mismatch");
    assert!(matches!(err, VcfError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains("pin mismatch"), "{err}");
}

#[tokio::test]
async fn insecure_is_an_explicit_opt_in() {
    let ca = ca();
    let (url, _) = https_server(&ca).await;
    let insecure = client_with(
        &url,
        TlsOptions {
            insecure: true,
            ..Default::default()
        },
    );
    insecure.login().await.expect("insecure accepts anything");
}

/// Collects log output.
#[derive(Clone, Default)]
struct LogBuffer(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn insecure_warns_every_time_a_client_is_built() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let mut cfg = config("https://sddc.example");
        VcfClient::new(cfg.clone()).expect("verified client");
        cfg.tls.insecure = true;
        VcfClient::new(cfg.clone()).expect("insecure client 1");
        VcfClient::new(cfg).expect("insecure client 2");
    });
    let text = String::from_utf8(logs.0.lock().expect("logs").clone()).expect("utf8");
    assert_eq!(text.matches("WARN").count(), 2, "{text}");
    assert_eq!(
        text.matches("verification is DISABLED").count(),
        2,
        "{text}"
    );
}
