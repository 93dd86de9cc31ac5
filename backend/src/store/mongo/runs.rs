//! Refresh runs: the document beside the fields queried and expired on.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};

use super::{backend, date, from_doc, status_names, to_doc, MongoStore};
use crate::domain::{RefreshRun, RunId, RunStatus};
use crate::store::{RunStore, StoreError, StoreResult};

#[async_trait]
impl RunStore for MongoStore {
    async fn insert_run(&self, run: &RefreshRun) -> StoreResult<()> {
        self.wait_ready().await?;
        self.c("runs")
            .insert_one(Self::run_doc(run)?)
            .await
            .map_err(backend)?;
        self.bump().await
    }

    async fn update_run(&self, run: &RefreshRun) -> StoreResult<()> {
        self.wait_ready().await?;
        let result = self
            .c("runs")
            .replace_one(doc! { "_id": run.id.0.clone() }, Self::run_doc(run)?)
            .await
            .map_err(backend)?;
        if result.matched_count == 0 {
            return Err(StoreError::NotFound(format!("run {}", run.id)));
        }
        self.bump().await
    }

    async fn get_run(&self, id: &RunId) -> StoreResult<Option<RefreshRun>> {
        self.wait_ready().await?;
        self.c("runs")
            .find_one(doc! { "_id": id.0.clone() })
            .await
            .map_err(backend)?
            .map(|d| from_doc(&d, "doc"))
            .transpose()
    }

    async fn list_runs(&self, limit: usize) -> StoreResult<Vec<RefreshRun>> {
        self.wait_ready().await?;
        let docs: Vec<Document> = self
            .c("runs")
            .find(doc! {})
            .sort(doc! { "created_at": -1, "_id": -1 })
            .limit(i64::try_from(limit).unwrap_or(i64::MAX))
            .await
            .map_err(backend)?
            .try_collect()
            .await
            .map_err(backend)?;
        docs.iter().map(|d| from_doc(d, "doc")).collect()
    }

    async fn last_success_at(&self) -> StoreResult<Option<DateTime<Utc>>> {
        self.wait_ready().await?;
        let found = self
            .c("runs")
            .find_one(doc! { "status": { "$in": status_names(&RunStatus::STORED_DATA) } })
            .sort(doc! { "created_at": -1 })
            .await
            .map_err(backend)?;
        let run: Option<RefreshRun> = found.map(|d| from_doc(&d, "doc")).transpose()?;
        Ok(run.and_then(|r| r.finished_at))
    }

    async fn interrupt_unfinished_runs(
        &self,
        keep: &RunId,
        message: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        self.wait_ready().await?;
        let docs = self
            .all("runs", doc! { "status": { "$in": status_names(&RunStatus::UNFINISHED) }, "_id": { "$ne": keep.0.clone() } }, None)
            .await?;
        for d in &docs {
            let mut run: RefreshRun = from_doc(d, "doc")?;
            run.interrupt(message, now);
            self.c("runs")
                .replace_one(doc! { "_id": run.id.0.clone() }, Self::run_doc(&run)?)
                .await
                .map_err(backend)?;
        }
        if !docs.is_empty() {
            self.bump().await?;
        }
        Ok(docs.len() as u64)
    }

    async fn delete_runs_before(&self, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        self.wait_ready().await?;
        let deleted = self
            .c("runs")
            .delete_many(doc! { "created_at": { "$lt": date(cutoff) }, "status": { "$nin": status_names(&RunStatus::UNFINISHED) } })
            .await
            .map_err(backend)?
            .deleted_count;
        if deleted > 0 {
            self.bump().await?;
        }
        Ok(deleted)
    }
}

impl MongoStore {
    pub(super) fn run_doc(run: &RefreshRun) -> StoreResult<Document> {
        let mut d = doc! {
            "_id": run.id.0.clone(),
            "created_at": date(run.created_at),
            "status": run.status.as_str(),
            "doc": to_doc(run)?,
        };
        if let Some(finished) = run.finished_at.filter(|_| run.status.is_finished()) {
            d.insert("finished_at", date(finished));
        }
        Ok(d)
    }
}
