//! The refresh lease, taken and handed over in IMMEDIATE transactions or single
//! conditional updates.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, TransactionBehavior};

use super::{parse_ts, ts, SqliteStore};
use crate::domain::{Lease, RunId};
use crate::store::{LeaseGrant, LeaseStore, StoreResult};

#[async_trait]
impl LeaseStore for SqliteStore {
    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        run_id: &RunId,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<LeaseGrant> {
        let (name, holder, run_id) = (name.to_owned(), holder.to_owned(), run_id.0.clone());
        self.call(move |conn| {
            // IMMEDIATE takes the write lock first: no other connection can read the old
            // row and decide the same way in between.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let current: Option<(String, Option<String>, String)> = tx
                .query_row(
                    "SELECT holder, run_id, expires_at FROM leases WHERE name = ?1",
                    params![name],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            if let Some((other, other_run, expires)) = current {
                let expires_at = parse_ts(&expires)?;
                if other != holder && expires_at > now {
                    return Ok(LeaseGrant::Held(Lease {
                        name,
                        holder: other,
                        run_id: other_run.map(RunId),
                        expires_at,
                    }));
                }
            }
            tx.execute(
                "INSERT INTO leases (name, holder, run_id, expires_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,
                    run_id = excluded.run_id, expires_at = excluded.expires_at",
                params![name, holder, run_id, ts(until)],
            )?;
            tx.commit()?;
            Ok(LeaseGrant::Acquired)
        })
        .await
    }

    async fn renew_lease(
        &self,
        name: &str,
        holder: &str,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.call(move |conn| {
            let updated = conn.execute(
                "UPDATE leases SET expires_at = ?3 WHERE name = ?1 AND holder = ?2",
                params![name, holder, ts(until)],
            )?;
            Ok(updated == 1)
        })
        .await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.call(move |conn| {
            conn.execute(
                "DELETE FROM leases WHERE name = ?1 AND holder = ?2",
                params![name, holder],
            )?;
            Ok(())
        })
        .await
    }

    async fn take_over_lease(
        &self,
        name: &str,
        dead: &str,
        holder: &str,
        run_id: &RunId,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let (name, dead, holder, run_id) = (
            name.to_owned(),
            dead.to_owned(),
            holder.to_owned(),
            run_id.0.clone(),
        );
        self.call(move |conn| {
            let updated = conn.execute(
                "UPDATE leases SET holder = ?3, run_id = ?4, expires_at = ?5
                 WHERE name = ?1 AND holder = ?2",
                params![name, dead, holder, run_id, ts(until)],
            )?;
            Ok(updated == 1)
        })
        .await
    }
}
