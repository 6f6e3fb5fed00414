//! `vcf-mqtt-bridge demo`: the whole product on one machine with nothing installed.
//!
//! Starts the SDDC Manager simulator in-process (default scenario, a time scale at which a full
//! upgrade takes a few minutes), uses the MQTT broker on `localhost:1883` when one answers and
//! otherwise starts an embedded rumqttd broker, then runs the bridge with fast demo intervals and
//! prints how to watch and drive it.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::config::{Config, LogFormat};

/// Demo options (command-line flags).
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// `host:port` of a broker to use; default: localhost:1883 if it answers, else embedded.
    pub broker: Option<String>,
    /// Simulator time scale (VCF durations × this); 0.005 makes an upgrade take ~2–3 minutes.
    pub time_scale: f64,
    /// Built-in scenario name or a scenario TOML file.
    pub scenario: String,
    /// Instance id used in topics.
    pub instance_id: String,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            broker: None,
            time_scale: 0.005,
            scenario: "default".into(),
            instance_id: "demo".into(),
        }
    }
}

/// Where the demo's broker is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerChoice {
    /// A broker given with `--broker` or found on localhost:1883.
    External(String, u16),
    /// Embedded rumqttd: MQTT 3.1.1 on `port` (for `mosquitto_sub` and Home Assistant), MQTT 5
    /// on `bridge_port` (the bridge's own connection).
    Embedded {
        /// The port the demo prints.
        port: u16,
        /// The MQTT 5 listener of the same broker.
        bridge_port: u16,
    },
}

/// Splits `host:port` (port defaults to 1883).
///
/// # Errors
/// When the port is not a number.
pub fn parse_broker(s: &str) -> anyhow::Result<(String, u16)> {
    match s.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() && !h.ends_with(':') => Ok((
            h.trim_start_matches('[').trim_end_matches(']').to_owned(),
            p.parse()
                .with_context(|| format!("--broker {s:?}: expected host:port"))?,
        )),
        _ => Ok((s.to_owned(), 1883)),
    }
}

async fn answers(addr: &str) -> bool {
    matches!(
        tokio::time::timeout(
            Duration::from_millis(500),
            tokio::net::TcpStream::connect(addr)
        )
        .await,
        Ok(Ok(_))
    )
}

/// Starts an embedded rumqttd broker in a background thread: MQTT 3.1.1 on 127.0.0.1:`port`, and
/// MQTT 5 (which the bridge speaks) on 127.0.0.1:`v5_port`. Both listeners share one router, so
/// a client on either port sees what is published on the other.
///
/// # Errors
/// When the broker configuration is rejected.
pub fn start_embedded_broker(port: u16, v5_port: u16) -> anyhow::Result<()> {
    let toml = format!(
        r#"
id = 0
[router]
id = 0
max_connections = 1000
max_outgoing_packet_count = 1000
max_segment_size = 104857600
max_segment_count = 10

[v4.1]
name = "v4-1"
listen = "127.0.0.1:{port}"
next_connection_delay_ms = 1
[v4.1.connections]
connection_timeout_ms = 60000
max_payload_size = {max}
max_inflight_count = 200
dynamic_filters = true

[v5.1]
name = "v5-1"
listen = "127.0.0.1:{v5_port}"
next_connection_delay_ms = 1
[v5.1.connections]
connection_timeout_ms = 60000
max_payload_size = {max}
max_inflight_count = 200
dynamic_filters = true
"#,
        max = crate::mqtt::MAX_PACKET
    );
    let config: rumqttd::Config =
        toml::from_str(&toml).context("building the embedded broker configuration")?;
    std::thread::Builder::new()
        .name("embedded-mqtt-broker".into())
        .spawn(move || {
            let mut broker = rumqttd::Broker::new(config);
            if let Err(e) = broker.start() {
                tracing::error!("embedded MQTT broker stopped: {e}");
            }
        })
        .context("starting the embedded broker thread")?;
    Ok(())
}

async fn choose_broker(opt: Option<&str>) -> anyhow::Result<BrokerChoice> {
    if let Some(b) = opt {
        let (h, p) = parse_broker(b)?;
        return Ok(BrokerChoice::External(h, p));
    }
    if answers("localhost:1883").await {
        return Ok(BrokerChoice::External("localhost".into(), 1883));
    }
    // Prefer the standard port so the printed commands need no -p; fall back to a free one.
    let port = match TcpListener::bind(("127.0.0.1", 1883)) {
        Ok(l) => {
            drop(l);
            1883
        }
        Err(_) => free_port()?,
    };
    let bridge_port = free_port()?;
    start_embedded_broker(port, bridge_port)?;
    // Wait until it accepts connections.
    for _ in 0..50 {
        if answers(&format!("127.0.0.1:{port}")).await
            && answers(&format!("127.0.0.1:{bridge_port}")).await
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(BrokerChoice::Embedded { port, bridge_port })
}

fn free_port() -> anyhow::Result<u16> {
    let l = TcpListener::bind(("127.0.0.1", 0)).context("finding a free port")?;
    Ok(l.local_addr()?.port())
}

fn load_scenario(s: &str) -> anyhow::Result<vcf_sim::Scenario> {
    let p = Path::new(s);
    if p.is_file() {
        vcf_sim::Scenario::from_file(p)
    } else {
        vcf_sim::Scenario::builtin(s)
    }
    .with_context(|| format!("loading simulator scenario {s:?}"))
}

/// The bridge configuration the demo runs with (fast intervals).
pub fn demo_config(
    url: &str,
    username: &str,
    password: &str,
    host: &str,
    port: u16,
    instance: &str,
    state_dir: PathBuf,
) -> Config {
    let mut c = Config {
        instance_id: Some(instance.to_owned()),
        state_dir,
        ..Config::default()
    };
    c.mqtt.host = host.to_owned();
    c.mqtt.port = port;
    c.vcf.url = url.to_owned();
    c.vcf.username = username.to_owned();
    c.vcf.password = Some(SecretString::from(password.to_owned()));
    c.vcf.insecure = url.starts_with("https://");
    c.poll.resources = Duration::from_secs(5);
    c.poll.updates = Duration::from_secs(30);
    let o = &mut c.upgrade.orchestrator;
    let s = Duration::from_secs;
    o.bundle_poll_interval = s(1);
    o.sddc_manager_poll_interval = s(1);
    o.sddc_manager_settle = s(3);
    o.precheck_poll_interval = s(1);
    o.upgrade_poll_interval = s(1);
    o.validation_poll_interval = s(1);
    o.completed_hold = s(20);
    c.log.format = LogFormat::Text;
    c
}

/// Runs the demo until `shutdown`.
///
/// # Errors
/// When the simulator or broker cannot start.
pub async fn run(opts: DemoOptions, shutdown: CancellationToken) -> anyhow::Result<()> {
    let scenario = load_scenario(&opts.scenario)?;
    let sim = vcf_sim::start(
        scenario,
        vcf_sim::SimOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: false,
            time_scale: opts.time_scale,
        },
    )
    .await
    .context("starting the SDDC Manager simulator")?;
    let broker = choose_broker(opts.broker.as_deref()).await?;
    let (host, port, bridge_port, how) = match &broker {
        BrokerChoice::External(h, p) => (
            h.clone(),
            *p,
            *p,
            format!("using the MQTT broker at {h}:{p}"),
        ),
        BrokerChoice::Embedded { port, bridge_port } => (
            "127.0.0.1".to_owned(),
            *port,
            *bridge_port,
            format!(
                "no broker answered on localhost:1883: started an embedded MQTT broker on 127.0.0.1:{port}"
            ),
        ),
    };
    let state_dir = std::env::temp_dir().join(format!("dca-demo-{}", std::process::id()));
    let config = demo_config(
        &sim.url,
        &sim.username,
        &sim.password,
        &host,
        bridge_port,
        &opts.instance_id,
        state_dir.clone(),
    );
    config
        .validate()
        .map_err(|e| anyhow::anyhow!("{e}"))
        .context("demo configuration")?;
    let i = &opts.instance_id;
    let b = &config.mqtt.base_topic;
    let p = if port == 1883 {
        String::new()
    } else {
        format!(" -p {port}")
    };
    let h = if host == "localhost" || host == "127.0.0.1" {
        String::new()
    } else {
        format!(" -h {host}")
    };
    println!(
        "\nDataCenter Assistant demo\n\
         - SDDC Manager simulator: {url} (scenario {scen}, time scale {ts})\n\
         - MQTT: {how}\n\
         - instance id: {i}\n\n\
         Watch everything:\n  mosquitto_sub{h}{p} -t '{b}/#' -v\n\
         Watch Home Assistant discovery:\n  mosquitto_sub{h}{p} -t 'homeassistant/#' -v\n\
         Start the upgrade of the VI domain (sfo-w01):\n  mosquitto_pub{h}{p} -t '{b}/{i}/domain/sfo_w01/upgrade/start/set' -m PRESS\n\
         Follow it:\n  mosquitto_sub{h}{p} -t '{b}/{i}/domain/sfo_w01/upgrade/#' -v\n\
         Acknowledge precheck alerts if asked:\n  mosquitto_pub{h}{p} -t '{b}/{i}/domain/sfo_w01/upgrade/acknowledge/set' -m PRESS\n\n\
         Home Assistant: add the MQTT integration with broker {host} port {port} (discovery prefix\n\
         'homeassistant'); the devices \"VCF sfo-m01\", \"VCF sfo-w01\", their hosts and\n\
         \"VCF SDDC Manager {i}\" appear by themselves. Stop with Ctrl-C.\n",
        url = sim.url,
        scen = opts.scenario,
        ts = opts.time_scale,
    );
    info!(state_dir = %state_dir.display(), "demo starting");
    let result = crate::run(config, shutdown).await;
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(&state_dir);
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_parsing() {
        assert_eq!(
            parse_broker("mqtt.lan:1884").expect("ok"),
            ("mqtt.lan".to_owned(), 1884)
        );
        assert_eq!(
            parse_broker("mqtt.lan").expect("ok"),
            ("mqtt.lan".to_owned(), 1883)
        );
        assert!(parse_broker("h:x").is_err());
    }

    #[tokio::test]
    async fn embedded_broker_carries_the_bridges_mqtt5_retained_messages_to_mqtt311_clients() {
        use rumqttc::v5::mqttbytes::QoS as QoS5;
        use rumqttc::v5::mqttbytes::v5::Packet as Packet5;
        use rumqttc::v5::{AsyncClient as Client5, Event as Event5, MqttOptions as Options5};
        use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
        let port = free_port().expect("free port");
        let bridge_port = free_port().expect("free port");
        start_embedded_broker(port, bridge_port).expect("broker");
        let mut up = false;
        for _ in 0..50 {
            if answers(&format!("127.0.0.1:{port}")).await
                && answers(&format!("127.0.0.1:{bridge_port}")).await
            {
                up = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(up, "embedded broker did not start");
        // The bridge's side (MQTT 5, its packet limit): a retained 20 KiB payload (bigger than
        // rumqttd's default limit).
        let big = "x".repeat(20 * 1024);
        let mut opts = Options5::new("demo-test-pub", "127.0.0.1", bridge_port);
        opts.set_max_packet_size(Some(crate::mqtt::MAX_PACKET as u32));
        let (client, mut ev) = Client5::new(opts, 10);
        client
            .publish("dca/test/state", QoS5::AtLeastOnce, true, big.clone())
            .await
            .expect("queue");
        let got_ack = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if let Ok(Event5::Incoming(Packet5::PubAck(_))) = ev.poll().await {
                    break;
                }
            }
        })
        .await;
        assert!(got_ack.is_ok(), "no PUBACK");
        // A user's tool on the printed port (MQTT 3.1.1) reads it back.
        let mut opts = MqttOptions::new("demo-test-sub", "127.0.0.1", port);
        opts.set_max_packet_size(crate::mqtt::MAX_PACKET, crate::mqtt::MAX_PACKET);
        let (sub, mut ev2) = AsyncClient::new(opts, 10);
        sub.subscribe("dca/test/#", QoS::AtLeastOnce)
            .await
            .expect("queue");
        let got = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if let Ok(Event::Incoming(Packet::Publish(p))) = ev2.poll().await {
                    break p;
                }
            }
        })
        .await
        .expect("retained message delivered");
        assert!(got.retain);
        assert_eq!(got.payload.len(), big.len());
        // And a press from that tool reaches the bridge's side.
        client
            .subscribe("dca/test/cmd", QoS5::AtLeastOnce)
            .await
            .expect("queue");
        let pressed = tokio::time::timeout(Duration::from_secs(10), async {
            let mut published = false;
            loop {
                match ev.poll().await {
                    Ok(Event5::Incoming(Packet5::SubAck(_))) if !published => {
                        sub.publish("dca/test/cmd", QoS::AtLeastOnce, false, "PRESS")
                            .await
                            .expect("queue");
                        published = true;
                    }
                    Ok(Event5::Incoming(Packet5::Publish(p))) => break p,
                    _ => {}
                }
                let _ = tokio::time::timeout(Duration::from_millis(10), ev2.poll()).await;
            }
        })
        .await
        .expect("command delivered to the MQTT 5 side");
        assert_eq!(&pressed.payload[..], b"PRESS");
    }

    #[test]
    fn demo_config_is_valid_and_fast() {
        let c = demo_config(
            "http://127.0.0.1:1234",
            "admin@local",
            "pw",
            "127.0.0.1",
            1883,
            "demo",
            std::env::temp_dir(),
        );
        c.validate().expect("valid");
        assert_eq!(c.instance_id(), "demo");
        assert_eq!(c.poll.resources, Duration::from_secs(5));
        assert_eq!(
            c.upgrade.orchestrator.completed_hold,
            Duration::from_secs(20)
        );
    }
}
