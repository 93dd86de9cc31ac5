//! Reading response headers and error bodies, and the small sums the retry logic makes.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::header::{HeaderMap, HeaderValue};
use url::Url;

use super::SourceError;

pub(super) fn reset_note(reset_at: Option<u64>) -> String {
    match reset_at.and_then(|t| chrono::DateTime::from_timestamp(i64::try_from(t).ok()?, 0)) {
        Some(t) => format!("; the budget resets at {}", t.format("%H:%M:%S UTC")),
        None => String::new(),
    }
}

pub(super) fn malformed(url: &Url, detail: String) -> SourceError {
    SourceError::Malformed {
        url: url.to_string(),
        detail,
    }
}

/// What actually went wrong ("dns error: failed to lookup address …"), without the
/// outer layers that only repeat the URL.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut chain = vec![e.to_string()];
    let mut source = e.source();
    while let Some(cause) = source {
        chain.push(cause.to_string());
        source = cause.source();
    }
    let keep = chain.len().min(2);
    chain.split_off(chain.len() - keep).join(": ")
}

pub(super) fn jitter(base: Duration) -> Duration {
    base.mul_f64(rand::random_range(0.5..1.5))
}

pub(super) fn header_text(
    headers: &HeaderMap,
    name: impl reqwest::header::AsHeaderName,
) -> Option<String> {
    headers
        .get(name)
        .and_then(|v: &HeaderValue| v.to_str().ok())
        .map(str::to_owned)
}

pub(super) fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// A rate-limit header in GitHub's spelling (`x-ratelimit-remaining`) or GitLab's
/// (`RateLimit-Remaining`); `what` is `limit`, `remaining` or `reset` (epoch seconds in both).
pub(super) fn rate_limit(headers: &HeaderMap, what: &str) -> Option<u64> {
    header_u64(headers, &format!("x-ratelimit-{what}"))
        .or_else(|| header_u64(headers, &format!("ratelimit-{what}")))
}

pub(super) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    header_u64(headers, "retry-after").map(Duration::from_secs)
}

pub(super) fn until_epoch(epoch_secs: u64) -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Duration::from_secs(epoch_secs).saturating_sub(now)
}

/// The `message` of a forge's JSON error body, or the start of the body as text.
pub(super) fn error_message(body: &[u8]) -> String {
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
