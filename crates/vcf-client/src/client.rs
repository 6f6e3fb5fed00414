//! [`VcfClient`] and [`ClientConfig`]: the transport every endpoint goes through.
//!
//! One path serves all endpoints: take a valid token, send, on 401/403 renew once and resend,
//! classify the answer into data or a [`VcfError`], and retry transient failures when the call
//! is safe to repeat. Every exchange is reported to the [`RequestObserver`].

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use secrecy::SecretString;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::auth::{Clock, SystemClock, TokenCell};
use crate::error::{Result, VcfError, excerpt};
use crate::limits::{AnswerLimits, scan};
use crate::models::{ApiError, Checked, PageMetadata, PageOf};
use crate::observer::RequestObserver;
use crate::retry::RetryPolicy;
use crate::tls::{TlsOptions, http_client};

/// Everything needed to talk to one SDDC Manager.
#[derive(Clone)]
pub struct ClientConfig {
    /// `https://sddc.example` or `http://127.0.0.1:PORT` (no path).
    pub base_url: String,
    /// User name, e.g. `administrator@vsphere.local` or `admin@local`.
    pub username: String,
    /// Password.
    pub password: SecretString,
    /// Certificate checking.
    pub tls: TlsOptions,
    /// Timeout of one HTTP exchange (default 30 s).
    pub request_timeout: Duration,
    /// Retries of safe calls on transient errors.
    pub retry: RetryPolicy,
    /// Sees every HTTP exchange (metrics).
    pub observer: Option<Arc<dyn RequestObserver>>,
    /// After a refused login, how long no new login is tried (default 3 min: at most four
    /// logins in 10 minutes with a wrong password, well under SSO lockout thresholds).
    pub login_backoff: Duration,
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &self.base_url)
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .field("tls", &self.tls)
            .field("request_timeout", &self.request_timeout)
            .field("retry", &self.retry)
            .field("observer", &self.observer.as_ref().map(|_| "set"))
            .field("login_backoff", &self.login_backoff)
            .finish()
    }
}

// === impl ClientConfig ===

impl ClientConfig {
    /// The default [`ClientConfig::login_backoff`].
    pub const DEFAULT_LOGIN_BACKOFF: Duration = Duration::from_secs(180);

    /// A configuration with defaults: verified TLS with system roots, 30 s timeout, 3 attempts,
    /// 3 min between logins after a refused one.
    pub fn new(
        base_url: impl Into<String>,
        username: impl Into<String>,
        password: impl Into<SecretString>,
    ) -> Self {
        Self {
            base_url: base_url.into(),
            username: username.into(),
            password: password.into(),
            tls: TlsOptions::default(),
            request_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            observer: None,
            login_backoff: Self::DEFAULT_LOGIN_BACKOFF,
        }
    }
}

/// An async SDDC Manager API client. Cheap to clone; clones share the token and connection pool.
#[derive(Clone)]
pub struct VcfClient {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for VcfClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VcfClient")
            .field("base_url", &self.inner.base_url)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    http: reqwest::Client,
    pub(crate) base_url: String,
    pub(crate) username: String,
    pub(crate) password: SecretString,
    retry: RetryPolicy,
    observer: Option<Arc<dyn RequestObserver>>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) tokens: TokenCell,
    pub(crate) login_backoff: Duration,
    /// The SDDC Manager's version, learnt at login (`GET /v1/sddc-managers`).
    pub(crate) sddc_version: std::sync::RwLock<Option<String>>,
}

/// One HTTP call, described before it is sent (so it can be sent again).
#[derive(Debug, Clone)]
pub(crate) struct Call {
    method: Method,
    template: &'static str,
    path: String,
    query: Vec<(&'static str, String)>,
    body: Option<Vec<u8>>,
    idempotent: bool,
    /// The query parameter that selects a page (`pageNumber`; `page` for 9.x `/v1/hosts`).
    page_param: &'static str,
    /// What the answer may cost (body size, elements, values, pages).
    limits: AnswerLimits,
}

impl Call {
    pub(crate) fn new(method: Method, template: &'static str, path: String) -> Self {
        let idempotent = method == Method::GET;
        Self {
            method,
            template,
            path,
            query: Vec::new(),
            body: None,
            idempotent,
            page_param: "pageNumber",
            limits: AnswerLimits::OBJECT,
        }
    }

    /// Holds the answer to `limits` instead of [`AnswerLimits::OBJECT`].
    pub(crate) fn limits(mut self, limits: AnswerLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Names the query parameter that selects a page, when it is not `pageNumber`.
    pub(crate) fn page_param(mut self, name: &'static str) -> Self {
        self.page_param = name;
        self
    }

    pub(crate) fn get(template: &'static str, path: String) -> Self {
        Self::new(Method::GET, template, path)
    }

    pub(crate) fn query(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.query.push((key, value.into()));
        self
    }

    pub(crate) fn json<B: Serialize + ?Sized>(mut self, body: &B) -> Result<Self> {
        let bytes = serde_json::to_vec(body).map_err(|e| VcfError::Parse {
            endpoint: self.label(),
            detail: format!("request body: {e}"),
        })?;
        self.body = Some(bytes);
        Ok(self)
    }

    pub(crate) fn raw_json(mut self, bytes: Vec<u8>) -> Self {
        self.body = Some(bytes);
        self
    }

    /// Marks a write as safe to repeat (tokens, target-version PATCH).
    pub(crate) fn idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }

    /// `METHOD /actual/path` for error messages.
    pub(crate) fn label(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// `METHOD /path/{template}` for the observer.
    fn template_label(&self) -> String {
        format!("{} {}", self.method, self.template)
    }
}

/// An HTTP answer, before classification.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
}

/// The server's error message from a body: the `Error` summary when it is one, else an excerpt.
pub(crate) fn error_message(body: &[u8]) -> String {
    match serde_json::from_slice::<ApiError>(body) {
        Ok(err) if err.message.is_some() || err.error_code.is_some() => err.summary(),
        _ => excerpt(body),
    }
}

/// Whether an answer refuses the request's credentials: 401, 403, or the `400 Request Header Or
/// Cookie Too Large` that the nginx in front of SDDC Manager answers to an oversized bearer
/// header (observed; `docs/vcf-api` ENDPOINTS §12 on the nginx reverse proxy).
pub(crate) fn refuses_credentials(answer: &Answer) -> bool {
    matches!(answer.status, 401 | 403) || (answer.status == 400 && header_too_large(&answer.body))
}

/// nginx's "Request Header Or Cookie Too Large" (or a similar "header ... too large") page.
fn header_too_large(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&body[..body.len().min(4096)]).to_ascii_lowercase();
    text.contains("header") && text.contains("too large")
}

/// 2xx → the answer; anything else → the matching error.
pub(crate) fn check_status(endpoint: &str, answer: Answer) -> Result<Answer> {
    if (200..300).contains(&answer.status) {
        return Ok(answer);
    }
    if refuses_credentials(&answer) {
        return Err(VcfError::Auth {
            endpoint: endpoint.to_owned(),
            status: answer.status,
            message: error_message(&answer.body),
        });
    }
    let Answer { status, body } = answer;
    if matches!(status, 502..=504) {
        return Err(VcfError::Unavailable {
            endpoint: endpoint.to_owned(),
            status: Some(status),
            detail: excerpt(&body),
        });
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(VcfError::Api {
            endpoint: endpoint.to_owned(),
            status,
            error: Box::default(),
        });
    }
    match serde_json::from_slice::<ApiError>(&body) {
        Ok(error) => Err(VcfError::Api {
            endpoint: endpoint.to_owned(),
            status,
            error: Box::new(error),
        }),
        Err(_) => Err(VcfError::Unavailable {
            endpoint: endpoint.to_owned(),
            status: Some(status),
            detail: excerpt(&body),
        }),
    }
}

/// Decodes a 2xx answer; a non-JSON body means "not ready" (a proxy page), a JSON body of the
/// wrong shape is a parse error naming the field path.
pub(crate) fn decode<T: DeserializeOwned>(endpoint: &str, answer: &Answer) -> Result<T> {
    decode_within(endpoint, answer, &AnswerLimits::OBJECT)
}

/// [`decode`], after checking that the answer holds no more elements and values than `limits`
/// allow (see [`crate::limits`]): an answer over them is refused before serde allocates
/// anything for it.
pub(crate) fn decode_within<T: DeserializeOwned>(
    endpoint: &str,
    answer: &Answer,
    limits: &AnswerLimits,
) -> Result<T> {
    let body = answer.body.as_slice();
    scan(body, limits.max_elements, limits.max_values).map_err(|e| VcfError::Parse {
        endpoint: endpoint.to_owned(),
        detail: format!("{}; answer not used", e.describe(limits)),
    })?;
    let mut de = serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(value) => Ok(value),
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            if inner.is_data() {
                Err(VcfError::Parse {
                    endpoint: endpoint.to_owned(),
                    detail: format!("{path}: {inner}"),
                })
            } else if body.iter().all(u8::is_ascii_whitespace) {
                Err(VcfError::Parse {
                    endpoint: endpoint.to_owned(),
                    detail: "empty body where JSON was expected".to_owned(),
                })
            } else {
                Err(VcfError::Unavailable {
                    endpoint: endpoint.to_owned(),
                    status: Some(answer.status),
                    detail: format!("not JSON ({inner}): {}", excerpt(body)),
                })
            }
        }
    }
}

/// Why a response body could not be read.
#[derive(Debug)]
enum BodyError {
    /// The connection failed while the body was arriving.
    Transport(reqwest::Error),
    /// The body is (or says it is) larger than the limit; the rest was not read.
    TooLarge {
        limit: usize,
        /// The size the answer declared (`Content-Length`), if it did.
        declared: Option<usize>,
    },
}

/// Reads a response body chunk by chunk into one buffer sized from `Content-Length`, so a large
/// answer (`/v1/hosts` of a big installation) is held once rather than as a chain of chunks plus
/// a doubling copy. An answer over `limit` bytes is refused rather than read into memory.
async fn read_body(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, BodyError> {
    // A lying Content-Length must not reserve memory up front.
    const MAX_PREALLOCATION: usize = 16 * 1024 * 1024;
    let declared = response
        .content_length()
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    if declared.is_some_and(|n| n > limit) {
        return Err(BodyError::TooLarge { limit, declared });
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(0).min(MAX_PREALLOCATION));
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge { limit, declared });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

// === impl Inner (transport) ===

impl Inner {
    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// One HTTP exchange, reported to the observer. No classification.
    pub(crate) async fn exchange(&self, call: &Call, bearer: Option<&str>) -> Result<Answer> {
        let mut request = self
            .http
            .request(call.method.clone(), self.url(&call.path))
            .header(ACCEPT, "application/json");
        if !call.query.is_empty() {
            request = request.query(&call.query);
        }
        if let Some(token) = bearer {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(body) = &call.body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.clone());
        }
        let started = Instant::now();
        let sent = request.send().await;
        let result = match sent {
            Ok(response) => {
                let status = response.status().as_u16();
                match read_body(response, call.limits.max_body).await {
                    Ok(body) => Ok(Answer { status, body }),
                    Err(e) => Err((Some(status), e)),
                }
            }
            Err(source) => Err((None, BodyError::Transport(source))),
        };
        let elapsed = started.elapsed();
        if let Some(observer) = &self.observer {
            let status = match &result {
                Ok(answer) => Some(answer.status),
                Err((status, _)) => *status,
            };
            observer.on_response(&call.template_label(), status, elapsed);
        }
        result.map_err(|(_, e)| match e {
            BodyError::Transport(source) => VcfError::Unreachable {
                endpoint: call.label(),
                source,
            },
            BodyError::TooLarge { limit, declared } => VcfError::Parse {
                endpoint: call.label(),
                detail: format!(
                    "answer {}larger than {limit} bytes (the limit for {}); not read",
                    declared
                        .map(|n| format!("of {n} bytes "))
                        .unwrap_or_default(),
                    call.limits.kind
                ),
            },
        })
    }

    /// Whether a failed attempt of `call` may be repeated.
    fn may_retry(call: &Call, err: &VcfError) -> bool {
        // A login that failed was already retried within itself: retrying the call would only
        // log in again, and multiply the wait on an SDDC Manager that does not answer.
        let token_call = call.template == crate::auth::TOKENS_TEMPLATE;
        if !token_call
            && err
                .endpoint()
                .is_some_and(|e| e.ends_with(crate::auth::TOKENS_TEMPLATE))
        {
            return false;
        }
        match err {
            // A connection that was never established carried no request.
            VcfError::Unreachable { source, .. } => call.idempotent || source.is_connect(),
            VcfError::Unavailable { .. } => call.idempotent,
            // VCF 9.x answers 409 while its inventory cache is being seeded after a restart.
            err @ VcfError::Api { .. } => call.idempotent && err.is_inventory_cache_not_seeded(),
            _ => false,
        }
    }

    /// Runs `op` until it succeeds, fails for good, or attempts run out.
    pub(crate) async fn with_retry<T, F, Fut>(&self, call: &Call, mut op: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut attempt = 1;
        loop {
            match op().await {
                Err(err) if attempt < self.retry.max_attempts && Self::may_retry(call, &err) => {
                    let delay = self.retry.delay(attempt);
                    tracing::debug!(error = %err, attempt, ?delay, "retrying SDDC Manager call");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Sends with a valid token; on 401/403 (or a header-too-large 400) renews once and resends
    /// once.
    async fn send_authorized(&self, call: &Call) -> Result<Answer> {
        let endpoint = call.label();
        let token = self.valid_token().await?;
        let answer = self.exchange(call, Some(&token.access)).await?;
        if !refuses_credentials(&answer) {
            return check_status(&endpoint, answer);
        }
        tracing::debug!(status = answer.status, %endpoint, "token rejected; renewing once");
        let fresh = self.renew_rejected(&token).await?;
        let answer = self.exchange(call, Some(&fresh.access)).await?;
        check_status(&endpoint, answer)
    }

    /// Sends `call` with authentication and retries; ignores the 2xx body.
    pub(crate) async fn send(&self, call: &Call) -> Result<()> {
        self.with_retry(call, || self.send_authorized(call))
            .await
            .map(|_| ())
    }

    /// Sends and decodes the answer. Decoding happens inside the retry loop: a proxy page
    /// served with 200 is as transient as a 503.
    pub(crate) async fn fetch<T: DeserializeOwned>(&self, call: &Call) -> Result<T> {
        let endpoint = call.label();
        self.with_retry(call, || async {
            let answer = self.send_authorized(call).await?;
            decode_within(&endpoint, &answer, &call.limits)
        })
        .await
    }

    /// Fetches a `PageOf<T>` and every further page that `pageMetadata` announces, each read
    /// as [`parse_list`] reads an answer, then checks the whole list ([`check_list`]).
    ///
    /// A list is an error, never a partial or invented value, when one of its answers is not
    /// what [`parse_list`] accepts, a page it announces comes back empty, the pages together
    /// pass [`AnswerLimits::max_elements`], or an id repeats over the pages.
    pub(crate) async fn fetch_all<T: DeserializeOwned + Checked>(
        &self,
        call: Call,
    ) -> Result<Vec<T>> {
        let limits = call.limits;
        let endpoint = call.label();
        let contradiction = |detail: String| VcfError::Parse {
            endpoint: endpoint.clone(),
            detail,
        };
        let (mut items, meta) = self.fetch_page::<T>(&call).await?;
        if let Some(meta) = meta {
            let total_pages = meta.total_pages.unwrap_or(1);
            let first_number = meta.page_number.unwrap_or(0);
            for n in 1..total_pages {
                if meta.total_elements.is_some_and(|t| items.len() as i64 >= t) {
                    break;
                }
                let mut next = call.clone();
                let param = next.page_param;
                next.query.retain(|(k, _)| *k != param);
                next = next.query(param, (first_number + n).to_string());
                let (page, _) = self.fetch_page::<T>(&next).await?;
                if page.is_empty() {
                    return Err(contradiction(format!(
                        "pageMetadata.totalPages is {total_pages} but page {} of them is empty; \
                         answer not used",
                        n + 1
                    )));
                }
                items.extend(page);
                if items.len() > limits.max_elements {
                    return Err(contradiction(format!(
                        "more than {} elements over {} pages (the limit for {}); answer not used",
                        limits.max_elements,
                        n + 1,
                        limits.kind
                    )));
                }
            }
        }
        check_list(&items).map_err(contradiction)?;
        Ok(items)
    }

    /// One page of a list: sent with retries, read by [`parse_list`].
    async fn fetch_page<T: DeserializeOwned + Checked>(
        &self,
        call: &Call,
    ) -> Result<(Vec<T>, Option<PageMetadata>)> {
        let endpoint = call.label();
        self.with_retry(call, || async {
            let answer = self.send_authorized(call).await?;
            parse_page(&endpoint, &answer, &call.limits)
        })
        .await
    }
}

/// Reads one list answer (a `PageOf<T>`) as the client does, for `endpoint` (`GET /v1/hosts`)
/// held to `limits`: counted before it is parsed ([`crate::limits`]), `elements` required,
/// `pageMetadata` announcing no more pages or elements than the limits allow, every element
/// carrying its id (and name) and no id twice ([`Checked`]). This is what every list endpoint
/// method does with each page it reads.
///
/// # Errors
/// [`VcfError::Parse`] naming the endpoint and the field or limit; [`VcfError::Unavailable`]
/// for a body that is not JSON at all (a proxy page).
pub fn parse_list<T: DeserializeOwned + Checked>(
    endpoint: &str,
    body: &[u8],
    limits: &AnswerLimits,
) -> Result<Vec<T>> {
    let answer = Answer {
        status: 200,
        body: body.to_vec(),
    };
    let (items, _) = parse_page::<T>(endpoint, &answer, limits)?;
    check_list(&items).map_err(|detail| VcfError::Parse {
        endpoint: endpoint.to_owned(),
        detail,
    })?;
    Ok(items)
}

/// [`parse_list`] without the whole-list check, keeping the page information.
fn parse_page<T: DeserializeOwned + Checked>(
    endpoint: &str,
    answer: &Answer,
    limits: &AnswerLimits,
) -> Result<(Vec<T>, Option<PageMetadata>)> {
    let page: PageOf<T> = decode_within(endpoint, answer, limits)?;
    let refused = |detail: String| VcfError::Parse {
        endpoint: endpoint.to_owned(),
        detail,
    };
    if let Some(meta) = &page.page_metadata {
        if let Some(pages) = meta
            .total_pages
            .filter(|p| *p > i64::from(limits.max_pages))
        {
            return Err(refused(format!(
                "pageMetadata.totalPages is {pages}: more than the {} pages followed for {}; \
                 answer not used",
                limits.max_pages, limits.kind
            )));
        }
        if let Some(total) = meta
            .total_elements
            .filter(|t| *t > limits.max_elements as i64)
        {
            return Err(refused(format!(
                "pageMetadata.totalElements is {total}: more than {} elements (the limit for \
                 {}); answer not used",
                limits.max_elements, limits.kind
            )));
        }
    }
    Ok((page.elements, page.page_metadata))
}

/// Checks every element of a list ([`Checked`]): each carries what identifies it, and no id
/// appears twice. The message names the element and the field.
pub(crate) fn check_list<T: Checked>(items: &[T]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        if let Some(field) = item.missing() {
            return Err(format!(
                "elements[{i}]: {} without `{field}`; answer not used",
                T::WHAT
            ));
        }
        if let Some(key) = item.key() {
            if !seen.insert(key) {
                return Err(format!(
                    "elements[{i}]: {} `{}` {key:?} appears twice; answer not used",
                    T::WHAT,
                    T::KEY
                ));
            }
        }
    }
    Ok(())
}

// === impl VcfClient ===

impl VcfClient {
    /// Builds a client; no network traffic until the first call.
    ///
    /// # Errors
    /// [`VcfError::Config`] for a bad base URL, an unreadable CA file, or a malformed pin.
    pub fn new(cfg: ClientConfig) -> Result<Self> {
        Self::with_clock(cfg, Arc::new(SystemClock))
    }

    /// Like [`VcfClient::new`], with the clock used for token-expiry decisions (tests).
    ///
    /// # Errors
    /// As [`VcfClient::new`].
    pub fn with_clock(cfg: ClientConfig, clock: Arc<dyn Clock>) -> Result<Self> {
        let base_url = cfg.base_url.trim().trim_end_matches('/').to_owned();
        let parsed = reqwest::Url::parse(&base_url)
            .map_err(|e| VcfError::Config(format!("base_url {base_url:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(VcfError::Config(format!(
                "base_url {base_url:?}: expected http(s)://host[:port]"
            )));
        }
        if parsed.path() != "/" && !parsed.path().is_empty() {
            return Err(VcfError::Config(format!(
                "base_url {base_url:?}: must not contain a path"
            )));
        }
        if cfg.request_timeout.is_zero() {
            return Err(VcfError::Config("request_timeout must be positive".into()));
        }
        if cfg.retry.max_attempts == 0 {
            return Err(VcfError::Config("retry.max_attempts must be >= 1".into()));
        }
        let http = http_client(&cfg.tls, cfg.request_timeout)?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base_url,
                username: cfg.username,
                password: cfg.password,
                retry: cfg.retry,
                observer: cfg.observer,
                clock,
                tokens: TokenCell::default(),
                login_backoff: cfg.login_backoff,
                sddc_version: std::sync::RwLock::new(None),
            }),
        })
    }

    /// Logs in now (`POST /v1/tokens`), replacing any current token.
    ///
    /// # Errors
    /// [`VcfError::Auth`] for refused credentials; transport errors as usual.
    ///
    /// The SDDC Manager's version is read right after (see [`VcfClient::sddc_manager_version`]);
    /// failing to read it does not fail the login.
    pub async fn login(&self) -> Result<()> {
        self.inner.force_login().await?;
        if let Err(e) = self.detect_sddc_manager_version().await {
            tracing::debug!(error = %e, "SDDC Manager version not read at login");
        }
        Ok(())
    }

    /// Reads the SDDC Manager's version (`GET /v1/sddc-managers`, the first entry with a
    /// version) and remembers it; logs it (at info) when it is new or changed.
    ///
    /// # Errors
    /// Any [`VcfError`] class of the request.
    pub async fn detect_sddc_manager_version(&self) -> Result<Option<String>> {
        let managers = self.sddc_managers().await?;
        let found = managers
            .iter()
            .find_map(|m| m.version.clone().filter(|v| !v.is_empty()));
        let mut known = self
            .inner
            .sddc_version
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if found.is_some() && *known != found {
            tracing::info!(
                version = found.as_deref().unwrap_or_default(),
                "SDDC Manager version"
            );
        }
        if found.is_some() {
            known.clone_from(&found);
        }
        Ok(found)
    }

    /// The SDDC Manager's version with build (`9.0.1.0-24962180`) as last read, if known.
    pub fn sddc_manager_version(&self) -> Option<String> {
        self.inner
            .sddc_version
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// The major VCF version of the SDDC Manager (5, 9, ...), if known.
    pub fn sddc_manager_major(&self) -> Option<u64> {
        self.sddc_manager_version()
            .and_then(|v| v.parse::<crate::VcfVersion>().ok())
            .map(|v| v.major())
    }

    /// True when the SDDC Manager is known to run `major.minor` or later (false while its
    /// version is unknown).
    pub fn sddc_manager_at_least(&self, major: u64, minor: u64) -> bool {
        self.sddc_manager_version()
            .and_then(|v| v.parse::<crate::VcfVersion>().ok())
            .is_some_and(|v| {
                let [a, b, ..] = v.parts();
                (a, b) >= (major, minor)
            })
    }

    /// Expiry of the current access token on the local clock, if logged in and the token
    /// carries `exp` (equal to `exp` unless the SDDC Manager clock is off by over a minute).
    pub fn token_expires_at(&self) -> Option<DateTime<Utc>> {
        self.inner.tokens.current().and_then(|t| t.expires_at)
    }

    /// The last authentication failure (a refused login, or a token refused as not a JWT with
    /// an expiry), if any; kept after recovery so it can be shown.
    pub fn last_auth_failure(&self) -> Option<crate::AuthFailure> {
        self.inner.tokens.last_failure()
    }

    /// When the current access token was obtained (login or refresh), on our clock.
    pub fn token_obtained_at(&self) -> Option<DateTime<Utc>> {
        self.inner.tokens.current().map(|t| t.obtained_at)
    }

    /// The base URL, without trailing slash.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Serves one raw HTTP/1.1 answer (`head` then `body` pieces) to the first request on a
    /// local port; returns its URL.
    async fn serve_once(head: &'static str, pieces: Vec<Vec<u8>>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("accept");
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            let _ = socket.write_all(head.as_bytes()).await;
            for piece in pieces {
                let _ = socket.write_all(&piece).await;
                let _ = socket.flush().await;
            }
            let _ = socket.shutdown().await;
        });
        format!("http://{addr}/")
    }

    fn chunked(parts: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = parts
            .iter()
            .map(|p| {
                let mut v = format!("{:x}\r\n", p.len()).into_bytes();
                v.extend_from_slice(p);
                v.extend_from_slice(b"\r\n");
                v
            })
            .collect();
        out.push(b"0\r\n\r\n".to_vec());
        out
    }

    /// Serves one raw answer and reads its body with `limit`.
    async fn read_served(
        head: &'static str,
        pieces: Vec<Vec<u8>>,
        limit: usize,
    ) -> Result<Vec<u8>, BodyError> {
        let url = serve_once(head, pieces).await;
        let response = reqwest::get(url).await.expect("answer");
        read_body(response, limit).await
    }

    #[tokio::test]
    async fn a_chunked_body_is_read_whole() {
        let body = read_served(
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
            chunked(&[b"{\"elements\":", &[b' '; 3000], b"[]}"]),
            1 << 20,
        )
        .await
        .expect("body");
        assert_eq!(body.len(), 12 + 3000 + 3);
        assert!(body.starts_with(b"{\"elements\":") && body.ends_with(b"[]}"));
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_refused() {
        // Declared too large: refused before reading.
        let err = read_served(
            "HTTP/1.1 200 OK\r\ncontent-length: 5000\r\n\r\n",
            vec![vec![b'x'; 5000]],
            4096,
        )
        .await
        .expect_err("too large");
        assert!(
            matches!(err, BodyError::TooLarge { limit: 4096, .. }),
            "{err:?}"
        );
        // Chunked (no length): refused once the chunks pass the limit.
        let err = read_served(
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
            chunked(&[&[b'x'; 3000], &[b'x'; 3000]]),
            4096,
        )
        .await
        .expect_err("too large");
        assert!(
            matches!(err, BodyError::TooLarge { limit: 4096, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn debug_output_never_shows_the_password() {
        let cfg = ClientConfig::new("https://sddc.example", "admin@local", "hunter2-secret");
        let text = format!("{cfg:?}");
        assert!(!text.contains("hunter2-secret"), "{text}");
        assert!(text.contains("admin@local"));
        let client = VcfClient::new(cfg).expect("client");
        assert!(!format!("{client:?}").contains("hunter2-secret"));
        assert!(client.token_obtained_at().is_none());
    }
}
