//! Organisations, repositories and libraries: the atomic per-organisation commit and
//! the reads the pages make.

use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::events::insert_events;
use super::snapshots::{history, write_repo_days};
use super::tracked::tracked_orgs;
use super::{bump_org, day, from_doc, parse_ts, to_doc, ts, SqliteStore};
use crate::domain::{events, Library, OrgId, OrgOutcome, OrgRecord, RepoRecord};
use crate::store::{
    as_member, LibraryUsage, OrgCommit, OrgDetail, OrgOverview, OrgStore, StoreError, StoreResult,
};

#[async_trait]
impl OrgStore for SqliteStore {
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
                // The repository's data once, whoever lists it; the day it was first seen
                // is written on insert only.
                let mut upsert = tx.prepare_cached(
                    "INSERT INTO repos (forge, id, name, full_name, language, stars, forks,
                                        open_issues, pushed_at, license, archived, first_seen, doc)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
                     ON CONFLICT (forge, id) DO UPDATE SET
                        name = excluded.name, full_name = excluded.full_name,
                        language = excluded.language, stars = excluded.stars,
                        forks = excluded.forks, open_issues = excluded.open_issues,
                        pushed_at = excluded.pushed_at, license = excluded.license,
                        archived = excluded.archived, doc = excluded.doc",
                )?;
                // This organisation's membership, with its own gone mark.
                let mut member = tx.prepare_cached(
                    "INSERT INTO org_repos (org, forge, repo_id, gone_since) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (org, forge, repo_id) DO UPDATE SET gone_since = excluded.gone_since",
                )?;
                for repo in &commit.repos {
                    let l = &repo.listing;
                    upsert.execute(params![
                        forge,
                        l.id,
                        l.name,
                        l.full_name,
                        l.language,
                        l.stars as i64,
                        l.forks as i64,
                        l.open_issues.map(|n| n as i64),
                        l.pushed_at.map(ts),
                        l.license,
                        l.archived,
                        day(repo.first_seen),
                        to_doc(repo)?,
                    ])?;
                    member.execute(params![org, forge, l.id, repo.gone_since.map(day)])?;
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
                    "INSERT INTO http_cache (url, org, etag, last_modified, payload, stored_at, content_hash)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (org, url) DO UPDATE SET etag = excluded.etag,
                        last_modified = excluded.last_modified, payload = excluded.payload,
                        stored_at = excluded.stored_at, content_hash = excluded.content_hash",
                )?;
                for entry in &commit.http_cache {
                    cache.execute(params![
                        entry.url,
                        org,
                        entry.etag,
                        entry.last_modified,
                        to_doc(&entry.payload)?,
                        ts(entry.stored_at),
                        entry.content_hash,
                    ])?;
                }
            }
            tx.execute(
                "INSERT INTO snapshots (org, day, totals) VALUES (?1, ?2, ?3)
                 ON CONFLICT (org, day) DO UPDATE SET totals = excluded.totals",
                params![
                    org,
                    day(commit.snapshot.day),
                    to_doc(&commit.snapshot.day_totals())?
                ],
            )?;
            write_repo_days(&tx, &org, commit.snapshot.day, &commit.snapshot.repos)?;
            insert_events(&tx, &commit.events)?;
            bump_org(&tx, &org)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn record_org_outcome(&self, outcome: &OrgOutcome) -> StoreResult<()> {
        let org = outcome.org.to_string();
        let doc = to_doc(outcome)?;
        let success = outcome.status.stored().then(|| ts(outcome.finished_at));
        let outcome = outcome.clone();
        self.call(move |conn| {
            let tx = conn.transaction()?;
            let previous: Option<OrgOutcome> = tx
                .query_row("SELECT outcome FROM org_status WHERE org = ?1", params![org], |r| r.get::<_, String>(0))
                .optional()?
                .map(|doc| from_doc(&doc))
                .transpose()?;
            if let Some(event) = events::outcome(previous.as_ref(), &outcome) {
                insert_events(&tx, &[event])?;
            }
            tx.execute(
                "INSERT INTO org_status (org, outcome, last_success_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (org) DO UPDATE SET outcome = excluded.outcome,
                    last_success_at = COALESCE(excluded.last_success_at, org_status.last_success_at)",
                params![org, doc, success],
            )?;
            bump_org(&tx, &org)?;
            tx.commit()?;
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
        let forge = org.forge().to_string();
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

    async fn org_libraries(&self, org: &OrgId) -> StoreResult<Vec<(i64, Library)>> {
        let org = org.to_string();
        self.call(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT l.repo_id, l.ecosystem, l.name, l.version, l.license
                 FROM repo_libraries l
                 JOIN org_repos m ON m.forge = l.forge AND m.repo_id = l.repo_id
                 WHERE m.org = ?1 AND m.gone_since IS NULL
                 ORDER BY l.repo_id, l.ecosystem, l.name, l.version",
            )?;
            let rows = stmt.query_map(params![org], |r| {
                Ok((
                    r.get(0)?,
                    Library {
                        ecosystem: r.get(1)?,
                        name: r.get(2)?,
                        version: r.get(3)?,
                        license: r.get(4)?,
                    },
                ))
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
            if !OrgDetail::is_known(tracked_since.is_some(), status.is_some(), record.is_some()) {
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
    let mut stmt = conn.prepare_cached(
        "SELECT r.doc, r.first_seen, m.gone_since
         FROM org_repos m JOIN repos r ON r.forge = m.forge AND r.id = m.repo_id
         WHERE m.org = ?1 ORDER BY m.repo_id",
    )?;
    let rows = stmt.query_map(params![org], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
        ))
    })?;
    let owner: OrgId = org
        .parse()
        .map_err(|e| StoreError::Corrupt(format!("organisation `{org}`: {e}")))?;
    let mut repos = Vec::new();
    for row in rows {
        let (doc, first_seen, gone_since) = row?;
        repos.push(as_member(
            from_doc(&doc)?,
            &owner,
            &first_seen,
            gone_since.as_deref(),
        )?);
    }
    Ok(repos)
}

fn library_usage(conn: &Connection, org: &str) -> StoreResult<Vec<LibraryUsage>> {
    let mut stmt = conn.prepare_cached(
        "SELECT l.ecosystem, l.name, COUNT(DISTINCT l.repo_id) AS used
         FROM repo_libraries l JOIN org_repos m ON m.forge = l.forge AND m.repo_id = l.repo_id
         WHERE m.org = ?1 AND m.gone_since IS NULL
         GROUP BY l.ecosystem, l.name",
    )?;
    let rows = stmt.query_map(params![org], |r| {
        Ok(LibraryUsage {
            ecosystem: r.get(0)?,
            name: r.get(1)?,
            repos: r.get::<_, i64>(2)? as u64,
        })
    })?;
    let mut usage = rows.collect::<Result<Vec<_>, _>>()?;
    LibraryUsage::sort(&mut usage);
    Ok(usage)
}
