//! What per-repository history costs as it grows: an organisation of `--repos`
//! repositories (default 10,000) with `--days` daily snapshots (default 365), a
//! `--churn` share of its repositories changing counts each day, committed day by day
//! through the store's own commit path. Every time is the median of `--reps` runs and is
//! printed as a ratio against a baseline measured in the same run, the size each read must
//! not depend on:
//!
//! - the repository page (`repo_history`, the whole range) against the same read on an
//!   organisation with the same days and 1 % of the repositories: it must not grow with
//!   the organisation's size;
//! - movers (`repo_counts_on` at both ends of a 7- and a 90-day window) against the same
//!   on an organisation with the same repositories and 8 days: it must not grow with the
//!   history's length; `list_snapshots` of the same two days shows what reading whole
//!   snapshots would cost instead;
//! - the commit of day `--days` against the commit of day 8: a day's write must not grow
//!   with the history either;
//! - bytes per repository-day: SQLite's `repo_days` b-tree pages (from `dbstat`) and the
//!   BSON of MongoDB's `repo_days` documents, against the JSON arrays the snapshots held
//!   before (the same counts serialised as they were).
//!
//! usage: history_bench [--repos N] [--days N] [--churn F] [--reps N] [--mongo URI]
//!        [--mongo-repos N] [--mongo-days N]   (URI default: ORGPULSE_TEST_MONGODB_URI)
//!
//! MongoDB is measured for bytes only, on a smaller organisation: the wire test server
//! these machines run executes queries in Python (mongomock), so its times say nothing
//! about MongoDB's.

use std::time::{Duration, Instant};

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use clap::Parser;
use orgpulse::domain::{OrgId, RepoRecord, Snapshot};
use orgpulse::store::prelude::*;
use support::{commit_on, records};

mod support;

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value_t = 10_000)]
    repos: usize,
    #[arg(long, default_value_t = 365)]
    days: u32,
    /// Share of the repositories whose counts change each day.
    #[arg(long, default_value_t = 0.1)]
    churn: f64,
    #[arg(long, default_value_t = 25)]
    reps: usize,
    #[arg(long, env = "ORGPULSE_TEST_MONGODB_URI")]
    mongo: Option<String>,
    #[arg(long, default_value_t = 1_000)]
    mongo_repos: usize,
    #[arg(long, default_value_t = 30)]
    mongo_days: u32,
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, 1, 6, 0, 0)
        .single()
        .expect("date")
}

fn day(n: u32) -> NaiveDate {
    start().date_naive() + Days::new(u64::from(n))
}

/// Commits `days` daily refreshes of `org`'s `n` repositories, a `churn` share of them
/// gaining stars each day (a different, deterministic share each day); returns the median
/// time of the last five commits.
async fn fill(
    store: &dyn Store,
    org: &OrgId,
    n: usize,
    days: u32,
    churn: f64,
) -> anyhow::Result<Duration> {
    let mut repos: Vec<RepoRecord> = records(org, n, 0);
    let moving = ((n as f64 * churn).round() as usize).max(1);
    let mut times = Vec::new();
    for d in 0..days {
        let changed: Vec<RepoRecord> = if d == 0 {
            repos.clone()
        } else {
            let first = (d as usize * 7919) % n;
            (0..moving)
                .map(|k| {
                    let repo = &mut repos[(first + k * 13) % n];
                    repo.listing.stars += 1 + (k as u64 % 5);
                    repo.clone()
                })
                .collect()
        };
        let when = start() + Days::new(u64::from(d));
        let commit = commit_on(org, when, &repos, changed);
        let started = Instant::now();
        store.commit_org_refresh(&commit).await?;
        times.push(started.elapsed());
    }
    let mut last: Vec<Duration> = times.split_off(times.len().saturating_sub(5));
    last.sort();
    Ok(last[last.len() / 2])
}

/// The median time of `reps` runs of `op`.
async fn median<F, Fut>(reps: usize, mut op: F) -> anyhow::Result<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps {
        let started = Instant::now();
        op().await?;
        times.push(started.elapsed());
    }
    times.sort();
    Ok(times[times.len() / 2])
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn ratio(a: Duration, b: Duration) -> String {
    format!("**{:.2}×**", a.as_secs_f64() / b.as_secs_f64().max(1e-9))
}

/// Movers' reads: each listed repository's counts at both ends of a `window`-day window
/// ending on `to`.
async fn movers(store: &dyn Store, org: &OrgId, to: NaiveDate, window: u64) -> anyhow::Result<()> {
    let end = store.repo_counts_on(org, to).await?;
    let begin = store.repo_counts_on(org, to - Days::new(window)).await?;
    anyhow::ensure!(!end.is_empty() && !begin.is_empty(), "movers read nothing");
    Ok(())
}

/// What the snapshots' JSON arrays held for the same counts, per repository-day.
fn json_bytes_per_repo_day(org: &OrgId, n: usize) -> f64 {
    let repos = records(org, n, 0);
    let snapshot = Snapshot::of(org, start(), &repos);
    serde_json::to_vec(&snapshot.repos).map_or(0, |v| v.len()) as f64 / n as f64
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let (n, days) = (args.repos, args.days);
    anyhow::ensure!(
        days >= 91 && n >= 100,
        "needs at least 91 days and 100 repositories"
    );
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("history.db");
    let store = orgpulse::store::sqlite::SqliteStore::open(&path).await?;
    let big: OrgId = "github:big".parse()?;
    let few: OrgId = "github:few".parse()?;
    let young: OrgId = "github:young".parse()?;
    eprintln!(
        "filling SQLite: {n} repositories x {days} days, churn {}…",
        args.churn
    );
    let started = Instant::now();
    let last_commit = fill(&store, &big, n, days, args.churn).await?;
    eprintln!("  {:.1} s", started.elapsed().as_secs_f64());
    fill(&store, &few, n / 100, days, args.churn).await?;
    let young_commit = fill(&store, &young, n, 8, args.churn).await?;

    let rows: i64 = {
        let conn = rusqlite::Connection::open(&path)?;
        conn.query_row(
            "SELECT COUNT(*) FROM repo_days WHERE org = 'github:big'",
            [],
            |r| r.get(0),
        )?
    };
    let (pages, all_pages): (i64, i64) = {
        let conn = rusqlite::Connection::open(&path)?;
        conn.query_row(
            "SELECT (SELECT SUM(pgsize) FROM dbstat WHERE name = 'repo_days'),
                    (SELECT SUM(pgsize) FROM dbstat)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?
    };
    let repo_days_total = (n as f64 + n as f64 / 100.0) * f64::from(days) + n as f64 * 8.0;
    let last = day(days - 1);
    let busy = 0; // repository 0 moves on many days: the longest history to read
    let page_big = median(args.reps, || async {
        let h = store.repo_history(&big, busy, None, None).await?;
        anyhow::ensure!(h.len() == days as usize);
        Ok(())
    })
    .await?;
    let page_few = median(args.reps, || async {
        let h = store.repo_history(&few, busy, None, None).await?;
        anyhow::ensure!(h.len() == days as usize);
        Ok(())
    })
    .await?;
    let movers_7 = median(args.reps, || movers(&store, &big, last, 7)).await?;
    let movers_90 = median(args.reps, || movers(&store, &big, last, 90)).await?;
    let movers_young = median(args.reps, || movers(&store, &young, day(7), 7)).await?;
    let snapshots_7 = median(args.reps.min(5), || async {
        let s = store
            .list_snapshots(&big, Some(last - Days::new(7)), Some(last))
            .await?;
        anyhow::ensure!(s.len() == 8);
        Ok(())
    })
    .await?;

    println!("Per-repository history, SQLite: {n} repositories x {days} days, {:.0} % of them changing each day ({rows} change rows); median of {} runs.\n", args.churn * 100.0, args.reps);
    println!("| read or write | time | baseline (same run) | baseline time | ratio |");
    println!("| --- | ---: | --- | ---: | ---: |");
    println!(
        "| repository page (`repo_history`, {days} days) | {} | same, {} repositories | {} | {} |",
        ms(page_big),
        n / 100,
        ms(page_few),
        ratio(page_big, page_few)
    );
    println!(
        "| movers, 7 days (`repo_counts_on` x 2) | {} | same, {n} repositories x 8 days | {} | {} |",
        ms(movers_7),
        ms(movers_young),
        ratio(movers_7, movers_young)
    );
    println!(
        "| movers, 90 days | {} | same, {n} repositories x 8 days | {} | {} |",
        ms(movers_90),
        ms(movers_young),
        ratio(movers_90, movers_young)
    );
    println!(
        "| whole snapshots of the same 8 days (`list_snapshots`) | {} | movers, 7 days | {} | {} |",
        ms(snapshots_7),
        ms(movers_7),
        ratio(snapshots_7, movers_7)
    );
    println!(
        "| commit of a day, days {}-{days} ({} changed repositories; median of 5) | {} | days 4-8 of the same size | {} | {} |",
        days - 4,
        ((n as f64 * args.churn).round() as usize).max(1),
        ms(last_commit),
        ms(young_commit),
        ratio(last_commit, young_commit)
    );
    let json = json_bytes_per_repo_day(&big, n);
    let sqlite_bytes = pages as f64 / repo_days_total;
    println!("\nBytes per repository-day (every organisation in the file; the JSON arrays the snapshots held before as the baseline):\n");
    println!("| store | bytes per repository-day | JSON arrays before | ratio |");
    println!("| --- | ---: | ---: | ---: |");
    println!(
        "| SQLite `repo_days` pages ({:.1} MB of a {:.1} MB file) | {sqlite_bytes:.2} | {json:.1} | **{:.3}×** |",
        pages as f64 / 1e6,
        all_pages as f64 / 1e6,
        sqlite_bytes / json
    );

    let Some(uri) = args.mongo else {
        println!("\nMongoDB skipped: pass --mongo URI or set ORGPULSE_TEST_MONGODB_URI");
        return Ok(());
    };
    let mut url = url::Url::parse(&uri)?;
    let name = format!("orgpulse_bench_{}", uuid::Uuid::now_v7().simple());
    url.set_path(&format!("/{name}"));
    let mongo = orgpulse::store::mongo::MongoStore::open(url.as_str(), 30).await?;
    while mongo.ping().await.is_err() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (mn, md) = (args.mongo_repos, args.mongo_days);
    eprintln!("filling MongoDB: {mn} repositories x {md} days…");
    fill(&mongo, &big, mn, md, args.churn).await?;
    let client = mongodb::Client::with_uri_str(&uri).await?;
    let docs: Vec<mongodb::bson::Document> = futures::TryStreamExt::try_collect(
        client
            .database(&name)
            .collection::<mongodb::bson::Document>("repo_days")
            .find(mongodb::bson::doc! {})
            .await?,
    )
    .await?;
    let bson: usize = docs
        .iter()
        .map(|d| mongodb::bson::to_vec(d).map_or(0, |v| v.len()))
        .sum();
    let mongo_bytes = bson as f64 / (mn as f64 * f64::from(md));
    println!(
        "| MongoDB `repo_days` documents, uncompressed BSON with `_id` ({} documents, {mn} repositories x {md} days; indexes and WiredTiger's compression not counted) | {mongo_bytes:.2} | {json:.1} | **{:.3}×** |",
        docs.len(),
        mongo_bytes / json
    );
    client.database(&name).drop().await?;
    Ok(())
}
