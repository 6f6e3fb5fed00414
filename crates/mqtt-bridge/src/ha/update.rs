//! `update` platform (<https://www.home-assistant.io/integrations/update.mqtt/>).

use serde::Serialize;

use super::discovery::{Component, EntityBase};

/// An update entity config. The state topic carries HA's JSON form
/// (`installed_version`, `latest_version`, `in_progress`, `update_percentage`, ...).
#[derive(Debug, Clone, Serialize)]
pub struct Update {
    /// Shared fields.
    #[serde(flatten)]
    pub base: EntityBase,
    /// JSON state.
    pub state_topic: String,
    /// Install command; absent unless installs are allowed (then HA shows no Install button).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_topic: Option<String>,
    /// `install`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_install: Option<&'static str>,
    /// `firmware`.
    pub device_class: &'static str,
    /// Title shown in the update dialog.
    pub title: String,
}

impl Component for Update {
    const PLATFORM: &'static str = "update";
    fn base(&self) -> &EntityBase {
        &self.base
    }
}
