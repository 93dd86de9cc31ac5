//! `fakeforge`: serve a synthetic GitHub, GitLab and Forgejo on 127.0.0.1.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use fakeforge::{Flavour, Forge, ForgeConfig, WorldConfig};

/// A local GitHub REST API (GitLab and Forgejo flavours beside it) with deterministic
/// synthetic organisations.
#[derive(Debug, Parser)]
#[command(name = "fakeforge", version)]
struct Args {
    /// Number of organisations.
    #[arg(long, default_value_t = 3)]
    orgs: usize,
    /// Repositories per organisation.
    #[arg(long, default_value_t = 120)]
    repos: usize,
    /// Seed of the synthetic world.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The world's day at start (0 = 2025-01-01).
    #[arg(long, default_value_t = 0)]
    day: u32,
    /// Repositories have a past before day 0 and are archived, relicensed, moved to
    /// `main` or deleted on some days (see `fakeforge::Life`).
    #[arg(long)]
    eventful: bool,
    /// How many of each organisation's first repositories have issues, pull requests and
    /// releases (about four items each).
    #[arg(long, default_value_t = 12)]
    active_repos: usize,
    /// The served day (`--day`) is today: the world's items, pushes and releases are dated
    /// around now, for a client that reads "the last 90 days" by its own clock.
    #[arg(long)]
    today: bool,
    /// Share of repositories pushed to each day.
    #[arg(long, default_value_t = 0.05)]
    changed_per_day: f64,
    /// Latency added to every answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Requests per rate-limit window (304 answers are free).
    #[arg(long, default_value_t = 5_000)]
    rate_limit: u64,
    /// Share of requests answered 502.
    #[arg(long, default_value_t = 0.0)]
    fail_rate: f64,
    /// Share of requests answered only after --stall-ms.
    #[arg(long, default_value_t = 0.0)]
    stall_rate: f64,
    /// How long a stalled answer takes, in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    stall_ms: u64,
    /// Share of requests answered with the body cut in half.
    #[arg(long, default_value_t = 0.0)]
    truncate_rate: f64,
    /// Share of requests answered with a secondary rate limit (403 with retry-after: 1
    /// and 429 without, in turn).
    #[arg(long, default_value_t = 0.0)]
    secondary_rate: f64,
    /// Share of listing entries replaced by malformed ones.
    #[arg(long, default_value_t = 0.0)]
    malformed_rate: f64,
    /// The Forgejo flavour's `max_response_items` (its cap on a page).
    #[arg(long, default_value_t = 50)]
    forgejo_max_items: usize,
    /// Port on 127.0.0.1.
    #[arg(long, default_value_t = 9000)]
    port: u16,
}

#[rocket::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = ForgeConfig {
        world: WorldConfig {
            orgs: args.orgs,
            repos: args.repos,
            seed: args.seed,
            changed_per_day: args.changed_per_day,
        },
        life: fakeforge::Life {
            eventful: args.eventful,
            active_repos: args.active_repos,
            epoch: if args.today {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs() as i64);
                (now / 86_400 - i64::from(args.day)) * 86_400
            } else {
                fakeforge::Life::default().epoch
            },
        },
        day: args.day,
        latency: Duration::from_millis(args.latency_ms),
        rate_limit: args.rate_limit,
        faults: fakeforge::Faults {
            server_error: args.fail_rate,
            stall: args.stall_rate,
            truncate: args.truncate_rate,
            secondary: args.secondary_rate,
            malformed: args.malformed_rate,
            stall_for: Duration::from_millis(args.stall_ms),
            ..fakeforge::Faults::default()
        },
        max_response_items: args.forgejo_max_items,
        ..ForgeConfig::default()
    };
    let forge = Arc::new(Forge::new(config));
    let logins: Vec<String> = forge
        .world()
        .orgs
        .iter()
        .map(|o| format!("github:{}", o.login))
        .collect();
    let addr = SocketAddr::from(([127, 0, 0, 1], args.port));
    println!(
        "fakeforge on http://{addr} with {} organisations: {}",
        logins.len(),
        logins.join(",")
    );
    println!(
        "GitLab flavour at http://{addr}{}, Forgejo flavour at http://{addr}{} (same organisations)",
        Flavour::GitLab.root(),
        Flavour::Forgejo.root()
    );
    let _ = fakeforge::rocket(forge, addr).launch().await?;
    Ok(())
}
