//! The change feed: one document per event, `_id` its natural key (so a change recorded
//! twice stays one), `seq` its place in the feed from a counter in `meta`.

use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};
use mongodb::options::ReturnDocument;

use super::{backend, date, from_doc, int, to_doc, MongoStore, BATCH};
use crate::domain::{Event, StoredEvent};
use crate::store::{EventQuery, EventStore, StoreResult};

#[async_trait]
impl EventStore for MongoStore {
    async fn record_events(&self, events: &[Event]) -> StoreResult<u64> {
        self.wait_ready().await?;
        let added = self.insert_events(events).await?;
        if added > 0 {
            let orgs: std::collections::BTreeSet<&crate::domain::OrgId> =
                events.iter().map(|e| &e.org).collect();
            self.bump_orgs(&orgs.into_iter().collect::<Vec<_>>())
                .await?;
        }
        Ok(added)
    }

    async fn list_events(&self, query: &EventQuery) -> StoreResult<Vec<StoredEvent>> {
        self.wait_ready().await?;
        let mut filter = Document::new();
        if let Some(org) = &query.org {
            filter.insert("org", org.to_string());
        }
        if let Some(kind) = query.kind {
            filter.insert("kind", kind.as_str());
        }
        if let Some(since) = query.since {
            filter.insert("at", doc! { "$gte": date(since) });
        }
        let mut seq = Document::new();
        if let Some(before) = query.before {
            seq.insert("$lt", before);
        }
        if let Some(after) = query.after {
            seq.insert("$gt", after);
        }
        if !seq.is_empty() {
            filter.insert("seq", seq);
        }
        let order = if query.after.is_some() { 1 } else { -1 };
        let docs: Vec<Document> = self
            .c("events")
            .find(filter)
            .sort(doc! { "seq": order })
            .limit(i64::try_from(query.limit).unwrap_or(i64::MAX))
            .await
            .map_err(backend)?
            .try_collect()
            .await
            .map_err(backend)?;
        docs.iter()
            .map(|d| {
                Ok(StoredEvent {
                    seq: int(d, "seq").unwrap_or_default(),
                    event: from_doc(d, "doc")?,
                })
            })
            .collect()
    }
}

impl MongoStore {
    /// Inserts the events not recorded yet (by key, their `_id`); returns how many were
    /// new. Their `seq` numbers are taken from the counter first, so a retried write
    /// leaves gaps, never duplicates.
    pub(super) async fn insert_events(&self, events: &[Event]) -> StoreResult<u64> {
        if events.is_empty() {
            return Ok(0);
        }
        let counter = self
            .c("meta")
            .find_one_and_update(
                doc! { "_id": "event_seq" },
                doc! { "$inc": { "value": events.len() as i64 } },
            )
            .upsert(true)
            .return_document(ReturnDocument::After)
            .await
            .map_err(backend)?;
        let last = counter.as_ref().and_then(|d| int(d, "value")).unwrap_or(0);
        let first = last - events.len() as i64 + 1;
        let mut statements = Vec::with_capacity(events.len());
        for (i, e) in events.iter().enumerate() {
            statements.push(doc! {
                "q": { "_id": e.key() },
                "u": { "$setOnInsert": {
                    "seq": first + i as i64,
                    "org": e.org.to_string(),
                    "at": date(e.at),
                    "kind": e.kind.as_str(),
                    "doc": to_doc(e)?,
                } },
                "upsert": true,
            });
        }
        let mut added = 0;
        for chunk in statements.chunks(BATCH) {
            let reply = self
                .db
                .run_command(doc! {
                    "update": "events",
                    "updates": chunk.iter().cloned().map(Bson::Document).collect::<Vec<_>>(),
                    "ordered": true,
                    "writeConcern": { "w": "majority" },
                })
                .await
                .map_err(backend)?;
            if let Ok(errors) = reply.get_array("writeErrors") {
                if !errors.is_empty() {
                    return Err(crate::store::StoreError::backend(format!(
                        "{} event writes failed",
                        errors.len()
                    )));
                }
            }
            added += reply.get_array("upserted").map_or(0, |u| u.len() as u64);
        }
        Ok(added)
    }
}
