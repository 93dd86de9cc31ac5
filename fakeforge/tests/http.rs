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
