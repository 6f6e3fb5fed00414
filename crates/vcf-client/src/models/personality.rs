//! vLCM image models: the personalities (cluster images) SDDC Manager knows.

use serde::{Deserialize, Serialize};

/// The spec's `Personality`: a vLCM image imported into SDDC Manager
/// (`GET /v1/personalities`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Personality {
    /// Personality id, sent as `personalitySpec.personalityId` in an upgrade.
    pub personality_id: String,
    /// Personality name.
    pub personality_name: Option<String>,
    /// Display name.
    pub display_name: Option<String>,
    /// "Personality Version".
    pub version: Option<String>,
    /// What the image contains (its ESXi base image).
    pub software_info: Option<SoftwareInfo>,
}

/// The spec's `SoftwareInfo` (the parts the orchestrator reads).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct SoftwareInfo {
    /// The ESXi base image.
    pub base_image: Option<BaseImageInfo>,
}

/// The spec's `BaseImageInfo`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BaseImageInfo {
    /// ESXi base image version, e.g. `8.0.3-0.35.24280767`.
    pub version: Option<String>,
}

impl Personality {
    /// The ESXi version of the image: its base image version, else the personality version.
    pub fn esxi_version(&self) -> Option<&str> {
        self.software_info
            .as_ref()
            .and_then(|s| s.base_image.as_ref())
            .and_then(|b| b.version.as_deref())
            .or(self.version.as_deref())
    }
}
