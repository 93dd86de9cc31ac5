//! Ingest against wiremock GitLab and Gitea/Forgejo servers shaped like the real answers
//! in FORGE-APIS.md: listings over several pages (GitLab subgroups included), missing
//! optional fields, 429s with and without advice, 5xx then success, renames, unchanged
//! second runs, and failures that keep what was stored.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::common::*;
use orgpulse::domain::{ForgeKind, OrgStatus, RunStatus};
use orgpulse::ingest::{ForgeAccess, IngestContext};
use orgpulse::store::Store;
use serde_json::{json, Value};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// A context whose `gitlab` and `codeberg` forges are `server`.
fn forges_context(store: Arc<dyn Store>, server: &MockServer) -> IngestContext {
    let mut ctx = context(store, server);
    ctx.forges = vec![
        ForgeAccess::new(
            "gitlab",
            ForgeKind::GitLab,
            &format!("{}/api/v4", server.uri()),
        ),
        ForgeAccess::new(
            "codeberg",
            ForgeKind::Forgejo,
            &format!("{}/api/v1", server.uri()),
        ),
    ];
    ctx
}

fn etag_of(body: &[u8]) -> String {
    let mut h = DefaultHasher::new();
    body.hash(&mut h);
    format!("W/\"{:x}\"", h.finish())
}

fn query(request: &Request, name: &str) -> Option<String> {
    request
        .url
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A JSON body with a weak ETag, answering 304 to a matching `If-None-Match`.
fn conditional(body: &Value, headers: &[(&str, String)], request: &Request) -> ResponseTemplate {
    let bytes = serde_json::to_vec(body).expect("json");
    let etag = etag_of(&bytes);
    let matches = request
        .headers
        .get("if-none-match")
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str());
    let mut answer = if matches {
        ResponseTemplate::new(304)
    } else {
        ResponseTemplate::new(200).set_body_raw(bytes, "application/json")
    };
    answer = answer
        .insert_header("etag", etag.as_str())
        .insert_header("cache-control", "max-age=0, private, must-revalidate");
    for (k, v) in headers {
        answer = answer.insert_header(*k, v.as_str());
    }
    answer
}

fn secret(token: &str) -> orgpulse::domain::Secret {
    serde_json::from_value(json!(token)).expect("a secret")
}

// ---------------------------------------------------------------- GitLab

/// `GET /groups/:id/projects`, 100 a page, ordered by id, as GitLab pages it.
struct GitLabProjects {
    projects: Vec<Value>,
    /// Whether `x-total` / `x-total-pages` are sent (GitLab drops them above 10,000 rows).
    totals: bool,
    /// The server's address, for `link` URLs (wiremock's request URL has no port).
    base: String,
}

impl Respond for GitLabProjects {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let per_page: usize = query(request, "per_page")
            .and_then(|v| v.parse().ok())
            .unwrap_or(20)
            .min(100);
        let page: usize = query(request, "page")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        let pages = self.projects.len().div_ceil(per_page).max(1);
        let chunk: Vec<Value> = self
            .projects
            .iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .cloned()
            .collect();
        let mut headers = vec![
            ("x-page", page.to_string()),
            ("x-per-page", per_page.to_string()),
            (
                "x-next-page",
                if page < pages {
                    (page + 1).to_string()
                } else {
                    String::new()
                },
            ),
        ];
        if self.totals {
            headers.push(("x-total", self.projects.len().to_string()));
            headers.push(("x-total-pages", pages.to_string()));
        }
        if page < pages {
            let mut next = url::Url::parse(&self.base)
                .expect("base")
                .join(request.url.path())
                .expect("url");
            next.set_query(request.url.query());
            let pairs: Vec<(String, String)> = next
                .query_pairs()
                .map(|(k, v)| {
                    let v = if k == "page" {
                        (page + 1).to_string()
                    } else {
                        v.into_owned()
                    };
                    (k.into_owned(), v)
                })
                .collect();
            next.query_pairs_mut().clear().extend_pairs(pairs);
            headers.push(("link", format!("<{next}>; rel=\"next\"")));
        }
        conditional(&Value::Array(chunk), &headers, request)
    }
}

struct Conditional(Value);

impl Respond for Conditional {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        conditional(&self.0, &[], request)
    }
}

/// `n` projects of `group`, every third in a subgroup, every tenth without the optional
/// `open_issues_count` and `archived` (issues off; a `simple`-like entry).
pub(crate) fn projects(n: u64, group: &str) -> Vec<Value> {
    (1..=n)
        .map(|i| {
            let ns = if i % 3 == 0 {
                format!("{group}/sub")
            } else {
                group.to_owned()
            };
            let mut p = json!({
                "id": 1000 + i, "path": format!("p{i}"), "name": format!("Project {i}"),
                "path_with_namespace": format!("{ns}/p{i}"),
                "namespace": {"full_path": ns},
                "star_count": (i * 37) % 1000, "forks_count": i % 7,
                "open_issues_count": i % 5, "archived": i % 11 == 0,
                "topics": ["x"], "visibility": "public", "empty_repo": false,
                "web_url": format!("https://gitlab.example/{ns}/p{i}"),
                "created_at": "2025-01-01T00:00:00.000Z",
                "last_activity_at": "2026-01-01T00:00:00.000Z",
                "container_expiration_policy": {"next_run_at": "2026-01-02T00:00:00.000Z"}
            });
            if i % 10 == 0 {
                let p = p.as_object_mut().expect("object");
                p.remove("open_issues_count");
                p.remove("archived");
            }
            p
        })
        .collect()
}

fn group(id: i64, full_path: &str) -> Value {
    json!({"id": id, "name": "Platform", "path": full_path.rsplit('/').next(),
           "full_path": full_path, "description": "The platform group",
           "web_url": format!("https://gitlab.example/groups/{full_path}"),
           "avatar_url": null, "visibility": "public"})
}

pub(crate) async fn mount_gitlab(server: &MockServer, projects: Vec<Value>, totals: bool) {
    Mock::given(method("GET"))
        .and(path("/api/v4/groups/acme%2Fplatform"))
        .respond_with(Conditional(group(42, "acme/platform")))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v4/groups/42/projects"))
        .and(query_param("include_subgroups", "true"))
        .and(query_param("with_shared", "false"))
        .and(query_param("order_by", "id"))
        .and(query_param("sort", "asc"))
        .respond_with(GitLabProjects {
            projects,
            totals,
            base: server.uri(),
        })
        .mount(server)
        .await;
}

async fn requests(server: &MockServer, to: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.url.path() == to)
        .collect()
}

pub(crate) fn star_sum(n: u64) -> u64 {
    (1..=n).map(|i| (i * 37) % 1000).sum()
}

#[tokio::test]
async fn gitlab_stores_every_project_of_the_group_and_its_subgroups_then_costs_only_304s() {
    for totals in [true, false] {
        let server = MockServer::start().await;
        mount_gitlab(&server, projects(250, "acme/platform"), totals).await;
        let (_dir, store) = sqlite_store().await;
        let ctx = forges_context(store.clone(), &server);
        let id = org("gitlab:acme/platform");

        let run = refresh(&ctx, &["gitlab:acme/platform"]).await;

        assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.outcomes);
        let stored = store.list_repos(&id).await.expect("repos");
        assert_eq!(stored.len(), 250, "totals={totals}");
        let sub = stored
            .iter()
            .find(|r| r.listing.id == 1003)
            .expect("a subgroup project");
        assert_eq!(sub.listing.name, "sub/p3");
        assert_eq!(sub.listing.full_name, "acme/platform/sub/p3");
        let missing = stored
            .iter()
            .find(|r| r.listing.id == 1010)
            .expect("a project without optional fields");
        assert_eq!(
            (missing.listing.open_issues, missing.listing.archived),
            (None, false)
        );
        let snapshot = &store.list_snapshots(&id, None, None).await.expect("snaps")[0];
        assert_eq!(snapshot.totals.stars, star_sum(250));
        assert_eq!(
            snapshot.totals.open_issues,
            (1..=250u64)
                .filter(|i| i % 10 != 0)
                .map(|i| i % 5)
                .sum::<u64>(),
            "unknown counts are left out of the sum"
        );
        let unknown = snapshot
            .repos
            .iter()
            .find(|c| c.id == 1010)
            .expect("listed that day");
        assert_eq!(unknown.open_issues, None, "the day's count is unknown too");
        assert_eq!(
            snapshot.totals.forks,
            (1..=250u64).map(|i| i % 7).sum::<u64>()
        );
        let profile = store.get_org(&id).await.expect("read").expect("stored");
        assert_eq!(
            (profile.profile.id, profile.profile.login.as_str()),
            (42, "acme/platform")
        );
        assert_eq!(run.counts.requests, 4, "group + 3 pages");
        let pages = requests(&server, "/api/v4/groups/42/projects").await;
        assert_eq!(pages.len(), 3);
        assert!(pages
            .iter()
            .all(|r| query(r, "per_page").as_deref() == Some("100")));

        // Nothing changed upstream: every answer is a 304, nothing is rewritten.
        let again = refresh(&ctx, &["gitlab:acme/platform"]).await;
        assert_eq!(again.status, RunStatus::Succeeded, "{:?}", again.outcomes);
        assert_eq!(again.counts.requests, 4, "totals={totals}");
        assert_eq!(again.counts.not_modified, 4, "group and every listing page");
        assert_eq!(again.counts.repos_changed, 0);
        assert_eq!(store.list_repos(&id).await.expect("repos").len(), 250);
    }
}

#[tokio::test]
async fn gitlab_sends_the_token_as_private_token_and_reads_languages_as_shares() {
    let server = MockServer::start().await;
    mount_gitlab(&server, projects(2, "acme/platform"), true).await;
    Mock::given(method("GET"))
        .and(path("/api/v4/projects/1001/languages"))
        .respond_with(Conditional(json!({"Rust": 66.69, "Shell": 33.31})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v4/projects/1002/languages"))
        .respond_with(Conditional(json!({"Rust": 100})))
        .mount(&server)
        .await;
    // Not a GitLab Ultimate instance: the dependency list is not there.
    Mock::given(method("GET"))
        .and(path("/api/v4/projects/1001/dependencies"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"message": "403 Forbidden"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v4/projects/1002/dependencies"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"name": "rails", "version": "7.1.0", "package_manager": "bundler",
             "dependency_file_path": "Gemfile.lock", "licenses": [{"name": "MIT", "spdx_identifier": "MIT"}]},
            {"name": "left-pad", "version": "1.3.0", "package_manager": "yarn"}
        ])))
        .mount(&server)
        .await;
    let (_dir, store) = sqlite_store().await;
    let mut ctx = forges_context(store.clone(), &server);
    ctx.forges[0].token = Some(secret("glpat-secret"));
    ctx.options.languages = true;
    ctx.options.libraries = true;

    let run = refresh(&ctx, &["gitlab:acme/platform"]).await;

    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.outcomes);
    let first = &requests(&server, "/api/v4/groups/acme%2Fplatform").await[0];
    assert_eq!(first.headers["private-token"], "glpat-secret");
    let repos = store
        .list_repos(&org("gitlab:acme/platform"))
        .await
        .expect("repos");
    let langs = repos[0].languages.as_ref().expect("languages");
    assert_eq!(langs["Rust"], 6669, "hundredths of a percent");
    assert_eq!(repos[0].libraries, None, "403: not available");
    assert_eq!(repos[1].libraries, Some(2));
    let libs = store
        .list_repo_libraries(&org("gitlab:acme/platform"), 1002)
        .await
        .expect("libraries");
    assert_eq!(
        (libs[0].ecosystem.as_str(), libs[0].license.as_deref()),
        ("gem", Some("MIT"))
    );
    assert_eq!(libs[1].ecosystem, "npm", "yarn is an npm package");
}

#[tokio::test]
async fn gitlab_rate_limits_with_and_without_headers_and_5xx_are_waited_out() {
    let server = MockServer::start().await;
    // A 429 with no header at all (the Groups API throttle), one with Retry-After, one
    // with RateLimit-* only, then a 502: each is waited out and the run succeeds.
    Mock::given(method("GET"))
        .and(path("/api/v4/groups/42/projects"))
        .and(query_param("page", "1"))
        .respond_with(ResponseTemplate::new(429).set_body_string("Retry later"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v4/groups/42/projects"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let reset = chrono::Utc::now().timestamp() + 1;
    Mock::given(method("GET"))
        .and(path("/api/v4/groups/42/projects"))
        .and(query_param("page", "3"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("ratelimit-limit", "600")
                .insert_header("ratelimit-remaining", "0")
                .insert_header("ratelimit-reset", reset.to_string().as_str()),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v4/groups/acme%2Fplatform"))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>502 Bad Gateway</html>"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    mount_gitlab(&server, projects(250, "acme/platform"), true).await;
    let (_dir, store) = sqlite_store().await;
    let ctx = forges_context(store.clone(), &server);

    let run = refresh(&ctx, &["gitlab:acme/platform"]).await;

    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.outcomes);
    assert_eq!(run.counts.retries, 4, "{:?}", run.counts);
    assert_eq!(
        store
            .list_repos(&org("gitlab:acme/platform"))
            .await
            .expect("repos")
            .len(),
        250
    );
}

#[tokio::test]
async fn gitlab_renamed_group_is_found_by_id_and_a_failed_fetch_keeps_the_stored_data() {
    let server = MockServer::start().await;
    mount_gitlab(&server, projects(120, "acme/platform"), true).await;
    let (_dir, store) = sqlite_store().await;
    let ctx = forges_context(store.clone(), &server);
    let id = org("gitlab:acme/platform");
    assert_eq!(
        refresh(&ctx, &["gitlab:acme/platform"]).await.status,
        RunStatus::Succeeded
    );

    // A page that keeps failing: the refresh fails, the stored projects stay.
    server.reset().await;
    Mock::given(method("GET"))
        .and(path("/api/v4/groups/42/projects"))
        .and(query_param("page", "2"))
        .respond_with(
            ResponseTemplate::new(500)
                .set_body_json(json!({"message": "500 Internal Server Error"})),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    mount_gitlab(&server, projects(130, "acme/platform"), true).await;
    let failed = refresh(&ctx, &["gitlab:acme/platform"]).await;
    assert_eq!(
        failed.outcomes[0].status,
        OrgStatus::Failed,
        "{:?}",
        failed.outcomes
    );
    let kept = store.list_repos(&id).await.expect("repos");
    assert_eq!(kept.len(), 120);
    assert!(kept.iter().all(|r| r.gone_since.is_none()));

    // Renamed: the old path 404s, the stored id names the new one.
    server.reset().await;
    Mock::given(method("GET"))
        .and(path("/api/v4/groups/acme%2Fplatform"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"message": "404 Group Not Found"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v4/groups/42"))
        .respond_with(ResponseTemplate::new(200).set_body_json(group(42, "acme/core")))
        .mount(&server)
        .await;
    let renamed = refresh(&ctx, &["gitlab:acme/platform"]).await;
    let outcome = &renamed.outcomes[0];
    assert_eq!(outcome.status, OrgStatus::NotFound);
    let message = outcome.message.as_deref().unwrap_or_default();
    assert!(message.contains("renamed upstream"), "{message}");
    assert!(message.contains("gitlab:acme/core"), "{message}");
    assert_eq!(store.list_repos(&id).await.expect("repos").len(), 120);
}

// ---------------------------------------------------------------- Gitea / Forgejo

/// `GET /orgs/{org}/repos?page=N&limit=L`, `limit` silently capped at `max`, the total in
/// `X-Total-Count`, no ETag, and `Link` URLs on a wrong `AppURL`.
struct GiteaRepos {
    repos: Vec<Value>,
    max: usize,
}

impl Respond for GiteaRepos {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let limit: usize = query(request, "limit")
            .and_then(|v| v.parse().ok())
            .unwrap_or(30)
            .min(self.max);
        let page: usize = query(request, "page")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1)
            .max(1);
        let chunk: Vec<Value> = self
            .repos
            .iter()
            .skip((page - 1) * limit)
            .take(limit)
            .cloned()
            .collect();
        let pages = self.repos.len().div_ceil(limit);
        let mut answer = ResponseTemplate::new(200)
            .set_body_json(Value::Array(chunk))
            .insert_header("x-total-count", self.repos.len().to_string().as_str())
            .insert_header(
                "cache-control",
                "max-age=0, private, must-revalidate, no-transform",
            )
            .insert_header("access-control-expose-headers", "X-Total-Count, Link");
        if page < pages {
            answer = answer.insert_header(
                "link",
                format!(
                    "<http://wrong-app-url.invalid/api/v1/orgs/x/repos?page={}>; rel=\"next\"",
                    page + 1
                )
                .as_str(),
            );
        }
        answer
    }
}

pub(crate) fn gitea_repos(n: u64, owner: &str) -> Vec<Value> {
    let mut names: Vec<String> = (1..=n).map(|i| format!("r{i:04}")).collect();
    names.sort();
    names
        .into_iter()
        .enumerate()
        .map(|(k, name)| {
            let i = k as u64 + 1;
            let mut r = json!({
                "id": 5000 + i, "name": name, "full_name": format!("{owner}/{name}"),
                "owner": {"login": owner}, "stars_count": (i * 37) % 1000,
                "forks_count": i % 7, "watchers_count": 1, "open_issues_count": i % 5,
                "open_pr_counter": i % 2, "language": "Go", "topics": [],
                "archived": false, "fork": false, "empty": false, "mirror": false,
                "private": false, "size": 120, "default_branch": "main",
                "html_url": format!("https://codeberg.example/{owner}/{name}"),
                "created_at": "2025-01-01T00:00:00+01:00",
                "updated_at": "2026-01-01T00:00:00+01:00"
            });
            if i.is_multiple_of(10) {
                let r = r.as_object_mut().expect("object");
                r.remove("topics");
                r.remove("open_pr_counter");
                r.remove("language");
            }
            r
        })
        .collect()
}

fn gitea_org(id: i64, name: &str) -> Value {
    json!({"id": id, "name": name, "username": name, "full_name": "The Forgejo project",
           "email": "", "avatar_url": "https://codeberg.example/avatars/1",
           "description": "Beyond coding", "website": "https://forgejo.org",
           "location": "", "visibility": "public", "repo_admin_change_team_access": false})
}

pub(crate) async fn mount_gitea(server: &MockServer, name: &str, repos: Vec<Value>) {
    Mock::given(method("GET"))
        .and(path("/api/v1/settings/api"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "max_response_items": 50, "default_paging_num": 30,
            "default_git_trees_per_page": 1000, "default_max_blob_size": 10485760
        })))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/orgs/{name}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(gitea_org(77, name)))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/orgs/{name}/repos")))
        .respond_with(GiteaRepos { repos, max: 50 })
        .mount(server)
        .await;
}

#[tokio::test]
async fn forgejo_lists_pages_at_the_servers_cap_and_an_unchanged_run_writes_nothing() {
    let server = MockServer::start().await;
    mount_gitea(&server, "forgejo", gitea_repos(120, "forgejo")).await;
    let (_dir, store) = sqlite_store().await;
    let ctx = forges_context(store.clone(), &server);
    let id = org("codeberg:forgejo");

    let run = refresh(&ctx, &["codeberg:forgejo"]).await;

    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.outcomes);
    let stored = store.list_repos(&id).await.expect("repos");
    assert_eq!(stored.len(), 120);
    let snapshot = &store.list_snapshots(&id, None, None).await.expect("snaps")[0];
    assert_eq!(snapshot.totals.stars, star_sum(120));
    let pages = requests(&server, "/api/v1/orgs/forgejo/repos").await;
    assert_eq!(pages.len(), 3, "120 repositories at 50 a page");
    assert!(pages
        .iter()
        .all(|r| query(r, "limit").as_deref() == Some("50")));
    assert_eq!(run.counts.requests, 5, "settings + org + 3 pages");
    let missing = stored.iter().find(|r| r.listing.id == 5010).expect("entry");
    assert_eq!(missing.listing.language, None);
    let profile = store.get_org(&id).await.expect("read").expect("stored");
    assert_eq!(
        profile.profile.html_url.as_deref(),
        Some(format!("{}/forgejo", server.uri()).as_str())
    );
    let validators = store.list_http_cache(&id).await.expect("cache");
    assert_eq!(
        validators.len(),
        4,
        "one hash per listing page and the profile"
    );
    assert!(validators
        .iter()
        .all(|v| v.etag.is_none() && v.content_hash.is_some()));

    // Nothing changed: every answer is recognised by its hash; nothing is rewritten.
    let again = refresh(&ctx, &["codeberg:forgejo"]).await;
    assert_eq!(again.status, RunStatus::Succeeded, "{:?}", again.outcomes);
    assert_eq!(again.counts.not_modified, 4, "{:?}", again.counts);
    assert_eq!(again.counts.repos_changed, 0);
    assert_eq!(store.list_http_cache(&id).await.expect("cache"), validators);

    // One star more on page 2: that page is read again, the others are not.
    server.reset().await;
    let mut changed = gitea_repos(120, "forgejo");
    changed[60]["stars_count"] = json!(changed[60]["stars_count"].as_u64().expect("n") + 1);
    mount_gitea(&server, "forgejo", changed).await;
    let third = refresh(&ctx, &["codeberg:forgejo"]).await;
    assert_eq!(third.counts.not_modified, 3, "{:?}", third.counts);
    assert_eq!(third.counts.repos_changed, 1);
    let snapshot = &store.list_snapshots(&id, None, None).await.expect("snaps")[0];
    assert_eq!(snapshot.totals.stars, star_sum(120) + 1);
}

#[tokio::test]
async fn forgejo_follows_a_rename_waits_out_limits_and_keeps_data_when_a_fetch_fails() {
    let server = MockServer::start().await;
    // The old name answers 307 to the new one, as Gitea does after a rename.
    Mock::given(method("GET"))
        .and(path("/api/v1/orgs/oldname"))
        .respond_with(ResponseTemplate::new(307).insert_header(
            "location",
            format!("{}/api/v1/orgs/newname", server.uri()).as_str(),
        ))
        .mount(&server)
        .await;
    // Codeberg's proxy throttles without saying how long; then a 503.
    Mock::given(method("GET"))
        .and(path("/api/v1/orgs/newname/repos"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(429).set_body_string("Too Many Requests"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/orgs/newname/repos"))
        .and(query_param("page", "3"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    mount_gitea(&server, "newname", gitea_repos(101, "newname")).await;
    let (_dir, store) = sqlite_store().await;
    let ctx = forges_context(store.clone(), &server);
    let id = org("codeberg:oldname");

    let run = refresh(&ctx, &["codeberg:oldname"]).await;

    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.outcomes);
    assert_eq!(run.counts.retries, 2);
    assert_eq!(store.list_repos(&id).await.expect("repos").len(), 101);
    let record = store.get_org(&id).await.expect("read").expect("stored");
    assert_eq!(record.profile.login, "newname");

    // Garbage where a page should be, every time: the run fails, the data stays.
    server.reset().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/orgs/oldname/repos"))
        .and(query_param("page", "3"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>maintenance</html>"))
        .with_priority(1)
        .mount(&server)
        .await;
    mount_gitea(&server, "oldname", gitea_repos(101, "oldname")).await;
    let failed = refresh(&ctx, &["codeberg:oldname"]).await;
    assert_eq!(
        failed.outcomes[0].status,
        OrgStatus::Failed,
        "{:?}",
        failed.outcomes
    );
    let kept = store.list_repos(&id).await.expect("repos");
    assert_eq!(kept.len(), 101);
    assert!(kept.iter().all(|r| r.gone_since.is_none()));
}

#[tokio::test]
async fn gitlab_finds_a_project_past_a_full_last_page_when_the_pages_answer_304() {
    // 200 projects fill two pages exactly. A project created since lands on page 3 while
    // pages 1 and 2 are unchanged (304, carrying the old count): the page after a full
    // last page is read anyway.
    let server = MockServer::start().await;
    mount_gitlab(&server, projects(200, "acme/platform"), true).await;
    let (_dir, store) = sqlite_store().await;
    let ctx = forges_context(store.clone(), &server);
    let first = refresh(&ctx, &["gitlab:acme/platform"]).await;
    assert_eq!(first.counts.requests, 3, "group + 2 pages");

    server.reset().await;
    mount_gitlab(&server, projects(201, "acme/platform"), true).await;
    let run = refresh(&ctx, &["gitlab:acme/platform"]).await;

    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.outcomes);
    assert_eq!(
        run.counts.not_modified, 3,
        "group and pages 1-2: {:?}",
        run.counts
    );
    assert_eq!(run.counts.requests, 4);
    let stored = store
        .list_repos(&org("gitlab:acme/platform"))
        .await
        .expect("repos");
    assert_eq!(stored.len(), 201);
}

#[tokio::test]
async fn forgejo_hiding_its_api_settings_is_listed_at_the_default_page_size() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/settings/api"))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(json!({"message": "token required"})),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    mount_gitea(&server, "forgejo", gitea_repos(60, "forgejo")).await;
    let (_dir, store) = sqlite_store().await;
    let ctx = forges_context(store.clone(), &server);

    let run = refresh(&ctx, &["codeberg:forgejo"]).await;

    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.outcomes);
    let pages = requests(&server, "/api/v1/orgs/forgejo/repos").await;
    assert!(pages
        .iter()
        .all(|r| query(r, "limit").as_deref() == Some("50")));
    assert_eq!(pages.len(), 2);
    assert_eq!(
        store
            .list_repos(&org("codeberg:forgejo"))
            .await
            .expect("repos")
            .len(),
        60
    );
}

// ---------------------------------------------------------------- fakeforge flavours

/// Stars, forks and open issues (with pull requests) of `repos`, GitHub-shaped as the
/// fake's world generates them. On GitLab the fake turns the issues feature off where the
/// world leaves `visibility` out: no count is listed there, so none is summed.
fn world_sums<'a>(repos: impl Iterator<Item = &'a Value>, gitlab: bool) -> (usize, u64, u64, u64) {
    repos.fold((0, 0, 0, 0), |(n, s, f, i), r| {
        let get = |k: &str| r[k].as_u64().expect("a count");
        let issues = if gitlab && r.get("visibility").is_none() {
            0
        } else {
            get("open_issues_count")
        };
        (
            n + 1,
            s + get("stargazers_count"),
            f + get("forks_count"),
            i + issues,
        )
    })
}

async fn stored_sums(store: &Arc<dyn Store>, id: &str) -> (usize, u64, u64, u64) {
    let repos = store.list_repos(&org(id)).await.expect("repos");
    let live: Vec<_> = repos.iter().filter(|r| r.gone_since.is_none()).collect();
    (
        live.len(),
        live.iter().map(|r| r.listing.stars).sum(),
        live.iter().map(|r| r.listing.forks).sum(),
        live.iter().filter_map(|r| r.listing.open_issues).sum(),
    )
}

/// The GitLab and Forgejo flavours of fakeforge, end to end through the real pipeline over
/// several days: exact sums on every forge, GitLab's unchanged run all 304s, Forgejo's
/// unchanged run rewriting nothing, and a faulty day that loses nothing.
#[tokio::test]
async fn fakeforge_gitlab_and_forgejo_flavours_are_ingested_exactly_day_after_day() {
    let forge = fakeforge::start(fakeforge::ForgeConfig {
        world: fakeforge::WorldConfig {
            orgs: 2,
            repos: 260,
            seed: 5,
            changed_per_day: 0.05,
        },
        day: 5,
        rate_limit: 1_000_000,
        ..fakeforge::ForgeConfig::default()
    })
    .await
    .expect("fakeforge starts");
    let world = forge.forge.world().clone();
    let (a, b) = (world.orgs[0].clone(), world.orgs[1].clone());
    let (_dir, store) = sqlite_store().await;
    let mut ctx = context_at(store.clone(), &forge.url);
    ctx.forges = vec![
        ForgeAccess::new(
            "gitlab",
            ForgeKind::GitLab,
            &format!("{}/gitlab/api/v4", forge.url),
        ),
        ForgeAccess::new(
            "codeberg",
            ForgeKind::Forgejo,
            &format!("{}/forgejo/api/v1", forge.url),
        ),
    ];
    ctx.options.languages = true;
    let group = format!("gitlab:{}", a.login);
    let subgroup = format!("gitlab:{}/libs", b.login);
    let codeberg = format!("codeberg:{}", b.login);
    let ids = [group.as_str(), subgroup.as_str(), codeberg.as_str()];
    let expect = |day: u32| {
        let of_b = world.repos(&b, day);
        (
            world_sums(world.repos(&a, day).iter(), true),
            world_sums(
                of_b.iter()
                    .enumerate()
                    .filter(|(n, _)| n % 5 == 2)
                    .map(|(_, r)| r),
                true,
            ),
            world_sums(of_b.iter(), false),
        )
    };
    let check = |day: u32, label: &'static str| {
        let store = store.clone();
        let expected = expect(day);
        let ids = ids.map(str::to_owned);
        async move {
            let got = (
                stored_sums(&store, &ids[0]).await,
                stored_sums(&store, &ids[1]).await,
                stored_sums(&store, &ids[2]).await,
            );
            assert_eq!(
                got, expected,
                "{label}: (repos, stars, forks, open issues and PRs)"
            );
        }
    };

    let first = refresh(&ctx, &ids).await;
    assert_eq!(first.status, RunStatus::Succeeded, "{:?}", first.outcomes);
    check(5, "first run").await;
    let languages = store.list_repos(&org(&group)).await.expect("repos");
    let shares = languages
        .iter()
        .find_map(|r| r.languages.clone().filter(|l| !l.is_empty()))
        .expect("languages were read");
    let total: u64 = shares.values().sum();
    assert!(
        (9_990..=10_010).contains(&total),
        "hundredths of a percent: {total}"
    );

    // The same day again: GitLab answers every request 304, Forgejo's pages hash equal.
    let again = refresh(&ctx, &ids).await;
    assert_eq!(again.status, RunStatus::Succeeded, "{:?}", again.outcomes);
    for outcome in &again.outcomes {
        assert_eq!(outcome.counts.repos_changed, 0, "{}", outcome.org);
        if outcome.org.forge().as_str() == "gitlab" {
            assert_eq!(
                outcome.counts.requests, outcome.counts.not_modified,
                "{}: all 304",
                outcome.org
            );
        } else {
            // `/settings/api` is read; the profile and every listing page hash as before.
            let pages = 260usize.div_ceil(50) as u64;
            assert_eq!(
                (outcome.counts.requests, outcome.counts.not_modified),
                (pages + 2, pages + 1),
                "{}",
                outcome.org
            );
        }
    }
    check(5, "unchanged run").await;

    // An ordinary day, then a faulty one: the faulty run keeps what is stored and a clean
    // retry lands the day exactly.
    forge.forge.set_day(6);
    let day6 = refresh(&ctx, &ids).await;
    assert_eq!(day6.status, RunStatus::Succeeded, "{:?}", day6.outcomes);
    check(6, "next day").await;
    assert!(day6.counts.repos_changed > 0 && day6.counts.repos_changed < 100);

    forge.forge.set_day(7);
    forge.forge.set_faults(fakeforge::Faults {
        server_error: 0.3,
        secondary: 0.2,
        truncate: 0.1,
        ..fakeforge::Faults::default()
    });
    let faulty = refresh(&ctx, &ids).await;
    for outcome in &faulty.outcomes {
        if outcome.status != OrgStatus::Ok {
            let id = outcome.org.to_string();
            let i = ids.iter().position(|x| *x == id).expect("tracked");
            let kept = [expect(6).0, expect(6).1, expect(6).2][i];
            let now = [expect(7).0, expect(7).1, expect(7).2][i];
            let stored = stored_sums(&store, &id).await;
            assert!(stored == kept || stored == now, "{id}: {stored:?}");
        }
    }
    forge.forge.set_faults(fakeforge::Faults::default());
    let retry = refresh(&ctx, &ids).await;
    assert_eq!(retry.status, RunStatus::Succeeded, "{:?}", retry.outcomes);
    check(7, "after the faulty day").await;
}

// ------------------------------------------------ GitLab: a group and its subgroup

/// `GET /groups/:id/projects` over a world that tests can change between refreshes: the
/// projects whose namespace is `under` or below it (GitLab's `include_subgroups=true`).
struct GroupProjects {
    world: Arc<std::sync::Mutex<Vec<Value>>>,
    under: String,
}

impl Respond for GroupProjects {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let listed: Vec<Value> = self
            .world
            .lock()
            .expect("world")
            .iter()
            .filter(|p| {
                let ns = p["namespace"]["full_path"].as_str().unwrap_or_default();
                ns == self.under || ns.starts_with(&format!("{}/", self.under))
            })
            .cloned()
            .collect();
        let total = listed.len().to_string();
        conditional(
            &Value::Array(listed),
            &[
                ("x-page", "1".into()),
                ("x-next-page", String::new()),
                ("x-total", total),
                ("x-total-pages", "1".into()),
            ],
            request,
        )
    }
}

/// `acme/platform` (id 42, `n` projects, every third in `acme/platform/sub`) and its
/// subgroup `acme/platform/sub` (id 43), both served from one changeable world.
async fn mount_group_and_subgroup(
    server: &MockServer,
    n: u64,
) -> Arc<std::sync::Mutex<Vec<Value>>> {
    let world = Arc::new(std::sync::Mutex::new(projects(n, "acme/platform")));
    for (id, full_path) in [(42, "acme/platform"), (43, "acme/platform/sub")] {
        Mock::given(method("GET"))
            .and(path(format!(
                "/api/v4/groups/{}",
                full_path.replace('/', "%2F")
            )))
            .respond_with(Conditional(group(id, full_path)))
            .mount(server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("/api/v4/groups/{id}/projects")))
            .and(query_param("include_subgroups", "true"))
            .respond_with(GroupProjects {
                world: world.clone(),
                under: full_path.to_owned(),
            })
            .mount(server)
            .await;
    }
    world
}

/// What a store lists for an organisation: live repository ids, and gone ones.
async fn membership(store: &Arc<dyn Store>, id: &str) -> (Vec<i64>, Vec<i64>) {
    let repos = store.list_repos(&org(id)).await.expect("repos");
    let (live, gone): (Vec<_>, Vec<_>) = repos.iter().partition(|r| r.gone_since.is_none());
    (
        live.iter().map(|r| r.listing.id).collect(),
        gone.iter().map(|r| r.listing.id).collect(),
    )
}

/// A GitLab project belongs to its group and every ancestor group: tracking a group and
/// its subgroup keeps both complete whichever refreshes last (issue 28, item 1).
#[tokio::test]
async fn a_group_and_its_subgroup_each_keep_every_project_in_either_order() {
    for parent_first in [true, false] {
        let server = MockServer::start().await;
        mount_group_and_subgroup(&server, 30).await;
        let (_db, store) = sqlite_store().await;
        let ctx = forges_context(store.clone(), &server);
        let (parent, child) = ("gitlab:acme/platform", "gitlab:acme/platform/sub");
        let order = if parent_first {
            [parent, child]
        } else {
            [child, parent]
        };
        for id in order {
            let run = refresh(&ctx, &[id]).await;
            assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.outcomes);
        }
        // Both again, together: neither takes the other's projects over.
        let both = refresh(&ctx, &[parent, child]).await;
        assert_eq!(both.status, RunStatus::Succeeded, "{:?}", both.outcomes);

        let all: Vec<i64> = (1001..=1030).collect();
        let sub: Vec<i64> = (1001..=1030).filter(|id| (id - 1000) % 3 == 0).collect();
        assert_eq!(
            membership(&store, parent).await,
            (all, vec![]),
            "parent_first={parent_first}"
        );
        assert_eq!(
            membership(&store, child).await,
            (sub.clone(), vec![]),
            "parent_first={parent_first}"
        );
        let snapshot = &store
            .list_snapshots(&org(child), None, None)
            .await
            .expect("snaps")[0];
        assert_eq!(snapshot.totals.repos, sub.len() as u64);
        assert_eq!(
            snapshot.totals.stars,
            sub.iter()
                .map(|id| ((id - 1000) as u64 * 37) % 1000)
                .sum::<u64>()
        );
        assert_eq!(
            store
                .repo_counts_on(&org(child), chrono::Utc::now().date_naive())
                .await
                .expect("counts")
                .len(),
            sub.len()
        );

        // Purging the subgroup leaves the parent whole, its libraries and data included.
        assert!(store.remove_tracked_org(&org(child), true).await.is_ok());
        assert!(store
            .list_repos(&org(child))
            .await
            .expect("repos")
            .is_empty());
        assert_eq!(
            store.list_repos(&org(parent)).await.expect("repos").len(),
            30
        );
    }
}

/// A project moved from the group into its subgroup is still the group's ("left the
/// subgroup" and "moved into it" are not "deleted"); one moved out of the subgroup is gone
/// from the subgroup only.
#[tokio::test]
async fn a_project_moved_between_group_and_subgroup_is_gone_only_where_it_left() {
    let server = MockServer::start().await;
    let world = mount_group_and_subgroup(&server, 12).await;
    let (_db, store) = sqlite_store().await;
    let mut ctx = forges_context(store.clone(), &server);
    let (parent, child) = ("gitlab:acme/platform", "gitlab:acme/platform/sub");
    ctx.clock = orgpulse::ingest::Clock::fixed(at("2026-03-01"));
    let first = refresh(&ctx, &[parent, child]).await;
    assert_eq!(first.status, RunStatus::Succeeded, "{:?}", first.outcomes);

    // Project 1001 moves into the subgroup; project 1003 moves up out of it.
    {
        let mut world = world.lock().expect("world");
        for p in world.iter_mut() {
            let (ns, name) = match p["id"].as_i64() {
                Some(1001) => ("acme/platform/sub", "p1"),
                Some(1003) => ("acme/platform", "p3"),
                _ => continue,
            };
            p["namespace"]["full_path"] = json!(ns);
            p["path_with_namespace"] = json!(format!("{ns}/{name}"));
        }
    }
    ctx.clock = orgpulse::ingest::Clock::fixed(at("2026-03-02"));
    let moved = refresh(&ctx, &[child, parent]).await;
    assert_eq!(moved.status, RunStatus::Succeeded, "{:?}", moved.outcomes);

    let (live, gone) = membership(&store, parent).await;
    assert_eq!(
        (live.len(), gone),
        (12, vec![]),
        "the group still has all twelve"
    );
    assert_eq!(
        membership(&store, child).await,
        (vec![1001, 1006, 1009, 1012], vec![1003]),
        "the subgroup gained 1001 and lost 1003"
    );
    let events = store
        .list_events(&orgpulse::store::EventQuery::latest(100))
        .await
        .expect("events");
    let gone_events: Vec<(String, Option<i64>)> = events
        .iter()
        .filter(|e| e.event.kind == orgpulse::domain::EventKind::RepoGone)
        .map(|e| (e.event.org.to_string(), e.event.repo_id))
        .collect();
    assert_eq!(gone_events, vec![(child.to_owned(), Some(1003))]);
    let moved_in_parent = store.list_repos(&org(parent)).await.expect("repos");
    assert_eq!(
        moved_in_parent
            .iter()
            .find(|r| r.listing.id == 1001)
            .map(|r| r.listing.full_name.as_str()),
        Some("acme/platform/sub/p1"),
        "one record per repository, seen alike from both"
    );
}
