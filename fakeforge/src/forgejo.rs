//! The Forgejo (Gitea) flavour, under `/forgejo/api/v1`, answered the way Codeberg
//! answers (FORGE-APIS.md):
//!
//! - `GET /settings/api` with `max_response_items` (the configured cap, 50 by default).
//! - `GET /orgs/{org}`, and `GET /orgs/{org}/repos?page=N&limit=L`: a bare array in
//!   alphabetical order, `limit` silently capped at `max_response_items` (`per_page` is
//!   ignored, the default is 30), `X-Total-Count`, and `Link` URLs built from a wrong
//!   `AppURL` without `limit` (as behind a proxy, on older versions): clients must build
//!   page URLs themselves.
//! - No ETags and no 304s on API answers, no rate-limit headers; the budget, when spent,
//!   answers a bare 429 as Codeberg's proxy does.
//! - A renamed organisation's old name answers 307 to the new one.
//! - `GET /repos/{owner}/{repo}/languages` in bytes; a renamed repository's old name
//!   answers 301 to its new one.
//! - Entries as Gitea writes them: `stars_count`, open issues and pull requests counted
//!   apart (`open_issues_count`, `open_pr_counter`), `updated_at` (no `pushed_at`),
//!   timestamps with a `+00:00` offset, `licenses` as SPDX ids, `topics` null on some.

use std::sync::Arc;

use rocket::http::Status;
use rocket::{get, routes, Route, State};
use serde_json::{json, Value};

use crate::{delay, find_repo, world, Base, Flavour, Forge, Found, IfNoneMatch, Reply};

/// Where the flavour is mounted.
pub(crate) const ROOT: &str = "/forgejo/api/v1";

/// The page size when a request names none (Gitea's `DEFAULT_PAGING_NUM`).
const DEFAULT_PAGING_NUM: usize = 30;

/// Where links the server builds point: a misconfigured `AppURL`.
const APP_URL: &str = "https://forgejo.invalid";

pub(crate) fn routes() -> Vec<Route> {
    routes![settings, org, repos, languages]
}

/// `2025-01-01T00:00:00Z` as Gitea writes it: `2025-01-01T00:00:00+00:00`.
fn offset(time: &Value) -> Value {
    match time.as_str() {
        Some(t) => json!(t.replace('Z', "+00:00")),
        None => Value::Null,
    }
}

fn profile(forge: &Forge, org: &world::Org) -> Value {
    let github = forge.world().profile(org, forge.day());
    json!({
        "id": org.id, "name": org.login, "username": org.login,
        "full_name": github["name"], "email": "", "avatar_url": format!("https://codeberg.org/avatars/{}", org.id),
        "description": github["description"], "website": github["blog"],
        "location": github["location"], "visibility": "public",
        "repo_admin_change_team_access": false
    })
}

/// The world's repository `repo` (GitHub-shaped) as a Gitea repository entry.
fn repository(repo: &Value, org: &world::Org) -> Value {
    let name = repo["name"].as_str().unwrap_or_default();
    let full_name = format!("{}/{name}", org.login);
    let open = repo["open_issues_count"].as_u64().unwrap_or(0);
    let pulls = open / 3;
    let licence = repo["license"]["spdx_id"].as_str();
    json!({
        "id": repo["id"],
        "owner": {"id": org.id, "login": org.login, "login_name": "", "full_name": "", "email": "",
                  "avatar_url": format!("https://codeberg.org/avatars/{}", org.id), "username": org.login},
        "name": name, "full_name": full_name, "description": repo["description"].as_str().unwrap_or_default(),
        "empty": repo["size"] == 0, "private": false, "fork": repo["fork"], "template": false,
        "parent": null, "mirror": false, "size": repo["size"], "language": repo["language"].as_str().unwrap_or_default(),
        "languages_url": format!("https://codeberg.org/api/v1/repos/{full_name}/languages"),
        "html_url": format!("https://codeberg.org/{full_name}"),
        "url": format!("https://codeberg.org/api/v1/repos/{full_name}"), "link": "",
        "ssh_url": format!("git@codeberg.org:{full_name}.git"),
        "clone_url": format!("https://codeberg.org/{full_name}.git"),
        "original_url": "", "website": "",
        "stars_count": repo["stargazers_count"], "forks_count": repo["forks_count"],
        "watchers_count": 1 + repo["id"].as_u64().unwrap_or(0) % 9,
        "open_issues_count": open - pulls, "open_pr_counter": pulls, "release_counter": 0,
        "default_branch": repo["default_branch"], "archived": repo["archived"],
        "created_at": offset(&repo["created_at"]), "updated_at": offset(&repo["updated_at"]),
        "archived_at": "1970-01-01T00:00:00Z",
        "permissions": {"admin": false, "push": false, "pull": true},
        "has_issues": true, "internal_tracker": {"enable_time_tracker": true, "allow_only_contributors_to_track_time": true, "enable_issue_dependencies": true},
        "has_wiki": true, "has_pull_requests": true, "has_projects": true, "has_releases": true,
        "has_packages": true, "has_actions": false, "ignore_whitespace_conflicts": false,
        "allow_merge_commits": true, "allow_rebase": true, "default_merge_style": "merge",
        "avatar_url": "", "internal": false, "mirror_interval": "", "object_format_name": "sha1",
        "mirror_updated": "0001-01-01T00:00:00Z", "repo_transfer": null,
        "topics": repo.get("topics").cloned().unwrap_or(Value::Null),
        "licenses": licence.map_or(json!([]), |l| json!([l]))
    })
}

#[get("/settings/api")]
async fn settings(forge: &State<Arc<Forge>>) -> Reply {
    let fault = delay(forge).await;
    let body = json!({
        "max_response_items": forge.config.max_response_items,
        "default_paging_num": DEFAULT_PAGING_NUM,
        "default_git_trees_per_page": 1000,
        "default_max_blob_size": 10_485_760
    });
    forge.answer_as(
        Flavour::Forgejo,
        fault,
        "settings",
        Some(body),
        &IfNoneMatch(None),
        Vec::new(),
    )
}

/// What an organisation name leads to: the organisation, or a redirect to its new name.
enum Named {
    Org(world::Org),
    Renamed(world::Org),
    Missing,
}

fn named(forge: &Forge, name: &str) -> Named {
    if let Some(org) = forge.find_org(name) {
        return Named::Org(org);
    }
    match forge.renamed_away(name) {
        Some(org) => Named::Renamed(org),
        None => Named::Missing,
    }
}

fn moved(forge: &Forge, kind: &str, location: String) -> Reply {
    forge.count(&format!("forgejo {kind}"), 307);
    Reply::redirect(Status::TemporaryRedirect, location)
}

#[get("/orgs/<name>")]
async fn org(forge: &State<Arc<Forge>>, name: &str, base: Base) -> Reply {
    let fault = delay(forge).await;
    let body = match named(forge, name) {
        Named::Org(org) => Some(profile(forge, &org)),
        Named::Renamed(org) => {
            return moved(forge, "org", format!("{}{ROOT}/orgs/{}", base.0, org.login))
        }
        Named::Missing => None,
    };
    let none = IfNoneMatch(None);
    forge.answer_as(Flavour::Forgejo, fault, "org", body, &none, Vec::new())
}

#[get("/orgs/<name>/repos?<page>&<limit>")]
async fn repos(
    forge: &State<Arc<Forge>>,
    name: &str,
    page: Option<usize>,
    limit: Option<usize>,
    base: Base,
) -> Reply {
    let fault = delay(forge).await;
    let none = IfNoneMatch(None);
    let org = match named(forge, name) {
        Named::Org(org) => org,
        Named::Renamed(org) => {
            let mut location = format!("{}{ROOT}/orgs/{}/repos", base.0, org.login);
            let query: Vec<String> = [("page", page), ("limit", limit)]
                .iter()
                .filter_map(|(k, v)| v.map(|v| format!("{k}={v}")))
                .collect();
            if !query.is_empty() {
                location = format!("{location}?{}", query.join("&"));
            }
            return moved(forge, "repos", location);
        }
        Named::Missing => {
            return forge.answer_as(Flavour::Forgejo, fault, "repos", None, &none, Vec::new())
        }
    };
    let limit = limit
        .filter(|l| *l > 0)
        .unwrap_or(DEFAULT_PAGING_NUM)
        .min(forge.config.max_response_items.max(1));
    let page = page.unwrap_or(1).max(1);
    let listing = forge.listing(&org);
    let mut sorted: Vec<&Value> = listing.iter().collect();
    sorted.sort_by_key(|r| r["name"].as_str().unwrap_or_default().to_ascii_lowercase());
    let total = sorted.len();
    let last = total.div_ceil(limit).max(1);
    let chunk: Vec<Value> = sorted
        .iter()
        .skip((page - 1) * limit)
        .take(limit)
        .map(|r| repository(r, &org))
        .collect();
    let items = forge.mangle(chunk.iter());
    // Built from the (wrong) AppURL, without `limit`, as older servers do.
    let link = |n: usize, rel: &str| {
        format!(
            "<{APP_URL}/api/v1/orgs/{}/repos?page={n}>; rel=\"{rel}\"",
            org.login
        )
    };
    let mut links = Vec::new();
    if page < last {
        links.push(link(page + 1, "next"));
        links.push(link(last, "last"));
    }
    if page > 1 {
        links.push(link(1, "first"));
        links.push(link(page - 1, "prev"));
    }
    let mut headers = vec![
        ("x-total-count".to_owned(), total.to_string()),
        (
            "access-control-expose-headers".to_owned(),
            "X-Total-Count, Link".to_owned(),
        ),
    ];
    if !links.is_empty() {
        headers.push(("link".into(), links.join(",")));
    }
    forge.answer_as(
        Flavour::Forgejo,
        fault,
        "repos",
        Some(Value::Array(items)),
        &none,
        headers,
    )
}

#[get("/repos/<owner>/<repo>/languages")]
async fn languages(forge: &State<Arc<Forge>>, owner: &str, repo: &str, base: Base) -> Reply {
    let fault = delay(forge).await;
    let none = IfNoneMatch(None);
    let body = match find_repo(forge, owner, repo) {
        Found::Repo(org, n) => Some(forge.world().languages(&org, n, forge.day())),
        Found::Moved(id) => {
            if let Found::Repo(org, n) = crate::find_repo_by_id(forge, id) {
                let now = forge.world().repo(&org, n, forge.day());
                let location = format!(
                    "{}{ROOT}/repos/{}/{}/languages",
                    base.0,
                    org.login,
                    now["name"].as_str().unwrap_or_default()
                );
                forge.count("forgejo languages", 301);
                return Reply::redirect(Status::MovedPermanently, location);
            }
            None
        }
        Found::Missing => None,
    };
    forge.answer_as(
        Flavour::Forgejo,
        fault,
        "languages",
        body,
        &none,
        Vec::new(),
    )
}
