//! Whether the MongoDB store is ready and answers, and its data version.

use async_trait::async_trait;
use mongodb::bson::doc;

use super::{backend, int, MongoStore};
use crate::domain::OrgId;
use crate::store::{HealthStore, StoreError, StoreResult};

#[async_trait]
impl HealthStore for MongoStore {
    async fn ping(&self) -> StoreResult<()> {
        if let Some(why) = self.not_ready() {
            return Err(StoreError::NotReady(why));
        }
        self.db
            .run_command(doc! { "ping": 1 })
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn data_version(&self) -> StoreResult<i64> {
        self.wait_ready().await?;
        let found = self
            .c("meta")
            .find_one(doc! { "_id": "data_version" })
            .await
            .map_err(backend)?;
        Ok(found.and_then(|d| int(&d, "value")).unwrap_or(0))
    }

    async fn org_stamps(&self) -> StoreResult<Vec<(OrgId, i64)>> {
        self.wait_ready().await?;
        self.all("org_stamps", doc! {}, None)
            .await?
            .iter()
            .map(|d| {
                let id = d
                    .get_str("_id")
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let org = id
                    .parse()
                    .map_err(|e| StoreError::Corrupt(format!("stamp of `{id}`: {e}")))?;
                Ok((org, int(d, "stamp").unwrap_or(0)))
            })
            .collect()
    }
}
