//! Shared test helpers: a temporary store, a wiremock GitHub that paginates and answers
//! conditional requests the way the real one does, and an ingest context pointed at it.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use orgpulse::domain::{OrgId, RefreshRun, RunOptions, Trigger};
use orgpulse::ingest::{self, Clock, ForgeAccess, IngestContext, Silent};
use orgpulse::sources::HttpPolicy;
use orgpulse::store::Store;
use serde_json::{json, Value};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub mod process;
pub mod stores;

/// A fresh store for one test: SQLite, or MongoDB under `ORGPULSE_TEST_STORE=mongo`.
/// Keep the first value alive for the test's length.
pub async fn sqlite_store() -> (stores::TestDb, Arc<dyn Store>) {
    stores::any().await
}

/// GitHub's patience, shortened from minutes to milliseconds.
pub fn fast_policy() -> HttpPolicy {
    HttpPolicy {
        timeout: Duration::from_millis(1500),
        retries: 2,
        retry_base: Duration::from_millis(10),
        max_body_bytes: 4 << 20,
        concurrency: 4,
        rate_limit_reserve: 0,
        rate_limit_max_wait: Duration::from_secs(3),
        secondary_wait: Duration::from_millis(50),
        secondary_retries: 2,
        report_wait: Duration::from_secs(3),
        report_poll: Duration::from_millis(10),
    }
}

pub fn context(store: Arc<dyn Store>, server: &MockServer) -> IngestContext {
    context_at(store, &server.uri())
}

/// An ingest context for a GitHub-compatible server at `url` (a fakeforge, say).
pub fn context_at(store: Arc<dyn Store>, url: &str) -> IngestContext {
    IngestContext {
        store,
        forges: vec![ForgeAccess::github(url)],
        http: fast_policy(),
        options: RunOptions {
            languages: false,
            libraries: false,
        },
        org_parallelism: 2,
        clock: Clock::system(),
        cancel: Default::default(),
        metrics: Default::default(),
        activity: Default::default(),
        security: Default::default(),
    }
}

pub fn org(id: &str) -> OrgId {
    id.parse().expect("valid org id")
}

/// Queues and runs one refresh of `orgs`.
pub async fn refresh(ctx: &IngestContext, orgs: &[&str]) -> RefreshRun {
    let run = ingest::queue(ctx, Trigger::Cli, orgs.iter().map(|o| org(o)).collect())
        .await
        .expect("queued");
    ingest::run(ctx, run, &Silent)
        .await
        .expect("the run completes")
}

pub fn at(day: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&format!("{day}T12:00:00Z"))
        .expect("timestamp")
        .with_timezone(&Utc)
}

/// A repository as GitHub lists it.
pub fn repo(id: i64, name: &str, stars: u64, pushed_at: &str) -> Value {
    json!({
        "id": id,
        "node_id": format!("R_{id}"),
        "name": name,
        "full_name": format!("acme/{name}"),
        "private": false,
        "description": format!("{name} does things"),
        "html_url": format!("https://github.com/acme/{name}"),
        "language": if id % 2 == 0 { "Rust" } else { "Python" },
        "stargazers_count": stars,
        "watchers_count": stars,
        "forks_count": id % 7,
        "open_issues_count": id % 5,
        "license": {"key": "mit", "spdx_id": "MIT", "name": "MIT License"},
        "topics": ["cli"],
        "archived": false,
        "disabled": false,
        "fork": false,
        "size": 100 + id,
        "default_branch": "main",
        "created_at": "2020-01-01T00:00:00Z",
        "updated_at": pushed_at,
        "pushed_at": pushed_at,
        "visibility": "public"
    })
}

pub fn repos(count: i64) -> Vec<Value> {
    repos_from(1, count)
}

/// `count` repositories with ids from `first` (ids are unique across a forge).
pub fn repos_from(first: i64, count: i64) -> Vec<Value> {
    (first..first + count)
        .map(|i| {
            repo(
                i,
                &format!("repo-{i}"),
                (i as u64 * 37) % 1000,
                "2026-01-01T00:00:00Z",
            )
        })
        .collect()
}

/// An organisation the fake GitHub serves.
#[derive(Debug, Clone)]
pub struct FakeOrg {
    pub login: String,
    pub id: i64,
    pub repos: Vec<Value>,
    /// Whether page links carry `rel="last"`.
    pub with_last: bool,
    /// Whether answers carry ETags and honour `If-None-Match`.
    pub etags: bool,
}

impl FakeOrg {
    pub fn new(login: &str, id: i64, repos: Vec<Value>) -> Self {
        FakeOrg {
            login: login.into(),
            id,
            repos,
            with_last: true,
            etags: true,
        }
    }

    pub fn profile(&self) -> Value {
        json!({
            "login": self.login, "id": self.id, "name": format!("{} Inc.", self.login),
            "description": "We make things", "blog": "https://example.org", "location": null,
            "html_url": format!("https://github.com/{}", self.login),
            "avatar_url": "https://avatars.example/1", "public_repos": self.repos.len(),
            "followers": 10, "created_at": "2015-05-05T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z", "is_verified": true
        })
    }

    pub fn pages(&self) -> Vec<Vec<Value>> {
        if self.repos.is_empty() {
            return vec![Vec::new()];
        }
        self.repos.chunks(100).map(<[Value]>::to_vec).collect()
    }

    /// Page `n` (1-based) lives at this path; GitHub moves later pages to the numeric id.
    pub fn page_link(&self, base: &str, n: usize) -> String {
        format!(
            "{base}/organizations/{}/repos?per_page=100&type=public&page={n}",
            self.id
        )
    }

    /// Mounts the profile, every listing page, and 304s for matching `If-None-Match`.
    pub async fn mount(&self, server: &MockServer) {
        let base = server.uri();
        mount_json(
            server,
            &format!("/orgs/{}", self.login),
            None,
            &self.profile(),
            self.etags,
            vec![],
        )
        .await;
        let pages = self.pages();
        let last = pages.len();
        for (index, page) in pages.iter().enumerate() {
            let n = index + 1;
            let mut links = Vec::new();
            if n < last {
                links.push(format!("<{}>; rel=\"next\"", self.page_link(&base, n + 1)));
                if self.with_last {
                    links.push(format!("<{}>; rel=\"last\"", self.page_link(&base, last)));
                }
            }
            let link = (!links.is_empty()).then(|| ("link".to_string(), links.join(", ")));
            let body = Value::Array(page.clone());
            if n == 1 {
                mount_json(
                    server,
                    &format!("/orgs/{}/repos", self.login),
                    None,
                    &body,
                    self.etags,
                    link.into_iter().collect(),
                )
                .await;
            } else {
                let p = format!("/organizations/{}/repos", self.id);
                mount_json(
                    server,
                    &p,
                    Some(n),
                    &body,
                    self.etags,
                    link.into_iter().collect(),
                )
                .await;
            }
        }
    }
}

pub fn etag_of(body: &Value) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    body.to_string().hash(&mut hasher);
    format!("W/\"{:016x}\"", hasher.finish())
}

/// Serves `body` at `route` (and `page`), with an ETag and 304 for a matching validator.
pub async fn mount_json(
    server: &MockServer,
    route: &str,
    page: Option<usize>,
    body: &Value,
    etags: bool,
    headers: Vec<(String, String)>,
) {
    let etag = etag_of(body);
    let mut ok = ResponseTemplate::new(200).set_body_json(body);
    for (k, v) in &headers {
        ok = ok.insert_header(k.as_str(), v.as_str());
    }
    if etags {
        ok = ok.insert_header("etag", etag.as_str());
        let mut not_modified = Mock::given(method("GET"))
            .and(path(route))
            .and(header("if-none-match", etag.as_str()));
        if let Some(n) = page {
            not_modified = not_modified.and(query_param("page", n.to_string()));
        }
        let mut reply = ResponseTemplate::new(304).insert_header("etag", etag.as_str());
        for (k, v) in &headers {
            reply = reply.insert_header(k.as_str(), v.as_str());
        }
        not_modified
            .respond_with(reply)
            .with_priority(1)
            .mount(server)
            .await;
    }
    let mut fresh = Mock::given(method("GET")).and(path(route));
    if let Some(n) = page {
        fresh = fresh.and(query_param("page", n.to_string()));
    }
    fresh.respond_with(ok).with_priority(5).mount(server).await;
}

/// Requests the server received whose path starts with `prefix`.
pub async fn requests_to(server: &MockServer, prefix: &str) -> Vec<wiremock::Request> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.url.path().starts_with(prefix))
        .collect()
}

pub mod flaky;
pub mod records;

/// A store filled through the real pipeline: `days` daily refreshes of a fakeforge world,
/// ending today, with languages and libraries. Returns the organisations' ids.
pub async fn seeded_world(
    orgs: usize,
    repos: usize,
    days: u32,
) -> (stores::TestDb, Arc<dyn Store>, Vec<OrgId>) {
    use chrono::TimeZone;
    let (dir, store) = sqlite_store().await;
    let forge = fakeforge::start(fakeforge::ForgeConfig {
        world: fakeforge::WorldConfig {
            orgs,
            repos,
            seed: 3,
            changed_per_day: 0.05,
        },
        rate_limit: 1_000_000,
        ..fakeforge::ForgeConfig::default()
    })
    .await
    .expect("fakeforge starts");
    let ids: Vec<OrgId> = forge
        .forge
        .world()
        .orgs
        .iter()
        .map(|o| org(&format!("github:{}", o.login)))
        .collect();
    store
        .seed_tracked_orgs(&ids, Utc::now() - chrono::Duration::days(i64::from(days)))
        .await
        .expect("seed");
    let today = Utc::now().date_naive();
    for day in 0..days {
        forge.forge.set_day(day);
        let date = today - chrono::Duration::days(i64::from(days - 1 - day));
        let mut ctx = IngestContext {
            store: store.clone(),
            forges: vec![ForgeAccess::github(&forge.url)],
            http: fast_policy(),
            options: RunOptions {
                languages: true,
                libraries: true,
            },
            org_parallelism: 2,
            clock: Clock::fixed(Utc.from_utc_datetime(&date.and_hms_opt(3, 0, 0).expect("time"))),
            cancel: Default::default(),
            metrics: Default::default(),
            activity: Default::default(),
            security: Default::default(),
        };
        ctx.http.concurrency = 8;
        let run = ingest::queue(&ctx, Trigger::Schedule, ids.clone())
            .await
            .expect("queued");
        let run = ingest::run(&ctx, run, &Silent).await.expect("ran");
        assert_eq!(
            run.status,
            orgpulse::domain::RunStatus::Succeeded,
            "{:?}",
            run.outcomes
        );
    }
    (dir, store, ids)
}

/// Instantiates store tests written once against `Arc<dyn Store>` for every driver:
/// `conformance! { drivers: [sqlite => open_fn, …]; tests: [test, …] }` in the module
/// that defines the tests.
macro_rules! conformance {
    (drivers: [$($driver:ident => $open:path),+ $(,)?]; tests: $tests:tt) => {
        $( conformance!(@driver $driver, $open, $tests); )+
    };
    (@driver $driver:ident, $open:path, [$($test:ident),* $(,)?]) => {
        mod $driver {
            $(
                #[tokio::test]
                async fn $test() {
                    let Some((db, store)) = $open().await else { return };
                    super::$test(store).await;
                    db.cleanup().await;
                }
            )*
        }
    };
}
