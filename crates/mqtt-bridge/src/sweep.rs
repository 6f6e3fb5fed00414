//! The start-up sweep: clearing what an earlier run left retained for units that vanished while
//! the bridge was stopped.
//!
//! On the first connection the bridge subscribes (QoS 0) to its own discovery configs and unit
//! states and then publishes a marker on `<b>/<i>/bridge/sweep`. The broker sends the retained
//! messages of a subscription before anything published after it, so once the marker is back,
//! every retained topic has been seen and the sweep subscriptions can go. Once the bridge also
//! has a complete picture of VCF and has published it, every collected config it no longer
//! publishes, and every collected state of a domain, cluster or host that is gone altogether,
//! is cleared. A unit that still exists keeps whatever it published.
//!
//! This module only decides; the hub subscribes, publishes and unsubscribes as told
//! ([`Sweep::on_connect`], [`Sweep::on_message`], [`Sweep::complete`]), and the MQTT forwarding
//! task drops echoes with [`is_echo`].

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::topics::Topics;

/// What the hub does on a connection while the sweep waits for its marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Start {
    /// Subscribe to these at QoS 0 first.
    pub filters: Vec<String>,
    /// Then publish this marker (not retained) ...
    pub marker_topic: String,
    /// ... with this payload.
    pub marker_payload: String,
}

/// What an incoming message means to the sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// Our own marker is back: every retained message has been delivered. Unsubscribe from
    /// these filters (what would follow is only echoes of our own publishing) and sync.
    MarkerBack(Vec<String>),
    /// A sweep topic (a config, a unit's state, or someone else's marker): nothing to do.
    Absorbed,
    /// Not a sweep topic: the hub handles it.
    Other,
}

/// The topics to clear once the sweep is complete, sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stale {
    /// Discovery configs this run does not publish.
    pub configs: Vec<String>,
    /// States of units (domain, cluster, host) this run does not publish at all.
    pub states: Vec<String>,
}

/// The state of the start-up sweep.
#[derive(Debug, Clone)]
pub struct Sweep {
    topics: Topics,
    /// Identifies this process in the marker payload (another bridge misconfigured with the
    /// same instance id sends different markers).
    owner: u32,
    /// Until the first complete picture of VCF: collect and then sweep.
    pending: bool,
    /// The payload of the last marker sent is `<owner>-<nonce>`; bumped on every connection.
    nonce: u64,
    /// The marker came back: every retained message of the sweep has been delivered.
    marker_seen: bool,
    /// Retained discovery configs of this instance found on the broker.
    configs: BTreeSet<String>,
    /// Retained domain, cluster and host states of this instance found on the broker.
    states: BTreeSet<String>,
}

/// True for a live (not retained) message on a topic the sweep subscribes to: while the sweep
/// subscriptions last, the broker echoes everything the bridge publishes there, and only the
/// retained messages mean anything. Command topics are never swept, so a live press always
/// passes.
pub fn is_echo(topics: &Topics, topic: &str, retain: bool) -> bool {
    !retain && topics.is_swept(topic)
}

impl Sweep {
    /// A sweep still to do, for the instance of `topics`; `owner` tells this process's markers
    /// from others' (the process id).
    pub fn new(topics: Topics, owner: u32) -> Self {
        Self {
            topics,
            owner,
            pending: true,
            nonce: 0,
            marker_seen: false,
            configs: BTreeSet::new(),
            states: BTreeSet::new(),
        }
    }

    /// The marker payload of this process for the current connection.
    fn marker_payload(&self) -> String {
        format!("{}-{}", self.owner, self.nonce)
    }

    /// On a ConnAck: what to subscribe to and the marker to send, while the marker has not come
    /// back yet (a new marker per connection, as the broker forgets subscriptions on a clean
    /// session). `None` once it has.
    pub fn on_connect(&mut self) -> Option<Start> {
        if !self.pending || self.marker_seen {
            return None;
        }
        self.nonce += 1;
        Some(Start {
            filters: self.topics.sweep_filters(),
            marker_topic: self.topics.sweep_marker(),
            marker_payload: self.marker_payload(),
        })
    }

    /// Classifies an incoming message and collects the retained configs and states of this
    /// instance while the sweep is pending. Command topics are never the sweep's, so a retained
    /// press is never taken for a state.
    pub fn on_message(&mut self, topic: &str, payload: &[u8], retain: bool) -> Incoming {
        if topic == self.topics.sweep_marker() {
            let ours = payload == self.marker_payload().as_bytes();
            if self.pending && ours && !self.marker_seen {
                self.marker_seen = true;
                return Incoming::MarkerBack(self.topics.sweep_filters());
            }
            return Incoming::Absorbed;
        }
        let set = if self.topics.is_discovery(topic) {
            &mut self.configs
        } else if self.topics.state_unit(topic).is_some() {
            &mut self.states
        } else {
            return Incoming::Other;
        };
        // An empty retained payload is a topic already cleared.
        if retain && !payload.is_empty() && self.pending {
            set.insert(topic.to_owned());
        }
        Incoming::Absorbed
    }

    /// Ends the sweep when it is due: the marker is back and `vcf_loaded` (the first complete
    /// picture of VCF) has been published as `published` (topic → anything). Returns the
    /// topics to clear; `None` while not due and ever after.
    pub fn complete<V>(
        &mut self,
        vcf_loaded: bool,
        published: &HashMap<String, V>,
    ) -> Option<Stale> {
        if !(self.pending && self.marker_seen && vcf_loaded) {
            return None;
        }
        self.pending = false;
        let configs = std::mem::take(&mut self.configs)
            .into_iter()
            .filter(|t| !published.contains_key(t))
            .collect();
        // States: only those of a unit that is gone altogether; a unit that still exists owns
        // whatever it published.
        let t = &self.topics;
        let units: HashSet<&str> = published.keys().filter_map(|k| t.state_unit(k)).collect();
        let states = std::mem::take(&mut self.states)
            .into_iter()
            .filter(|k| !published.contains_key(k))
            .filter(|k| t.state_unit(k).is_some_and(|u| !units.contains(u)))
            .collect();
        Some(Stale { configs, states })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNER: u32 = 4242;

    fn topics() -> Topics {
        Topics::new("dca", "homeassistant", "lab")
    }

    fn published(topics: &[&str]) -> HashMap<String, ()> {
        topics.iter().map(|t| ((*t).to_owned(), ())).collect()
    }

    /// Connects and returns the marker payload the broker would echo back.
    fn connect(s: &mut Sweep) -> String {
        s.on_connect().expect("a marker is sent").marker_payload
    }

    /// How many retained topics have been collected so far.
    fn collected(s: &Sweep) -> usize {
        s.configs.len() + s.states.len()
    }

    fn marker_back(s: &mut Sweep, payload: &str) -> Incoming {
        s.on_message(&topics().sweep_marker(), payload.as_bytes(), false)
    }

    #[test]
    fn connect_subscribes_then_sends_a_new_marker_until_it_is_back() {
        let mut s = Sweep::new(topics(), OWNER);
        let first = s.on_connect().expect("sweep starts");
        assert_eq!(first.filters, topics().sweep_filters());
        assert!(first.filters.contains(&"dca/lab/host/#".to_owned()));
        assert_eq!(first.marker_topic, "dca/lab/bridge/sweep");
        assert_eq!(first.marker_payload, "4242-1");
        // A reconnection before the marker came back: subscribe again, a new marker.
        let second = connect(&mut s);
        assert_eq!(second, "4242-2");
        // The first connection's marker does not count any more.
        assert_eq!(marker_back(&mut s, "4242-1"), Incoming::Absorbed);
        assert_eq!(
            marker_back(&mut s, &second),
            Incoming::MarkerBack(topics().sweep_filters())
        );
        assert_eq!(
            s.on_connect(),
            None,
            "no sweep subscriptions after the marker"
        );
    }

    #[test]
    fn vanished_units_are_cleared_and_live_units_keep_their_topics() {
        let mut s = Sweep::new(topics(), OWNER);
        let marker = connect(&mut s);
        // Left on the broker by an earlier run: a host and a domain that no longer exist, and
        // a value of a host that still exists but that this run does not publish.
        let ghosts = [
            "dca/lab/host/old/cpu_usage",
            "dca/lab/host/old/attributes",
            "dca/lab/domain/gone_w02/status",
            "dca/lab/domain/gone_w02/upgrade/logs/attributes",
            "dca/lab/domain/lab_m01/cluster/gone_cl09/host_count",
        ];
        let kept = "dca/lab/host/esx01/legacy_metric";
        let stale_config = "homeassistant/sensor/lab/vcf_host_old_cpu_usage/config";
        let live_config = "homeassistant/sensor/lab/vcf_host_esx01_cpu_usage/config";
        for t in ghosts.iter().chain([&kept, &stale_config, &live_config]) {
            assert_eq!(s.on_message(t, b"42", true), Incoming::Absorbed, "{t}");
        }
        // A retained press is a command, never a state.
        let press = "dca/lab/domain/gone_w02/upgrade/start/set";
        assert_eq!(s.on_message(press, b"PRESS", true), Incoming::Other);
        assert_eq!(collected(&s), ghosts.len() + 3);
        assert_eq!(
            marker_back(&mut s, &marker),
            Incoming::MarkerBack(topics().sweep_filters())
        );
        let now = published(&[
            live_config,
            "dca/lab/host/esx01/cpu_usage",
            "dca/lab/domain/lab_m01/cpu_usage",
        ]);
        let stale = s.complete(true, &now).expect("sweep is due");
        assert_eq!(stale.configs, vec![stale_config.to_owned()]);
        let mut expected: Vec<String> = ghosts.iter().map(|t| (*t).to_owned()).collect();
        expected.sort();
        assert_eq!(stale.states, expected);
        assert!(!stale.states.iter().any(|t| t == kept || t.contains(press)));
        assert!(!s.pending);
        // After the sweep, a retained state is not collected any more, and nothing is cleared.
        assert_eq!(
            s.on_message("dca/lab/host/later/cpu_usage", b"1", true),
            Incoming::Absorbed
        );
        assert_eq!(collected(&s), 0);
        assert_eq!(s.complete(true, &now), None);
    }

    #[test]
    fn nothing_is_swept_before_its_own_marker() {
        let mut s = Sweep::new(topics(), OWNER);
        let marker = connect(&mut s);
        // VCF answers before the broker has delivered the retained messages.
        assert_eq!(
            s.complete(true, &published(&[])),
            None,
            "swept before the retained messages arrived"
        );
        let ghost = "dca/lab/host/old/cpu_usage";
        s.on_message(ghost, b"42", true);
        // Someone else's marker on the same topic does not count.
        assert_eq!(marker_back(&mut s, "1-1"), Incoming::Absorbed);
        assert_eq!(s.complete(true, &published(&[])), None);
        assert!(s.pending);
        assert!(matches!(
            marker_back(&mut s, &marker),
            Incoming::MarkerBack(_)
        ));
        // The marker again (a duplicate) is only absorbed.
        assert_eq!(marker_back(&mut s, &marker), Incoming::Absorbed);
        // Not before VCF is loaded either.
        assert_eq!(s.complete(false, &published(&[])), None);
        let stale = s.complete(true, &published(&[])).expect("sweep is due");
        assert_eq!(stale.states, vec![ghost.to_owned()]);
        assert!(!s.pending);
    }

    #[test]
    fn cleared_and_live_messages_are_not_collected() {
        let mut s = Sweep::new(topics(), OWNER);
        connect(&mut s);
        s.on_message("dca/lab/host/old/cpu_usage", b"", true);
        s.on_message("dca/lab/host/old/cpu_usage", b"42", false);
        s.on_message("homeassistant/sensor/lab/x/config", b"", true);
        assert_eq!(collected(&s), 0);
        // Other topics are the hub's, retained or not.
        for t in [
            "homeassistant/status",
            "dca/lab/bridge/state",
            "dca/other/host/a/b",
        ] {
            assert_eq!(s.on_message(t, b"x", true), Incoming::Other, "{t}");
        }
    }

    #[test]
    fn echoes_are_live_messages_on_swept_topics() {
        let t = topics();
        assert!(is_echo(&t, "dca/lab/host/esx01/cpu_usage", false));
        assert!(is_echo(&t, "homeassistant/sensor/lab/x/config", false));
        assert!(!is_echo(&t, "dca/lab/host/esx01/cpu_usage", true));
        // A live press always passes.
        assert!(!is_echo(&t, "dca/lab/domain/m01/upgrade/start/set", false));
        assert!(!is_echo(&t, "dca/lab/bridge/sweep", false));
        assert!(!is_echo(&t, "homeassistant/status", false));
    }
}
