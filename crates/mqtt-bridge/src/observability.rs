//! Health, readiness and Prometheus metrics over HTTP.
//!
//! This module owns two things:
//!
//! - [`Metrics`]: every counter, gauge and histogram the bridge exports, kept in one
//!   `prometheus-client` registry. The bridge calls its methods from the poll loops, the MQTT task and
//!   the orchestrator observer; the VCF client reports each request through the
//!   [`vcf_client::RequestObserver`] implementation.
//! - [`serve`]: the optional HTTP listener (`[http] listen`, off by default) with `/healthz`
//!   (the process answers), `/readyz` (MQTT broker connected *and* SDDC Manager reachable) and
//!   `/metrics` (OpenMetrics text, which Prometheus scrapes natively).
//!
//! Label values stay low-cardinality on purpose: VCF endpoints arrive as path templates
//! (`GET /v1/bundles/{id}`), poll loops are `updates` / `resources`, and flow statuses are the
//! orchestrator's fixed status strings.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Content type of the OpenMetrics text format that [`Metrics::render`] produces.
pub const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

// === label sets ===

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LoopLabels {
    /// `updates` or `resources`.
    r#loop: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LoopResultLabels {
    r#loop: String,
    /// `ok` or `error`.
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabels {
    /// Method and path template, e.g. `GET /v1/hosts`.
    endpoint: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointStatusLabels {
    endpoint: String,
    /// HTTP status code, or `none` when no HTTP answer came (connect error, timeout).
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FlowLabels {
    domain: String,
    status: String,
}

/// Poll cycles range from a few milliseconds (simulator) to minutes (a slow SDDC Manager
/// listing many bundles): 5 ms .. ~82 s.
fn poll_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 15))
}

/// Single VCF requests: 5 ms .. ~41 s, beyond the default 30 s request timeout.
fn request_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

// === impl Metrics ===

/// Every metric the bridge exports, registered in one registry.
///
/// Cheap to share: the bridge builds one with [`Metrics::new`] and hands clones of the `Arc` to
/// the VCF client (as its request observer), the MQTT task, the poll loops and [`serve`].
pub struct Metrics {
    registry: Registry,
    poll_duration: Family<LoopLabels, Histogram, fn() -> Histogram>,
    polls: Family<LoopResultLabels, Counter>,
    vcf_requests: Family<EndpointStatusLabels, Counter>,
    vcf_request_errors: Family<EndpointLabels, Counter>,
    vcf_request_duration: Family<EndpointLabels, Histogram, fn() -> Histogram>,
    mqtt_publishes: Counter,
    flow_status: Family<FlowLabels, Gauge>,
    /// Current status per domain, so a status change can drop the previous series: exactly one
    /// `dca_flow_status{domain=..}` series is 1 at any time.
    flow_current: Mutex<HashMap<String, String>>,
    broker_up: Gauge,
    vcf_up: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("broker_up", &self.broker_up.get())
            .field("vcf_up", &self.vcf_up.get())
            .finish_non_exhaustive()
    }
}

impl Metrics {
    /// Creates the registry with every metric at its initial value (not connected, not
    /// reachable, nothing counted yet).
    pub fn new() -> Arc<Self> {
        let mut registry = Registry::with_prefix("dca");
        register_build_info(&mut registry);
        Arc::new(Self::register(registry))
    }

    /// Like [`Metrics::new`], every series labelled `instance="<id>"` and without the build info
    /// (the [`MetricsSet`] writes that once).
    fn labelled(instance: &str) -> Arc<Self> {
        let label = (Cow::Borrowed("instance"), Cow::Owned(instance.to_owned()));
        Arc::new(Self::register(Registry::with_prefix_and_labels(
            "dca",
            std::iter::once(label),
        )))
    }

    /// Registers every metric in `registry` and keeps it.
    fn register(mut registry: Registry) -> Self {
        let poll_duration =
            Family::<LoopLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                poll_histogram as fn() -> Histogram,
            );
        registry.register_with_unit(
            "poll_duration",
            "Duration of one poll cycle of the SDDC Manager, by loop (updates, resources)",
            Unit::Seconds,
            poll_duration.clone(),
        );

        let polls = Family::<LoopResultLabels, Counter>::default();
        registry.register(
            "polls",
            "Poll cycles finished, by loop and result (ok, error)",
            polls.clone(),
        );

        let vcf_requests = Family::<EndpointStatusLabels, Counter>::default();
        registry.register(
            "vcf_requests",
            "Requests to the SDDC Manager API, by endpoint template and HTTP status (none = no answer)",
            vcf_requests.clone(),
        );

        let vcf_request_errors = Family::<EndpointLabels, Counter>::default();
        registry.register(
            "vcf_request_errors",
            "SDDC Manager requests that got no answer or an HTTP status >= 400, by endpoint template",
            vcf_request_errors.clone(),
        );

        let vcf_request_duration =
            Family::<EndpointLabels, Histogram, fn() -> Histogram>::new_with_constructor(
                request_histogram as fn() -> Histogram,
            );
        registry.register_with_unit(
            "vcf_request_duration",
            "Duration of SDDC Manager requests, by endpoint template",
            Unit::Seconds,
            vcf_request_duration.clone(),
        );

        let mqtt_publishes = Counter::default();
        registry.register(
            "mqtt_publishes",
            "MQTT messages published (states, attributes, discovery, events)",
            mqtt_publishes.clone(),
        );

        let flow_status = Family::<FlowLabels, Gauge>::default();
        registry.register(
            "flow_status",
            "Upgrade flow phase per domain: 1 for the current status, one series per domain",
            flow_status.clone(),
        );

        let broker_up = Gauge::default();
        registry.register(
            "broker_up",
            "1 while the bridge is connected to the MQTT broker",
            broker_up.clone(),
        );

        let vcf_up = Gauge::default();
        registry.register(
            "vcf_up",
            "1 while the SDDC Manager API answers",
            vcf_up.clone(),
        );

        Self {
            registry,
            poll_duration,
            polls,
            vcf_requests,
            vcf_request_errors,
            vcf_request_duration,
            mqtt_publishes,
            flow_status,
            flow_current: Mutex::new(HashMap::new()),
            broker_up,
            vcf_up,
        }
    }

    /// Records one finished poll cycle of `loop_name` (`"updates"` or `"resources"`).
    pub fn poll_finished(&self, loop_name: &str, elapsed: Duration, ok: bool) {
        self.poll_duration
            .get_or_create(&LoopLabels {
                r#loop: loop_name.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
        self.polls
            .get_or_create(&LoopResultLabels {
                r#loop: loop_name.to_owned(),
                result: if ok { "ok" } else { "error" },
            })
            .inc();
    }

    /// Counts `n` MQTT publishes.
    pub fn mqtt_published(&self, n: u64) {
        self.mqtt_publishes.inc_by(n);
    }

    /// Sets the upgrade flow status of `domain`; the previous status series of that domain is
    /// removed, so a query for `dca_flow_status == 1` returns exactly one status per domain.
    pub fn set_flow_status(&self, domain: &str, status: &str) {
        // A poisoned lock only means another thread panicked mid-update of this small map;
        // the map itself is still consistent (one insert), so keep using it.
        let mut current = self
            .flow_current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let previous = current.insert(domain.to_owned(), status.to_owned());
        if let Some(previous) = previous.filter(|previous| previous != status) {
            self.flow_status.remove(&FlowLabels {
                domain: domain.to_owned(),
                status: previous,
            });
        }
        self.flow_status
            .get_or_create(&FlowLabels {
                domain: domain.to_owned(),
                status: status.to_owned(),
            })
            .set(1);
    }

    /// Records whether the MQTT broker connection is up.
    pub fn set_broker_connected(&self, up: bool) {
        self.broker_up.set(i64::from(up));
    }

    /// Records whether the SDDC Manager API answers.
    pub fn set_vcf_reachable(&self, up: bool) {
        self.vcf_up.set(i64::from(up));
    }

    /// Whether the bridge last saw the broker connected.
    pub fn broker_connected(&self) -> bool {
        self.broker_up.get() == 1
    }

    /// Whether the bridge last saw the SDDC Manager answer.
    pub fn vcf_reachable(&self) -> bool {
        self.vcf_up.get() == 1
    }

    /// Renders every metric in the OpenMetrics text format (served as [`METRICS_CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        render(&self.registry)
    }

    /// `None` when ready, else the reasons, for `/readyz`.
    fn not_ready_reasons(&self) -> Option<String> {
        let mut reasons = Vec::new();
        if !self.broker_connected() {
            reasons.push("MQTT broker not connected");
        }
        if !self.vcf_reachable() {
            reasons.push("SDDC Manager not reachable");
        }
        (!reasons.is_empty()).then(|| reasons.join("; "))
    }
}

fn register_build_info(registry: &mut Registry) {
    registry.register(
        "build",
        "Version of the running bridge",
        Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]),
    );
}

fn render(registry: &Registry) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail, and every registered metric encodes without error;
    // on the impossible error we still return what was written rather than panic in a scrape.
    if let Err(err) = encode(&mut out, registry) {
        tracing::warn!(error = %err, "encoding metrics failed");
    }
    out
}

// === impl MetricsSet ===

/// The metrics of every SDDC Manager the bridge serves, behind one `/metrics` and `/readyz`.
///
/// With one SDDC Manager the series carry no instance label (as they always have); with several,
/// each series carries `instance="<instance id>"`, and each metric family is written once with the
/// series of every instance under it.
pub struct MetricsSet {
    members: Vec<(String, Arc<Metrics>)>,
    /// The build info, written once for a labelled set.
    build: Option<Registry>,
}

impl MetricsSet {
    /// One SDDC Manager, with its metrics as they are.
    pub fn single(instance: &str, metrics: Arc<Metrics>) -> Arc<Self> {
        Arc::new(Self {
            members: vec![(instance.to_owned(), metrics)],
            build: None,
        })
    }

    /// One [`Metrics`] per instance id, in order. With several ids each series is labelled
    /// `instance="<id>"`; a single id gives [`MetricsSet::single`].
    pub fn for_instances(instances: &[String]) -> Arc<Self> {
        if let [only] = instances {
            return Self::single(only, Metrics::new());
        }
        let mut build = Registry::with_prefix("dca");
        register_build_info(&mut build);
        Arc::new(Self {
            members: instances
                .iter()
                .map(|id| (id.clone(), Metrics::labelled(id)))
                .collect(),
            build: Some(build),
        })
    }

    /// The metrics of each instance, in configuration order.
    pub fn members(&self) -> impl Iterator<Item = (&str, &Arc<Metrics>)> {
        self.members.iter().map(|(id, m)| (id.as_str(), m))
    }
}

/// Merges the OpenMetrics texts of registries built alike (series told apart by a constant
/// label) into one text where each family appears once: its `# HELP`/`# TYPE`/`# UNIT` lines from
/// the first text that has it, then the samples of every text, families in first-seen order.
fn merge_families(texts: &[String]) -> String {
    // (family name, header lines, sample lines)
    let mut families: Vec<(&str, Vec<&str>, Vec<&str>)> = Vec::new();
    for text in texts {
        let mut current: Option<usize> = None;
        for line in text.lines().filter(|l| *l != "# EOF") {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let name = rest.split(' ').next().unwrap_or(rest);
                let index = match families.iter().position(|(n, _, _)| *n == name) {
                    Some(i) => i,
                    None => {
                        families.push((name, vec![line], Vec::new()));
                        families.len() - 1
                    }
                };
                current = Some(index);
                continue;
            }
            let Some(i) = current else { continue };
            let (_, head, samples) = &mut families[i];
            if line.starts_with('#') {
                if samples.is_empty() && !head.contains(&line) {
                    head.push(line);
                }
            } else {
                samples.push(line);
            }
        }
    }
    let mut out = String::new();
    for (_, head, samples) in &families {
        for line in head.iter().chain(samples) {
            out.push_str(line);
            out.push('\n');
        }
    }
    out.push_str("# EOF\n");
    out
}

/// What the HTTP listener serves: metrics text and readiness.
pub trait Observed: Send + Sync + 'static {
    /// The OpenMetrics text for `/metrics`.
    fn metrics_text(&self) -> String;
    /// `None` when ready, else the reasons, for `/readyz`.
    fn not_ready(&self) -> Option<String>;
}

impl Observed for Metrics {
    fn metrics_text(&self) -> String {
        self.render()
    }

    fn not_ready(&self) -> Option<String> {
        self.not_ready_reasons()
    }
}

impl Observed for MetricsSet {
    fn metrics_text(&self) -> String {
        let Some(build) = &self.build else {
            return self
                .members
                .first()
                .map(|(_, m)| m.render())
                .unwrap_or_default();
        };
        let mut texts: Vec<String> = self.members.iter().map(|(_, m)| m.render()).collect();
        texts.push(render(build));
        merge_families(&texts)
    }

    /// Ready when every instance is; with several, each reason names its instance.
    fn not_ready(&self) -> Option<String> {
        if let [(_, only)] = self.members.as_slice() {
            return only.not_ready_reasons();
        }
        let reasons: Vec<String> = self
            .members
            .iter()
            .filter_map(|(id, m)| m.not_ready_reasons().map(|r| format!("{id}: {r}")))
            .collect();
        (!reasons.is_empty()).then(|| reasons.join("; "))
    }
}

impl vcf_client::RequestObserver for Metrics {
    fn on_response(&self, endpoint: &str, status: Option<u16>, elapsed: Duration) {
        let status_label = status.map_or_else(|| "none".to_owned(), |s| s.to_string());
        self.vcf_requests
            .get_or_create(&EndpointStatusLabels {
                endpoint: endpoint.to_owned(),
                status: status_label,
            })
            .inc();
        let endpoint_labels = EndpointLabels {
            endpoint: endpoint.to_owned(),
        };
        if status.is_none_or(|s| s >= 400) {
            self.vcf_request_errors
                .get_or_create(&endpoint_labels)
                .inc();
        }
        self.vcf_request_duration
            .get_or_create(&endpoint_labels)
            .observe(elapsed.as_secs_f64());
    }
}

// === HTTP ===

/// The router behind [`serve`]: `/healthz`, `/readyz`, `/metrics`.
pub fn router<O: Observed>(observed: Arc<O>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz::<O>))
        .route("/metrics", get(metrics_handler::<O>))
        .with_state(observed)
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz<O: Observed>(State(observed): State<Arc<O>>) -> Response {
    match observed.not_ready() {
        None => (StatusCode::OK, "ready\n").into_response(),
        Some(reasons) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {reasons}\n"),
        )
            .into_response(),
    }
}

async fn metrics_handler<O: Observed>(State(observed): State<Arc<O>>) -> Response {
    (
        [(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)],
        observed.metrics_text(),
    )
        .into_response()
}

/// Binds `listen` and serves `/healthz`, `/readyz` and `/metrics` until `shutdown` is cancelled.
///
/// # Errors
/// When the address cannot be bound (in use, no permission) or the server fails.
pub async fn serve<O: Observed>(
    listen: SocketAddr,
    metrics: Arc<O>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding the HTTP listener ([http] listen = {listen})"))?;
    serve_listener(listener, metrics, shutdown).await
}

/// Like [`serve`] on an already bound listener (tests bind `127.0.0.1:0` and read the port).
///
/// # Errors
/// When the server fails.
pub async fn serve_listener<O: Observed>(
    listener: TcpListener,
    metrics: Arc<O>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let addr = listener
        .local_addr()
        .context("reading the HTTP listener address")?;
    tracing::info!(%addr, "serving /healthz, /readyz and /metrics");
    axum::serve(listener, router(metrics))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
        .context("HTTP listener failed")
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    use vcf_client::RequestObserver;

    /// Finds the line of one sample (name + labels) and returns its value.
    fn sample(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .map(|v| v.trim().parse().expect("numeric sample"))
    }

    #[test]
    fn starts_down_and_empty() {
        let m = Metrics::new();
        let text = m.render();
        assert_eq!(sample(&text, "dca_broker_up"), Some(0.0));
        assert_eq!(sample(&text, "dca_vcf_up"), Some(0.0));
        assert_eq!(sample(&text, "dca_mqtt_publishes_total"), Some(0.0));
        assert!(text.contains("dca_build_info{version=\""), "{text}");
        assert!(
            text.ends_with("# EOF\n"),
            "OpenMetrics needs the EOF marker"
        );
    }

    #[test]
    fn poll_durations_by_loop_and_result() {
        let m = Metrics::new();
        m.poll_finished("updates", Duration::from_millis(120), true);
        m.poll_finished("resources", Duration::from_millis(10), true);
        m.poll_finished("resources", Duration::from_millis(30), false);
        let text = m.render();
        assert_eq!(
            sample(&text, "dca_poll_duration_seconds_count{loop=\"resources\"}"),
            Some(2.0)
        );
        let sum = sample(&text, "dca_poll_duration_seconds_sum{loop=\"resources\"}").expect("sum");
        assert!((sum - 0.04).abs() < 1e-9, "sum {sum}");
        assert_eq!(
            sample(&text, "dca_poll_duration_seconds_count{loop=\"updates\"}"),
            Some(1.0)
        );
        assert_eq!(
            sample(
                &text,
                "dca_polls_total{loop=\"resources\",result=\"error\"}"
            ),
            Some(1.0)
        );
        assert_eq!(
            sample(&text, "dca_polls_total{loop=\"resources\",result=\"ok\"}"),
            Some(1.0)
        );
        // 0.12 s lands in the le=0.16 bucket (0.005 * 2^5) but not in le=0.08.
        assert_eq!(
            sample(
                &text,
                "dca_poll_duration_seconds_bucket{le=\"0.16\",loop=\"updates\"}"
            )
            .or_else(|| sample(
                &text,
                "dca_poll_duration_seconds_bucket{loop=\"updates\",le=\"0.16\"}"
            )),
            Some(1.0),
            "{text}"
        );
    }

    #[test]
    fn requests_and_errors_by_endpoint() {
        let m = Metrics::new();
        m.on_response("GET /v1/hosts", Some(200), Duration::from_millis(5));
        m.on_response("GET /v1/hosts", Some(200), Duration::from_millis(7));
        m.on_response("GET /v1/hosts", Some(503), Duration::from_millis(2));
        m.on_response("PATCH /v1/bundles/{id}", None, Duration::from_secs(30));
        m.on_response("POST /v1/tokens", Some(401), Duration::from_millis(3));
        let text = m.render();
        assert_eq!(
            sample(
                &text,
                "dca_vcf_requests_total{endpoint=\"GET /v1/hosts\",status=\"200\"}"
            ),
            Some(2.0)
        );
        assert_eq!(
            sample(
                &text,
                "dca_vcf_requests_total{endpoint=\"GET /v1/hosts\",status=\"503\"}"
            ),
            Some(1.0)
        );
        assert_eq!(
            sample(
                &text,
                "dca_vcf_requests_total{endpoint=\"PATCH /v1/bundles/{id}\",status=\"none\"}"
            ),
            Some(1.0)
        );
        assert_eq!(
            sample(
                &text,
                "dca_vcf_request_errors_total{endpoint=\"GET /v1/hosts\"}"
            ),
            Some(1.0)
        );
        assert_eq!(
            sample(
                &text,
                "dca_vcf_request_errors_total{endpoint=\"PATCH /v1/bundles/{id}\"}"
            ),
            Some(1.0)
        );
        assert_eq!(
            sample(
                &text,
                "dca_vcf_request_errors_total{endpoint=\"POST /v1/tokens\"}"
            ),
            Some(1.0)
        );
        assert_eq!(
            sample(
                &text,
                "dca_vcf_request_duration_seconds_count{endpoint=\"GET /v1/hosts\"}"
            ),
            Some(3.0)
        );
    }

    #[test]
    fn publishes_are_counted() {
        let m = Metrics::new();
        m.mqtt_published(3);
        m.mqtt_published(1);
        assert_eq!(sample(&m.render(), "dca_mqtt_publishes_total"), Some(4.0));
    }

    #[test]
    fn one_flow_status_series_per_domain() {
        let m = Metrics::new();
        m.set_flow_status("sfo_w01", "waiting_for_initiation");
        m.set_flow_status("sfo_m01", "waiting_for_initiation");
        m.set_flow_status("sfo_w01", "downloading_bundles");
        m.set_flow_status("sfo_w01", "downloading_bundles");
        let text = m.render();
        assert_eq!(
            sample(
                &text,
                "dca_flow_status{domain=\"sfo_w01\",status=\"downloading_bundles\"}"
            ),
            Some(1.0)
        );
        assert_eq!(
            sample(
                &text,
                "dca_flow_status{domain=\"sfo_w01\",status=\"waiting_for_initiation\"}"
            ),
            None,
            "the previous status must be gone: {text}"
        );
        assert_eq!(
            sample(
                &text,
                "dca_flow_status{domain=\"sfo_m01\",status=\"waiting_for_initiation\"}"
            ),
            Some(1.0)
        );
        assert_eq!(
            text.lines()
                .filter(|l| l.starts_with("dca_flow_status{"))
                .count(),
            2
        );
    }

    #[test]
    fn label_values_are_escaped() {
        let m = Metrics::new();
        m.set_flow_status("odd\"name", "failed");
        assert!(
            m.render()
                .contains("dca_flow_status{domain=\"odd\\\"name\",status=\"failed\"} 1")
        );
    }

    /// A minimal HTTP/1.1 GET, enough to test the real listener without a client crate.
    async fn get(addr: SocketAddr, path: &str) -> (u16, String, String) {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("read");
        let raw = String::from_utf8(raw).expect("utf-8 response");
        let (head, body) = raw.split_once("\r\n\r\n").expect("header end");
        let status = head
            .split_whitespace()
            .nth(1)
            .expect("status code")
            .parse()
            .expect("numeric status");
        (status, head.to_ascii_lowercase(), body.to_owned())
    }

    #[tokio::test]
    async fn serves_health_readiness_and_metrics() {
        let metrics = Metrics::new();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(serve_listener(listener, metrics.clone(), shutdown.clone()));

        let (status, _, body) = get(addr, "/healthz").await;
        assert_eq!((status, body.as_str()), (200, "ok\n"));

        let (status, _, body) = get(addr, "/readyz").await;
        assert_eq!(status, 503);
        assert!(body.contains("MQTT broker not connected"), "{body}");
        assert!(body.contains("SDDC Manager not reachable"), "{body}");

        metrics.set_broker_connected(true);
        let (status, _, body) = get(addr, "/readyz").await;
        assert_eq!(status, 503);
        assert!(!body.contains("MQTT broker"), "{body}");
        assert!(body.contains("SDDC Manager not reachable"), "{body}");

        metrics.set_vcf_reachable(true);
        metrics.set_broker_connected(false);
        let (status, _, body) = get(addr, "/readyz").await;
        assert_eq!(status, 503);
        assert!(body.contains("MQTT broker not connected"), "{body}");
        assert!(!body.contains("SDDC Manager"), "{body}");

        metrics.set_broker_connected(true);
        let (status, _, body) = get(addr, "/readyz").await;
        assert_eq!((status, body.as_str()), (200, "ready\n"));

        metrics.mqtt_published(7);
        let (status, head, body) = get(addr, "/metrics").await;
        assert_eq!(status, 200);
        assert!(
            head.contains("content-type: application/openmetrics-text"),
            "{head}"
        );
        assert_eq!(sample(&body, "dca_mqtt_publishes_total"), Some(7.0));
        assert_eq!(sample(&body, "dca_broker_up"), Some(1.0));
        assert_eq!(sample(&body, "dca_vcf_up"), Some(1.0));

        let (status, _, _) = get(addr, "/nope").await;
        assert_eq!(status, 404);

        shutdown.cancel();
        server.await.expect("server task").expect("clean shutdown");
    }

    #[test]
    fn several_instances_share_each_family_with_an_instance_label() {
        let set = MetricsSet::for_instances(&["sfo".to_owned(), "lax".to_owned()]);
        let members: Vec<_> = set
            .members()
            .map(|(id, m)| (id.to_owned(), m.clone()))
            .collect();
        members[0].1.set_vcf_reachable(true);
        members[1]
            .1
            .on_response("GET /v1/hosts", Some(200), Duration::from_millis(5));
        let text = set.metrics_text();
        assert_eq!(
            sample(&text, "dca_vcf_up{instance=\"sfo\"}"),
            Some(1.0),
            "{text}"
        );
        assert_eq!(
            sample(&text, "dca_vcf_up{instance=\"lax\"}"),
            Some(0.0),
            "{text}"
        );
        assert!(
            text.contains("dca_vcf_requests_total{instance=\"lax\",endpoint=\"GET /v1/hosts\",status=\"200\"} 1")
                || text.contains("dca_vcf_requests_total{endpoint=\"GET /v1/hosts\",status=\"200\",instance=\"lax\"} 1"),
            "{text}"
        );
        // OpenMetrics: every family once, the build info once, one EOF at the end.
        let helps: Vec<&str> = text.lines().filter(|l| l.starts_with("# HELP ")).collect();
        let mut unique = helps.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(helps.len(), unique.len(), "{text}");
        assert_eq!(text.matches("dca_build_info{").count(), 1, "{text}");
        assert!(text.ends_with("# EOF\n") && text.matches("# EOF").count() == 1);
        // The HELP of each family comes before all of its samples.
        let help_at = text.find("# HELP dca_vcf_up ").expect("help");
        assert!(text.find("dca_vcf_up{").expect("sample") > help_at);
    }

    #[test]
    fn readiness_of_several_instances_names_the_one_that_is_not() {
        let set = MetricsSet::for_instances(&["sfo".to_owned(), "lax".to_owned()]);
        for (_, m) in set.members() {
            m.set_broker_connected(true);
            m.set_vcf_reachable(true);
        }
        assert_eq!(set.not_ready(), None);
        let lax = set.members().nth(1).map(|(_, m)| m.clone()).expect("lax");
        lax.set_vcf_reachable(false);
        assert_eq!(
            set.not_ready().as_deref(),
            Some("lax: SDDC Manager not reachable")
        );
        // One instance: the text is as it always was, without a label.
        let one = MetricsSet::for_instances(&["sfo".to_owned()]);
        assert!(one.metrics_text().contains("dca_vcf_up 0"));
        assert_eq!(
            one.not_ready().as_deref(),
            Some("MQTT broker not connected; SDDC Manager not reachable")
        );
    }

    #[tokio::test]
    async fn serve_reports_a_busy_port() {
        let taken = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = taken.local_addr().expect("addr");
        let err = serve(addr, Metrics::new(), CancellationToken::new())
            .await
            .expect_err("port is taken");
        assert!(format!("{err:#}").contains("[http] listen"), "{err:#}");
    }
}
