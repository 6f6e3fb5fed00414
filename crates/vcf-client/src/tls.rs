//! TLS set-up: system roots by default, extra CAs, a SHA-256 certificate pin, or (explicitly)
//! no verification at all.
//!
//! SDDC Managers often present a certificate from a private CA or a self-signed one. The safe
//! answers are an extra CA or a pin; `insecure` exists for labs and warns every time a client is
//! built with it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};

use crate::error::{Result, VcfError};

/// How the SDDC Manager's certificate is checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// Extra trusted CA certificates, PEM file (added to the system roots).
    pub ca_file: Option<PathBuf>,
    /// Extra trusted CA certificates, PEM bytes (added to the system roots).
    pub ca_pem: Option<Vec<u8>>,
    /// SHA-256 of the server's leaf certificate (DER), hex, colons allowed. When set, the pin
    /// replaces chain validation: only that certificate is accepted.
    pub pin_sha256: Option<String>,
    /// Accept any certificate. Logs a warning each time a client is built.
    pub insecure: bool,
}

/// Parses a hex SHA-256 fingerprint (`AB:CD:...` or `abcd...`).
///
/// # Errors
/// [`VcfError::Config`] when it is not 32 hex-encoded bytes.
pub fn parse_pin(pin: &str) -> Result<[u8; 32]> {
    let cleaned: String = pin
        .chars()
        .filter(|c| !matches!(c, ':' | ' ' | '-'))
        .collect();
    let bytes = hex::decode(&cleaned)
        .map_err(|e| VcfError::Config(format!("pin_sha256 is not hex: {e}")))?;
    bytes.try_into().map_err(|b: Vec<u8>| {
        VcfError::Config(format!(
            "pin_sha256 must be 32 bytes (64 hex digits), got {}",
            b.len()
        ))
    })
}

/// The SHA-256 fingerprint of a DER certificate, as lower-case hex.
pub fn fingerprint_sha256(cert_der: &[u8]) -> String {
    hex::encode(Sha256::digest(cert_der))
}

fn pem_certificates(pem: &[u8], origin: &str) -> Result<Vec<reqwest::Certificate>> {
    let mut reader = pem;
    let mut certs = Vec::new();
    for item in rustls_pemfile::certs(&mut reader) {
        let der = item.map_err(|e| VcfError::Config(format!("{origin}: unreadable PEM: {e}")))?;
        let cert = reqwest::Certificate::from_der(der.as_ref())
            .map_err(|e| VcfError::Config(format!("{origin}: bad certificate: {e}")))?;
        certs.push(cert);
    }
    if certs.is_empty() {
        return Err(VcfError::Config(format!(
            "{origin}: no PEM certificate found"
        )));
    }
    Ok(certs)
}

/// Builds the HTTP client for these TLS options.
pub(crate) fn http_client(tls: &TlsOptions, timeout: Duration) -> Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .user_agent(concat!("datacenter-assistant/", env!("CARGO_PKG_VERSION")));

    if tls.insecure {
        tracing::warn!(
            "TLS certificate verification is DISABLED for the SDDC Manager connection (insecure = true); \
             configure ca_file or pin_sha256 instead"
        );
        builder = builder.danger_accept_invalid_certs(true);
    } else if let Some(pin) = &tls.pin_sha256 {
        let pin = parse_pin(pin)?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| VcfError::Config(format!("TLS set-up: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinVerifier { pin, provider }))
            .with_no_client_auth();
        builder = builder.use_preconfigured_tls(config);
    } else {
        if let Some(path) = &tls.ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| VcfError::Config(format!("ca_file {}: {e}", path.display())))?;
            for cert in pem_certificates(&pem, &format!("ca_file {}", path.display()))? {
                builder = builder.add_root_certificate(cert);
            }
        }
        if let Some(pem) = &tls.ca_pem {
            for cert in pem_certificates(pem, "ca_pem")? {
                builder = builder.add_root_certificate(cert);
            }
        }
    }
    builder
        .build()
        .map_err(|e| VcfError::Config(format!("HTTP client: {e}")))
}

/// Accepts exactly the pinned leaf certificate; handshake signatures are still verified.
#[derive(Debug)]
struct PinVerifier {
    pin: [u8; 32],
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let seen: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
        if seen == self.pin {
            Ok(ServerCertVerified::assertion())
        } else {
            tracing::warn!(
                seen = %hex::encode(seen),
                "SDDC Manager certificate does not match pin_sha256"
            );
            Err(rustls::Error::General(format!(
                "certificate pin mismatch (server presented sha256 {})",
                hex::encode(seen)
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_parse_with_and_without_colons() {
        let hexpin = "ab".repeat(32);
        let colons = vec!["AB"; 32].join(":");
        assert_eq!(parse_pin(&hexpin).expect("pin"), [0xab; 32]);
        assert_eq!(parse_pin(&colons).expect("pin"), [0xab; 32]);
        assert!(matches!(parse_pin("abcd"), Err(VcfError::Config(_))));
        assert!(matches!(
            parse_pin(&"zz".repeat(32)),
            Err(VcfError::Config(_))
        ));
    }

    #[test]
    fn bad_ca_pem_is_a_config_error() {
        let opts = TlsOptions {
            ca_pem: Some(b"not a certificate".to_vec()),
            ..TlsOptions::default()
        };
        assert!(matches!(
            http_client(&opts, Duration::from_secs(1)),
            Err(VcfError::Config(_))
        ));
        let opts = TlsOptions {
            ca_file: Some("/nonexistent/ca.pem".into()),
            ..TlsOptions::default()
        };
        let err = http_client(&opts, Duration::from_secs(1)).expect_err("missing file");
        assert!(err.to_string().contains("/nonexistent/ca.pem"));
    }
}
