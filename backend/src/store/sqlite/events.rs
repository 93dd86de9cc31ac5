//! The change feed: events in recording order, filtered and paged newest first (or read
//! forward from a cursor).

use async_trait::async_trait;
use rusqlite::{params, params_from_iter, Connection};

use super::{from_doc, to_doc, ts, SqliteStore};
use crate::domain::{Event, StoredEvent};
use crate::store::{EventQuery, EventStore, StoreResult};

#[async_trait]
impl EventStore for SqliteStore {
    async fn record_events(&self, events: &[Event]) -> StoreResult<u64> {
        let events = events.to_vec();
        self.call(move |conn| {
            let tx = conn.transaction()?;
            let added = insert_events(&tx, &events)?;
            if added > 0 {
                let orgs: std::collections::BTreeSet<String> =
                    events.iter().map(|e| e.org.to_string()).collect();
                for org in orgs {
                    super::bump_org(&tx, &org)?;
                }
            }
            tx.commit()?;
            Ok(added)
        })
        .await
    }

    async fn list_events(&self, query: &EventQuery) -> StoreResult<Vec<StoredEvent>> {
        let query = query.clone();
        self.call(move |conn| {
            // Only the filters given, so the planner can use the (org, seq) or (kind, seq)
            // index and stop after `limit` rows.
            let mut sql = String::from("SELECT seq, doc FROM events WHERE 1 = 1");
            let mut values: Vec<String> = Vec::new();
            let mut filter = |clause: &str, value: String| {
                values.push(value);
                sql.push_str(&format!(" AND {clause} ?{}", values.len()));
            };
            if let Some(org) = &query.org {
                filter("org =", org.to_string());
            }
            if let Some(kind) = query.kind {
                filter("kind =", kind.as_str().to_owned());
            }
            if let Some(since) = query.since {
                filter("at >=", ts(since));
            }
            if let Some(before) = query.before {
                filter("seq <", before.to_string());
            }
            if let Some(after) = query.after {
                filter("seq >", after.to_string());
            }
            let order = if query.after.is_some() { "ASC" } else { "DESC" };
            sql.push_str(&format!(" ORDER BY seq {order} LIMIT {}", query.limit));
            let mut stmt = conn.prepare(&sql)?;
            let rows = stmt.query_map(params_from_iter(values.iter()), |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
            })?;
            rows.map(|row| {
                let (seq, doc) = row?;
                Ok(StoredEvent {
                    seq,
                    event: from_doc(&doc)?,
                })
            })
            .collect()
        })
        .await
    }
}

/// Inserts the events not recorded yet (by key); returns how many were new.
pub(super) fn insert_events(conn: &Connection, events: &[Event]) -> StoreResult<u64> {
    let mut insert = conn.prepare_cached(
        "INSERT INTO events (key, org, at, kind, doc) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (key) DO NOTHING",
    )?;
    let mut added = 0;
    for e in events {
        added += insert.execute(params![
            e.key(),
            e.org.to_string(),
            ts(e.at),
            e.kind.as_str(),
            to_doc(e)?
        ])? as u64;
    }
    Ok(added)
}
