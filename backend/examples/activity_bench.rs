//! An organisation with many stored issues and pull requests (default 200,000 over two
//! years, on 2,000 repositories): its page uncached (after a data change) and from the
//! page cache, its activity API, and the storage an item takes — against the same page of
//! an organisation of as many repositories whose activity was never read, measured in the
//! same run (the baseline). SQLite always; MongoDB with `--mongo URI` (the query figures
//! only: the test server has no storage engine to measure).
//!
//! usage: activity_bench [--items N] [--repos N] [--rounds N] [--mongo URI]
//! (`READS=1` first times each store read the page makes; `BENCH_DB=path` keeps the SQLite
//! database for a look at its query plans)

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use clap::Parser;
use orgpulse::domain::activity::{ActivityItem, ItemKind, ItemState, ReleaseRecord};
use orgpulse::domain::OrgId;
use orgpulse::store::prelude::*;
use orgpulse::store::ActivityCommit;
use rocket::local::asynchronous::Client;
use support::{commit_on, records};

mod support;

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value_t = 200_000)]
    items: usize,
    #[arg(long, default_value_t = 2_000)]
    repos: usize,
    /// Timed requests per figure (the median is reported).
    #[arg(long, default_value_t = 7)]
    rounds: usize,
    #[arg(long)]
    mongo: Option<String>,
}

/// SplitMix64, for items that look alike in every run.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Item `k` of `n` on `repos` repositories from `first_repo`, created over the two years
/// before `now`: two in three pull requests, 300 people and two bots, most answered
/// within hours, most closed or merged within weeks.
fn item(k: usize, repos: usize, first_repo: i64, now: DateTime<Utc>) -> ActivityItem {
    let s = mix(k as u64);
    let created = now - Duration::seconds((s % (730 * 86_400)) as i64);
    let pull = !s.is_multiple_of(3);
    let author = match mix(s ^ 1) % 40 {
        0 => "renovate[bot]".to_owned(),
        1 => "dependabot[bot]".to_owned(),
        n => format!("person-{}", (mix(s ^ 2) % 300) + n),
    };
    let bot = author.ends_with("[bot]");
    let response = (!s.is_multiple_of(7))
        .then(|| created + Duration::minutes((mix(s ^ 3) % (72 * 60)) as i64 + 5));
    let ended = created + Duration::hours((mix(s ^ 4) % (40 * 24)) as i64 + 1);
    let (state, closed, merged) = match mix(s ^ 5) % 10 {
        0..=2 => (ItemState::Open, None, None),
        3..=6 if pull => (ItemState::Merged, Some(ended), Some(ended)),
        _ => (ItemState::Closed, Some(ended), None),
    };
    let keep = |t: Option<DateTime<Utc>>| t.filter(|t| *t <= now);
    ActivityItem {
        forge: "github".parse().expect("forge"),
        id: k as i64 + 1,
        repo_id: first_repo + (mix(s ^ 6) % repos as u64) as i64,
        number: k as u64 + 1,
        kind: if pull {
            ItemKind::PullRequest
        } else {
            ItemKind::Issue
        },
        author: Some(author),
        author_bot: bot,
        created_at: created,
        closed_at: keep(closed),
        merged_at: keep(merged),
        first_response_at: keep(response),
        state: if keep(closed).is_some() {
            state
        } else {
            ItemState::Open
        },
        updated_at: created,
    }
}

fn median(mut ms: Vec<f64>) -> f64 {
    ms.sort_by(f64::total_cmp);
    ms[ms.len() / 2]
}

/// Median milliseconds of `uri`: uncached (the first answer of a fresh server, whose
/// caches are empty) and cached (the same request again).
async fn timed(store: &Arc<dyn Store>, uri: &str, rounds: usize) -> anyhow::Result<(f64, f64)> {
    let (mut cold, mut warm) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let rocket = orgpulse::web::build(
            orgpulse::web::Services::reading(store.clone()),
            orgpulse::web::rocket_config(),
        )?;
        let client = Client::untracked(rocket).await?;
        for times in [&mut cold, &mut warm] {
            let started = Instant::now();
            let answer = client.get(uri).dispatch().await;
            let status = answer.status();
            let body = answer.into_bytes().await.unwrap_or_default();
            times.push(started.elapsed().as_secs_f64() * 1e3);
            anyhow::ensure!(status.code == 200 && !body.is_empty(), "{uri}: {status}");
        }
    }
    Ok((median(cold), median(warm)))
}

async fn bench(
    name: &str,
    store: Arc<dyn Store>,
    args: &Args,
    sqlite: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let now = Utc::now();
    let (big, plain): (OrgId, OrgId) = ("github:big".parse()?, "github:plain".parse()?);
    for (org, offset) in [(&big, 1_000_000), (&plain, 2_000_000)] {
        store.add_tracked_org(org, now).await?;
        let repos = records(org, args.repos, offset);
        store
            .commit_org_refresh(&commit_on(org, now, &repos, repos.clone()))
            .await?;
    }
    let size = || -> anyhow::Result<u64> {
        let Some(path) = sqlite else { return Ok(0) };
        let conn = rusqlite::Connection::open(path)?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(std::fs::metadata(path)?.len())
    };
    let before = size()?;
    let started = Instant::now();
    for chunk in (0..args.items).collect::<Vec<_>>().chunks(10_000) {
        let items = chunk
            .iter()
            .map(|k| item(*k, args.repos, 1_000_000, now))
            .collect();
        store
            .commit_activity(&ActivityCommit {
                org: big.clone(),
                items,
                releases: vec![],
                synced_until: None,
            })
            .await?;
    }
    let releases = (0..args.repos as i64)
        .map(|r| ReleaseRecord {
            forge: "github".parse().expect("forge"),
            repo_id: 1_000_000 + r,
            tag: "v1.0.0".into(),
            published_at: now - Duration::days(r % 400),
        })
        .collect();
    store
        .commit_activity(&ActivityCommit {
            org: big.clone(),
            items: vec![],
            releases,
            synced_until: Some(now),
        })
        .await?;
    let written = started.elapsed().as_secs_f64();
    let after = size()?;
    if std::env::var("READS").is_ok() {
        let window = orgpulse::domain::activity::Window::ending(now.date_naive(), 90);
        let t = Instant::now();
        let n = store.activity_items(&big, window, None).await?.len();
        eprintln!("activity_items 90d: {n} in {:?}", t.elapsed());
        let t = Instant::now();
        let people: Vec<String> = (0..400).map(|p| format!("person-{p}")).collect();
        let n = store.first_items(&big, &people).await?.len();
        eprintln!("first_items: {n} in {:?}", t.elapsed());
        let t = Instant::now();
        let n = store.releases(&big, None).await?.len();
        eprintln!("releases: {n} in {:?}", t.elapsed());
        let t = Instant::now();
        let n = store.waiting_items(&big, now).await?.len();
        eprintln!("waiting_items: {n} in {:?}", t.elapsed());
        let t = Instant::now();
        let n = store.activity_synced_until(&big).await?;
        eprintln!("synced_until: {n:?} in {:?}", t.elapsed());
    }
    let page = |org: &OrgId| format!("/orgs/{}/{}", org.forge(), org.login());
    let (base_cold, base_warm) = timed(&store, &page(&plain), args.rounds).await?;
    let (cold, warm) = timed(&store, &page(&big), args.rounds).await?;
    let api = "/api/v1/orgs/github/big/activity";
    let (api_cold, api_warm) = timed(&store, api, args.rounds).await?;
    let per_item = if sqlite.is_some() {
        format!(
            "{:.0}",
            (after.saturating_sub(before)) as f64 / args.items as f64
        )
    } else {
        "not measured (test server)".to_owned()
    };
    println!(
        "| {name} | {} | {:.1} s ({:.0}/s) | {per_item} | {base_cold:.1} ms | {cold:.1} ms (**{:.1}×**) | {base_warm:.2} ms | {warm:.2} ms (**{:.1}×**) | {api_cold:.1} ms / {api_warm:.2} ms |",
        args.items,
        written,
        args.items as f64 / written,
        cold / base_cold,
        warm / base_warm
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    println!(
        "| store | items | written in | bytes per item | page, no activity (baseline), uncached | page with the items, uncached | baseline, cached | with the items, cached | activity API uncached / cached |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let dir = tempfile::tempdir()?;
    let path = std::env::var("BENCH_DB")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| dir.path().join("bench.db"));
    let store: Arc<dyn Store> = Arc::new(orgpulse::store::sqlite::SqliteStore::open(&path).await?);
    bench("SQLite", store, &args, Some(&path)).await?;
    match args.mongo.clone() {
        Some(uri) => {
            let mut url = url::Url::parse(&uri)?;
            url.set_path(&format!(
                "/orgpulse_bench_{}",
                uuid::Uuid::now_v7().simple()
            ));
            let mongo = orgpulse::store::mongo::MongoStore::open(url.as_str(), 30).await?;
            while mongo.ping().await.is_err() {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            let store: Arc<dyn Store> = Arc::new(mongo);
            bench("MongoDB (wire test server)", store, &args, None).await?;
        }
        None => println!("\nMongoDB skipped: pass --mongo URI"),
    }
    Ok(())
}
