//! `switch` platform (<https://www.home-assistant.io/integrations/switch.mqtt/>).

use serde::Serialize;

use super::discovery::{Component, EntityBase};

/// A switch config; the bridge echoes the new state on `state_topic` once applied.
#[derive(Debug, Clone, Serialize)]
pub struct Switch {
    /// Shared fields.
    #[serde(flatten)]
    pub base: EntityBase,
    /// Retained state.
    pub state_topic: String,
    /// Where HA sends `ON`/`OFF`.
    pub command_topic: String,
    /// `ON`.
    pub payload_on: &'static str,
    /// `OFF`.
    pub payload_off: &'static str,
}

impl Component for Switch {
    const PLATFORM: &'static str = "switch";
    fn base(&self) -> &EntityBase {
        &self.base
    }
}
