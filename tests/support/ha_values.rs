//! Does Home Assistant show every value the bridge published? For the lost-values test and the
//! Home Assistant benchmark.
//!
//! What the bridge published is read back from the broker as it holds it retained (the discovery
//! configs say which entity shows which state topic); what Home Assistant shows comes from its
//! `/api/states`. The broker is read at QoS 0, so reading it never queues messages on the broker
//! and cannot itself cause the drops being measured.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

use crate::ha::{HaState, HomeAssistant};

/// What the broker holds retained under `filters` (`<prefix>/#` each): topic → payload.
///
/// # Errors
/// When the broker is unreachable or does not answer within the deadline.
pub async fn retained(port: u16, filters: &[String]) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
    let id = crate::unique_name("retained");
    let mut opts = MqttOptions::new(id.clone(), "127.0.0.1", port);
    opts.set_keep_alive(Duration::from_secs(30));
    opts.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut events) = AsyncClient::new(opts, 64);
    let marker = format!("dca-test/{id}/end");
    for f in filters {
        client.subscribe(format!("{f}/#"), QoS::AtMostOnce).await?;
    }
    client.subscribe(marker.clone(), QoS::AtMostOnce).await?;
    let mut out = BTreeMap::new();
    let mut subacks = 0usize;
    let deadline = Instant::now() + crate::wait::secs(60);
    loop {
        let ev = tokio::time::timeout_at(deadline.into(), events.poll())
            .await
            .context("reading retained messages from the broker")??;
        match ev {
            Event::Incoming(Packet::SubAck(_)) => {
                subacks += 1;
                if subacks == filters.len() + 1 {
                    // Every retained message of the subscriptions is queued before this one.
                    client
                        .publish(marker.clone(), QoS::AtMostOnce, false, "end")
                        .await?;
                }
            }
            Event::Incoming(Packet::Publish(p)) => {
                if p.topic == marker {
                    break;
                }
                if p.retain && !p.payload.is_empty() {
                    out.insert(p.topic, p.payload.to_vec());
                }
            }
            _ => {}
        }
    }
    let _ = client.disconnect().await;
    Ok(out)
}

/// Mosquitto's count of messages it dropped since it started (`$SYS/broker/publish/messages/dropped`,
/// refreshed every 10 s by default). Mosquitto publishes that topic only once the count is not
/// zero, so when nothing arrives within 15 s (more than one refresh) the count is 0.
///
/// # Errors
/// When the broker is unreachable.
pub async fn broker_dropped(port: u16) -> anyhow::Result<u64> {
    let mut opts = MqttOptions::new(crate::unique_name("sys"), "127.0.0.1", port);
    opts.set_keep_alive(Duration::from_secs(30));
    let (client, mut events) = AsyncClient::new(opts, 8);
    client
        .subscribe("$SYS/broker/publish/messages/dropped", QoS::AtMostOnce)
        .await?;
    let deadline = Instant::now() + Duration::from_secs(15);
    let n = loop {
        let Ok(ev) = tokio::time::timeout_at(deadline.into(), events.poll()).await else {
            break 0;
        };
        if let Event::Incoming(Packet::Publish(p)) = ev? {
            break String::from_utf8_lossy(&p.payload).trim().parse()?;
        }
    };
    let _ = client.disconnect().await;
    Ok(n)
}

/// One entity the bridge announced, with the state topic it shows.
#[derive(Debug, Clone)]
pub struct Announced {
    /// `sensor.vcf_host_sfo01_m01_esx01_cpu_usage`.
    pub entity_id: String,
    /// Its state topic.
    pub state_topic: String,
    /// Its JSON attributes topic.
    pub attributes_topic: Option<String>,
}

/// The sensors and binary sensors announced by the configs under `<discovery_prefix>/+/<instance>/`
/// (the platforms whose state is the payload itself). Timestamp sensors are left out: HA rewrites
/// their text.
pub fn announced(
    retained: &BTreeMap<String, Vec<u8>>,
    discovery_prefix: &str,
    instance: &str,
) -> Vec<Announced> {
    let mut out = Vec::new();
    for (topic, payload) in retained {
        let parts: Vec<&str> = topic.split('/').collect();
        let [prefix, platform, inst, _, "config"] = parts.as_slice() else {
            continue;
        };
        if *prefix != discovery_prefix
            || *inst != instance
            || !matches!(*platform, "sensor" | "binary_sensor")
        {
            continue;
        }
        let Ok(config) = serde_json::from_slice::<serde_json::Value>(payload) else {
            continue;
        };
        let text = |k: &str| config.get(k).and_then(|v| v.as_str()).map(str::to_owned);
        if text("device_class").as_deref() == Some("timestamp") {
            continue;
        }
        let (Some(entity_id), Some(state_topic)) = (
            text("default_entity_id")
                .or_else(|| text("object_id").map(|o| format!("{platform}.{o}"))),
            text("state_topic"),
        ) else {
            continue;
        };
        out.push(Announced {
            entity_id,
            state_topic,
            attributes_topic: text("json_attributes_topic"),
        });
    }
    out
}

/// How Home Assistant's view compares with what the broker holds.
#[derive(Debug, Clone, Default)]
pub struct Comparison {
    /// Entities compared.
    pub checked: usize,
    /// Of those, entities whose id contains `_host_`.
    pub hosts: usize,
    /// `unknown` in HA although the broker holds a value.
    pub unknown: usize,
    /// `unavailable` in HA.
    pub unavailable: usize,
    /// Another value (or other attributes) than the broker holds.
    pub wrong: usize,
    /// Announced but not in HA at all.
    pub missing: usize,
    /// A few examples of each problem.
    pub examples: Vec<String>,
}

impl Comparison {
    /// Every compared entity shows its value.
    pub fn all_correct(&self) -> bool {
        self.checked > 0 && self.unknown + self.unavailable + self.wrong + self.missing == 0
    }

    fn note(&mut self, what: String) {
        if self.examples.len() < 8 {
            self.examples.push(what);
        }
    }
}

impl std::fmt::Display for Comparison {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} entities ({} of hosts): {} unknown, {} unavailable, {} wrong, {} missing",
            self.checked, self.hosts, self.unknown, self.unavailable, self.wrong, self.missing
        )?;
        if !self.examples.is_empty() {
            write!(f, "; e.g. {}", self.examples.join("; "))?;
        }
        Ok(())
    }
}

/// The state HA makes of a payload: `None` is HA's "no value", binary sensors are lower case.
fn same_value(ha: &str, payload: &str) -> bool {
    if payload == "None" {
        return ha == "unknown";
    }
    if ha == payload || ha.eq_ignore_ascii_case(payload) {
        return true;
    }
    matches!((ha.parse::<f64>(), payload.parse::<f64>()), (Ok(a), Ok(b)) if (a - b).abs() < 1e-9)
}

/// Compares HA's states with `before` and `after` (two reads of the broker around the read of
/// HA): with live values an entity is right when it shows either.
pub fn compare(
    announced: &[Announced],
    states: &[HaState],
    before: &BTreeMap<String, Vec<u8>>,
    after: &BTreeMap<String, Vec<u8>>,
) -> Comparison {
    let by_id: BTreeMap<&str, &HaState> =
        states.iter().map(|s| (s.entity_id.as_str(), s)).collect();
    let mut c = Comparison::default();
    for a in announced {
        let values: Vec<String> = [before, after]
            .iter()
            .filter_map(|m| m.get(&a.state_topic))
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect();
        if values.is_empty() {
            // Nothing retained for it (yet): nothing HA could have missed.
            continue;
        }
        c.checked += 1;
        if a.entity_id.contains("_host_") {
            c.hosts += 1;
        }
        let Some(s) = by_id.get(a.entity_id.as_str()) else {
            c.missing += 1;
            c.note(format!("{} missing", a.entity_id));
            continue;
        };
        let value_ok = values.iter().any(|v| same_value(&s.state, v));
        let attributes_ok = a.attributes_topic.as_ref().is_none_or(|t| {
            [before, after].iter().filter_map(|m| m.get(t)).any(|p| {
                serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(p)
                    .is_ok_and(|want| want.iter().all(|(k, v)| s.attributes.get(k) == Some(v)))
            })
        });
        if value_ok && attributes_ok {
            continue;
        }
        match s.state.as_str() {
            "unknown" => c.unknown += 1,
            "unavailable" => c.unavailable += 1,
            _ => c.wrong += 1,
        }
        c.note(format!(
            "{} = {:?} (broker: {:?}{})",
            a.entity_id,
            s.state,
            values.last().map(|v| crate::recorder::truncate(v, 40)),
            if attributes_ok {
                ""
            } else {
                ", attributes differ"
            }
        ));
    }
    c
}

/// How many entities a complete picture has at least.
#[derive(Debug, Clone, Copy)]
pub struct AtLeast {
    /// Entities compared.
    pub entities: usize,
    /// Of those, entities of hosts.
    pub hosts: usize,
}

/// Reads the broker, HA, and the broker again, and compares (see [`compare`]).
///
/// # Errors
/// When the broker or HA cannot be read.
pub async fn check(
    ha: &HomeAssistant,
    port: u16,
    base_topic: &str,
    discovery_prefix: &str,
    instance: &str,
) -> anyhow::Result<Comparison> {
    let filters = [
        format!("{base_topic}/{instance}"),
        discovery_prefix.to_owned(),
    ];
    let before = retained(port, &filters).await?;
    let states = ha.states().await?;
    let after = retained(port, &filters[..1]).await?;
    let announced = announced(&before, discovery_prefix, instance);
    Ok(compare(&announced, &states, &before, &after))
}

/// Polls [`check`] until every entity is right and at least as many entities as `at_least` says
/// were compared; returns how long that took and the last comparison. On timeout returns the last
/// comparison as the error.
///
/// # Errors
/// On timeout or when the broker or HA cannot be read.
pub async fn until_correct(
    ha: &HomeAssistant,
    port: u16,
    base_topic: &str,
    discovery_prefix: &str,
    instance: &str,
    at_least: AtLeast,
    limit: Duration,
) -> anyhow::Result<(Duration, Comparison)> {
    let started = Instant::now();
    let mut last = None;
    while started.elapsed() < limit {
        match check(ha, port, base_topic, discovery_prefix, instance).await {
            Ok(c)
                if c.all_correct()
                    && c.checked >= at_least.entities
                    && c.hosts >= at_least.hosts =>
            {
                return Ok((started.elapsed(), c));
            }
            Ok(c) => last = Some(c.to_string()),
            Err(e) => last = Some(format!("{e:#}")),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    anyhow::bail!(
        "not every entity showed its value in Home Assistant within {limit:?}: {}",
        last.unwrap_or_default()
    )
}
