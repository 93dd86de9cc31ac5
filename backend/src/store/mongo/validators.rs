//! The HTTP validators kept across runs (written by the organisation commit).

use async_trait::async_trait;
use mongodb::bson::doc;

use super::{from_doc, MongoStore};
use crate::domain::{HttpCacheEntry, OrgId};
use crate::store::{StoreResult, ValidatorStore};

#[async_trait]
impl ValidatorStore for MongoStore {
    async fn list_http_cache(&self, org: &OrgId) -> StoreResult<Vec<HttpCacheEntry>> {
        self.wait_ready().await?;
        let docs = self
            .all("http_cache", doc! { "org": org.to_string() }, None)
            .await?;
        docs.iter().map(|d| from_doc(d, "entry")).collect()
    }
}
