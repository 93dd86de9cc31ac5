//! The change feed's wire format: an event as the JSON API, the Atom feed and webhook
//! deliveries all show it, with its stable id and the portal page it concerns. It sits in
//! the domain because two layers speak it (the web and the webhooks), neither above the
//! other; each re-uses it from here.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::StoredEvent;

/// Why a configured webhook endpoint cannot be used. Never repeats the URL: it may carry
/// the endpoint's credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("not a URL ({0})")]
    NotAUrl(url::ParseError),
    #[error("only http and https endpoints are supported")]
    Scheme,
    #[error("the URL names no host")]
    NoHost,
}

/// Checks one configured webhook endpoint: an absolute http(s) URL with a host.
pub fn webhook_endpoint(raw: &str) -> Result<url::Url, EndpointError> {
    let url = url::Url::parse(raw).map_err(EndpointError::NotAUrl)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(EndpointError::Scheme);
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(EndpointError::NoHost);
    }
    Ok(url)
}

/// A repository name as one URL path segment: everything but unreserved characters
/// percent-encoded (a GitLab project in a subgroup, `libs/parser`, is `libs%2Fparser`).
pub fn path_segment(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The portal page an event concerns: its repository's page, else its organisation's.
pub fn link(e: &StoredEvent) -> String {
    let org = format!("/orgs/{}", e.event.org.url_path());
    match &e.event.repo {
        Some(name) => format!("{org}/repos/{}", path_segment(name)),
        None => org,
    }
}

/// A stable, absolute id for an event, from its natural key (the same in every store and
/// after a rebuild).
pub fn entry_id(e: &StoredEvent) -> String {
    let digest = Sha256::digest(e.event.key().as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("urn:orgpulse:event:{hex}")
}

/// One recorded change.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    /// Its place in the feed: later events have larger numbers.
    pub seq: i64,
    /// A stable id (the same after a rebuild): the Atom entry id.
    pub id: String,
    pub org: String,
    /// `baseline`, `repo_created`, `repo_returned`, `repo_gone`, `repo_renamed`,
    /// `repo_transferred`, `repo_archived`, `repo_unarchived`, `license_changed`,
    /// `default_branch_changed`, `star_milestone`, `org_renamed`, `refresh_failed`,
    /// `rate_limited`, `recovered`, `release_published`, `new_contributor`,
    /// `vulnerability_found` or `vulnerability_fixed`.
    pub kind: String,
    pub at: DateTime<Utc>,
    pub repo_id: Option<i64>,
    pub repo: Option<String>,
    /// The value before, where there is one (old name, old licence, old branch, …).
    pub from: Option<String>,
    /// The value after (new name, licence, branch, the milestone, a failure's reason, …).
    pub to: Option<String>,
    /// One line for people.
    pub summary: String,
    /// The portal page it concerns.
    pub url: String,
}

impl From<&StoredEvent> for EventView {
    fn from(e: &StoredEvent) -> Self {
        EventView {
            seq: e.seq,
            id: entry_id(e),
            org: e.event.org.to_string(),
            kind: e.event.kind.to_string(),
            at: e.event.at,
            repo_id: e.event.repo_id,
            repo: e.event.repo.clone(),
            from: e.event.from.clone(),
            to: e.event.to.clone(),
            summary: e.event.summary(),
            url: link(e),
        }
    }
}

/// The body of a webhook delivery (`POST` to each `ORGPULSE_WEBHOOK_URLS` endpoint, signed
/// in `X-Orgpulse-Signature-256: sha256=<hex HMAC-SHA256 of the body>`): one organisation's
/// events that endpoint has not had yet, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookPayload {
    /// The events as chat services show them (Slack and compatible read `text`).
    pub text: String,
    pub org: String,
    /// The refresh after which this was sent.
    pub run_id: String,
    /// Oldest first; at most 100 (more come in further deliveries).
    pub events: Vec<EventView>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_one_segment() {
        assert_eq!(path_segment("orgpulse"), "orgpulse");
        assert_eq!(path_segment("libs/parser.rs"), "libs%2Fparser.rs");
        assert_eq!(path_segment("a b?é"), "a%20b%3F%C3%A9");
    }
}
