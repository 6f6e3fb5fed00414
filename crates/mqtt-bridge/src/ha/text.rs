//! `text` platform (<https://www.home-assistant.io/integrations/text.mqtt/>).

use serde::Serialize;

use super::discovery::{Component, EntityBase};

/// A text config; the bridge echoes the value in effect on `state_topic` once applied.
#[derive(Debug, Clone, Serialize)]
pub struct Text {
    /// Shared fields.
    #[serde(flatten)]
    pub base: EntityBase,
    /// Retained state: the value in effect.
    pub state_topic: String,
    /// Where HA sends the new value.
    pub command_topic: String,
    /// Longest value (Home Assistant's own limit for a state).
    pub max: usize,
    /// `text`.
    pub mode: &'static str,
}

impl Component for Text {
    const PLATFORM: &'static str = "text";
    fn base(&self) -> &EntityBase {
        &self.base
    }
}
