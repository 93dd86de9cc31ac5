//! Refresh runs, kept as JSON documents beside the columns they are queried by.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, TransactionBehavior};

use super::{bump, from_doc, to_doc, ts, SqliteStore};
use crate::domain::{RefreshRun, RunId, RunStatus};
use crate::store::{RunStore, StoreError, StoreResult};

#[async_trait]
impl RunStore for SqliteStore {
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
                return Err(StoreError::NotFound(format!("run {id}")));
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
                    &format!(
                        "SELECT doc FROM runs WHERE status IN ({})
                         ORDER BY created_at DESC LIMIT 1",
                        sql_list(&RunStatus::STORED_DATA)
                    ),
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
                let mut stmt = tx.prepare(&format!(
                    "SELECT doc FROM runs WHERE status IN ({}) AND id <> ?1",
                    sql_list(&RunStatus::UNFINISHED)
                ))?;
                let rows = stmt.query_map(params![keep], |r| r.get::<_, String>(0))?;
                rows.collect::<Result<_, _>>()?
            };
            for doc in &docs {
                let mut run: RefreshRun = from_doc(doc)?;
                run.interrupt(message.clone(), now);
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
                &format!(
                    "DELETE FROM runs WHERE created_at < ?1 AND status NOT IN ({})",
                    sql_list(&RunStatus::UNFINISHED)
                ),
                params![ts(cutoff)],
            )?;
            if deleted > 0 {
                bump(conn)?;
            }
            Ok(deleted as u64)
        })
        .await
    }
}

/// Statuses as an SQL list (`'queued', 'running'`); their names are fixed words.
fn sql_list(statuses: &[RunStatus]) -> String {
    let quoted: Vec<String> = statuses
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    quoted.join(", ")
}
