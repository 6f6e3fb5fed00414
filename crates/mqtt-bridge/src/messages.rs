//! What the bridge's tasks send each other: [`HubMsg`] into the hub (from the monitor loops, the
//! orchestrator observer, the MQTT poll task and the command task), [`CommandRequest`] from the
//! hub to the command task, and the [`DomainDirectory`] both of them read.
//!
//! Living here rather than next to either side, they let `hub` and `commands` stay independent
//! of each other.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use bytes::Bytes;

use crate::model::{ClusterInfo, DomainInfo, FlowInfo, HostInfo, UpdateInfo};
use crate::mqtt::MqttEvent;
use crate::topics::CommandTopic;

/// Resource loop result: one consistent picture of domains, clusters and hosts.
#[derive(Debug, Clone, Default)]
pub struct ResourceSnapshot {
    /// Domains.
    pub domains: Vec<DomainInfo>,
    /// Clusters.
    pub clusters: Vec<ClusterInfo>,
    /// Hosts.
    pub hosts: Vec<HostInfo>,
}

/// Messages the hub handles.
#[derive(Debug)]
pub enum HubMsg {
    /// From the MQTT poll task.
    Mqtt(MqttEvent),
    /// Resources loop finished a cycle.
    Resources(ResourceSnapshot),
    /// Updates loop finished a cycle: the domains it saw and their update info.
    Updates(Vec<DomainInfo>, BTreeMap<String, UpdateInfo>),
    /// SDDC Manager reachability changed or was confirmed (`Err` = error text).
    Reachability(Result<(), String>),
    /// SDDC Manager answered, but an answer was refused (malformed, over a limit, or
    /// contradicting itself): the error text names the endpoint and the field or limit. The
    /// poll's values are not used; the last good ones stay.
    BadAnswer(String),
    /// The SDDC Manager's version, as read by the updates loop.
    SddcManagerVersion(String),
    /// Token information (after login/refresh).
    Token {
        /// Expiry of the current token.
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
        /// When the current token was obtained.
        obtained_at: Option<chrono::DateTime<chrono::Utc>>,
        /// Result of a Refresh Token press, if this came from one.
        refresh_result: Option<Result<(), String>>,
    },
    /// The client's last authentication failure, as it stands after a poll.
    AuthFailure(vcf_client::AuthFailure),
    /// The orchestrator changed a flow.
    Flow(String, FlowInfo),
    /// The readiness poll finished a cycle.
    Readiness(Box<crate::readiness::Report>),
    /// An Override Readiness switch changed (domain id, on).
    ReadinessOverride(String, bool),
    /// A Back Up Now task changed.
    BackupRun(crate::model::BackupRun),
    /// A new SDDC Manager notification (9.x), for the SDDC Manager Notification event.
    VcfNotification(Box<crate::readiness::Notice>),
    /// Upgrade All Domains changed (its JSON view).
    Sequence(serde_json::Value),
    /// A notification for the domain's event entity.
    Event {
        /// Domain name.
        domain_name: String,
        /// `event_type`.
        event_type: String,
        /// Text.
        message: String,
    },
}

/// Domain lookup the hub keeps up to date for the command task: slug → (id, name).
pub type DomainDirectory = Arc<RwLock<BTreeMap<String, (String, String)>>>;

/// A command message handed from the hub to the command task.
#[derive(Debug, Clone)]
pub struct CommandRequest {
    /// Topic it arrived on.
    pub topic: String,
    /// Parsed topic.
    pub command: CommandTopic,
    /// Raw payload.
    pub payload: Bytes,
    /// Delivered as retained.
    pub retain: bool,
}
