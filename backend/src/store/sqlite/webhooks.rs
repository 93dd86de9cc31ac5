//! Webhook endpoints' positions in the change feed.

use async_trait::async_trait;
use rusqlite::params;

use super::SqliteStore;
use crate::domain::OrgId;
use crate::store::{StoreError, StoreResult, WebhookStore};

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn webhook_cursors(&self, hook: &str) -> StoreResult<Vec<(OrgId, i64)>> {
        let hook = hook.to_owned();
        self.call(move |conn| {
            let mut stmt =
                conn.prepare_cached("SELECT org, seq FROM webhook_cursors WHERE hook = ?1")?;
            let rows = stmt.query_map(params![hook], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })?;
            rows.map(|row| {
                let (org, seq) = row?;
                let org = org
                    .parse()
                    .map_err(|e| StoreError::Corrupt(format!("webhook cursor `{org}`: {e}")))?;
                Ok((org, seq))
            })
            .collect()
        })
        .await
    }

    async fn advance_webhook_cursor(&self, hook: &str, org: &OrgId, seq: i64) -> StoreResult<()> {
        let (hook, org) = (hook.to_owned(), org.to_string());
        self.call(move |conn| {
            conn.execute(
                "INSERT INTO webhook_cursors (hook, org, seq) VALUES (?1, ?2, ?3)
                 ON CONFLICT (hook, org) DO UPDATE SET seq = max(seq, excluded.seq)",
                params![hook, org, seq],
            )?;
            Ok(())
        })
        .await
    }
}
