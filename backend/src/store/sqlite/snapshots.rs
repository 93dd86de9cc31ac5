//! The daily snapshots: totals and per-repository counts by day.

use async_trait::async_trait;
use chrono::NaiveDate;
use rusqlite::{params, Connection};

use super::{day, from_doc, SqliteStore};
use crate::domain::{DayTotals, OrgId, Snapshot};
use crate::store::{SnapshotStore, StoreResult};

#[async_trait]
impl SnapshotStore for SqliteStore {
    async fn list_history(
        &self,
        org: &OrgId,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> StoreResult<Vec<DayTotals>> {
        let org = org.to_string();
        self.call(move |conn| history(conn, &org, from, to)).await
    }

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
                snapshots.push(Snapshot::from_parts(
                    org_id.clone(),
                    from_doc(&totals)?,
                    from_doc(&repos)?,
                ));
            }
            Ok(snapshots)
        })
        .await
    }
}

pub(super) fn history(
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
