//! Webhooks end to end: refreshes over two simulated days, three local receivers (one
//! verifying signatures, one answering 500 then 200, one that hangs and later recovers),
//! and what the run records and the pages show.

use std::sync::Arc;
use std::time::Duration;

use crate::common::{at, context, org, repos, sqlite_store, FakeOrg};
use crate::web::{client, get, json};
use hmac::{Hmac, KeyInit, Mac};
use orgpulse::domain::{RefreshRun, Trigger};
use orgpulse::ingest::refresher::Refresher;
use orgpulse::ingest::{Clock, Silent};
use orgpulse::store::Store;
use orgpulse::webhooks::{DeliveryPolicy, Webhooks, DELIVERY_HEADER, SIGNATURE_HEADER};
use rocket::http::Status;
use serde_json::{json, Value};
use sha2::Sha256;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "webhook-test-secret";
/// Receivers' paths stand for a chat service's credential: never shown anywhere.
const HOOK_PATH: &str = "/services/T0/B0/CREDENTIALPATH";

/// A receiver answering `status` (after `delay`).
async fn receiver(server: &MockServer, status: u16, delay: Duration, times: Option<u64>) {
    let mock = Mock::given(method("POST"))
        .and(path(HOOK_PATH))
        .respond_with(ResponseTemplate::new(status).set_delay(delay));
    match times {
        Some(n) => mock.up_to_n_times(n).with_priority(1),
        None => mock.with_priority(2),
    }
    .mount(server)
    .await;
}

/// The body of a delivery whose signature verifies (computed here independently).
fn verified(request: &wiremock::Request) -> Value {
    let signature = request
        .headers
        .get(SIGNATURE_HEADER)
        .expect("signed")
        .to_str()
        .expect("text");
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(SECRET.as_bytes()).expect("key");
    mac.update(&request.body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(signature, format!("sha256={expected}"), "the HMAC verifies");
    serde_json::from_slice(&request.body).expect("a JSON body")
}

fn kinds(body: &Value) -> Vec<String> {
    body["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["kind"].as_str().expect("kind").to_owned())
        .collect()
}

/// Runs a refresh of acme and beta on `day`; returns the run as first recorded finished
/// (before its deliveries end) and as recorded once they have.
async fn refresh_on(
    store: &Arc<dyn Store>,
    forge: &MockServer,
    webhooks: &Webhooks,
    day: &str,
) -> (RefreshRun, RefreshRun) {
    let mut ctx = context(store.clone(), forge);
    ctx.clock = Clock::fixed(at(day));
    let refresher = Arc::new(Refresher::new(ctx).with_webhooks(Some(webhooks.clone())));
    let requested = refresher
        .request(
            Trigger::Api,
            Some(vec![org("github:acme"), org("github:beta")]),
            Arc::new(Silent),
        )
        .await
        .expect("started");
    let finished = loop {
        let run = store
            .get_run(&requested.run.id)
            .await
            .expect("read")
            .expect("recorded");
        if run.status.is_finished() {
            break run;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    refresher.settle_deliveries(Duration::from_secs(30)).await;
    let delivered = store
        .get_run(&requested.run.id)
        .await
        .expect("read")
        .expect("recorded");
    (finished, delivered)
}

#[tokio::test]
async fn deliveries_are_signed_retried_bounded_and_never_lost() {
    let forge = MockServer::start().await;
    let mut acme = FakeOrg::new("acme", 7, repos(5));
    let beta = FakeOrg::new("beta", 8, crate::common::repos_from(100, 3));
    acme.mount(&forge).await;
    beta.mount(&forge).await;
    let (_db, store) = sqlite_store().await;

    let (good, flaky, hanging) = (
        MockServer::start().await,
        MockServer::start().await,
        MockServer::start().await,
    );
    receiver(&good, 200, Duration::ZERO, None).await;
    receiver(&flaky, 500, Duration::ZERO, Some(1)).await;
    receiver(&flaky, 200, Duration::ZERO, None).await;
    receiver(&hanging, 200, Duration::from_secs(5), None).await;
    let urls: Vec<String> = [&good, &flaky, &hanging]
        .iter()
        .map(|s| format!("{}{HOOK_PATH}", s.uri()))
        .collect();
    let webhooks = Webhooks::new(
        &urls.iter().map(String::as_str).collect::<Vec<_>>(),
        Some(serde_json::from_value(json!(SECRET)).expect("a secret")),
        DeliveryPolicy {
            attempts: 3,
            first_wait: Duration::from_millis(50),
            timeout: Duration::from_millis(300),
        },
    )
    .expect("valid endpoints");

    // Day 1: each organisation's baseline.
    let (finished, run) = refresh_on(&store, &forge, &webhooks, "2026-03-01").await;
    assert!(
        finished.deliveries.is_empty(),
        "the run was recorded finished before the hanging endpoint gave up: {:?}",
        finished.deliveries
    );
    let took = finished.finished_at.expect("end") - finished.started_at.expect("start");
    assert!(
        took < chrono::Duration::milliseconds(300),
        "the refresh itself never waits for an endpoint (the clock is fixed): {took}"
    );
    let good_days = good.received_requests().await.expect("recorded");
    assert_eq!(good_days.len(), 2, "one POST per organisation");
    let bodies: Vec<Value> = good_days.iter().map(verified).collect();
    assert_eq!(
        (bodies[0]["org"].clone(), kinds(&bodies[0])),
        (json!("github:acme"), vec!["baseline".to_owned()])
    );
    assert_eq!(bodies[1]["org"], "github:beta");
    assert!(
        bodies[0]["text"]
            .as_str()
            .expect("text")
            .starts_with("orgpulse · github:acme: 1 new change\n• First refresh of github:acme"),
        "{}",
        bodies[0]["text"]
    );
    assert_eq!(bodies[0]["run_id"], json!(run.id.to_string()));
    assert!(
        bodies[0]["events"][0]["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("urn:orgpulse:event:")),
        "events carry their stable ids, for telling repeats apart"
    );
    let flaky_days = flaky.received_requests().await.expect("recorded");
    assert_eq!(flaky_days.len(), 3, "acme twice (500, then 200), beta once");
    let ids: Vec<&str> = flaky_days
        .iter()
        .map(|r| {
            r.headers
                .get(DELIVERY_HEADER)
                .and_then(|v| v.to_str().ok())
                .expect("a delivery id")
        })
        .collect();
    assert_eq!(ids[0], ids[1], "a retry is the same delivery");
    assert_ne!(ids[1], ids[2]);
    assert_eq!(
        verified(&flaky_days[1]),
        bodies[0],
        "the same body, retried"
    );

    let by = |target: &MockServer, org_id: &str| {
        let host = target.uri();
        run.deliveries
            .iter()
            .find(|d| host.starts_with(&d.target) && d.org.to_string() == org_id)
            .unwrap_or_else(|| panic!("a delivery to {host} for {org_id}: {:?}", run.deliveries))
            .clone()
    };
    assert_eq!(run.deliveries.len(), 6, "{:?}", run.deliveries);
    let retried = by(&flaky, "github:acme");
    assert_eq!(
        (retried.delivered, retried.attempts, retried.status),
        (true, 2, Some(200))
    );
    let hung = by(&hanging, "github:acme");
    assert_eq!((hung.delivered, hung.attempts), (false, 3), "bounded tries");
    assert!(
        hung.error
            .as_deref()
            .is_some_and(|e| e.contains("no answer")),
        "{hung:?}"
    );
    let skipped = by(&hanging, "github:beta");
    assert_eq!((skipped.delivered, skipped.attempts), (false, 0));
    assert!(
        skipped
            .error
            .as_deref()
            .is_some_and(|e| e.contains("not sent")),
        "{skipped:?}"
    );
    assert_eq!(
        hanging.received_requests().await.expect("recorded").len(),
        3,
        "after one organisation's tries ran out, the endpoint got nothing more this run"
    );

    // Day 2: acme changes; the hanging endpoint is back.
    acme.repos[0]["name"] = json!("renamed");
    acme.repos[0]["full_name"] = json!("acme/renamed");
    acme.repos[1]["archived"] = json!(true);
    forge.reset().await;
    acme.mount(&forge).await;
    beta.mount(&forge).await;
    hanging.reset().await;
    receiver(&hanging, 200, Duration::ZERO, None).await;
    let (_, run2) = refresh_on(&store, &forge, &webhooks, "2026-03-02").await;
    assert!(
        run2.deliveries.iter().all(|d| d.delivered),
        "{:?}",
        run2.deliveries
    );

    let good_all = good.received_requests().await.expect("recorded");
    assert_eq!(
        good_all.len(),
        3,
        "only acme had news for the good endpoint"
    );
    let mut news = kinds(&verified(&good_all[2]));
    news.sort();
    assert_eq!(news, ["repo_archived", "repo_renamed"]);
    let recovered: Vec<Value> = hanging
        .received_requests()
        .await
        .expect("recorded") // since the reset
        .iter()
        .map(verified)
        .collect();
    assert_eq!(recovered.len(), 2, "acme's and beta's backlogs");
    let acme_backlog = kinds(&recovered[0]);
    assert_eq!(
        (acme_backlog.len(), acme_backlog[0].as_str()),
        (3, "baseline"),
        "yesterday's undelivered event first, then today's: {acme_backlog:?}"
    );
    let seqs: Vec<i64> = recovered[0]["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["seq"].as_i64().expect("seq"))
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "oldest first");
    assert_eq!(
        kinds(&recovered[1]),
        ["baseline"],
        "beta's, never sent before"
    );

    // Day 3, nothing new: nobody is called.
    let (_, run3) = refresh_on(&store, &forge, &webhooks, "2026-03-03").await;
    assert!(run3.deliveries.is_empty(), "{:?}", run3.deliveries);
    assert_eq!(good.received_requests().await.expect("recorded").len(), 3);

    // The run page and the API show the deliveries, never the endpoints' paths.
    let client = client(store).await;
    let (status, page) = get(&client, "/runs").await;
    assert_eq!(status, Status::Ok);
    assert!(page.contains(">Webhooks</th>"), "a webhooks column");
    assert!(
        page.contains("github:beta: not delivered"),
        "the failure shows"
    );
    assert!(page.contains("no answer within"), "and why");
    let (status, body) = json(&client, &format!("/api/v1/runs/{}", run.id)).await;
    assert_eq!(status, Status::Ok);
    assert_eq!(body["deliveries"].as_array().map(Vec::len), Some(6));
    assert!(!page.contains("CREDENTIALPATH") && !body.to_string().contains("CREDENTIALPATH"));
}
