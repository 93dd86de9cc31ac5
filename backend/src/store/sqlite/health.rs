//! Whether the SQLite store answers, and its data version.

use async_trait::async_trait;

use super::SqliteStore;
use crate::store::{HealthStore, StoreResult};

#[async_trait]
impl HealthStore for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        self.call(|conn| {
            conn.query_row("SELECT 1", [], |_| Ok(()))?;
            Ok(())
        })
        .await
    }

    async fn data_version(&self) -> StoreResult<i64> {
        self.call(|conn| {
            Ok(conn.query_row(
                "SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'data_version'",
                [],
                |r| r.get(0),
            )?)
        })
        .await
    }
}
