//! The stores a test can run against: SQLite always, MongoDB when
//! `ORGPULSE_TEST_MONGODB_URI` names a server (each test in its own database, dropped
//! afterwards). `ORGPULSE_TEST_STORE=mongo` makes the pipeline and web suites use
//! MongoDB too. A suite that cannot run says why; under `ORGPULSE_REQUIRE_ALL_SUITES=1`
//! it fails instead.

use std::sync::Arc;
use std::time::{Duration, Instant};

use orgpulse::store::mongo::MongoStore;
use orgpulse::store::prelude::*;
use tempfile::TempDir;

/// What keeps a test database alive, and cleans it up.
#[derive(Debug)]
pub enum TestDb {
    Sqlite(TempDir),
    Mongo { uri: String, name: String },
}

impl TestDb {
    /// Drops a MongoDB test database (a SQLite one goes with its folder).
    pub async fn cleanup(self) {
        if let TestDb::Mongo { uri, name } = self {
            if let Ok(client) = mongodb::Client::with_uri_str(&uri).await {
                let _ = client.database(&name).drop().await;
            }
        }
    }

    /// The `ORGPULSE_DATABASE_URL` for a process (the CLI or the server) to use this database.
    pub fn url(&self) -> String {
        match self {
            TestDb::Sqlite(dir) => format!("sqlite://{}", dir.path().join("orgpulse.db").display()),
            TestDb::Mongo { uri, name } => with_database(uri, name),
        }
    }
}

pub async fn sqlite() -> Option<(TestDb, Arc<dyn Store>)> {
    let dir = tempfile::tempdir().expect("temporary folder");
    let store = orgpulse::store::sqlite::SqliteStore::open(dir.path().join("orgpulse.db"))
        .await
        .expect("store opens");
    Some((TestDb::Sqlite(dir), Arc::new(store)))
}

fn with_database(uri: &str, name: &str) -> String {
    let mut url = url::Url::parse(uri).expect("ORGPULSE_TEST_MONGODB_URI is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

/// A fresh MongoDB database, or `None` (with the reason printed) when no server is named.
pub async fn mongo() -> Option<(TestDb, Arc<dyn Store>)> {
    let Ok(uri) = std::env::var("ORGPULSE_TEST_MONGODB_URI") else {
        let reason =
            "ORGPULSE_TEST_MONGODB_URI is not set (see backend/tests/mongo_wire/README.md)";
        assert!(
            std::env::var("ORGPULSE_REQUIRE_ALL_SUITES").as_deref() != Ok("1"),
            "the MongoDB suite must run here, but {reason}"
        );
        eprintln!("SKIPPED MongoDB test: {reason}");
        return None;
    };
    let name = format!("orgpulse_test_{}", uuid::Uuid::now_v7().simple());
    // Fixtures are dated in the past: a short retention would let the TTL index expire
    // their runs (which is what it is for).
    let store = MongoStore::open(&with_database(&uri, &name), 36_500)
        .await
        .expect("the URI parses");
    let started = Instant::now();
    while let Err(e) = store.ping().await {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "MongoDB at {uri} did not get ready: {e}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Some((TestDb::Mongo { uri, name }, Arc::new(store)))
}

/// The store the pipeline and web suites use: `ORGPULSE_TEST_STORE=mongo` picks MongoDB.
pub async fn any() -> (TestDb, Arc<dyn Store>) {
    if std::env::var("ORGPULSE_TEST_STORE").as_deref() == Ok("mongo") {
        return mongo()
            .await
            .expect("ORGPULSE_TEST_STORE=mongo needs ORGPULSE_TEST_MONGODB_URI");
    }
    sqlite().await.expect("SQLite always works")
}

/// Two connections to one database, as two instances would have: for the lease tests.
pub async fn shared_pair() -> (TestDb, Arc<dyn Store>, Arc<dyn Store>) {
    let (db, first) = any().await;
    let second: Arc<dyn Store> = match &db {
        TestDb::Sqlite(dir) => Arc::new(
            orgpulse::store::sqlite::SqliteStore::open(dir.path().join("orgpulse.db"))
                .await
                .expect("opens"),
        ),
        TestDb::Mongo { .. } => {
            let store = MongoStore::open(&db.url(), 36_500).await.expect("opens");
            let started = Instant::now();
            while store.ping().await.is_err() {
                assert!(
                    started.elapsed() < Duration::from_secs(20),
                    "MongoDB did not get ready"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Arc::new(store)
        }
    };
    (db, first, second)
}
