//! Fills a database with realistic data and history by running the real ingest pipeline
//! against an in-process fakeforge, one refresh per simulated day (a few days skipped, as
//! happens in life). The organisations are spread over the three built-in forges in turn —
//! `github`, `gitlab` (a group with a subgroup) and `codeberg` (Forgejo) — each read
//! through its own flavour of the fake. Used by the browser test and for trying the portal
//! out:
//!
//! ```sh
//! cargo run --example demo -- --db data/orgpulse.db --days 45
//! cargo run            # then open http://127.0.0.1:8000
//! ```

use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use clap::Parser;
use fakeforge::{Flavour, ForgeConfig, Life, WorldConfig};
use orgpulse::domain::{ForgeKind, RunOptions, Trigger};
use orgpulse::ingest::{self, Clock, ForgeAccess, IngestContext, Silent};
use orgpulse::sources::HttpPolicy;
use orgpulse::store::{Store, StoreOptions};

#[derive(Debug, Parser)]
struct Args {
    /// The SQLite database to fill (created if missing), or a store URL:
    /// `sqlite://PATH` or `mongodb://…`.
    #[arg(long, default_value = "data/orgpulse.db")]
    db: String,
    /// Simulated days of history, ending today.
    #[arg(long, default_value_t = 45)]
    days: u32,
    #[arg(long, default_value_t = 4)]
    orgs: usize,
    #[arg(long, default_value_t = 240)]
    repos: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let today = Utc::now().date_naive();
    // The world's day 0 is the day before the first refresh, so pushes on a simulated
    // day land before that day's refresh and "3 days ago" reads right against today.
    let epoch = (today - Duration::days(i64::from(args.days)))
        .and_hms_opt(0, 0, 0)
        .expect("valid time")
        .and_utc()
        .timestamp();
    let forge = fakeforge::start(ForgeConfig {
        world: WorldConfig {
            orgs: args.orgs,
            repos: args.repos,
            seed: args.seed,
            changed_per_day: 0.04,
        },
        // Repositories with a past, archived, relicensed, moved to `main` and deleted on
        // some days: the demo shows every kind of change.
        life: Life {
            epoch,
            eventful: true,
            ..Life::default()
        },
        // Many simulated days go by in seconds: don't let the hourly budget run out.
        rate_limit: 1_000_000,
        ..ForgeConfig::default()
    })
    .await?;
    let store = open_store(&args.db).await?;
    // A token for the fake GitHub: its details and activity come over GraphQL, which
    // refuses anonymous calls (fakeforge takes any token).
    let github = ForgeAccess {
        token: Some(orgpulse::domain::Secret::new("demo-token")),
        ..ForgeAccess::github(&forge.url)
    };
    let forges = [
        github,
        ForgeAccess::new(
            "gitlab",
            ForgeKind::GitLab,
            &format!("{}{}", forge.url, Flavour::GitLab.root()),
        ),
        ForgeAccess::new(
            "codeberg",
            ForgeKind::Forgejo,
            &format!("{}{}", forge.url, Flavour::Forgejo.root()),
        ),
    ];
    let orgs: Vec<orgpulse::domain::OrgId> = forge
        .forge
        .world()
        .orgs
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let name = forges[i % forges.len()].instance.name.as_str();
            format!("{name}:{}", o.login).parse()
        })
        .collect::<Result<_, _>>()?;
    let start = Utc.from_utc_datetime(
        &(today - Duration::days(i64::from(args.days)))
            .and_hms_opt(9, 0, 0)
            .expect("valid time"),
    );
    // Seeding marks the tracked list as set, so ORGPULSE_ORGS does not add to it later.
    store.seed_tracked_orgs(&orgs, start).await?;
    for org in &orgs {
        store.add_tracked_org(org, start).await?;
    }
    for day in 0..args.days {
        // Two missed days, so charts show what a gap looks like.
        if args.days > 20 && (day == args.days / 3 || day == args.days / 3 + 1) {
            continue;
        }
        forge.forge.set_day(day);
        let date = today - Duration::days(i64::from(args.days - 1 - day));
        let at = Utc.from_utc_datetime(&date.and_hms_opt(3, 0, 0).expect("valid time"));
        let ctx = IngestContext {
            store: store.clone(),
            forges: forges.to_vec(),
            http: HttpPolicy {
                concurrency: 8,
                ..HttpPolicy::default()
            },
            options: RunOptions {
                languages: true,
                libraries: true,
            },
            org_parallelism: 4,
            clock: Clock::fixed(at),
            cancel: Default::default(),
            metrics: Default::default(),
            // Every organisation's issues, pull requests and releases.
            activity: orgpulse::ingest::ActivityOptions {
                enabled: true,
                days: 90,
                bots: Default::default(),
            },
            // fakeforge's OSV stand-in knows advisories for the world's libraries; its
            // Scorecard stand-in scores three GitHub repositories in four.
            security: orgpulse::ingest::SecurityOptions {
                osv_url: Some(format!("{}/osv", forge.url)),
                osv_data_dir: None,
                scorecard_url: Some(format!("{}/scorecard", forge.url)),
                osv_policy: HttpPolicy::default(),
            },
        };
        let run = ingest::queue(&ctx, Trigger::Schedule, orgs.clone()).await?;
        let run = ingest::run(&ctx, run, &Silent).await?;
        println!(
            "{date}: {} — {} requests, {} not modified, {} repos changed",
            run.status.as_str(),
            run.counts.requests,
            run.counts.not_modified,
            run.counts.repos_changed
        );
    }
    println!(
        "{} organisations with {} days of history in {}",
        orgs.len(),
        args.days,
        args.db
    );
    Ok(())
}

/// A path is an SQLite file; a URL names either store. A MongoDB store connects in the
/// background: wait until it answers before writing.
async fn open_store(db: &str) -> anyhow::Result<Arc<dyn Store>> {
    let url = if db.contains("://") {
        db.to_owned()
    } else {
        format!("sqlite://{db}")
    };
    let store = orgpulse::store::open(&url, StoreOptions::default()).await?;
    let mut last = None;
    for _ in 0..300 {
        match store.ping().await {
            Ok(()) => return Ok(store),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    anyhow::bail!("the store did not get ready: {last:?}")
}
