//! Webhook endpoints' positions in the change feed: one document per endpoint and
//! organisation, `_id` `hook|org`.

use async_trait::async_trait;
use mongodb::bson::doc;

use super::{backend, int, MongoStore};
use crate::domain::OrgId;
use crate::store::{StoreError, StoreResult, WebhookStore};

#[async_trait]
impl WebhookStore for MongoStore {
    async fn webhook_cursors(&self, hook: &str) -> StoreResult<Vec<(OrgId, i64)>> {
        self.wait_ready().await?;
        let docs = self
            .all("webhook_cursors", doc! { "hook": hook }, None)
            .await?;
        docs.iter()
            .map(|d| {
                let org = d.get_str("org").unwrap_or_default();
                let org = org
                    .parse()
                    .map_err(|e| StoreError::Corrupt(format!("webhook cursor `{org}`: {e}")))?;
                Ok((org, int(d, "seq").unwrap_or_default()))
            })
            .collect()
    }

    async fn advance_webhook_cursor(&self, hook: &str, org: &OrgId, seq: i64) -> StoreResult<()> {
        self.wait_ready().await?;
        let org = org.to_string();
        self.c("webhook_cursors")
            .update_one(
                doc! { "_id": format!("{hook}|{org}") },
                doc! {
                    "$set": { "hook": hook, "org": &org },
                    "$max": { "seq": seq },
                },
            )
            .upsert(true)
            .await
            .map_err(backend)?;
        Ok(())
    }
}
