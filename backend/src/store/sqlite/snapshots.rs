//! The daily snapshots: totals by day, and per-repository counts as change rows
//! (`repo_days`, see `domain/history.rs`).

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::NaiveDate;
use rusqlite::{params, Connection, Transaction};

use super::{day, from_doc, parse_day, SqliteStore};
use crate::domain::history::{self, DayCounts, RepoChange};
use crate::domain::{DayTotals, OrgId, RepoCounts, RepoDay, Snapshot};
use crate::store::{SnapshotStore, StoreError, StoreResult};

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
            let tx = conn.transaction()?;
            let totals = history(&tx, &org, from, to)?;
            let days: Vec<NaiveDate> = totals.iter().map(|t| t.day).collect();
            let rows = change_rows(&tx, &org, None, to)?;
            let repos = history::replay(&days, &rows);
            tx.commit()?;
            Ok(totals
                .into_iter()
                .zip(repos)
                .map(|(day, repos)| Snapshot::from_parts(org_id.clone(), day, repos))
                .collect())
        })
        .await
    }

    async fn repo_history(
        &self,
        org: &OrgId,
        repo_id: i64,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> StoreResult<Vec<RepoDay>> {
        let org = org.to_string();
        self.call(move |conn| {
            let tx = conn.transaction()?;
            let days = snapshot_days(&tx, &org, from, to)?;
            let rows = change_rows(&tx, &org, Some(repo_id), to)?;
            tx.commit()?;
            Ok(history::series(&days, &rows))
        })
        .await
    }

    async fn repo_counts_on(&self, org: &OrgId, on: NaiveDate) -> StoreResult<Vec<RepoCounts>> {
        let org = org.to_string();
        self.call(move |conn| Ok(history::listed(latest_rows(conn, &org, &day(on), true)?)))
            .await
    }
}

pub(super) fn history(
    conn: &Connection,
    org: &str,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> StoreResult<Vec<DayTotals>> {
    snapshot_column(conn, "totals", org, from, to)?
        .iter()
        .map(|doc| from_doc(doc))
        .collect()
}

fn snapshot_days(
    conn: &Connection,
    org: &str,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> StoreResult<Vec<NaiveDate>> {
    snapshot_column(conn, "day", org, from, to)?
        .iter()
        .map(|d| parse_day(d))
        .collect()
}

/// `column` (`totals` or `day`) of `org`'s snapshots between `from` and `to`, oldest first.
fn snapshot_column(
    conn: &Connection,
    column: &'static str,
    org: &str,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> StoreResult<Vec<String>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {column} FROM snapshots
         WHERE org = ?1 AND (?2 IS NULL OR day >= ?2) AND (?3 IS NULL OR day <= ?3)
         ORDER BY day"
    ))?;
    let rows = stmt.query_map(params![org, from.map(day), to.map(day)], |r| {
        r.get::<_, String>(0)
    })?;
    rows.map(|r| r.map_err(StoreError::from)).collect()
}

fn counts_of(stars: Option<i64>, forks: Option<i64>, issues: Option<i64>) -> Option<DayCounts> {
    Some(DayCounts {
        stars: u64::try_from(stars?).unwrap_or(0),
        forks: u64::try_from(forks.unwrap_or(0)).unwrap_or(0),
        open_issues: issues.and_then(|n| u64::try_from(n).ok()),
    })
}

/// `org`'s change rows up to `to`, of one repository or all.
fn change_rows(
    conn: &Connection,
    org: &str,
    repo_id: Option<i64>,
    to: Option<NaiveDate>,
) -> StoreResult<Vec<RepoChange>> {
    // Two statements: `(?2 IS NULL OR repo_id = ?2)` would keep the planner from seeking
    // one repository's range of the key.
    let mut stmt = conn.prepare_cached(if repo_id.is_some() {
        "SELECT repo_id, day, stars, forks, open_issues FROM repo_days
         WHERE org = ?1 AND repo_id = ?2 AND (?3 IS NULL OR day <= ?3)"
    } else {
        "SELECT repo_id, day, stars, forks, open_issues FROM repo_days
         WHERE org = ?1 AND ?2 IS NULL AND (?3 IS NULL OR day <= ?3)"
    })?;
    let rows = stmt.query_map(params![org, repo_id, to.map(day)], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<i64>>(2)?,
            r.get::<_, Option<i64>>(3)?,
            r.get::<_, Option<i64>>(4)?,
        ))
    })?;
    rows.map(|row| {
        let (repo_id, d, stars, forks, issues) = row?;
        Ok(RepoChange {
            repo_id,
            day: parse_day(&d)?,
            counts: counts_of(stars, forks, issues),
        })
    })
    .collect()
}

/// Every repository id with rows of organisation `?1`, by a loose index scan: one seek
/// of the key (org, repo_id, day) per id rather than a read of every row.
const REPO_IDS: &str = "WITH RECURSIVE ids(id) AS (
        SELECT MIN(repo_id) FROM repo_days WHERE org = ?1
        UNION ALL
        SELECT (SELECT MIN(repo_id) FROM repo_days WHERE org = ?1 AND repo_id > ids.id)
        FROM ids WHERE ids.id IS NOT NULL
    )
    SELECT id FROM ids WHERE id IS NOT NULL";

/// The latest row per repository of `org` before `day` (on or before it when
/// `inclusive`), in O(repositories x log rows) whatever the length of the history: each
/// of [`REPO_IDS`] seeks its last row, instead of reading every row the organisation ever
/// wrote.
fn latest_rows(
    conn: &Connection,
    org: &str,
    day: &str,
    inclusive: bool,
) -> StoreResult<HashMap<i64, Option<DayCounts>>> {
    let bound = if inclusive { "<=" } else { "<" };
    let mut stmt = conn.prepare_cached(&format!(
        "WITH ids(id) AS ({REPO_IDS})
         SELECT d.repo_id, d.stars, d.forks, d.open_issues
         FROM ids JOIN repo_days d
           ON d.org = ?1 AND d.repo_id = ids.id
          AND d.day = (SELECT MAX(day) FROM repo_days
                       WHERE org = ?1 AND repo_id = ids.id AND day {bound} ?2)"
    ))?;
    let rows = stmt.query_map(params![org, day], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            counts_of(r.get(1)?, r.get(2)?, r.get(3)?),
        ))
    })?;
    rows.map(|r| r.map_err(StoreError::from)).collect()
}

/// Writes the change rows of `org`'s snapshot of `on` (replacing that day's, when the day
/// is committed again).
pub(super) fn write_repo_days(
    tx: &Transaction<'_>,
    org: &str,
    on: NaiveDate,
    listed: &[RepoCounts],
) -> StoreResult<()> {
    let key = day(on);
    // The day's rows, found by seeking (org, id, day) for each of the organisation's
    // repository ids (the key does not lead with the day).
    tx.prepare_cached(&format!(
        "DELETE FROM repo_days WHERE org = ?1 AND day = ?2 AND repo_id IN ({REPO_IDS})"
    ))?
    .execute(params![org, key])?;
    let latest = latest_rows(tx, org, &key, false)?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO repo_days (org, repo_id, day, stars, forks, open_issues)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for row in history::changes_for(on, &latest, listed) {
        let c = row.counts;
        insert.execute(params![
            org,
            row.repo_id,
            key,
            c.map(|c| c.stars as i64),
            c.map(|c| c.forks as i64),
            c.and_then(|c| c.open_issues).map(|n| n as i64)
        ])?;
    }
    Ok(())
}
