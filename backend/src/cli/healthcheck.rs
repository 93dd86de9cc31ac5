//! `orgpulse healthcheck`: exits 0 when the local server answers `/healthz` — for
//! container health checks, where no curl is installed.

use std::net::IpAddr;
use std::process::ExitCode;
use std::time::Duration;

use crate::web;

pub(crate) async fn run() -> anyhow::Result<ExitCode> {
    let config: rocket::Config = web::rocket_config().extract()?;
    // A server bound to every address is reached on loopback.
    let host = match config.address {
        IpAddr::V4(a) if a.is_unspecified() => "127.0.0.1".to_owned(),
        IpAddr::V6(a) if a.is_unspecified() => "[::1]".to_owned(),
        IpAddr::V6(a) => format!("[{a}]"),
        IpAddr::V4(a) => a.to_string(),
    };
    let url = format!("http://{host}:{}/healthz", config.port);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()?;
    match client.get(&url).send().await {
        Ok(response) if response.status().is_success() => Ok(ExitCode::SUCCESS),
        Ok(response) => {
            eprintln!("{url} answered {}", response.status());
            Ok(ExitCode::FAILURE)
        }
        Err(e) => {
            eprintln!("{url} did not answer: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}
