//! The tracked organisations, and their last outcomes.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mongodb::bson::doc;

use super::{backend, date, from_doc, int, is_duplicate, opt_date, MongoStore};
use crate::domain::OrgId;
use crate::store::{
    StoreError, StoreResult, TrackedOrg, TrackedOrgStore, PURGED_ORG_RECORDS, PURGED_ORG_ROWS,
    PURGED_REPO_ROWS,
};

#[async_trait]
impl TrackedOrgStore for MongoStore {
    async fn seed_tracked_orgs(&self, orgs: &[OrgId], now: DateTime<Utc>) -> StoreResult<bool> {
        self.wait_ready().await?;
        let meta = self.c("meta");
        if meta
            .find_one(doc! { "_id": "seeded_at" })
            .await
            .map_err(backend)?
            .is_some()
        {
            return Ok(false);
        }
        for org in orgs {
            self.c("tracked_orgs")
                .update_one(
                    doc! { "_id": org.to_string() },
                    doc! { "$setOnInsert": { "added_at": date(now) } },
                )
                .upsert(true)
                .await
                .map_err(backend)?;
        }
        match meta
            .insert_one(doc! { "_id": "seeded_at", "at": date(now) })
            .await
        {
            Ok(_) => {}
            // Another instance seeded at the same moment: the same list, already there.
            Err(e) if is_duplicate(&e) => return Ok(false),
            Err(e) => return Err(backend(e)),
        }
        self.bump_orgs(&orgs.iter().collect::<Vec<_>>()).await?;
        Ok(true)
    }

    async fn add_tracked_org(&self, org: &OrgId, now: DateTime<Utc>) -> StoreResult<bool> {
        self.wait_ready().await?;
        match self
            .c("tracked_orgs")
            .insert_one(doc! { "_id": org.to_string(), "added_at": date(now) })
            .await
        {
            Ok(_) => {
                self.bump_orgs(&[org]).await?;
                Ok(true)
            }
            Err(e) if is_duplicate(&e) => Ok(false),
            Err(e) => Err(backend(e)),
        }
    }

    async fn list_tracked_orgs(&self) -> StoreResult<Vec<TrackedOrg>> {
        self.wait_ready().await?;
        self.tracked_orgs().await
    }

    async fn remove_tracked_org(&self, org: &OrgId, purge: bool) -> StoreResult<bool> {
        self.wait_ready().await?;
        let key = org.to_string();
        let removed = self
            .c("tracked_orgs")
            .delete_one(doc! { "_id": &key })
            .await
            .map_err(backend)?
            .deleted_count
            == 1;
        if purge {
            let ids: Vec<i64> = self
                .all("org_repos", doc! { "org": &key }, None)
                .await?
                .iter()
                .filter_map(|d| int(d, "id"))
                .collect();
            self.c("org_repos")
                .delete_many(doc! { "org": &key })
                .await
                .map_err(backend)?;
            // Repositories no other organisation lists go, with their libraries.
            let forge = org.forge().as_str();
            let still_listed: HashSet<i64> = self
                .all(
                    "org_repos",
                    doc! { "forge": forge, "id": { "$in": &ids } },
                    None,
                )
                .await?
                .iter()
                .filter_map(|d| int(d, "id"))
                .collect();
            let orphans: Vec<i64> = ids
                .into_iter()
                .filter(|id| !still_listed.contains(id))
                .collect();
            for collection in PURGED_REPO_ROWS {
                self.c(collection)
                    .delete_many(doc! { "forge": forge, "repo_id": { "$in": &orphans } })
                    .await
                    .map_err(backend)?;
            }
            self.c("repos")
                .delete_many(doc! { "forge": forge, "id": { "$in": &orphans } })
                .await
                .map_err(backend)?;
            for collection in PURGED_ORG_ROWS {
                self.c(collection)
                    .delete_many(doc! { "org": &key })
                    .await
                    .map_err(backend)?;
            }
            for collection in PURGED_ORG_RECORDS {
                self.c(collection)
                    .delete_one(doc! { "_id": &key })
                    .await
                    .map_err(backend)?;
            }
        }
        self.bump_orgs(&[org]).await?;
        Ok(removed)
    }
}

impl MongoStore {
    pub(super) async fn tracked_orgs(&self) -> StoreResult<Vec<TrackedOrg>> {
        let tracked = self
            .all("tracked_orgs", doc! {}, Some(doc! { "_id": 1 }))
            .await?;
        let ids: Vec<&str> = tracked
            .iter()
            .filter_map(|d| d.get_str("_id").ok())
            .collect();
        let statuses = self
            .all("org_status", doc! { "_id": { "$in": ids } }, None)
            .await?;
        tracked
            .iter()
            .map(|t| {
                let id = t
                    .get_str("_id")
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let status = statuses.iter().find(|s| s.get_str("_id") == Ok(id));
                Ok(TrackedOrg {
                    org: id
                        .parse()
                        .map_err(|e| StoreError::Corrupt(format!("{e}")))?,
                    added_at: opt_date(t, "added_at").unwrap_or_default(),
                    last_outcome: status.map(|s| from_doc(s, "outcome")).transpose()?,
                    last_success_at: status.and_then(|s| opt_date(s, "last_success_at")),
                })
            })
            .collect()
    }
}
