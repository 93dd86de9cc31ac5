//! `orgpulse serve` (also plain `orgpulse`): the web portal. Rocket stops gracefully on
//! SIGTERM and SIGINT. (The refresh scheduler joins it in its own issue.)

use std::process::ExitCode;

use anyhow::Context;

use super::App;
use crate::web;

pub async fn run(app: &App) -> anyhow::Result<ExitCode> {
    let rocket = web::build(app.store.clone(), web::rocket_config())
        .context("could not load the page templates")?;
    rocket
        .launch()
        .await
        .map_err(|e| anyhow::anyhow!("the web server stopped: {e}"))?;
    Ok(ExitCode::SUCCESS)
}
