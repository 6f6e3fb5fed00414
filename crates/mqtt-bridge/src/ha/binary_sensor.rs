//! `binary_sensor` platform (<https://www.home-assistant.io/integrations/binary_sensor.mqtt/>).

use serde::Serialize;

use super::discovery::{Component, EntityBase};

/// A binary sensor config.
#[derive(Debug, Clone, Serialize)]
pub struct BinarySensor {
    /// Shared fields.
    #[serde(flatten)]
    pub base: EntityBase,
    /// Where the state is published.
    pub state_topic: String,
    /// `ON`.
    pub payload_on: &'static str,
    /// `OFF`.
    pub payload_off: &'static str,
    /// `connectivity`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_class: Option<&'static str>,
}

impl Component for BinarySensor {
    const PLATFORM: &'static str = "binary_sensor";
    fn base(&self) -> &EntityBase {
        &self.base
    }
}
