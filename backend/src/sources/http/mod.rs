//! Behaviour every forge client shares: required headers, timeouts, bounded retries with
//! jittered backoff, a cap on response size, conditional requests against a stored
//! [`HttpCacheEntry`], `link` pagination headers, and the rate-limit rules GitHub
//! documents (primary budget with a reserve, `retry-after`, secondary-limit backoff).
//!
//! One [`HttpClient`] serves a whole run: its semaphore bounds the requests in flight
//! across every organisation, and its rate-limit state is shared by all of them.
//! `budget.rs` keeps that state, `links.rs` reads pagination, `headers.rs` the rest.

mod budget;
mod headers;
mod links;

use self::budget::Budget;
pub(crate) use self::headers::error_chain as error_chain_of;
use self::headers::{
    error_chain, error_message, header_text, jitter, malformed, reset_note, retry_after,
};
pub(crate) use self::links::Links;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use reqwest::header::{HeaderMap, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::domain::HttpCacheEntry;
use crate::metrics::Metrics;

/// How patient and how careful a client is. Every duration is configurable so tests can
/// shorten GitHub's minutes to milliseconds.
#[derive(Debug, Clone)]
pub struct HttpPolicy {
    /// Limit for one request, body included.
    pub timeout: Duration,
    /// Further tries after a connection error, timeout, 5xx or unreadable body.
    pub retries: u32,
    /// First backoff after a transient failure; doubles each try, with jitter.
    pub retry_base: Duration,
    /// Larger bodies are refused.
    pub max_body_bytes: usize,
    /// Upstream requests in flight at once.
    pub concurrency: usize,
    /// Budget left unused.
    pub rate_limit_reserve: u64,
    /// Longest wait for a rate-limit reset (or a `retry-after`) before giving up the run.
    pub rate_limit_max_wait: Duration,
    /// First wait after a secondary limit without `retry-after`; doubles each try.
    pub secondary_wait: Duration,
    /// Tries after a secondary limit before giving up the run.
    pub secondary_retries: u32,
    /// Longest wait for a report the forge generates on request (GitHub's SBOM export)
    /// before that repository's report is given up for this run.
    pub report_wait: Duration,
    /// First wait between polls of a report being generated, when the forge gives no
    /// `retry-after`; doubles each poll, up to 30 s.
    pub report_poll: Duration,
}

impl Default for HttpPolicy {
    fn default() -> Self {
        HttpPolicy {
            timeout: Duration::from_secs(30),
            retries: 4,
            retry_base: Duration::from_millis(500),
            max_body_bytes: 64 << 20,
            concurrency: 4,
            rate_limit_reserve: 5,
            rate_limit_max_wait: Duration::from_secs(300),
            secondary_wait: Duration::from_secs(60),
            secondary_retries: 3,
            report_wait: Duration::from_secs(600),
            report_poll: Duration::from_secs(2),
        }
    }
}

/// Why a request did not produce a usable answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SourceError {
    #[error("not found upstream ({url})")]
    NotFound { url: String },
    #[error("rate limit reached{}", reset_note(*.reset_at))]
    RateLimited { reset_at: Option<u64> },
    #[error("upstream answered {status} for {url}: {message}")]
    Status {
        status: u16,
        url: String,
        message: String,
    },
    #[error("upstream did not answer within {seconds}s ({url})")]
    Timeout { url: String, seconds: u64 },
    #[error("could not reach upstream ({url}): {detail}")]
    Connect { url: String, detail: String },
    #[error("upstream body larger than {limit} bytes ({url})")]
    TooLarge { url: String, limit: usize },
    #[error("upstream sent an unreadable answer ({url}): {detail}")]
    Malformed { url: String, detail: String },
    #[error("stopped before it finished: orgpulse is shutting down")]
    Interrupted,
    /// The forge's authentication could not be set up (a GitHub App's key, id or
    /// installation): says which setting, never a secret.
    #[error("{message}")]
    Auth { message: String },
}

/// Request counters for one organisation (or any unit of work), shared across tasks.
#[derive(Debug, Default)]
pub struct Tally {
    requests: AtomicU64,
    not_modified: AtomicU64,
    retries: AtomicU64,
    /// GraphQL points spent (each query's `rateLimit.cost`).
    points: AtomicU64,
}

impl Tally {
    pub(crate) fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
    pub(crate) fn not_modified(&self) -> u64 {
        self.not_modified.load(Ordering::Relaxed)
    }
    pub(crate) fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }
    pub(crate) fn points(&self) -> u64 {
        self.points.load(Ordering::Relaxed)
    }
    pub(crate) fn add_points(&self, points: u64) {
        self.points.fetch_add(points, Ordering::Relaxed);
    }
}

/// A decoded answer, or the stored one when upstream said `304 Not Modified`.
#[derive(Debug)]
pub struct Cached<T> {
    pub value: T,
    /// The entry to store for next time, when the answer was new and carried validators.
    pub entry: Option<HttpCacheEntry>,
    pub not_modified: bool,
}

/// What a decoder gets besides the body.
#[derive(Debug)]
pub(crate) struct Meta<'a> {
    pub url: &'a Url,
    pub links: Links,
    pub headers: &'a HeaderMap,
}

impl Meta<'_> {
    /// A header read as a number; absent, empty or not a number is `None`.
    pub(crate) fn number(&self, name: &str) -> Option<u64> {
        headers::header_u64(self.headers, name)
    }
}

/// A request for [`HttpClient::send`].
#[derive(Debug, Clone)]
pub(crate) struct Outgoing<'a> {
    pub method: reqwest::Method,
    pub url: &'a Url,
    /// A JSON body, sent with `content-type: application/json`.
    pub body: Option<&'a [u8]>,
    /// Follow redirects (`false`: a 3xx is the answer).
    pub follow_redirects: bool,
    /// Retry 5xx like a connection error (`false`: a 5xx is the answer, e.g. for a
    /// GraphQL batch that is better split than asked again).
    pub retry_server_errors: bool,
    /// Whether a successful body says the rate limit was reached (GraphQL answers its
    /// primary limit with 200, an error and `x-ratelimit-remaining: 0`).
    pub limited: Option<fn(&[u8]) -> bool>,
    /// An `Authorization` for this request alone (a GitHub App's JWT), marked sensitive.
    pub authorization: Option<reqwest::header::HeaderValue>,
}

impl<'a> Outgoing<'a> {
    /// A plain `GET` of `url`, redirects followed, 5xx retried.
    pub(crate) fn get(url: &'a Url) -> Self {
        Outgoing {
            method: reqwest::Method::GET,
            url,
            body: None,
            follow_redirects: true,
            retry_server_errors: true,
            limited: None,
            authorization: None,
        }
    }
}

/// An answer of [`HttpClient::send`], body read (within the size limit).
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    /// The `retry-after` advice, in seconds or as a date.
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        retry_after(&self.headers)
    }

    /// Where a redirect points, resolved against the URL that was asked.
    pub(crate) fn location(&self, asked: &Url) -> Option<Url> {
        let location = header_text(&self.headers, reqwest::header::LOCATION)?;
        asked.join(&location).ok()
    }

    /// The error body's `message`, or the start of the body as text.
    pub(crate) fn message(&self) -> String {
        error_message(&self.body)
    }

    /// The upstream error this answer is, for a status the caller did not expect.
    pub(crate) fn unexpected(&self, url: &Url) -> SourceError {
        SourceError::Status {
            status: self.status.as_u16(),
            url: url.to_string(),
            message: error_message(&self.body),
        }
    }
}

enum Attempt<T> {
    Done(T),
    /// Try again after this wait (counts against the transient-retry budget).
    Transient(SourceError, Duration),
    /// Try again after a rate-limit wait (counts against the secondary budget); `None`
    /// when upstream gave no advice and the policy's doubling backoff applies.
    Limited(Option<Duration>),
}

/// An HTTP client for one forge, shared by every task of a run.
#[derive(Debug)]
pub struct HttpClient {
    client: reqwest::Client,
    /// The same client, but answering a redirect instead of following it (a redirect to
    /// a place the caller must reach differently, e.g. without credentials).
    no_redirect: reqwest::Client,
    policy: HttpPolicy,
    permits: Semaphore,
    /// Taken in addition to a permit while the budget is low: one request at a time.
    low_budget_gate: Semaphore,
    budget: Mutex<Budget>,
    /// Once cancelled, nothing more is sent and requests under way are abandoned.
    cancel: CancellationToken,
    metrics: Arc<Metrics>,
    /// Remember a hash of bodies that come without validators (see [`Self::hashing_bodies`]).
    hash_bodies: bool,
}

impl HttpClient {
    /// Builds a client sending `headers` on every request, until `cancel` fires; upstream
    /// answers are counted in `metrics`.
    pub(crate) fn new(
        policy: HttpPolicy,
        headers: HeaderMap,
        cancel: CancellationToken,
        metrics: Arc<Metrics>,
    ) -> Result<Self, SourceError> {
        let build = |redirect| {
            reqwest::Client::builder()
                .default_headers(headers.clone())
                .timeout(policy.timeout)
                .connect_timeout(policy.timeout.min(Duration::from_secs(10)))
                .redirect(redirect)
                .build()
                .map_err(|e| SourceError::Connect {
                    url: String::new(),
                    detail: format!("could not build the HTTP client: {e}"),
                })
        };
        Ok(HttpClient {
            client: build(reqwest::redirect::Policy::limited(10))?,
            no_redirect: build(reqwest::redirect::Policy::none())?,
            permits: Semaphore::new(policy.concurrency.max(1)),
            low_budget_gate: Semaphore::new(1),
            budget: Mutex::new(Budget::default()),
            cancel,
            policy,
            metrics,
            hash_bodies: false,
        })
    }

    /// For forges that send no `ETag` on listings (Gitea, Forgejo): answers without
    /// validators are stored with the SHA-256 of their body, and a later body with the same
    /// hash reuses the stored payload, not decoded again and not written again. It is
    /// counted with the 304s as unchanged.
    pub(crate) fn hashing_bodies(mut self) -> Self {
        self.hash_bodies = true;
        self
    }

    /// Fetches `url` and decodes it; with a `prior` entry, asks conditionally and reuses
    /// its payload on `304`. Returns `Ok(None)` for statuses `absent` lists (e.g. 404 on
    /// an optional resource).
    pub(crate) async fn get_cached<T, D>(
        &self,
        url: &Url,
        prior: Option<&HttpCacheEntry>,
        tally: &Tally,
        absent: &[StatusCode],
        decode: D,
    ) -> Result<Option<Cached<T>>, SourceError>
    where
        T: Serialize + DeserializeOwned,
        D: Fn(&[u8], &Meta<'_>) -> Result<T, String>,
    {
        // A stored payload that no longer decodes (written by another version) is useless:
        // ask unconditionally then.
        let prior = prior.filter(|p| serde_json::from_value::<T>(p.payload.clone()).is_ok());
        self.with_retries(url, tally, || {
            self.attempt(url, prior, tally, absent, &decode)
        })
        .await
    }

    /// Sends one request that is not a cached GET (a GraphQL `POST`, or a `GET` whose
    /// redirect the caller follows itself) under the same permits, budget, rate-limit rules
    /// and bounded retries as [`Self::get_cached`], and returns the first answer that is
    /// not to be retried, whatever its status.
    pub(crate) async fn send(
        &self,
        request: &Outgoing<'_>,
        tally: &Tally,
    ) -> Result<Answer, SourceError> {
        self.with_retries(request.url, tally, || self.attempt_send(request, tally))
            .await
    }

    /// Runs `attempt` until it is done: transient failures are retried with doubling,
    /// jittered waits, rate limits waited out, both within the policy's bounds.
    async fn with_retries<T, F, A>(
        &self,
        url: &Url,
        tally: &Tally,
        attempt: F,
    ) -> Result<T, SourceError>
    where
        F: Fn() -> A,
        A: std::future::Future<Output = Result<Attempt<T>, SourceError>>,
    {
        let mut transient = 0u32;
        let mut limited = 0u32;
        loop {
            if self.cancel.is_cancelled() {
                return Err(SourceError::Interrupted);
            }
            let attempt = tokio::select! {
                attempt = attempt() => attempt,
                () = self.cancel.cancelled() => return Err(SourceError::Interrupted),
            };
            match attempt {
                Ok(Attempt::Done(done)) => return Ok(done),
                Ok(Attempt::Transient(err, wait)) => {
                    if transient >= self.policy.retries {
                        return Err(err);
                    }
                    transient += 1;
                    tally.retries.fetch_add(1, Ordering::Relaxed);
                    let backoff =
                        jitter(self.policy.retry_base * 2u32.saturating_pow(transient - 1));
                    tracing::debug!(%url, error = %err, attempt = transient, "retrying");
                    self.sleep(backoff.max(wait)).await?;
                }
                Ok(Attempt::Limited(advice)) => {
                    let wait =
                        advice.unwrap_or(self.policy.secondary_wait * 2u32.saturating_pow(limited));
                    if limited >= self.policy.secondary_retries
                        || wait > self.policy.rate_limit_max_wait
                    {
                        return Err(self.exhaust(None));
                    }
                    limited += 1;
                    tally.retries.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(%url, wait_ms = wait.as_millis() as u64, "rate limited upstream; waiting");
                    self.pause_for(wait);
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// Waits for the budget and takes a request permit (and, while the budget is low, the
    /// one-at-a-time gate); the request may go once this returns.
    async fn admit(
        &self,
    ) -> Result<
        (
            tokio::sync::SemaphorePermit<'_>,
            Option<tokio::sync::SemaphorePermit<'_>>,
        ),
        SourceError,
    > {
        self.wait_for_budget().await?;
        let permit = self
            .permits
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let gate = if self.budget_is_low() {
            Some(
                self.low_budget_gate
                    .acquire()
                    .await
                    .expect("the semaphore is never closed"),
            )
        } else {
            None
        };
        // Another task may have hit a limit while this one queued for a permit.
        self.wait_for_budget().await?;
        Ok((permit, gate))
    }

    async fn attempt_send(
        &self,
        request: &Outgoing<'_>,
        tally: &Tally,
    ) -> Result<Attempt<Answer>, SourceError> {
        let url = request.url;
        let _admitted = self.admit().await?;
        let client = if request.follow_redirects {
            &self.client
        } else {
            &self.no_redirect
        };
        let mut builder = client.request(request.method.clone(), url.clone());
        if let Some(authorization) = &request.authorization {
            builder = builder.header(reqwest::header::AUTHORIZATION, authorization.clone());
        }
        if let Some(body) = request.body {
            builder = builder
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_vec());
        }
        let response = match self.dispatch(builder, url, tally).await {
            Ok(response) => response,
            Err(e) => return Ok(Attempt::Transient(e, Duration::ZERO)),
        };
        let status = response.status();
        let headers = response.headers().clone();
        let body = match self.read_body(url, response).await {
            Ok(body) => body,
            Err(err @ SourceError::TooLarge { .. }) => return Err(err),
            Err(err) => return Ok(Attempt::Transient(err, Duration::ZERO)),
        };
        let limited_in_body = status.is_success()
            && request.limited.is_some_and(|says| says(&body))
            && headers::header_u64(&headers, "x-ratelimit-remaining") == Some(0);
        if limited_in_body
            || matches!(
                status,
                StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS
            )
        {
            let message = error_message(&body);
            if let Some(wait) = self.rate_limit_wait(status, &headers, &message)? {
                return Ok(Attempt::Limited(wait));
            }
        }
        if status.is_server_error() && request.retry_server_errors {
            let wait = retry_after(&headers).unwrap_or(Duration::ZERO);
            let err = SourceError::Status {
                status: status.as_u16(),
                url: url.to_string(),
                message: error_message(&body),
            };
            return Ok(Attempt::Transient(err, wait));
        }
        Ok(Attempt::Done(Answer {
            status,
            headers,
            body,
        }))
    }

    async fn attempt<T, D>(
        &self,
        url: &Url,
        prior: Option<&HttpCacheEntry>,
        tally: &Tally,
        absent: &[StatusCode],
        decode: &D,
    ) -> Result<Attempt<Option<Cached<T>>>, SourceError>
    where
        T: Serialize + DeserializeOwned,
        D: Fn(&[u8], &Meta<'_>) -> Result<T, String>,
    {
        let _admitted = self.admit().await?;
        let mut request = self.client.get(url.clone());
        if let Some(prior) = prior {
            if let Some(etag) = &prior.etag {
                request = request.header(IF_NONE_MATCH, etag);
            }
            if let Some(modified) = &prior.last_modified {
                request = request.header(IF_MODIFIED_SINCE, modified);
            }
        }
        let response = match self.dispatch(request, url, tally).await {
            Ok(response) => response,
            Err(e) => return Ok(Attempt::Transient(e, Duration::ZERO)),
        };
        let status = response.status();
        let headers = response.headers().clone();

        if status == StatusCode::NOT_MODIFIED {
            if let Some(prior) = prior {
                tally.not_modified.fetch_add(1, Ordering::Relaxed);
                let value = serde_json::from_value(prior.payload.clone())
                    .map_err(|e| malformed(url, e.to_string()))?;
                return Ok(Attempt::Done(Some(Cached {
                    value,
                    entry: None,
                    not_modified: true,
                })));
            }
            return Err(SourceError::Status {
                status: 304,
                url: url.to_string(),
                message: "Not Modified for an unconditional request".into(),
            });
        }
        if status.is_success() {
            let body = match self.read_body(url, response).await {
                Ok(body) => body,
                Err(err @ SourceError::TooLarge { .. }) => return Err(err),
                Err(err) => return Ok(Attempt::Transient(err, Duration::ZERO)),
            };
            let hash = self.hash_bodies.then(|| content_hash(&body));
            if let Some(prior) =
                prior.filter(|p| p.content_hash.is_some() && p.content_hash == hash)
            {
                if let Ok(value) = serde_json::from_value(prior.payload.clone()) {
                    tally.not_modified.fetch_add(1, Ordering::Relaxed);
                    return Ok(Attempt::Done(Some(Cached {
                        value,
                        entry: None,
                        not_modified: true,
                    })));
                }
            }
            let links = headers
                .get(reqwest::header::LINK)
                .and_then(|v| v.to_str().ok())
                .map(|v| Links::parse(v, url))
                .unwrap_or_default();
            let meta = Meta {
                url,
                links,
                headers: &headers,
            };
            let value = match decode(&body, &meta) {
                Ok(value) => value,
                // A cut-off or garbled body is worth another try; it usually is transient.
                Err(detail) => {
                    return Ok(Attempt::Transient(malformed(url, detail), Duration::ZERO))
                }
            };
            let etag = header_text(&headers, ETAG);
            let last_modified = header_text(&headers, LAST_MODIFIED);
            let entry = if etag.is_some() || last_modified.is_some() || hash.is_some() {
                let payload =
                    serde_json::to_value(&value).map_err(|e| malformed(url, e.to_string()))?;
                let validated = etag.is_some() || last_modified.is_some();
                Some(HttpCacheEntry {
                    url: url.to_string(),
                    etag,
                    last_modified,
                    payload,
                    stored_at: Utc::now(),
                    content_hash: if validated { None } else { hash },
                })
            } else {
                None
            };
            return Ok(Attempt::Done(Some(Cached {
                value,
                entry,
                not_modified: false,
            })));
        }

        let body = self.read_body(url, response).await.unwrap_or_default();
        let message = error_message(&body);
        if matches!(
            status,
            StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS
        ) {
            if let Some(wait) = self.rate_limit_wait(status, &headers, &message)? {
                return Ok(Attempt::Limited(wait));
            }
        }
        if absent.contains(&status) {
            return Ok(Attempt::Done(None));
        }
        if status == StatusCode::NOT_FOUND {
            return Err(SourceError::NotFound {
                url: url.to_string(),
            });
        }
        let err = SourceError::Status {
            status: status.as_u16(),
            url: url.to_string(),
            message,
        };
        if status.is_server_error() {
            let wait = retry_after(&headers).unwrap_or(Duration::ZERO);
            return Ok(Attempt::Transient(err, wait));
        }
        Err(err)
    }

    /// Sends one request: counts it, and records the answer's status and rate-limit
    /// headers. A transport failure comes back as the error to retry.
    async fn dispatch(
        &self,
        request: reqwest::RequestBuilder,
        url: &Url,
        tally: &Tally,
    ) -> Result<reqwest::Response, SourceError> {
        tally.requests.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                self.metrics.upstream_response(Some(status));
                self.observe(response.headers());
                tracing::debug!(%url, status, duration_ms = started.elapsed().as_millis() as u64, "upstream");
                Ok(response)
            }
            Err(e) => {
                self.metrics.upstream_response(None);
                Err(self.transport_error(url, &e))
            }
        }
    }

    /// Sleeps, unless the client is cancelled first.
    pub(crate) async fn sleep(&self, wait: Duration) -> Result<(), SourceError> {
        tokio::select! {
            () = tokio::time::sleep(wait) => Ok(()),
            () = self.cancel.cancelled() => Err(SourceError::Interrupted),
        }
    }

    async fn read_body(
        &self,
        url: &Url,
        mut response: reqwest::Response,
    ) -> Result<Vec<u8>, SourceError> {
        let limit = self.policy.max_body_bytes;
        if response
            .content_length()
            .is_some_and(|len| len > limit as u64)
        {
            return Err(SourceError::TooLarge {
                url: url.to_string(),
                limit,
            });
        }
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > limit {
                        return Err(SourceError::TooLarge {
                            url: url.to_string(),
                            limit,
                        });
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => return Ok(body),
                Err(e) => return Err(self.transport_error(url, &e)),
            }
        }
    }

    fn transport_error(&self, url: &Url, e: &reqwest::Error) -> SourceError {
        if e.is_timeout() {
            SourceError::Timeout {
                url: url.to_string(),
                seconds: self.policy.timeout.as_secs().max(1),
            }
        } else {
            SourceError::Connect {
                url: url.to_string(),
                detail: error_chain(e),
            }
        }
    }
}

/// The hex SHA-256 of a body.
fn content_hash(body: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(body);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_github_link_headers() {
        let base = Url::parse("https://api.github.com/orgs/x/repos?per_page=100").expect("url");
        let header = r#"<https://api.github.com/organizations/9/repos?per_page=100&page=2>; rel="next", <https://api.github.com/organizations/9/repos?per_page=100&page=7>; rel="last""#;
        let links = Links::parse(header, &base);
        assert_eq!(
            links.next.expect("next").as_str(),
            "https://api.github.com/organizations/9/repos?per_page=100&page=2"
        );
        assert_eq!(
            links.last.expect("last").query(),
            Some("per_page=100&page=7")
        );
        let rel = Links::parse(r#"</x?page=3>; rel="prev next""#, &base);
        assert_eq!(
            rel.next.expect("next").as_str(),
            "https://api.github.com/x?page=3"
        );
        assert_eq!(Links::parse("garbage", &base), Links::default());
    }

    #[test]
    fn error_messages_come_from_json_or_text() {
        assert_eq!(
            error_message(br#"{"message":"Not Found","documentation_url":"x"}"#),
            "Not Found"
        );
        assert_eq!(error_message(b"  bad gateway "), "bad gateway");
    }
}
