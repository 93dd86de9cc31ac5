//! `orgpulse refresh [--org ID]…`: one refresh now, in the foreground, with progress.
//! Exits 0 when every organisation refreshed, 1 when none did, 2 when some did.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::App;
use crate::domain::{OrgId, OrgOutcome, RefreshRun, RunStatus, Trigger};
use crate::ingest::refresher::Refresher;
use crate::ingest::{IngestContext, Progress};
use crate::webhooks::Webhooks;

/// How long `orgpulse refresh` waits for webhook deliveries before it exits (each try is
/// bounded by `ORGPULSE_WEBHOOK_TIMEOUT_SECS`; what is not sent goes after the next run).
const DELIVERY_WAIT: Duration = Duration::from_secs(120);

#[derive(Debug, Args)]
pub(crate) struct RefreshArgs {
    /// Refresh only this organisation (repeatable); default: every tracked one.
    #[arg(long = "org", value_name = "ID")]
    pub orgs: Vec<String>,
}

pub(crate) async fn run(app: &App, args: RefreshArgs) -> anyhow::Result<ExitCode> {
    let tracked: Vec<OrgId> = app
        .store
        .list_tracked_orgs()
        .await?
        .into_iter()
        .map(|t| t.org)
        .collect();
    let asked = args
        .orgs
        .iter()
        .map(|id| app.settings.forges.parse(id))
        .collect::<Result<Vec<_>, _>>()?;
    let orgs = if asked.is_empty() {
        tracked.clone()
    } else {
        dedup(asked)
    };
    if orgs.is_empty() {
        eprintln!("no organisations are tracked; add one with `orgpulse orgs add github:NAME`");
        return Ok(ExitCode::SUCCESS);
    }
    for org in orgs.iter().filter(|o| !tracked.contains(o)) {
        eprintln!("note: {org} is not tracked; its data is stored but scheduled refreshes skip it (`orgpulse orgs add {org}`)");
    }

    let ctx = IngestContext::from_settings(app.store.clone(), &app.settings, Arc::default());
    // The forges this run reads, and which of them go without a token.
    let mut used: Vec<String> = Vec::new();
    let mut tokenless: Vec<String> = Vec::new();
    for forge in app.settings.forges.iter() {
        if orgs.iter().any(|o| o.forge() == &forge.name) {
            used.push(format!("{} ({})", forge.name, forge.api_url));
            if app.settings.forge_token(forge).is_none() {
                tokenless.push(forge.token_env.clone());
            }
        }
    }
    eprintln!(
        "refreshing {} organisation(s) from {} (languages: {}, libraries: {}{})",
        orgs.len(),
        used.join(", "),
        on_off(ctx.options.languages),
        on_off(ctx.options.libraries),
        if tokenless.is_empty() {
            String::new()
        } else {
            format!(
                "; without a token ({}) the forges allow fewer requests and per-repo details stay off",
                tokenless.join(", ")
            )
        },
    );
    let bar = std::io::stderr().is_terminal().then(|| new_bar(orgs.len()));
    let progress: Arc<dyn Progress> = match &bar {
        Some(bar) => Arc::new(Bar(bar.clone())),
        None => Arc::new(Lines),
    };
    // The same lease as the servers: one refresh at a time over this database.
    let refresher =
        Arc::new(Refresher::new(ctx).with_webhooks(Webhooks::from_settings(&app.settings)?));
    let joined = std::sync::Mutex::new(None);
    let run = tokio::select! {
        run = refresher.refresh_to_end(Trigger::Cli, Some(orgs), progress.clone(), Duration::from_millis(200), |run| {
            eprintln!(
                "a refresh is already running (run {}, started by {:?}); waiting for it instead of starting another",
                run.id, run.trigger
            );
            *joined.lock().unwrap_or_else(|p| p.into_inner()) = Some(run.id.clone());
        }) => run?,
        _ = tokio::signal::ctrl_c() => {
            eprintln!("interrupted: letting writes under way finish…");
            let joined = joined.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let id = refresher.active_run().await.or(joined);
            refresher.shutdown(Duration::from_secs(10)).await;
            match id {
                Some(id) => refresher.wait_for(&id, Duration::from_millis(100)).await?,
                None => anyhow::bail!("interrupted before the refresh started"),
            }
        }
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    // Webhook deliveries go on after the run; a command that exits waits for them a while.
    refresher.settle_deliveries(DELIVERY_WAIT).await;
    let run = app.store.get_run(&run.id).await?.unwrap_or(run);
    print_summary(&run);
    Ok(match run.status {
        RunStatus::Succeeded => ExitCode::SUCCESS,
        RunStatus::Partial => ExitCode::from(2),
        _ => ExitCode::FAILURE,
    })
}

fn dedup(orgs: Vec<OrgId>) -> Vec<OrgId> {
    let mut seen = std::collections::HashSet::new();
    orgs.into_iter()
        .filter(|o| seen.insert(o.clone()))
        .collect()
}

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

/// One line per organisation: what was stored, or why not.
fn outcome_line(o: &OrgOutcome) -> String {
    let c = &o.counts;
    let requests = format!("{} requests, {} not modified", c.requests, c.not_modified);
    match &o.message {
        None => format!(
            "{:<28} {:<12} {} repos, {} changed, {} gone; {requests}",
            o.org.to_string(),
            o.status.as_str(),
            c.repos_seen,
            c.repos_changed,
            c.repos_gone
        ),
        Some(message) => format!(
            "{:<28} {:<12} {message}; {requests}",
            o.org.to_string(),
            o.status.as_str()
        ),
    }
}

fn print_summary(run: &RefreshRun) {
    let c = &run.counts;
    let took = run
        .started_at
        .zip(run.finished_at)
        .map(|(s, f)| format!("{:.1}s", (f - s).num_milliseconds() as f64 / 1000.0))
        .unwrap_or_default();
    println!(
        "run {} {} in {took}: {} requests ({} not modified), {} repos seen, {} changed, {} gone{}",
        run.id,
        run.status.as_str(),
        c.requests,
        c.not_modified,
        c.repos_seen,
        c.repos_changed,
        c.repos_gone,
        run.rate_limit_remaining
            .map(|r| format!("; rate limit left: {r}"))
            .unwrap_or_default()
    );
    if let Some(message) = &run.message {
        println!("{message}");
    }
    if !run.deliveries.is_empty() {
        let delivered = run.deliveries.iter().filter(|d| d.delivered).count();
        println!(
            "webhooks: {delivered} of {} deliveries made{}",
            run.deliveries.len(),
            run.deliveries
                .iter()
                .find_map(|d| d.error.as_ref().map(|e| format!(" ({}: {e})", d.target)))
                .unwrap_or_default()
        );
    }
}

/// Reports to a terminal's progress bar.
struct Bar(ProgressBar);

/// A progress bar for a terminal.
fn new_bar(total: usize) -> ProgressBar {
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

impl Progress for Bar {
    fn org_started(&self, org: &OrgId) {
        self.0.set_message(org.to_string());
    }
    fn org_finished(&self, outcome: &OrgOutcome) {
        self.0.println(outcome_line(outcome));
        self.0.inc(1);
    }
}

/// Plain lines when stderr is not a terminal (logs, CI).
struct Lines;

impl Progress for Lines {
    fn org_finished(&self, outcome: &OrgOutcome) {
        eprintln!("{}", outcome_line(outcome));
    }
}
