//! The daily snapshots: one document per organisation and day.

use async_trait::async_trait;
use chrono::NaiveDate;
use futures::TryStreamExt;
use mongodb::bson::{self, doc, Bson, Document};

use super::{backend, day, from_doc, MongoStore};
use crate::domain::{DayTotals, OrgId, Snapshot};
use crate::store::{SnapshotStore, StoreError, StoreResult};

#[async_trait]
impl SnapshotStore for MongoStore {
    async fn list_history(
        &self,
        org: &OrgId,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> StoreResult<Vec<DayTotals>> {
        // The totals alone: every day's per-repository counts stay in the database.
        let docs = self
            .snapshot_docs(org, from, to, Some(doc! { "totals": 1 }))
            .await?;
        docs.iter().map(|d| from_doc(d, "totals")).collect()
    }

    async fn list_snapshots(
        &self,
        org: &OrgId,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> StoreResult<Vec<Snapshot>> {
        let docs = self.snapshot_docs(org, from, to, None).await?;
        docs.iter()
            .map(|d| {
                let repos = d
                    .get_array("repos")
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Ok(Snapshot::from_parts(
                    org.clone(),
                    from_doc(d, "totals")?,
                    bson::from_bson(Bson::Array(repos.clone()))
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                ))
            })
            .collect()
    }
}

impl MongoStore {
    /// `org`'s snapshot documents between `from` and `to` inclusive, oldest first, with
    /// only the `projection`'s fields when one is given.
    async fn snapshot_docs(
        &self,
        org: &OrgId,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        projection: Option<Document>,
    ) -> StoreResult<Vec<Document>> {
        let mut filter = doc! { "org": org.to_string() };
        let mut range = Document::new();
        if let Some(f) = from {
            range.insert("$gte", day(f));
        }
        if let Some(t) = to {
            range.insert("$lte", day(t));
        }
        if !range.is_empty() {
            filter.insert("day", range);
        }
        let collection = self.c("snapshots");
        let mut find = collection.find(filter).sort(doc! { "day": 1 });
        if let Some(projection) = projection {
            find = find.projection(projection);
        }
        find.await
            .map_err(backend)?
            .try_collect()
            .await
            .map_err(backend)
    }
}
