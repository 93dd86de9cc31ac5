//! The production store: MongoDB through the official driver (3.x). Same traits, same
//! files and method order as `sqlite/`.
//!
//! Each kind of record has its collection, keyed by its natural key in `_id`; records are
//! kept as BSON sub-documents (`doc`) beside the fields that are filtered, sorted, joined
//! or expired on. Indexes are created idempotently in the background at start-up, retried
//! with backoff, so the server answers `/healthz` while MongoDB is still coming up and
//! `/readyz` (through [`HealthStore::ping`](super::HealthStore::ping)) says 503 until
//! the database is usable. Writes use majority write concern. Repository and cache upserts go out as one `update` command
//! per 1,000 statements. Without transactions (a standalone server has none), an
//! organisation's commit writes the repositories first and the HTTP validators last, so a
//! commit cut short is simply redone by the next run.
//!
//! One file per concern of the store traits, in the same order as `sqlite/`.

mod activity;
mod events;
mod health;
mod leases;
mod orgs;
mod runs;
mod security;
mod snapshots;
mod tokens;
mod tracked;
mod validators;
mod webhooks;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use futures::TryStreamExt;
use mongodb::bson::{self, doc, Bson, Document};
use mongodb::error::{Error as MongoError, ErrorKind, WriteFailure};
use mongodb::options::{ClientOptions, DatabaseOptions, IndexOptions, WriteConcern};
use mongodb::{Client, Collection, Database, IndexModel};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::watch;

use super::{redact_url, StoreError, StoreResult};
use crate::domain::{OrgId, RunStatus};

/// The layout this code writes; recorded in `meta` so later versions can migrate.
const SCHEMA_VERSION: i32 = 4;
/// How long a store call waits for the store to get ready before it gives up with
/// [`StoreError::NotReady`] (the web answers that 503 with `Retry-After`).
const READY_WAIT: Duration = Duration::from_secs(5);
/// Statements per `update` command.
const BATCH: usize = 1_000;

/// The MongoDB store.
#[derive(Debug, Clone)]
pub struct MongoStore {
    db: Database,
    /// Whether the collections are prepared (indexes made, older layouts migrated). Every
    /// store call waits for it: a read before then would see a half-migrated database and
    /// answer, say, an empty list.
    ready: Arc<watch::Sender<bool>>,
    /// Why the store is not ready yet, for `/readyz` and logs.
    why_not_ready: Arc<Mutex<String>>,
}

fn backend(e: MongoError) -> StoreError {
    StoreError::Backend(Box::new(e))
}

fn is_duplicate(e: &MongoError) -> bool {
    match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == 11000,
        ErrorKind::Command(c) => c.code == 11000,
        ErrorKind::InsertMany(m) => m.write_errors.iter().flatten().any(|w| w.code == 11000),
        _ => false,
    }
}

fn date(t: DateTime<Utc>) -> bson::DateTime {
    bson::DateTime::from_millis(t.timestamp_millis())
}

fn chrono(t: bson::DateTime) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or_default()
}

fn day(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn to_doc<T: Serialize>(value: &T) -> StoreResult<Document> {
    bson::to_document(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn from_doc<T: DeserializeOwned>(doc: &Document, field: &str) -> StoreResult<T> {
    let inner = doc
        .get_document(field)
        .map_err(|e| StoreError::Corrupt(format!("{field}: {e}")))?;
    bson::from_document(inner.clone()).map_err(|e| StoreError::Corrupt(format!("{field}: {e}")))
}

/// An integer field, whichever width the server stored it in (MongoDB keeps what was sent;
/// other servers may narrow small numbers to 32 bits).
fn int(doc: &Document, field: &str) -> Option<i64> {
    match doc.get(field)? {
        Bson::Int64(n) => Some(*n),
        Bson::Int32(n) => Some(i64::from(*n)),
        _ => None,
    }
}

fn opt_date(doc: &Document, field: &str) -> Option<DateTime<Utc>> {
    doc.get_datetime(field).ok().map(|d| chrono(*d))
}

fn repo_key(org: &OrgId, id: i64) -> String {
    format!("{}:{id}", org.forge())
}

impl MongoStore {
    /// Connects (lazily) to `url` and starts preparing the collections in the
    /// background; `run_retention_days` sets the TTL on finished runs.
    pub async fn open(url: &str, run_retention_days: u32) -> StoreResult<MongoStore> {
        let mut options = ClientOptions::parse(url).await.map_err(|e| {
            StoreError::Unsupported(format!(
                "{} is not a usable MongoDB URL: {e}",
                redact_url(url)
            ))
        })?;
        options
            .app_name
            .get_or_insert_with(|| "orgpulse".to_owned());
        options
            .server_selection_timeout
            .get_or_insert(Duration::from_secs(5));
        options
            .connect_timeout
            .get_or_insert(Duration::from_secs(5));
        options.max_pool_size.get_or_insert(16);
        let client = Client::with_options(options).map_err(backend)?;
        let name = client
            .default_database()
            .map_or_else(|| "orgpulse".to_owned(), |d| d.name().to_owned());
        let db = client.database_with_options(
            &name,
            DatabaseOptions::builder()
                .write_concern(WriteConcern::majority())
                .build(),
        );
        let store = MongoStore {
            db,
            ready: Arc::new(watch::Sender::new(false)),
            why_not_ready: Arc::new(Mutex::new("connecting to MongoDB".into())),
        };
        let preparing = store.clone();
        tokio::spawn(async move { preparing.prepare_until_ready(run_retention_days).await });
        Ok(store)
    }

    /// Whether the store is prepared; `None` when it is, else why not.
    pub(super) fn not_ready(&self) -> Option<String> {
        (!*self.ready.borrow()).then(|| {
            self.why_not_ready
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone()
        })
    }

    /// Waits (at most [`READY_WAIT`]) until the store is prepared. Every store call starts
    /// with it, so nothing reads or writes a database that is still being migrated.
    pub(super) async fn wait_ready(&self) -> StoreResult<()> {
        if *self.ready.borrow() {
            return Ok(());
        }
        let mut ready = self.ready.subscribe();
        let prepared =
            tokio::time::timeout(READY_WAIT, async { ready.wait_for(|r| *r).await.is_ok() }).await;
        match prepared {
            Ok(true) => Ok(()),
            _ => Err(StoreError::NotReady(self.not_ready().unwrap_or_default())),
        }
    }

    /// Creates indexes and records the schema version, retrying with backoff.
    async fn prepare_until_ready(&self, retention_days: u32) {
        let mut wait = Duration::from_millis(250);
        loop {
            match self.prepare(retention_days).await {
                Ok(()) => {
                    self.ready.send_replace(true);
                    tracing::info!(database = self.db.name(), "MongoDB store ready");
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_s = wait.as_secs_f64(), "MongoDB not ready yet");
                    *self.why_not_ready.lock().unwrap_or_else(|p| p.into_inner()) = e.to_string();
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    async fn prepare(&self, retention_days: u32) -> StoreResult<()> {
        let meta = self.c("meta");
        if let Some(found) = meta
            .find_one(doc! { "_id": "schema" })
            .await
            .map_err(backend)?
        {
            let version = found.get_i32("version").unwrap_or(0);
            if version > SCHEMA_VERSION {
                return Err(StoreError::Unsupported(format!(
                    "the database has schema version {version}, newer than this orgpulse knows ({SCHEMA_VERSION}); upgrade orgpulse"
                )));
            }
        }
        let index = |keys: Document, unique: bool| {
            IndexModel::builder()
                .keys(keys)
                .options(IndexOptions::builder().unique(unique).build())
                .build()
        };
        self.c("org_repos")
            .create_index(index(doc! { "org": 1, "id": 1 }, false))
            .await
            .map_err(backend)?;
        // A purge asks whether any other organisation still lists a repository.
        self.c("org_repos")
            .create_index(index(doc! { "forge": 1, "id": 1 }, false))
            .await
            .map_err(backend)?;
        self.c("repos")
            .create_index(index(doc! { "forge": 1, "id": 1 }, false))
            .await
            .map_err(backend)?;
        self.c("repo_libraries")
            .create_index(index(doc! { "forge": 1, "repo_id": 1 }, false))
            .await
            .map_err(backend)?;
        // A window's items: created, closed or merged in it, per repository.
        for field in ["created_at", "closed_at", "merged_at"] {
            self.c("activity_items")
                .create_index(index(doc! { "forge": 1, "repo_id": 1, field: 1 }, false))
                .await
                .map_err(backend)?;
        }
        // Each author's first item; the open items still waiting for a first response.
        self.c("activity_items")
            .create_index(index(
                doc! { "forge": 1, "author": 1, "created_at": 1 },
                false,
            ))
            .await
            .map_err(backend)?;
        self.c("activity_items")
            .create_index(index(
                doc! { "forge": 1, "state": 1, "first_response_at": 1, "repo_id": 1 },
                false,
            ))
            .await
            .map_err(backend)?;
        self.c("releases")
            .create_index(index(doc! { "forge": 1, "repo_id": 1 }, false))
            .await
            .map_err(backend)?;
        self.c("snapshots")
            .create_index(index(doc! { "org": 1, "day": 1 }, true))
            .await
            .map_err(backend)?;
        self.c("repo_days")
            .create_index(index(doc! { "org": 1, "repo": 1, "day": 1 }, true))
            .await
            .map_err(backend)?;
        // A day committed again replaces its rows: found by day, not by repository.
        self.c("repo_days")
            .create_index(index(doc! { "org": 1, "day": 1 }, false))
            .await
            .map_err(backend)?;
        for keys in [
            doc! { "org": 1, "seq": -1 },
            doc! { "kind": 1, "seq": -1 },
            doc! { "seq": -1 },
        ] {
            self.c("events")
                .create_index(index(keys, false))
                .await
                .map_err(backend)?;
        }
        self.c("webhook_cursors")
            .create_index(index(doc! { "hook": 1 }, false))
            .await
            .map_err(backend)?;
        self.c("security_findings")
            .create_index(index(doc! { "org": 1, "repo_id": 1 }, false))
            .await
            .map_err(backend)?;
        self.c("security_days")
            .create_index(index(doc! { "org": 1, "day": 1 }, true))
            .await
            .map_err(backend)?;
        self.c("scorecards")
            .create_index(index(doc! { "forge": 1, "repo_id": 1 }, false))
            .await
            .map_err(backend)?;
        let migrated = self.migrate_snapshot_repos().await?;
        if migrated > 0 {
            tracing::info!(
                snapshots = migrated,
                "moved per-repository counts into repo_days"
            );
        }
        self.c("http_cache")
            .create_index(index(doc! { "org": 1 }, false))
            .await
            .map_err(backend)?;
        self.migrate_memberships().await?;
        self.migrate_activity_keys().await?;
        self.c("runs")
            .create_index(index(doc! { "created_at": -1 }, false))
            .await
            .map_err(backend)?;
        self.c("runs")
            .create_index(index(doc! { "status": 1 }, false))
            .await
            .map_err(backend)?;
        self.c("tokens")
            .create_index(index(doc! { "hash": 1 }, true))
            .await
            .map_err(backend)?;
        // Retention for finished runs (only they have a `finished_at` date).
        let ttl = IndexOptions::builder()
            .expire_after(Duration::from_secs(
                u64::from(retention_days.max(1)) * 86_400,
            ))
            .name("finished_runs_ttl".to_owned())
            .build();
        if let Err(e) = self
            .c("runs")
            .create_index(
                IndexModel::builder()
                    .keys(doc! { "finished_at": 1 })
                    .options(ttl)
                    .build(),
            )
            .await
        {
            // A different retention than when the index was made: the scheduler's own
            // retention still applies; say so rather than fail start-up.
            tracing::warn!(error = %e, "could not create the runs TTL index with this retention");
        }
        meta.update_one(
            doc! { "_id": "schema" },
            doc! { "$set": { "version": SCHEMA_VERSION } },
        )
        .upsert(true)
        .await
        .map_err(backend)?;
        Ok(())
    }

    /// Schema 3: a repository can belong to several organisations. Repository documents
    /// written before (each with one `org` and its gone mark) get a membership in
    /// `org_repos` and lose both fields; validators keyed by URL alone are keyed by
    /// organisation and URL. Idempotent: each old document is rewritten before its old
    /// form is removed, so an interrupted start simply does the rest next time.
    async fn migrate_memberships(&self) -> StoreResult<()> {
        let old = self
            .all("repos", doc! { "org": { "$exists": true } }, None)
            .await?;
        if !old.is_empty() {
            let members = old
                .iter()
                .filter_map(|d| {
                    let org = d.get_str("org").ok()?;
                    let id = d.get_str("_id").ok()?;
                    Some(doc! {
                        "q": { "_id": format!("{org}|{id}") },
                        "u": { "$set": {
                            "org": org,
                            "forge": d.get_str("forge").ok()?,
                            "id": int(d, "id")?,
                            "gone_since": d.get("gone_since").cloned().unwrap_or(Bson::Null),
                        } },
                        "upsert": true,
                    })
                })
                .collect();
            self.upsert_many("org_repos", members).await?;
            self.c("repos")
                .update_many(
                    doc! { "org": { "$exists": true } },
                    doc! { "$unset": { "org": "", "gone_since": "" } },
                )
                .await
                .map_err(backend)?;
            tracing::info!(
                repos = old.len(),
                "moved repository membership into org_repos"
            );
        }
        let validators = self
            .all("http_cache", doc! { "url": { "$exists": false } }, None)
            .await?;
        for d in &validators {
            let (Ok(org), Ok(url)) = (d.get_str("org"), d.get_str("_id")) else {
                continue;
            };
            let mut moved = d.clone();
            moved.insert("_id", format!("{org}|{url}"));
            moved.insert("url", url);
            self.c("http_cache")
                .replace_one(
                    doc! { "_id": moved.get_str("_id").unwrap_or_default() },
                    &moved,
                )
                .upsert(true)
                .await
                .map_err(backend)?;
            self.c("http_cache")
                .delete_one(doc! { "_id": url })
                .await
                .map_err(backend)?;
        }
        Ok(())
    }

    fn c(&self, name: &str) -> Collection<Document> {
        self.db.collection(name)
    }

    /// Marks that stored data about `orgs` changed: their stamps move, then the data
    /// version (see [`HealthStore::org_stamps`]). Called after the data is written.
    async fn bump_orgs(&self, orgs: &[&OrgId]) -> StoreResult<()> {
        for org in orgs {
            self.c("org_stamps")
                .update_one(
                    doc! { "_id": org.to_string() },
                    doc! { "$inc": { "stamp": 1_i64 } },
                )
                .upsert(true)
                .await
                .map_err(backend)?;
        }
        self.bump().await
    }

    async fn bump(&self) -> StoreResult<()> {
        self.c("meta")
            .update_one(
                doc! { "_id": "data_version" },
                doc! { "$inc": { "value": 1_i64 } },
            )
            .upsert(true)
            .await
            .map_err(backend)?;
        Ok(())
    }

    /// Sends upsert statements as `update` commands of up to [`BATCH`] statements each.
    async fn upsert_many(&self, collection: &str, statements: Vec<Document>) -> StoreResult<()> {
        for chunk in statements.chunks(BATCH) {
            let reply = self
                .db
                .run_command(doc! {
                    "update": collection,
                    "updates": chunk.iter().cloned().map(Bson::Document).collect::<Vec<_>>(),
                    "ordered": false,
                    "writeConcern": { "w": "majority" },
                })
                .await
                .map_err(backend)?;
            if let Ok(errors) = reply.get_array("writeErrors") {
                if let Some(Bson::Document(first)) = errors.first() {
                    return Err(StoreError::backend(format!(
                        "{} of {} writes to {collection} failed: {}",
                        errors.len(),
                        chunk.len(),
                        first.get_str("errmsg").unwrap_or("unknown error")
                    )));
                }
            }
        }
        Ok(())
    }

    /// The documents `pipeline` answers on `collection`.
    async fn aggregate(
        &self,
        collection: &str,
        pipeline: Vec<Document>,
    ) -> StoreResult<Vec<Document>> {
        self.c(collection)
            .aggregate(pipeline)
            .await
            .map_err(backend)?
            .try_collect()
            .await
            .map_err(backend)
    }

    async fn all(
        &self,
        collection: &str,
        filter: Document,
        sort: Option<Document>,
    ) -> StoreResult<Vec<Document>> {
        let collection = self.c(collection);
        let mut find = collection.find(filter);
        if let Some(sort) = sort {
            find = find.sort(sort);
        }
        find.await
            .map_err(backend)?
            .try_collect()
            .await
            .map_err(backend)
    }
}

/// Statuses as a BSON list of their names, for `$in` / `$nin`.
fn status_names(statuses: &[RunStatus]) -> Vec<&'static str> {
    statuses.iter().map(|s| s.as_str()).collect()
}
