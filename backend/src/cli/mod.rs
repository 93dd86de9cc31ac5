//! The command line: one file per subcommand. Every command loads the settings, opens
//! the store (seeding the tracked organisations on the first start) and then does its
//! part through `ingest` and `store`.

mod healthcheck;
mod orgs;
mod refresh;
mod serve;
mod token;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::Settings;
use crate::store::{self, Store};

/// Keeps an up-to-date, historical picture of organisations on code forges.
#[derive(Debug, Parser)]
#[command(name = "orgpulse", version, about, long_about = None)]
pub(crate) struct Cli {
    /// Configuration file (default: ./orgpulse.toml when it exists).
    #[arg(long, global = true, env = "ORGPULSE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// What to do; without one, `serve`.
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Serve the portal (the default).
    Serve,
    /// Exit 0 when the local server answers /healthz (for container health checks).
    Healthcheck,
    /// Refresh organisations now, in the foreground (exit 0: all ok, 1: failed, 2: partial).
    Refresh(refresh::RefreshArgs),
    /// Manage the tracked organisations.
    #[command(subcommand)]
    Orgs(orgs::OrgsCommand),
    /// Manage API tokens (for POST /api/v1/refresh and the other write routes).
    #[command(subcommand)]
    Token(token::TokenCommand),
}

/// What every command starts from.
#[derive(Debug, Clone)]
pub(crate) struct App {
    pub settings: Settings,
    pub store: Arc<dyn Store>,
}

/// How long a one-shot command waits for its database to answer.
const STORE_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

impl App {
    /// Opens the store `settings` name and seeds the tracked organisations once.
    ///
    /// With `wait_for_store` (one-shot commands) the database must answer within a bound
    /// or the command fails with the reason. Without it (`serve`) start-up goes on at once
    /// and seeding happens in the background as soon as the database answers, so the
    /// server is up (and `/readyz` says 503) while, say, MongoDB is still starting.
    pub(crate) async fn start(settings: Settings, wait_for_store: bool) -> anyhow::Result<App> {
        let where_ = store::redact_url(&settings.database_url);
        let options = store::StoreOptions {
            run_retention_days: settings.run_retention_days,
        };
        let store = store::open(&settings.database_url, options)
            .await
            .with_context(|| format!("could not open the store at {where_}"))?;
        let app = App { settings, store };
        if wait_for_store {
            let started = std::time::Instant::now();
            loop {
                match app.store.ping().await {
                    Ok(()) => break,
                    Err(e) if started.elapsed() < STORE_WAIT => {
                        tracing::debug!(error = %e, "waiting for the database");
                        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                    }
                    Err(e) => anyhow::bail!(
                        "the database at {where_} did not answer within {}s: {e}",
                        STORE_WAIT.as_secs()
                    ),
                }
            }
            app.seed().await?;
        } else {
            let seeding = app.clone();
            tokio::spawn(async move {
                let mut wait = std::time::Duration::from_millis(250);
                while let Err(e) = async {
                    seeding.store.ping().await?;
                    seeding.seed().await
                }
                .await
                {
                    tracing::warn!(
                        error = format!("{e:#}"),
                        "the database is not ready yet; retrying"
                    );
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(std::time::Duration::from_secs(30));
                }
            });
        }
        Ok(app)
    }

    async fn seed(&self) -> anyhow::Result<()> {
        if self
            .store
            .seed_tracked_orgs(&self.settings.orgs, chrono::Utc::now())
            .await?
        {
            let orgs: Vec<String> = self.settings.orgs.iter().map(ToString::to_string).collect();
            tracing::info!(orgs = %orgs.join(","), "seeded the tracked organisations from ORGPULSE_ORGS");
        }
        Ok(())
    }
}

/// Parses the command line, runs it and returns the process exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Exit 2 means "partial" for `refresh`; a usage error is a failure.
            return if e.use_stderr() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    init_logging(match cli.command {
        // Rocket warns about every catcher answer (each 401 and 404): noise here.
        None | Some(Command::Serve) => "info,rocket=error,hyper=warn",
        // The refresh command prints each organisation's outcome itself.
        _ => "warn,orgpulse::ingest=error",
    });
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Some(Command::Healthcheck) = cli.command {
        return healthcheck::run().await;
    }
    let serving = matches!(cli.command, None | Some(Command::Serve));
    let settings = Settings::load(cli.config.as_deref())?;
    // Organisations typed on the command line are checked against the configured forges
    // before anything is opened: a typo creates no database.
    let typed: &[String] = match &cli.command {
        Some(Command::Refresh(args)) => &args.orgs,
        Some(Command::Orgs(orgs::OrgsCommand::Add { id })) => std::slice::from_ref(id),
        _ => &[],
    };
    for id in typed {
        settings.forges.parse(id)?;
    }
    let app = App::start(settings, !serving).await?;
    match cli.command {
        None | Some(Command::Serve) => serve::run(&app).await,
        Some(Command::Refresh(args)) => refresh::run(&app, args).await,
        Some(Command::Orgs(command)) => orgs::run(&app, command).await,
        Some(Command::Token(command)) => token::run(&app, command).await,
        Some(Command::Healthcheck) => unreachable!("answered above"),
    }
}

/// Logs go to stderr; `ORGPULSE_LOG` (tracing's filter syntax) overrides `default`, and
/// `ORGPULSE_LOG_FORMAT=json` switches to one JSON object per line.
fn init_logging(default: &str) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{filter, Layer};

    let wanted = tracing_subscriber::EnvFilter::try_from_env("ORGPULSE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Whatever ORGPULSE_LOG asks for, Rocket stays at `info`: below that it dumps whole
    // requests, Authorization headers (API tokens) included.
    let no_request_dumps = filter::filter_fn(|meta| {
        !(meta.target().starts_with("rocket") && *meta.level() > tracing::Level::INFO)
    });
    let json = std::env::var("ORGPULSE_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    let layer = if json {
        fmt.json().boxed()
    } else {
        fmt.boxed()
    };
    // A second initialisation (tests) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(layer.with_filter(wanted).with_filter(no_request_dumps))
        .try_init();
}
