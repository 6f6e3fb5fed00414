//! An MQTT client that records everything under a test's topics and waits for messages.
//!
//! It subscribes to the bridge's base topic and the discovery prefix (`<filter>/#` each), keeps
//! every message in arrival order with its retain flag, and lets tests wait — with a deadline,
//! never a fixed sleep — for a message matching a topic and payload. A [`Recorder::sync`] barrier
//! (a round trip of a private marker message through the broker) tells a test that everything
//! published before it has been delivered, which is how "nothing was published" is checked.
//! It reconnects by itself after a broker restart and subscribes again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS};
use tokio::sync::watch;

/// One received message.
#[derive(Debug, Clone)]
pub struct Message {
    /// Position in the recording (0-based).
    pub seq: usize,
    /// Topic.
    pub topic: String,
    /// Payload bytes.
    pub payload: Vec<u8>,
    /// The retain flag as delivered: set only for messages the broker had retained when the
    /// subscription was made (MQTT 3.1.1 clears it on live forwarding).
    pub retain: bool,
    /// When it arrived.
    pub at: Instant,
}

impl Message {
    /// The payload as UTF-8 (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.payload).into_owned()
    }

    /// The payload as JSON.
    ///
    /// # Errors
    /// When it is not JSON.
    pub fn json(&self) -> anyhow::Result<serde_json::Value> {
        serde_json::from_slice(&self.payload)
            .map_err(|e| anyhow::anyhow!("{} is not JSON ({e}): {}", self.topic, self.text()))
    }
}

/// A position in the recording: "messages after this point".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mark(pub usize);

struct Shared {
    messages: Mutex<Vec<Message>>,
    count: watch::Sender<usize>,
    connections: watch::Sender<u32>,
}

/// The recording MQTT client.
pub struct Recorder {
    client: AsyncClient,
    shared: Arc<Shared>,
    barrier_topic: String,
    barrier_seq: AtomicU64,
    task: tokio::task::JoinHandle<()>,
}

impl Recorder {
    /// Connects to `127.0.0.1:port`, subscribes to `<f>/#` for each filter prefix, and waits
    /// until the subscription is in place (retained messages arrive from then on).
    ///
    /// # Errors
    /// When the broker does not accept the connection in time.
    pub async fn connect(port: u16, prefixes: &[&str]) -> anyhow::Result<Recorder> {
        let client_id = crate::unique_name("recorder");
        let mut options = MqttOptions::new(client_id.clone(), "127.0.0.1", port);
        options.set_keep_alive(Duration::from_secs(30));
        options.set_max_packet_size(4 * 1024 * 1024, 4 * 1024 * 1024);
        options.set_clean_session(true);
        let (client, mut eventloop) = AsyncClient::new(options, 10_000);
        let barrier_topic = format!("dca-test-barrier/{client_id}");
        let mut filters: Vec<String> = prefixes.iter().map(|p| format!("{p}/#")).collect();
        filters.push(barrier_topic.clone());
        let shared = Arc::new(Shared {
            messages: Mutex::new(Vec::new()),
            count: watch::channel(0).0,
            connections: watch::channel(0).0,
        });
        let task = {
            let shared = shared.clone();
            let client = client.clone();
            tokio::spawn(async move {
                let mut acked = 0;
                loop {
                    match eventloop.poll().await {
                        Ok(Event::Incoming(Packet::ConnAck(_))) => {
                            acked = 0;
                            for f in &filters {
                                // try_subscribe: never await a request inside the poll loop.
                                let _ = client.try_subscribe(f.clone(), QoS::AtLeastOnce);
                            }
                        }
                        Ok(Event::Incoming(Packet::SubAck(_))) => {
                            acked += 1;
                            if acked == filters.len() {
                                shared.connections.send_modify(|n| *n += 1);
                            }
                        }
                        Ok(Event::Outgoing(Outgoing::Disconnect)) => break,
                        Ok(Event::Incoming(Packet::Publish(p))) => {
                            let mut messages =
                                shared.messages.lock().unwrap_or_else(|e| e.into_inner());
                            let seq = messages.len();
                            messages.push(Message {
                                seq,
                                topic: p.topic.clone(),
                                payload: p.payload.to_vec(),
                                retain: p.retain,
                                at: Instant::now(),
                            });
                            drop(messages);
                            shared.count.send_modify(|n| *n = seq + 1);
                        }
                        Ok(_) => {}
                        // Broker gone (restart test) or refused: try again shortly.
                        Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                    }
                }
            })
        };
        let recorder = Recorder {
            client,
            shared,
            barrier_topic,
            barrier_seq: AtomicU64::new(0),
            task,
        };
        recorder.wait_subscribed(1).await?;
        Ok(recorder)
    }

    /// Waits until the recorder has been connected and fully subscribed at least `n` times
    /// (1 after [`Recorder::connect`]; 2 after it reconnected to a restarted broker).
    ///
    /// # Errors
    /// On timeout.
    pub async fn wait_subscribed(&self, n: u32) -> anyhow::Result<()> {
        let mut rx = self.shared.connections.subscribe();
        tokio::time::timeout(crate::wait::secs(30), rx.wait_for(|c| *c >= n))
            .await
            .map_err(|_| anyhow::anyhow!("recorder not subscribed within the deadline"))??;
        Ok(())
    }

    /// The current end of the recording.
    pub fn mark(&self) -> Mark {
        Mark(self.lock().len())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Message>> {
        self.shared
            .messages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Every message recorded before `mark` (barrier messages excluded).
    pub fn until(&self, mark: Mark) -> Vec<Message> {
        self.lock()
            .iter()
            .take(mark.0)
            .filter(|m| !m.topic.starts_with("dca-test-barrier/"))
            .cloned()
            .collect()
    }

    /// All messages recorded since `mark` (excluding barrier markers).
    pub fn since(&self, mark: Mark) -> Vec<Message> {
        self.lock()
            .iter()
            .skip(mark.0)
            .filter(|m| !m.topic.starts_with("dca-test-barrier/"))
            .cloned()
            .collect()
    }

    /// All messages on `topic` since `mark`.
    pub fn on_topic_since(&self, topic: &str, mark: Mark) -> Vec<Message> {
        self.lock()
            .iter()
            .skip(mark.0)
            .filter(|m| m.topic == topic)
            .cloned()
            .collect()
    }

    /// The last message on `topic` (any time).
    pub fn latest(&self, topic: &str) -> Option<Message> {
        self.lock().iter().rev().find(|m| m.topic == topic).cloned()
    }

    /// The last payload on every topic, as text (a picture of "what the broker holds now",
    /// including empty payloads that cleared a retained message).
    pub fn latest_by_topic(&self) -> std::collections::BTreeMap<String, Message> {
        let mut out = std::collections::BTreeMap::new();
        for m in self.lock().iter() {
            if !m.topic.starts_with("dca-test-barrier/") {
                out.insert(m.topic.clone(), m.clone());
            }
        }
        out
    }

    /// Waits for a message since `mark` that satisfies `pred`; returns the first one.
    ///
    /// # Errors
    /// On timeout; the error names `what` and lists the last messages seen on matching topics.
    pub async fn wait_for(
        &self,
        mark: Mark,
        what: &str,
        limit: Duration,
        pred: impl Fn(&Message) -> bool,
    ) -> anyhow::Result<Message> {
        let mut rx = self.shared.count.subscribe();
        let deadline = tokio::time::Instant::now() + limit;
        let mut checked = mark.0;
        loop {
            {
                let messages = self.lock();
                if let Some(m) = messages.iter().skip(checked).find(|m| pred(m)) {
                    return Ok(m.clone());
                }
                checked = checked.max(messages.len());
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => anyhow::bail!("recorder stopped while waiting for {what}"),
                Err(_) => {
                    let recent: Vec<String> = self
                        .lock()
                        .iter()
                        .rev()
                        .take(15)
                        .map(|m| format!("  {} = {}", m.topic, truncate(&m.text(), 160)))
                        .collect();
                    anyhow::bail!(
                        "timed out after {limit:?} waiting for {what}; last messages (newest first):\n{}",
                        recent.join("\n")
                    );
                }
            }
        }
    }

    /// Waits for `payload` on `topic` since `mark`.
    ///
    /// # Errors
    /// On timeout.
    pub async fn wait_payload(
        &self,
        mark: Mark,
        topic: &str,
        payload: &str,
        limit: Duration,
    ) -> anyhow::Result<Message> {
        self.wait_for(mark, &format!("{topic} = {payload}"), limit, |m| {
            m.topic == topic && m.payload == payload.as_bytes()
        })
        .await
    }

    /// Waits for any message on `topic` since `mark`.
    ///
    /// # Errors
    /// On timeout.
    pub async fn wait_topic(
        &self,
        mark: Mark,
        topic: &str,
        limit: Duration,
    ) -> anyhow::Result<Message> {
        self.wait_for(mark, topic, limit, |m| m.topic == topic)
            .await
    }

    /// Waits until the current value of `topic` (its latest message, any time) is `payload`.
    ///
    /// # Errors
    /// On timeout.
    pub async fn wait_current(
        &self,
        topic: &str,
        payload: &str,
        limit: Duration,
    ) -> anyhow::Result<()> {
        if self
            .latest(topic)
            .is_some_and(|m| m.payload == payload.as_bytes())
        {
            return Ok(());
        }
        self.wait_payload(self.mark(), topic, payload, limit)
            .await
            .map(|_| ())
    }

    /// Publishes (QoS 1) and returns once the client has queued it.
    ///
    /// # Errors
    /// When the client is closed.
    pub async fn publish(&self, topic: &str, payload: &str, retain: bool) -> anyhow::Result<()> {
        self.client
            .publish(topic, QoS::AtLeastOnce, retain, payload.as_bytes().to_vec())
            .await?;
        Ok(())
    }

    /// A barrier: publishes a private marker and waits until it comes back. Everything the broker
    /// had received before the marker has then been delivered to this recorder.
    ///
    /// # Errors
    /// On timeout.
    pub async fn sync(&self) -> anyhow::Result<Mark> {
        let n = self.barrier_seq.fetch_add(1, Ordering::Relaxed);
        let payload = format!("barrier-{n}");
        let mark = self.mark();
        self.publish(&self.barrier_topic, &payload, false).await?;
        self.wait_payload(mark, &self.barrier_topic, &payload, crate::wait::secs(30))
            .await?;
        Ok(self.mark())
    }

    /// Connects a fresh client, subscribes to `<p>/#` for each prefix and returns what the broker
    /// holds retained right now: topic → message (every message has `retain` set).
    ///
    /// # Errors
    /// When the broker is unreachable.
    pub async fn retained(
        port: u16,
        prefixes: &[&str],
    ) -> anyhow::Result<std::collections::BTreeMap<String, Message>> {
        let probe = Recorder::connect(port, prefixes).await?;
        probe.sync().await?;
        let out = probe
            .since(Mark(0))
            .into_iter()
            .filter(|m| m.retain)
            .map(|m| (m.topic.clone(), m))
            .collect();
        probe.close().await;
        Ok(out)
    }

    /// Disconnects.
    pub async fn close(self) {
        let _ = self.client.disconnect().await;
        // The event loop ends once the DISCONNECT has gone out.
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while !self.task.is_finished() {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        self.task.abort();
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The first `n` characters of `s` (with an ellipsis when cut).
pub fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}
