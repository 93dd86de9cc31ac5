//! `orgpulse refresh [--org ID]…`: one refresh now, in the foreground, with progress.
//! Exits 0 when every organisation refreshed, 1 when none did, 2 when some did.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::App;
use crate::domain::{OrgId, OrgOutcome, RefreshRun, RunStatus, Trigger};
use crate::ingest::{self, IngestContext, Progress};

#[derive(Debug, Args)]
pub struct RefreshArgs {
    /// Refresh only this organisation (repeatable); default: every tracked one.
    #[arg(long = "org", value_name = "ID")]
    pub orgs: Vec<OrgId>,
}

pub async fn run(app: &App, args: RefreshArgs) -> anyhow::Result<ExitCode> {
    let tracked: Vec<OrgId> = app
        .store
        .list_tracked_orgs()
        .await?
        .into_iter()
        .map(|t| t.org)
        .collect();
    let orgs = if args.orgs.is_empty() {
        tracked.clone()
    } else {
        dedup(args.orgs)
    };
    if orgs.is_empty() {
        eprintln!("no organisations are tracked; add one with `orgpulse orgs add github:NAME`");
        return Ok(ExitCode::SUCCESS);
    }
    for org in orgs.iter().filter(|o| !tracked.contains(o)) {
        eprintln!("note: {org} is not tracked; its data is stored but scheduled refreshes skip it (`orgpulse orgs add {org}`)");
    }

    let ctx = IngestContext::from_settings(app.store.clone(), &app.settings);
    eprintln!(
        "refreshing {} organisation(s) from {} (languages: {}, libraries: {}{})",
        orgs.len(),
        app.settings.github_api_url,
        on_off(ctx.options.languages),
        on_off(ctx.options.libraries),
        if app.settings.github_token.is_none() {
            "; set GITHUB_TOKEN for 5,000 requests/hour and per-repo details"
        } else {
            ""
        },
    );
    let queued = ingest::queue(&ctx, Trigger::Cli, orgs.clone()).await?;
    let progress: Box<dyn Progress> = if std::io::stderr().is_terminal() {
        Box::new(Bar::new(orgs.len()))
    } else {
        Box::new(Lines)
    };
    let run = ingest::run(&ctx, queued, progress.as_ref()).await?;
    drop(progress);
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
}

/// A progress bar for a terminal.
struct Bar(ProgressBar);

impl Bar {
    fn new(total: usize) -> Self {
        let bar = ProgressBar::new(total as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        Bar(bar)
    }
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

impl Drop for Bar {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

/// Plain lines when stderr is not a terminal (logs, CI).
struct Lines;

impl Progress for Lines {
    fn org_finished(&self, outcome: &OrgOutcome) {
        eprintln!("{}", outcome_line(outcome));
    }
}
