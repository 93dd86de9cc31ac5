//! fakeforge over HTTP (Rocket's local client): the GitHub behaviours and faults orgpulse's
//! drills rely on.

use std::net::SocketAddr;
use std::sync::Arc;

use fakeforge::{Faults, Forge, ForgeConfig, WorldConfig};
use rocket::http::{Header, Status};
use rocket::local::asynchronous::Client;
use serde_json::Value;

async fn client(faults: Faults) -> (Arc<Forge>, Client) {
    let forge = Arc::new(Forge::new(ForgeConfig {
        world: WorldConfig {
            orgs: 2,
            repos: 150,
            seed: 3,
            changed_per_day: 0.05,
        },
        faults,
        ..ForgeConfig::default()
    }));
    let rocket = fakeforge::rocket(forge.clone(), SocketAddr::from(([127, 0, 0, 1], 1)));
    let client = Client::tracked(rocket).await.expect("rocket");
    (forge, client)
}

async fn get(client: &Client, path: &str) -> (Status, Vec<(String, String)>, String) {
    let response = client
        .get(path)
        .header(Header::new("host", "forge.test"))
        .dispatch()
        .await;
    let headers = response
        .headers()
        .iter()
        .map(|h| (h.name().to_string(), h.value().to_owned()))
        .collect();
    (
        response.status(),
        headers,
        response.into_string().await.unwrap_or_default(),
    )
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[rocket::async_test]
async fn secondary_limits_answer_403_with_retry_after_and_429_without() {
    let (forge, client) = client(Faults {
        secondary: 1.0,
        ..Faults::default()
    })
    .await;
    let login = forge.world().orgs[0].login.clone();
    let mut seen = Vec::new();
    for _ in 0..4 {
        let (status, headers, body) = get(&client, &format!("/orgs/{login}")).await;
        assert!(body.contains("secondary rate limit"), "{body}");
        seen.push((
            status.code,
            header(&headers, "retry-after").map(str::to_owned),
        ));
    }
    assert!(seen.contains(&(403, Some("1".into()))), "{seen:?}");
    assert!(seen.contains(&(429, None)), "{seen:?}");
    let counters = forge.counters();
    assert_eq!(
        counters.get("fault secondary 403").copied().unwrap_or(0)
            + counters.get("fault secondary 429").copied().unwrap_or(0),
        4
    );
}

#[rocket::async_test]
async fn faults_change_at_run_time_and_malformed_entries_replace_some_of_a_page() {
    let (forge, client) = client(Faults::default()).await;
    let login = forge.world().orgs[0].login.clone();
    let clean: Value = serde_json::from_str(
        &get(&client, &format!("/orgs/{login}/repos?per_page=100"))
            .await
            .2,
    )
    .expect("json");
    assert!(clean
        .as_array()
        .expect("array")
        .iter()
        .all(|r| r["name"].is_string()));

    let set = client
        .post("/_admin/faults")
        .body(r#"{"malformed": 0.3}"#)
        .dispatch()
        .await;
    assert_eq!(set.status(), Status::Ok);
    let refused = client
        .post("/_admin/faults")
        .body(r#"{"malformd": 0.3}"#)
        .dispatch()
        .await;
    assert_eq!(
        refused.status(),
        Status::UnprocessableEntity,
        "typos are refused"
    );
    assert!(
        (forge.faults().malformed - 0.3).abs() < 1e-9,
        "unchanged by a refused body"
    );

    let page: Value = serde_json::from_str(
        &get(&client, &format!("/orgs/{login}/repos?per_page=100"))
            .await
            .2,
    )
    .expect("still JSON");
    let entries = page.as_array().expect("array");
    let bad = entries.iter().filter(|r| !r["name"].is_string()).count();
    assert!(bad > 10 && bad < 60, "about 30 of 100: {bad}");
    assert!(
        entries.iter().any(|r| r["id"].is_i64() && r["name"] == 42),
        "some keep their id"
    );
    assert!(
        entries.iter().any(|r| r.get("id").is_none()),
        "some lose it"
    );
    assert_eq!(
        forge.counters().get("fault malformed").copied(),
        Some(bad as u64)
    );
}

#[rocket::async_test]
async fn deleted_and_renamed_organisations_answer_as_github_does() {
    let (forge, client) = client(Faults::default()).await;
    let (first, second) = (forge.world().orgs[0].clone(), forge.world().orgs[1].clone());

    let renamed = client
        .post(format!("/_admin/orgs/{}/rename/fresh-name", first.login))
        .dispatch()
        .await;
    assert_eq!(renamed.status(), Status::Ok);
    assert_eq!(
        get(&client, &format!("/orgs/{}", first.login)).await.0,
        Status::NotFound
    );
    let (status, _, body) = get(&client, "/orgs/fresh-name").await;
    assert_eq!(status, Status::Ok);
    let profile: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        (profile["login"].as_str(), profile["id"].as_i64()),
        (Some("fresh-name"), Some(first.id))
    );
    let (_, _, by_id) = get(&client, &format!("/organizations/{}", first.id)).await;
    assert!(
        by_id.contains("\"login\":\"fresh-name\""),
        "found by id under the new login"
    );
    let (_, _, page) = get(&client, "/orgs/fresh-name/repos").await;
    assert!(
        page.contains("\"full_name\":\"fresh-name/"),
        "repositories move along"
    );

    assert_eq!(
        client
            .post(format!("/_admin/orgs/{}/delete", second.login))
            .dispatch()
            .await
            .status(),
        Status::Ok
    );
    for path in [
        format!("/orgs/{}", second.login),
        format!("/orgs/{}/repos", second.login),
        format!("/organizations/{}", second.id),
        format!("/organizations/{}/repos", second.id),
    ] {
        assert_eq!(get(&client, &path).await.0, Status::NotFound, "{path}");
    }
}

#[rocket::async_test]
async fn a_renamed_repositorys_old_name_redirects_to_its_id() {
    let (forge, client) = client(Faults::default()).await;
    let org = forge.world().orgs[0].clone();
    let (before, after) = (forge.world().repos(&org, 0), forge.world().repos(&org, 20));
    let (old, new) = before
        .iter()
        .zip(&after)
        .find(|(a, b)| a["name"] != b["name"])
        .expect("a repository renamed by day 20");
    forge.set_day(20);
    let (status, headers, _) = get(
        &client,
        &format!(
            "/repos/{}/{}/languages",
            org.login,
            old["name"].as_str().expect("name")
        ),
    )
    .await;
    assert_eq!(status, Status::MovedPermanently);
    let location = header(&headers, "location").expect("location");
    assert_eq!(
        location,
        format!("http://forge.test/repositories/{}/languages", new["id"])
    );
    let (status, _, by_id) = get(&client, &location["http://forge.test".len()..]).await;
    let (_, _, by_name) = get(
        &client,
        &format!(
            "/repos/{}/{}/languages",
            org.login,
            new["name"].as_str().expect("name")
        ),
    )
    .await;
    assert_eq!((status, by_id), (Status::Ok, by_name));
}

// ---------------------------------------------------------------- GitLab flavour

#[rocket::async_test]
async fn gitlab_groups_page_their_projects_with_subgroups_totals_and_etags() {
    let (forge, client) = client(Faults::default()).await;
    let org = forge.world().orgs[0].clone();
    let root = "/gitlab/api/v4";

    let (status, headers, body) =
        get(&client, &format!("{root}/groups/{}%2Flibs", org.login)).await;
    assert_eq!(status, Status::Ok);
    let sub: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(sub["full_path"], format!("{}/libs", org.login));
    assert_eq!(sub["parent_id"], org.id);
    assert!(header(&headers, "ratelimit-remaining").is_some());
    let (_, _, by_id) = get(&client, &format!("{root}/groups/{}", org.id)).await;
    assert!(by_id.contains(&format!("\"full_path\":\"{}\"", org.login)));

    // Every project of the group and its subgroup, 50 a page: 3 pages, then no more.
    let total = forge.world().repo_count(0);
    let mut seen = Vec::new();
    let mut next = format!(
        "{root}/groups/{}/projects?include_subgroups=true&with_shared=false&order_by=id&sort=asc&per_page=50&page=1",
        org.id
    );
    let mut pages = 0;
    loop {
        let (status, headers, body) = get(&client, &next).await;
        assert_eq!(status, Status::Ok);
        pages += 1;
        assert_eq!(
            header(&headers, "x-total"),
            Some(total.to_string().as_str())
        );
        assert_eq!(header(&headers, "x-total-pages"), Some("3"));
        let page: Vec<Value> = serde_json::from_str(&body).expect("json");
        seen.extend(page.iter().map(|p| p["id"].as_i64().expect("id")));
        assert!(page
            .iter()
            .all(|p| p.get("pushed_at").is_none() && p["last_activity_at"].is_string()));
        let next_page = header(&headers, "x-next-page").expect("present on every page");
        if next_page.is_empty() {
            break;
        }
        let link = header(&headers, "link").expect("link");
        let url = link
            .split(", ")
            .find(|l| l.ends_with("rel=\"next\""))
            .expect("a next link")
            .trim_start_matches('<')
            .split('>')
            .next()
            .expect("url");
        next = url.trim_start_matches("http://forge.test").to_owned();
    }
    assert_eq!((pages, seen.len()), (3, total));
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "ordered by id");

    // Without include_subgroups the subgroup's projects are left out; without
    // with_shared=false a project shared in from another group comes back too.
    let (_, headers, _) = get(
        &client,
        &format!(
            "{root}/groups/{}/projects?with_shared=false&per_page=100",
            org.id
        ),
    )
    .await;
    let direct: usize = header(&headers, "x-total")
        .expect("x-total")
        .parse()
        .expect("n");
    assert!(direct < total && direct > total / 2, "{direct} of {total}");
    let (_, headers, _) = get(
        &client,
        &format!(
            "{root}/groups/{}/projects?include_subgroups=true&per_page=100",
            org.id
        ),
    )
    .await;
    assert_eq!(
        header(&headers, "x-total"),
        Some((total + 1).to_string().as_str())
    );

    // A matching ETag answers 304, and GitLab charges it.
    let first = format!(
        "{root}/groups/{}/projects?include_subgroups=true&with_shared=false&per_page=100",
        org.id
    );
    let (_, headers, _) = get(&client, &first).await;
    let etag = header(&headers, "etag").expect("etag").to_owned();
    let before: u64 = header(&headers, "ratelimit-remaining")
        .expect("remaining")
        .parse()
        .expect("n");
    let response = client
        .get(first.as_str())
        .header(Header::new("host", "forge.test"))
        .header(Header::new("if-none-match", etag))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::NotModified);
    let after: u64 = response
        .headers()
        .get_one("ratelimit-remaining")
        .expect("remaining")
        .parse()
        .expect("n");
    assert_eq!(after, before - 1, "a 304 costs a request on GitLab");

    // Languages are percentages; dependencies are not served.
    let project = seen[1];
    let (status, _, body) = get(&client, &format!("{root}/projects/{project}/languages")).await;
    assert_eq!(status, Status::Ok);
    let shares: serde_json::Map<String, Value> = serde_json::from_str(&body).expect("json");
    let sum: f64 = shares.values().filter_map(Value::as_f64).sum();
    assert!(shares.is_empty() || (sum - 100.0).abs() < 0.1, "{sum}");
    let (status, _, _) = get(&client, &format!("{root}/projects/{project}/dependencies")).await;
    assert_eq!(status, Status::Forbidden);
    assert_eq!(forge.counters().get("gitlab dependencies 403"), Some(&1));
}

#[rocket::async_test]
async fn gitlab_renamed_groups_404_by_path_and_throttles_come_with_or_without_advice() {
    let (forge, client) = client(Faults::default()).await;
    let org = forge.world().orgs[0].clone();
    assert!(forge.rename_org(&org.login, "moved-away"));
    let root = "/gitlab/api/v4";
    assert_eq!(
        get(&client, &format!("{root}/groups/{}", org.login))
            .await
            .0,
        Status::NotFound
    );
    let (status, _, body) = get(&client, &format!("{root}/groups/{}", org.id)).await;
    assert_eq!(status, Status::Ok);
    assert!(body.contains("\"full_path\":\"moved-away\""), "{body}");

    forge.set_faults(Faults {
        secondary: 1.0,
        ..Faults::default()
    });
    let mut seen = Vec::new();
    for _ in 0..4 {
        let (status, headers, body) = get(&client, &format!("{root}/groups/{}", org.id)).await;
        assert_eq!(
            (status, body.as_str()),
            (Status::TooManyRequests, "Retry later\n")
        );
        seen.push((
            header(&headers, "retry-after").is_some(),
            header(&headers, "ratelimit-remaining").is_some(),
        ));
    }
    assert!(
        seen.contains(&(true, true)) && seen.contains(&(false, false)),
        "{seen:?}"
    );
}

// ---------------------------------------------------------------- Forgejo flavour

#[rocket::async_test]
async fn forgejo_caps_limit_counts_in_headers_and_sends_no_validators() {
    let (forge, client) = client(Faults::default()).await;
    let org = forge.world().orgs[1].clone();
    let root = "/forgejo/api/v1";
    let (_, _, settings) = get(&client, &format!("{root}/settings/api")).await;
    assert!(settings.contains("\"max_response_items\":50"), "{settings}");

    let total = forge.world().repo_count(0);
    let (status, headers, body) = get(
        &client,
        &format!(
            "{root}/orgs/{}/repos?limit=100&page=1&per_page=100",
            org.login
        ),
    )
    .await;
    assert_eq!(status, Status::Ok);
    let page: Vec<Value> = serde_json::from_str(&body).expect("a bare array");
    assert_eq!(page.len(), 50, "limit is capped at max_response_items");
    assert_eq!(
        header(&headers, "x-total-count"),
        Some(total.to_string().as_str())
    );
    assert!(
        header(&headers, "etag").is_none() && header(&headers, "x-ratelimit-remaining").is_none()
    );
    let link = header(&headers, "link").expect("link");
    assert!(
        link.contains("https://forgejo.invalid/") && !link.contains("limit="),
        "{link}"
    );
    let names: Vec<&str> = page
        .iter()
        .map(|r| r["name"].as_str().expect("name"))
        .collect();
    assert!(
        names
            .windows(2)
            .all(|w| w[0].to_lowercase() <= w[1].to_lowercase()),
        "alphabetical"
    );
    assert!(page
        .iter()
        .all(|r| r["stars_count"].is_u64() && r.get("pushed_at").is_none()));
    assert!(page[0]["updated_at"]
        .as_str()
        .expect("time")
        .ends_with("+00:00"));

    let (_, _, default) = get(&client, &format!("{root}/orgs/{}/repos", org.login)).await;
    assert_eq!(
        serde_json::from_str::<Vec<Value>>(&default)
            .expect("json")
            .len(),
        30
    );
    let (_, _, again) = get(
        &client,
        &format!("{root}/orgs/{}/repos?limit=100&page=1", org.login),
    )
    .await;
    assert_eq!(again, body, "the same day serves the same bytes");

    assert!(forge.rename_org(&org.login, "new-home"));
    let (status, headers, _) = get(
        &client,
        &format!("{root}/orgs/{}/repos?page=2&limit=50", org.login),
    )
    .await;
    assert_eq!(status, Status::TemporaryRedirect);
    assert_eq!(
        header(&headers, "location"),
        Some("http://forge.test/forgejo/api/v1/orgs/new-home/repos?page=2&limit=50")
    );
    let (status, headers, _) = get(&client, &format!("{root}/orgs/{}", org.login)).await;
    assert_eq!(status, Status::TemporaryRedirect);
    assert_eq!(
        header(&headers, "location"),
        Some("http://forge.test/forgejo/api/v1/orgs/new-home")
    );
}

#[rocket::async_test]
async fn forgejo_answers_a_bare_429_once_the_budget_is_spent() {
    let forge = Arc::new(Forge::new(ForgeConfig {
        world: WorldConfig {
            orgs: 1,
            repos: 20,
            seed: 3,
            changed_per_day: 0.05,
        },
        rate_limit: 2,
        ..ForgeConfig::default()
    }));
    let rocket = fakeforge::rocket(forge.clone(), SocketAddr::from(([127, 0, 0, 1], 1)));
    let client = Client::tracked(rocket).await.expect("rocket");
    let login = forge.world().orgs[0].login.clone();
    let path = format!("/forgejo/api/v1/orgs/{login}");
    assert_eq!(get(&client, &path).await.0, Status::Ok);
    assert_eq!(get(&client, &path).await.0, Status::Ok);
    let (status, headers, _) = get(&client, &path).await;
    assert_eq!(status, Status::TooManyRequests);
    assert!(header(&headers, "retry-after").is_none());
    assert_eq!(forge.counters().get("forgejo org 429"), Some(&1));
}

/// GitHub's SBOM export: generate-report names the report, which is "generating" once
/// (`report_polls: 1`), then redirects to a download that refuses a token and answers the
/// SPDX document itself; the removed synchronous endpoint is 404.
#[rocket::async_test]
async fn sboms_come_through_the_export_and_the_old_endpoint_is_gone() {
    let (forge, client) = client(Faults::default()).await;
    let org = forge.world().orgs[0].clone();
    let (n, repo) = (0..150)
        .map(|n| (n, forge.world().repo(&org, n, 0)))
        .find(|(n, _)| forge.world().sbom(&org, *n, 0).is_some())
        .expect("a repository with a dependency graph");
    let name = repo["name"].as_str().expect("name");
    let base = format!("/repos/{}/{name}/dependency-graph/sbom", org.login);
    let (status, _, _) = get(&client, &base).await;
    assert_eq!(status, Status::NotFound, "removed on github.com");

    let (status, _, body) = get(&client, &format!("{base}/generate-report")).await;
    assert_eq!(status, Status::Created);
    let report: Value = serde_json::from_str(&body).expect("json");
    let url = report["sbom_url"].as_str().expect("sbom_url");
    let report_path = url.strip_prefix("http://forge.test").expect("absolute");
    let (status, _, _) = get(&client, report_path).await;
    assert_eq!(status, Status::Accepted, "still generating");
    let (status, headers, _) = get(&client, report_path).await;
    assert_eq!(status, Status::Found);
    let download = header(&headers, "location")
        .and_then(|l| l.strip_prefix("http://forge.test"))
        .expect("a download address")
        .to_owned();
    let with_token = client
        .get(download.clone())
        .header(Header::new("authorization", "Bearer ghp_x"))
        .dispatch()
        .await;
    assert_eq!(with_token.status(), Status::Unauthorized);
    let (status, _, body) = get(&client, &download).await;
    assert_eq!(status, Status::Ok);
    let document: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(document["spdxVersion"], "SPDX-2.3");
    assert_eq!(
        document,
        forge.world().sbom(&org, n, 0).expect("sbom")["sbom"],
        "the document itself, not wrapped"
    );
}
