//! The `orgpulse` binary end to end: real processes, a real database file, a wiremock
//! GitHub on 127.0.0.1.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use crate::common::*;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Runs the binary in `dir` with a clean orgpulse environment plus `env`.
async fn orgpulse(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_orgpulse"));
    command.current_dir(dir).args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("ORGPULSE_") || key == "GITHUB_TOKEN" {
            command.env_remove(key);
        }
    }
    command.env("ORGPULSE_HTTP_RETRIES", "1");
    for (k, v) in env {
        command.env(k, v);
    }
    tokio::task::spawn_blocking(move || command.output().expect("the binary runs"))
        .await
        .expect("joined")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn refresh_creates_the_database_and_a_second_run_writes_nothing() {
    let server = MockServer::start().await;
    // 2,050 repositories: 21 pages, later pages under /organizations/{id}/repos.
    FakeOrg::new("bigorg", 31337, repos(2050))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let env = [
        ("ORGPULSE_GITHUB_API_URL", server.uri()),
        ("ORGPULSE_ORGS", "github:bigorg".into()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();

    let first = orgpulse(dir.path(), &env, &["refresh", "--org", "github:bigorg"]).await;
    assert!(
        first.status.success(),
        "stdout: {}\nstderr: {}",
        text(&first.stdout),
        text(&first.stderr)
    );
    assert!(
        dir.path().join("data/orgpulse.db").is_file(),
        "the default database is created"
    );
    let out = text(&first.stdout);
    assert!(
        out.contains("succeeded")
            && out.contains("2050 repos seen")
            && out.contains("2050 changed"),
        "{out}"
    );
    assert_eq!(
        requests_to(&server, "/organizations/31337/repos")
            .await
            .len(),
        20
    );

    server.reset().await;
    FakeOrg::new("bigorg", 31337, repos(2050))
        .mount(&server)
        .await;
    let second = orgpulse(dir.path(), &env, &["refresh", "--org", "github:bigorg"]).await;
    assert!(second.status.success(), "{}", text(&second.stderr));
    let out = text(&second.stdout);
    assert!(
        out.contains("22 requests (22 not modified)") && out.contains("0 changed, 0 gone"),
        "{out}"
    );
    let received = server.received_requests().await.expect("recorded");
    assert_eq!(received.len(), 22);
    assert!(received
        .iter()
        .all(|r| r.headers.contains_key("if-none-match")));

    let store = orgpulse::store::sqlite::SqliteStore::open(dir.path().join("data/orgpulse.db"))
        .await
        .expect("opens");
    use orgpulse::store::prelude::*;
    assert_eq!(
        store
            .list_repos(&org("github:bigorg"))
            .await
            .expect("repos")
            .len(),
        2050
    );
    let runs = store.list_runs(10).await.expect("runs");
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].counts.repos_changed, 0);
}

#[tokio::test]
async fn exit_codes_say_ok_failed_or_partial() {
    let server = MockServer::start().await;
    FakeOrg::new("good", 1, repos(2)).mount(&server).await;
    Mock::given(method("GET"))
        .and(path("/orgs/missing"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let uri = server.uri();
    let env = [
        ("ORGPULSE_GITHUB_API_URL", uri.as_str()),
        ("ORGPULSE_ORGS", "github:good"),
    ];

    let ok = orgpulse(dir.path(), &env, &["refresh"]).await;
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    let partial = orgpulse(
        dir.path(),
        &env,
        &["refresh", "--org", "github:good", "--org", "github:missing"],
    )
    .await;
    assert_eq!(partial.status.code(), Some(2), "{}", text(&partial.stderr));
    let err = text(&partial.stderr);
    assert!(
        err.contains("github:missing") && err.contains("not_found"),
        "one line per org: {err}"
    );
    assert!(
        err.contains("is not tracked"),
        "untracked orgs are pointed out: {err}"
    );
    let failed = orgpulse(dir.path(), &env, &["refresh", "--org", "github:missing"]).await;
    assert_eq!(failed.status.code(), Some(1));
}

#[tokio::test]
async fn no_network_fails_with_one_line_per_org_and_a_later_run_works() {
    // A port nothing listens on: bind, note it, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let dead = format!("http://127.0.0.1:{port}");
    let dir = tempfile::tempdir().expect("tempdir");
    let env = [
        ("ORGPULSE_GITHUB_API_URL", dead.as_str()),
        ("ORGPULSE_ORGS", "github:a,github:b"),
    ];
    let out = orgpulse(dir.path(), &env, &["refresh"]).await;
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("github:")).collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines
            .iter()
            .all(|l| l.contains("failed") && l.contains("could not reach upstream")),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    let server = MockServer::start().await;
    FakeOrg::new("a", 1, repos(1)).mount(&server).await;
    FakeOrg::new("b", 2, repos_from(100, 1))
        .mount(&server)
        .await;
    let uri = server.uri();
    let out = orgpulse(
        dir.path(),
        &[("ORGPULSE_GITHUB_API_URL", uri.as_str())],
        &["refresh"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[tokio::test]
async fn orgs_are_seeded_once_then_managed_by_the_cli() {
    let dir = tempfile::tempdir().expect("tempdir");
    let seed = [("ORGPULSE_ORGS", "github:one,github:two")];
    let list = orgpulse(dir.path(), &seed, &["orgs", "list"]).await;
    assert!(list.status.success());
    assert!(text(&list.stdout).contains("github:one") && text(&list.stdout).contains("github:two"));

    let add = orgpulse(dir.path(), &seed, &["orgs", "add", "github:Three"]).await;
    assert!(
        text(&add.stdout).contains("now tracking github:three"),
        "{}",
        text(&add.stdout)
    );
    let remove = orgpulse(dir.path(), &seed, &["orgs", "remove", "github:one"]).await;
    assert!(remove.status.success());
    let unknown = orgpulse(dir.path(), &seed, &["orgs", "remove", "github:nobody"]).await;
    assert_eq!(unknown.status.code(), Some(1));

    // A later start with a different seed does not re-add anything.
    let list = orgpulse(
        dir.path(),
        &[("ORGPULSE_ORGS", "github:four")],
        &["orgs", "list"],
    )
    .await;
    let out = text(&list.stdout);
    assert!(
        !out.contains("github:one") && !out.contains("github:four"),
        "{out}"
    );
    assert!(
        out.contains("github:two") && out.contains("github:three"),
        "{out}"
    );
}

#[tokio::test]
async fn bad_input_is_refused_with_a_clear_message_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = orgpulse(dir.path(), &[], &["orgs", "add", "github:-nope"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("starts with a hyphen"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        !dir.path().join("data").exists(),
        "nothing was opened or written"
    );

    let out = orgpulse(
        dir.path(),
        &[("ORGPULSE_ORGS", "github:ok,gnome:x")],
        &["orgs", "list"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("unknown forge"),
        "{}",
        text(&out.stderr)
    );
    // Added forges, and their kind's rules, come from ORGPULSE_FORGES.
    let out = orgpulse(
        dir.path(),
        &[("ORGPULSE_FORGES", "gnome=gitlab@http://127.0.0.1:9/api/v4")],
        &["orgs", "add", "gnome:a_b/c--d."],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("cannot end in '.'"),
        "{}",
        text(&out.stderr)
    );
    let out = orgpulse(
        dir.path(),
        &[("ORGPULSE_FORGES", "gnome=svn@http://127.0.0.1:9")],
        &["orgs", "list"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("unknown forge kind `svn`"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        !dir.path().join("data").exists(),
        "still nothing was opened or written"
    );

    let out = orgpulse(
        dir.path(),
        &[("ORGPULSE_CONCURRENCY", "500")],
        &["orgs", "list"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("ORGPULSE_CONCURRENCY"),
        "{}",
        text(&out.stderr)
    );

    let out = orgpulse(
        dir.path(),
        &[("ORGPULSE_DATABASE_URL", "postgres://x")],
        &["orgs", "list"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("sqlite://"),
        "{}",
        text(&out.stderr)
    );
    assert!(!dir.path().join("data").exists());
}

#[tokio::test]
async fn the_token_is_sent_but_never_printed() {
    let server = MockServer::start().await;
    FakeOrg::new("acme", 1, repos(1)).mount(&server).await;
    // With a token, details come from GraphQL, which gets the token too.
    Mock::given(method("POST"))
        .and(path("/graphql"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {
            "rateLimit": {"cost": 1, "remaining": 4999, "resetAt": "2026-01-01T00:00:00Z", "used": 1},
            "nodes": [{"__typename": "Repository", "issues": {"totalCount": 1},
                       "pullRequests": {"totalCount": 0}, "licenseInfo": {"spdxId": "MIT"}}]
        }})))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let uri = server.uri();
    let env = [
        ("ORGPULSE_GITHUB_API_URL", uri.as_str()),
        ("GITHUB_TOKEN", "ghp_topsecret123"),
        ("ORGPULSE_FETCH_LANGUAGES", "false"),
        ("ORGPULSE_FETCH_LIBRARIES", "false"),
        ("ORGPULSE_FETCH_ACTIVITY", "false"),
        ("ORGPULSE_LOG", "debug"),
    ];
    let out = orgpulse(dir.path(), &env, &["refresh", "--org", "github:acme"]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!all.contains("topsecret"), "{all}");
    let sent = server.received_requests().await.expect("recorded");
    assert_eq!(sent[0].headers["authorization"], "Bearer ghp_topsecret123");
    let graphql = sent
        .iter()
        .find(|r| r.url.path() == "/graphql")
        .expect("details over GraphQL");
    assert_eq!(graphql.headers["authorization"], "Bearer ghp_topsecret123");
}

#[tokio::test]
async fn refresh_reads_gitlab_and_forgejo_forges_and_the_portal_shows_them() {
    use crate::ingest_forges::{gitea_repos, mount_gitea, mount_gitlab, projects, star_sum};
    let server = MockServer::start().await;
    mount_gitlab(&server, projects(250, "acme/platform"), false).await;
    mount_gitea(&server, "forgejo", gitea_repos(120, "forgejo")).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let forges = format!(
        "gitlab=gitlab@{0}/api/v4,codeberg=forgejo@{0}/api/v1",
        server.uri()
    );
    let env = [
        ("ORGPULSE_FORGES", forges.as_str()),
        ("ORGPULSE_ORGS", "gitlab:acme/platform,codeberg:forgejo"),
    ];

    let out = orgpulse(
        dir.path(),
        &env,
        &[
            "refresh",
            "--org",
            "gitlab:acme/platform",
            "--org",
            "codeberg:Forgejo",
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );

    let store: Arc<dyn orgpulse::store::Store> = Arc::new(
        orgpulse::store::sqlite::SqliteStore::open(dir.path().join("data/orgpulse.db"))
            .await
            .expect("opens"),
    );
    let client = rocket::local::asynchronous::Client::tracked(
        orgpulse::web::build(
            orgpulse::web::Services::reading(store),
            orgpulse::web::rocket_config(),
        )
        .expect("builds"),
    )
    .await
    .expect("rocket");
    for (url, rows, stars) in [
        (
            "/api/v1/orgs/gitlab/acme%2Fplatform/repos.csv",
            250,
            star_sum(250),
        ),
        (
            "/api/v1/orgs/codeberg/forgejo/repos.csv",
            120,
            star_sum(120),
        ),
    ] {
        let response = client.get(url).dispatch().await;
        assert_eq!(response.status(), rocket::http::Status::Ok, "{url}");
        let csv = response.into_string().await.expect("body");
        let mut reader = ::csv::Reader::from_reader(csv.as_bytes());
        let headers = reader.headers().expect("header row").clone();
        let star_column = headers
            .iter()
            .position(|h| h == "stars")
            .expect("a stars column");
        let records: Vec<::csv::StringRecord> =
            reader.records().map(|r| r.expect("a row")).collect();
        assert_eq!(records.len(), rows, "{url}");
        let sum: u64 = records
            .iter()
            .map(|r| r[star_column].parse::<u64>().expect("a number"))
            .sum();
        assert_eq!(sum, stars, "{url}");
    }
    let page = client
        .get("/orgs/gitlab/acme%2Fplatform")
        .dispatch()
        .await
        .into_string()
        .await
        .expect("page");
    assert!(page.contains("forge-gitlab"), "the forge is marked");
    assert!(
        page.contains(">Open issues<") && !page.contains("Open issues and PRs"),
        "GitLab counts issues alone"
    );
    let forgejo = client
        .get("/orgs/codeberg/forgejo")
        .dispatch()
        .await
        .into_string()
        .await
        .expect("page");
    assert!(
        forgejo.contains("Open issues and PRs"),
        "Gitea and Forgejo count pull requests with the issues, as GitHub does"
    );
    assert!(
        page.contains("&gt;sub/p") || page.contains(">sub/p"),
        "subgroup projects are listed by their path"
    );
    let overview = client
        .get("/")
        .dispatch()
        .await
        .into_string()
        .await
        .expect("page");
    assert!(
        overview.contains("/orgs/gitlab/acme%2Fplatform")
            && overview.contains("/orgs/codeberg/forgejo"),
        "the overview mixes forges and links subgroups encoded"
    );
}
