//! `button` platform (<https://www.home-assistant.io/integrations/button.mqtt/>).

use serde::Serialize;

use super::discovery::{Component, EntityBase};

/// A button config; HA publishes `payload_press` (not retained) on `command_topic`.
#[derive(Debug, Clone, Serialize)]
pub struct Button {
    /// Shared fields.
    #[serde(flatten)]
    pub base: EntityBase,
    /// Command topic.
    pub command_topic: String,
    /// `PRESS`.
    pub payload_press: &'static str,
    /// `update`, `restart`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_class: Option<&'static str>,
}

impl Component for Button {
    const PLATFORM: &'static str = "button";
    fn base(&self) -> &EntityBase {
        &self.base
    }
}
