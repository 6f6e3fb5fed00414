//! Release models: VCF releases and their BOM, future releases of a domain, the domain's
//! target version, and target-version validations.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{ApiError, MessagePack};
use crate::Status;

/// The spec's `ProductVersion`: one component of a release's bill of materials.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BomEntry {
    /// Component name, e.g. `SDDC_MANAGER_VCF`, `NSX_T_MANAGER`, `VCENTER`, `ESX_HOST`.
    pub name: String,
    /// Component version with build, e.g. `5.2.1.0-24307856`; empty when absent (optional
    /// from VCF 9.0 on, see [`BomEntry::version`]).
    pub version: String,
    /// Build or CLN of the component, e.g. `24307856` (VCF 9.x; not written when absent, as
    /// the 5.2.1 schema does not have it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change_id: Option<String>,
    /// Human readable name.
    pub public_name: Option<String>,
    /// Release notes URL.
    #[serde(rename = "releaseURL")]
    pub release_url: Option<String>,
    /// Extra metadata.
    pub additional_metadata: Option<String>,
    /// Who manages the component's lifecycle, e.g. `SDDC_MANAGER_VCF` (VCF 9.x; not written
    /// when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle_managed_by: Option<String>,
}

impl BomEntry {
    /// The version, or `None` when the entry carries none (allowed from VCF 9.0 on).
    pub fn version(&self) -> Option<&str> {
        Some(self.version.trim()).filter(|v| !v.is_empty())
    }
}

/// The spec's `PatchBundle`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PatchBundle {
    /// Bundle id.
    pub bundle_id: String,
    /// Bundle type.
    pub bundle_type: Option<String>,
    /// Bundle elements.
    pub bundle_elements: Vec<String>,
    /// Cumulative from this VCF version.
    pub cumulative_from_vcf_version: Option<String>,
}

/// The spec's `Release`: a VCF release (from `GET /v1/releases`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Release {
    /// Product, `VCF`.
    pub product: Option<String>,
    /// Release version, e.g. `5.2.1.0`.
    pub version: String,
    /// Oldest VCF version that can upgrade to this release.
    pub min_compatible_vcf_version: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Release date (ISO 8601).
    pub release_date: Option<String>,
    /// Bill of materials.
    pub bom: Vec<BomEntry>,
    /// Deprecated applicability flag.
    pub is_applicable: Option<bool>,
    /// Deprecated reason.
    pub not_applicable_reason: Option<String>,
    /// Patch bundles.
    pub patch_bundles: Vec<PatchBundle>,
    /// End of life (ISO 8601).
    pub eol: Option<String>,
    /// Custom upgrade order.
    pub upgrade_order: Option<String>,
}

/// The spec's `DomainFutureRelease`: a release a domain could move to, with why (not).
///
/// `raw` keeps the whole JSON object as received, because it is shown to users; serializing a
/// `FutureRelease` writes `raw` back when it is an object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FutureRelease {
    /// Product, `VCF`.
    pub product: Option<String>,
    /// Release version, e.g. `5.2.1.0`.
    pub version: String,
    /// Oldest VCF version that can upgrade to this release.
    pub min_compatible_vcf_version: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Release date (ISO 8601).
    pub release_date: Option<String>,
    /// Bill of materials.
    pub bom: Vec<BomEntry>,
    /// `APPLICABLE` or `NOT_APPLICABLE`.
    pub applicability_status: Option<String>,
    /// Deprecated applicability flag, still returned.
    pub is_applicable: Option<bool>,
    /// Why the release does not apply.
    pub reasons_not_applicable: Vec<MessagePack>,
    /// Warnings.
    pub warnings: Vec<MessagePack>,
    /// End of life (ISO 8601).
    pub eol: Option<String>,
    /// The whole release object as received.
    pub raw: serde_json::Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[derive(Default)]
struct FutureReleaseWire {
    product: Option<String>,
    version: String,
    min_compatible_vcf_version: Option<String>,
    description: Option<String>,
    release_date: Option<String>,
    bom: Vec<BomEntry>,
    applicability_status: Option<String>,
    is_applicable: Option<bool>,
    reasons_not_applicable: Vec<MessagePack>,
    reason_not_applicable: Option<MessagePack>,
    warnings: Vec<MessagePack>,
    eol: Option<String>,
}

impl<'de> Deserialize<'de> for FutureRelease {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = serde_json::Value::deserialize(deserializer)?;
        // Inner field paths survive in the message thanks to serde_path_to_error.
        let wire: FutureReleaseWire = serde_path_to_error::deserialize(raw.clone())
            .map_err(|e| serde::de::Error::custom(format!("{}: {}", e.path(), e.inner())))?;
        let mut reasons = wire.reasons_not_applicable;
        if reasons.is_empty() {
            reasons.extend(wire.reason_not_applicable);
        }
        Ok(Self {
            product: wire.product,
            version: wire.version,
            min_compatible_vcf_version: wire.min_compatible_vcf_version,
            description: wire.description,
            release_date: wire.release_date,
            bom: wire.bom,
            applicability_status: wire.applicability_status,
            is_applicable: wire.is_applicable,
            reasons_not_applicable: reasons,
            warnings: wire.warnings,
            eol: wire.eol,
            raw,
        })
    }
}

impl Serialize for FutureRelease {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.raw.is_object() {
            return self.raw.serialize(serializer);
        }
        serde_json::json!({
            "product": self.product,
            "version": self.version,
            "minCompatibleVcfVersion": self.min_compatible_vcf_version,
            "description": self.description,
            "releaseDate": self.release_date,
            "bom": self.bom,
            "applicabilityStatus": self.applicability_status,
            "isApplicable": self.is_applicable,
            "reasonsNotApplicable": self.reasons_not_applicable,
            "warnings": self.warnings,
            "eol": self.eol,
        })
        .serialize(serializer)
    }
}

/// The spec's `TargetProductVersion` (a patch pin in a domain release).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TargetProductVersion {
    /// `SDDC_MANAGER`, `ESX`, `VCENTER`, `VXRAIL`, `NSX`.
    pub product_type: String,
    /// Version.
    pub version: String,
}

/// The spec's `DomainReleaseView`: the target version selected for a domain.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DomainReleaseView {
    /// Domain id.
    pub domain_id: String,
    /// Selected target version; the empty string when none is set.
    pub target_version: String,
    /// Target VxRail version.
    pub target_vx_rail_version: Option<String>,
    /// Target SDDC Manager version.
    pub target_sddc_manager_version: Option<String>,
    /// Patch pins.
    pub patches: Vec<TargetProductVersion>,
    /// Customised BOM?
    pub is_customized_bom: Option<bool>,
}

/// The spec's `DomainRelease`: body of the target-version PATCH and of validations. Only
/// `targetVersion` is ever sent by this client (extra empty keys are rejected by the API).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainRelease {
    /// Target VCF version.
    pub target_version: String,
}

/// The spec's `Validation`: result of a target-version validation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Validation {
    /// Validation id.
    pub id: String,
    /// Description.
    pub description: Option<String>,
    /// `IN_PROGRESS`, `COMPLETED`, `FAILED`, ...
    pub execution_status: Option<Status>,
    /// `SUCCEEDED`, `FAILED`, `FAILED_WITH_WARNINGS`, ... (kept verbatim: warnings matter).
    pub result_status: Option<String>,
    /// Individual checks.
    pub validation_checks: Vec<ValidationCheck>,
    /// Extra properties.
    pub additional_properties: BTreeMap<String, serde_json::Value>,
}

/// The spec's `ValidationCheck`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ValidationCheck {
    /// What was checked.
    pub description: Option<String>,
    /// `INFO`, `WARNING`, `ERROR`.
    pub severity: Option<String>,
    /// `SUCCEEDED`, `FAILED`, ...
    pub result_status: Option<Status>,
    /// Error details.
    pub error_response: Option<ApiError>,
}
