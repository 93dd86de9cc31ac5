//! GitHub details over GraphQL, 100 repositories a request, against fakeforge (which
//! validates every query against GitHub's published schema and resolves nodes by the
//! REST listing's `node_id`, old and new forms): the request floor broken, the same
//! languages, licences and stars as the REST path, open pull requests apart from open
//! issues, and GraphQL's own failures (a vanished node, 502s, a refused token) changing
//! nothing else.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::common::*;
use orgpulse::domain::{OrgStatus, RunStatus, Secret};
use orgpulse::ingest::{Clock, IngestContext};
use orgpulse::store::Store;

/// One organisation of `repos` repositories.
async fn forge(repos: usize, faults: fakeforge::Faults) -> fakeforge::Running {
    fakeforge::start(fakeforge::ForgeConfig {
        world: fakeforge::WorldConfig {
            orgs: 1,
            repos,
            seed: 11,
            changed_per_day: 0.02,
        },
        rate_limit: 1_000_000,
        faults,
        ..fakeforge::ForgeConfig::default()
    })
    .await
    .expect("fakeforge starts")
}

/// A context for `forge`'s GitHub, languages on, libraries off; with a token when
/// `token` (GraphQL needs one), else the REST path alone.
fn ctx(store: Arc<dyn Store>, forge: &fakeforge::Running, token: bool) -> IngestContext {
    let mut ctx = context_at(store, &forge.url);
    ctx.options.languages = true;
    ctx.options.libraries = false;
    ctx.clock = Clock::fixed(at("2026-06-01"));
    if token {
        ctx.forges[0].token = Some(Secret::new("ghp_orgpulse_test"));
    }
    ctx
}

/// What both paths must agree on, per repository: stars, licence, languages.
type Facts = BTreeMap<i64, (u64, Option<String>, Option<BTreeMap<String, u64>>)>;

async fn facts(store: &Arc<dyn Store>, id: &str) -> Facts {
    store
        .list_repos(&org(id))
        .await
        .expect("repos")
        .into_iter()
        .map(|r| {
            (
                r.listing.id,
                (
                    r.listing.stars,
                    r.listing.license.clone(),
                    r.languages.clone(),
                ),
            )
        })
        .collect()
}

fn graphql_requests(forge: &fakeforge::Running) -> u64 {
    let stats = forge.forge.counters();
    [
        "graphql 200",
        "graphql 502",
        "graphql limited 200",
        "graphql invalid 200",
    ]
    .iter()
    .map(|k| stats.get(*k).copied().unwrap_or(0))
    .sum()
}

/// A 2,000+-repository organisation: the first refresh with details costs the listing
/// pages plus one GraphQL request per 100 repositories (at most 80 in all), stores exactly
/// what the REST path stores, and an unchanged second day asks GraphQL for nothing.
#[tokio::test]
async fn two_thousand_repositories_cost_under_80_requests_and_match_the_rest_path() {
    let forge = forge(2_150, fakeforge::Faults::default()).await;
    let login = forge.forge.world().orgs[0].login.clone();
    let id = format!("github:{login}");

    let (_rest_db, rest_store) = sqlite_store().await;
    let rest = refresh(&ctx(rest_store.clone(), &forge, false), &[&id]).await;
    assert_eq!(rest.status, RunStatus::Succeeded, "{:?}", rest.outcomes);
    let seen = rest.counts.repos_seen;
    assert!(seen > 2_000, "{seen} repositories");
    assert!(
        rest.counts.requests > seen,
        "REST: a request per repository"
    );
    assert_eq!(graphql_requests(&forge), 0, "no token, no GraphQL");

    let (_db, store) = sqlite_store().await;
    let first = refresh(&ctx(store.clone(), &forge, true), &[&id]).await;
    assert_eq!(first.status, RunStatus::Succeeded, "{:?}", first.outcomes);
    eprintln!(
        "{seen} repositories: REST path {} requests, GraphQL path {} requests ({} points)",
        rest.counts.requests, first.counts.requests, first.counts.points
    );
    assert!(
        first.counts.requests <= 80,
        "first refresh with details: {} requests",
        first.counts.requests
    );
    assert_eq!(
        graphql_requests(&forge),
        seen.div_ceil(100),
        "one query per 100 repositories"
    );
    assert_eq!(forge.forge.counters().get("graphql invalid 200"), None);
    assert!(first.counts.points >= 22, "points are accounted");
    assert_eq!(facts(&store, &id).await, facts(&rest_store, &id).await);

    let repos = store.list_repos(&org(&id)).await.expect("repos");
    let mut split = 0;
    for r in &repos {
        let d = r.details.as_ref().expect("every repository detailed");
        assert_eq!(
            Some(d.open_issues + d.open_pull_requests),
            r.listing.open_issues,
            "issues and pull requests apart, adding up to GitHub's mixed count"
        );
        split += usize::from(d.open_pull_requests > 0);
    }
    assert!(split > 100, "pull requests are counted apart: {split}");
    assert!(repos.iter().any(|r| r
        .details
        .as_ref()
        .is_some_and(|d| d.latest_release.is_some())));
    assert!(
        repos.iter().any(|r| r
            .listing
            .node_id
            .as_deref()
            .is_some_and(|n| n.starts_with("MDEw")))
            && repos.iter().any(|r| r
                .listing
                .node_id
                .as_deref()
                .is_some_and(|n| n.starts_with("R_"))),
        "both id forms occur"
    );

    // Nothing changed upstream: the listing answers 304s, GraphQL is not asked.
    let before = graphql_requests(&forge);
    let again = refresh(&ctx(store.clone(), &forge, true), &[&id]).await;
    assert_eq!(again.status, RunStatus::Succeeded, "{:?}", again.outcomes);
    assert!(graphql_requests(&forge) - before <= 2);
    assert_eq!(
        graphql_requests(&forge),
        before,
        "an unchanged day asks nothing"
    );
    assert_eq!(again.counts.repos_changed, 0);
}

/// A repository vanished between listing and details (its node is NOT_FOUND) and a 502
/// on every fifth GraphQL request (the batch is split and asked again) change nothing
/// else: every other repository is stored exactly as a clean run stores it.
#[tokio::test]
async fn a_vanished_repository_and_502s_change_nothing_else() {
    let clean = forge(450, fakeforge::Faults::default()).await;
    let login = clean.forge.world().orgs[0].login.clone();
    let id = format!("github:{login}");
    let (_clean_db, clean_store) = sqlite_store().await;
    let run = refresh(&ctx(clean_store.clone(), &clean, true), &[&id]).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.outcomes);
    let expected = clean_store.list_repos(&org(&id)).await.expect("repos");
    let vanished = expected[123].listing.id;

    let faulty = forge(
        450,
        fakeforge::Faults {
            graphql_502_every: 5,
            vanished: vec![vanished],
            ..fakeforge::Faults::default()
        },
    )
    .await;
    let (_db, store) = sqlite_store().await;
    let run = refresh(&ctx(store.clone(), &faulty, true), &[&id]).await;
    assert_eq!(
        run.outcomes[0].status,
        OrgStatus::Ok,
        "a vanished node and split batches are no failure: {:?}",
        run.outcomes
    );
    assert!(
        faulty
            .forge
            .counters()
            .get("graphql 502")
            .copied()
            .unwrap_or(0)
            >= 1
    );
    let got = store.list_repos(&org(&id)).await.expect("repos");
    assert_eq!(got.len(), expected.len());
    for (got, want) in got.iter().zip(&expected) {
        if got.listing.id == vanished {
            assert_eq!(got.details, None, "nothing made up for the vanished one");
            continue;
        }
        assert_eq!(
            (&got.details, &got.languages, &got.listing),
            (&want.details, &want.languages, &want.listing)
        );
    }
}

/// A token GraphQL refuses (401) fails nothing that REST can do: the organisation is
/// stored with its languages from the per-repository calls, the outcome says why the
/// details are missing, naming the setting and never the token.
#[tokio::test]
async fn a_refused_graphql_token_falls_back_to_rest_and_says_which_setting() {
    let forge = forge(30, fakeforge::Faults::default()).await;
    let login = forge.forge.world().orgs[0].login.clone();
    let id = format!("github:{login}");
    let (_db, store) = sqlite_store().await;
    let mut ctx = ctx(store.clone(), &forge, true);
    // The GraphQL endpoint of another server, which refuses the token.
    let refusing = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(401).set_body_json(
            serde_json::json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/graphql"}),
        ))
        .mount(&refusing)
        .await;
    ctx.forges[0].graphql_url = Some(format!("{}/graphql", refusing.uri()));
    let run = refresh(&ctx, &[&id]).await;
    let outcome = &run.outcomes[0];
    assert_eq!(outcome.status, OrgStatus::Partial, "{outcome:?}");
    let message = outcome.message.as_deref().expect("a reason");
    assert!(message.contains("GITHUB_TOKEN"), "{message}");
    assert!(!message.contains("ghp_orgpulse_test"), "{message}");
    let repos = store.list_repos(&org(&id)).await.expect("repos");
    assert_eq!(repos.len(), 30);
    assert!(
        repos.iter().all(|r| r.languages.is_some()),
        "languages over REST"
    );
}

/// What GraphQL adds shows: the API's `details` (issues and pull requests apart, the
/// latest release), the CSV's pull-request column, the repository page; and without a
/// token they say unknown rather than a mixed number.
#[tokio::test]
async fn details_show_in_the_api_the_csv_and_the_page_and_say_unknown_without_a_token() {
    use crate::web::{client, get, json};
    use rocket::http::Status;
    let forge = forge(40, fakeforge::Faults::default()).await;
    let login = forge.forge.world().orgs[0].login.clone();
    let id = format!("github:{login}");
    for token in [true, false] {
        let (_db, store) = sqlite_store().await;
        let run = refresh(&ctx(store.clone(), &forge, token), &[&id]).await;
        assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.outcomes);
        let repos = store.list_repos(&org(&id)).await.expect("repos");
        let released = repos.iter().max_by_key(|r| {
            r.details
                .as_ref()
                .map(|d| (d.latest_release.is_some(), d.open_pull_requests))
        });
        let repo = released.expect("a repository");
        let client = client(store.clone()).await;
        let (status, page) = json(
            &client,
            &format!("/api/v1/orgs/github/{login}/repos?limit=100"),
        )
        .await;
        assert_eq!(status, Status::Ok);
        let item = page["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|i| i["id"] == repo.listing.id)
            .expect("listed");
        let (_, csv) = get(&client, &format!("/api/v1/orgs/github/{login}/repos.csv")).await;
        let header: Vec<&str> = csv.lines().next().expect("header").split(',').collect();
        let at = |name: &str| header.iter().position(|c| *c == name).expect(name);
        let column = at("open_pull_requests");
        let (issues_column, both_column) = (at("open_issues"), at("open_issues_and_pull_requests"));
        let row: Vec<&str> = csv
            .lines()
            .find(|l| l.starts_with(&format!("{},", repo.listing.id)))
            .expect("the row")
            .split(',')
            .collect();
        let (_, html) = get(
            &client,
            &format!("/orgs/github/{login}/repos/{}", repo.listing.name),
        )
        .await;
        let (_, runs) = get(&client, "/runs").await;
        assert_eq!(
            runs.contains(">Points</th>"),
            token,
            "the points column shows where GraphQL spent points"
        );
        if token {
            let d = repo.details.as_ref().expect("details");
            assert_eq!(item["open_pull_requests"], d.open_pull_requests);
            assert_eq!(item["open_issues"], d.open_issues);
            assert_eq!(
                item["open_issues_and_pull_requests"],
                d.open_issues + d.open_pull_requests
            );
            assert_eq!(row[issues_column], d.open_issues.to_string());
            let tag = &d.latest_release.as_ref().expect("a release").tag;
            assert_eq!(item["details"]["latest_release"]["tag"], tag.as_str());
            assert_eq!(row[column], d.open_pull_requests.to_string());
            assert!(html.contains("Open pull requests"), "{html}");
            assert!(html.contains(tag.as_str()));
        } else {
            assert_eq!(item["details"], serde_json::Value::Null);
            // Without a token GitHub counts both together: never called issues.
            assert_eq!(item["open_issues"], serde_json::Value::Null);
            assert_eq!(item["open_pull_requests"], serde_json::Value::Null);
            assert_eq!(
                item["open_issues_and_pull_requests"],
                repo.listing.open_issues.expect("listed")
            );
            assert_eq!(row[column], "", "unknown, not zero");
            assert_eq!(row[issues_column], "", "unknown, not the count of both");
            assert_eq!(
                row[both_column],
                repo.listing.open_issues.expect("listed").to_string()
            );
            assert!(html.contains("Open pull requests</th><td>unknown"));
        }
    }
}

/// An answer that does not fit the question (fewer nodes than ids) fails the details of
/// that batch — counted, the rest stored — rather than passing for "vanished".
#[tokio::test]
async fn an_answer_with_the_wrong_number_of_nodes_is_a_failure_not_a_vanishing() {
    let forge = forge(30, fakeforge::Faults::default()).await;
    let login = forge.forge.world().orgs[0].login.clone();
    let id = format!("github:{login}");
    let (_db, store) = sqlite_store().await;
    let mut ctx = ctx(store.clone(), &forge, true);
    let odd = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"data": {"rateLimit": {"cost": 1, "remaining": 4990}, "nodes": []}}),
        ))
        .mount(&odd)
        .await;
    ctx.forges[0].graphql_url = Some(format!("{}/graphql", odd.uri()));
    let run = refresh(&ctx, &[&id]).await;
    let outcome = &run.outcomes[0];
    assert_eq!(outcome.status, OrgStatus::Partial, "{outcome:?}");
    let repos = store.list_repos(&org(&id)).await.expect("repos");
    assert_eq!(outcome.counts.details_failed as usize, repos.len());
    assert!(repos
        .iter()
        .all(|r| r.details.is_none() && r.languages.is_some()));
}
