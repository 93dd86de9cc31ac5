//! The daily snapshots: one document per organisation and day.

use async_trait::async_trait;
use chrono::NaiveDate;
use mongodb::bson::{self, doc, Bson, Document};

use super::{day, from_doc, MongoStore};
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
        self.history(org, from, to).await
    }

    async fn list_snapshots(
        &self,
        org: &OrgId,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> StoreResult<Vec<Snapshot>> {
        let docs = self
            .all(
                "snapshots",
                day_filter(org, from, to),
                Some(doc! { "day": 1 }),
            )
            .await?;
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
    pub(super) async fn history(
        &self,
        org: &OrgId,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> StoreResult<Vec<DayTotals>> {
        let docs = self
            .all(
                "snapshots",
                day_filter(org, from, to),
                Some(doc! { "day": 1 }),
            )
            .await?;
        docs.iter().map(|d| from_doc(d, "totals")).collect()
    }
}

fn day_filter(org: &OrgId, from: Option<NaiveDate>, to: Option<NaiveDate>) -> Document {
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
    filter
}
