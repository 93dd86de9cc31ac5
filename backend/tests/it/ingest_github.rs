//! Ingest against a wiremock GitHub: pagination, conditional requests, rate limits,
//! transient failures and garbage upstream — and what each leaves in the store.

use std::time::Duration;

use crate::common::*;
use orgpulse::domain::{OrgStatus, RunOptions, RunStatus};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn follows_link_pages_to_another_path_and_stores_every_repo() {
    for with_last in [true, false] {
        let server = MockServer::start().await;
        let mut fake = FakeOrg::new("acme", 4242, repos(250));
        fake.with_last = with_last;
        fake.mount(&server).await;
        let (_dir, store) = sqlite_store().await;
        let ctx = context(store.clone(), &server);

        let run = refresh(&ctx, &["github:acme"]).await;

        assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.outcomes);
        let stored = store.list_repos(&org("github:acme")).await.expect("repos");
        assert_eq!(stored.len(), 250, "with_last={with_last}");
        assert_eq!(
            requests_to(&server, "/organizations/4242/repos")
                .await
                .len(),
            2,
            "pages 2 and 3"
        );
        assert_eq!(requests_to(&server, "/orgs/acme/repos").await.len(), 1);
        assert_eq!(run.counts.requests, 4, "profile + 3 pages");
        let snapshots = store
            .list_snapshots(&org("github:acme"), None, None)
            .await
            .expect("snapshots");
        assert_eq!(snapshots.len(), 1);
        let expected_stars: u64 = (1..=250u64).map(|i| (i * 37) % 1000).sum();
        assert_eq!(snapshots[0].totals.stars, expected_stars);
        assert_eq!(snapshots[0].totals.repos, 250);
        assert_eq!(snapshots[0].repos.len(), 250);
        let profile = store
            .get_org(&org("github:acme"))
            .await
            .expect("read")
            .expect("stored");
        assert_eq!(profile.profile.id, 4242);
        // The fake answers only the documented headers; check they were all sent.
        let first = &requests_to(&server, "/orgs/acme").await[0];
        assert_eq!(first.headers["accept"], "application/vnd.github+json");
        assert_eq!(first.headers["x-github-api-version"], "2022-11-28");
        assert!(first.headers["user-agent"]
            .to_str()
            .expect("ascii")
            .starts_with("orgpulse/"));
        assert!(
            !first.headers.contains_key("authorization"),
            "no token configured"
        );
    }
}

#[tokio::test]
async fn second_run_asks_conditionally_and_changes_nothing() {
    let server = MockServer::start().await;
    FakeOrg::new("acme", 7, repos(230)).mount(&server).await;
    let (_dir, store) = sqlite_store().await;
    let ctx = context(store.clone(), &server);

    let first = refresh(&ctx, &["github:acme"]).await;
    assert_eq!(first.counts.not_modified, 0);
    assert_eq!(first.counts.repos_changed, 230);
    let before = store.list_repos(&org("github:acme")).await.expect("repos");
    let snapshot_before = store
        .list_snapshots(&org("github:acme"), None, None)
        .await
        .expect("snapshots");
    server.reset().await;
    FakeOrg::new("acme", 7, repos(230)).mount(&server).await;

    let second = refresh(&ctx, &["github:acme"]).await;

    assert_eq!(second.status, RunStatus::Succeeded);
    assert_eq!(second.counts.requests, 4);
    assert_eq!(
        second.counts.not_modified, 4,
        "every URL had an ETag, every answer is 304"
    );
    assert_eq!(second.counts.repos_changed, 0);
    assert_eq!(second.counts.repos_gone, 0);
    for request in server.received_requests().await.expect("recorded") {
        assert!(
            request.headers.contains_key("if-none-match"),
            "{} sent without a validator",
            request.url
        );
    }
    assert!(
        store.list_repos(&org("github:acme")).await.expect("repos") == before,
        "repos changed"
    );
    let snapshot_after = store
        .list_snapshots(&org("github:acme"), None, None)
        .await
        .expect("snapshots");
    assert_eq!(snapshot_after.len(), 1);
    assert_eq!(snapshot_after[0].totals, snapshot_before[0].totals);
    assert_eq!(snapshot_after[0].repos, snapshot_before[0].repos);
}

#[tokio::test]
async fn changed_data_replaces_the_same_day_snapshot_and_a_new_day_adds_one() {
    let server = MockServer::start().await;
    let mut fake = FakeOrg::new("acme", 7, repos(3));
    fake.mount(&server).await;
    let (_dir, store) = sqlite_store().await;
    let mut ctx = context(store.clone(), &server);
    ctx.clock = orgpulse::ingest::Clock::fixed(at("2026-03-01"));
    refresh(&ctx, &["github:acme"]).await;

    fake.repos[0]["stargazers_count"] = json!(5000);
    server.reset().await;
    fake.mount(&server).await;
    let run = refresh(&ctx, &["github:acme"]).await;
    assert_eq!(run.counts.repos_changed, 1);
    let snaps = store
        .list_snapshots(&org("github:acme"), None, None)
        .await
        .expect("snapshots");
    assert_eq!(snaps.len(), 1, "same day replaces");
    assert!(snaps[0].totals.stars >= 5000);

    ctx.clock = orgpulse::ingest::Clock::fixed(at("2026-03-02"));
    refresh(&ctx, &["github:acme"]).await;
    let snaps = store
        .list_snapshots(&org("github:acme"), None, None)
        .await
        .expect("snapshots");
    assert_eq!(
        snaps.iter().map(|s| s.day.to_string()).collect::<Vec<_>>(),
        ["2026-03-01", "2026-03-02"]
    );
    let first_seen = store.list_repos(&org("github:acme")).await.expect("repos")[0].first_seen;
    assert_eq!(
        first_seen.to_string(),
        "2026-03-01",
        "first-seen survives later upserts"
    );
}

#[tokio::test]
async fn repos_missing_from_a_complete_listing_are_marked_gone_not_deleted() {
    let server = MockServer::start().await;
    let mut fake = FakeOrg::new("acme", 7, repos(5));
    fake.mount(&server).await;
    let (_dir, store) = sqlite_store().await;
    let mut ctx = context(store.clone(), &server);
    ctx.clock = orgpulse::ingest::Clock::fixed(at("2026-03-01"));
    refresh(&ctx, &["github:acme"]).await;

    let removed = fake.repos.remove(2);
    server.reset().await;
    fake.mount(&server).await;
    ctx.clock = orgpulse::ingest::Clock::fixed(at("2026-03-04"));
    let run = refresh(&ctx, &["github:acme"]).await;

    assert_eq!(run.counts.repos_gone, 1);
    let stored = store.list_repos(&org("github:acme")).await.expect("repos");
    assert_eq!(stored.len(), 5, "nothing is deleted");
    let gone: Vec<_> = stored.iter().filter(|r| r.gone_since.is_some()).collect();
    assert_eq!(gone.len(), 1);
    assert_eq!(gone[0].listing.id, removed["id"].as_i64().expect("id"));
    assert_eq!(gone[0].gone_since.expect("gone").to_string(), "2026-03-04");
    let snap = store
        .list_snapshots(&org("github:acme"), None, None)
        .await
        .expect("snapshots");
    assert_eq!(
        snap.last().expect("snapshot").totals.repos,
        4,
        "gone repos leave the totals"
    );

    // It comes back: the mark is cleared, its first-seen date kept.
    fake.repos.push(removed);
    server.reset().await;
    fake.mount(&server).await;
    refresh(&ctx, &["github:acme"]).await;
    let stored = store.list_repos(&org("github:acme")).await.expect("repos");
    assert!(stored.iter().all(|r| r.gone_since.is_none()));
    assert!(stored
        .iter()
        .all(|r| r.first_seen.to_string() == "2026-03-01"));
}

#[tokio::test]
async fn an_org_that_fails_keeps_its_old_data_and_does_not_affect_others() {
    let server = MockServer::start().await;
    FakeOrg::new("acme", 7, repos(120)).mount(&server).await;
    FakeOrg::new("other", 8, repos_from(1000, 3))
        .mount(&server)
        .await;
    let (_dir, store) = sqlite_store().await;
    let ctx = context(store.clone(), &server);
    refresh(&ctx, &["github:acme", "github:other"]).await;
    let before = store.list_repos(&org("github:acme")).await.expect("repos");
    let snaps_before = store
        .list_snapshots(&org("github:acme"), None, None)
        .await
        .expect("snapshots");

    // Page 2 of acme now always fails; `other` changes.
    server.reset().await;
    let mut acme = FakeOrg::new("acme", 7, repos(120));
    acme.etags = false;
    Mock::given(method("GET"))
        .and(path("/organizations/7/repos"))
        .respond_with(ResponseTemplate::new(502).set_body_string("bad gateway"))
        .with_priority(1)
        .mount(&server)
        .await;
    acme.mount(&server).await;
    let mut other = FakeOrg::new("other", 8, repos_from(1000, 4));
    other.repos[0]["stargazers_count"] = json!(99);
    other.mount(&server).await;

    let run = refresh(&ctx, &["github:acme", "github:other"]).await;

    assert_eq!(run.status, RunStatus::Partial);
    assert_eq!(run.outcomes[0].status, OrgStatus::Failed);
    assert!(
        run.outcomes[0]
            .message
            .as_deref()
            .expect("reason")
            .contains("502"),
        "{:?}",
        run.outcomes[0]
    );
    assert_eq!(run.outcomes[1].status, OrgStatus::Ok);
    assert!(
        store.list_repos(&org("github:acme")).await.expect("repos") == before,
        "old data changed"
    );
    let snaps_after = store
        .list_snapshots(&org("github:acme"), None, None)
        .await
        .expect("snapshots");
    assert!(snaps_after == snaps_before, "old snapshot changed");
    assert_eq!(
        store
            .list_repos(&org("github:other"))
            .await
            .expect("repos")
            .len(),
        4
    );
    let tracked_outcome = store.list_runs(1).await.expect("runs")[0].clone();
    assert_eq!(tracked_outcome.id, run.id);
    assert_eq!(tracked_outcome.status, RunStatus::Partial);
}

#[tokio::test]
async fn a_missing_org_is_not_found_and_keeps_its_history() {
    let server = MockServer::start().await;
    FakeOrg::new("acme", 7, repos(2)).mount(&server).await;
    let (_dir, store) = sqlite_store().await;
    let ctx = context(store.clone(), &server);
    refresh(&ctx, &["github:acme"]).await;

    server.reset().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404).set_body_json(
            json!({"message": "Not Found", "documentation_url": "https://docs.github.com"}),
        ))
        .mount(&server)
        .await;
    let run = refresh(&ctx, &["github:acme"]).await;

    assert_eq!(run.status, RunStatus::Failed);
    assert_eq!(run.outcomes[0].status, OrgStatus::NotFound);
    assert_eq!(
        run.counts.requests, 2,
        "a 404 is final, not retried; one more asks for the stored id"
    );
    let said = run.outcomes[0].message.as_deref().unwrap_or_default();
    assert!(
        said.contains("nor its id 7") && said.contains("kept"),
        "{said}"
    );
    assert_eq!(
        store
            .list_repos(&org("github:acme"))
            .await
            .expect("repos")
            .len(),
        2
    );
    assert!(store
        .get_org(&org("github:acme"))
        .await
        .expect("read")
        .is_some());
}

#[tokio::test]
async fn transient_5xx_is_retried_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/orgs/acme"))
        .respond_with(ResponseTemplate::new(503).set_body_string("try later"))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    FakeOrg::new("acme", 7, repos(3)).mount(&server).await;
    let (_dir, store) = sqlite_store().await;
    let ctx = context(store.clone(), &server);

    let run = refresh(&ctx, &["github:acme"]).await;

    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.outcomes);
    assert_eq!(run.counts.retries, 2);
    assert_eq!(run.counts.requests, 4, "3 profile tries + 1 page");
}

#[tokio::test]
async fn a_request_that_hangs_times_out_and_is_retried_within_bounds() {
    let server = MockServer::start().await;
    let fake = FakeOrg::new("acme", 7, repos(3));
    Mock::given(method("GET"))
        .and(path("/orgs/acme"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(fake.profile())
                .set_delay(Duration::from_secs(5)),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    fake.mount(&server).await;
    let (_dir, store) = sqlite_store().await;
    let ctx = context(store.clone(), &server);
    let run = refresh(&ctx, &["github:acme"]).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.outcomes);
    assert_eq!(run.counts.retries, 1);

    // Always hanging: the org fails with a timeout after 1 + retries tries.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(fake.profile())
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&server)
        .await;
    let ctx = context(store.clone(), &server);
    let started = std::time::Instant::now();
    let run = refresh(&ctx, &["github:other"]).await;
    assert_eq!(run.outcomes[0].status, OrgStatus::Failed);
    assert!(
        run.outcomes[0]
            .message
            .as_deref()
            .expect("reason")
            .contains("did not answer"),
        "{:?}",
        run.outcomes
    );
    assert_eq!(run.counts.requests, 3);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "bounded by timeout × tries"
    );
}

#[tokio::test]
async fn a_truncated_body_is_retried_and_a_persistently_broken_one_fails() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/orgs/acme/repos"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(r#"[{"id":1,"name":"a","full_na"#, "application/json"),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    FakeOrg::new("acme", 7, repos(3)).mount(&server).await;
    let (_dir, store) = sqlite_store().await;
    let ctx = context(store.clone(), &server);
    let run = refresh(&ctx, &["github:acme"]).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.outcomes);
    assert_eq!(
        store
            .list_repos(&org("github:acme"))
            .await
            .expect("repos")
            .len(),
        3
    );

    server.reset().await;
    Mock::given(method("GET"))
        .and(path("/orgs/acme/repos"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("[{\"id\":1,", "application/json"))
        .with_priority(1)
        .mount(&server)
        .await;
    let mut fake = FakeOrg::new("acme", 7, repos(3));
    fake.etags = false;
    fake.mount(&server).await;
    let run = refresh(&ctx, &["github:acme"]).await;
    assert_eq!(run.outcomes[0].status, OrgStatus::Failed);
    assert!(
        run.outcomes[0]
            .message
            .as_deref()
            .expect("reason")
            .contains("unreadable"),
        "{:?}",
        run.outcomes
    );
    assert_eq!(
        store
            .list_repos(&org("github:acme"))
            .await
            .expect("repos")
            .len(),
        3,
        "old data kept"
    );
}

#[tokio::test]
async fn a_malformed_entry_is_skipped_counted_and_not_marked_gone() {
    let server = MockServer::start().await;
    let mut fake = FakeOrg::new("acme", 7, repos(4));
    fake.mount(&server).await;
    let (_dir, store) = sqlite_store().await;
    let ctx = context(store.clone(), &server);
    refresh(&ctx, &["github:acme"]).await;

    fake.repos[1]["stargazers_count"] = json!("lots");
    fake.repos.push(json!({"name": "no id at all"}));
    server.reset().await;
    fake.mount(&server).await;
    let run = refresh(&ctx, &["github:acme"]).await;

    assert_eq!(run.status, RunStatus::Partial);
    assert_eq!(run.outcomes[0].status, OrgStatus::Partial);
    assert_eq!(run.counts.malformed_skipped, 2);
    assert!(run.outcomes[0]
        .message
        .as_deref()
        .expect("note")
        .contains("2 unreadable"));
    let stored = store.list_repos(&org("github:acme")).await.expect("repos");
    assert_eq!(stored.len(), 4);
    assert!(
        stored.iter().all(|r| r.gone_since.is_none()),
        "an unreadable entry is not a deletion"
    );
}

#[tokio::test]
async fn odd_but_valid_fields_are_accepted() {
    let server = MockServer::start().await;
    let mut weird = repo(1, "empty", 0, "2026-01-01T00:00:00Z");
    for field in ["license", "description", "pushed_at", "language", "topics"] {
        weird[field] = Value::Null;
    }
    weird.as_object_mut().expect("object").remove("visibility");
    weird["brand_new_field"] = json!({"nested": [1, 2]});
    FakeOrg::new(
        "acme",
        7,
        vec![weird, repo(2, "normal", 3, "2026-01-01T00:00:00Z")],
    )
    .mount(&server)
    .await;
    let (_dir, store) = sqlite_store().await;
    let run = refresh(&context(store.clone(), &server), &["github:acme"]).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.outcomes);
    let stored = store.list_repos(&org("github:acme")).await.expect("repos");
    assert_eq!(stored[0].listing.license, None);
    assert_eq!(stored[0].listing.pushed_at, None);
    assert!(stored[0].listing.topics.is_empty());
}

#[tokio::test]
async fn primary_limit_exhausted_stops_the_run_and_keeps_data() {
    let server = MockServer::start().await;
    FakeOrg::new("acme", 7, repos(2)).mount(&server).await;
    let (_dir, store) = sqlite_store().await;
    let ctx = context(store.clone(), &server);
    refresh(&ctx, &["github:acme"]).await;

    server.reset().await;
    let reset = chrono::Utc::now().timestamp() + 3600;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(403)
                .insert_header("x-ratelimit-limit", "60")
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset", reset.to_string().as_str())
                .set_body_json(json!({"message": "API rate limit exceeded for 127.0.0.1."})),
        )
        .mount(&server)
        .await;
    let mut ctx = context(store.clone(), &server);
    ctx.org_parallelism = 1;
    let run = refresh(&ctx, &["github:acme", "github:other", "github:third"]).await;

    assert_eq!(run.status, RunStatus::Failed);
    assert!(
        run.outcomes
            .iter()
            .all(|o| o.status == OrgStatus::RateLimited),
        "{:?}",
        run.outcomes
    );
    assert_eq!(
        server.received_requests().await.expect("recorded").len(),
        1,
        "no request after the limit is known"
    );
    assert!(run.outcomes[0]
        .message
        .as_deref()
        .expect("reason")
        .contains("resets at"));
    assert_eq!(
        store
            .list_repos(&org("github:acme"))
            .await
            .expect("repos")
            .len(),
        2
    );
}

#[tokio::test]
async fn a_low_budget_is_kept_in_reserve_and_a_near_reset_is_waited_for() {
    // The budget says 1 left with a reserve of 1: the second request waits for the reset
    // (two seconds away, within the allowed wait) instead of spending the reserve.
    let server = MockServer::start().await;
    let reset = chrono::Utc::now().timestamp() + 2;
    let fake = FakeOrg::new("acme", 7, repos(2));
    Mock::given(method("GET"))
        .and(path("/orgs/acme"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(fake.profile())
                .insert_header("x-ratelimit-limit", "60")
                .insert_header("x-ratelimit-remaining", "1")
                .insert_header("x-ratelimit-reset", reset.to_string().as_str()),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    fake.mount(&server).await;
    let (_dir, store) = sqlite_store().await;
    let mut ctx = context(store.clone(), &server);
    ctx.http.rate_limit_reserve = 1;
    let started = std::time::Instant::now();
    let run = refresh(&ctx, &["github:acme"]).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.outcomes);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "waited for the reset"
    );

    // The same budget with a reset an hour away: stop, don't wait.
    let server = MockServer::start().await;
    let reset = chrono::Utc::now().timestamp() + 3600;
    Mock::given(method("GET"))
        .and(path("/orgs/acme"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(fake.profile())
                .insert_header("x-ratelimit-remaining", "1")
                .insert_header("x-ratelimit-reset", reset.to_string().as_str()),
        )
        .mount(&server)
        .await;
    let mut ctx = context(store.clone(), &server);
    ctx.http.rate_limit_reserve = 1;
    let run = refresh(&ctx, &["github:acme"]).await;
    assert_eq!(run.outcomes[0].status, OrgStatus::RateLimited);
    assert_eq!(server.received_requests().await.expect("recorded").len(), 1);
}

#[tokio::test]
async fn secondary_limit_with_retry_after_is_honoured() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/orgs/acme"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(json!({"message": "You have exceeded a secondary rate limit."})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    FakeOrg::new("acme", 7, repos(2)).mount(&server).await;
    let (_dir, store) = sqlite_store().await;
    let started = std::time::Instant::now();
    let run = refresh(&context(store.clone(), &server), &["github:acme"]).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.outcomes);
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited retry-after"
    );
    assert_eq!(run.counts.retries, 1);
}

#[tokio::test]
async fn secondary_limit_without_advice_backs_off_then_gives_up() {
    let limited = || {
        ResponseTemplate::new(403).set_body_json(json!({
            "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
            "documentation_url": "https://docs.github.com"
        }))
    };
    // Twice limited, then fine: backs off 50 ms and 100 ms (doubling), then succeeds.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/orgs/acme"))
        .respond_with(limited())
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    FakeOrg::new("acme", 7, repos(2)).mount(&server).await;
    let (_dir, store) = sqlite_store().await;
    let started = std::time::Instant::now();
    let run = refresh(&context(store.clone(), &server), &["github:acme"]).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.outcomes);
    assert_eq!(run.counts.retries, 2);
    assert!(started.elapsed() >= Duration::from_millis(150));

    // Always limited: bounded tries, then the run stops fetching.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(limited())
        .mount(&server)
        .await;
    let mut ctx = context(store.clone(), &server);
    ctx.org_parallelism = 1;
    let run = refresh(&ctx, &["github:acme", "github:other"]).await;
    assert!(
        run.outcomes
            .iter()
            .all(|o| o.status == OrgStatus::RateLimited),
        "{:?}",
        run.outcomes
    );
    assert_eq!(
        server.received_requests().await.expect("recorded").len(),
        3,
        "1 + 2 secondary retries"
    );
}

#[tokio::test]
async fn a_plain_403_is_a_refusal_not_a_rate_limit() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(json!({"message": "Resource not accessible"})),
        )
        .mount(&server)
        .await;
    let (_dir, store) = sqlite_store().await;
    let run = refresh(&context(store, &server), &["github:acme"]).await;
    assert_eq!(run.outcomes[0].status, OrgStatus::Failed);
    assert!(run.outcomes[0]
        .message
        .as_deref()
        .expect("reason")
        .contains("Resource not accessible"));
    assert_eq!(run.counts.requests, 1);
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let server = MockServer::start().await;
    let huge = "x".repeat(5 << 20);
    Mock::given(method("GET"))
        .and(path("/orgs/acme"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(huge, "application/json"))
        .mount(&server)
        .await;
    let (_dir, store) = sqlite_store().await;
    let run = refresh(&context(store, &server), &["github:acme"]).await;
    assert_eq!(run.outcomes[0].status, OrgStatus::Failed);
    assert!(
        run.outcomes[0]
            .message
            .as_deref()
            .expect("reason")
            .contains("larger than"),
        "{:?}",
        run.outcomes
    );
    assert_eq!(run.counts.requests, 1, "not retried");
}

fn sbom(purls: &[&str]) -> Value {
    let mut packages = vec![
        json!({"SPDXID": "SPDXRef-repo", "name": "acme/x", "externalRefs": [
        {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": "pkg:github/acme/x@main"}]}),
    ];
    for (i, purl) in purls.iter().enumerate() {
        packages.push(json!({"SPDXID": format!("SPDXRef-{i}"), "name": purl, "licenseConcluded": "MIT",
            "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl}]}));
    }
    json!({"sbom": {"spdxVersion": "SPDX-2.3", "packages": packages, "relationships": []}})
}

/// GitHub's SBOM export for `/repos/acme/{name}`: `generate-report` names the report,
/// which answers 202 `polls` times (the first with `retry-after: 0`) and then redirects to
/// a download that refuses any `Authorization` header (as the storage host does).
async fn mount_export(server: &MockServer, name: &str, document: &Value, polls: usize) {
    let report = format!("/repos/acme/{name}/dependency-graph/sbom/fetch-report/u-{name}");
    Mock::given(method("GET"))
        .and(path(format!(
            "/repos/acme/{name}/dependency-graph/sbom/generate-report"
        )))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"sbom_url": format!("{}{report}", server.uri())})),
        )
        .mount(server)
        .await;
    let storage = format!("/storage/{name}.json");
    Mock::given(method("GET"))
        .and(path(report))
        .respond_with(Polls {
            left: std::sync::atomic::AtomicUsize::new(polls),
            location: format!("{}{storage}?se=2026&sig=x", server.uri()),
        })
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(storage.clone()))
        .and(wiremock::matchers::header_exists("authorization"))
        .respond_with(ResponseTemplate::new(401))
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(storage))
        .respond_with(ResponseTemplate::new(200).set_body_json(document["sbom"].clone()))
        .mount(server)
        .await;
}

/// A report that is being generated `left` more times, then ready at `location`.
struct Polls {
    left: std::sync::atomic::AtomicUsize,
    location: String,
}

impl wiremock::Respond for Polls {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        use std::sync::atomic::Ordering;
        let left = self.left.load(Ordering::SeqCst);
        if left > 0 {
            self.left.store(left - 1, Ordering::SeqCst);
            let answer = ResponseTemplate::new(202).set_body_json(json!({"message": "generating"}));
            return if left % 2 == 1 {
                answer.insert_header("retry-after", "0")
            } else {
                answer
            };
        }
        ResponseTemplate::new(302).insert_header("location", self.location.as_str())
    }
}

#[tokio::test]
async fn languages_and_libraries_are_fetched_only_for_repos_that_moved() {
    let server = MockServer::start().await;
    let mut fake = FakeOrg::new("acme", 7, repos(3));
    fake.mount(&server).await;
    for name in ["repo-1", "repo-2", "repo-3"] {
        mount_json(
            &server,
            &format!("/repos/acme/{name}/languages"),
            None,
            &json!({"Rust": 1000, "Shell": 20}),
            true,
            vec![],
        )
        .await;
    }
    // Through the export that replaced the removed endpoint; repo-1's report takes
    // three polls. repo-3 has no dependency graph: the export answers 403.
    mount_export(
        &server,
        "repo-1",
        &sbom(&["pkg:cargo/serde@1.0.0", "pkg:npm/%40scope/pkg@2.0.0"]),
        3,
    )
    .await;
    mount_export(&server, "repo-2", &sbom(&["pkg:cargo/serde@1.0.1"]), 0).await;
    Mock::given(method("GET"))
        .and(path(
            "/repos/acme/repo-3/dependency-graph/sbom/generate-report",
        ))
        .respond_with(ResponseTemplate::new(403).set_body_json(
            json!({"message": "Dependency graph is not enabled for this repository."}),
        ))
        .mount(&server)
        .await;
    let (_dir, store) = sqlite_store().await;
    let mut ctx = context(store.clone(), &server);
    ctx.options = RunOptions {
        languages: true,
        libraries: true,
    };

    let run = refresh(&ctx, &["github:acme"]).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.outcomes);
    assert_eq!(
        run.options,
        RunOptions {
            languages: true,
            libraries: true
        },
        "the run records what it fetched"
    );
    let stored = store.list_repos(&org("github:acme")).await.expect("repos");
    assert!(stored
        .iter()
        .all(|r| r.languages.as_ref().is_some_and(|l| l["Rust"] == 1000)));
    assert_eq!(stored[0].libraries, Some(2));
    assert_eq!(
        stored[2].libraries, None,
        "no dependency graph = not available, not a failure"
    );
    assert_eq!(
        requests_to(
            &server,
            "/repos/acme/repo-1/dependency-graph/sbom/fetch-report/"
        )
        .await
        .len(),
        4,
        "three polls while generating, then the redirect"
    );
    let downloads = requests_to(&server, "/storage/").await;
    assert_eq!(downloads.len(), 2);
    assert!(
        downloads
            .iter()
            .all(|r| !r.headers.contains_key("authorization")),
        "the download never carries the GitHub token"
    );
    assert!(
        requests_to(&server, "/repos/acme/repo-1/dependency-graph/sbom")
            .await
            .iter()
            .all(|r| r.url.path() != "/repos/acme/repo-1/dependency-graph/sbom"),
        "the removed endpoint is not asked where the export exists"
    );
    let usage = store
        .library_usage(&org("github:acme"))
        .await
        .expect("usage");
    assert_eq!(usage[0].name, "serde");
    assert_eq!(usage[0].repos, 2);
    assert!(usage
        .iter()
        .any(|u| u.ecosystem == "npm" && u.name == "@scope/pkg"));
    let snap = &store
        .list_snapshots(&org("github:acme"), None, None)
        .await
        .expect("snapshots")[0];
    assert_eq!(snap.languages["Rust"], 3000);

    // Only repo-2 was pushed to: only its details are asked for again.
    fake.repos[1]["pushed_at"] = json!("2026-02-02T00:00:00Z");
    server.reset().await;
    fake.mount(&server).await;
    mount_json(
        &server,
        "/repos/acme/repo-2/languages",
        None,
        &json!({"Rust": 5000}),
        true,
        vec![],
    )
    .await;
    mount_export(&server, "repo-2", &sbom(&["pkg:cargo/tokio@1.0.0"]), 0).await;
    let run = refresh(&ctx, &["github:acme"]).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.outcomes);
    // languages, generate-report, fetch-report (the download is on the storage host).
    assert_eq!(requests_to(&server, "/repos/").await.len(), 3);
    assert_eq!(requests_to(&server, "/repos/acme/repo-2/").await.len(), 3);
    let stored = store.list_repos(&org("github:acme")).await.expect("repos");
    assert_eq!(
        stored[1].languages.as_ref().expect("languages")["Rust"],
        5000
    );
    assert_eq!(
        stored[0].languages.as_ref().expect("languages")["Rust"],
        1000,
        "unchanged repos keep theirs"
    );
    let libs = store
        .list_repo_libraries(&org("github:acme"), 2)
        .await
        .expect("libraries");
    assert_eq!(
        libs.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
        ["tokio"]
    );
}

/// An older GitHub Enterprise has no export (`generate-report` is 404): the synchronous
/// endpoint is asked instead. A report that is still generating when the report wait
/// runs out is a failed detail: the repository keeps what it had, the rest is stored.
#[tokio::test]
async fn sboms_fall_back_to_the_old_endpoint_and_a_report_that_never_finishes_keeps_the_old_list() {
    let server = MockServer::start().await;
    let fake = FakeOrg::new("acme", 7, repos(2));
    fake.mount(&server).await;
    mount_json(
        &server,
        "/repos/acme/repo-1/dependency-graph/sbom",
        None,
        &sbom(&["pkg:pypi/django@4.2.1"]),
        true,
        vec![],
    )
    .await;
    mount_export(
        &server,
        "repo-2",
        &sbom(&["pkg:cargo/serde@1.0.0"]),
        1_000_000,
    )
    .await;
    let (_dir, store) = sqlite_store().await;
    let mut ctx = context(store.clone(), &server);
    ctx.http.report_wait = std::time::Duration::from_millis(200);
    ctx.options = RunOptions {
        languages: false,
        libraries: true,
    };
    let run = refresh(&ctx, &["github:acme"]).await;
    assert_eq!(
        run.outcomes[0].status,
        OrgStatus::Partial,
        "{:?}",
        run.outcomes
    );
    assert_eq!(run.outcomes[0].counts.details_failed, 1);
    let stored = store.list_repos(&org("github:acme")).await.expect("repos");
    assert_eq!(stored.len(), 2, "the organisation is stored");
    assert_eq!((stored[0].libraries, stored[1].libraries), (Some(1), None));
    let libs = store
        .list_repo_libraries(&org("github:acme"), 1)
        .await
        .expect("libraries");
    assert_eq!(libs[0].ecosystem, "pypi");
}

#[tokio::test]
async fn a_failed_detail_keeps_the_previous_value_and_is_asked_again_next_time() {
    let server = MockServer::start().await;
    let mut fake = FakeOrg::new("acme", 7, repos(2));
    fake.mount(&server).await;
    for name in ["repo-1", "repo-2"] {
        mount_json(
            &server,
            &format!("/repos/acme/{name}/languages"),
            None,
            &json!({"Go": 10}),
            true,
            vec![],
        )
        .await;
    }
    let (_dir, store) = sqlite_store().await;
    let mut ctx = context(store.clone(), &server);
    ctx.options = RunOptions {
        languages: true,
        libraries: false,
    };
    refresh(&ctx, &["github:acme"]).await;

    fake.repos[0]["pushed_at"] = json!("2026-05-05T00:00:00Z");
    server.reset().await;
    fake.mount(&server).await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/repo-1/languages"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let run = refresh(&ctx, &["github:acme"]).await;
    assert_eq!(run.outcomes[0].status, OrgStatus::Partial);
    assert_eq!(run.counts.details_failed, 1);
    let stored = store.list_repos(&org("github:acme")).await.expect("repos");
    assert_eq!(stored[0].languages.as_ref().expect("kept")["Go"], 10);
    assert_eq!(
        stored[0].listing.pushed_at.expect("pushed").to_rfc3339(),
        "2026-05-05T00:00:00+00:00"
    );
    assert_ne!(
        stored[0].languages_for,
        stored[0].listing.activity_marker(),
        "still owed"
    );

    server.reset().await;
    fake.mount(&server).await;
    mount_json(
        &server,
        "/repos/acme/repo-1/languages",
        None,
        &json!({"Go": 99}),
        true,
        vec![],
    )
    .await;
    let run = refresh(&ctx, &["github:acme"]).await;
    assert_eq!(run.status, RunStatus::Succeeded);
    let stored = store.list_repos(&org("github:acme")).await.expect("repos");
    assert_eq!(stored[0].languages.as_ref().expect("languages")["Go"], 99);
}

#[tokio::test]
async fn a_renamed_org_is_followed_through_its_redirect() {
    let server = MockServer::start().await;
    let renamed = FakeOrg::new("newname", 7, repos(3));
    renamed.mount(&server).await;
    for (from, to) in [
        ("/orgs/oldname", "/orgs/newname"),
        ("/orgs/oldname/repos", "/orgs/newname/repos"),
    ] {
        Mock::given(method("GET"))
            .and(path(from))
            .respond_with(ResponseTemplate::new(301).insert_header(
                "location",
                format!("{}{to}?per_page=100&type=public", server.uri()).as_str(),
            ))
            .mount(&server)
            .await;
    }
    let (_dir, store) = sqlite_store().await;
    let run = refresh(&context(store.clone(), &server), &["github:oldname"]).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.outcomes);
    assert_eq!(
        store
            .list_repos(&org("github:oldname"))
            .await
            .expect("repos")
            .len(),
        3
    );
    let stored = store
        .get_org(&org("github:oldname"))
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(
        stored.profile.login, "newname",
        "the profile says what it is called now"
    );
}
