//! Repository upserts per second into each store: batched (the store's own commit path,
//! one transaction / one `update` command per 1,000 statements) against one at a time (the
//! same upsert sent per document, as a naive pipeline would), in the same run.
//!
//! usage: store_bench [--repos N] [--mongo URI]   (URI default: ORGPULSE_TEST_MONGODB_URI)

use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use orgpulse::domain::OrgId;
use orgpulse::store::prelude::*;
use support::{commit_on, records};

mod support;

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value_t = 100_000)]
    repos: usize,
    #[arg(long, env = "ORGPULSE_TEST_MONGODB_URI")]
    mongo: Option<String>,
}

fn rate(n: usize, seconds: f64) -> String {
    format!("{:>9.0}/s", n as f64 / seconds)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let n = args.repos;
    println!("| store | batched ({n} in one commit) | one at a time ({n} upserts) | ratio |");
    println!("| --- | ---: | ---: | ---: |");

    // SQLite: the store's commit against the same upsert statement in autocommit mode.
    let dir = tempfile::tempdir()?;
    let store: Arc<dyn Store> =
        Arc::new(orgpulse::store::sqlite::SqliteStore::open(dir.path().join("bench.db")).await?);
    let org: OrgId = "github:bench".parse()?;
    let started = Instant::now();
    store
        .commit_org_refresh(&{
            let repos = records(&org, n, 0);
            commit_on(&org, chrono::Utc::now(), &repos, repos.clone())
        })
        .await?;
    let batched = started.elapsed().as_secs_f64();
    let conn = rusqlite::Connection::open(dir.path().join("bench.db"))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    let started = Instant::now();
    {
        let mut upsert = conn.prepare(
            "INSERT INTO repos (forge, id, org, name, full_name, language, stars, forks, open_issues,
                                pushed_at, license, archived, first_seen, gone_since, doc)
             VALUES ('github', ?1, 'github:single', ?2, ?3, 'Rust', ?4, 0, 0, NULL, 'MIT', 0, '2026-01-01', NULL, ?5)
             ON CONFLICT (forge, id) DO UPDATE SET stars = excluded.stars, doc = excluded.doc",
        )?;
        for repo in records(&"github:single".parse()?, n, 10_000_000) {
            let doc = serde_json::to_string(&repo)?;
            upsert.execute(rusqlite::params![
                repo.listing.id,
                repo.listing.name,
                repo.listing.full_name,
                repo.listing.stars as i64,
                doc
            ])?;
        }
    }
    let single = started.elapsed().as_secs_f64();
    println!(
        "| SQLite (bundled, WAL) | {} ({batched:.2} s) | {} ({single:.2} s) | **{:.1}×** |",
        rate(n, batched),
        rate(n, single),
        single / batched
    );

    // MongoDB: the store's commit (update commands of 1,000 statements) against update_one per document.
    let Some(uri) = args.mongo else {
        println!("\nMongoDB skipped: pass --mongo URI or set ORGPULSE_TEST_MONGODB_URI");
        return Ok(());
    };
    let mut url = url::Url::parse(&uri)?;
    let name = format!("orgpulse_bench_{}", uuid::Uuid::now_v7().simple());
    url.set_path(&format!("/{name}"));
    let store = orgpulse::store::mongo::MongoStore::open(url.as_str(), 30).await?;
    while store.ping().await.is_err() {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let started = Instant::now();
    store
        .commit_org_refresh(&{
            let repos = records(&org, n, 0);
            commit_on(&org, chrono::Utc::now(), &repos, repos.clone())
        })
        .await?;
    let batched = started.elapsed().as_secs_f64();
    let client = mongodb::Client::with_uri_str(&uri).await?;
    let repos = client
        .database(&name)
        .collection::<mongodb::bson::Document>("repos");
    let started = Instant::now();
    for repo in records(&"github:single".parse()?, n, 10_000_000) {
        repos
            .update_one(
                mongodb::bson::doc! { "_id": format!("github:{}", repo.listing.id) },
                mongodb::bson::doc! {
                    "$set": { "org": "github:single", "id": repo.listing.id, "stars": repo.listing.stars as i64, "doc": mongodb::bson::to_document(&repo)? },
                    "$setOnInsert": { "first_seen": "2026-01-01" },
                },
            )
            .upsert(true)
            .await?;
    }
    let single = started.elapsed().as_secs_f64();
    println!(
        "| MongoDB ({uri}) | {} ({batched:.2} s) | {} ({single:.2} s) | **{:.1}×** |",
        rate(n, batched),
        rate(n, single),
        single / batched
    );
    client.database(&name).drop().await?;
    Ok(())
}
