//! Insight over stored history, through the web layer: a repository's own history (gaps
//! kept as gaps), its page, the movers of a window (new repositories apart), and the
//! repository table's sparklines. The days are written through the store's commit, so
//! every count below is known exactly.

use std::sync::Arc;

use chrono::Utc;

use crate::common::records::{commit, record};
use crate::common::{org, sqlite_store};
use crate::web::{assert_api_error, client, get, json};
use orgpulse::domain::{OrgId, RepoRecord};
use orgpulse::store::Store;
use rocket::http::Status;
use serde_json::{json, Value};

fn repo(org_id: &OrgId, id: i64, name: &str, stars: u64) -> RepoRecord {
    let mut r = record(org_id, id, stars, "2026-03-01");
    r.listing.name = name.into();
    r.listing.full_name = format!("{}/{name}", org_id.login());
    r
}

/// acme over four snapshot days (March 1, 2, 3 and 9):
/// - `alpha` 10 → 15 → 20 → 40 stars;
/// - `Beta` 100 → 100, missing from March 3's listing, back with 130 on March 9;
/// - `zero` 0 → 3 → 3 → 3;
/// - `delta` new on March 2 with 50, 60 on March 9;
/// - `libs/parser` (a GitLab-style name with a slash) 5 throughout.
async fn acme(store: &Arc<dyn Store>) -> OrgId {
    let acme = org("github:acme");
    store
        .add_tracked_org(&acme, crate::common::at("2026-03-01"))
        .await
        .expect("track");
    type Listed<'a> = Vec<(i64, &'a str, u64)>;
    let days: [(&str, Listed); 4] = [
        (
            "2026-03-01",
            vec![
                (1, "alpha", 10),
                (2, "Beta", 100),
                (3, "zero", 0),
                (5, "libs/parser", 5),
            ],
        ),
        (
            "2026-03-02",
            vec![
                (1, "alpha", 15),
                (2, "Beta", 100),
                (3, "zero", 3),
                (4, "delta", 50),
                (5, "libs/parser", 5),
            ],
        ),
        (
            "2026-03-03",
            vec![
                (1, "alpha", 20),
                (3, "zero", 3),
                (4, "delta", 50),
                (5, "libs/parser", 5),
            ],
        ),
        (
            "2026-03-09",
            vec![
                (1, "alpha", 40),
                (2, "Beta", 130),
                (3, "zero", 3),
                (4, "delta", 60),
                (5, "libs/parser", 5),
            ],
        ),
    ];
    for (when, listed) in days {
        let repos: Vec<RepoRecord> = listed
            .into_iter()
            .map(|(id, name, stars)| repo(&acme, id, name, stars))
            .collect();
        store
            .commit_org_refresh(&commit(&acme, when, repos))
            .await
            .expect("commit");
    }
    acme
}

fn movers_of(body: &Value, list: &str) -> Vec<(String, Value, Value)> {
    body[list]
        .as_array()
        .expect("a list")
        .iter()
        .map(|m| {
            (
                m["name"].as_str().expect("name").to_owned(),
                m["gained"].clone(),
                m["percent"].clone(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_repository_history_keeps_gaps_and_is_found_by_name_in_any_case() {
    let (_db, store) = sqlite_store().await;
    acme(&store).await;
    let client = client(store).await;

    let (status, body) = json(&client, "/api/v1/orgs/github/acme/repos/beta/history").await;
    assert_eq!(status, Status::Ok, "{body}");
    assert_eq!(body["repo"]["name"], "Beta");
    let days: Vec<(String, bool, Value)> = body["days"]
        .as_array()
        .expect("days")
        .iter()
        .map(|d| {
            (
                d["day"].as_str().expect("day").to_owned(),
                d["listed"].as_bool().expect("listed"),
                d["stars"].clone(),
            )
        })
        .collect();
    assert_eq!(
        days,
        [
            ("2026-03-01".to_owned(), true, json!(100)),
            ("2026-03-02".to_owned(), true, json!(100)),
            ("2026-03-03".to_owned(), false, Value::Null),
            ("2026-03-09".to_owned(), true, json!(130)),
        ],
        "one entry per snapshot day; the day that did not list it is a gap, not a zero"
    );

    let (status, body) = json(
        &client,
        "/api/v1/orgs/github/acme/repos/libs%2Fparser/history",
    )
    .await;
    assert_eq!(status, Status::Ok, "{body}");
    assert_eq!(body["days"].as_array().map(Vec::len), Some(4));

    let (status, body) = json(&client, "/api/v1/orgs/github/acme/repos/nope/history").await;
    assert_api_error(status, &body, Status::NotFound, "not_found");
    let (status, body) = json(&client, "/api/v1/orgs/github/unknown/repos/alpha/history").await;
    assert_api_error(status, &body, Status::NotFound, "not_found");

    let (status, html) = get(&client, "/orgs/github/acme/repos/Beta").await;
    assert_eq!(status, Status::Ok);
    for text in [
        "Stars over time",
        "Forks over time",
        "Open issues and PRs over time",
        "acme/Beta",
        "gaps",
    ] {
        assert!(html.contains(text), "{text}");
    }
    assert!(
        html.contains("7 days: +30"),
        "against March 2, the latest day at least 7 days back"
    );
    let (status, html) = get(&client, "/orgs/github/acme/repos/libs%2Fparser").await;
    assert_eq!(status, Status::Ok);
    assert!(html.contains("acme/libs/parser"));
    let (status, html) = get(&client, "/orgs/github/acme/repos/nope").await;
    assert_eq!(status, Status::NotFound);
    assert!(html.contains("renamed"), "says why a name may be unknown");
}

#[tokio::test]
async fn movers_rank_stars_gained_and_list_new_repositories_apart() {
    let (_db, store) = sqlite_store().await;
    acme(&store).await;
    let client = client(store).await;

    let (status, body) = json(&client, "/api/v1/orgs/github/acme/movers").await;
    assert_eq!(status, Status::Ok, "{body}");
    assert_eq!(
        (
            body["days"].clone(),
            body["since"].clone(),
            body["until"].clone()
        ),
        (json!(7), json!("2026-03-02"), json!("2026-03-09"))
    );
    assert_eq!(body["complete"], true);
    assert_eq!(
        movers_of(&body, "items"),
        [
            ("Beta".to_owned(), json!(30), json!(30.0)),
            ("alpha".to_owned(), json!(25), json!(166.7)),
            ("delta".to_owned(), json!(10), json!(20.0)),
        ],
        "unchanged repositories are no movers"
    );
    assert_eq!(body["new"], json!([]));

    // One day back from March 9 is March 3, which did not list Beta: it is new there.
    let (_, body) = json(&client, "/api/v1/orgs/github/acme/movers?days=1").await;
    assert_eq!(body["since"], "2026-03-03");
    assert_eq!(
        movers_of(&body, "items"),
        [
            ("alpha".to_owned(), json!(20), json!(100.0)),
            ("delta".to_owned(), json!(10), json!(20.0))
        ]
    );
    assert_eq!(
        movers_of(&body, "new"),
        [("Beta".to_owned(), Value::Null, Value::Null)]
    );
    assert_eq!(body["new"][0]["stars_start"], Value::Null);
    assert_eq!(body["new"][0]["stars_end"], 130);

    // Thirty days reach past the first snapshot: read from it, and said so.
    let (_, body) = json(&client, "/api/v1/orgs/github/acme/movers?days=30&limit=3").await;
    assert_eq!(
        (body["since"].clone(), body["complete"].clone()),
        (json!("2026-03-01"), json!(false))
    );
    assert_eq!(
        movers_of(&body, "items"),
        [
            ("alpha".to_owned(), json!(30), json!(300.0)),
            ("Beta".to_owned(), json!(30), json!(30.0)),
            ("zero".to_owned(), json!(3), Value::Null),
        ],
        "a tie goes to the lower id; from zero there is no percentage"
    );
    assert_eq!(
        movers_of(&body, "new"),
        [("delta".to_owned(), Value::Null, Value::Null)]
    );

    for bad in [
        "days=5",
        "days=",
        "days=7&days=30",
        "limit=0",
        "limit=101",
        "days=abc",
    ] {
        let (status, body) = json(&client, &format!("/api/v1/orgs/github/acme/movers?{bad}")).await;
        assert_api_error(
            status,
            &body,
            Status::UnprocessableEntity,
            "invalid_parameter",
        );
    }

    // The page: the window as links, the gainers, the new ones marked, sparklines.
    let (status, html) = get(&client, "/orgs/github/acme?movers=1").await;
    assert_eq!(status, Status::Ok);
    let movers = html
        .split("id=\"movers\"")
        .nth(1)
        .expect("a movers section");
    let movers = movers
        .split("aria-labelledby=\"repos-h\"")
        .next()
        .expect("section");
    assert!(movers.contains("Changes from 2026-03-03 to 2026-03-09."));
    assert!(movers.contains("href=\"/orgs/github/acme/repos/alpha\""));
    assert!(movers.contains("Beta</a> <span class=\"badge never\">new</span>"));
    assert!(movers.contains("+20") && movers.contains("+100.0 %"));
    assert!(movers.contains("href=\"/orgs/github/acme?movers=90#movers\""));
    let table = html
        .split("aria-labelledby=\"repos-h\"")
        .nth(1)
        .expect("table");
    assert!(table.contains("href=\"/orgs/github/acme/repos/libs%2Fparser\""));
    assert!(
        table.contains("aria-label=\"Stars of alpha over the last 30 days\""),
        "a sparkline per row"
    );
    let (status, _) = get(&client, "/orgs/github/acme?movers=2").await;
    assert_eq!(status, Status::UnprocessableEntity);
}

/// Four days through the real pipeline against a wiremock GitHub: the first refresh is a
/// baseline; the second sees a rename, an archive, a licence and a default branch change,
/// a repository deleted, one created and one passing 1,000 stars; the third fails; the
/// fourth recovers. The feed says exactly that, as JSON, Atom and on the pages.
#[tokio::test]
async fn refreshes_record_what_changed_and_the_feed_serves_it() {
    use crate::common::{context, refresh, repos, FakeOrg};
    use orgpulse::ingest::Clock;
    use wiremock::MockServer;

    let server = MockServer::start().await;
    let mut fake = FakeOrg::new("acme", 7, repos(5));
    fake.mount(&server).await;
    let (_db, store) = sqlite_store().await;
    let mut ctx = context(store.clone(), &server);
    ctx.clock = Clock::fixed(crate::common::at("2026-03-01"));
    refresh(&ctx, &["github:acme"]).await;

    let first_name = fake.repos[0]["name"].as_str().expect("name").to_owned();
    fake.repos[0]["name"] = json!("renamed");
    fake.repos[0]["full_name"] = json!("acme/renamed");
    fake.repos[1]["archived"] = json!(true);
    fake.repos[2]["license"] =
        json!({"key": "apache-2.0", "spdx_id": "Apache-2.0", "name": "Apache License 2.0"});
    fake.repos[2]["default_branch"] = json!("trunk");
    fake.repos[3]["stargazers_count"] = json!(1_200);
    let deleted = fake.repos.remove(4);
    fake.repos.push(crate::common::repo(
        99,
        "brand-new",
        3,
        "2026-03-02T00:00:00Z",
    ));
    server.reset().await;
    fake.mount(&server).await;
    ctx.clock = Clock::fixed(crate::common::at("2026-03-02"));
    refresh(&ctx, &["github:acme"]).await;

    server.reset().await; // nothing mounted: the organisation answers 404
    ctx.clock = Clock::fixed(crate::common::at("2026-03-03"));
    refresh(&ctx, &["github:acme"]).await;
    fake.mount(&server).await;
    ctx.clock = Clock::fixed(crate::common::at("2026-03-04"));
    refresh(&ctx, &["github:acme"]).await;

    let client = client(store).await;
    let (status, body) = json(&client, "/api/v1/events?org=github:acme&limit=200").await;
    assert_eq!(status, Status::Ok, "{body}");
    let events: Vec<(String, Value, Value, Value)> = body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().expect("kind").to_owned(),
                e["repo"].clone(),
                e["from"].clone(),
                e["to"].clone(),
            )
        })
        .collect();
    let k = |kind: &str, repo: Value, from: Value, to: Value| (kind.to_owned(), repo, from, to);
    let gone = deleted["name"].clone();
    let third = fake.repos[2]["name"].clone();
    let fourth = fake.repos[3]["name"].clone();
    let archived = fake.repos[1]["name"].clone();
    assert_eq!(
        (
            events[0].0.as_str(),
            events[1].0.as_str(),
            events[events.len() - 1].clone()
        ),
        (
            "recovered",
            "refresh_failed",
            k("baseline", Value::Null, Value::Null, json!("5"))
        ),
        "newest first: the recovery, the 404 day, ..., the first refresh's baseline"
    );
    let mut day_two: Vec<(String, Value, Value, Value)> = events[2..events.len() - 1].to_vec();
    day_two.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        day_two,
        [
            k(
                "default_branch_changed",
                third.clone(),
                json!("main"),
                json!("trunk")
            ),
            k("license_changed", third, json!("MIT"), json!("Apache-2.0")),
            k("repo_archived", archived, Value::Null, Value::Null),
            k("repo_created", json!("brand-new"), Value::Null, Value::Null),
            k("repo_gone", gone, Value::Null, Value::Null),
            k(
                "repo_renamed",
                json!("renamed"),
                json!(first_name),
                json!("renamed")
            ),
            k("star_milestone", fourth, Value::Null, json!("1000")),
        ]
    );

    // Paging by cursor walks the same list.
    let (_, page) = json(&client, "/api/v1/events?org=github:acme&limit=4").await;
    let cursor = page["next_cursor"].as_str().expect("more").to_owned();
    let (_, next) = json(
        &client,
        &format!("/api/v1/events?org=github:acme&limit=4&cursor={cursor}"),
    )
    .await;
    assert_eq!(
        next["items"][0]["seq"], body["items"][4]["seq"],
        "page 2 starts where page 1 ended"
    );
    let (_, by_kind) = json(&client, "/api/v1/events?kind=repo_gone").await;
    assert_eq!(by_kind["items"].as_array().map(Vec::len), Some(1));
    for bad in [
        "kind=exploded",
        "org=nope",
        "since=yesterday",
        "cursor=-3",
        "limit=500",
    ] {
        let (status, body) = json(&client, &format!("/api/v1/events?{bad}")).await;
        assert_api_error(
            status,
            &body,
            Status::UnprocessableEntity,
            "invalid_parameter",
        );
    }

    // The Atom feed parses, with stable ids, times and links to the repository pages.
    for path in ["/orgs/github/acme/feed.atom", "/feed.atom"] {
        let response = client.get(path).dispatch().await;
        assert_eq!(response.status(), Status::Ok);
        assert_eq!(
            response.content_type().map(|c| c.to_string()),
            Some("application/atom+xml; charset=utf-8".into())
        );
        let text = response.into_string().await.expect("body");
        let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
        let atom = "http://www.w3.org/2005/Atom";
        let feed = doc.root_element();
        assert_eq!(
            (feed.tag_name().namespace(), feed.tag_name().name()),
            (Some(atom), "feed")
        );
        let child = |n: roxmltree::Node<'_, '_>, name: &str| {
            n.children()
                .find(|c| c.has_tag_name((atom, name)))
                .and_then(|c| c.text())
                .map(str::to_owned)
        };
        assert!(child(feed, "id").is_some() && child(feed, "updated").is_some());
        let entries: Vec<roxmltree::Node<'_, '_>> = feed
            .children()
            .filter(|c| c.has_tag_name((atom, "entry")))
            .collect();
        assert_eq!(entries.len(), 10);
        let ids: std::collections::HashSet<String> =
            entries.iter().filter_map(|e| child(*e, "id")).collect();
        assert_eq!(ids.len(), 10, "unique entry ids");
        assert!(ids.iter().all(|id| id.starts_with("urn:orgpulse:event:")));
        let renamed = entries
            .iter()
            .find(|e| child(**e, "title").is_some_and(|t| t.ends_with("was renamed to renamed")))
            .expect("the rename");
        let link = renamed
            .children()
            .find(|c| c.has_tag_name((atom, "link")))
            .and_then(|l| l.attribute("href"));
        assert_eq!(link, Some("/orgs/github/acme/repos/renamed"));
        let updated = child(*renamed, "updated").expect("updated");
        assert!(
            chrono::DateTime::parse_from_rfc3339(&updated).is_ok(),
            "{updated}"
        );
    }
    let (_, again) = get(&client, "/orgs/github/acme/feed.atom").await;
    assert!(
        again.contains(&body["items"][0]["id"].as_str().expect("id").to_string()),
        "ids stay the same"
    );

    // The pages: the organisation's recent changes and /changes, both with their feed.
    let (_, html) = get(&client, "/orgs/github/acme").await;
    assert!(html.contains("href=\"/orgs/github/acme/feed.atom\""));
    let recent = html.split("id=\"changes\"").nth(1).expect("recent changes");
    assert!(recent.contains("brand-new was created"));
    let (status, html) = get(&client, "/changes").await;
    assert_eq!(status, Status::Ok);
    assert!(html.contains("rel=\"alternate\" type=\"application/atom+xml\""));
    assert!(
        html.contains("passed 1,000 stars")
            && html.contains("refreshed again after a failed refresh")
    );
    let (status, _) = get(&client, "/changes?kind=nope").await;
    assert_eq!(status, Status::UnprocessableEntity);
}

#[tokio::test]
async fn attention_lists_what_each_rule_finds_with_exemptions_as_json_csv_and_a_section() {
    use crate::common::at;
    use orgpulse::domain::attention::AttentionRules;
    use rocket::local::asynchronous::Client;

    let (_db, store) = sqlite_store().await;
    let acme = org("github:acme");
    store
        .add_tracked_org(&acme, at("2026-03-01"))
        .await
        .expect("track");
    // Judged on March 10: `record` repositories were pushed to on 2026-01-01 (68 days).
    let tidy = |id: i64, name: &str, stars: u64| {
        let mut r = repo(&acme, id, name, stars);
        r.listing.pushed_at = Some(at("2026-03-05"));
        r
    };
    let old = repo(&acme, 1, "old", 500);
    let mut bare = tidy(2, "bare", 40);
    bare.listing.description = None;
    bare.listing.license = None;
    bare.listing.size_kb = 0;
    bare.listing.fork = true;
    let mut retired = tidy(3, "retired", 7);
    retired.listing.archived = true;
    retired.listing.open_issues = Some(4);
    let mut kept = repo(&acme, 4, "kept", 1);
    kept.listing.topics = vec!["keep-me".into()];
    let fine = tidy(5, "fine", 900);
    store
        .commit_org_refresh(&commit(
            &acme,
            "2026-03-10",
            vec![old, bare, retired, kept, fine],
        ))
        .await
        .expect("commit");

    let services = orgpulse::web::Services {
        attention: AttentionRules {
            stale_days: 60,
            exempt_topic: "keep-me".into(),
            release_days: Some(365),
            response_days: Some(14),
            vuln_days: Some(30),
            denied_licenses: Default::default(),
        },
        ..orgpulse::web::Services::reading(store.clone())
    };
    let client = Client::tracked(
        orgpulse::web::build(services, orgpulse::web::rocket_config()).expect("templates"),
    )
    .await
    .expect("rocket");

    let (status, body) = json(&client, "/api/v1/orgs/github/acme/attention").await;
    assert_eq!(status, Status::Ok, "{body}");
    assert_eq!(
        (
            body["stale_days"].clone(),
            body["checked"].clone(),
            body["exempt"].clone(),
            body["as_of"].clone()
        ),
        (json!(60), json!(5), json!(1), json!("2026-03-10T12:00:00Z"))
    );
    let items: Vec<(String, Value, bool)> = body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            (
                i["name"].as_str().expect("name").to_owned(),
                i["reasons"].clone(),
                i["fork"].as_bool().expect("fork"),
            )
        })
        .collect();
    assert_eq!(
        items,
        [
            (
                "bare".to_owned(),
                json!(["no_license", "no_description", "empty"]),
                true
            ),
            ("old".to_owned(), json!(["stale"]), false),
            (
                "retired".to_owned(),
                json!(["archived_with_open_issues"]),
                false
            ),
        ],
        "most reasons first; the exempt and the tidy ones left out"
    );
    assert_eq!(body["items"][1]["days_inactive"], 68);
    assert_eq!(
        body["items"][1]["summary"], "no activity for 68 days",
        "{body}"
    );

    let response = client
        .get("/api/v1/orgs/github/acme/attention.csv")
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(
        response.content_type().map(|c| c.to_string()),
        Some("text/csv; charset=utf-8".into())
    );
    let csv = response.into_string().await.expect("body");
    let mut rows = csv::Reader::from_reader(csv.as_bytes());
    assert_eq!(
        rows.headers().expect("header").iter().collect::<Vec<_>>(),
        [
            "id",
            "name",
            "html_url",
            "reasons",
            "summary",
            "fork",
            "archived",
            "stars",
            "open_issues",
            "open_issues_and_pull_requests",
            "last_activity_at",
            "days_inactive"
        ]
    );
    let records: Vec<csv::StringRecord> = rows.records().map(|r| r.expect("row")).collect();
    assert_eq!(records.len(), 3);
    assert_eq!(&records[0][3], "no_license;no_description;empty");
    assert_eq!(&records[2][4], "archived with 4 open issues and PRs");
    assert!(csv.contains("\r\n"), "RFC 4180 line ends");

    let (status, page) = get(&client, "/orgs/github/acme").await;
    assert_eq!(status, Status::Ok);
    assert!(page.contains(r#"id="attention""#), "a section on the page");
    assert!(page.contains("3 of 5 repositories"), "with its counts");
    assert!(page.contains("1 carries the topic <code>keep-me</code>"));
    assert!(page.contains("archived with 4 open issues and PRs"));
    assert!(page.contains(r#"href="/api/v1/orgs/github/acme/attention.csv""#));

    let (status, body) = json(&client, "/api/v1/orgs/github/nobody/attention").await;
    assert_api_error(status, &body, Status::NotFound, "not_found");
}

/// A CSV answer's rows (header first), checked for RFC 4180 line ends and a download name.
async fn csv_rows(client: &rocket::local::asynchronous::Client, uri: &str) -> Vec<Vec<String>> {
    let response = client.get(uri.to_owned()).dispatch().await;
    assert_eq!(response.status(), Status::Ok, "{uri}");
    assert_eq!(
        response.content_type().map(|c| c.to_string()),
        Some("text/csv; charset=utf-8".into())
    );
    assert!(response
        .headers()
        .get_one("Content-Disposition")
        .is_some_and(|d| {
            let org = uri.split('/').skip(4).take(2).collect::<Vec<_>>().join("-");
            d.starts_with(&format!("attachment; filename=\"{org}-"))
        }));
    let body = response.into_string().await.expect("body");
    assert!(body.ends_with("\r\n"), "RFC 4180 line ends");
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body.as_bytes())
        .records()
        .map(|r| r.expect("row").iter().map(str::to_owned).collect())
        .collect()
}

#[tokio::test]
async fn history_and_libraries_export_as_csv() {
    use orgpulse::domain::Library;
    use orgpulse::store::RepoLibraries;

    let (_db, store) = sqlite_store().await;
    let acme = acme(&store).await;
    let mut with_libraries = commit(
        &acme,
        "2026-03-09",
        vec![repo(&acme, 1, "alpha", 40), repo(&acme, 4, "delta", 60)],
    );
    let lib = |ecosystem: &str, name: &str| Library {
        ecosystem: ecosystem.into(),
        name: name.into(),
        version: None,
        license: None,
    };
    with_libraries.libraries = vec![
        RepoLibraries {
            repo_id: 1,
            libraries: vec![lib("cargo", "serde"), lib("npm", "left,pad")],
        },
        RepoLibraries {
            repo_id: 4,
            libraries: vec![lib("cargo", "serde")],
        },
    ];
    store
        .commit_org_refresh(&with_libraries)
        .await
        .expect("commit");
    let client = client(store).await;

    let history = csv_rows(&client, "/api/v1/orgs/github/acme/history.csv").await;
    assert_eq!(
        history[0],
        [
            "day",
            "repos",
            "stars",
            "forks",
            "open_issues",
            "open_issues_and_pull_requests",
            "watchers",
            "archived",
            "size_kb"
        ]
    );
    let stars: Vec<(&str, &str)> = history[1..]
        .iter()
        .map(|r| (r[0].as_str(), r[2].as_str()))
        .collect();
    assert_eq!(
        stars,
        [
            ("2026-03-01", "115"),
            ("2026-03-02", "173"),
            ("2026-03-03", "78"),
            ("2026-03-09", "100")
        ],
        "one row per snapshot day, the day re-committed replaced"
    );
    assert!(
        history[1..]
            .iter()
            .all(|r| r[4].is_empty() && !r[5].is_empty()),
        "GitHub's listings count issues and pull requests together: never under `open_issues`"
    );
    let some = csv_rows(
        &client,
        "/api/v1/orgs/github/acme/history.csv?from=2026-03-02&to=2026-03-03",
    )
    .await;
    assert_eq!(some.len(), 3, "from and to are inclusive");
    let none = csv_rows(
        &client,
        "/api/v1/orgs/github/acme/history.csv?from=2026-03-05&to=2026-03-01",
    )
    .await;
    assert_eq!(
        none.len(),
        1,
        "a backwards range is empty: the header alone"
    );

    let libraries = csv_rows(&client, "/api/v1/orgs/github/acme/libraries.csv").await;
    assert_eq!(
        libraries,
        [
            vec!["ecosystem", "name", "repos"],
            vec!["cargo", "serde", "2"],
            vec!["npm", "left,pad", "1"],
        ],
        "most used first; a comma quoted, not split"
    );
    let (status, body) = json(&client, "/api/v1/orgs/github/nobody/libraries.csv").await;
    assert_api_error(status, &body, Status::NotFound, "not_found");
}

#[tokio::test]
async fn badges_show_the_latest_totals_with_an_etag() {
    use rocket::http::Header;

    let (_db, store) = sqlite_store().await;
    acme(&store).await;
    let client = client(store).await;
    for (metric, label) in [
        ("stars", "stars: 238"),
        ("repos", "repos: 5"),
        ("forks", "forks: 5"),
    ] {
        let response = client
            .get(format!("/badge/github/acme/{metric}.svg"))
            .dispatch()
            .await;
        assert_eq!(response.status(), Status::Ok, "{metric}");
        assert_eq!(
            response.content_type(),
            Some(rocket::http::ContentType::SVG)
        );
        let etag = response
            .headers()
            .get_one("ETag")
            .expect("an ETag")
            .to_owned();
        let svg = response.into_string().await.expect("body");
        let doc = roxmltree::Document::parse(&svg).expect("well-formed SVG");
        assert_eq!(doc.root_element().attribute("aria-label"), Some(label));
        let again = client
            .get(format!("/badge/github/acme/{metric}.svg"))
            .header(Header::new("If-None-Match", etag))
            .dispatch()
            .await;
        assert_eq!(again.status(), Status::NotModified);
    }
    for (uri, want) in [
        ("/badge/github/acme/watchers.svg", Status::NotFound),
        ("/badge/github/acme/stars.png", Status::NotFound),
        ("/badge/github/nobody/stars.svg", Status::NotFound),
        ("/badge/nowhere/acme/stars.svg", Status::UnprocessableEntity),
    ] {
        let (status, body) = json(&client, uri).await;
        assert_eq!(status, want, "{uri}");
        // Errors come as the document says: JSON, with a code.
        assert!(body["error"]["code"].is_string(), "{uri}: {body}");
    }
}

/// The circles of the chart whose `<svg>` carries `id`: one per day drawn.
fn chart_days(html: &str, id: &str) -> Vec<String> {
    let start = html
        .find(&format!("aria-labelledby=\"{id}-t "))
        .unwrap_or_else(|| panic!("chart {id}"));
    let svg = &html[start..start + html[start..].find("</svg>").expect("svg ends")];
    svg.split(" on ")
        .skip(1)
        .map(|rest| rest[..10].to_owned())
        .collect()
}

#[tokio::test]
async fn charts_follow_the_range_in_the_url_and_key_figures_read_against_it() {
    let (_db, store) = sqlite_store().await;
    let acme = org("github:acme");
    store
        .add_tracked_org(&acme, crate::common::at("2026-01-01"))
        .await
        .expect("track");
    for (when, stars) in [
        ("2025-03-01", 5),
        ("2026-01-01", 10),
        ("2026-02-15", 20),
        ("2026-03-20", 30),
        ("2026-04-01", 45),
    ] {
        let repos = vec![repo(&acme, 1, "alpha", stars)];
        store
            .commit_org_refresh(&commit(&acme, when, repos))
            .await
            .expect("commit");
    }
    let client = client(store).await;

    let page = |range: &'static str| {
        let client = &client;
        async move {
            let uri = match range {
                "" => "/orgs/github/acme".to_owned(),
                r => format!("/orgs/github/acme?range={r}"),
            };
            let (status, html) = get(client, &uri).await;
            assert_eq!(status, Status::Ok, "{uri}");
            html
        }
    };
    let html = page("").await;
    assert_eq!(
        chart_days(&html, "stars"),
        ["2026-03-20", "2026-04-01"],
        "30 days by default"
    );
    assert!(html.contains("30 days: +25"), "against February 15");
    assert!(html.contains("aria-current=\"true\" class=\"current\">30 days</a>"));
    let html = page("90d").await;
    assert_eq!(
        chart_days(&html, "forks"),
        ["2026-01-01", "2026-02-15", "2026-03-20", "2026-04-01"]
    );
    assert!(html.contains("90 days: +35"), "against January 1");
    assert!(
        html.contains("?sort=name&amp;order=asc&amp;range=90d\""),
        "the table's links keep the range"
    );
    assert!(
        html.contains("name=\"range\" value=\"90d\""),
        "so does its form"
    );
    assert!(
        html.contains("range=90d&amp;movers=30#movers"),
        "and the movers' windows"
    );
    let html = page("1y").await;
    assert_eq!(
        chart_days(&html, "stars").len(),
        4,
        "a year back from April 1"
    );
    assert!(
        html.contains("1 year: +40"),
        "against March 2025, the latest day at least a year back (the chart starts after it)"
    );
    let html = page("all").await;
    assert_eq!(chart_days(&html, "stars").len(), 5);
    assert!(html.contains("since 2025-03-01: +40"));

    let (status, html) = get(&client, "/orgs/github/acme?range=7d").await;
    assert_eq!(status, Status::UnprocessableEntity);
    assert!(html.contains("30d, 90d, 1y, all"), "says what it takes");

    let (status, html) = get(&client, "/orgs/github/acme/repos/alpha?range=90d").await;
    assert_eq!(status, Status::Ok);
    assert_eq!(chart_days(&html, "repo-stars").len(), 4);
    assert!(html.contains("90 days: +35"));
    let (_, html) = get(&client, "/orgs/github/acme/repos/alpha").await;
    assert_eq!(chart_days(&html, "repo-issues").len(), 2);

    let (status, html) = get(&client, "/?range=all").await;
    assert_eq!(status, Status::Ok);
    assert_eq!(chart_days(&html, "stars-history").len(), 5);
    let (_, html) = get(&client, "/").await;
    assert_eq!(chart_days(&html, "stars-history").len(), 2);
    let (status, _) = get(&client, "/?range=").await;
    assert_eq!(status, Status::Ok, "a blank range is the default");
}

/// The organisations' names in the overview table, in the order it lists them.
fn table_order(html: &str) -> Vec<String> {
    let table = html
        .split("<table class=\"orgs\">")
        .nth(1)
        .expect("the organisations table")
        .split("</table>")
        .next()
        .expect("table ends");
    table
        .split("<th scope=\"row\">")
        .skip(1)
        .map(|row| {
            let name = row.split("</a>").next().expect("a link");
            name[name.rfind('>').expect("link text") + 1..].to_owned()
        })
        .collect()
}

#[tokio::test]
async fn many_organisations_are_a_sortable_table_and_the_charts_draw_the_biggest() {
    let (_db, store) = sqlite_store().await;
    // Org i has 100·i stars on March 1 and gains (5·i mod 14) by March 8: the gains
    // rank differently from the totals.
    for i in 0..14u64 {
        let id = org(&format!("github:o{i:02}"));
        store
            .add_tracked_org(&id, crate::common::at("2026-03-01"))
            .await
            .expect("track");
        for (when, stars) in [
            ("2026-03-01", 100 * i),
            ("2026-03-08", 100 * i + i * 5 % 14),
        ] {
            // Each its own repository (a repository listed by two organisations is both's).
            let mut c = commit(&id, when, vec![repo(&id, 1_000 + i as i64, "main", stars)]);
            c.record.profile.name = Some(format!("Org {i:02}"));
            store.commit_org_refresh(&c).await.expect("commit");
        }
    }
    let client = client(store.clone()).await;
    let names =
        |order: &[u64]| -> Vec<String> { order.iter().map(|i| format!("Org {i:02}")).collect() };

    let (status, html) = get(&client, "/").await;
    assert_eq!(status, Status::Ok);
    assert!(!html.contains("panel card"), "no wall of cards");
    let order = table_order(&html);
    assert_eq!(order.len(), 14);
    assert_eq!(
        order[..3],
        names(&[13, 12, 11]),
        "most stars first by default"
    );
    assert!(
        html.contains("aria-sort=\"descending\"><a href=\"/?sort=stars&amp;order=asc\">Stars ▼")
    );
    assert!(
        html.contains("+9</td>") && html.contains(">–</td>"),
        "7 days known, 30 not"
    );
    assert!(
        html.contains("The 10 biggest of 14; the other 4 have 616 stars together"),
        "0 + 100 + 200 + 300 stars and 0 + 5 + 10 + 1 gained"
    );
    assert!(
        html.contains("the other 8 have 2,842 stars together, +42 since 2026-03-01"),
        "the eight smallest: 2,800 + 42 gained"
    );
    assert!(
        html.contains("4 other organisations"),
        "the language mix's last row"
    );

    let (_, html) = get(&client, "/?sort=stars_7d").await;
    assert_eq!(
        table_order(&html)[..3],
        names(&[11, 8, 5]),
        "gains 13, 12, 11"
    );
    let (_, html) = get(&client, "/?sort=name&order=desc&range=90d").await;
    assert_eq!(table_order(&html)[..2], names(&[13, 12]));
    assert!(
        html.contains("href=\"/?range=90d&amp;sort=name&amp;order=asc\""),
        "the active column flips, keeping the range"
    );
    assert!(
        html.contains("href=\"/?sort=name&amp;order=desc\""),
        "the range links keep the sort"
    );
    let (status, html) = get(&client, "/?sort=bogus").await;
    assert_eq!(status, Status::UnprocessableEntity);
    assert!(html.contains("stars_7d"), "names the columns it sorts by");

    // Activity columns: orgs 0–3 each have one pull request, answered after i + 1 hours
    // (and, for org 3, merged); the others' activity was never read.
    for i in 0..4u64 {
        let id = org(&format!("github:o{i:02}"));
        let created = Utc::now() - chrono::Duration::days(5);
        let merged = (i == 3).then(|| created + chrono::Duration::hours(30));
        store
            .commit_activity(&orgpulse::store::ActivityCommit {
                org: id.clone(),
                items: vec![orgpulse::domain::activity::ActivityItem {
                    forge: "github".parse().expect("forge"),
                    id: 7_000 + i as i64,
                    repo_id: 1_000 + i as i64,
                    number: 1,
                    kind: orgpulse::domain::activity::ItemKind::PullRequest,
                    author: Some("ann".into()),
                    author_bot: false,
                    created_at: created,
                    closed_at: merged,
                    merged_at: merged,
                    first_response_at: Some(created + chrono::Duration::hours(i as i64 + 1)),
                    state: if merged.is_some() {
                        orgpulse::domain::activity::ItemState::Merged
                    } else {
                        orgpulse::domain::activity::ItemState::Open
                    },
                    updated_at: created,
                }],
                releases: vec![],
                synced_until: Some(Utc::now()),
            })
            .await
            .expect("activity");
    }
    let (status, html) = get(&client, "/?sort=first_response").await;
    assert_eq!(status, Status::Ok);
    assert_eq!(
        table_order(&html)[..4],
        names(&[3, 2, 1, 0]),
        "slowest first response first; organisations without activity last"
    );
    assert!(html.contains(
        "<td class=\"num\">4.0 h</td><td class=\"num\">1.00</td><td class=\"num\">1</td>"
    ));
    assert!(html.contains(
        "<td class=\"num\">1.0 h</td><td class=\"num\">0.00</td><td class=\"num\">–</td>"
    ));
    assert!(html.contains("not read"), "{html}");
    let (status, _) = get(&client, "/?order=sideways").await;
    assert_eq!(status, Status::UnprocessableEntity);
}

/// Open issues and pull requests are never one number under the word "issues": GitLab's
/// listing counts issues alone, GitHub's both together (apart only with current GraphQL
/// details). Every surface of the API says which is which, with `null` where unknown.
#[tokio::test]
async fn open_issues_and_pull_requests_are_never_mixed_under_one_name() {
    let (_dir, store) = sqlite_store().await;
    let gitlab = org("gitlab:acme");
    let github = org("github:acme");
    for id in [&gitlab, &github] {
        store
            .add_tracked_org(id, crate::common::at("2026-03-01"))
            .await
            .expect("track");
    }
    for (when, open) in [("2026-03-01", 4), ("2026-03-09", 7)] {
        let mut lab = record(&gitlab, 1, 10, "2026-03-01");
        lab.listing.open_issues = Some(open);
        let mut hub = record(&github, 2, 10, "2026-03-01");
        hub.listing.open_issues = Some(open + 1);
        let mut split = record(&github, 3, 10, "2026-03-01");
        split.listing.open_issues = Some(5);
        split.details = Some(orgpulse::domain::RepoDetails {
            open_issues: 3,
            open_pull_requests: 2,
            latest_release: None,
            last_commit_at: None,
            license: None,
            topics: vec![],
        });
        split.details_for = Some(split.listing.details_marker());
        for (id, repos) in [(&gitlab, vec![lab]), (&github, vec![hub, split])] {
            store
                .commit_org_refresh(&commit(id, when, repos))
                .await
                .expect("commit");
        }
    }
    let client = client(store).await;

    let lab = ok_json(&client, "/api/v1/orgs/gitlab/acme").await;
    assert_eq!(lab["totals"]["open_issues"], 7, "{lab}");
    assert_eq!(lab["totals"]["open_issues_and_pull_requests"], Value::Null);
    assert_eq!(lab["deltas"]["d7"]["open_issues"], 3, "{lab}");
    assert_eq!(
        lab["deltas"]["d7"]["open_issues_and_pull_requests"],
        Value::Null
    );
    let hub = ok_json(&client, "/api/v1/orgs/github/acme").await;
    assert_eq!(hub["totals"]["open_issues"], Value::Null, "{hub}");
    assert_eq!(hub["totals"]["open_issues_and_pull_requests"], 13);
    assert_eq!(hub["deltas"]["d7"]["open_issues_and_pull_requests"], 3);
    let orgs = ok_json(&client, "/api/v1/orgs").await;
    let totals: Vec<(Value, Value)> = orgs
        .as_array()
        .expect("orgs")
        .iter()
        .map(|o| {
            (
                o["totals"]["open_issues"].clone(),
                o["totals"]["open_issues_and_pull_requests"].clone(),
            )
        })
        .collect();
    assert_eq!(totals, [(Value::Null, json!(13)), (json!(7), Value::Null)]);

    let days = ok_json(&client, "/api/v1/orgs/gitlab/acme/history").await;
    assert_eq!(days["days"][0]["totals"]["open_issues"], 4, "{days}");
    let repos = ok_json(&client, "/api/v1/orgs/github/acme/repos?sort=name").await;
    let open: Vec<[Value; 3]> = repos["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| {
            [
                r["open_issues"].clone(),
                r["open_pull_requests"].clone(),
                r["open_issues_and_pull_requests"].clone(),
            ]
        })
        .collect();
    assert_eq!(
        open,
        [
            [Value::Null, Value::Null, json!(8)],
            [json!(3), json!(2), json!(5)]
        ],
        "apart only where details were asked"
    );
    let lab_repo = ok_json(&client, "/api/v1/orgs/gitlab/acme/repos/r1/history").await;
    assert_eq!(lab_repo["repo"]["open_issues"], 7, "{lab_repo}");
    assert_eq!(lab_repo["repo"]["open_pull_requests"], Value::Null);
    assert_eq!(lab_repo["days"][1]["open_issues"], 7);
    assert_eq!(
        lab_repo["days"][1]["open_issues_and_pull_requests"],
        Value::Null
    );
    let lab_csv = csv_rows(&client, "/api/v1/orgs/gitlab/acme/history.csv").await;
    assert_eq!((lab_csv[2][4].as_str(), lab_csv[2][5].as_str()), ("7", ""));
}

async fn ok_json(client: &rocket::local::asynchronous::Client, uri: &str) -> Value {
    let (status, body) = json(client, uri).await;
    assert_eq!(status, Status::Ok, "{uri}: {body}");
    body
}
