//! The tracked organisations, and their last outcomes.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::{bump_org, from_doc, parse_ts, ts, SqliteStore};
use crate::domain::OrgId;
use crate::store::{
    StoreError, StoreResult, TrackedOrg, TrackedOrgStore, PURGED_ORG_RECORDS, PURGED_ORG_ROWS,
    PURGED_REPO_ROWS,
};

#[async_trait]
impl TrackedOrgStore for SqliteStore {
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
            for org in &orgs {
                bump_org(&tx, org)?;
            }
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
            bump_org(conn, &org)?;
            Ok(added == 1)
        })
        .await
    }

    async fn list_tracked_orgs(&self) -> StoreResult<Vec<TrackedOrg>> {
        self.call(|conn| tracked_orgs(conn)).await
    }

    async fn remove_tracked_org(&self, org: &OrgId, purge: bool) -> StoreResult<bool> {
        let forge = org.forge().to_string();
        let org = org.to_string();
        self.call(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let removed = tx.execute("DELETE FROM tracked_orgs WHERE org = ?1", params![org])?;
            if purge {
                tx.execute("DELETE FROM org_repos WHERE org = ?1", params![org])?;
                // Repositories no organisation lists any more go, with their libraries.
                let per_repo = PURGED_REPO_ROWS.iter().map(|t| (*t, "repo_id"));
                for (table, id) in per_repo.chain([("repos", "id")]) {
                    tx.execute(
                        &format!(
                            "DELETE FROM {table} WHERE forge = ?1 AND NOT EXISTS
                               (SELECT 1 FROM org_repos m WHERE m.forge = {table}.forge AND m.repo_id = {table}.{id})"
                        ),
                        params![forge],
                    )?;
                }
                for table in PURGED_ORG_RECORDS.iter().chain(&PURGED_ORG_ROWS) {
                    tx.execute(&format!("DELETE FROM {table} WHERE org = ?1"), params![org])?;
                }
            }
            bump_org(&tx, &org)?;
            tx.commit()?;
            Ok(removed == 1)
        })
        .await
    }
}

pub(super) fn tracked_orgs(conn: &Connection) -> StoreResult<Vec<TrackedOrg>> {
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
