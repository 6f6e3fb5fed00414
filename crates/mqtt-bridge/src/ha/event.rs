//! `event` platform (<https://www.home-assistant.io/integrations/event.mqtt/>).

use serde::Serialize;

use super::discovery::{Component, EntityBase};

/// An event entity config; payloads are `{"event_type": ..., "message": ..., "domain": ...}`, never retained.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// Shared fields.
    #[serde(flatten)]
    pub base: EntityBase,
    /// Event topic.
    pub state_topic: String,
    /// Allowed `event_type`s.
    pub event_types: Vec<&'static str>,
}

impl Component for Event {
    const PLATFORM: &'static str = "event";
    fn base(&self) -> &EntityBase {
        &self.base
    }
}
