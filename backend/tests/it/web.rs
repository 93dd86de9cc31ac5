//! The portal through Rocket's local client: every page and API route, empty and error
//! states, caching with ETags, the CSV export and the OpenAPI document.

use std::collections::HashSet;
use std::sync::Arc;

use crate::common::records::{commit, record};
use crate::common::*;
use orgpulse::domain::{OrgOutcome, OrgStatus, RunCounts};
use orgpulse::store::prelude::HealthStore;
use orgpulse::store::Store;
use orgpulse::web;
use rocket::http::{ContentType, Header, Status};
use rocket::local::asynchronous::Client;
use serde_json::Value;

pub(crate) async fn client(store: Arc<dyn Store>) -> Client {
    // Nothing here refreshes: a read-only portal.
    let services = web::Services::reading(store);
    Client::tracked(web::build(services, web::rocket_config()).expect("templates load"))
        .await
        .expect("valid rocket")
}

pub(crate) async fn get(client: &Client, uri: &str) -> (Status, String) {
    let response = client.get(uri.to_owned()).dispatch().await;
    let status = response.status();
    (status, response.into_string().await.unwrap_or_default())
}

pub(crate) async fn json(client: &Client, uri: &str) -> (Status, Value) {
    let (status, body) = get(client, uri).await;
    (
        status,
        serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("{uri} answered non-JSON ({e}): {body}")),
    )
}

pub(crate) fn assert_api_error(status: Status, body: &Value, want: Status, code: &str) {
    assert_eq!(status, want, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

fn path_of(id: &orgpulse::domain::OrgId) -> String {
    format!("{}/{}", id.forge(), id.login())
}

#[tokio::test]
async fn the_overview_shows_every_org_with_charts_and_answers_304_when_unchanged() {
    let (_dir, store, ids) = seeded_world(2, 130, 3).await;
    let client = client(store).await;
    let response = client.get("/").dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(response.content_type(), Some(ContentType::HTML));
    let etag = response
        .headers()
        .get_one("ETag")
        .expect("an ETag")
        .to_owned();
    let html = response.into_string().await.expect("body");
    for id in &ids {
        assert!(html.contains(&id.to_string()), "{id} is listed");
        assert!(html.contains(&format!("href=\"/orgs/{}\"", path_of(id))));
    }
    for chart in ["Stars by organisation", "Language mix", "Stars over time"] {
        assert!(html.contains(chart), "{chart}");
    }
    assert!(
        html.matches("role=\"img\"").count() >= 3,
        "charts are labelled images"
    );
    assert!(html.contains("badge fresh"));
    assert!(
        !html.contains("https://cdn") && !html.contains("fonts.googleapis"),
        "nothing from a CDN"
    );

    let again = client
        .get("/")
        .header(Header::new("If-None-Match", etag.clone()))
        .dispatch()
        .await;
    assert_eq!(again.status(), Status::NotModified);
    assert_eq!(again.headers().get_one("ETag"), Some(etag.as_str()));
    assert!(again.into_string().await.unwrap_or_default().is_empty());
}

#[tokio::test]
async fn with_no_orgs_the_overview_says_how_to_add_one() {
    let (_dir, store) = sqlite_store().await;
    let client = client(store.clone()).await;
    let (status, html) = get(&client, "/").await;
    assert_eq!(status, Status::Ok);
    assert!(html.contains("No organisations are tracked yet"));
    assert!(html.contains("orgpulse orgs add github:"));
    let (_, orgs) = json(&client, "/api/v1/orgs").await;
    assert_eq!(orgs, Value::Array(Vec::new()));
    let (_, html) = get(&client, "/runs").await;
    assert!(html.contains("No refresh has run yet"));
}

#[tokio::test]
async fn an_org_never_fetched_says_so_rather_than_showing_zeros() {
    let (_dir, store) = sqlite_store().await;
    store
        .add_tracked_org(&org("github:newcomer"), chrono::Utc::now())
        .await
        .expect("add");
    let client = client(store).await;
    let (_, html) = get(&client, "/").await;
    assert!(html.contains("not fetched yet") && html.contains("Waiting for its first refresh"));
    let (status, html) = get(&client, "/orgs/github/newcomer").await;
    assert_eq!(status, Status::Ok);
    assert!(html.contains("has not been fetched yet"), "{html}");
    assert!(!html.contains("Repositories</div>"), "no KPI of zeros");
    let (_, body) = json(&client, "/api/v1/orgs/github/newcomer").await;
    assert_eq!(body["freshness"], "never");
    assert!(body["totals"].is_null());
    assert!(body["deltas"]["d1"].is_null());
}

#[tokio::test]
async fn a_failed_refresh_shows_the_reason_and_the_age_of_the_last_good_data() {
    let (_dir, store, ids) = seeded_world(1, 40, 1).await;
    store
        .record_org_outcome(&OrgOutcome {
            org: ids[0].clone(),
            status: OrgStatus::Failed,
            message: Some("upstream answered 502 for http://x: bad gateway".into()),
            counts: RunCounts::default(),
            finished_at: chrono::Utc::now(),
        })
        .await
        .expect("outcome");
    let client = client(store).await;
    let (_, html) = get(&client, &format!("/orgs/{}", path_of(&ids[0]))).await;
    assert!(html.contains("failed: upstream answered 502"), "{html}");
    assert!(html.contains("Showing the last good data, from"), "{html}");
    let (_, overview) = get(&client, "/").await;
    assert!(overview.contains("last refresh failed") && overview.contains("Showing data from"));
    let (_, body) = json(&client, "/api/v1/orgs").await;
    assert_eq!(body[0]["freshness"], "failed");
    assert_eq!(body[0]["last_refresh"]["status"], "failed");
    assert!(
        body[0]["totals"]["repos"].as_u64().is_some_and(|n| n > 0),
        "old data still served"
    );
}

/// The repository table's section of an organisation page.
fn repo_table(html: &str) -> &str {
    html.split("aria-labelledby=\"repos-h\"")
        .nth(1)
        .expect("the repository table")
}

#[tokio::test]
async fn the_org_page_has_kpis_charts_and_a_sortable_filterable_paged_table() {
    let (_dir, store, ids) = seeded_world(1, 130, 3).await;
    let base = format!("/orgs/{}", path_of(&ids[0]));
    let client = client(store.clone()).await;
    let (status, html) = get(&client, &base).await;
    assert_eq!(status, Status::Ok);
    for text in [
        "Top repositories by stars",
        "Languages",
        "Stars over time",
        "Forks over time",
        "Most-used libraries",
        "1 day: +",
        "30 days: no data yet",
    ] {
        assert!(html.contains(text), "{text}");
    }
    assert_eq!(
        repo_table(&html).matches("<tr>").count(),
        51,
        "header + 50 rows per page"
    );
    assert!(html.contains("Page 1 of 3") && html.contains("rel=\"next\""));
    assert!(
        html.contains("aria-sort=\"descending\""),
        "sorted by stars, descending"
    );

    let repos = store.list_repos(&ids[0]).await.expect("repos");
    let mut names: Vec<String> = repos
        .iter()
        .filter(|r| r.gone_since.is_none())
        .map(|r| r.listing.name.to_lowercase())
        .collect();
    names.sort();
    let (_, html) = get(&client, &format!("{base}?sort=name&order=asc")).await;
    let first_row = repo_table(&html)
        .split("<tbody>")
        .nth(1)
        .expect("table body");
    assert!(
        first_row.contains(&format!(">{}<", names[0])),
        "alphabetical first: {}",
        names[0]
    );

    let rust = repos
        .iter()
        .filter(|r| r.gone_since.is_none() && r.listing.language.as_deref() == Some("Rust"))
        .count();
    let (_, html) = get(&client, &format!("{base}?language=Rust")).await;
    assert!(
        html.contains(&format!("{rust} repositories match")),
        "filter by language"
    );
    let (_, html) = get(&client, &format!("{base}?q=zzzz-nothing")).await;
    assert!(html.contains("No repository matches these filters"));
    let (_, html) = get(&client, &format!("{base}?page=3")).await;
    assert!(html.contains("Page 3 of 3") && html.contains("rel=\"prev\""));

    for bad in [
        "?sort=bogus",
        "?order=sideways",
        "?page=0",
        "?archived=maybe",
    ] {
        let (status, html) = get(&client, &format!("{base}{bad}")).await;
        assert_eq!(status, Status::UnprocessableEntity, "{bad}");
        assert!(html.contains("<html"), "an HTML error page for {bad}");
    }
}

#[tokio::test]
async fn pages_answer_bad_and_unknown_ids_with_html_errors() {
    let (_dir, store) = sqlite_store().await;
    let client = client(store).await;
    let (status, html) = get(&client, "/orgs/github/-bad").await;
    assert_eq!(status, Status::UnprocessableEntity);
    assert!(html.contains("starts with a hyphen"));
    let (status, html) = get(&client, "/orgs/nowhere/x").await;
    assert_eq!(status, Status::UnprocessableEntity);
    assert!(html.contains("unknown forge"));
    assert!(
        html.contains("configured: github, gitlab, codeberg"),
        "{html}"
    );
    // A subgroup path is one segment, `/` written %2F, and reaches the handler whole.
    let response = client
        .get("/api/v1/orgs/gitlab/GNOME%2Fsub")
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::NotFound);
    let body = response.into_string().await.expect("body");
    assert!(body.contains("gitlab:gnome/sub"), "{body}");
    let (status, _) = get(&client, "/orgs/gitlab/gnome/sub").await;
    assert_eq!(
        status,
        Status::NotFound,
        "an unencoded slash is another route"
    );
    // Each kind's own rule: an underscore is fine on GitLab, not on GitHub.
    let (status, _) = get(&client, "/orgs/gitlab/a_b").await;
    assert_eq!(status, Status::NotFound);
    let (status, _) = get(&client, "/orgs/github/a_b").await;
    assert_eq!(status, Status::UnprocessableEntity);
    let (status, html) = get(&client, "/orgs/github/nobody").await;
    assert_eq!(status, Status::NotFound);
    assert!(html.contains("not tracked"));
    let (status, html) = get(&client, "/no/such/page").await;
    assert_eq!(status, Status::NotFound);
    assert!(html.contains("Page not found"));
}

#[tokio::test]
async fn the_runs_page_and_api_show_each_run_with_per_org_outcomes() {
    let (_dir, store, ids) = seeded_world(2, 30, 2).await;
    let client = client(store.clone()).await;
    let (status, html) = get(&client, "/runs").await;
    assert_eq!(status, Status::Ok);
    assert!(html.contains("succeeded") && html.contains(&format!("{}: ok", ids[0])));
    let (_, runs) = json(&client, "/api/v1/runs").await;
    assert!(
        runs["schedule"].is_null() && runs["next_scheduled_at"].is_null(),
        "this server does not schedule"
    );
    let runs = runs["runs"].as_array().expect("a list").clone();
    assert_eq!(runs.len(), 2);
    assert!(
        runs[0]["created_at"].as_str() > runs[1]["created_at"].as_str(),
        "newest first"
    );
    let id = runs[0]["id"].as_str().expect("id");
    let (status, run) = json(&client, &format!("/api/v1/runs/{id}")).await;
    assert_eq!(status, Status::Ok);
    assert_eq!(run["orgs_done"], 2);
    assert_eq!(run["outcomes"][0]["status"], "ok");
    assert!(run["counts"]["requests"].as_u64().is_some_and(|n| n > 0));
    let (status, body) = json(&client, "/api/v1/runs/nope").await;
    assert_api_error(status, &body, Status::NotFound, "not_found");
    let (status, body) = json(&client, "/api/v1/runs?limit=0").await;
    assert_api_error(
        status,
        &body,
        Status::UnprocessableEntity,
        "invalid_parameter",
    );
    let (status, body) = json(&client, "/api/v1/runs?limit=1&limit=2").await;
    assert_api_error(
        status,
        &body,
        Status::UnprocessableEntity,
        "invalid_parameter",
    );
    let (_, one) = json(&client, "/api/v1/runs?limit=1").await;
    assert_eq!(one["runs"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn the_org_api_has_totals_deltas_and_languages() {
    let (_dir, store, ids) = seeded_world(1, 60, 3).await;
    let client = client(store).await;
    let (status, body) = json(&client, &format!("/api/v1/orgs/{}", path_of(&ids[0]))).await;
    assert_eq!(status, Status::Ok);
    assert_eq!(body["id"], ids[0].to_string());
    assert_eq!(body["freshness"], "fresh");
    assert!(body["totals"]["stars"].as_u64().is_some_and(|s| s > 0));
    assert!(body["deltas"]["d1"]["stars"].is_i64(), "{body}");
    assert!(
        body["deltas"]["d30"].is_null(),
        "history is only 3 days deep"
    );
    assert_eq!(body["languages_measure"], "bytes");
    assert!(body["languages"].as_object().is_some_and(|l| !l.is_empty()));

    let (status, body) = json(&client, "/api/v1/orgs/github/unknown-org").await;
    assert_api_error(status, &body, Status::NotFound, "not_found");
    let (status, body) = json(&client, "/api/v1/orgs/github/bad_login").await;
    assert_api_error(
        status,
        &body,
        Status::UnprocessableEntity,
        "invalid_parameter",
    );
    let (status, body) = json(&client, "/api/v1/nothing-here").await;
    assert_api_error(status, &body, Status::NotFound, "not_found");
}

#[tokio::test]
async fn repos_are_paged_by_cursor_without_gaps_or_repeats() {
    let (_dir, store, ids) = seeded_world(1, 130, 1).await;
    let base = format!("/api/v1/orgs/{}/repos", path_of(&ids[0]));
    let client = client(store.clone()).await;
    let live = store
        .list_repos(&ids[0])
        .await
        .expect("repos")
        .iter()
        .filter(|r| r.gone_since.is_none())
        .count();
    for sort in ["stars", "name", "pushed", "language"] {
        let mut seen = HashSet::new();
        let mut previous: Option<Value> = None;
        let mut cursor: Option<String> = None;
        loop {
            let uri = match &cursor {
                Some(c) => format!("{base}?sort={sort}&limit=40&cursor={c}"),
                None => format!("{base}?sort={sort}&limit=40"),
            };
            let (status, page) = json(&client, &uri).await;
            assert_eq!(status, Status::Ok, "{page}");
            assert_eq!(page["total"], live);
            for item in page["items"].as_array().expect("items") {
                assert!(
                    seen.insert(item["id"].as_i64().expect("id")),
                    "{sort}: repeated {}",
                    item["id"]
                );
                if sort == "stars" {
                    if let Some(p) = &previous {
                        assert!(
                            p["stars"].as_u64() >= item["stars"].as_u64(),
                            "descending stars"
                        );
                    }
                }
                previous = Some(item.clone());
            }
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        assert_eq!(seen.len(), live, "{sort}: every live repo exactly once");
    }
    // A cursor is a documented keyset position, not only a value the server handed out:
    // `{id}.i{stars}` starts after that repository in stars order.
    let (_, all) = json(&client, &format!("{base}?sort=stars&limit=100")).await;
    let items = all["items"].as_array().expect("items");
    let (tenth, eleventh) = (&items[9], &items[10]);
    let built = format!("{}.i{}", tenth["id"], tenth["stars"]);
    let (status, page) = json(
        &client,
        &format!("{base}?sort=stars&limit=1&cursor={built}"),
    )
    .await;
    assert_eq!(status, Status::Ok, "{page}");
    assert_eq!(page["items"][0]["id"], eleventh["id"]);
    // Past every position: an empty page, not an error.
    let (status, page) = json(&client, &format!("{base}?sort=stars&cursor=0.i-1")).await;
    assert_eq!(
        (status, page["items"].clone()),
        (Status::Ok, serde_json::json!([]))
    );
    let (_, asc) = json(&client, &format!("{base}?sort=stars&order=asc&limit=1")).await;
    let (_, desc) = json(&client, &format!("{base}?sort=stars&limit=1")).await;
    assert!(asc["items"][0]["stars"].as_u64() <= desc["items"][0]["stars"].as_u64());
    let (_, archived) = json(&client, &format!("{base}?archived=true&limit=100")).await;
    assert!(archived["items"]
        .as_array()
        .expect("items")
        .iter()
        .all(|r| r["archived"] == true));
    let (_, found) = json(&client, &format!("{base}?q=CACHE&limit=100")).await;
    assert!(found["items"].as_array().expect("items").iter().all(|r| {
        r["name"].as_str().unwrap_or_default().contains("cache")
            || r["description"]
                .as_str()
                .unwrap_or_default()
                .to_lowercase()
                .contains("cache")
    }));

    for (bad, why) in [
        ("sort=bogus", "sort"),
        ("order=up", "order"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=x", "limit"),
        ("cursor=zz", "cursor"),
        ("cursor=%C2%BC", "cursor"),
        ("cursor=7b7d", "cursor"),
        ("archived=yes", "archived"),
        ("limit=5&limit=50", "limit given more than once"),
        ("sort=name&sort=stars", "sort given more than once"),
        // The document types these as a number, a choice and a boolean: empty is none of
        // them (the HTML table, whose form sends every field, reads blanks as absent).
        ("limit=", "limit is empty"),
        ("sort=", "sort is empty"),
        ("archived=", "archived is empty"),
    ] {
        let (status, body) = json(&client, &format!("{base}?{bad}")).await;
        assert_api_error(
            status,
            &body,
            Status::UnprocessableEntity,
            "invalid_parameter",
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .expect("message")
                .contains(why),
            "{bad}: {body}"
        );
    }
}

#[tokio::test]
async fn the_csv_export_parses_back_with_every_repo_and_stable_columns() {
    let (_dir, store, ids) = seeded_world(1, 70, 1).await;
    let client = client(store.clone()).await;
    let response = client
        .get(format!("/api/v1/orgs/{}/repos.csv", path_of(&ids[0])))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(
        response.content_type().map(|c| c.to_string()),
        Some("text/csv; charset=utf-8".into())
    );
    assert!(response
        .headers()
        .get_one("Content-Disposition")
        .is_some_and(|d| d.contains(".csv")));
    let body = response.into_string().await.expect("body");
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header, web::api::CSV_COLUMNS);
    let rows: Vec<csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .expect("RFC 4180");
    let stored = store.list_repos(&ids[0]).await.expect("repos");
    assert_eq!(rows.len(), stored.len());
    let first = stored
        .iter()
        .find(|r| r.listing.id.to_string() == rows[0][0])
        .expect("same ids");
    assert_eq!(rows[0][1], first.listing.name);
    assert_eq!(rows[0][6], first.listing.stars.to_string());
    let first_seen = header
        .iter()
        .position(|c| c == "first_seen")
        .expect("column");
    assert_eq!(rows[0][first_seen], first.first_seen.to_string());
    let (status, body) = json(&client, "/api/v1/orgs/github/unknown/repos.csv").await;
    assert_api_error(status, &body, Status::NotFound, "not_found");
}

#[tokio::test]
async fn history_and_libraries_answer_with_ranges_and_ecosystems() {
    let (_dir, store, ids) = seeded_world(1, 50, 4).await;
    let base = format!("/api/v1/orgs/{}", path_of(&ids[0]));
    let client = client(store).await;
    let (status, history) = json(&client, &format!("{base}/history")).await;
    assert_eq!(status, Status::Ok);
    let days = history["days"].as_array().expect("days");
    assert_eq!(days.len(), 4);
    let second = days[1]["day"].as_str().expect("day").to_owned();
    let (_, ranged) = json(
        &client,
        &format!("{base}/history?from={second}&to={second}"),
    )
    .await;
    assert_eq!(ranged["days"].as_array().map(Vec::len), Some(1));
    assert_eq!(ranged["days"][0]["day"], second);
    // Two valid days the wrong way round are an empty range, as the document allows.
    for backwards in [
        "from=2026-05-02&to=2026-05-01",
        "from=3942-05-09&to=0167-03-01",
    ] {
        let (status, empty) = json(&client, &format!("{base}/history?{backwards}")).await;
        assert_eq!(status, Status::Ok, "{backwards}");
        assert_eq!(empty["days"], serde_json::json!([]), "{backwards}");
    }
    for bad in ["from=yesterday", "to=2026-13-01"] {
        let (status, body) = json(&client, &format!("{base}/history?{bad}")).await;
        assert_api_error(
            status,
            &body,
            Status::UnprocessableEntity,
            "invalid_parameter",
        );
    }
    let (status, libraries) = json(&client, &format!("{base}/libraries")).await;
    assert_eq!(status, Status::Ok);
    let ecosystems = libraries["ecosystems"].as_array().expect("ecosystems");
    assert!(!ecosystems.is_empty());
    assert!(ecosystems.iter().any(|e| e["ecosystem"] == "githubactions"));
    for e in ecosystems {
        let counts: Vec<u64> = e["libraries"]
            .as_array()
            .expect("libraries")
            .iter()
            .map(|l| l["repos"].as_u64().expect("count"))
            .collect();
        assert!(counts.windows(2).all(|w| w[0] >= w[1]), "most used first");
    }
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let (_dir, inner) = sqlite_store().await;
    let flaky = Arc::new(flaky::FlakyStore::new(inner));
    let client = client(flaky.clone()).await;
    let (status, body) = json(&client, "/healthz").await;
    assert_eq!((status, body["status"].as_str()), (Status::Ok, Some("ok")));
    let (status, body) = json(&client, "/readyz").await;
    assert_eq!(
        (status, body["status"].as_str()),
        (Status::Ok, Some("ready"))
    );
    get(&client, "/").await;
    let (status, text) = get(&client, "/metrics").await;
    assert_eq!(status, Status::Ok);
    for metric in [
        "orgpulse_http_requests_total{route=\"/\",method=\"GET\",status=\"200\"}",
        "orgpulse_http_request_duration_seconds_bucket",
        "orgpulse_refresh_duration_seconds_count",
        "orgpulse_tracked_orgs 0",
        "orgpulse_store_up 1",
    ] {
        assert!(text.contains(metric), "{metric} in:\n{text}");
    }

    flaky.set_down(true);
    let (status, body) = json(&client, "/readyz").await;
    assert_api_error(status, &body, Status::ServiceUnavailable, "unavailable");
    let (status, _) = json(&client, "/healthz").await;
    assert_eq!(status, Status::Ok, "alive even when the database is not");
    // The cache checks the store at most once a second.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, html) = get(&client, "/").await;
    assert_eq!(status, Status::ServiceUnavailable);
    assert!(html.contains("The database is not answering"));
    let (status, body) = json(&client, "/api/v1/orgs").await;
    assert_api_error(status, &body, Status::ServiceUnavailable, "unavailable");
    let (_, text) = get(&client, "/metrics").await;
    assert!(text.contains("orgpulse_store_up 0"));
}

#[tokio::test]
async fn the_openapi_document_lists_every_route_and_the_docs_page_shows_it() {
    let (_dir, store) = sqlite_store().await;
    let rocket =
        web::build(web::Services::reading(store.clone()), web::rocket_config()).expect("builds");
    let served: Vec<String> = rocket
        .routes()
        .map(|r| r.uri.path().to_string())
        .filter(|p| {
            p.starts_with("/api/v1/")
                || p.starts_with("/badge/")
                || ["/healthz", "/readyz", "/metrics"].contains(&p.as_str())
        })
        .filter(|p| p != "/api/v1/openapi.json")
        // The organisation's two segments are read by the `OrgPath` guard, unnamed.
        .map(|p| {
            p.replacen("/<_>/<_>", "/{forge}/{login}", 1)
                .replace('<', "{")
                .replace('>', "}")
        })
        .collect();
    let client = Client::tracked(rocket).await.expect("valid rocket");
    let (status, doc) = json(&client, "/api/v1/openapi.json").await;
    assert_eq!(status, Status::Ok);
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    let paths = doc["paths"].as_object().expect("paths");
    assert!(served.len() >= 13, "{served:?}");
    for route in &served {
        assert!(
            paths.contains_key(route),
            "{route} is not documented; documented: {:?}",
            paths.keys().collect::<Vec<_>>()
        );
    }
    for (path, _) in paths {
        assert!(served.contains(path), "{path} is documented but not served");
    }
    assert!(doc["components"]["schemas"]["RepoView"].is_object());
    let (status, html) = get(&client, "/docs").await;
    assert_eq!(status, Status::Ok);
    for route in &served {
        assert!(html.contains(route.as_str()), "{route} on /docs");
    }
    assert!(html.contains("/static/docs.js"));
    let response = client.get("/static/docs.js").dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(response.content_type(), Some(ContentType::JavaScript));
    let response = client.get("/static/app.css").dispatch().await;
    assert_eq!(response.content_type(), Some(ContentType::CSS));
    assert!(response
        .headers()
        .get_one("Cache-Control")
        .is_some_and(|c| c.contains("max-age")));
}

#[tokio::test]
async fn other_methods_on_a_known_path_get_405_with_allow_and_garbage_never_500() {
    let (_dir, store) = sqlite_store().await;
    let client = client(store).await;
    for (method, uri, allow, json_body) in [
        (
            rocket::http::Method::Trace,
            "/api/v1/runs",
            "GET, HEAD",
            true,
        ),
        (
            rocket::http::Method::Put,
            "/api/v1/orgs/github/acme",
            "DELETE, GET, HEAD",
            true,
        ),
        (rocket::http::Method::Patch, "/api/v1/refresh", "POST", true),
        (
            rocket::http::Method::Delete,
            "/orgs/github/acme",
            "GET, HEAD",
            false,
        ),
        (rocket::http::Method::Trace, "/healthz", "GET, HEAD", false),
    ] {
        let response = client.req(method, uri).dispatch().await;
        assert_eq!(
            response.status(),
            Status::MethodNotAllowed,
            "{method} {uri}"
        );
        assert_eq!(
            response.headers().get_one("Allow"),
            Some(allow),
            "{method} {uri}"
        );
        let is_json = response.content_type() == Some(ContentType::JSON);
        assert_eq!(
            is_json, json_body,
            "{method} {uri}: JSON under /api, HTML elsewhere"
        );
    }
    // A path no route serves stays a 404, whatever the method.
    let response = client
        .req(rocket::http::Method::Trace, "/api/v1/nothing")
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::NotFound);

    // A cursor that is not ASCII hex is refused, not a panic.
    let (status, body) = json(
        &client,
        "/api/v1/orgs/github/acme/repos?cursor=M%C3%968%C3%91",
    )
    .await;
    assert_api_error(
        status,
        &body,
        Status::UnprocessableEntity,
        "invalid_parameter",
    );
}

/// A TCP proxy to `upstream` on a local port that drops every connection until `open` is
/// set: a database that is "not up yet", then up.
async fn gated_proxy(upstream: String, open: Arc<std::sync::atomic::AtomicBool>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a local port");
    let address = listener.local_addr().expect("address").to_string();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            if !open.load(std::sync::atomic::Ordering::SeqCst) {
                continue; // dropped: the connection is refused in effect
            }
            let upstream = upstream.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(&upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    address
}

/// Right after start the MongoDB store may still be connecting or migrating: a read then
/// answers 503 with `Retry-After` (never a successful empty answer), and the first read
/// once it is ready has every row — no cache kept anything from before (issue 28, item 3).
#[tokio::test]
async fn reads_before_the_store_is_ready_answer_503_then_every_row() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let Some((db, store)) = crate::common::stores::mongo().await else {
        return;
    };
    let acme = org("github:acme");
    store
        .add_tracked_org(&acme, at("2026-01-01"))
        .await
        .expect("track");
    let repos = (1..=3)
        .map(|id| record(&acme, id, 10, "2026-01-01"))
        .collect();
    store
        .commit_org_refresh(&commit(&acme, "2026-01-01", repos))
        .await
        .expect("commit");

    let mut url = url::Url::parse(&db.url()).expect("url");
    let upstream = format!(
        "{}:{}",
        url.host_str().expect("host"),
        url.port().unwrap_or(27017)
    );
    let open = Arc::new(AtomicBool::new(false));
    let proxy = gated_proxy(upstream, open.clone()).await;
    let (host, port) = proxy.rsplit_once(':').expect("host:port");
    url.set_host(Some(host)).expect("host");
    url.set_port(Some(port.parse().expect("port")))
        .expect("port");
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "serverSelectionTimeoutMS")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    url.query_pairs_mut()
        .clear()
        .extend_pairs(pairs)
        .append_pair("serverSelectionTimeoutMS", "1000");
    let late = orgpulse::store::mongo::MongoStore::open(url.as_str(), 36_500)
        .await
        .expect("opens");
    let client = client(Arc::new(late.clone())).await;

    let csv = "/api/v1/orgs/github/acme/repos.csv";
    assert_eq!(get(&client, "/healthz").await.0, Status::Ok, "alive");
    for uri in [csv, "/orgs/github/acme"] {
        let response = client.get(uri).dispatch().await;
        assert_eq!(response.status(), Status::ServiceUnavailable, "{uri}");
        assert_eq!(
            response.headers().get_one("Retry-After"),
            Some("5"),
            "{uri}"
        );
    }
    assert_eq!(get(&client, "/readyz").await.0, Status::ServiceUnavailable);

    open.store(true, Ordering::SeqCst);
    let started = std::time::Instant::now();
    while late.ping().await.is_err() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "the store got ready once MongoDB answered"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (status, body) = get(&client, csv).await;
    assert_eq!(status, Status::Ok);
    assert_eq!(
        body.lines().count(),
        1 + 3,
        "the header and every row: {body}"
    );
    db.cleanup().await;
}
