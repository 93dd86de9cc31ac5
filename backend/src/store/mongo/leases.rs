//! The refresh lease: single atomic findAndModify / conditional updates.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mongodb::bson::doc;
use mongodb::options::ReturnDocument;

use super::{backend, date, is_duplicate, opt_date, MongoStore};
use crate::domain::{Lease, RunId};
use crate::store::{LeaseGrant, LeaseStore, StoreResult};

#[async_trait]
impl LeaseStore for MongoStore {
    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        run_id: &RunId,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<LeaseGrant> {
        self.wait_ready().await?;
        // One atomic findAndModify: it matches a free, expired or own lease; otherwise the
        // upsert collides with the held lease's `_id` and fails as a duplicate.
        let taken = self
            .c("leases")
            .find_one_and_update(
                doc! { "_id": name, "$or": [ { "expires_at": { "$lte": date(now) } }, { "holder": holder } ] },
                doc! { "$set": { "holder": holder, "run_id": run_id.0.clone(), "expires_at": date(until) } },
            )
            .upsert(true)
            .return_document(ReturnDocument::After)
            .await;
        match taken {
            Ok(_) => Ok(LeaseGrant::Acquired),
            Err(e) if is_duplicate(&e) => {
                let current = self
                    .c("leases")
                    .find_one(doc! { "_id": name })
                    .await
                    .map_err(backend)?;
                let Some(current) = current else {
                    // Released in between: try once more.
                    return Box::pin(self.acquire_lease(name, holder, run_id, now, until)).await;
                };
                Ok(LeaseGrant::Held(Lease {
                    name: name.to_owned(),
                    holder: current.get_str("holder").unwrap_or_default().to_owned(),
                    run_id: current.get_str("run_id").ok().map(|r| RunId(r.to_owned())),
                    expires_at: opt_date(&current, "expires_at").unwrap_or_default(),
                }))
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn renew_lease(
        &self,
        name: &str,
        holder: &str,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.wait_ready().await?;
        let result = self
            .c("leases")
            .update_one(
                doc! { "_id": name, "holder": holder },
                doc! { "$set": { "expires_at": date(until) } },
            )
            .await
            .map_err(backend)?;
        Ok(result.matched_count == 1)
    }

    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        self.wait_ready().await?;
        self.c("leases")
            .delete_one(doc! { "_id": name, "holder": holder })
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn take_over_lease(
        &self,
        name: &str,
        dead: &str,
        holder: &str,
        run_id: &RunId,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.wait_ready().await?;
        let result = self
            .c("leases")
            .update_one(
                doc! { "_id": name, "holder": dead },
                doc! { "$set": { "holder": holder, "run_id": run_id.0.clone(), "expires_at": date(until) } },
            )
            .await
            .map_err(backend)?;
        Ok(result.matched_count == 1)
    }
}
