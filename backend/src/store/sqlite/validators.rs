//! The HTTP validators kept across runs (written by the organisation commit).

use async_trait::async_trait;
use rusqlite::params;

use super::{from_doc, parse_ts, SqliteStore};
use crate::domain::{HttpCacheEntry, OrgId};
use crate::store::{StoreResult, ValidatorStore};

#[async_trait]
impl ValidatorStore for SqliteStore {
    async fn list_http_cache(&self, org: &OrgId) -> StoreResult<Vec<HttpCacheEntry>> {
        let org = org.to_string();
        self.call(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT url, etag, last_modified, payload, stored_at, content_hash FROM http_cache WHERE org = ?1",
            )?;
            let rows = stmt.query_map(params![org], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            })?;
            let mut entries = Vec::new();
            for row in rows {
                let (url, etag, last_modified, payload, stored_at, content_hash) = row?;
                entries.push(HttpCacheEntry {
                    url,
                    etag,
                    last_modified,
                    payload: from_doc(&payload)?,
                    stored_at: parse_ts(&stored_at)?,
                    content_hash,
                });
            }
            Ok(entries)
        })
        .await
    }
}
