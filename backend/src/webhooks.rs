//! Webhooks: after each refresh, every configured endpoint gets one POST per organisation
//! with the events it has not had yet.
//!
//! The change feed is the source of truth, so nothing is lost: each endpoint keeps a
//! position per organisation in the store ([`WebhookStore`]), moved past the events an
//! endpoint accepted (any 2xx) and left before those it did not, so a failed delivery is
//! sent again, with whatever came since, after the next refresh. Delivery is therefore
//! at least once: receivers tell repeats apart by the events' `id`s.
//!
//! Deliveries run after the run is recorded, on a task of their own: a slow or dead
//! endpoint never delays or fails a refresh. Each POST is tried a bounded number of
//! times with doubling waits; once an endpoint has failed, the rest of that run's
//! deliveries to it are recorded as not sent rather than each waiting out its retries.
//!
//! A body is signed with `ORGPULSE_WEBHOOK_SECRET` the way GitHub signs its own webhooks:
//! `X-Orgpulse-Signature-256: sha256=<hex HMAC-SHA256 of the body>`.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::domain::feed::{webhook_endpoint, EventView, WebhookPayload};
use crate::domain::{Delivery, OrgId, RefreshRun, Secret, StoredEvent};
use crate::store::{EventQuery, Store};

/// The header carrying the body's signature.
pub const SIGNATURE_HEADER: &str = "X-Orgpulse-Signature-256";
/// The header carrying a delivery's own id (the same on each of its retries).
pub const DELIVERY_HEADER: &str = "X-Orgpulse-Delivery";
/// Most events one POST carries; an organisation with more gets several POSTs.
pub const MAX_EVENTS_PER_POST: usize = 100;
/// Event lines in the chat `text`; the rest are counted.
const TEXT_LINES: usize = 10;

/// How hard one delivery tries.
#[derive(Debug, Clone, Copy)]
pub struct DeliveryPolicy {
    /// Tries in all, the first included.
    pub attempts: u32,
    /// Wait before the second try; doubles after each.
    pub first_wait: Duration,
    /// Limit for one try, from connecting to the response's status.
    pub timeout: Duration,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        DeliveryPolicy {
            attempts: 4,
            first_wait: Duration::from_secs(2),
            timeout: Duration::from_secs(10),
        }
    }
}

/// One configured endpoint.
#[derive(Clone)]
struct Endpoint {
    /// A stable id for the store: the start of the URL's SHA-256 (the URL itself may be
    /// a credential, so it is kept nowhere).
    id: String,
    /// What pages and logs may show: scheme and host.
    target: String,
    url: url::Url,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Endpoint({} {})", self.id, self.target)
    }
}

/// The configured endpoints, their signing key and one HTTP client for them all.
#[derive(Debug, Clone)]
pub struct Webhooks {
    endpoints: Vec<Endpoint>,
    secret: Option<Secret>,
    client: reqwest::Client,
    policy: DeliveryPolicy,
}

/// What happened to one POST after all its tries.
struct Sent {
    attempts: u32,
    delivered: bool,
    status: Option<u16>,
    error: Option<String>,
}

impl Webhooks {
    /// Webhooks to `urls` (http or https), signed with `secret` when there is one.
    pub fn new(
        urls: &[&str],
        secret: Option<Secret>,
        policy: DeliveryPolicy,
    ) -> anyhow::Result<Webhooks> {
        let mut endpoints = Vec::with_capacity(urls.len());
        for (n, raw) in urls.iter().enumerate() {
            let url = webhook_endpoint(raw).with_context(|| format!("webhook URL {}", n + 1))?;
            let id = crate::domain::hex(&<Sha256 as sha2::Digest>::digest(url.as_str()))[..16]
                .to_owned();
            let target = url.origin().ascii_serialization();
            if endpoints.iter().any(|e: &Endpoint| e.id == id) {
                continue; // the same URL twice gets one delivery
            }
            endpoints.push(Endpoint { id, target, url });
        }
        let client = reqwest::Client::builder()
            .user_agent(concat!(
                "orgpulse/",
                env!("CARGO_PKG_VERSION"),
                " (webhooks)"
            ))
            // A redirect is not followed: the endpoint must be the URL configured.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(policy.timeout)
            .build()
            .context("could not build the webhook HTTP client")?;
        Ok(Webhooks {
            endpoints,
            secret,
            client,
            policy,
        })
    }

    /// The webhooks `settings` configure; `None` when there are no endpoints.
    pub(crate) fn from_settings(settings: &Settings) -> anyhow::Result<Option<Webhooks>> {
        if settings.webhook_urls.is_empty() {
            return Ok(None);
        }
        if settings.webhook_secret.is_none() {
            tracing::warn!("ORGPULSE_WEBHOOK_URLS is set without ORGPULSE_WEBHOOK_SECRET: deliveries are not signed");
        }
        let urls: Vec<&str> = settings.webhook_urls.iter().map(Secret::expose).collect();
        let policy = DeliveryPolicy {
            timeout: Duration::from_secs(settings.webhook_timeout_secs),
            ..DeliveryPolicy::default()
        };
        Webhooks::new(&urls, settings.webhook_secret.clone(), policy).map(Some)
    }

    /// Sends every endpoint the events it has not had yet, for the organisations tracked
    /// now and those `run` covered; returns what was done, for the run's record. Stops
    /// sending (recording the rest as not sent) once `cancel` fires.
    pub async fn deliver(
        &self,
        store: &dyn Store,
        run: &RefreshRun,
        now: impl Fn() -> DateTime<Utc> + Sync,
        cancel: &CancellationToken,
    ) -> Vec<Delivery> {
        let mut orgs: Vec<OrgId> = match store.list_tracked_orgs().await {
            Ok(tracked) => tracked.into_iter().map(|t| t.org).collect(),
            Err(e) => {
                tracing::warn!(error = %e, "webhooks: could not list the tracked organisations; delivering this run's only");
                Vec::new()
            }
        };
        for org in &run.orgs_requested {
            if !orgs.contains(org) {
                orgs.push(org.clone());
            }
        }
        let per_endpoint = self
            .endpoints
            .iter()
            .map(|e| self.deliver_to(e, store, run, &orgs, &now, cancel));
        futures::future::join_all(per_endpoint)
            .await
            .into_iter()
            .flatten()
            .collect()
    }

    async fn deliver_to(
        &self,
        endpoint: &Endpoint,
        store: &dyn Store,
        run: &RefreshRun,
        orgs: &[OrgId],
        now: &(impl Fn() -> DateTime<Utc> + Sync),
        cancel: &CancellationToken,
    ) -> Vec<Delivery> {
        let cursors: HashMap<OrgId, i64> = match store.webhook_cursors(&endpoint.id).await {
            Ok(cursors) => cursors.into_iter().collect(),
            Err(e) => {
                tracing::warn!(endpoint = %endpoint.target, error = %e, "webhooks: could not read where the endpoint is in the feed; trying after the next refresh");
                return Vec::new();
            }
        };
        let mut deliveries = Vec::new();
        // Why this endpoint gets nothing more in this run, once it has failed.
        let mut down: Option<String> = None;
        for org in orgs {
            let mut after = cursors.get(org).copied();
            loop {
                // An endpoint new to this organisation starts with this run's events.
                let query = EventQuery {
                    org: Some(org.clone()),
                    since: after.is_none().then_some(run.created_at),
                    after: Some(after.unwrap_or(0)),
                    ..EventQuery::latest(MAX_EVENTS_PER_POST)
                };
                let events = match store.list_events(&query).await {
                    Ok(events) => events,
                    Err(e) => {
                        tracing::warn!(org = %org, error = %e, "webhooks: could not read the feed; trying after the next refresh");
                        break;
                    }
                };
                let (Some(first), Some(last)) = (events.first(), events.last()) else {
                    break;
                };
                let (first_seq, last_seq) = (first.seq, last.seq);
                let sent = if cancel.is_cancelled() {
                    not_sent("orgpulse was stopping; sent after the next refresh")
                } else if let Some(why) = &down {
                    not_sent(why)
                } else {
                    let body = self.body(org, run, &events);
                    self.post(endpoint, &body, cancel).await
                };
                if !sent.delivered && down.is_none() && sent.attempts > 0 {
                    down = Some(format!(
                        "not sent: the endpoint failed just before ({}); sent after the next refresh",
                        sent.error.as_deref().unwrap_or("no answer")
                    ));
                }
                let position = if sent.delivered {
                    last_seq
                } else {
                    first_seq - 1
                };
                if let Err(e) = store
                    .advance_webhook_cursor(&endpoint.id, org, position)
                    .await
                {
                    tracing::warn!(org = %org, error = %e, "webhooks: could not record the endpoint's position; these events may be sent again");
                }
                log_delivery(endpoint, org, events.len(), &sent);
                let delivered = sent.delivered;
                deliveries.push(Delivery {
                    target: endpoint.target.clone(),
                    org: org.clone(),
                    events: events.len() as u64,
                    first_seq,
                    last_seq,
                    attempts: sent.attempts,
                    delivered,
                    status: sent.status,
                    error: sent.error,
                    at: now(),
                });
                if !delivered || events.len() < MAX_EVENTS_PER_POST {
                    break;
                }
                after = Some(last_seq);
            }
        }
        deliveries
    }

    /// The JSON body for `org`'s `events`.
    fn body(&self, org: &OrgId, run: &RefreshRun, events: &[StoredEvent]) -> Vec<u8> {
        let payload = WebhookPayload {
            text: chat_text(org, events),
            org: org.to_string(),
            run_id: run.id.to_string(),
            events: events.iter().map(EventView::from).collect(),
        };
        serde_json::to_vec(&payload).unwrap_or_default()
    }

    /// POSTs `body` to `endpoint`, retrying connection errors, timeouts, 408, 429 and 5xx
    /// with doubling waits; other answers are final.
    async fn post(&self, endpoint: &Endpoint, body: &[u8], cancel: &CancellationToken) -> Sent {
        let delivery_id = uuid::Uuid::now_v7().to_string();
        let signature = self.secret.as_ref().map(|s| sign(s.expose(), body));
        let mut wait = self.policy.first_wait;
        let mut sent = Sent {
            attempts: 0,
            delivered: false,
            status: None,
            error: None,
        };
        while sent.attempts < self.policy.attempts.max(1) {
            sent.attempts += 1;
            let mut request = self
                .client
                .post(endpoint.url.clone())
                .timeout(self.policy.timeout)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(DELIVERY_HEADER, &delivery_id)
                .header("X-Orgpulse-Event", "changes")
                .body(body.to_vec());
            if let Some(signature) = &signature {
                request = request.header(SIGNATURE_HEADER, signature);
            }
            let retry = tokio::select! {
                answer = request.send() => match answer {
                    Ok(response) => {
                        let status = response.status();
                        sent.status = Some(status.as_u16());
                        if status.is_success() {
                            sent.delivered = true;
                            sent.error = None;
                            return sent;
                        }
                        sent.error = Some(format!("the endpoint answered {status}"));
                        status.is_server_error()
                            || status == reqwest::StatusCode::TOO_MANY_REQUESTS
                            || status == reqwest::StatusCode::REQUEST_TIMEOUT
                    }
                    Err(e) => {
                        sent.status = None;
                        // Without the URL: it may carry the endpoint's credential.
                        sent.error = Some(if e.is_timeout() {
                            format!("no answer within {} s", self.policy.timeout.as_secs_f64())
                        } else {
                            crate::sources::http::error_chain_of(&e.without_url())
                        });
                        true
                    }
                },
                () = cancel.cancelled() => {
                    sent.error = Some("orgpulse was stopping; sent after the next refresh".into());
                    return sent;
                }
            };
            if !retry || sent.attempts >= self.policy.attempts {
                break;
            }
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = cancel.cancelled() => break,
            }
            wait *= 2;
        }
        sent
    }
}

fn not_sent(why: &str) -> Sent {
    Sent {
        attempts: 0,
        delivered: false,
        status: None,
        error: Some(why.to_owned()),
    }
}

fn log_delivery(endpoint: &Endpoint, org: &OrgId, events: usize, sent: &Sent) {
    if sent.delivered {
        tracing::info!(endpoint = %endpoint.target, org = %org, events, attempts = sent.attempts, "webhook delivered");
    } else {
        tracing::warn!(
            endpoint = %endpoint.target, org = %org, events, attempts = sent.attempts,
            "webhook not delivered: {}", sent.error.as_deref().unwrap_or("unknown")
        );
    }
}

/// `sha256=` and the hex HMAC-SHA256 of `body` under `key`.
pub fn sign(key: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(body);
    format!(
        "sha256={}",
        crate::domain::hex(&mac.finalize().into_bytes())
    )
}

/// The message a chat service shows: a heading and the first events' summaries.
fn chat_text(org: &OrgId, events: &[StoredEvent]) -> String {
    let count = events.len();
    let mut text = format!(
        "orgpulse · {org}: {count} new {}",
        if count == 1 { "change" } else { "changes" }
    );
    for e in events.iter().take(TEXT_LINES) {
        text.push_str("\n• ");
        text.push_str(&e.event.summary());
    }
    if count > TEXT_LINES {
        text.push_str(&format!("\n… and {} more", count - TEXT_LINES));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_githubs_scheme() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn endpoints_are_http_urls_and_are_shown_without_their_path() {
        assert!(webhook_endpoint("ftp://example.com/x").is_err());
        assert!(webhook_endpoint("not a url").is_err());
        let secret = "https://hooks.example.com/services/T000/B000/XXXXSECRET";
        let err = format!(
            "{:#}",
            webhook_endpoint("file:///etc/passwd").expect_err("not http")
        );
        assert!(!err.contains("passwd"), "{err}");
        let hooks = Webhooks::new(
            &[secret, secret, "http://127.0.0.1:9/"],
            None,
            DeliveryPolicy::default(),
        )
        .expect("valid");
        let targets: Vec<&str> = hooks.endpoints.iter().map(|e| e.target.as_str()).collect();
        assert_eq!(
            targets,
            ["https://hooks.example.com", "http://127.0.0.1:9"],
            "one endpoint per URL, shown by host"
        );
        assert!(!format!("{hooks:?}").contains("SECRET"));
    }

    #[test]
    fn chat_text_lists_the_first_events_and_counts_the_rest() {
        let org: OrgId = "github:acme".parse().expect("org");
        let events: Vec<StoredEvent> = (0..12)
            .map(|i| StoredEvent {
                seq: i,
                event: crate::domain::Event {
                    org: org.clone(),
                    at: Utc::now(),
                    kind: crate::domain::EventKind::RepoCreated,
                    repo_id: Some(i),
                    repo: Some(format!("r{i}")),
                    from: None,
                    to: None,
                },
            })
            .collect();
        let text = chat_text(&org, &events);
        assert!(text.starts_with("orgpulse · github:acme: 12 new changes\n• r0 was created"));
        assert_eq!(text.lines().count(), 1 + TEXT_LINES + 1);
        assert!(text.ends_with("… and 2 more"));
        assert!(chat_text(&org, &events[..1]).contains("1 new change\n"));
    }
}
