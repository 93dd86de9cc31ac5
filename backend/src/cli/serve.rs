//! `orgpulse serve` (also plain `orgpulse`): the portal plus the refresh schedule.
//! SIGTERM/SIGINT stop new upstream requests at once, let a running refresh finish its
//! writes for a few seconds, record it `interrupted`, release the lease, and exit.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use super::App;
use crate::ingest::refresher::Refresher;
use crate::ingest::schedule::{self, Schedule};
use crate::ingest::IngestContext;
use crate::metrics::Metrics;
use crate::web;
use crate::webhooks::Webhooks;

/// How long a running refresh may keep writing after a shutdown signal. Docker waits
/// 10 s before it kills; Rocket's own grace and mercy take 5 s of that, concurrently.
const SHUTDOWN_WRITE_BOUND: Duration = Duration::from_secs(4);
/// A catch-up refresh starts this long after start-up, once the server is answering.
const CATCH_UP_AFTER: Duration = Duration::from_secs(3);

pub(crate) async fn run(app: &App) -> anyhow::Result<ExitCode> {
    let schedule = Schedule::parse(&app.settings.schedule).map_err(anyhow::Error::msg)?;
    let metrics = Arc::new(Metrics::default());
    let background = Background::start().context("could not start the refresh threads")?;
    let refresher = Arc::new(
        Refresher::new(IngestContext::from_settings(
            app.store.clone(),
            &app.settings,
            metrics.clone(),
        ))
        .running_on(background.handle())
        .with_webhooks(Webhooks::from_settings(&app.settings)?),
    );
    let mut scheduler = schedule::start(
        refresher.clone(),
        &schedule,
        app.settings.run_retention_days,
        CATCH_UP_AFTER,
    )
    .await
    .context("could not start the refresh schedule")?;
    let services = web::Services {
        store: app.store.clone(),
        refresher: Some(refresher.clone()),
        schedule: Some(schedule),
        metrics,
        forges: app.settings.forges.clone(),
        attention: app.settings.attention_rules(),
    };
    let rocket = web::build(services, web::rocket_config())
        .context("could not load the page templates")?
        .attach(rocket::fairing::AdHoc::on_shutdown("stop refreshing", {
            let refresher = refresher.clone();
            move |_| {
                Box::pin(async move {
                    tracing::info!("shutdown requested: finishing requests, stopping any refresh");
                    refresher.shutdown(SHUTDOWN_WRITE_BOUND).await;
                })
            }
        }));
    let launched = rocket.launch().await;
    let _ = scheduler.shutdown().await;
    refresher.shutdown(SHUTDOWN_WRITE_BOUND).await;
    launched.map_err(|e| anyhow::anyhow!("the web server stopped: {e}"))?;
    Ok(ExitCode::SUCCESS)
}

/// The runtime refreshes run on: two threads of their own beside the web's workers, so a
/// refresh decoding and committing thousands of repositories competes with page requests
/// only as one more thread for the CPU, never by sitting in a worker's queue ahead of them.
#[derive(Debug)]
struct Background(Option<tokio::runtime::Runtime>);

impl Background {
    fn start() -> std::io::Result<Self> {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("orgpulse-refresh")
            .enable_all()
            .build()
            .map(|runtime| Background(Some(runtime)))
    }

    fn handle(&self) -> tokio::runtime::Handle {
        match &self.0 {
            Some(runtime) => runtime.handle().clone(),
            None => unreachable!("the runtime is only taken when dropped"),
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        // Dropped inside the web's runtime, where a blocking shutdown is not allowed; the
        // refresher has already been stopped (or the process is exiting).
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}
