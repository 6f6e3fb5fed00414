//! The MQTT connection: options (LWT, TLS, credentials) and the one task that owns
//! `EventLoop::poll()`.
//!
//! The bridge speaks MQTT 5 and announces [`MAX_PACKET`] as its Maximum Packet Size in CONNECT.
//! MQTT 5 requires the broker to discard a message it would send bigger than that ("as if it had
//! completed sending it", MQTT 5.0 §3.1.2.11.4), so no message anyone publishes, retained or not,
//! can make the connection fail: with MQTT 3.1.1 an oversized retained message broke the
//! connection at every reconnect. A broker that ignores the limit (rumqttd does) costs one
//! reconnect: the bridge then reads packets up to [`NONCOMPLIANT_BROKER_PACKET`] from it and drops
//! oversized payloads itself. What does arrive is checked here (a topic that is not UTF-8, a
//! payload over [`MAX_PACKET`]: dropped with one warning) and by the hub (payloads).
//!
//! The poll task never publishes; it forwards ConnAcks and incoming messages to the hub over an
//! unbounded channel (so it never blocks on a slow consumer) and keeps the connection alive with
//! its own reconnect back-off. Publishing happens elsewhere through the cloned [`AsyncClient`].

use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{LastWill, Packet};
use rumqttc::v5::{AsyncClient, ConnectionError, Event, EventLoop, MqttOptions, StateError};
use rumqttc::{Outgoing, TlsConfiguration, Transport};
use secrecy::ExposeSecret;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::config::Config;
use crate::topics::Topics;

/// Largest packet the bridge sends or accepts: attribute payloads stay < 16 KiB, the FlowView
/// JSON adds the markdown log; leave room. Sent to the broker as the CONNECT Maximum Packet
/// Size, so a bigger message is dropped by the broker instead of breaking the connection.
pub const MAX_PACKET: usize = 256 * 1024;

/// What the bridge reads from a broker that sent a packet over [`MAX_PACKET`] in spite of the
/// Maximum Packet Size (it then drops the payload itself): 16 MiB, a bounded cost instead of a
/// reconnect loop. A bigger packet from such a broker still breaks the connection.
pub const NONCOMPLIANT_BROKER_PACKET: usize = 16 * 1024 * 1024;

/// Topics named in "oversized payload dropped" warnings, at most; then they go to debug.
const OVERSIZED_WARNINGS: usize = 64;

/// What the poll task reports.
#[derive(Debug, Clone)]
pub enum MqttEvent {
    /// A ConnAck: (re)subscribe and (re)publish everything.
    Connected,
    /// The connection dropped (logged once per outage).
    Disconnected,
    /// An incoming publish.
    Message {
        /// Topic.
        topic: String,
        /// Payload.
        payload: Bytes,
        /// The broker delivered it as a retained message.
        retain: bool,
    },
}

/// Builds the client options from the config: LWT `offline` on the bridge state topic.
///
/// # Errors
/// When a TLS file cannot be read.
pub fn options(config: &Config, topics: &Topics) -> anyhow::Result<MqttOptions> {
    let mut opts = MqttOptions::new(
        config.client_id(),
        config.mqtt.host.clone(),
        config.mqtt.port,
    );
    opts.set_keep_alive(config.mqtt.keep_alive);
    opts.set_clean_start(true);
    // The broker never sends us a packet over this (MQTT 5); rumqttc also refuses to read one.
    opts.set_max_packet_size(Some(MAX_PACKET as u32));
    opts.set_last_will(LastWill::new(
        topics.bridge_state(),
        "offline",
        QoS::AtLeastOnce,
        true,
        None,
    ));
    if let Some(user) = &config.mqtt.username {
        let pw = config
            .mqtt
            .password
            .as_ref()
            .map(|p| p.expose_secret().to_owned())
            .unwrap_or_default();
        opts.set_credentials(user.clone(), pw);
    }
    let tls = &config.mqtt.tls;
    if tls.enabled {
        let client_auth = match (&tls.client_cert, &tls.client_key) {
            (Some(cert), Some(key)) => Some((
                std::fs::read(cert)
                    .with_context(|| format!("reading mqtt.tls.client_cert {}", cert.display()))?,
                std::fs::read(key)
                    .with_context(|| format!("reading mqtt.tls.client_key {}", key.display()))?,
            )),
            _ => None,
        };
        let transport = match &tls.ca_file {
            Some(ca) => Transport::tls_with_config(TlsConfiguration::Simple {
                ca: std::fs::read(ca)
                    .with_context(|| format!("reading mqtt.tls.ca_file {}", ca.display()))?,
                alpn: None,
                client_auth,
            }),
            None => Transport::tls_with_default_config(),
        };
        opts.set_transport(transport);
    }
    Ok(opts)
}

/// Creates the client and spawns the poll task. The task ends when `stop` is cancelled or after
/// the client sent DISCONNECT.
pub fn spawn(
    opts: MqttOptions,
    events: mpsc::UnboundedSender<MqttEvent>,
    stop: CancellationToken,
) -> (AsyncClient, tokio::task::JoinHandle<()>) {
    let (client, eventloop) = AsyncClient::new(opts, 256);
    let handle = tokio::spawn(poll_loop(eventloop, events, stop));
    (client, handle)
}

async fn poll_loop(
    mut eventloop: EventLoop,
    events: mpsc::UnboundedSender<MqttEvent>,
    stop: CancellationToken,
) {
    let mut connected = false;
    let mut failures: u32 = 0;
    let mut warned_bad_topic = false;
    let mut warned_noncompliant = false;
    let mut oversized_warned: std::collections::HashSet<String> = Default::default();
    loop {
        let ev = tokio::select! {
            () = stop.cancelled() => break,
            ev = eventloop.poll() => ev,
        };
        match ev {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                info!(code = ?ack.code, "connected to MQTT broker");
                connected = true;
                failures = 0;
                let _ = events.send(MqttEvent::Connected);
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                let Ok(topic) = String::from_utf8(p.topic.to_vec()) else {
                    // MQTT requires UTF-8 topics and brokers check it; drop anything else.
                    if !warned_bad_topic {
                        warn!(
                            topic = ?crate::commands::payload_for_log(&p.topic),
                            "ignoring an MQTT message whose topic is not UTF-8"
                        );
                        warned_bad_topic = true;
                    }
                    continue;
                };
                if p.payload.len() > MAX_PACKET {
                    // Only from a broker that ignored our Maximum Packet Size.
                    if oversized_warned.len() < OVERSIZED_WARNINGS
                        && oversized_warned.insert(topic.clone())
                    {
                        warn!(
                            topic = %crate::commands::topic_for_log(&topic),
                            size = p.payload.len(),
                            retain = p.retain,
                            "ignoring an MQTT message over {MAX_PACKET} bytes"
                        );
                    } else {
                        debug!(size = p.payload.len(), "ignoring an oversized MQTT message");
                    }
                    continue;
                }
                let _ = events.send(MqttEvent::Message {
                    topic,
                    payload: p.payload,
                    retain: p.retain,
                });
            }
            Ok(Event::Outgoing(Outgoing::Disconnect)) => {
                debug!("MQTT DISCONNECT sent");
                break;
            }
            Ok(_) => {}
            Err(ConnectionError::RequestsDone) => break,
            Err(e) => {
                let too_large = match &e {
                    ConnectionError::MqttState(StateError::IncomingPacketTooLarge {
                        pkt_size,
                        ..
                    }) => Some(*pkt_size),
                    _ => None,
                };
                if too_large.is_some() {
                    // rumqttc answers an oversized packet with a DISCONNECT (protocol error) it
                    // never gets to send: left in its buffers it would go out on the next
                    // connection and its event would end this loop. The QoS 1 publishes in the
                    // buffer are sent again from rumqttc's pending list, subscriptions by the hub.
                    eventloop.state.write.clear();
                    eventloop
                        .state
                        .events
                        .retain(|ev| !matches!(ev, Event::Outgoing(Outgoing::Disconnect)));
                }
                if let Some(pkt_size) = too_large
                    && !warned_noncompliant
                {
                    // The broker ignored the Maximum Packet Size (MQTT 5 forbids that). Read such
                    // packets from now on, up to a bound, and drop their payloads above, rather
                    // than fail again at every reconnect.
                    warn!(
                        size = pkt_size,
                        "the MQTT broker sent a message over the {MAX_PACKET} bytes the bridge \
                         announced as its Maximum Packet Size; reconnecting once, then reading up \
                         to {NONCOMPLIANT_BROKER_PACKET} bytes and dropping such messages"
                    );
                    warned_noncompliant = true;
                    eventloop
                        .options
                        .set_max_packet_size(Some(NONCOMPLIANT_BROKER_PACKET as u32));
                }
                if connected || failures == 0 {
                    warn!("MQTT connection lost or refused: {e:#}; reconnecting");
                    let _ = events.send(MqttEvent::Disconnected);
                } else {
                    debug!("MQTT reconnect failed: {e:#}");
                }
                connected = false;
                failures = failures.saturating_add(1);
                let delay = Duration::from_millis(250 * 2u64.pow(failures.min(5)));
                tokio::select! {
                    () = stop.cancelled() => break,
                    () = tokio::time::sleep(delay.min(Duration::from_secs(5))) => {}
                }
            }
        }
    }
}
