//! Behaviour every forge client shares: required headers, timeouts, bounded retries with
//! jittered backoff, a cap on response size, conditional requests against a stored
//! [`HttpCacheEntry`], `link` pagination headers, and the rate-limit rules GitHub
//! documents (primary budget with a reserve, `retry-after`, secondary-limit backoff).
//!
//! One [`HttpClient`] serves a whole run: its semaphore bounds the requests in flight
//! across every organisation, and its rate-limit state is shared by all of them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::Utc;
use reqwest::header::{
    HeaderMap, HeaderValue, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
};
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
}

fn reset_note(reset_at: Option<u64>) -> String {
    match reset_at.and_then(|t| chrono::DateTime::from_timestamp(i64::try_from(t).ok()?, 0)) {
        Some(t) => format!("; the budget resets at {}", t.format("%H:%M:%S UTC")),
        None => String::new(),
    }
}

/// Request counters for one organisation (or any unit of work), shared across tasks.
#[derive(Debug, Default)]
pub struct Tally {
    requests: AtomicU64,
    not_modified: AtomicU64,
    retries: AtomicU64,
}

impl Tally {
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
    pub fn not_modified(&self) -> u64 {
        self.not_modified.load(Ordering::Relaxed)
    }
    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }
}

/// `link` header relations that pagination uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Links {
    pub next: Option<Url>,
    pub last: Option<Url>,
}

impl Links {
    /// Parses an RFC 8288 `link` header, resolving relative targets against `base`.
    pub fn parse(header: &str, base: &Url) -> Links {
        let mut links = Links::default();
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let Some(target) = pieces.next().map(str::trim) else {
                continue;
            };
            let Some(target) = target.strip_prefix('<').and_then(|t| t.strip_suffix('>')) else {
                continue;
            };
            let Ok(url) = base.join(target) else { continue };
            for param in pieces {
                let Some((key, value)) = param.split_once('=') else {
                    continue;
                };
                if !key.trim().eq_ignore_ascii_case("rel") {
                    continue;
                }
                for rel in value.trim().trim_matches('"').split_ascii_whitespace() {
                    match rel {
                        "next" => links.next = Some(url.clone()),
                        "last" => links.last = Some(url.clone()),
                        _ => {}
                    }
                }
            }
        }
        links
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
pub struct Meta<'a> {
    pub url: &'a Url,
    pub links: Links,
}

#[derive(Debug, Default)]
struct Budget {
    limit: Option<u64>,
    remaining: Option<u64>,
    /// UTC epoch seconds.
    reset: Option<u64>,
    /// Nothing is sent before this instant (a rate-limit wait every task honours).
    paused_until: Option<Instant>,
    /// Set once the run must stop fetching: every later request fails at once.
    exhausted: Option<Option<u64>>,
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
    policy: HttpPolicy,
    permits: Semaphore,
    /// Taken in addition to a permit while the budget is low: one request at a time.
    low_budget_gate: Semaphore,
    budget: Mutex<Budget>,
    /// Once cancelled, nothing more is sent and requests under way are abandoned.
    cancel: CancellationToken,
    metrics: Arc<Metrics>,
}

impl HttpClient {
    /// Builds a client sending `headers` on every request, until `cancel` fires; upstream
    /// answers are counted in `metrics`.
    pub fn new(
        policy: HttpPolicy,
        headers: HeaderMap,
        cancel: CancellationToken,
        metrics: Arc<Metrics>,
    ) -> Result<Self, SourceError> {
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(policy.timeout)
            .connect_timeout(policy.timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::limited(10))
            .build()
            .map_err(|e| SourceError::Connect {
                url: String::new(),
                detail: format!("could not build the HTTP client: {e}"),
            })?;
        Ok(HttpClient {
            client,
            permits: Semaphore::new(policy.concurrency.max(1)),
            low_budget_gate: Semaphore::new(1),
            budget: Mutex::new(Budget::default()),
            cancel,
            policy,
            metrics,
        })
    }

    /// The budget left, as the forge last reported it.
    pub fn rate_limit_remaining(&self) -> Option<u64> {
        self.lock_budget().remaining
    }

    /// Fetches `url` and decodes it; with a `prior` entry, asks conditionally and reuses
    /// its payload on `304`. Returns `Ok(None)` for statuses `absent` lists (e.g. 404 on
    /// an optional resource).
    pub async fn get_cached<T, D>(
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
        let mut transient = 0u32;
        let mut limited = 0u32;
        loop {
            if self.cancel.is_cancelled() {
                return Err(SourceError::Interrupted);
            }
            let attempt = tokio::select! {
                attempt = self.attempt(url, prior, tally, absent, &decode) => attempt,
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
        self.wait_for_budget().await?;
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let _gate = if self.budget_is_low() {
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

        let mut request = self.client.get(url.clone());
        if let Some(prior) = prior {
            if let Some(etag) = &prior.etag {
                request = request.header(IF_NONE_MATCH, etag);
            }
            if let Some(modified) = &prior.last_modified {
                request = request.header(IF_MODIFIED_SINCE, modified);
            }
        }
        tally.requests.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                self.metrics.upstream_response(None);
                return Ok(Attempt::Transient(
                    self.transport_error(url, &e),
                    Duration::ZERO,
                ));
            }
        };
        let status = response.status();
        self.metrics.upstream_response(Some(status.as_u16()));
        let headers = response.headers().clone();
        self.observe(&headers);
        tracing::debug!(%url, status = status.as_u16(), duration_ms = started.elapsed().as_millis() as u64, "upstream");

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
            let links = headers
                .get(reqwest::header::LINK)
                .and_then(|v| v.to_str().ok())
                .map(|v| Links::parse(v, url))
                .unwrap_or_default();
            let meta = Meta { url, links };
            let value = match decode(&body, &meta) {
                Ok(value) => value,
                // A cut-off or garbled body is worth another try; it usually is transient.
                Err(detail) => {
                    return Ok(Attempt::Transient(malformed(url, detail), Duration::ZERO))
                }
            };
            let etag = header_text(&headers, ETAG);
            let last_modified = header_text(&headers, LAST_MODIFIED);
            let entry = if etag.is_some() || last_modified.is_some() {
                let payload =
                    serde_json::to_value(&value).map_err(|e| malformed(url, e.to_string()))?;
                Some(HttpCacheEntry {
                    url: url.to_string(),
                    etag,
                    last_modified,
                    payload,
                    stored_at: Utc::now(),
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

    /// Decides whether a 403/429 is a rate limit and how long to wait before trying again:
    /// `Ok(None)` for an ordinary refusal, `Ok(Some(None))` for a limit without advice,
    /// `Err` when the run must stop fetching.
    fn rate_limit_wait(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        message: &str,
    ) -> Result<Option<Option<Duration>>, SourceError> {
        if let Some(wait) = retry_after(headers) {
            return Ok(Some(Some(wait)));
        }
        if header_u64(headers, "x-ratelimit-remaining") == Some(0) {
            let reset = header_u64(headers, "x-ratelimit-reset");
            let wait = reset
                .map(until_epoch)
                .unwrap_or(self.policy.rate_limit_max_wait + Duration::from_secs(1));
            if wait > self.policy.rate_limit_max_wait {
                return Err(self.exhaust(reset));
            }
            return Ok(Some(Some(wait + Duration::from_secs(1))));
        }
        let says_limit = message.to_ascii_lowercase().contains("rate limit");
        if status == StatusCode::TOO_MANY_REQUESTS || says_limit {
            // A secondary limit without advice: the policy's doubling backoff.
            return Ok(Some(None));
        }
        Ok(None)
    }

    /// Waits out a pause, and refuses (or waits for a reset) when the budget is spent.
    async fn wait_for_budget(&self) -> Result<(), SourceError> {
        loop {
            let wait = {
                let mut budget = self.lock_budget();
                if let Some(reset) = budget.exhausted {
                    return Err(SourceError::RateLimited { reset_at: reset });
                }
                if let Some(until) = budget.paused_until {
                    if until > Instant::now() {
                        Some(until - Instant::now())
                    } else {
                        budget.paused_until = None;
                        None
                    }
                } else if budget
                    .remaining
                    .is_some_and(|r| r <= self.policy.rate_limit_reserve)
                {
                    match budget.reset.map(until_epoch) {
                        Some(wait) if wait.is_zero() => {
                            // The window has rolled over; the next answer tells the new budget.
                            budget.remaining = None;
                            None
                        }
                        Some(wait) if wait <= self.policy.rate_limit_max_wait => {
                            budget.paused_until =
                                Some(Instant::now() + wait + Duration::from_millis(500));
                            tracing::warn!(
                                wait_s = wait.as_secs(),
                                "rate-limit budget spent; waiting for its reset"
                            );
                            continue;
                        }
                        _ => {
                            let reset = budget.reset;
                            budget.exhausted = Some(reset);
                            return Err(SourceError::RateLimited { reset_at: reset });
                        }
                    }
                } else {
                    None
                }
            };
            match wait {
                Some(wait) => self.sleep(wait).await?,
                None => return Ok(()),
            }
        }
    }

    /// Sleeps, unless the client is cancelled first.
    async fn sleep(&self, wait: Duration) -> Result<(), SourceError> {
        tokio::select! {
            () = tokio::time::sleep(wait) => Ok(()),
            () = self.cancel.cancelled() => Err(SourceError::Interrupted),
        }
    }

    fn budget_is_low(&self) -> bool {
        let budget = self.lock_budget();
        match (budget.remaining, budget.limit) {
            (Some(remaining), Some(limit)) => {
                remaining < (limit / 10).max(self.policy.rate_limit_reserve * 2)
            }
            _ => false,
        }
    }

    fn pause_for(&self, wait: Duration) {
        let mut budget = self.lock_budget();
        let until = Instant::now() + wait;
        budget.paused_until = Some(budget.paused_until.map_or(until, |u| u.max(until)));
    }

    fn exhaust(&self, reset: Option<u64>) -> SourceError {
        let mut budget = self.lock_budget();
        let reset = reset.or(budget.reset);
        budget.exhausted = Some(reset);
        tracing::warn!("rate limit reached; no more upstream requests in this run");
        SourceError::RateLimited { reset_at: reset }
    }

    /// Records the rate-limit headers of an answer.
    fn observe(&self, headers: &HeaderMap) {
        let Some(remaining) = header_u64(headers, "x-ratelimit-remaining") else {
            return;
        };
        let reset = header_u64(headers, "x-ratelimit-reset");
        let mut budget = self.lock_budget();
        // Answers arrive out of order: within one window keep the lowest figure.
        let same_window = budget.reset.is_some() && budget.reset == reset;
        budget.remaining = Some(match budget.remaining {
            Some(known) if same_window => known.min(remaining),
            _ => remaining,
        });
        budget.reset = reset.or(budget.reset);
        budget.limit = header_u64(headers, "x-ratelimit-limit").or(budget.limit);
        if let Some(remaining) = budget.remaining {
            self.metrics.rate_limit_remaining(remaining);
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

    fn lock_budget(&self) -> std::sync::MutexGuard<'_, Budget> {
        // The budget holds plain numbers; a panic elsewhere cannot leave it inconsistent.
        self.budget
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn malformed(url: &Url, detail: String) -> SourceError {
    SourceError::Malformed {
        url: url.to_string(),
        detail,
    }
}

/// What actually went wrong ("dns error: failed to lookup address …"), without the
/// outer layers that only repeat the URL.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut chain = vec![e.to_string()];
    let mut source = e.source();
    while let Some(cause) = source {
        chain.push(cause.to_string());
        source = cause.source();
    }
    let keep = chain.len().min(2);
    chain.split_off(chain.len() - keep).join(": ")
}

fn jitter(base: Duration) -> Duration {
    base.mul_f64(rand::random_range(0.5..1.5))
}

fn header_text(headers: &HeaderMap, name: impl reqwest::header::AsHeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v: &HeaderValue| v.to_str().ok())
        .map(str::to_owned)
}

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    header_u64(headers, "retry-after").map(Duration::from_secs)
}

fn until_epoch(epoch_secs: u64) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Duration::from_secs(epoch_secs).saturating_sub(now)
}

/// The `message` of a forge's JSON error body, or the start of the body as text.
fn error_message(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        message: String,
    }
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(b) => b.message,
        Err(_) => String::from_utf8_lossy(&body[..body.len().min(200)])
            .trim()
            .to_owned(),
    }
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
