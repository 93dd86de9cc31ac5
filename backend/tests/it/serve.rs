//! `orgpulse serve` as a real process: the schedule, the start-up catch-up, tokens made
//! with the CLI, logs, and SIGTERM during a refresh.

use std::time::{Duration, Instant};

use crate::common::process::{free_port, run, Server};

use fakeforge::{ForgeConfig, WorldConfig};
use serde_json::Value;

async fn forge(repos: usize, latency_ms: u64) -> fakeforge::Running {
    fakeforge::start(ForgeConfig {
        world: WorldConfig {
            orgs: 2,
            repos,
            seed: 8,
            changed_per_day: 0.05,
        },
        latency: Duration::from_millis(latency_ms),
        rate_limit: 1_000_000,
        ..ForgeConfig::default()
    })
    .await
    .expect("fakeforge starts")
}

fn orgs_of(forge: &fakeforge::Running) -> String {
    forge
        .forge
        .world()
        .orgs
        .iter()
        .map(|o| format!("github:{}", o.login))
        .collect::<Vec<_>>()
        .join(",")
}

#[tokio::test]
async fn an_invalid_schedule_stops_start_up_and_names_the_variable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(
        dir.path(),
        &[
            ("ORGPULSE_SCHEDULE", "every day at 3".into()),
            ("ROCKET_PORT", free_port().to_string()),
        ],
        &["serve"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ORGPULSE_SCHEDULE") && err.contains("every day at 3"),
        "{err}"
    );
}

#[tokio::test]
async fn the_server_refreshes_on_its_schedule_and_shows_the_next_run() {
    let forge = forge(30, 0).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let env = [
        ("ORGPULSE_GITHUB_API_URL", forge.url.clone()),
        ("ORGPULSE_ORGS", orgs_of(&forge)),
        // Every two seconds (with seconds first).
        ("ORGPULSE_SCHEDULE", "*/2 * * * * *".into()),
    ];
    let server = Server::start(dir.path(), &env).await;
    let listing = server.json("/api/v1/runs").await;
    assert_eq!(listing["schedule"], "*/2 * * * * *");
    assert!(listing["next_scheduled_at"].is_string(), "{listing}");
    let runs = server
        .wait_runs(
            |runs| {
                runs.iter()
                    .filter(|r| r["trigger"] == "schedule" && r["status"] == "succeeded")
                    .count()
                    >= 2
            },
            Duration::from_secs(20),
        )
        .await;
    assert!(runs.iter().all(|r| r["status"] != "failed"), "{runs:?}");
    let page = reqwest::get(format!("{}/runs", server.base))
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(
        page.contains("Next scheduled refresh") && page.contains("schedule"),
        "the page shows the next run"
    );
}

#[tokio::test]
async fn a_restart_after_a_missed_tick_catches_up() {
    let forge = forge(30, 0).await;
    let dir = tempfile::tempdir().expect("tempdir");
    // Once a year: a fresh start has never refreshed, so it must catch up by itself.
    let env = [
        ("ORGPULSE_GITHUB_API_URL", forge.url.clone()),
        ("ORGPULSE_ORGS", orgs_of(&forge)),
        ("ORGPULSE_SCHEDULE", "0 0 3 1 1 *".into()),
    ];
    let mut server = Server::start(dir.path(), &env).await;
    let runs = server
        .wait_runs(
            |runs| {
                runs.iter()
                    .any(|r| r["trigger"] == "catch_up" && r["status"] == "succeeded")
            },
            Duration::from_secs(20),
        )
        .await;
    assert_eq!(runs.len(), 1, "{runs:?}");
    server.terminate();

    // Just refreshed: a restart does not refresh again.
    let server = Server::start(dir.path(), &env).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let runs = server.json("/api/v1/runs").await["runs"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(runs.len(), 1, "no second catch-up: {runs:?}");
}

#[tokio::test]
async fn tokens_from_the_cli_trigger_refreshes_over_http_and_never_reach_the_logs() {
    let forge = forge(40, 0).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let env = [
        ("ORGPULSE_GITHUB_API_URL", forge.url.clone()),
        ("ORGPULSE_ORGS", orgs_of(&forge)),
        ("ORGPULSE_SCHEDULE", "0 0 3 1 1 *".into()),
        ("ORGPULSE_LOG", "debug".into()),
    ];
    let created = run(
        dir.path(),
        &env,
        &["token", "create", "ops", "--expires-in-days", "7"],
    )
    .await;
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let secret = String::from_utf8(created.stdout)
        .expect("utf-8")
        .trim()
        .to_owned();
    assert!(
        secret.starts_with("orgp_") && !secret.contains(' '),
        "stdout is the secret alone: {secret}"
    );
    assert!(String::from_utf8_lossy(&created.stderr).contains("shown only this once"));
    let again = run(dir.path(), &env, &["token", "create", "ops"]).await;
    assert_eq!(again.status.code(), Some(1), "names are unique");
    let bad = run(dir.path(), &env, &["token", "create", "no spaces"]).await;
    assert_eq!(bad.status.code(), Some(1));

    let server = Server::start(dir.path(), &env).await;
    let client = reqwest::Client::new();
    let accepted = client
        .post(format!("{}/api/v1/refresh", server.base))
        .bearer_auth(&secret)
        .send()
        .await
        .expect("answers");
    assert_eq!(accepted.status(), 202);
    let location = accepted.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let run = server.json(&location).await;
        if run["status"] == "succeeded" {
            break;
        }
        assert!(Instant::now() < deadline, "{run}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let listed = run(dir.path(), &env, &["token", "list"]).await;
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(
        listed.contains("ops") && listed.contains("last used"),
        "{listed}"
    );
    assert!(!listed.contains(&secret));

    let revoked = run(dir.path(), &env, &["token", "revoke", "ops"]).await;
    assert!(revoked.status.success());
    let refused = client
        .post(format!("{}/api/v1/refresh", server.base))
        .bearer_auth(&secret)
        .send()
        .await
        .expect("answers");
    assert_eq!(refused.status(), 401);

    let log = server.log_text();
    assert!(
        log.contains("authenticated") && log.contains("token=ops"),
        "the log says who, by name"
    );
    let lines: Vec<&str> = log.lines().collect();
    let leaks: Vec<String> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains(&secret[5..]))
        .map(|(i, _)| lines[i.saturating_sub(12)..=i].join("\n"))
        .collect();
    assert!(leaks.is_empty(), "the secret is never logged: {leaks:#?}");
    let db = std::fs::read(dir.path().join("data/orgpulse.db")).expect("database");
    assert!(
        !db.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "only the hash is stored"
    );
}

#[tokio::test]
async fn sigterm_during_a_refresh_interrupts_it_cleanly_and_the_next_start_catches_up() {
    let forge = forge(400, 25).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let env = [
        ("ORGPULSE_GITHUB_API_URL", forge.url.clone()),
        ("ORGPULSE_ORGS", orgs_of(&forge)),
        ("ORGPULSE_SCHEDULE", "0 0 3 1 1 *".into()),
        ("ORGPULSE_FETCH_LANGUAGES", "true".into()),
        ("ORGPULSE_CONCURRENCY", "2".into()),
    ];
    let mut server = Server::start(dir.path(), &env).await;
    server
        .wait_runs(
            |runs| runs.iter().any(|r| r["status"] == "running"),
            Duration::from_secs(15),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (status, took) = server.terminate();
    assert!(
        status.success(),
        "exits cleanly: {status:?}\n{}",
        server.log_text()
    );
    assert!(
        took < Duration::from_secs(10),
        "within Docker's stop timeout: {took:?}"
    );

    let store = orgpulse::store::sqlite::SqliteStore::open(dir.path().join("data/orgpulse.db"))
        .await
        .expect("opens");
    use orgpulse::store::prelude::*;
    let runs = store.list_runs(10).await.expect("runs");
    assert_eq!(runs.len(), 1);
    assert_eq!(
        runs[0].status,
        orgpulse::domain::RunStatus::Interrupted,
        "{:?}",
        runs[0]
    );
    let now = chrono::Utc::now();
    let probe = orgpulse::domain::RunId("probe".into());
    assert_eq!(
        store
            .acquire_lease(
                orgpulse::ingest::refresher::LEASE,
                "probe",
                &probe,
                now,
                now + chrono::Duration::seconds(1)
            )
            .await
            .expect("lease"),
        orgpulse::store::LeaseGrant::Acquired,
        "the lease was released"
    );
    store
        .release_lease(orgpulse::ingest::refresher::LEASE, "probe")
        .await
        .expect("release");

    let server = Server::start(dir.path(), &env).await;
    server
        .wait_runs(
            |runs| {
                runs.iter()
                    .any(|r| r["trigger"] == "catch_up" && r["status"] == "succeeded")
            },
            Duration::from_secs(60),
        )
        .await;
}

/// The same upstream data refreshed into SQLite and into MongoDB, through the real binary,
/// gives the same API answers.
#[tokio::test]
async fn mongodb_and_sqlite_answer_the_same_for_the_same_data() {
    let Some((mongo, _)) = crate::common::stores::mongo().await else {
        return;
    };
    let forge = forge(130, 0).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite_url = format!("sqlite://{}", dir.path().join("same.db").display());
    let mut answers = Vec::new();
    for url in [sqlite_url, mongo.url()] {
        let env = [
            ("ORGPULSE_GITHUB_API_URL", forge.url.clone()),
            ("ORGPULSE_ORGS", orgs_of(&forge)),
            ("ORGPULSE_DATABASE_URL", url.clone()),
            ("ORGPULSE_FETCH_LANGUAGES", "true".into()),
            ("ORGPULSE_FETCH_LIBRARIES", "true".into()),
            // The stand-ins: tests never reach the internet.
            ("ORGPULSE_OSV_API_URL", format!("{}/osv", forge.url)),
            ("ORGPULSE_SCORECARD", "off".into()),
            ("ORGPULSE_SCHEDULE", "0 0 3 1 1 *".into()),
        ];
        let refreshed = run(dir.path(), &env, &["refresh"]).await;
        assert!(
            refreshed.status.success(),
            "{url}: {}",
            String::from_utf8_lossy(&refreshed.stderr)
        );
        let server = Server::start(dir.path(), &env).await;
        let login = &forge.forge.world().orgs[0].login;
        let mut answer = Vec::new();
        for path in [
            format!("/api/v1/orgs/github/{login}/repos?limit=100&sort=name"),
            format!("/api/v1/orgs/github/{login}/libraries"),
            format!("/api/v1/orgs/github/{login}/history"),
            format!("/api/v1/orgs/github/{login}/vulnerabilities"),
        ] {
            let mut value = server.json(&path).await;
            // When each refresh ran differs between the two runs; everything else must not.
            if let Some(days) = value["days"].as_array_mut() {
                for d in days {
                    d["taken_at"] = Value::Null;
                }
            }
            for field in ["check", "history"] {
                if let Some(v) = value.get_mut(field) {
                    *v = Value::Null;
                }
            }
            if let Some(packages) = value["packages"].as_array_mut() {
                for p in packages {
                    p["first_seen"] = Value::Null;
                    p["confirmed_at"] = Value::Null;
                }
            }
            answer.push(value);
        }
        let csv = reqwest::get(format!(
            "{}/api/v1/orgs/github/{login}/repos.csv",
            server.base
        ))
        .await
        .expect("csv")
        .text()
        .await
        .expect("body");
        answer.push(Value::String(csv));
        let page = reqwest::get(format!("{}/orgs/github/{login}", server.base))
            .await
            .expect("page");
        assert_eq!(page.status(), 200, "{url}");
        answers.push(answer);
    }
    assert_eq!(
        answers[0], answers[1],
        "SQLite and MongoDB answer differently"
    );
    mongo.cleanup().await;
}
