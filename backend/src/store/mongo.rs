//! The production store: MongoDB through the official driver (3.x). Same trait, same
//! method order as `sqlite.rs`.
//!
//! Each kind of record has its collection, keyed by its natural key in `_id`; records are
//! kept as BSON sub-documents (`doc`) beside the fields that are filtered, sorted, joined
//! or expired on. Indexes are created idempotently in the background at start-up, retried
//! with backoff, so the server answers `/healthz` while MongoDB is still coming up and
//! `/readyz` (through [`Store::ping`]) says 503 until the database is usable. Writes use
//! majority write concern. Repository and cache upserts go out as one `update` command
//! per 1,000 statements. Without transactions (a standalone server has none), an
//! organisation's commit writes the repositories first and the HTTP validators last, so a
//! commit cut short is simply redone by the next run.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use futures::TryStreamExt;
use mongodb::bson::{self, doc, Bson, Document};
use mongodb::error::{Error as MongoError, ErrorKind, WriteFailure};
use mongodb::options::{
    ClientOptions, DatabaseOptions, IndexOptions, ReturnDocument, WriteConcern,
};
use mongodb::{Client, Collection, Database, IndexModel};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{
    redact_url, LeaseGrant, LibraryUsage, OrgCommit, OrgDetail, OrgOverview, Store, StoreError,
    StoreResult, TrackedOrg,
};
use crate::domain::{
    DayTotals, HttpCacheEntry, Lease, Library, OrgId, OrgOutcome, OrgRecord, RefreshRun,
    RepoRecord, RunId, RunStatus, Snapshot, TokenRecord,
};

/// The layout this code writes; recorded in `meta` so later versions can migrate.
const SCHEMA_VERSION: i32 = 1;
/// Statements per `update` command.
const BATCH: usize = 1_000;

/// The MongoDB store.
#[derive(Debug, Clone)]
pub struct MongoStore {
    db: Database,
    ready: Arc<AtomicBool>,
    /// Why the store is not ready yet, for `/readyz` and logs.
    not_ready: Arc<Mutex<String>>,
}

fn backend(e: MongoError) -> StoreError {
    StoreError::Backend(e.to_string())
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
            ready: Arc::new(AtomicBool::new(false)),
            not_ready: Arc::new(Mutex::new("connecting to MongoDB".into())),
        };
        let preparing = store.clone();
        tokio::spawn(async move { preparing.prepare_until_ready(run_retention_days).await });
        Ok(store)
    }

    /// Creates indexes and records the schema version, retrying with backoff.
    async fn prepare_until_ready(&self, retention_days: u32) {
        let mut wait = Duration::from_millis(250);
        loop {
            match self.prepare(retention_days).await {
                Ok(()) => {
                    self.ready.store(true, Ordering::SeqCst);
                    tracing::info!(database = self.db.name(), "MongoDB store ready");
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_s = wait.as_secs_f64(), "MongoDB not ready yet");
                    *self.not_ready.lock().unwrap_or_else(|p| p.into_inner()) = e.to_string();
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
        self.c("repos")
            .create_index(index(doc! { "org": 1, "stars": -1 }, false))
            .await
            .map_err(backend)?;
        self.c("repos")
            .create_index(index(doc! { "org": 1, "id": 1 }, false))
            .await
            .map_err(backend)?;
        self.c("repo_libraries")
            .create_index(index(doc! { "forge": 1, "repo_id": 1 }, false))
            .await
            .map_err(backend)?;
        self.c("snapshots")
            .create_index(index(doc! { "org": 1, "day": 1 }, true))
            .await
            .map_err(backend)?;
        self.c("http_cache")
            .create_index(index(doc! { "org": 1 }, false))
            .await
            .map_err(backend)?;
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

    fn c(&self, name: &str) -> Collection<Document> {
        self.db.collection(name)
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
                    return Err(StoreError::Backend(format!(
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

    async fn tracked_orgs(&self) -> StoreResult<Vec<TrackedOrg>> {
        let tracked = self
            .all("tracked_orgs", doc! {}, Some(doc! { "_id": 1 }))
            .await?;
        let ids: Vec<&str> = tracked
            .iter()
            .filter_map(|d| d.get_str("_id").ok())
            .collect();
        let statuses = self
            .all("org_status", doc! { "_id": { "$in": ids } }, None)
            .await?;
        tracked
            .iter()
            .map(|t| {
                let id = t
                    .get_str("_id")
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let status = statuses.iter().find(|s| s.get_str("_id") == Ok(id));
                Ok(TrackedOrg {
                    org: id
                        .parse()
                        .map_err(|e| StoreError::Corrupt(format!("{e}")))?,
                    added_at: opt_date(t, "added_at").unwrap_or_default(),
                    last_outcome: status.map(|s| from_doc(s, "outcome")).transpose()?,
                    last_success_at: status.and_then(|s| opt_date(s, "last_success_at")),
                })
            })
            .collect()
    }

    async fn org_record(&self, org: &OrgId) -> StoreResult<Option<OrgRecord>> {
        self.c("orgs")
            .find_one(doc! { "_id": org.to_string() })
            .await
            .map_err(backend)?
            .map(|d| from_doc(&d, "doc"))
            .transpose()
    }

    async fn history(
        &self,
        org: &OrgId,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> StoreResult<Vec<DayTotals>> {
        let docs = self
            .all(
                "snapshots",
                day_filter(org, from, to),
                Some(doc! { "day": 1 }),
            )
            .await?;
        docs.iter().map(|d| from_doc(d, "totals")).collect()
    }

    fn run_doc(run: &RefreshRun) -> StoreResult<Document> {
        let mut d = doc! {
            "_id": run.id.0.clone(),
            "created_at": date(run.created_at),
            "status": run.status.as_str(),
            "doc": to_doc(run)?,
        };
        if let Some(finished) = run.finished_at.filter(|_| run.status.is_finished()) {
            d.insert("finished_at", date(finished));
        }
        Ok(d)
    }

    fn token_of(d: &Document) -> StoreResult<TokenRecord> {
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

fn day_filter(org: &OrgId, from: Option<NaiveDate>, to: Option<NaiveDate>) -> Document {
    let mut filter = doc! { "org": org.to_string() };
    let mut range = Document::new();
    if let Some(f) = from {
        range.insert("$gte", day(f));
    }
    if let Some(t) = to {
        range.insert("$lte", day(t));
    }
    if !range.is_empty() {
        filter.insert("day", range);
    }
    filter
}

#[async_trait]
impl Store for MongoStore {
    async fn ping(&self) -> StoreResult<()> {
        if !self.ready.load(Ordering::SeqCst) {
            let why = self
                .not_ready
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            return Err(StoreError::Backend(format!(
                "the MongoDB store is not ready yet: {why}"
            )));
        }
        self.db
            .run_command(doc! { "ping": 1 })
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn data_version(&self) -> StoreResult<i64> {
        let found = self
            .c("meta")
            .find_one(doc! { "_id": "data_version" })
            .await
            .map_err(backend)?;
        Ok(found.and_then(|d| int(&d, "value")).unwrap_or(0))
    }

    // ----- tracked organisations -------------------------------------------------------

    async fn seed_tracked_orgs(&self, orgs: &[OrgId], now: DateTime<Utc>) -> StoreResult<bool> {
        let meta = self.c("meta");
        if meta
            .find_one(doc! { "_id": "seeded_at" })
            .await
            .map_err(backend)?
            .is_some()
        {
            return Ok(false);
        }
        for org in orgs {
            self.c("tracked_orgs")
                .update_one(
                    doc! { "_id": org.to_string() },
                    doc! { "$setOnInsert": { "added_at": date(now) } },
                )
                .upsert(true)
                .await
                .map_err(backend)?;
        }
        match meta
            .insert_one(doc! { "_id": "seeded_at", "at": date(now) })
            .await
        {
            Ok(_) => {}
            // Another instance seeded at the same moment: the same list, already there.
            Err(e) if is_duplicate(&e) => return Ok(false),
            Err(e) => return Err(backend(e)),
        }
        self.bump().await?;
        Ok(true)
    }

    async fn add_tracked_org(&self, org: &OrgId, now: DateTime<Utc>) -> StoreResult<bool> {
        match self
            .c("tracked_orgs")
            .insert_one(doc! { "_id": org.to_string(), "added_at": date(now) })
            .await
        {
            Ok(_) => {
                self.bump().await?;
                Ok(true)
            }
            Err(e) if is_duplicate(&e) => Ok(false),
            Err(e) => Err(backend(e)),
        }
    }

    async fn list_tracked_orgs(&self) -> StoreResult<Vec<TrackedOrg>> {
        self.tracked_orgs().await
    }

    async fn remove_tracked_org(&self, org: &OrgId, purge: bool) -> StoreResult<bool> {
        let key = org.to_string();
        let removed = self
            .c("tracked_orgs")
            .delete_one(doc! { "_id": &key })
            .await
            .map_err(backend)?
            .deleted_count
            == 1;
        if purge {
            let ids: Vec<i64> = self
                .all("repos", doc! { "org": &key }, None)
                .await?
                .iter()
                .filter_map(|d| int(d, "id"))
                .collect();
            self.c("repo_libraries")
                .delete_many(doc! { "forge": org.forge().as_str(), "repo_id": { "$in": ids } })
                .await
                .map_err(backend)?;
            for collection in ["repos", "snapshots", "http_cache"] {
                self.c(collection)
                    .delete_many(doc! { "org": &key })
                    .await
                    .map_err(backend)?;
            }
            for collection in ["orgs", "org_status"] {
                self.c(collection)
                    .delete_one(doc! { "_id": &key })
                    .await
                    .map_err(backend)?;
            }
        }
        self.bump().await?;
        Ok(removed)
    }

    // ----- organisations, repositories, libraries --------------------------------------

    async fn commit_org_refresh(&self, commit: &OrgCommit) -> StoreResult<()> {
        let org = &commit.record.org;
        let key = org.to_string();
        let forge = org.forge().as_str();
        let mut statements = Vec::with_capacity(commit.repos.len());
        for repo in &commit.repos {
            statements.push(doc! {
                "q": { "_id": repo_key(org, repo.listing.id) },
                "u": {
                    "$set": {
                        "forge": forge,
                        "id": repo.listing.id,
                        "org": repo.org.to_string(),
                        "stars": repo.listing.stars as i64,
                        "gone_since": repo.gone_since.map(day),
                        "doc": to_doc(repo)?,
                    },
                    "$setOnInsert": { "first_seen": day(repo.first_seen) },
                },
                "upsert": true,
            });
        }
        self.upsert_many("repos", statements).await?;
        if !commit.libraries.is_empty() {
            let ids: Vec<i64> = commit.libraries.iter().map(|l| l.repo_id).collect();
            self.c("repo_libraries")
                .delete_many(doc! { "forge": forge, "repo_id": { "$in": ids } })
                .await
                .map_err(backend)?;
            let docs: Vec<Document> = commit
                .libraries
                .iter()
                .flat_map(|set| {
                    set.libraries.iter().map(move |l| {
                        doc! {
                            "forge": forge, "repo_id": set.repo_id, "ecosystem": &l.ecosystem,
                            "name": &l.name, "version": l.version.clone(), "license": l.license.clone(),
                        }
                    })
                })
                .collect();
            if !docs.is_empty() {
                self.c("repo_libraries")
                    .insert_many(docs)
                    .await
                    .map_err(backend)?;
            }
        }
        let snapshot = &commit.snapshot;
        self.c("snapshots")
            .update_one(
                doc! { "_id": format!("{key}|{}", day(snapshot.day)) },
                doc! { "$set": {
                    "org": &key,
                    "day": day(snapshot.day),
                    "totals": to_doc(&snapshot.day_totals())?,
                    "repos": bson::to_bson(&snapshot.repos).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                } },
            )
            .upsert(true)
            .await
            .map_err(backend)?;
        self.c("orgs")
            .update_one(
                doc! { "_id": &key },
                doc! { "$set": { "fetched_at": date(commit.record.fetched_at), "doc": to_doc(&commit.record)? } },
            )
            .upsert(true)
            .await
            .map_err(backend)?;
        let mut cache = Vec::with_capacity(commit.http_cache.len());
        for entry in &commit.http_cache {
            cache.push(doc! {
                "q": { "_id": &entry.url },
                "u": { "$set": { "org": &key, "entry": to_doc(entry)? } },
                "upsert": true,
            });
        }
        self.upsert_many("http_cache", cache).await?;
        self.bump().await
    }

    async fn record_org_outcome(&self, outcome: &OrgOutcome) -> StoreResult<()> {
        let mut set = doc! { "outcome": to_doc(outcome)? };
        if outcome.status.stored() {
            set.insert("last_success_at", date(outcome.finished_at));
        }
        self.c("org_status")
            .update_one(
                doc! { "_id": outcome.org.to_string() },
                doc! { "$set": set },
            )
            .upsert(true)
            .await
            .map_err(backend)?;
        self.bump().await
    }

    async fn get_org(&self, org: &OrgId) -> StoreResult<Option<OrgRecord>> {
        self.org_record(org).await
    }

    async fn list_repos(&self, org: &OrgId) -> StoreResult<Vec<RepoRecord>> {
        let docs = self
            .all(
                "repos",
                doc! { "org": org.to_string() },
                Some(doc! { "id": 1 }),
            )
            .await?;
        docs.iter()
            .map(|d| {
                let mut repo: RepoRecord = from_doc(d, "doc")?;
                // The first date ever written survives later upserts ($setOnInsert).
                if let Ok(first) = d.get_str("first_seen") {
                    repo.first_seen = first
                        .parse()
                        .map_err(|e| StoreError::Corrupt(format!("first_seen: {e}")))?;
                }
                Ok(repo)
            })
            .collect()
    }

    async fn list_repo_libraries(&self, org: &OrgId, repo_id: i64) -> StoreResult<Vec<Library>> {
        let docs = self
            .all(
                "repo_libraries",
                doc! { "forge": org.forge().as_str(), "repo_id": repo_id },
                Some(doc! { "ecosystem": 1, "name": 1, "version": 1 }),
            )
            .await?;
        Ok(docs.iter().map(library_of).collect())
    }

    async fn library_usage(&self, org: &OrgId) -> StoreResult<Vec<LibraryUsage>> {
        let live: Vec<i64> = self
            .all(
                "repos",
                doc! { "org": org.to_string(), "gone_since": Bson::Null },
                None,
            )
            .await?
            .iter()
            .filter_map(|d| int(d, "id"))
            .collect();
        let pipeline = vec![
            doc! { "$match": { "forge": org.forge().as_str(), "repo_id": { "$in": live } } },
            doc! { "$group": { "_id": { "e": "$ecosystem", "n": "$name" }, "repos": { "$addToSet": "$repo_id" } } },
        ];
        let groups: Vec<Document> = self
            .c("repo_libraries")
            .aggregate(pipeline)
            .await
            .map_err(backend)?
            .try_collect()
            .await
            .map_err(backend)?;
        let mut usage: Vec<LibraryUsage> = groups
            .iter()
            .filter_map(|g| {
                let id = g.get_document("_id").ok()?;
                Some(LibraryUsage {
                    ecosystem: id.get_str("e").ok()?.to_owned(),
                    name: id.get_str("n").ok()?.to_owned(),
                    repos: g.get_array("repos").map(|r| r.len() as u64).unwrap_or(0),
                })
            })
            .collect();
        usage.sort_by(|a, b| {
            b.repos
                .cmp(&a.repos)
                .then_with(|| a.ecosystem.cmp(&b.ecosystem))
                .then_with(|| a.name.cmp(&b.name))
        });
        Ok(usage)
    }

    async fn overview(&self) -> StoreResult<Vec<OrgOverview>> {
        let mut overview = Vec::new();
        for tracked in self.tracked_orgs().await? {
            overview.push(OrgOverview {
                record: self.org_record(&tracked.org).await?,
                history: self.history(&tracked.org, None, None).await?,
                tracked,
            });
        }
        Ok(overview)
    }

    async fn org_detail(&self, org: &OrgId) -> StoreResult<Option<OrgDetail>> {
        let key = org.to_string();
        let tracked = self
            .c("tracked_orgs")
            .find_one(doc! { "_id": &key })
            .await
            .map_err(backend)?;
        let status = self
            .c("org_status")
            .find_one(doc! { "_id": &key })
            .await
            .map_err(backend)?;
        let record = self.org_record(org).await?;
        if tracked.is_none() && status.is_none() && record.is_none() {
            return Ok(None);
        }
        Ok(Some(OrgDetail {
            org: org.clone(),
            tracked_since: tracked.as_ref().and_then(|t| opt_date(t, "added_at")),
            last_outcome: status
                .as_ref()
                .map(|s| from_doc(s, "outcome"))
                .transpose()?,
            last_success_at: status.as_ref().and_then(|s| opt_date(s, "last_success_at")),
            record,
            history: self.history(org, None, None).await?,
            repos: self.list_repos(org).await?,
            libraries: self.library_usage(org).await?,
        }))
    }

    // ----- snapshots ----------------------------------------------------------------------

    async fn list_snapshots(
        &self,
        org: &OrgId,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> StoreResult<Vec<Snapshot>> {
        let docs = self
            .all(
                "snapshots",
                day_filter(org, from, to),
                Some(doc! { "day": 1 }),
            )
            .await?;
        docs.iter()
            .map(|d| {
                let t: DayTotals = from_doc(d, "totals")?;
                let repos = d
                    .get_array("repos")
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Ok(Snapshot {
                    org: org.clone(),
                    day: t.day,
                    taken_at: t.taken_at,
                    totals: t.totals,
                    languages: t.languages,
                    primary_languages: t.primary_languages,
                    repos: bson::from_bson(Bson::Array(repos.clone()))
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                })
            })
            .collect()
    }

    async fn list_history(
        &self,
        org: &OrgId,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> StoreResult<Vec<DayTotals>> {
        self.history(org, from, to).await
    }

    // ----- HTTP validators ----------------------------------------------------------------

    async fn list_http_cache(&self, org: &OrgId) -> StoreResult<Vec<HttpCacheEntry>> {
        let docs = self
            .all("http_cache", doc! { "org": org.to_string() }, None)
            .await?;
        docs.iter().map(|d| from_doc(d, "entry")).collect()
    }

    // ----- refresh runs -------------------------------------------------------------------

    async fn insert_run(&self, run: &RefreshRun) -> StoreResult<()> {
        self.c("runs")
            .insert_one(Self::run_doc(run)?)
            .await
            .map_err(backend)?;
        self.bump().await
    }

    async fn update_run(&self, run: &RefreshRun) -> StoreResult<()> {
        let result = self
            .c("runs")
            .replace_one(doc! { "_id": run.id.0.clone() }, Self::run_doc(run)?)
            .await
            .map_err(backend)?;
        if result.matched_count == 0 {
            return Err(StoreError::Backend(format!(
                "run {} does not exist",
                run.id
            )));
        }
        self.bump().await
    }

    async fn get_run(&self, id: &RunId) -> StoreResult<Option<RefreshRun>> {
        self.c("runs")
            .find_one(doc! { "_id": id.0.clone() })
            .await
            .map_err(backend)?
            .map(|d| from_doc(&d, "doc"))
            .transpose()
    }

    async fn list_runs(&self, limit: usize) -> StoreResult<Vec<RefreshRun>> {
        let docs: Vec<Document> = self
            .c("runs")
            .find(doc! {})
            .sort(doc! { "created_at": -1, "_id": -1 })
            .limit(i64::try_from(limit).unwrap_or(i64::MAX))
            .await
            .map_err(backend)?
            .try_collect()
            .await
            .map_err(backend)?;
        docs.iter().map(|d| from_doc(d, "doc")).collect()
    }

    async fn last_success_at(&self) -> StoreResult<Option<DateTime<Utc>>> {
        let found = self
            .c("runs")
            .find_one(doc! { "status": { "$in": ["succeeded", "partial"] } })
            .sort(doc! { "created_at": -1 })
            .await
            .map_err(backend)?;
        let run: Option<RefreshRun> = found.map(|d| from_doc(&d, "doc")).transpose()?;
        Ok(run.and_then(|r| r.finished_at))
    }

    async fn interrupt_unfinished_runs(
        &self,
        keep: &RunId,
        message: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let docs = self
            .all("runs", doc! { "status": { "$in": ["queued", "running"] }, "_id": { "$ne": keep.0.clone() } }, None)
            .await?;
        for d in &docs {
            let mut run: RefreshRun = from_doc(d, "doc")?;
            run.status = RunStatus::Interrupted;
            run.finished_at = Some(now);
            run.message = Some(message.to_owned());
            self.c("runs")
                .replace_one(doc! { "_id": run.id.0.clone() }, Self::run_doc(&run)?)
                .await
                .map_err(backend)?;
        }
        if !docs.is_empty() {
            self.bump().await?;
        }
        Ok(docs.len() as u64)
    }

    async fn delete_runs_before(&self, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        let deleted = self
            .c("runs")
            .delete_many(doc! { "created_at": { "$lt": date(cutoff) }, "status": { "$nin": ["queued", "running"] } })
            .await
            .map_err(backend)?
            .deleted_count;
        if deleted > 0 {
            self.bump().await?;
        }
        Ok(deleted)
    }

    // ----- the refresh lease --------------------------------------------------------------

    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        run_id: &RunId,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<LeaseGrant> {
        // One atomic findAndModify: it matches a free, expired or own lease; otherwise the
        // upsert collides with the held lease's `_id` and fails as a duplicate.
        let taken = self
            .c("leases")
            .find_one_and_update(
                doc! { "_id": name, "$or": [ { "expires_at": { "$lte": date(now) } }, { "holder": holder } ] },
                doc! { "$set": { "holder": holder, "run_id": run_id.0.clone(), "expires_at": date(until) } },
            )
            .upsert(true)
            .return_document(ReturnDocument::After)
            .await;
        match taken {
            Ok(_) => Ok(LeaseGrant::Acquired),
            Err(e) if is_duplicate(&e) => {
                let current = self
                    .c("leases")
                    .find_one(doc! { "_id": name })
                    .await
                    .map_err(backend)?;
                let Some(current) = current else {
                    // Released in between: try once more.
                    return Box::pin(self.acquire_lease(name, holder, run_id, now, until)).await;
                };
                Ok(LeaseGrant::Held(Lease {
                    name: name.to_owned(),
                    holder: current.get_str("holder").unwrap_or_default().to_owned(),
                    run_id: current.get_str("run_id").ok().map(|r| RunId(r.to_owned())),
                    expires_at: opt_date(&current, "expires_at").unwrap_or_default(),
                }))
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn renew_lease(
        &self,
        name: &str,
        holder: &str,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let result = self
            .c("leases")
            .update_one(
                doc! { "_id": name, "holder": holder },
                doc! { "$set": { "expires_at": date(until) } },
            )
            .await
            .map_err(backend)?;
        Ok(result.matched_count == 1)
    }

    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        self.c("leases")
            .delete_one(doc! { "_id": name, "holder": holder })
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn take_over_lease(
        &self,
        name: &str,
        dead: &str,
        holder: &str,
        run_id: &RunId,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let result = self
            .c("leases")
            .update_one(
                doc! { "_id": name, "holder": dead },
                doc! { "$set": { "holder": holder, "run_id": run_id.0.clone(), "expires_at": date(until) } },
            )
            .await
            .map_err(backend)?;
        Ok(result.matched_count == 1)
    }

    // ----- API tokens ---------------------------------------------------------------------

    async fn insert_token(&self, token: &TokenRecord) -> StoreResult<bool> {
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
        self.all("tokens", doc! {}, Some(doc! { "_id": 1 }))
            .await?
            .iter()
            .map(Self::token_of)
            .collect()
    }

    async fn find_token(&self, hash: &str) -> StoreResult<Option<TokenRecord>> {
        self.c("tokens")
            .find_one(doc! { "hash": hash })
            .await
            .map_err(backend)?
            .as_ref()
            .map(Self::token_of)
            .transpose()
    }

    async fn touch_token(&self, name: &str, now: DateTime<Utc>) -> StoreResult<()> {
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
        Ok(self
            .c("tokens")
            .delete_one(doc! { "_id": name })
            .await
            .map_err(backend)?
            .deleted_count
            == 1)
    }
}

fn library_of(d: &Document) -> Library {
    Library {
        ecosystem: d.get_str("ecosystem").unwrap_or_default().to_owned(),
        name: d.get_str("name").unwrap_or_default().to_owned(),
        version: d.get_str("version").ok().map(str::to_owned),
        license: d.get_str("license").ok().map(str::to_owned),
    }
}
