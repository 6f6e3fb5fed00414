//! `dca-test-broker PORT [V5PORT]`: the embedded rumqttd MQTT broker on `127.0.0.1:PORT` (MQTT
//! 3.1.1) and, when given, `127.0.0.1:V5PORT` (MQTT 5, for the bridge), as a process.
//!
//! The end-to-end harness uses it when Mosquitto is not installed. It runs until killed, which is
//! how the harness stops and restarts it (rumqttd has no in-process shutdown).

use anyhow::Context;

fn main() -> anyhow::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .context("usage: dca-test-broker PORT")?
        .parse()
        .context("PORT must be a number")?;
    let v5_listener = match std::env::args().nth(2) {
        Some(p) => {
            let v5: u16 = p.parse().context("V5PORT must be a number")?;
            format!(
                r#"
[v5.1]
name = "v5-1"
listen = "127.0.0.1:{v5}"
next_connection_delay_ms = 1

[v5.1.connections]
connection_timeout_ms = 60000
max_payload_size = 1048576
max_inflight_count = 200
dynamic_filters = true
"#
            )
        }
        None => String::new(),
    };
    // Payloads up to 1 MiB: discovery configs and the upgrade log attributes are far below.
    let config = format!(
        r#"
id = 0

[router]
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
max_payload_size = 1048576
max_inflight_count = 200
dynamic_filters = true
{v5_listener}"#
    );
    let config: rumqttd::Config = toml::from_str(&config).context("embedded broker config")?;
    println!("dca-test-broker (rumqttd) listening on 127.0.0.1:{port}");
    rumqttd::Broker::new(config)
        .start()
        .context("embedded broker stopped")?;
    Ok(())
}
