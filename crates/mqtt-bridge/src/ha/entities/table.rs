//! Every Home Assistant entity the bridge announces, one row each, grouped by the unit it belongs
//! to: [`BRIDGE`], [`DOMAIN`], [`CLUSTER`], [`HOST`], [`UPGRADE`], and with readiness on
//! [`READINESS_BRIDGE`], [`READINESS_NOTIFICATIONS`], [`READINESS_DOMAIN`] and
//! [`READINESS_CLUSTER`] (buttons are rows of
//! [`crate::commands::COMMANDS`]).
//!
//! A row says what the entity is; the renderer ([`super`]) adds what every entity of a unit shares
//! (device, availability, origin, `unique_id`/`object_id` prefixes, topic root). Topics in a row
//! are leaves below the unit's root: `<b>/<i>/bridge`, `<b>/<i>/domain/<d>`,
//! `<b>/<i>/domain/<d>/cluster/<c>` or `<b>/<i>/host/<h>`.

use crate::commands::{ButtonEntity, Command};
use crate::ha::discovery::EntityCategory;
use upgrade_orchestrator::NotificationKind;

/// Domain Status values.
pub const DOMAIN_STATUSES: &[&str] = &[
    "up_to_date",
    "updates_available",
    "update_process_started",
    "error",
];

/// Operation Notification event types: how an Upgrade All Domains run or a Back Up Now ended.
pub const OPERATION_EVENTS: &[&str] = &[
    "upgrade_all_completed",
    "upgrade_all_failed",
    "upgrade_all_aborted",
    "backup_completed",
    "backup_failed",
];

/// Upgrade History values: `none` before the first finished flow, then how the last one ended.
pub const HISTORY_RESULTS: &[&str] = &["none", "completed", "downloaded", "failed", "aborted"];

/// Home Assistant platform of an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// `sensor`.
    Sensor,
    /// `binary_sensor`.
    BinarySensor,
    /// `button`.
    Button,
    /// `switch`.
    Switch,
    /// `update`.
    Update,
    /// `event`.
    Event,
    /// `text`.
    Text,
}

/// What an entity's availability depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Bridge-owned (commands, upgrade flow, the update entity): available while the bridge is
    /// online, also while SDDC Manager is unreachable (e.g. during its own upgrade).
    Bridge,
    /// Read from SDDC Manager: available while the bridge is online and SDDC Manager reachable.
    Vcf,
}

/// Where an entity's JSON attributes go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attributes {
    /// No attributes topic.
    None,
    /// `<state topic>/attributes`.
    Own,
    /// A leaf below the unit's root, shared by several entities.
    At(&'static str),
}

/// One entity. Fields a platform does not use stay `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entity {
    /// HA platform.
    pub platform: Platform,
    /// The end of its `unique_id` and `object_id` (`status`, `upgrade_logs`).
    pub key: &'static str,
    /// Name within its device; a cluster's entities get the cluster name in front.
    pub name: &'static str,
    /// MDI icon.
    pub icon: &'static str,
    /// Config or diagnostic category.
    pub category: Option<EntityCategory>,
    /// What its availability depends on.
    pub source: Source,
    /// State topic leaf.
    pub state: Option<&'static str>,
    /// JSON attributes topic.
    pub attributes: Attributes,
    /// Command topic leaf (a row of [`crate::commands::COMMANDS`]).
    pub command: Option<&'static str>,
    /// Device class (`enum`, `connectivity`, `firmware`).
    pub device_class: Option<&'static str>,
    /// `measurement` so HA keeps long-term statistics.
    pub state_class: Option<&'static str>,
    /// Unit of measurement.
    pub unit: Option<&'static str>,
    /// Suggested display precision.
    pub precision: Option<u8>,
    /// Allowed states of an `enum` sensor.
    pub options: Option<&'static [&'static str]>,
    /// Allowed `event_type`s of an event.
    pub event_types: Option<&'static [&'static str]>,
    /// Update dialog title; the renderer adds the domain name in parentheses.
    pub title: Option<&'static str>,
}

/// A sensor with nothing set: the base of the rows below.
const SENSOR: Entity = Entity {
    platform: Platform::Sensor,
    key: "",
    name: "",
    icon: "",
    category: None,
    source: Source::Vcf,
    state: None,
    attributes: Attributes::None,
    command: None,
    device_class: None,
    state_class: None,
    unit: None,
    precision: None,
    options: None,
    event_types: None,
    title: None,
};

/// A usage percentage (CPU, memory, storage) of a domain or host.
const fn usage(
    key: &'static str,
    name: &'static str,
    icon: &'static str,
    attributes: Attributes,
) -> Entity {
    Entity {
        key,
        name,
        icon,
        state: Some(key),
        attributes,
        state_class: Some("measurement"),
        unit: Some("%"),
        precision: Some(1),
        ..SENSOR
    }
}

/// The SDDC Manager device (buttons: [`crate::commands::COMMANDS`]).
pub const BRIDGE: &[Entity] = &[
    Entity {
        platform: Platform::BinarySensor,
        key: "connectivity",
        name: "Connectivity",
        icon: "mdi:lan-connect",
        category: Some(EntityCategory::Diagnostic),
        source: Source::Bridge,
        state: Some("connectivity"),
        attributes: Attributes::Own,
        device_class: Some("connectivity"),
        ..SENSOR
    },
    // Upgrade All Domains: its status; the attributes are the retained JSON of the sequence
    // (domains done / total, current domain, each domain's result).
    Entity {
        key: "upgrade_all",
        name: "Upgrade All Domains",
        icon: "mdi:playlist-play",
        source: Source::Bridge,
        state: Some("upgrade_all/status"),
        attributes: Attributes::At("upgrade_all/state"),
        device_class: Some("enum"),
        options: Some(&upgrade_orchestrator::sequence::SequenceStatus::NAMES),
        ..SENSOR
    },
    // How an Upgrade All Domains run or a Back Up Now ended, for automations (never retained).
    Entity {
        platform: Platform::Event,
        key: "operation_notification",
        name: "Operation Notification",
        icon: "mdi:bell-check-outline",
        source: Source::Bridge,
        state: Some("event"),
        event_types: Some(OPERATION_EVENTS),
        ..SENSOR
    },
];

/// A domain's VCF state.
pub const DOMAIN: &[Entity] = &[
    // `device_class: enum` + `options` lets HA offer the values in automations
    // (<https://developers.home-assistant.io/docs/core/entity/sensor/#available-device-classes>).
    Entity {
        key: "status",
        name: "Status",
        icon: "mdi:list-status",
        state: Some("status"),
        attributes: Attributes::Own,
        device_class: Some("enum"),
        options: Some(DOMAIN_STATUSES),
        ..SENSOR
    },
    Entity {
        key: "current_version",
        name: "Current Version",
        icon: "mdi:tag-outline",
        state: Some("current_version"),
        ..SENSOR
    },
    Entity {
        key: "components_to_update",
        name: "Components To Update",
        icon: "mdi:package-up",
        state: Some("components_to_update"),
        attributes: Attributes::Own,
        state_class: Some("measurement"),
        precision: Some(0),
        ..SENSOR
    },
    usage("cpu_usage", "CPU Usage", "mdi:cpu-64-bit", Attributes::Own),
    usage(
        "memory_usage",
        "Memory Usage",
        "mdi:memory",
        Attributes::Own,
    ),
    usage(
        "storage_usage",
        "Storage Usage",
        "mdi:harddisk",
        Attributes::Own,
    ),
];

/// A cluster (its entities belong to the domain's device).
pub const CLUSTER: &[Entity] = &[Entity {
    key: "host_count",
    name: "Host Count",
    icon: "mdi:server",
    state: Some("host_count"),
    state_class: Some("measurement"),
    unit: Some("hosts"),
    precision: Some(0),
    ..SENSOR
}];

/// An ESXi host.
pub const HOST: &[Entity] = &[
    usage(
        "cpu_usage",
        "CPU Usage",
        "mdi:cpu-64-bit",
        Attributes::At("attributes"),
    ),
    usage(
        "memory_usage",
        "Memory Usage",
        "mdi:memory",
        Attributes::At("attributes"),
    ),
    usage(
        "storage_usage",
        "Storage Usage",
        "mdi:harddisk",
        Attributes::At("attributes"),
    ),
];

/// A domain's upgrade flow (buttons: [`crate::commands::COMMANDS`]).
pub const UPGRADE: &[Entity] = &[
    // The orchestrator's own list, so a new status cannot be missing from the options.
    Entity {
        key: "upgrade_status",
        name: "Upgrade Status",
        icon: "mdi:progress-upload",
        source: Source::Bridge,
        state: Some("upgrade/status"),
        attributes: Attributes::Own,
        device_class: Some("enum"),
        options: Some(&upgrade_orchestrator::phase::STATUSES),
        ..SENSOR
    },
    Entity {
        key: "upgrade_logs",
        name: "Upgrade Logs",
        icon: "mdi:text-box-outline",
        source: Source::Bridge,
        state: Some("upgrade/logs"),
        attributes: Attributes::Own,
        ..SENSOR
    },
    // State: how many findings the flow's check-set run reported; attributes: each of them,
    // errors first, so a dashboard can show them while the flow waits for acknowledgement.
    Entity {
        key: "precheck_findings",
        name: "Precheck Findings",
        icon: "mdi:clipboard-alert-outline",
        source: Source::Bridge,
        state: Some("upgrade/findings"),
        attributes: Attributes::Own,
        ..SENSOR
    },
    // State: how the last finished flow ended; attributes: the last runs, newest first.
    Entity {
        key: "upgrade_history",
        name: "Upgrade History",
        icon: "mdi:history",
        source: Source::Bridge,
        state: Some("upgrade/history"),
        attributes: Attributes::Own,
        device_class: Some("enum"),
        options: Some(HISTORY_RESULTS),
        ..SENSOR
    },
    Entity {
        platform: Platform::Switch,
        key: "ignore_alerts",
        name: "Ignore Alerts",
        icon: "mdi:alert-remove",
        category: Some(EntityCategory::Config),
        source: Source::Bridge,
        state: Some("ignore_alerts"),
        command: Some("ignore_alerts/set"),
        ..SENSOR
    },
    // The domain's maintenance windows, editable in HA (`Sat 22:00-Sun 04:00, Wed 01:00-03:00`;
    // `always`; `default` for the configured ones).
    Entity {
        platform: Platform::Text,
        key: "maintenance_windows",
        name: "Maintenance Windows",
        icon: "mdi:calendar-clock",
        category: Some(EntityCategory::Config),
        source: Source::Bridge,
        state: Some("upgrade/windows"),
        command: Some("upgrade/windows/set"),
        ..SENSOR
    },
    // JSON state form: <https://www.home-assistant.io/integrations/update.mqtt/#json-state>.
    // The command topic is announced only when installs are allowed: without it HA shows no
    // Install button. Bridge-owned: its progress is the flow's, and the versions it shows are the
    // last ones read, so it stays available while SDDC Manager restarts during its own upgrade.
    Entity {
        platform: Platform::Update,
        key: "update",
        name: "Update",
        icon: "mdi:update",
        source: Source::Bridge,
        state: Some("update/state"),
        command: Some("update/install"),
        device_class: Some("firmware"),
        title: Some("VMware Cloud Foundation"),
        ..SENSOR
    },
    // `problem` class: ON means the flow's state cannot be saved in `state_dir`
    // (<https://www.home-assistant.io/integrations/binary_sensor/#device-class>).
    Entity {
        platform: Platform::BinarySensor,
        key: "state_storage",
        name: "State Storage",
        icon: "mdi:content-save-alert-outline",
        category: Some(EntityCategory::Diagnostic),
        source: Source::Bridge,
        state: Some("upgrade/state_storage"),
        attributes: Attributes::Own,
        device_class: Some("problem"),
        ..SENSOR
    },
    // <https://www.home-assistant.io/integrations/event.mqtt/>: never retained, or every HA
    // restart would replay the last notification.
    Entity {
        platform: Platform::Event,
        key: "upgrade_notification",
        name: "Upgrade Notification",
        icon: "mdi:bell-ring",
        source: Source::Bridge,
        state: Some("upgrade/event"),
        event_types: Some(&NotificationKind::NAMES),
        ..SENSOR
    },
];

/// The SDDC Manager's readiness entities (with `readiness.enabled`; button: Back Up Now in
/// [`crate::commands::COMMANDS`]).
pub const READINESS_BRIDGE: &[Entity] = &[
    Entity {
        key: "upgrade_readiness",
        name: "Upgrade Readiness",
        icon: "mdi:clipboard-check-outline",
        state: Some("readiness"),
        attributes: Attributes::Own,
        device_class: Some("enum"),
        options: Some(crate::readiness::STATES),
        ..SENSOR
    },
    Entity {
        key: "last_backup",
        name: "Last Backup",
        icon: "mdi:backup-restore",
        state: Some("last_backup"),
        attributes: Attributes::Own,
        device_class: Some("timestamp"),
        ..SENSOR
    },
    Entity {
        key: "failed_tasks",
        name: "Failed Tasks",
        icon: "mdi:alert-circle-outline",
        state: Some("failed_tasks"),
        attributes: Attributes::Own,
        state_class: Some("measurement"),
        precision: Some(0),
        ..SENSOR
    },
];

/// The SDDC Manager's notifications (with `readiness.enabled`, on a 9.x SDDC Manager: the
/// first readiness poll that reads them announces these).
pub const READINESS_NOTIFICATIONS: &[Entity] = &[
    // State: how many notifications are active; attributes: each, newest first.
    Entity {
        key: "vcf_notifications",
        name: "SDDC Manager Notifications",
        icon: "mdi:message-alert-outline",
        state: Some("notifications"),
        attributes: Attributes::Own,
        state_class: Some("measurement"),
        precision: Some(0),
        ..SENSOR
    },
    // Each new notification once, its severity as the event type (never retained).
    Entity {
        platform: Platform::Event,
        key: "vcf_notification",
        name: "SDDC Manager Notification",
        icon: "mdi:message-badge-outline",
        state: Some("notifications/event"),
        event_types: Some(crate::readiness::NOTIFICATION_EVENT_TYPES),
        ..SENSOR
    },
];

/// A cluster's readiness entities (with `readiness.enabled`, on a 9.x SDDC Manager).
pub const READINESS_CLUSTER: &[Entity] = &[Entity {
    key: "image_compliance",
    name: "Image Compliance",
    icon: "mdi:layers-outline",
    state: Some("image_compliance"),
    attributes: Attributes::Own,
    device_class: Some("enum"),
    options: Some(crate::readiness::IMAGE_COMPLIANCE_STATES),
    ..SENSOR
}];

/// A domain's readiness entities (with `readiness.enabled`).
pub const READINESS_DOMAIN: &[Entity] = &[
    Entity {
        key: "upgrade_readiness",
        name: "Upgrade Readiness",
        icon: "mdi:clipboard-check-outline",
        state: Some("readiness"),
        attributes: Attributes::Own,
        device_class: Some("enum"),
        options: Some(crate::readiness::STATES),
        ..SENSOR
    },
    // Start Upgrade on a `blocked` domain goes ahead while on; the upgrade log says so.
    Entity {
        platform: Platform::Switch,
        key: "override_readiness",
        name: "Override Readiness",
        icon: "mdi:shield-off-outline",
        category: Some(EntityCategory::Config),
        source: Source::Bridge,
        state: Some("override_readiness"),
        command: Some("override_readiness/set"),
        ..SENSOR
    },
];

// === impl Entity ===

impl Entity {
    /// The button entity of a command row.
    pub const fn button(command: &Command, button: ButtonEntity) -> Self {
        Self {
            platform: Platform::Button,
            key: button.key,
            name: command.label,
            icon: command.icon,
            category: button.category,
            source: Source::Bridge,
            command: Some(command.leaf),
            ..SENSOR
        }
    }
}

// === impl Platform ===

impl Platform {
    /// The platform's name in discovery topics and entity ids.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Sensor => "sensor",
            Self::BinarySensor => "binary_sensor",
            Self::Button => "button",
            Self::Switch => "switch",
            Self::Update => "update",
            Self::Event => "event",
            Self::Text => "text",
        }
    }
}
