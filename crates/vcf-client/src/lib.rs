//! Typed async client for the VMware Cloud Foundation SDDC Manager REST API (VCF 5.2, 9.0
//! and 9.1; the SDDC Manager's version is read at login, see [`VcfClient::sddc_manager_version`]).
//!
//! ```no_run
//! use vcf_client::{ClientConfig, VcfClient, VcfVersion, select_next_release};
//!
//! # async fn demo() -> vcf_client::Result<()> {
//! let mut cfg = ClientConfig::new("https://sfo-vcf01.sfo.rainpole.io", "admin@local", "secret");
//! cfg.tls.ca_file = Some("/etc/datacenter-assistant/vcf-ca.pem".into());
//! let client = VcfClient::new(cfg)?;
//! for domain in client.domains().await? {
//!     let current = client.releases(Some(&domain.id)).await?;
//!     let Some(current) = current.first() else { continue };
//!     let current: VcfVersion = current.version.parse().map_err(|e| {
//!         vcf_client::VcfError::Config(format!("{e}"))
//!     })?;
//!     let future = client.future_releases(&domain.id).await?;
//!     if let Some(next) = select_next_release(&current, &future) {
//!         println!("{}: {} -> {}", domain.name, current, next.version);
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - [`client`]: [`VcfClient`], [`ClientConfig`] and the one transport path every call takes
//!   (token, send, renew on 401/403, classify, retry when safe).
//! - `api`: the endpoint methods of [`VcfClient`], by area (inventory, releases, bundles,
//!   upgradables, check-sets, upgrades, tasks).
//! - [`auth`]: login, JWT expiry, single-flight refresh, re-login after restarts.
//! - [`tls`]: system roots, extra CAs, certificate pinning, explicit `insecure`.
//! - [`error`]: [`VcfError`], the one error type.
//! - [`limits`]: [`AnswerLimits`], what one answer may cost (body, elements, values, pages).
//! - [`models`]: serde models named after the OpenAPI schemas.
//! - [`status`]: [`Status`], normalised status spellings.
//! - [`version`]: [`VcfVersion`], numerically ordered four-part versions.
//! - [`release`]: [`select_next_release`] and [`release_bundles`].
//! - [`retry`], [`observer`]: retry policy and the per-request metrics hook.

mod api;
pub mod auth;
pub mod client;
pub mod error;
pub mod limits;
pub mod models;
pub mod observer;
pub mod release;
pub mod retry;
pub mod status;
pub mod tls;
pub mod version;

pub use api::readiness::{BACKUP_TASK_TYPE, MAX_TASK_PAGES, TaskWindow};
pub use auth::{AuthFailure, Clock, SystemClock};
pub use client::{ClientConfig, VcfClient, parse_list};
pub use error::{Result, VcfError};
pub use limits::AnswerLimits;
pub use models::*;
pub use observer::RequestObserver;
pub use release::{BomMatch, ReleaseInfo, bom_match, release_bundles, select_next_release};
pub use retry::RetryPolicy;
pub use status::Status;
pub use tls::TlsOptions;
pub use version::{ParseVersionError, VcfVersion, major_version};
