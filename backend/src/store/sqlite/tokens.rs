//! API tokens: names and SHA-256 hashes, never secrets.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};

use super::{parse_ts, ts, SqliteStore};
use crate::domain::TokenRecord;
use crate::store::{StoreResult, TokenStore};

#[async_trait]
impl TokenStore for SqliteStore {
    async fn insert_token(&self, token: &TokenRecord) -> StoreResult<bool> {
        let token = token.clone();
        self.call(move |conn| {
            let inserted = conn.execute(
                "INSERT INTO tokens (name, hash, created_at, expires_at, last_used_at)
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                params![
                    token.name,
                    token.hash,
                    ts(token.created_at),
                    token.expires_at.map(ts),
                    token.last_used_at.map(ts)
                ],
            )?;
            Ok(inserted == 1)
        })
        .await
    }

    async fn list_tokens(&self) -> StoreResult<Vec<TokenRecord>> {
        self.call(|conn| {
            let mut stmt = conn.prepare(
                "SELECT name, hash, created_at, expires_at, last_used_at FROM tokens ORDER BY name",
            )?;
            let rows = stmt.query_map([], token_row)?;
            rows.map(|r| r?).collect()
        })
        .await
    }

    async fn find_token(&self, hash: &str) -> StoreResult<Option<TokenRecord>> {
        let hash = hash.to_owned();
        self.call(move |conn| {
            conn.query_row(
                "SELECT name, hash, created_at, expires_at, last_used_at FROM tokens WHERE hash = ?1",
                params![hash],
                token_row,
            )
            .optional()?
            .transpose()
        })
        .await
    }

    async fn touch_token(&self, name: &str, now: DateTime<Utc>) -> StoreResult<()> {
        let name = name.to_owned();
        self.call(move |conn| {
            conn.execute(
                "UPDATE tokens SET last_used_at = ?2 WHERE name = ?1",
                params![name, ts(now)],
            )?;
            Ok(())
        })
        .await
    }

    async fn revoke_token(&self, name: &str) -> StoreResult<bool> {
        let name = name.to_owned();
        self.call(move |conn| {
            Ok(conn.execute("DELETE FROM tokens WHERE name = ?1", params![name])? == 1)
        })
        .await
    }
}

/// A `tokens` row; the outer `Result` is SQLite's, the inner one the decoding's.
fn token_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoreResult<TokenRecord>> {
    let (name, hash, created, expires, used): (
        String,
        String,
        String,
        Option<String>,
        Option<String>,
    ) = (r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?);
    Ok((|| {
        Ok(TokenRecord {
            name,
            hash,
            created_at: parse_ts(&created)?,
            expires_at: expires.as_deref().map(parse_ts).transpose()?,
            last_used_at: used.as_deref().map(parse_ts).transpose()?,
        })
    })())
}
