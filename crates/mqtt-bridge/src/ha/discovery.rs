//! Shared discovery payload parts: `origin`, `device`, `availability` and the entity base that every
//! platform config flattens in (the govee2mqtt `hass_mqtt/base.rs` pattern).
//!
//! Reference: <https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery>.

use serde::Serialize;

/// The `origin` block: who publishes this config (shown in HA's MQTT info and logs).
#[derive(Debug, Clone, Serialize)]
pub struct Origin {
    /// Application name.
    pub name: String,
    /// Application version.
    pub sw_version: String,
    /// Where to read about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub support_url: Option<String>,
}

impl Origin {
    /// The bridge's own origin block.
    pub fn bridge() -> Self {
        Self {
            name: "DataCenter Assistant".into(),
            sw_version: env!("CARGO_PKG_VERSION").into(),
            support_url: None,
        }
    }
}

/// The `device` block. HA 2025.4 wants a `name` in every entity's device block.
#[derive(Debug, Clone, Serialize)]
pub struct Device {
    /// Stable identifiers (`dca_<i>_<uuid>`).
    pub identifiers: Vec<String>,
    /// Device name (`VCF sfo-m01`).
    pub name: String,
    /// Manufacturer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<String>,
    /// Model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Software version (VCF or ESXi version).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sw_version: Option<String>,
    /// Parent device identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via_device: Option<String>,
    /// Link shown on the device page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub configuration_url: Option<String>,
}

/// One entry of the `availability` list.
#[derive(Debug, Clone, Serialize)]
pub struct Availability {
    /// Topic to watch.
    pub topic: String,
    /// Payload meaning available (HA default `online`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_available: Option<String>,
    /// Payload meaning unavailable (HA default `offline`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_not_available: Option<String>,
}

/// HA entity category.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EntityCategory {
    /// Settings.
    Config,
    /// Diagnostics.
    Diagnostic,
}

/// Fields every platform config shares; flattened into each.
#[derive(Debug, Clone, Serialize)]
pub struct EntityBase {
    /// Entity name within its device (`Status`); HA shows "Device Name".
    pub name: String,
    /// Stable unique id (`dca_<i>_<uuid>_<key>`).
    pub unique_id: String,
    /// Entity id suggestion used by HA ≤ 2025.9 (`vcf_sfo_m01_status`).
    pub object_id: String,
    /// Entity id suggestion used by newer HA (`sensor.vcf_sfo_m01_status`).
    pub default_entity_id: String,
    /// Device block.
    pub device: Device,
    /// Origin block.
    pub origin: Origin,
    /// Availability topics.
    pub availability: Vec<Availability>,
    /// `all`: every availability topic must say available.
    pub availability_mode: &'static str,
    /// MDI icon.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icon: Option<&'static str>,
    /// Config/diagnostic category.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity_category: Option<EntityCategory>,
    /// JSON attributes topic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json_attributes_topic: Option<String>,
    /// QoS of Home Assistant's subscriptions (state, attributes, availability) and commands: 0 for
    /// read-only entities, 1 for those that send commands.
    pub qos: u8,
}

/// A rendered discovery config: where it goes and its JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryConfig {
    /// HA platform (`sensor`, `button`, ...).
    pub component: &'static str,
    /// The object id in its discovery topic (`<prefix>/<component>/<i>/<object_id>/config`);
    /// the entity id without the platform, except for a cluster's entities, whose topic keeps
    /// an earlier, longer id.
    pub object_id: String,
    /// JSON payload.
    pub payload: String,
}

/// A platform config type.
pub trait Component: Serialize {
    /// HA platform name.
    const PLATFORM: &'static str;
    /// The shared base.
    fn base(&self) -> &EntityBase;

    /// Renders to a [`DiscoveryConfig`].
    fn render(&self) -> DiscoveryConfig {
        DiscoveryConfig {
            component: Self::PLATFORM,
            object_id: self.base().object_id.clone(),
            // Serialising plain structs of strings, numbers and vectors cannot fail.
            payload: serde_json::to_string(self).unwrap_or_default(),
        }
    }
}
