//! Refresh: fetch every requested organisation from its forge, normalise it, and store it.
//!
//! [`run`] is a plain async function; the CLI, the scheduler and tests all call it. One
//! run shares one HTTP client, so its concurrency bound and rate-limit state cover every
//! organisation. Organisations are independent: one that fails keeps its previous data and
//! does not stop the others.

mod org;
pub mod refresher;
pub(crate) mod schedule;

use std::fmt;
use std::sync::Arc;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::config::{Secret, Settings};
use crate::domain::{OrgId, OrgOutcome, RefreshRun, RunCounts, RunOptions, RunStatus, Trigger};
use crate::metrics::Metrics;
use crate::sources::{GitHub, HttpPolicy};
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

/// How to reach GitHub: a new client is built from it for every run.
#[derive(Debug, Clone)]
pub struct GitHubAccess {
    pub api_url: String,
    pub token: Option<Secret>,
    pub policy: HttpPolicy,
}

/// What a run needs besides the run itself.
#[derive(Debug, Clone)]
pub struct IngestContext {
    pub store: Arc<dyn Store>,
    pub github: GitHubAccess,
    pub options: RunOptions,
    /// Organisations refreshed at the same time (requests are bounded separately).
    pub org_parallelism: usize,
    pub clock: Clock,
    /// Shutdown: once cancelled, no new upstream request is sent, organisations not yet
    /// written are left as they were, and the run ends `interrupted`.
    pub cancel: CancellationToken,
    /// Where upstream answers and run durations are counted.
    pub metrics: Arc<Metrics>,
}

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
            ..HttpPolicy::default()
        };
        IngestContext {
            store,
            github: GitHubAccess {
                api_url: settings.github_api_url.clone(),
                token: settings.github_token.clone(),
                policy,
            },
            options: RunOptions {
                languages: settings.languages_enabled(),
                libraries: settings.libraries_enabled(),
            },
            org_parallelism: settings.concurrency.clamp(1, 8),
            clock: Clock::system(),
            cancel: CancellationToken::new(),
            metrics,
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

    let github = match GitHub::new(
        &ctx.github.api_url,
        ctx.github.token.as_ref(),
        ctx.github.policy.clone(),
        ctx.cancel.clone(),
        ctx.metrics.clone(),
    ) {
        Ok(github) => github,
        Err(e) => {
            run.finish(RunStatus::Failed, Some(e.to_string()), ctx.clock.now());
            ctx.store
                .update_run(&run)
                .await
                .context("could not record the run")?;
            return Ok(run);
        }
    };

    let orgs = run.orgs_requested.clone();
    // Owned ids: borrowed closure arguments would make this future unsendable
    // (rust-lang/rust#102211), and runs are spawned.
    let mut outcomes: Vec<OrgOutcome> = futures::stream::iter(orgs.clone())
        .map(|org| async {
            let org = org;
            progress.org_started(&org);
            let outcome = org::refresh(ctx, &github, &org).await;
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
    run.rate_limit_remaining = github.rate_limit_remaining();
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
