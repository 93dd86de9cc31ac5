//! API tokens: names and SHA-256 hashes, never secrets.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mongodb::bson::{doc, Document};

use super::{backend, date, is_duplicate, opt_date, MongoStore};
use crate::domain::TokenRecord;
use crate::store::{StoreError, StoreResult, TokenStore};

#[async_trait]
impl TokenStore for MongoStore {
    async fn insert_token(&self, token: &TokenRecord) -> StoreResult<bool> {
        self.wait_ready().await?;
        let mut d =
            doc! { "_id": &token.name, "hash": &token.hash, "created_at": date(token.created_at) };
        if let Some(e) = token.expires_at {
            d.insert("expires_at", date(e));
        }
        if let Some(u) = token.last_used_at {
            d.insert("last_used_at", date(u));
        }
        match self.c("tokens").insert_one(d).await {
            Ok(_) => Ok(true),
            Err(e) if is_duplicate(&e) => Ok(false),
            Err(e) => Err(backend(e)),
        }
    }

    async fn list_tokens(&self) -> StoreResult<Vec<TokenRecord>> {
        self.wait_ready().await?;
        self.all("tokens", doc! {}, Some(doc! { "_id": 1 }))
            .await?
            .iter()
            .map(Self::token_of)
            .collect()
    }

    async fn find_token(&self, hash: &str) -> StoreResult<Option<TokenRecord>> {
        self.wait_ready().await?;
        self.c("tokens")
            .find_one(doc! { "hash": hash })
            .await
            .map_err(backend)?
            .as_ref()
            .map(Self::token_of)
            .transpose()
    }

    async fn touch_token(&self, name: &str, now: DateTime<Utc>) -> StoreResult<()> {
        self.wait_ready().await?;
        self.c("tokens")
            .update_one(
                doc! { "_id": name },
                doc! { "$set": { "last_used_at": date(now) } },
            )
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn revoke_token(&self, name: &str) -> StoreResult<bool> {
        self.wait_ready().await?;
        Ok(self
            .c("tokens")
            .delete_one(doc! { "_id": name })
            .await
            .map_err(backend)?
            .deleted_count
            == 1)
    }
}

impl MongoStore {
    pub(super) fn token_of(d: &Document) -> StoreResult<TokenRecord> {
        Ok(TokenRecord {
            name: d
                .get_str("_id")
                .map_err(|e| StoreError::Corrupt(e.to_string()))?
                .to_owned(),
            hash: d
                .get_str("hash")
                .map_err(|e| StoreError::Corrupt(e.to_string()))?
                .to_owned(),
            created_at: opt_date(d, "created_at").unwrap_or_default(),
            expires_at: opt_date(d, "expires_at"),
            last_used_at: opt_date(d, "last_used_at"),
        })
    }
}
