//! Whether the SQLite store answers, and its data version.

use async_trait::async_trait;

use super::SqliteStore;
use crate::domain::OrgId;
use crate::store::{HealthStore, StoreError, StoreResult};

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

    async fn org_stamps(&self) -> StoreResult<Vec<(OrgId, i64)>> {
        self.call(|conn| {
            let mut statement = conn.prepare("SELECT org, stamp FROM org_stamps")?;
            let rows = statement.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))?;
            let mut stamps = Vec::new();
            for row in rows {
                let (org, stamp) = row?;
                let org = org
                    .parse()
                    .map_err(|e| StoreError::Corrupt(format!("stamp of `{org}`: {e}")))?;
                stamps.push((org, stamp));
            }
            Ok(stamps)
        })
        .await
    }
}
