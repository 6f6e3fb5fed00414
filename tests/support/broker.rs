//! An MQTT broker for one test: Mosquitto on a free port, or the embedded rumqttd broker.
//!
//! Mosquitto is what users run and what CI installs, so it is the default. When it is not
//! installed (or `DCA_TEST_BROKER=embedded`), the harness runs rumqttd in a child process
//! (`dca-test-broker`, built from this package) and says so. Either way the broker is a child
//! process: it is stopped by its PID (also on drop) and can be restarted on the same port, which
//! the broker-restart tests need. No persistence: after a restart retained messages are gone,
//! so whatever a client needs retained it has to publish again.
//!
//! The bridge speaks MQTT 5. Mosquitto serves MQTT 3.1.1 and 5 on one port; rumqttd needs one
//! listener per protocol, so the embedded broker has a second port for the bridge
//! ([`Broker::bridge_port`]) while the test clients (MQTT 3.1.1) use [`Broker::port`].

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

/// Which broker implementation runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerKind {
    /// Debian's `mosquitto`.
    Mosquitto,
    /// rumqttd, in the `dca-test-broker` child process.
    Embedded,
}

/// How many messages Mosquitto queues for one client before it drops what comes next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueLimit {
    /// `max_queued_messages 0`: no limit, so a recorder sees every message of a burst.
    Unlimited,
    /// No setting at all: Mosquitto's own defaults (1,000 queued, 20 in flight), as a stock
    /// broker and Home Assistant's Mosquitto add-on run it.
    Stock,
    /// `max_queued_messages N`: a deliberately small queue.
    At(u32),
}

/// A running (or stopped, restartable) broker on `127.0.0.1:<port>`.
pub struct Broker {
    kind: BrokerKind,
    port: u16,
    bridge_port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
    starts: u32,
    queue: QueueLimit,
}

impl Broker {
    /// Starts a broker on a free port and waits until it accepts connections.
    ///
    /// # Errors
    /// When the broker cannot be started or does not listen within the deadline.
    pub async fn start() -> anyhow::Result<Broker> {
        Broker::start_with(QueueLimit::Unlimited).await
    }

    /// Starts a broker whose per-client queue is `queue` (Mosquitto only; the embedded broker
    /// has its own limits).
    ///
    /// # Errors
    /// As [`Broker::start`].
    pub async fn start_with(queue: QueueLimit) -> anyhow::Result<Broker> {
        let kind = match std::env::var("DCA_TEST_BROKER").as_deref() {
            Ok("embedded") => {
                eprintln!(
                    "DCA_TEST_BROKER=embedded: using the embedded rumqttd broker (dca-test-broker)"
                );
                BrokerKind::Embedded
            }
            _ if mosquitto_path().is_some() => BrokerKind::Mosquitto,
            _ => {
                eprintln!(
                    "mosquitto is not installed: using the embedded rumqttd broker (dca-test-broker)"
                );
                BrokerKind::Embedded
            }
        };
        let port = crate::free_port()?;
        let bridge_port = match kind {
            BrokerKind::Mosquitto => port,
            BrokerKind::Embedded => crate::free_port()?,
        };
        let mut broker = Broker {
            kind,
            port,
            bridge_port,
            dir: tempfile::tempdir()?,
            child: None,
            starts: 0,
            queue,
        };
        broker.start_again().await?;
        Ok(broker)
    }

    /// The implementation in use.
    pub fn kind(&self) -> BrokerKind {
        self.kind
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The TCP port on 127.0.0.1 the bridge (MQTT 5) connects to: [`Broker::port`] for
    /// Mosquitto, the embedded broker's MQTT 5 listener otherwise.
    pub fn bridge_port(&self) -> u16 {
        self.bridge_port
    }

    /// The broker's PID while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The broker's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("broker.log")
    }

    /// Starts the broker again on the same port after [`Broker::stop`] (a no-op if it runs).
    ///
    /// # Errors
    /// When the process cannot be spawned or does not listen within the deadline.
    pub async fn start_again(&mut self) -> anyhow::Result<()> {
        if self.child.is_some() {
            return Ok(());
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())?;
        let mut cmd = match self.kind {
            BrokerKind::Mosquitto => {
                let conf = self.dir.path().join("mosquitto.conf");
                std::fs::write(&conf, mosquitto_conf(self.port, self.queue))?;
                let mut cmd = Command::new(mosquitto_path().context("mosquitto disappeared")?);
                cmd.arg("-c").arg(&conf);
                cmd
            }
            BrokerKind::Embedded => {
                let mut cmd = Command::new(embedded_broker_binary()?);
                cmd.arg(self.port.to_string())
                    .arg(self.bridge_port.to_string());
                cmd
            }
        };
        cmd.stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let mut child = cmd.spawn().with_context(|| format!("spawning {cmd:?}"))?;
        self.starts += 1;
        // Retry the bind a few times: right after a stop the old socket may linger briefly.
        let deadline = Instant::now() + crate::wait::secs(20);
        loop {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
                && tokio::net::TcpStream::connect(("127.0.0.1", self.bridge_port))
                    .await
                    .is_ok()
            {
                break;
            }
            if let Some(status) = child.try_wait()? {
                anyhow::bail!(
                    "{:?} broker exited ({status}) before listening on {}:\n{}",
                    self.kind,
                    self.port,
                    self.log()
                );
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                anyhow::bail!(
                    "{:?} broker did not listen on {}:\n{}",
                    self.kind,
                    self.port,
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.child = Some(child);
        Ok(())
    }

    /// Stops the broker (SIGTERM to its PID, SIGKILL after 10 s) and waits until it is gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop_child(&mut child, Duration::from_secs(10));
        }
    }

    /// Stops the broker and starts it again on the same port.
    ///
    /// # Errors
    /// As [`Broker::start_again`].
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.stop();
        self.start_again().await
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Sends SIGTERM to the child's PID, waits up to `grace`, then SIGKILLs it; always reaps it.
pub fn stop_child(child: &mut Child, grace: Duration) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    send_signal(child.id(), "TERM");
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Sends a signal (`TERM`, `KILL`, `INT`...) to one PID with `kill(1)`: never by process name.
pub fn send_signal(pid: u32, signal: &str) -> bool {
    Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn mosquitto_conf(port: u16, queue: QueueLimit) -> String {
    // `log_dest stdout` (our log file): when run as root Mosquitto drops to its own user and
    // could not open a file in our private temp dir. `max_queued_messages 0`: the recorder
    // subscribes at QoS 1 and must see every message, even when a burst of thousands of
    // discovery configs outruns it (by default Mosquitto drops QoS 1 messages for a client
    // beyond 1,000 queued). `QueueLimit::Stock` leaves Mosquitto's defaults alone.
    let queue = match queue {
        QueueLimit::Unlimited => "max_queued_messages 0\n".to_owned(),
        QueueLimit::Stock => String::new(),
        QueueLimit::At(n) => format!("max_queued_messages {n}\n"),
    };
    format!(
        "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest stdout\n\
         log_type error\nlog_type warning\nlog_type notice\nconnection_messages true\n{queue}"
    )
}

/// Where `mosquitto` is installed, if it is.
pub fn mosquitto_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join("mosquitto"))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn embedded_broker_binary() -> anyhow::Result<PathBuf> {
    crate::bridge::locate_or_build(
        "dca-test-broker",
        &["-p", "dca-tests", "--bin", "dca-test-broker"],
    )
}
