//! The embedded store: SQLite (bundled) through rusqlite, in WAL mode, with versioned
//! migrations compiled into the binary. Calls run on Tokio's blocking pool over one
//! connection; every multi-row write is one transaction with prepared statements.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{
    LeaseGrant, LibraryUsage, OrgCommit, OrgDetail, OrgOverview, Store, StoreError, StoreResult,
    TrackedOrg,
};
use crate::domain::{
    DayTotals, HttpCacheEntry, Lease, Library, OrgId, OrgOutcome, OrgRecord, RefreshRun,
    RepoRecord, RunId, RunStatus, Snapshot, TokenRecord,
};

/// Schema migrations, applied in order; the index + 1 is the schema version.
const MIGRATIONS: &[&str] = &[
    include_str!("sqlite/0001_init.sql"),
    include_str!("sqlite/0002_tokens_leases.sql"),
];

/// The embedded SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Backend(e.to_string())
    }
}

impl SqliteStore {
    /// Opens (creating it and its folder if needed) and migrates the database at `path`.
    pub async fn open(path: impl AsRef<Path>) -> StoreResult<SqliteStore> {
        let path = path.as_ref().to_path_buf();
        let opened = path.clone();
        let conn = tokio::task::spawn_blocking(move || open_connection(&opened))
            .await
            .map_err(|e| StoreError::Backend(e.to_string()))??;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            path,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
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
        .map_err(|e| StoreError::Backend(format!("store task failed: {e}")))?
    }
}

fn open_connection(path: &Path) -> StoreResult<Connection> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            StoreError::Backend(format!(
                "cannot create the database folder {}: {e}",
                dir.display()
            ))
        })?;
    }
    let mut conn = Connection::open(path)
        .map_err(|e| StoreError::Backend(format!("cannot open {}: {e}", path.display())))?;
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

/// Marks that stored data changed (see [`Store::data_version`]).
fn bump(conn: &Connection) -> StoreResult<()> {
    conn.execute(
        "UPDATE meta SET value = value + 1 WHERE key = 'data_version'",
        [],
    )?;
    Ok(())
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

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        self.call(|conn| {
            conn.query_row("SELECT 1", [], |_| Ok(()))?;
            Ok(())
        })
        .await
    }

    async fn data_version(&self) -> StoreResult<i64> {
        self.call(|conn| {
            Ok(conn.query_row(
                "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'data_version'",
                [],
                |r| r.get(0),
            )?)
        })
        .await
    }

    // ----- tracked organisations -------------------------------------------------------

    async fn seed_tracked_orgs(&self, orgs: &[OrgId], now: DateTime<Utc>) -> StoreResult<bool> {
        let orgs: Vec<String> = orgs.iter().map(ToString::to_string).collect();
        self.call(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let seeded: Option<String> = tx
                .query_row("SELECT value FROM meta WHERE key = 'seeded_at'", [], |r| r.get(0))
                .optional()?;
            if seeded.is_some() {
                return Ok(false);
            }
            for org in &orgs {
                tx.execute(
                    "INSERT INTO tracked_orgs (org, added_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                    params![org, ts(now)],
                )?;
            }
            tx.execute("INSERT INTO meta (key, value) VALUES ('seeded_at', ?1)", params![ts(now)])?;
            bump(&tx)?;
            tx.commit()?;
            Ok(true)
        })
        .await
    }

    async fn add_tracked_org(&self, org: &OrgId, now: DateTime<Utc>) -> StoreResult<bool> {
        let org = org.to_string();
        self.call(move |conn| {
            let added = conn.execute(
                "INSERT INTO tracked_orgs (org, added_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                params![org, ts(now)],
            )?;
            bump(conn)?;
            Ok(added == 1)
        })
        .await
    }

    async fn list_tracked_orgs(&self) -> StoreResult<Vec<TrackedOrg>> {
        self.call(|conn| tracked_orgs(conn)).await
    }

    async fn remove_tracked_org(&self, org: &OrgId, purge: bool) -> StoreResult<bool> {
        let org = org.to_string();
        self.call(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let removed = tx.execute("DELETE FROM tracked_orgs WHERE org = ?1", params![org])?;
            if purge {
                tx.execute(
                    "DELETE FROM repo_libraries WHERE (forge, repo_id) IN
                       (SELECT forge, id FROM repos WHERE org = ?1)",
                    params![org],
                )?;
                for table in ["repos", "orgs", "snapshots", "http_cache", "org_status"] {
                    tx.execute(&format!("DELETE FROM {table} WHERE org = ?1"), params![org])?;
                }
            }
            bump(&tx)?;
            tx.commit()?;
            Ok(removed == 1)
        })
        .await
    }

    // ----- organisations, repositories, libraries --------------------------------------

    async fn commit_org_refresh(&self, commit: &OrgCommit) -> StoreResult<()> {
        let commit = commit.clone();
        self.call(move |conn| {
            let org = commit.record.org.to_string();
            let forge = commit.record.org.forge().as_str();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO orgs (org, fetched_at, doc) VALUES (?1, ?2, ?3)
                 ON CONFLICT (org) DO UPDATE SET fetched_at = excluded.fetched_at, doc = excluded.doc",
                params![org, ts(commit.record.fetched_at), to_doc(&commit.record)?],
            )?;
            {
                let mut upsert = tx.prepare_cached(
                    "INSERT INTO repos (forge, id, org, name, full_name, language, stars, forks,
                                        open_issues, pushed_at, license, archived, first_seen,
                                        gone_since, doc)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
                     ON CONFLICT (forge, id) DO UPDATE SET
                        org = excluded.org, name = excluded.name, full_name = excluded.full_name,
                        language = excluded.language, stars = excluded.stars,
                        forks = excluded.forks, open_issues = excluded.open_issues,
                        pushed_at = excluded.pushed_at, license = excluded.license,
                        archived = excluded.archived, gone_since = excluded.gone_since,
                        doc = excluded.doc",
                )?;
                for repo in &commit.repos {
                    let l = &repo.listing;
                    upsert.execute(params![
                        forge,
                        l.id,
                        repo.org.to_string(),
                        l.name,
                        l.full_name,
                        l.language,
                        l.stars as i64,
                        l.forks as i64,
                        l.open_issues as i64,
                        l.pushed_at.map(ts),
                        l.license,
                        l.archived,
                        day(repo.first_seen),
                        repo.gone_since.map(day),
                        to_doc(repo)?,
                    ])?;
                }
                let mut clear = tx.prepare_cached("DELETE FROM repo_libraries WHERE forge = ?1 AND repo_id = ?2")?;
                let mut insert = tx.prepare_cached(
                    "INSERT INTO repo_libraries (forge, repo_id, ecosystem, name, version, license)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?;
                for set in &commit.libraries {
                    clear.execute(params![forge, set.repo_id])?;
                    for lib in &set.libraries {
                        insert.execute(params![forge, set.repo_id, lib.ecosystem, lib.name, lib.version, lib.license])?;
                    }
                }
                let mut cache = tx.prepare_cached(
                    "INSERT INTO http_cache (url, org, etag, last_modified, payload, stored_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (url) DO UPDATE SET org = excluded.org, etag = excluded.etag,
                        last_modified = excluded.last_modified, payload = excluded.payload,
                        stored_at = excluded.stored_at",
                )?;
                for entry in &commit.http_cache {
                    cache.execute(params![
                        entry.url,
                        org,
                        entry.etag,
                        entry.last_modified,
                        to_doc(&entry.payload)?,
                        ts(entry.stored_at),
                    ])?;
                }
            }
            tx.execute(
                "INSERT INTO snapshots (org, day, totals, repos) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (org, day) DO UPDATE SET totals = excluded.totals, repos = excluded.repos",
                params![
                    org,
                    day(commit.snapshot.day),
                    to_doc(&commit.snapshot.day_totals())?,
                    to_doc(&commit.snapshot.repos)?
                ],
            )?;
            bump(&tx)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn record_org_outcome(&self, outcome: &OrgOutcome) -> StoreResult<()> {
        let org = outcome.org.to_string();
        let doc = to_doc(outcome)?;
        let success = outcome.status.stored().then(|| ts(outcome.finished_at));
        self.call(move |conn| {
            conn.execute(
                "INSERT INTO org_status (org, outcome, last_success_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (org) DO UPDATE SET outcome = excluded.outcome,
                    last_success_at = COALESCE(excluded.last_success_at, org_status.last_success_at)",
                params![org, doc, success],
            )?;
            bump(conn)?;
            Ok(())
        })
        .await
    }

    async fn get_org(&self, org: &OrgId) -> StoreResult<Option<OrgRecord>> {
        let org = org.to_string();
        self.call(move |conn| org_record(conn, &org)).await
    }

    async fn list_repos(&self, org: &OrgId) -> StoreResult<Vec<RepoRecord>> {
        let org = org.to_string();
        self.call(move |conn| repos(conn, &org)).await
    }

    async fn list_repo_libraries(&self, org: &OrgId, repo_id: i64) -> StoreResult<Vec<Library>> {
        let forge = org.forge().as_str();
        self.call(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT ecosystem, name, version, license FROM repo_libraries
                 WHERE forge = ?1 AND repo_id = ?2 ORDER BY ecosystem, name, version",
            )?;
            let rows = stmt.query_map(params![forge, repo_id], |r| {
                Ok(Library {
                    ecosystem: r.get(0)?,
                    name: r.get(1)?,
                    version: r.get(2)?,
                    license: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn library_usage(&self, org: &OrgId) -> StoreResult<Vec<LibraryUsage>> {
        let org = org.to_string();
        self.call(move |conn| library_usage(conn, &org)).await
    }

    async fn overview(&self) -> StoreResult<Vec<OrgOverview>> {
        self.call(|conn| {
            // One read transaction: every part sees the same state.
            let tx = conn.transaction()?;
            let mut overview = Vec::new();
            for tracked in tracked_orgs(&tx)? {
                let key = tracked.org.to_string();
                overview.push(OrgOverview {
                    record: org_record(&tx, &key)?,
                    history: history(&tx, &key, None, None)?,
                    tracked,
                });
            }
            tx.commit()?;
            Ok(overview)
        })
        .await
    }

    async fn org_detail(&self, org: &OrgId) -> StoreResult<Option<OrgDetail>> {
        let org = org.clone();
        self.call(move |conn| {
            let tx = conn.transaction()?;
            let key = org.to_string();
            let tracked_since: Option<String> = tx
                .query_row(
                    "SELECT added_at FROM tracked_orgs WHERE org = ?1",
                    params![key],
                    |r| r.get(0),
                )
                .optional()?;
            let status: Option<(String, Option<String>)> = tx
                .query_row(
                    "SELECT outcome, last_success_at FROM org_status WHERE org = ?1",
                    params![key],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            let record = org_record(&tx, &key)?;
            if tracked_since.is_none() && status.is_none() && record.is_none() {
                return Ok(None);
            }
            let (outcome, success) = status.unzip();
            let detail = OrgDetail {
                tracked_since: tracked_since.as_deref().map(parse_ts).transpose()?,
                last_outcome: outcome.as_deref().map(from_doc).transpose()?,
                last_success_at: success.flatten().as_deref().map(parse_ts).transpose()?,
                record,
                history: history(&tx, &key, None, None)?,
                repos: repos(&tx, &key)?,
                libraries: library_usage(&tx, &key)?,
                org,
            };
            tx.commit()?;
            Ok(Some(detail))
        })
        .await
    }

    // ----- snapshots ----------------------------------------------------------------------

    async fn list_snapshots(
        &self,
        org: &OrgId,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> StoreResult<Vec<Snapshot>> {
        let org_id = org.clone();
        let org = org.to_string();
        self.call(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT totals, repos FROM snapshots
                 WHERE org = ?1 AND (?2 IS NULL OR day >= ?2) AND (?3 IS NULL OR day <= ?3)
                 ORDER BY day",
            )?;
            let rows = stmt.query_map(params![org, from.map(day), to.map(day)], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?;
            let mut snapshots = Vec::new();
            for row in rows {
                let (totals, repos) = row?;
                let t: DayTotals = from_doc(&totals)?;
                snapshots.push(Snapshot {
                    org: org_id.clone(),
                    day: t.day,
                    taken_at: t.taken_at,
                    totals: t.totals,
                    languages: t.languages,
                    primary_languages: t.primary_languages,
                    repos: from_doc(&repos)?,
                });
            }
            Ok(snapshots)
        })
        .await
    }

    async fn list_history(
        &self,
        org: &OrgId,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> StoreResult<Vec<DayTotals>> {
        let org = org.to_string();
        self.call(move |conn| history(conn, &org, from, to)).await
    }

    // ----- HTTP validators ----------------------------------------------------------------

    async fn list_http_cache(&self, org: &OrgId) -> StoreResult<Vec<HttpCacheEntry>> {
        let org = org.to_string();
        self.call(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT url, etag, last_modified, payload, stored_at FROM http_cache WHERE org = ?1",
            )?;
            let rows = stmt.query_map(params![org], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })?;
            let mut entries = Vec::new();
            for row in rows {
                let (url, etag, last_modified, payload, stored_at) = row?;
                entries.push(HttpCacheEntry {
                    url,
                    etag,
                    last_modified,
                    payload: from_doc(&payload)?,
                    stored_at: parse_ts(&stored_at)?,
                });
            }
            Ok(entries)
        })
        .await
    }

    // ----- refresh runs -------------------------------------------------------------------

    async fn insert_run(&self, run: &RefreshRun) -> StoreResult<()> {
        let (id, created, status, doc) = (
            run.id.0.clone(),
            ts(run.created_at),
            run.status.as_str(),
            to_doc(run)?,
        );
        self.call(move |conn| {
            conn.execute(
                "INSERT INTO runs (id, created_at, status, doc) VALUES (?1, ?2, ?3, ?4)",
                params![id, created, status, doc],
            )?;
            bump(conn)?;
            Ok(())
        })
        .await
    }

    async fn update_run(&self, run: &RefreshRun) -> StoreResult<()> {
        let (id, status, doc) = (run.id.0.clone(), run.status.as_str(), to_doc(run)?);
        self.call(move |conn| {
            let updated = conn.execute(
                "UPDATE runs SET status = ?2, doc = ?3 WHERE id = ?1",
                params![id, status, doc],
            )?;
            if updated == 0 {
                return Err(StoreError::Backend(format!("run {id} does not exist")));
            }
            bump(conn)?;
            Ok(())
        })
        .await
    }

    async fn get_run(&self, id: &RunId) -> StoreResult<Option<RefreshRun>> {
        let id = id.0.clone();
        self.call(move |conn| {
            let doc: Option<String> = conn
                .query_row("SELECT doc FROM runs WHERE id = ?1", params![id], |r| {
                    r.get(0)
                })
                .optional()?;
            doc.as_deref().map(from_doc).transpose()
        })
        .await
    }

    async fn list_runs(&self, limit: usize) -> StoreResult<Vec<RefreshRun>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.call(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT doc FROM runs ORDER BY created_at DESC, id DESC LIMIT ?1",
            )?;
            let rows = stmt.query_map(params![limit], |r| r.get::<_, String>(0))?;
            rows.map(|doc| from_doc(&doc?)).collect()
        })
        .await
    }

    async fn last_success_at(&self) -> StoreResult<Option<DateTime<Utc>>> {
        self.call(|conn| {
            let doc: Option<String> = conn
                .query_row(
                    "SELECT doc FROM runs WHERE status IN ('succeeded', 'partial')
                     ORDER BY created_at DESC LIMIT 1",
                    [],
                    |r| r.get(0),
                )
                .optional()?;
            let run: Option<RefreshRun> = doc.as_deref().map(from_doc).transpose()?;
            Ok(run.and_then(|r| r.finished_at))
        })
        .await
    }

    async fn interrupt_unfinished_runs(
        &self,
        keep: &RunId,
        message: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let keep = keep.0.clone();
        let message = message.to_owned();
        self.call(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let docs: Vec<String> = {
                let mut stmt = tx.prepare(
                    "SELECT doc FROM runs WHERE status IN ('queued', 'running') AND id <> ?1",
                )?;
                let rows = stmt.query_map(params![keep], |r| r.get::<_, String>(0))?;
                rows.collect::<Result<_, _>>()?
            };
            for doc in &docs {
                let mut run: RefreshRun = from_doc(doc)?;
                run.status = RunStatus::Interrupted;
                run.finished_at = Some(now);
                run.message = Some(message.clone());
                tx.execute(
                    "UPDATE runs SET status = ?2, doc = ?3 WHERE id = ?1",
                    params![run.id.0, run.status.as_str(), to_doc(&run)?],
                )?;
            }
            if !docs.is_empty() {
                bump(&tx)?;
            }
            tx.commit()?;
            Ok(docs.len() as u64)
        })
        .await
    }

    async fn delete_runs_before(&self, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        self.call(move |conn| {
            let deleted = conn.execute(
                "DELETE FROM runs WHERE created_at < ?1 AND status NOT IN ('queued', 'running')",
                params![ts(cutoff)],
            )?;
            if deleted > 0 {
                bump(conn)?;
            }
            Ok(deleted as u64)
        })
        .await
    }

    // ----- the refresh lease --------------------------------------------------------------

    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        run_id: &RunId,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<LeaseGrant> {
        let (name, holder, run_id) = (name.to_owned(), holder.to_owned(), run_id.0.clone());
        self.call(move |conn| {
            // IMMEDIATE takes the write lock first: no other connection can read the old
            // row and decide the same way in between.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let current: Option<(String, Option<String>, String)> = tx
                .query_row(
                    "SELECT holder, run_id, expires_at FROM leases WHERE name = ?1",
                    params![name],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            if let Some((other, other_run, expires)) = current {
                let expires_at = parse_ts(&expires)?;
                if other != holder && expires_at > now {
                    return Ok(LeaseGrant::Held(Lease {
                        name,
                        holder: other,
                        run_id: other_run.map(RunId),
                        expires_at,
                    }));
                }
            }
            tx.execute(
                "INSERT INTO leases (name, holder, run_id, expires_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,
                    run_id = excluded.run_id, expires_at = excluded.expires_at",
                params![name, holder, run_id, ts(until)],
            )?;
            tx.commit()?;
            Ok(LeaseGrant::Acquired)
        })
        .await
    }

    async fn renew_lease(
        &self,
        name: &str,
        holder: &str,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.call(move |conn| {
            let updated = conn.execute(
                "UPDATE leases SET expires_at = ?3 WHERE name = ?1 AND holder = ?2",
                params![name, holder, ts(until)],
            )?;
            Ok(updated == 1)
        })
        .await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.call(move |conn| {
            conn.execute(
                "DELETE FROM leases WHERE name = ?1 AND holder = ?2",
                params![name, holder],
            )?;
            Ok(())
        })
        .await
    }

    async fn take_over_lease(
        &self,
        name: &str,
        dead: &str,
        holder: &str,
        run_id: &RunId,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let (name, dead, holder, run_id) = (
            name.to_owned(),
            dead.to_owned(),
            holder.to_owned(),
            run_id.0.clone(),
        );
        self.call(move |conn| {
            let updated = conn.execute(
                "UPDATE leases SET holder = ?3, run_id = ?4, expires_at = ?5
                 WHERE name = ?1 AND holder = ?2",
                params![name, dead, holder, run_id, ts(until)],
            )?;
            Ok(updated == 1)
        })
        .await
    }

    // ----- API tokens ---------------------------------------------------------------------

    async fn insert_token(&self, token: &TokenRecord) -> StoreResult<bool> {
        let token = token.clone();
        self.call(move |conn| {
            let inserted = conn.execute(
                "INSERT INTO tokens (name, hash, created_at, expires_at, last_used_at)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                params![
                    token.name,
                    token.hash,
                    ts(token.created_at),
                    token.expires_at.map(ts),
                    token.last_used_at.map(ts)
                ],
            )?;
            Ok(inserted == 1)
        })
        .await
    }

    async fn list_tokens(&self) -> StoreResult<Vec<TokenRecord>> {
        self.call(|conn| {
            let mut stmt = conn.prepare(
                "SELECT name, hash, created_at, expires_at, last_used_at FROM tokens ORDER BY name",
            )?;
            let rows = stmt.query_map([], token_row)?;
            rows.map(|r| r?).collect()
        })
        .await
    }

    async fn find_token(&self, hash: &str) -> StoreResult<Option<TokenRecord>> {
        let hash = hash.to_owned();
        self.call(move |conn| {
            conn.query_row(
                "SELECT name, hash, created_at, expires_at, last_used_at FROM tokens WHERE hash = ?1",
                params![hash],
                token_row,
            )
            .optional()?
            .transpose()
        })
        .await
    }

    async fn touch_token(&self, name: &str, now: DateTime<Utc>) -> StoreResult<()> {
        let name = name.to_owned();
        self.call(move |conn| {
            conn.execute(
                "UPDATE tokens SET last_used_at = ?2 WHERE name = ?1",
                params![name, ts(now)],
            )?;
            Ok(())
        })
        .await
    }

    async fn revoke_token(&self, name: &str) -> StoreResult<bool> {
        let name = name.to_owned();
        self.call(move |conn| {
            Ok(conn.execute("DELETE FROM tokens WHERE name = ?1", params![name])? == 1)
        })
        .await
    }
}

// ----- reads shared by the single-purpose methods and the one-call summaries ----------------

fn tracked_orgs(conn: &Connection) -> StoreResult<Vec<TrackedOrg>> {
    let mut stmt = conn.prepare_cached(
        "SELECT t.org, t.added_at, s.outcome, s.last_success_at
         FROM tracked_orgs t LEFT JOIN org_status s ON s.org = t.org
         ORDER BY t.org",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, Option<String>>(3)?,
        ))
    })?;
    let mut tracked = Vec::new();
    for row in rows {
        let (org, added_at, outcome, success) = row?;
        tracked.push(TrackedOrg {
            org: org
                .parse()
                .map_err(|e| StoreError::Corrupt(format!("{e}")))?,
            added_at: parse_ts(&added_at)?,
            last_outcome: outcome.as_deref().map(from_doc).transpose()?,
            last_success_at: success.as_deref().map(parse_ts).transpose()?,
        });
    }
    Ok(tracked)
}

fn org_record(conn: &Connection, org: &str) -> StoreResult<Option<OrgRecord>> {
    let doc: Option<String> = conn
        .query_row("SELECT doc FROM orgs WHERE org = ?1", params![org], |r| {
            r.get(0)
        })
        .optional()?;
    doc.as_deref().map(from_doc).transpose()
}

fn repos(conn: &Connection, org: &str) -> StoreResult<Vec<RepoRecord>> {
    let mut stmt =
        conn.prepare_cached("SELECT doc, first_seen FROM repos WHERE org = ?1 ORDER BY id")?;
    let rows = stmt.query_map(params![org], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut repos = Vec::new();
    for row in rows {
        let (doc, first_seen) = row?;
        let mut repo: RepoRecord = from_doc(&doc)?;
        // The column keeps the first date ever written; the document follows it.
        repo.first_seen = first_seen
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("first_seen `{first_seen}`: {e}")))?;
        repos.push(repo);
    }
    Ok(repos)
}

fn library_usage(conn: &Connection, org: &str) -> StoreResult<Vec<LibraryUsage>> {
    let mut stmt = conn.prepare_cached(
        "SELECT l.ecosystem, l.name, COUNT(DISTINCT l.repo_id) AS used
         FROM repo_libraries l JOIN repos r ON r.forge = l.forge AND r.id = l.repo_id
         WHERE r.org = ?1 AND r.gone_since IS NULL
         GROUP BY l.ecosystem, l.name
         ORDER BY used DESC, l.ecosystem, l.name",
    )?;
    let rows = stmt.query_map(params![org], |r| {
        Ok(LibraryUsage {
            ecosystem: r.get(0)?,
            name: r.get(1)?,
            repos: r.get::<_, i64>(2)? as u64,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

fn history(
    conn: &Connection,
    org: &str,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> StoreResult<Vec<DayTotals>> {
    let mut stmt = conn.prepare_cached(
        "SELECT totals FROM snapshots
         WHERE org = ?1 AND (?2 IS NULL OR day >= ?2) AND (?3 IS NULL OR day <= ?3)
         ORDER BY day",
    )?;
    let rows = stmt.query_map(params![org, from.map(day), to.map(day)], |r| {
        r.get::<_, String>(0)
    })?;
    rows.map(|doc| from_doc(&doc?)).collect()
}

/// A `tokens` row; the outer `Result` is SQLite's, the inner one the decoding's.
fn token_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoreResult<TokenRecord>> {
    let (name, hash, created, expires, used): (
        String,
        String,
        String,
        Option<String>,
        Option<String>,
    ) = (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
    Ok((|| {
        Ok(TokenRecord {
            name,
            hash,
            created_at: parse_ts(&created)?,
            expires_at: expires.as_deref().map(parse_ts).transpose()?,
            last_used_at: used.as_deref().map(parse_ts).transpose()?,
        })
    })())
}
