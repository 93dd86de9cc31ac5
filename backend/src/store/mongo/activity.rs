//! Activity items, releases and sync positions: one document per item (`_id`
//! `forge:kind:id`), per release (`forge:repo:tag`) and per organisation's position. An
//! organisation's items are those of the repositories it lists (`org_repos`).

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mongodb::bson::{doc, Bson, Document};

use super::{backend, chrono, date, int, opt_date, MongoStore};
use crate::domain::activity::{ActivityItem, ItemKey, ReleaseRecord, Window};
use crate::domain::{ForgeName, OrgId};
use crate::store::{
    ActivityCommit, ActivityRead, ActivityWrite, StoreError, StoreResult, StoredItem,
};

#[async_trait]
impl ActivityWrite for MongoStore {
    async fn commit_activity(&self, commit: &ActivityCommit) -> StoreResult<()> {
        self.wait_ready().await?;
        let mut items = Vec::with_capacity(commit.items.len());
        for i in &commit.items {
            let forge = i.forge.as_str();
            items.push(doc! {
                "q": { "_id": item_key(forge, i.key()) },
                "u": { "$set": {
                    "forge": forge, "id": i.id, "repo_id": i.repo_id,
                    "number": i64::try_from(i.number).unwrap_or(i64::MAX),
                    "kind": i.kind.as_str(), "author": i.author.as_deref().map_or(Bson::Null, Bson::from),
                    "author_bot": i.author_bot, "created_at": date(i.created_at),
                    "closed_at": optional(i.closed_at), "merged_at": optional(i.merged_at),
                    "first_response_at": optional(i.first_response_at),
                    "state": i.state.as_str(), "updated_at": date(i.updated_at),
                } },
                "upsert": true,
            });
        }
        self.upsert_many("activity_items", items).await?;
        let mut releases = Vec::with_capacity(commit.releases.len());
        for r in &commit.releases {
            let forge = r.forge.as_str();
            releases.push(doc! {
                "q": { "_id": format!("{forge}:{}:{}", r.repo_id, r.tag) },
                "u": { "$set": {
                    "forge": forge, "repo_id": r.repo_id, "tag": &r.tag,
                    "published_at": date(r.published_at),
                } },
                "upsert": true,
            });
        }
        self.upsert_many("releases", releases).await?;
        if let Some(until) = commit.synced_until {
            self.c("activity_sync")
                .update_one(
                    doc! { "_id": commit.org.to_string() },
                    doc! { "$set": { "synced_until": date(until) } },
                )
                .upsert(true)
                .await
                .map_err(backend)?;
        }
        self.bump_orgs(&[&commit.org]).await
    }
}

#[async_trait]
impl ActivityRead for MongoStore {
    async fn activity_synced_until(&self, org: &OrgId) -> StoreResult<Option<DateTime<Utc>>> {
        self.wait_ready().await?;
        let found = self
            .c("activity_sync")
            .find_one(doc! { "_id": org.to_string() })
            .await
            .map_err(backend)?;
        Ok(found.and_then(|d| opt_date(&d, "synced_until")))
    }

    async fn activity_items(
        &self,
        org: &OrgId,
        window: Window,
        repo_id: Option<i64>,
    ) -> StoreResult<Vec<ActivityItem>> {
        self.wait_ready().await?;
        let repos = self.listed_repos(org, repo_id).await?;
        let from = date(window.from.and_time(chrono::NaiveTime::MIN).and_utc());
        let to = date(window.to.and_time(chrono::NaiveTime::MIN).and_utc());
        let within = doc! { "$gte": from, "$lt": to };
        let docs = self
            .all(
                "activity_items",
                doc! {
                    "forge": org.forge().as_str(),
                    "repo_id": { "$in": repos },
                    "$or": [
                        { "created_at": within.clone() },
                        { "closed_at": within.clone() },
                        { "merged_at": within },
                    ],
                },
                Some(doc! { "created_at": 1, "id": 1 }),
            )
            .await?;
        docs.iter().map(item_of).collect()
    }

    async fn first_items(
        &self,
        org: &OrgId,
        authors: &[String],
    ) -> StoreResult<HashMap<String, DateTime<Utc>>> {
        self.wait_ready().await?;
        if authors.is_empty() {
            return Ok(HashMap::new());
        }
        let repos = self.listed_repos(org, None).await?;
        let pipeline = vec![
            doc! { "$match": {
                "forge": org.forge().as_str(), "author": { "$in": authors },
                "repo_id": { "$in": repos }, "author_bot": false,
            } },
            doc! { "$group": { "_id": "$author", "first": { "$min": "$created_at" } } },
        ];
        let docs = self.aggregate("activity_items", pipeline).await?;
        docs.iter()
            .map(|d| {
                let author = d
                    .get_str("_id")
                    .map_err(|e| StoreError::Corrupt(format!("first item author: {e}")))?;
                let first = opt_date(d, "first")
                    .ok_or_else(|| StoreError::Corrupt(format!("first item of {author}")))?;
                Ok((author.to_owned(), first))
            })
            .collect()
    }

    async fn merged_by_author(
        &self,
        org: &OrgId,
        window: Window,
    ) -> StoreResult<Vec<(i64, String, u64)>> {
        self.wait_ready().await?;
        let repos = self.listed_repos(org, None).await?;
        let from = date(window.from.and_time(chrono::NaiveTime::MIN).and_utc());
        let to = date(window.to.and_time(chrono::NaiveTime::MIN).and_utc());
        let pipeline = vec![
            doc! { "$match": {
                "forge": org.forge().as_str(), "repo_id": { "$in": repos },
                "merged_at": { "$gte": from, "$lt": to },
                "author": { "$type": "string" }, "author_bot": false,
            } },
            doc! { "$group": {
                "_id": { "repo": "$repo_id", "author": "$author" }, "n": { "$sum": 1 },
            } },
        ];
        let mut found: Vec<(i64, String, u64)> = self
            .aggregate("activity_items", pipeline)
            .await?
            .iter()
            .filter_map(|d| {
                let key = d.get_document("_id").ok()?;
                Some((
                    int(key, "repo")?,
                    key.get_str("author").ok()?.to_owned(),
                    int(d, "n").unwrap_or(0) as u64,
                ))
            })
            .collect();
        found.sort();
        Ok(found)
    }

    async fn waiting_items(
        &self,
        org: &OrgId,
        before: DateTime<Utc>,
    ) -> StoreResult<HashMap<i64, (u64, DateTime<Utc>)>> {
        self.wait_ready().await?;
        let repos = self.listed_repos(org, None).await?;
        let pipeline = vec![
            doc! { "$match": {
                "forge": org.forge().as_str(), "repo_id": { "$in": repos },
                "state": "open", "first_response_at": Bson::Null,
                "created_at": { "$lt": date(before) },
            } },
            doc! { "$group": {
                "_id": "$repo_id", "n": { "$sum": 1 }, "oldest": { "$min": "$created_at" },
            } },
        ];
        let docs = self.aggregate("activity_items", pipeline).await?;
        docs.iter()
            .map(|d| {
                let repo = int(d, "_id")
                    .ok_or_else(|| StoreError::Corrupt("waiting items: no repository".into()))?;
                let oldest = opt_date(d, "oldest")
                    .ok_or_else(|| StoreError::Corrupt(format!("waiting items of {repo}")))?;
                Ok((repo, (int(d, "n").unwrap_or(0) as u64, oldest)))
            })
            .collect()
    }

    async fn stored_items(
        &self,
        forge: &ForgeName,
        keys: &[ItemKey],
    ) -> StoreResult<HashMap<ItemKey, StoredItem>> {
        self.wait_ready().await?;
        let keys: Vec<String> = keys.iter().map(|k| item_key(forge.as_str(), *k)).collect();
        let mut found = HashMap::new();
        for chunk in keys.chunks(super::BATCH) {
            let docs = self
                .all("activity_items", doc! { "_id": { "$in": chunk } }, None)
                .await?;
            for d in &docs {
                let kind = d.get_str("kind").ok().and_then(|k| k.parse().ok());
                if let (Some(kind), Some(id), Some(updated_at)) =
                    (kind, int(d, "id"), opt_date(d, "updated_at"))
                {
                    let stored = StoredItem {
                        updated_at,
                        first_response_at: opt_date(d, "first_response_at"),
                    };
                    found.insert(ItemKey { kind, id }, stored);
                }
            }
        }
        Ok(found)
    }

    async fn releases(&self, org: &OrgId, repo_id: Option<i64>) -> StoreResult<Vec<ReleaseRecord>> {
        self.wait_ready().await?;
        let repos = self.listed_repos(org, repo_id).await?;
        let docs = self
            .all(
                "releases",
                doc! { "forge": org.forge().as_str(), "repo_id": { "$in": repos } },
                Some(doc! { "published_at": 1, "repo_id": 1, "tag": 1 }),
            )
            .await?;
        docs.iter()
            .map(|d| {
                Ok(ReleaseRecord {
                    forge: org.forge().clone(),
                    repo_id: int(d, "repo_id").unwrap_or_default(),
                    tag: d.get_str("tag").unwrap_or_default().to_owned(),
                    published_at: opt_date(d, "published_at")
                        .ok_or_else(|| StoreError::Corrupt("a release without a date".into()))?,
                })
            })
            .collect()
    }
}

impl MongoStore {
    /// The repository ids `org` lists (gone ones included); only `repo_id` when given
    /// and listed.
    async fn listed_repos(&self, org: &OrgId, repo_id: Option<i64>) -> StoreResult<Vec<i64>> {
        let mut filter = doc! { "org": org.to_string() };
        if let Some(id) = repo_id {
            filter.insert("id", id);
        }
        Ok(self
            .all("org_repos", filter, None)
            .await?
            .iter()
            .filter_map(|d| int(d, "id"))
            .collect())
    }
}

fn optional(t: Option<DateTime<Utc>>) -> Bson {
    t.map_or(Bson::Null, |t| Bson::DateTime(date(t)))
}

fn item_of(d: &Document) -> StoreResult<ActivityItem> {
    let text = |field: &str| {
        d.get_str(field)
            .map_err(|e| StoreError::Corrupt(format!("activity item {field}: {e}")))
    };
    let time = |field: &str| {
        d.get_datetime(field)
            .map(|t| chrono(*t))
            .map_err(|e| StoreError::Corrupt(format!("activity item {field}: {e}")))
    };
    Ok(ActivityItem {
        forge: text("forge")?.parse().map_err(StoreError::Corrupt)?,
        id: int(d, "id").unwrap_or_default(),
        repo_id: int(d, "repo_id").unwrap_or_default(),
        number: int(d, "number")
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or_default(),
        kind: text("kind")?.parse().map_err(StoreError::Corrupt)?,
        author: d.get_str("author").ok().map(str::to_owned),
        author_bot: d.get_bool("author_bot").unwrap_or(false),
        created_at: time("created_at")?,
        closed_at: opt_date(d, "closed_at"),
        merged_at: opt_date(d, "merged_at"),
        first_response_at: opt_date(d, "first_response_at"),
        state: text("state")?.parse().map_err(StoreError::Corrupt)?,
        updated_at: time("updated_at")?,
    })
}

impl MongoStore {
    /// Schema 4: an item's document id names its kind (`forge:kind:id`), as GitLab and
    /// GitHub number pull requests and issues apart. Documents written before (`forge:id`)
    /// are written again under their new id before the old one goes, so an interrupted
    /// start does the rest next time.
    pub(super) async fn migrate_activity_keys(&self) -> StoreResult<()> {
        let old = self
            .all(
                "activity_items",
                doc! { "_id": { "$regex": "^[^:]+:-?[0-9]+$" } },
                None,
            )
            .await?;
        for d in &old {
            let (Ok(forge), Ok(kind), Some(id), Ok(old_id)) = (
                d.get_str("forge"),
                d.get_str("kind"),
                int(d, "id"),
                d.get_str("_id"),
            ) else {
                continue;
            };
            let Ok(kind) = kind.parse() else { continue };
            let mut moved = d.clone();
            moved.insert("_id", item_key(forge, ItemKey { kind, id }));
            self.c("activity_items")
                .replace_one(
                    doc! { "_id": moved.get_str("_id").unwrap_or_default() },
                    &moved,
                )
                .upsert(true)
                .await
                .map_err(backend)?;
            self.c("activity_items")
                .delete_one(doc! { "_id": old_id })
                .await
                .map_err(backend)?;
        }
        if !old.is_empty() {
            tracing::info!(items = old.len(), "activity items keyed by kind");
        }
        Ok(())
    }
}

/// An item's document id: the forge, its kind and the forge's id of that kind.
pub(super) fn item_key(forge: &str, key: ItemKey) -> String {
    format!("{forge}:{}:{}", key.kind.as_str(), key.id)
}
