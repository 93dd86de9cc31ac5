//! The world's activity ([`activity`](crate::activity)) as GitLab answers it, under
//! `/gitlab/api/v4`:
//!
//! - `GET /groups/:id/merge_requests` and `GET /groups/:id/issues` with `updated_after`,
//!   `order_by=updated_at`, `sort`, `per_page` (capped at 100), `page`: the group's items,
//!   its subgroup's included (GitLab's default for group listings); `x-next-page` empty on
//!   the last page. Merge requests are `opened`, `closed` or `merged` (a merged one has no
//!   `closed_at`); `user_notes_count` counts comments, not system notes;
//! - `GET /projects/:id/merge_requests/:iid/notes` and `…/issues/:iid/notes`: the item's
//!   comments plus a system note ("closed", "merged") by another account, which is no
//!   response;
//! - `GET /projects/:id/releases`: newest first, `released_at`.
//!
//! Authors are GitLab users: a bot is `renovate-bot` with `bot: true` (see [`login`]), a
//! deleted account is GitLab's Ghost User (`ghost`).

use std::sync::Arc;

use rocket::{get, routes, FromForm, Route, State};
use serde_json::{json, Value};

use crate::activity::{items, items_of_repo, parse_time, releases_of_repo, Item};
use crate::gitlab::{find_group, Group};
use crate::{delay, find_repo_by_id, world, Flavour, Forge, Found, IfNoneMatch, Reply};

/// The login GitLab shows for a world author (`None`: a deleted account, the Ghost User).
pub fn login(author: Option<&str>) -> &str {
    match author {
        Some("renovate[bot]") => "renovate-bot",
        Some(a) => a,
        None => "ghost",
    }
}

fn user(author: Option<&str>) -> Value {
    let username = login(author);
    let id = username.bytes().fold(7_i64, |h, b| h * 31 + i64::from(b)) % 100_000;
    let mut user = json!({
        "id": id, "username": username, "name": username, "state": "active",
        "locked": false, "avatar_url": null, "web_url": format!("https://gitlab.com/{username}"),
    });
    if author == Some("renovate[bot]") {
        user["bot"] = json!(true);
    }
    if author.is_none() {
        user["name"] = json!("Ghost User");
    }
    user
}

/// GitLab's millisecond timestamps.
fn time(seconds: i64) -> String {
    world::timestamp(seconds).replace('Z', ".000Z")
}

#[derive(FromForm)]
struct Listing<'r> {
    updated_after: Option<&'r str>,
    sort: Option<&'r str>,
    per_page: Option<usize>,
    page: Option<usize>,
}

/// One offset page of `all`, with GitLab's paging headers.
fn page(
    all: Vec<Value>,
    per_page: Option<usize>,
    page: Option<usize>,
) -> (Value, Vec<(String, String)>) {
    let per_page = per_page.unwrap_or(20).clamp(1, 100);
    let page = page.unwrap_or(1).max(1);
    let total = all.len();
    let body: Vec<Value> = all
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();
    let next = if page * per_page < total {
        (page + 1).to_string()
    } else {
        String::new()
    };
    (
        Value::Array(body),
        vec![
            ("x-page".into(), page.to_string()),
            ("x-per-page".into(), per_page.to_string()),
            ("x-next-page".into(), next),
            ("x-total".into(), total.to_string()),
        ],
    )
}

/// The group's items of one kind, as GitLab lists them.
fn group_items(forge: &Forge, group: &Group, pulls: bool, q: &Listing<'_>) -> Vec<Value> {
    let day = forge.day();
    let since = parse_time(q.updated_after).unwrap_or(i64::MIN);
    let mut found: Vec<Item> = items(forge.world(), &group.org, day)
        .into_iter()
        .filter(|i| i.pull == pulls && i.updated() >= since)
        .filter(|i| {
            forge
                .world()
                .repo_by_id(i.repo_id, day)
                .is_some_and(|(_, n)| group.holds(n, true))
        })
        .collect();
    found.sort_by_key(|i| (i.updated(), i.id));
    if q.sort != Some("asc") {
        found.reverse();
    }
    found.iter().map(|i| item_json(group, i)).collect()
}

fn item_json(group: &Group, item: &Item) -> Value {
    let state = match (item.merged, item.closed) {
        (Some(_), _) => "merged",
        (None, Some(_)) => "closed",
        (None, None) => "opened",
    };
    let kind = if item.pull {
        "merge_requests"
    } else {
        "issues"
    };
    json!({
        "id": item.id, "iid": item.number, "project_id": item.repo_id,
        "title": format!("Item {}", item.number), "state": state,
        "created_at": time(item.created), "updated_at": time(item.updated()),
        "closed_at": item.closed.filter(|_| item.merged.is_none()).map(time),
        "merged_at": item.merged.map(time),
        "author": user(item.author),
        "user_notes_count": item.comments.len(),
        "web_url": format!("https://gitlab.com/{}/{}/-/{kind}/{}", group.full_path(), item.repo_name, item.number),
    })
}

#[get("/groups/<id>/merge_requests?<q..>")]
async fn merge_requests(forge: &State<Arc<Forge>>, id: &str, q: Listing<'_>) -> Reply {
    listing(forge, id, true, q).await
}

#[get("/groups/<id>/issues?<q..>")]
async fn issues(forge: &State<Arc<Forge>>, id: &str, q: Listing<'_>) -> Reply {
    listing(forge, id, false, q).await
}

async fn listing(forge: &Forge, id: &str, pulls: bool, q: Listing<'_>) -> Reply {
    let fault = delay(forge).await;
    let (body, headers) = match find_group(forge, id) {
        Some(group) => {
            let (b, h) = page(group_items(forge, &group, pulls, &q), q.per_page, q.page);
            (Some(b), h)
        }
        None => (None, Vec::new()),
    };
    let kind = if pulls { "merge requests" } else { "issues" };
    forge.answer_as(
        Flavour::GitLab,
        fault,
        kind,
        body,
        &IfNoneMatch(None),
        headers,
    )
}

#[get("/projects/<id>/<kind>/<iid>/notes?<per_page>&<page>")]
async fn notes(
    forge: &State<Arc<Forge>>,
    id: i64,
    kind: &str,
    iid: u64,
    per_page: Option<usize>,
    page: Option<usize>,
) -> Reply {
    let fault = delay(forge).await;
    let pulls = match kind {
        "merge_requests" => true,
        "issues" => false,
        _ => {
            return forge.answer_as(
                Flavour::GitLab,
                fault,
                "notes",
                None,
                &IfNoneMatch(None),
                Vec::new(),
            )
        }
    };
    let found = match find_repo_by_id(forge, id) {
        Found::Repo(org, n) => items_of_repo(forge.world(), &org, n, forge.day())
            .into_iter()
            .find(|i| i.repo_id == id && i.number == iid && i.pull == pulls),
        _ => None,
    };
    let (body, headers) = match found {
        Some(item) => {
            let mut notes: Vec<(i64, Value)> = item
                .comments
                .iter()
                .enumerate()
                .map(|(k, (at, who))| {
                    (
                        *at,
                        json!({
                            "id": item.id * 10 + k as i64, "body": "…", "author": user(*who),
                            "created_at": time(*at), "updated_at": time(*at), "system": false,
                            "noteable_id": item.id, "noteable_iid": item.number,
                            "noteable_type": if pulls { "MergeRequest" } else { "Issue" },
                        }),
                    )
                })
                .collect();
            // Closing or merging leaves a system note by someone else: no response.
            if let Some(at) = item.merged.or(item.closed) {
                let what = if item.merged.is_some() {
                    "merged"
                } else {
                    "closed"
                };
                notes.push((
                    at,
                    json!({
                        "id": item.id * 10 + 9, "body": what, "author": user(Some("dee")),
                        "created_at": time(at), "updated_at": time(at), "system": true,
                        "noteable_id": item.id, "noteable_iid": item.number,
                    }),
                ));
            }
            notes.sort_by_key(|(at, _)| *at);
            let (b, h) = self::page(notes.into_iter().map(|(_, n)| n).collect(), per_page, page);
            (Some(b), h)
        }
        None => (None, Vec::new()),
    };
    forge.answer_as(
        Flavour::GitLab,
        fault,
        "notes",
        body,
        &IfNoneMatch(None),
        headers,
    )
}

#[get("/projects/<id>/releases?<per_page>&<page>")]
async fn project_releases(
    forge: &State<Arc<Forge>>,
    id: i64,
    per_page: Option<usize>,
    page: Option<usize>,
) -> Reply {
    let fault = delay(forge).await;
    let (body, headers) = match find_repo_by_id(forge, id) {
        Found::Repo(org, n) => {
            let mut found: Vec<Value> = releases_of_repo(forge.world(), &org, n, forge.day())
                .into_iter()
                .filter(|r| r.repo_id == id)
                .map(|r| {
                    json!({
                        "tag_name": r.tag, "name": r.tag, "description": "",
                        "created_at": time(r.published), "released_at": time(r.published),
                        "upcoming_release": false,
                    })
                })
                .collect();
            found.reverse();
            let (b, h) = self::page(found, per_page, page);
            (Some(b), h)
        }
        _ => (None, Vec::new()),
    };
    forge.answer_as(
        Flavour::GitLab,
        fault,
        "releases",
        body,
        &IfNoneMatch(None),
        headers,
    )
}

pub(crate) fn routes() -> Vec<Route> {
    routes![merge_requests, issues, notes, project_releases]
}
