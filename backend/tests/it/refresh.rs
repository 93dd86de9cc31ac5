//! Manual refreshes, tokens, the lease across instances, and interruption: through the
//! HTTP API (Rocket's local client) over a fakeforge on 127.0.0.1.

use std::sync::Arc;
use std::time::Duration;

use crate::common::*;
use chrono::Utc;
use fakeforge::{ForgeConfig, WorldConfig};
use orgpulse::domain::{
    OrgStatus, RefreshRun, RunId, RunOptions, RunStatus, TokenRecord, TokenSecret,
};
use orgpulse::ingest::refresher::{LiveHolders, Refresher, LEASE};
use orgpulse::ingest::{Clock, ForgeAccess, IngestContext};
use orgpulse::store::Store;
use orgpulse::web;
use rocket::http::{Header, Status};
use rocket::local::asynchronous::Client;
use serde_json::{json, Value};

async fn forge(orgs: usize, repos: usize, latency_ms: u64) -> fakeforge::Running {
    fakeforge::start(ForgeConfig {
        world: WorldConfig {
            orgs,
            repos,
            seed: 5,
            changed_per_day: 0.05,
        },
        latency: Duration::from_millis(latency_ms),
        rate_limit: 1_000_000,
        ..ForgeConfig::default()
    })
    .await
    .expect("fakeforge starts")
}

fn ids(forge: &fakeforge::Running) -> Vec<orgpulse::domain::OrgId> {
    forge
        .forge
        .world()
        .orgs
        .iter()
        .map(|o| org(&format!("github:{}", o.login)))
        .collect()
}

fn refresher(store: Arc<dyn Store>, api_url: &str) -> Arc<Refresher> {
    let mut policy = fast_policy();
    policy.concurrency = 4;
    let ctx = IngestContext {
        store,
        forges: vec![ForgeAccess::github(api_url)],
        http: policy,
        options: RunOptions {
            languages: true,
            libraries: false,
        },
        org_parallelism: 1,
        clock: Clock::system(),
        cancel: Default::default(),
        metrics: Default::default(),
        activity: Default::default(),
        security: Default::default(),
    };
    // Refreshers of these tests stand for processes of one machine and pid: they share
    // one set of live holders, as the refreshers of one process would.
    static LIVE: std::sync::OnceLock<LiveHolders> = std::sync::OnceLock::new();
    Arc::new(Refresher::new_in(
        ctx,
        LIVE.get_or_init(LiveHolders::default),
    ))
}

async fn app(store: Arc<dyn Store>, refresher: Arc<Refresher>) -> Client {
    let services = web::Services {
        store,
        metrics: refresher.context().metrics.clone(),
        refresher: Some(refresher),
        attention: Default::default(),
        schedule: None,
        forges: Default::default(),
    };
    Client::tracked(web::build(services, web::rocket_config()).expect("builds"))
        .await
        .expect("valid rocket")
}

/// A valid token, stored; returns its secret.
async fn token(store: &dyn Store, name: &str) -> String {
    let secret = TokenSecret::generate();
    store
        .insert_token(&TokenRecord {
            name: name.into(),
            hash: secret.hash(),
            created_at: Utc::now(),
            expires_at: None,
            last_used_at: None,
        })
        .await
        .expect("insert");
    secret.expose().to_owned()
}

async fn post(
    client: &Client,
    uri: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> (Status, Option<String>, Value) {
    let mut request = client.post(uri.to_owned());
    if let Some(token) = token {
        request = request.header(Header::new("Authorization", format!("Bearer {token}")));
    }
    if let Some(body) = body {
        request = request.header(rocket::http::ContentType::JSON).body(body);
    }
    let response = request.dispatch().await;
    let status = response.status();
    let location = response.headers().get_one("Location").map(str::to_owned);
    let text = response.into_string().await.unwrap_or_default();
    (
        status,
        location,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

async fn finished(store: &dyn Store, id: &str) -> RefreshRun {
    for _ in 0..600 {
        let run = store
            .get_run(&RunId(id.into()))
            .await
            .expect("read")
            .expect("recorded");
        if run.status.is_finished() {
            return run;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("run {id} did not finish");
}

#[tokio::test]
async fn every_kind_of_bad_token_gets_the_same_401() {
    let (_dir, store) = sqlite_store().await;
    let forge = forge(1, 10, 0).await;
    let client = app(store.clone(), refresher(store.clone(), &forge.url)).await;
    let valid = token(store.as_ref(), "ok").await;
    let expired = TokenSecret::generate();
    store
        .insert_token(&TokenRecord {
            name: "old".into(),
            hash: expired.hash(),
            created_at: Utc::now() - chrono::Duration::days(200),
            expires_at: Some(Utc::now() - chrono::Duration::days(1)),
            last_used_at: None,
        })
        .await
        .expect("insert");
    let revoked = token(store.as_ref(), "gone").await;
    assert!(store.revoke_token("gone").await.expect("revoke"));
    let unknown = TokenSecret::generate().expose().to_owned();

    let mut bodies = Vec::new();
    for header in [
        None,
        Some("Bearer".to_owned()),
        Some("Basic dXNlcjpwYXNz".to_owned()),
        Some("Bearer not-a-token".to_owned()),
        Some(format!("Bearer {unknown}")),
        Some(format!("Bearer {}", expired.expose())),
        Some(format!("Bearer {revoked}")),
        Some(format!("Token {valid}")),
    ] {
        for (method, uri) in [
            ("post", "/api/v1/refresh"),
            ("post", "/api/v1/orgs"),
            ("delete", "/api/v1/orgs/github/x"),
        ] {
            let mut request = if method == "post" {
                client.post(uri)
            } else {
                client.delete(uri)
            };
            if let Some(h) = &header {
                request = request.header(Header::new("Authorization", h.clone()));
            }
            let response = request.dispatch().await;
            assert_eq!(
                response.status(),
                Status::Unauthorized,
                "{method} {uri} with {header:?}"
            );
            assert_eq!(
                response.headers().get_one("WWW-Authenticate"),
                Some("Bearer")
            );
            bodies.push(response.into_string().await.unwrap_or_default());
        }
    }
    bodies.dedup();
    assert_eq!(bodies.len(), 1, "one body whatever was wrong: {bodies:?}");
    assert!(bodies[0].contains("\"code\":\"unauthorized\""));
    assert!(
        store.list_runs(10).await.expect("runs").is_empty(),
        "nothing started"
    );
    let (status, _, _) = post(
        &client,
        "/api/v1/orgs",
        Some(&valid),
        Some(r#"{"id":"github:fine"}"#),
    )
    .await;
    assert_eq!(status, Status::Created, "the valid token works");
    let used = store
        .list_tokens()
        .await
        .expect("tokens")
        .into_iter()
        .find(|t| t.name == "ok")
        .expect("kept");
    assert!(used.last_used_at.is_some(), "use is recorded");
}

#[tokio::test]
async fn tracking_over_the_api_validates_and_changes_only_what_it_says() {
    let (_dir, store) = sqlite_store().await;
    let client = app(
        store.clone(),
        refresher(store.clone(), "http://127.0.0.1:9"),
    )
    .await;
    let t = token(store.as_ref(), "ops").await;
    let tracked = || async {
        store
            .list_tracked_orgs()
            .await
            .expect("list")
            .into_iter()
            .map(|o| o.org.to_string())
            .collect::<Vec<_>>()
    };

    let (status, _, body) = post(
        &client,
        "/api/v1/orgs",
        Some(&t),
        Some(r#"{"id":"github:Acme"}"#),
    )
    .await;
    assert_eq!(
        (status, body["id"].as_str(), body["changed"].as_bool()),
        (Status::Created, Some("github:acme"), Some(true))
    );
    let (status, _, body) = post(
        &client,
        "/api/v1/orgs",
        Some(&t),
        Some(r#"{"id":"github:acme"}"#),
    )
    .await;
    assert_eq!(
        (status, body["changed"].as_bool()),
        (Status::Ok, Some(false))
    );
    for (body, want, code) in [
        (
            r#"{"id":"github:-bad"}"#,
            Status::UnprocessableEntity,
            "invalid_parameter",
        ),
        (
            r#"{"id":"nowhere:x"}"#,
            Status::UnprocessableEntity,
            "invalid_parameter",
        ),
        (
            r#"{"name":"github:x"}"#,
            Status::UnprocessableEntity,
            "invalid_parameter",
        ),
        (r#"{"id": "github:x""#, Status::BadRequest, "malformed_json"),
        ("", Status::UnprocessableEntity, "invalid_parameter"),
        // serde alone would read `["github:x"]` as the struct `{"id": "github:x"}`.
        (
            r#"["github:x"]"#,
            Status::UnprocessableEntity,
            "invalid_parameter",
        ),
        ("null", Status::UnprocessableEntity, "invalid_parameter"),
    ] {
        let (status, _, answer) = post(&client, "/api/v1/orgs", Some(&t), Some(body)).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (want, Some(code)),
            "{body}: {answer}"
        );
    }
    let huge = format!(r#"{{"id":"github:x","pad":"{}"}}"#, "x".repeat(20_000));
    let (status, _, answer) = post(&client, "/api/v1/orgs", Some(&t), Some(&huge)).await;
    assert_eq!(
        (status, answer["error"]["code"].as_str()),
        (Status::PayloadTooLarge, Some("too_large"))
    );
    assert_eq!(
        tracked().await,
        ["github:acme"],
        "bad requests changed nothing"
    );

    let auth = Header::new("Authorization", format!("Bearer {t}"));
    let response = client
        .delete("/api/v1/orgs/github/nobody")
        .header(auth.clone())
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::NotFound);
    let response = client
        .delete("/api/v1/orgs/github/acme?purge=maybe")
        .header(auth.clone())
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::UnprocessableEntity);
    let response = client
        .delete("/api/v1/orgs/github/acme")
        .header(auth.clone())
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Ok);
    assert!(tracked().await.is_empty());
}

/// A sample's value in Prometheus text: the number after `name` at the start of a line.
fn sample(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no sample {name} in:\n{text}"))
}

#[tokio::test]
async fn a_finished_refresh_shows_in_the_duration_metric() {
    let (_dir, store) = sqlite_store().await;
    let forge = forge(1, 30, 0).await;
    store
        .seed_tracked_orgs(&ids(&forge), Utc::now())
        .await
        .expect("seed");
    let client = app(store.clone(), refresher(store.clone(), &forge.url)).await;
    let metrics = || async {
        client
            .get("/metrics")
            .dispatch()
            .await
            .into_string()
            .await
            .unwrap_or_default()
    };
    let before = metrics().await;
    assert_eq!(
        sample(&before, "orgpulse_refresh_duration_seconds_count"),
        0.0
    );

    let t = token(store.as_ref(), "ops").await;
    let (status, _, body) = post(&client, "/api/v1/refresh", Some(&t), None).await;
    assert_eq!(status, Status::Accepted, "{body}");
    let run = finished(store.as_ref(), body["id"].as_str().expect("id")).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.outcomes);

    // The run is recorded finished a moment before the refresher's task observes it.
    let mut after = metrics().await;
    for _ in 0..100 {
        if sample(&after, "orgpulse_refresh_duration_seconds_count") > 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        after = metrics().await;
    }
    assert_eq!(
        sample(&after, "orgpulse_refresh_duration_seconds_count"),
        1.0
    );
    let sum = sample(&after, "orgpulse_refresh_duration_seconds_sum");
    let took = (run.finished_at.expect("finished") - run.started_at.expect("started"))
        .to_std()
        .expect("forward")
        .as_secs_f64();
    assert!(
        sum > 0.0 && sum <= took + 1.0,
        "sum {sum}s, run took {took}s"
    );
    assert!(
        after.contains(r#"orgpulse_refresh_duration_seconds_bucket{le="+Inf"} 1"#),
        "{after}"
    );
}

#[tokio::test]
async fn a_manual_refresh_is_accepted_runs_and_can_be_polled() {
    let (_dir, store) = sqlite_store().await;
    let forge = forge(2, 60, 0).await;
    store
        .seed_tracked_orgs(&ids(&forge), Utc::now())
        .await
        .expect("seed");
    let client = app(store.clone(), refresher(store.clone(), &forge.url)).await;
    let t = token(store.as_ref(), "ops").await;

    let (status, location, body) = post(&client, "/api/v1/refresh", Some(&t), None).await;
    assert_eq!(status, Status::Accepted, "{body}");
    let id = body["id"].as_str().expect("id").to_owned();
    assert_eq!(
        location.as_deref(),
        Some(format!("/api/v1/runs/{id}").as_str())
    );
    assert_eq!(body["coalesced"], false);
    let run = finished(store.as_ref(), &id).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.outcomes);
    assert_eq!(run.outcomes.len(), 2);
    assert_eq!(run.trigger, orgpulse::domain::Trigger::Api);
    let polled: Value = serde_json::from_str(
        &client
            .get(location.expect("location"))
            .dispatch()
            .await
            .into_string()
            .await
            .expect("body"),
    )
    .expect("json");
    assert_eq!(
        (polled["status"].as_str(), polled["orgs_done"].as_u64()),
        (Some("succeeded"), Some(2))
    );

    let one = ids(&forge)[0].to_string();
    let (status, _, body) = post(
        &client,
        "/api/v1/refresh",
        Some(&t),
        Some(&json!({"orgs": [one]}).to_string()),
    )
    .await;
    assert_eq!(status, Status::Accepted);
    let run = finished(store.as_ref(), body["id"].as_str().expect("id")).await;
    assert_eq!(run.orgs_requested.len(), 1);
    let (status, _, body) = post(
        &client,
        "/api/v1/refresh",
        Some(&t),
        Some(r#"{"orgs":["github:-x"]}"#),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (Status::UnprocessableEntity, Some("invalid_parameter"))
    );
}

#[tokio::test]
async fn two_instances_on_one_database_run_one_refresh_and_the_second_coalesces() {
    // Two processes' worth: separate connections, separate refreshers, one database.
    let (_db, store_a, store_b) = stores::shared_pair().await;
    let forge = forge(3, 150, 20).await;
    store_a
        .seed_tracked_orgs(&ids(&forge), Utc::now())
        .await
        .expect("seed");
    let (a, b) = (
        refresher(store_a.clone(), &forge.url),
        refresher(store_b.clone(), &forge.url),
    );
    assert_ne!(a.holder(), b.holder());
    let (client_a, client_b) = (app(store_a.clone(), a).await, app(store_b.clone(), b).await);
    let t = token(store_a.as_ref(), "ops").await;

    let ((status_a, _, body_a), (status_b, _, body_b)) = tokio::join!(
        post(&client_a, "/api/v1/refresh", Some(&t), None),
        post(&client_b, "/api/v1/refresh", Some(&t), None)
    );
    assert_eq!(
        (status_a, status_b),
        (Status::Accepted, Status::Accepted),
        "{body_a} {body_b}"
    );
    assert_eq!(body_a["id"], body_b["id"], "one run for both requests");
    let coalesced = [&body_a, &body_b]
        .iter()
        .filter(|b| b["coalesced"] == true)
        .count();
    assert_eq!(coalesced, 1, "{body_a} {body_b}");
    // And a third request while it runs joins it too.
    let (_, _, body_c) = post(&client_b, "/api/v1/refresh", Some(&t), None).await;
    assert_eq!(
        (body_c["id"].clone(), body_c["coalesced"].clone()),
        (body_a["id"].clone(), json!(true))
    );

    let run = finished(store_a.as_ref(), body_a["id"].as_str().expect("id")).await;
    assert_eq!(run.status, RunStatus::Succeeded);
    assert_eq!(
        store_b.list_runs(10).await.expect("runs").len(),
        1,
        "exactly one run was recorded"
    );
    // The lease is released: the next request starts a new run.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, _, next) = post(&client_b, "/api/v1/refresh", Some(&t), None).await;
    assert_eq!(next["coalesced"], false);
    assert_ne!(next["id"], body_a["id"]);
    finished(store_b.as_ref(), next["id"].as_str().expect("id")).await;
}

#[tokio::test]
async fn a_lease_left_by_a_dead_instance_is_taken_over_after_it_expires() {
    let (_dir, store) = sqlite_store().await;
    let forge = forge(1, 20, 0).await;
    store
        .seed_tracked_orgs(&ids(&forge), Utc::now())
        .await
        .expect("seed");
    // An instance took the lease for a run, then died.
    let mut dead = RefreshRun::queued(
        orgpulse::domain::Trigger::Schedule,
        ids(&forge),
        RunOptions {
            languages: false,
            libraries: false,
        },
        Utc::now(),
    );
    dead.status = RunStatus::Running;
    store.insert_run(&dead).await.expect("insert");
    let now = Utc::now();
    store
        .acquire_lease(
            LEASE,
            "crashed-host-1-abcd",
            &dead.id,
            now,
            now + chrono::Duration::milliseconds(1500),
        )
        .await
        .expect("lease");

    let client = app(store.clone(), refresher(store.clone(), &forge.url)).await;
    let t = token(store.as_ref(), "ops").await;
    let (_, _, joined) = post(&client, "/api/v1/refresh", Some(&t), None).await;
    assert_eq!(
        (joined["id"].as_str(), joined["coalesced"].as_bool()),
        (Some(dead.id.0.as_str()), Some(true)),
        "held: join it"
    );

    tokio::time::sleep(Duration::from_millis(1600)).await;
    let (status, _, taken) = post(&client, "/api/v1/refresh", Some(&t), None).await;
    assert_eq!(
        (status, taken["coalesced"].as_bool()),
        (Status::Accepted, Some(false)),
        "{taken}"
    );
    let run = finished(store.as_ref(), taken["id"].as_str().expect("id")).await;
    assert_eq!(run.status, RunStatus::Succeeded);
    let dead = store.get_run(&dead.id).await.expect("read").expect("kept");
    assert_eq!(
        dead.status,
        RunStatus::Interrupted,
        "the dead instance's run is closed"
    );
    assert!(dead
        .message
        .as_deref()
        .is_some_and(|m| m.contains("stopped")));
}

#[tokio::test]
async fn an_interrupted_refresh_leaves_every_org_whole_and_reads_interrupted() {
    let (_dir, store) = sqlite_store().await;
    let forge = forge(4, 150, 15).await;
    let orgs = ids(&forge);
    store
        .seed_tracked_orgs(&orgs, Utc::now())
        .await
        .expect("seed");
    let first = refresher(store.clone(), &forge.url);
    let day0 = first
        .request(
            orgpulse::domain::Trigger::Cli,
            None,
            Arc::new(orgpulse::ingest::Silent),
        )
        .await
        .expect("start");
    assert_eq!(
        finished(store.as_ref(), &day0.run.id.0).await.status,
        RunStatus::Succeeded
    );

    // Day 1 upstream; stop the refresh once at least one org is written but not all.
    forge.forge.set_day(9);
    let second = refresher(store.clone(), &forge.url);
    let run = second
        .request(
            orgpulse::domain::Trigger::Schedule,
            None,
            Arc::new(orgpulse::ingest::Silent),
        )
        .await
        .expect("start")
        .run;
    let world = forge.forge.world();
    let stars_on = |day: u32, i: usize| -> Vec<(i64, u64)> {
        let mut v: Vec<(i64, u64)> = world
            .repos(&world.orgs[i], day)
            .iter()
            .map(|r| {
                (
                    r["id"].as_i64().expect("id"),
                    r["stargazers_count"].as_u64().expect("stars"),
                )
            })
            .collect();
        v.sort_unstable();
        v
    };
    let stored_stars = |i: usize| {
        let store = store.clone();
        let org = orgs[i].clone();
        async move {
            let mut v: Vec<(i64, u64)> = store
                .list_repos(&org)
                .await
                .expect("repos")
                .iter()
                .filter(|r| r.gone_since.is_none())
                .map(|r| (r.listing.id, r.listing.stars))
                .collect();
            v.sort_unstable();
            v
        }
    };
    for _ in 0..400 {
        if stored_stars(0).await == stars_on(9, 0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    second.shutdown(Duration::from_secs(5)).await;
    let run = finished(store.as_ref(), &run.id.0).await;
    assert_eq!(run.status, RunStatus::Interrupted, "{:?}", run.outcomes);
    let mut updated = 0;
    for (i, id) in orgs.iter().enumerate() {
        let now = stored_stars(i).await;
        let new = now == stars_on(9, i);
        assert!(
            new || now == stars_on(0, i),
            "{id} is neither its old nor its new state"
        );
        updated += usize::from(new);
        if let Some(o) = run.outcomes.iter().find(|o| &o.org == id) {
            assert_eq!(
                o.status == OrgStatus::Ok,
                new,
                "{id}: outcome {:?} vs data",
                o.status
            );
        }
    }
    assert!(
        updated >= 1 && updated < orgs.len(),
        "stopped mid-way: {updated} of {} updated",
        orgs.len()
    );
    assert!(run
        .outcomes
        .iter()
        .any(|o| o.status == OrgStatus::Interrupted));
    // The lease is free again: a new refresher starts a fresh run that completes.
    let third = refresher(store.clone(), &forge.url);
    let next = third
        .request(
            orgpulse::domain::Trigger::CatchUp,
            None,
            Arc::new(orgpulse::ingest::Silent),
        )
        .await
        .expect("start");
    assert!(!next.coalesced);
    assert_eq!(
        finished(store.as_ref(), &next.run.id.0).await.status,
        RunStatus::Succeeded
    );
    for i in 0..orgs.len() {
        assert_eq!(stored_stars(i).await, stars_on(9, i));
    }
}
