//! `sensor` platform (<https://www.home-assistant.io/integrations/sensor.mqtt/>).

use serde::Serialize;

use super::discovery::{Component, EntityBase};

/// A sensor config.
#[derive(Debug, Clone, Serialize)]
pub struct Sensor {
    /// Shared fields.
    #[serde(flatten)]
    pub base: EntityBase,
    /// Where the state is published.
    pub state_topic: String,
    /// `enum`, ... (HA sensor device classes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_class: Option<&'static str>,
    /// `measurement` so HA keeps long-term statistics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_class: Option<&'static str>,
    /// Unit (`%`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_of_measurement: Option<&'static str>,
    /// Display precision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggested_display_precision: Option<u8>,
    /// Allowed states for `device_class: enum`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<&'static str>>,
}

impl Component for Sensor {
    const PLATFORM: &'static str = "sensor";
    fn base(&self) -> &EntityBase {
        &self.base
    }
}
