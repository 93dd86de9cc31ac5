//! Refresh: fetch every requested organisation from its forge, normalise it, and store it.
//!
//! [`run`] is a plain async function; the CLI, the scheduler and tests all call it. One
//! run shares one HTTP client, so its concurrency bound and rate-limit state cover every
//! organisation. Organisations are independent: one that fails keeps its previous data and
//! does not stop the others.

mod activity;
mod org;
pub mod refresher;
pub(crate) mod schedule;
mod scorecard;
mod security;

pub use security::{check as check_vulnerabilities, CheckReport, SecurityOptions};

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::config::Settings;
use crate::domain::{AppCredentials, Secret};
use crate::domain::{
    ForgeInstance, ForgeKind, ForgeName, OrgId, OrgOutcome, OrgStatus, RefreshRun, RunCounts,
    RunOptions, RunStatus, Trigger,
};
use crate::metrics::Metrics;
use crate::sources::{self, ForgeSource, HttpPolicy};
use crate::store::Store;

/// Where "now" comes from; tests move it to replay several days.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>);

impl Clock {
    pub fn system() -> Self {
        Clock(Arc::new(Utc::now))
    }

    pub fn fixed(at: DateTime<Utc>) -> Self {
        Clock(Arc::new(move || at))
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        (self.0)()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Clock")
    }
}

/// How to reach one forge: a new client is built from it for every run.
#[derive(Debug, Clone)]
pub struct ForgeAccess {
    pub instance: ForgeInstance,
    pub token: Option<Secret>,
    /// GitHub's GraphQL endpoint, when not the one derived from the REST root.
    pub graphql_url: Option<String>,
    /// Authenticate as this GitHub App (installation tokens) rather than with `token`.
    pub app: Option<AppCredentials>,
}

impl ForgeAccess {
    /// The forge called `name` of `kind` at `api_url`, without a token.
    pub fn new(name: &str, kind: ForgeKind, api_url: &str) -> Self {
        let name: ForgeName = name.parse().expect("a valid forge name");
        ForgeAccess {
            instance: ForgeInstance::new(name, kind, api_url),
            token: None,
            graphql_url: None,
            app: None,
        }
    }

    /// The `github` forge at `api_url` (a GitHub-compatible server: a fake, in tests).
    pub fn github(api_url: &str) -> Self {
        ForgeAccess::new("github", ForgeKind::GitHub, api_url)
    }
}

/// What a run needs besides the run itself.
#[derive(Debug, Clone)]
pub struct IngestContext {
    pub store: Arc<dyn Store>,
    /// The configured forges and their tokens.
    pub forges: Vec<ForgeAccess>,
    /// How patient and careful every forge's client is; each forge gets its own request
    /// bound and rate-limit state.
    pub http: HttpPolicy,
    pub options: RunOptions,
    /// Organisations refreshed at the same time (requests are bounded separately).
    pub org_parallelism: usize,
    pub clock: Clock,
    /// Shutdown: once cancelled, no new upstream request is sent, organisations not yet
    /// written are left as they were, and the run ends `interrupted`.
    pub cancel: CancellationToken,
    /// Where upstream answers and run durations are counted.
    pub metrics: Arc<Metrics>,
    /// The activity sync (issues, pull requests, releases) after each organisation's data.
    pub activity: ActivityOptions,
    /// The vulnerability check (OSV) after every organisation of the run.
    pub security: SecurityOptions,
}

pub use crate::domain::activity::ActivityOptions;

impl IngestContext {
    /// The context `settings` describe, counting into `metrics`.
    pub(crate) fn from_settings(
        store: Arc<dyn Store>,
        settings: &Settings,
        metrics: Arc<Metrics>,
    ) -> Self {
        let policy = HttpPolicy {
            timeout: settings.http_timeout(),
            retries: settings.http_retries,
            max_body_bytes: usize::try_from(settings.max_response_mb << 20).unwrap_or(usize::MAX),
            concurrency: settings.concurrency,
            rate_limit_reserve: settings.rate_limit_reserve,
            rate_limit_max_wait: std::time::Duration::from_secs(settings.rate_limit_max_wait_secs),
            secondary_wait: std::time::Duration::from_secs(settings.secondary_limit_wait_secs),
            report_wait: std::time::Duration::from_secs(settings.report_wait_secs),
            ..HttpPolicy::default()
        };
        IngestContext {
            store,
            forges: settings
                .forges
                .iter()
                .map(|instance| ForgeAccess {
                    instance: instance.clone(),
                    token: settings.forge_token(instance),
                    graphql_url: settings.graphql_url(instance),
                    app: settings.github_app(instance),
                })
                .collect(),
            http: policy.clone(),
            options: RunOptions {
                languages: settings.languages_enabled(),
                libraries: settings.libraries_enabled(),
            },
            org_parallelism: settings.concurrency.clamp(1, 8),
            clock: Clock::system(),
            cancel: CancellationToken::new(),
            metrics,
            activity: settings.activity(),
            security: SecurityOptions {
                osv_url: settings.osv_url(),
                osv_data_dir: settings.osv_data_dir(),
                scorecard_url: settings.scorecard_url(),
                // OSV publishes no rate limit: a 429 without advice waits seconds, not
                // GitHub's minute, and the run gives up after a few.
                osv_policy: HttpPolicy {
                    secondary_wait: std::time::Duration::from_secs(5),
                    rate_limit_max_wait: std::time::Duration::from_secs(120),
                    ..policy.clone()
                },
            },
        }
    }
}

/// Hears about a run as it goes (a progress bar, log lines).
pub trait Progress: Send + Sync {
    fn org_started(&self, _org: &OrgId) {}
    fn org_finished(&self, _outcome: &OrgOutcome) {}
}

/// Hears nothing.
#[derive(Debug)]
pub struct Silent;

impl Progress for Silent {}

/// Creates and stores a queued run for `orgs`.
pub async fn queue(
    ctx: &IngestContext,
    trigger: Trigger,
    orgs: Vec<OrgId>,
) -> anyhow::Result<RefreshRun> {
    let run = RefreshRun::queued(trigger, orgs, ctx.options, ctx.clock.now());
    ctx.store
        .insert_run(&run)
        .await
        .context("could not record the run")?;
    Ok(run)
}

/// Runs a queued run to its end and returns it as stored.
///
/// An `Err` means the run itself could not be carried out or recorded (the store is
/// gone); organisations that fail are outcomes inside an `Ok` run.
pub async fn run(
    ctx: &IngestContext,
    mut run: RefreshRun,
    progress: &dyn Progress,
) -> anyhow::Result<RefreshRun> {
    let started = std::time::Instant::now();
    run.status = RunStatus::Running;
    run.started_at = Some(ctx.clock.now());
    run.options = ctx.options;
    ctx.store
        .update_run(&run)
        .await
        .context("could not record the run")?;
    tracing::info!(run = %run.id, orgs = run.orgs_requested.len(), trigger = ?run.trigger, "refresh started");

    // One client per forge the run touches: each has its own request bound and its own
    // rate-limit budget, shared by every organisation on that forge.
    let orgs = run.orgs_requested.clone();
    let mut clients: HashMap<ForgeName, Result<Arc<dyn ForgeSource>, String>> = HashMap::new();
    for org in &orgs {
        if clients.contains_key(org.forge()) {
            continue;
        }
        let client = match ctx.forges.iter().find(|f| &f.instance.name == org.forge()) {
            None => Err(format!(
                "the forge `{}` is not configured (configured: {}); its stored data is kept",
                org.forge(),
                ctx.forges
                    .iter()
                    .map(|f| f.instance.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Some(access) => sources::connect(
                &access.instance,
                access.token.as_ref(),
                access.graphql_url.as_deref(),
                access.app.as_ref(),
                ctx.http.clone(),
                ctx.cancel.clone(),
                ctx.metrics.clone(),
            )
            .map_err(|e| e.to_string()),
        };
        clients.insert(org.forge().clone(), client);
    }

    // Owned ids: borrowed closure arguments would make this future unsendable
    // (rust-lang/rust#102211), and runs are spawned.
    let mut outcomes: Vec<OrgOutcome> = futures::stream::iter(orgs.clone())
        .map(|org| async {
            let org = org;
            progress.org_started(&org);
            let outcome = match &clients[org.forge()] {
                Ok(source) => org::refresh(ctx, source.as_ref(), &org).await,
                Err(why) => OrgOutcome {
                    org: org.clone(),
                    status: OrgStatus::Failed,
                    message: Some(why.clone()),
                    counts: RunCounts::default(),
                    finished_at: ctx.clock.now(),
                },
            };
            if let Err(e) = ctx.store.record_org_outcome(&outcome).await {
                tracing::error!(org = %outcome.org, error = %e, "could not record the outcome");
            }
            log_outcome(&outcome);
            progress.org_finished(&outcome);
            outcome
        })
        .buffer_unordered(ctx.org_parallelism.max(1))
        .collect()
        .await;
    outcomes.sort_by_key(|o| orgs.iter().position(|r| r == &o.org));

    // After every organisation's SBOMs are stored: one OSV check for all of them.
    let security = security::check(ctx, &orgs).await;
    let scorecards = scorecard::refresh(ctx, &orgs).await;
    for note in [security.and_then(|r| r.note), scorecards]
        .into_iter()
        .flatten()
    {
        run.message = Some(match run.message.take() {
            Some(m) => format!("{m}; {note}"),
            None => note,
        });
    }

    run.counts = outcomes.iter().fold(RunCounts::default(), |mut sum, o| {
        sum.add(&o.counts);
        sum
    });
    let now = ctx.clock.now();
    if ctx.cancel.is_cancelled() {
        run.interrupt("stopped by shutdown before it finished; organisations not yet written keep their previous data", now);
    } else {
        let message = run.message.take();
        run.finish(RefreshRun::status_from_outcomes(&outcomes), message, now);
    }
    run.outcomes = outcomes;
    // The scarcest budget among the forges the run used.
    run.rate_limit_remaining = clients
        .values()
        .filter_map(|c| c.as_ref().ok()?.rate_limit_remaining())
        .min();
    ctx.store
        .update_run(&run)
        .await
        .context("could not record the run's outcome")?;
    ctx.metrics.refresh_finished(started.elapsed());
    tracing::info!(
        run = %run.id,
        status = run.status.as_str(),
        requests = run.counts.requests,
        not_modified = run.counts.not_modified,
        repos_changed = run.counts.repos_changed,
        "refresh finished"
    );
    Ok(run)
}

fn log_outcome(outcome: &OrgOutcome) {
    let c = &outcome.counts;
    match &outcome.message {
        None => tracing::info!(
            org = %outcome.org, status = %outcome.status, repos = c.repos_seen,
            changed = c.repos_changed, requests = c.requests, not_modified = c.not_modified,
            "organisation refreshed"
        ),
        Some(message) => tracing::warn!(
            org = %outcome.org, status = %outcome.status, requests = c.requests,
            "organisation not fully refreshed: {message}"
        ),
    }
}
