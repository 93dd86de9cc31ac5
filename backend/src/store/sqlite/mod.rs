//! The embedded store: SQLite (bundled) through rusqlite, in WAL mode, with versioned
//! migrations compiled into the binary. Calls run on Tokio's blocking pool over one
//! connection; every multi-row write is one transaction with prepared statements.
//!
//! One file per concern of the store traits, in the same order as `mongo/`.

mod activity;
mod events;
mod health;
mod leases;
mod orgs;
mod runs;
mod security;
mod snapshots;
mod tokens;
mod tracked;
mod validators;
mod webhooks;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rusqlite::{Connection, TransactionBehavior};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{StoreError, StoreResult};

/// Schema migrations, applied in order; the index + 1 is the schema version.
const MIGRATIONS: &[&str] = &[
    include_str!("0001_init.sql"),
    include_str!("0002_tokens_leases.sql"),
    include_str!("0003_org_stamps.sql"),
    include_str!("0004_content_hash.sql"),
    include_str!("0005_repo_days.sql"),
    include_str!("0006_events.sql"),
    include_str!("0007_webhooks.sql"),
    include_str!("0008_org_repos.sql"),
    include_str!("0009_activity.sql"),
    include_str!("0010_activity_kind_key.sql"),
    include_str!("0011_activity_reads.sql"),
    include_str!("0012_security.sql"),
    include_str!("0013_scorecards.sql"),
];

/// The embedded SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Backend(Box::new(e))
    }
}

impl SqliteStore {
    /// Opens (creating it and its folder if needed) and migrates the database at `path`.
    pub async fn open(path: impl AsRef<Path>) -> StoreResult<SqliteStore> {
        let path = path.as_ref().to_path_buf();
        let conn = tokio::task::spawn_blocking(move || open_connection(&path))
            .await
            .map_err(|e| StoreError::Backend(Box::new(e)))??;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn call<T, F>(&self, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            // A panic mid-call rolls its transaction back when the statement drops, so the
            // connection itself is still sound.
            let mut conn = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(|e| StoreError::backend(format!("store task failed: {e}")))?
    }
}

fn open_connection(path: &Path) -> StoreResult<Connection> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::backend(format!(
                "cannot create the database folder {}: {e}",
                dir.display()
            ))
        })?;
    }
    let mut conn = Connection::open(path)
        .map_err(|e| StoreError::backend(format!("cannot open {}: {e}", path.display())))?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // WAL with NORMAL survives a killed process; only an OS crash can lose the last commit.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    migrate(&mut conn)?;
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: usize = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > MIGRATIONS.len() {
        return Err(StoreError::Unsupported(format!(
            "the database has schema version {version}, newer than this orgpulse knows ({}); upgrade orgpulse",
            MIGRATIONS.len()
        )));
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(version) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index + 1)?;
        tracing::info!(version = index + 1, "applied database migration");
    }
    tx.commit()?;
    Ok(())
}

/// Marks that stored data changed (see [`HealthStore::data_version`](super::HealthStore::data_version)).
fn bump(conn: &Connection) -> StoreResult<()> {
    conn.execute(
        "UPDATE meta SET value = value + 1 WHERE key = 'data_version'",
        [],
    )?;
    Ok(())
}

/// Marks that stored data about `org` changed: the data version and the org's stamp move
/// (see [`HealthStore::org_stamps`](super::HealthStore::org_stamps)).
fn bump_org(conn: &Connection, org: &str) -> StoreResult<()> {
    conn.execute(
        "INSERT INTO org_stamps (org, stamp) VALUES (?1, 1)
         ON CONFLICT (org) DO UPDATE SET stamp = stamp + 1",
        rusqlite::params![org],
    )?;
    bump(conn)
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_ts(s: &str) -> StoreResult<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("timestamp `{s}`: {e}")))
}

fn to_doc<T: Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn from_doc<T: DeserializeOwned>(doc: &str) -> StoreResult<T> {
    serde_json::from_str(doc).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn parse_day(s: &str) -> StoreResult<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| StoreError::Corrupt(format!("day `{s}`: {e}")))
}
