//! The world's activity: issues and pull requests with their comments, and releases, on
//! the first repositories of every organisation, generated from the seed and revealed day
//! by day (an item, comment, close or merge exists once its time has passed). Authors
//! include bots, a deleted account (Gitea's `Ghost`), authors answering themselves and
//! late first responses, a bot's dozen comments before the first answer, and newcomers
//! from the third week. Served by the Forgejo flavour as Gitea answers:
//!
//! - `GET /repos/issues/search?owner=&type=pulls|issues&state=all&since=&limit=&page=`:
//!   the organisation's items updated since `since`, most recently updated first, `limit`
//!   capped at `max_response_items`, `X-Total-Count`;
//! - `GET /repos/{owner}/{repo}/issues/comments?since=&limit=&page=`;
//! - `GET /repos/{owner}/{repo}/releases?limit=&page=`.
//!
//! [`items`] is the ground truth tests compute the figures from.

use std::sync::Arc;

use rocket::{get, routes, Route, State};
use serde_json::{json, Value};

use crate::world::{self, mix_public as mix, Org, World};
use crate::{delay, find_repo, Flavour, Forge, Found, IfNoneMatch, Reply};

/// Logins of the world's people and bots.
const PEOPLE: [&str; 6] = ["ann", "bob", "cid", "dee", "eve", "renovate[bot]"];

/// People who first turn up in the world's third week.
const NEWCOMERS: [&str; 3] = ["fay", "gus", "hal"];

/// One issue or pull request as it stands at some moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub id: i64,
    pub repo_id: i64,
    pub repo_name: String,
    pub number: u64,
    pub pull: bool,
    /// `None`: a deleted account.
    pub author: Option<&'static str>,
    /// Unix seconds.
    pub created: i64,
    pub closed: Option<i64>,
    pub merged: Option<i64>,
    /// (when, who) — `None` who: a deleted account.
    pub comments: Vec<(i64, Option<&'static str>)>,
}

impl Item {
    /// The last time anything happened to it.
    pub fn updated(&self) -> i64 {
        self.comments
            .iter()
            .map(|c| c.0)
            .chain(self.closed)
            .chain(self.merged)
            .fold(self.created, i64::max)
    }

    /// The earliest comment by a known account that is neither the author nor a bot.
    pub fn first_response(&self) -> Option<i64> {
        self.comments
            .iter()
            .filter(|(_, who)| who.is_some_and(|w| Some(w) != self.author && !w.ends_with("[bot]")))
            .map(|c| c.0)
            .min()
    }
}

/// A published release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub repo_id: i64,
    pub tag: String,
    pub published: i64,
}

/// The moment a world day is served at: noon.
pub fn now(world: &World, day: u32) -> i64 {
    world.life.epoch + 86_400 * i64::from(day) + 43_200
}

/// The repositories with activity on `day`: (id, name), in index order.
fn active(world: &World, org: &Org, day: u32) -> Vec<(i64, String)> {
    (0..world.life.active_repos.min(world.repo_count(day)))
        .filter(|n| world.exists(org, *n, day))
        .map(|n| {
            let repo = world.repo(org, n, day);
            (
                repo["id"].as_i64().unwrap_or_default(),
                repo["name"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Every item of `org`'s active repositories as it stands on `day` (what has happened by
/// noon), repositories in index order, items in number order.
pub fn items(world: &World, org: &Org, day: u32) -> Vec<Item> {
    active(world, org, day)
        .into_iter()
        .flat_map(|(repo_id, name)| repo_items(world, repo_id, &name, day))
        .collect()
}

/// The items of the active repository `repo_id` (called `name`) on `day`.
pub fn repo_items(world: &World, repo_id: i64, name: &str, day: u32) -> Vec<Item> {
    let now = now(world, day);
    let mut out = Vec::new();
    let seed = mix(world.config.seed ^ (repo_id as u64).wrapping_mul(0x9E37));
    for j in 0..(seed % 9) {
        let s = mix(seed ^ (j + 1).wrapping_mul(0x51ED));
        let created =
            world.life.epoch + 86_400 * ((s % 130) as i64 - 100) + (mix(s ^ 1) % 86_400) as i64;
        if created > now {
            continue;
        }
        let pull = !s.is_multiple_of(3);
        let author = match mix(s ^ 2) % 9 {
            _ if created > world.life.epoch + 15 * 86_400 && mix(s ^ 8).is_multiple_of(3) => {
                Some(NEWCOMERS[(mix(s ^ 9) % 3) as usize])
            }
            8 => None,
            k => Some(PEOPLE[(k % 6) as usize]),
        };
        let mut comments = Vec::new();
        let hour = 3_600;
        if s.is_multiple_of(4) {
            comments.push((created + hour / 2, Some("renovate[bot]")));
        }
        if s.is_multiple_of(5) {
            comments.push((created + hour, author));
        }
        if s % 7 != 3 {
            // A first response, sometimes late (up to twenty days).
            let after = (mix(s ^ 3) % (if s % 6 == 1 { 480 } else { 30 })) as i64 * hour + 60;
            let who = PEOPLE[((mix(s ^ 4) % 5) as usize + usize::from(author == Some("ann"))) % 5];
            let who = if Some(who) == author { "eve" } else { who };
            comments.push((created + after, Some(who)));
            if s.is_multiple_of(11) {
                comments.push((created + after + 2 * hour, None));
            }
        }
        if s.is_multiple_of(13) {
            // A busy bot: a dozen comments before anyone answers (more than a first
            // page of comments holds on GitHub).
            comments.extend((1..=12).map(|k| (created + 60 * k, Some("renovate[bot]"))));
        }
        comments.retain(|c| c.0 <= now);
        comments.sort_by_key(|c| c.0);
        let end = created + (mix(s ^ 5) % 40) as i64 * 86_400 + (mix(s ^ 6) % 86_400) as i64;
        let (closed, merged) = match mix(s ^ 7) % 4 {
            0 => (None, None),
            1 if pull => (Some(end), Some(end)),
            2 if pull => (Some(end), Some(end)),
            _ => (Some(end), None),
        };
        out.push(Item {
            id: repo_id * 100 + j as i64,
            repo_id,
            repo_name: name.to_owned(),
            number: j + 1,
            pull,
            author,
            created,
            closed: closed.filter(|t| *t <= now),
            merged: merged.filter(|t| *t <= now),
            comments,
        });
    }
    out
}

/// The releases of `org`'s active repositories published by `day`.
pub fn releases(world: &World, org: &Org, day: u32) -> Vec<Release> {
    active(world, org, day)
        .into_iter()
        .flat_map(|(repo_id, _)| repo_releases(world, repo_id, day))
        .collect()
}

/// The releases of the active repository `repo_id` published by `day`, oldest first.
pub fn repo_releases(world: &World, repo_id: i64, day: u32) -> Vec<Release> {
    let now = now(world, day);
    let seed = mix(world.config.seed ^ (repo_id as u64) ^ 0xAE1E);
    if seed.is_multiple_of(3) {
        return Vec::new();
    }
    (0..4_i64)
        .map(|k| Release {
            repo_id,
            tag: format!("v1.{k}.0"),
            published: world.life.epoch + 86_400 * (k * 30 - 80 + (seed % 20) as i64),
        })
        .filter(|r| r.published <= now)
        .collect()
}

/// The items of repository `n` of `org` on `day` (none when it has no activity): one
/// repository's share of [`items`], without generating the others'.
pub fn items_of_repo(world: &World, org: &Org, n: usize, day: u32) -> Vec<Item> {
    if !is_active(world, n) || !world.exists(org, n, day) {
        return Vec::new();
    }
    let repo = world.repo(org, n, day);
    let name = repo["name"].as_str().unwrap_or_default();
    repo_items(world, repo["id"].as_i64().unwrap_or_default(), name, day)
}

/// The releases of repository `n` of `org` by `day`: one repository's share of
/// [`releases`].
pub fn releases_of_repo(world: &World, org: &Org, n: usize, day: u32) -> Vec<Release> {
    if !is_active(world, n) || !world.exists(org, n, day) {
        return Vec::new();
    }
    repo_releases(world, crate::world::World::repo_id(org, n), day)
}

/// Whether repository `n` (of any organisation) has activity.
pub fn is_active(world: &World, n: usize) -> bool {
    n < world.life.active_repos
}

/// Gitea's timestamp form: `+00:00` rather than `Z`.
fn gitea_time(seconds: i64) -> String {
    world::timestamp(seconds).replace('Z', "+00:00")
}

fn user(login: Option<&str>) -> Value {
    match login {
        Some(l) => {
            json!({ "id": (mix(l.len() as u64 ^ u64::from(l.as_bytes()[0])) % 1_000) as i64 + 1, "login": l, "username": l })
        }
        None => json!({ "id": -1, "login": "Ghost", "username": "Ghost" }),
    }
}

pub(crate) fn parse_time(text: Option<&str>) -> Option<i64> {
    let t = chrono_like(text?)?;
    Some(t)
}

/// Seconds of an RFC 3339 time (`Z` or `±hh:mm`), without a date crate.
fn chrono_like(s: &str) -> Option<i64> {
    let (date, rest) = s.split_once('T')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let time = &rest[..8.min(rest.len())];
    let mut t = time.split(':').map(|p| p.parse::<i64>().ok());
    let (hh, mm, ss) = (t.next()??, t.next()??, t.next()??);
    let offset = match rest
        .get(8..)
        .unwrap_or("")
        .trim_start_matches(|c: char| c == '.' || c.is_ascii_digit())
    {
        "" | "Z" => 0,
        o => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let (h, m) = o[1..].split_once(':')?;
            sign * (h.parse::<i64>().ok()? * 3_600 + m.parse::<i64>().ok()? * 60)
        }
    };
    // Days from civil (Howard Hinnant).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3_600 + mm * 60 + ss - offset)
}

fn paged(
    forge: &Forge,
    all: Vec<Value>,
    limit: Option<usize>,
    page: Option<usize>,
) -> (Value, Vec<(String, String)>) {
    let limit = limit
        .unwrap_or(30)
        .clamp(1, forge.config.max_response_items);
    let page = page.unwrap_or(1).max(1);
    let total = all.len();
    let body: Vec<Value> = all
        .into_iter()
        .skip((page - 1) * limit)
        .take(limit)
        .collect();
    (
        Value::Array(body),
        vec![("x-total-count".into(), total.to_string())],
    )
}

fn issue_json(forge: &Forge, org: &Org, item: &Item) -> Value {
    let full_name = format!("{}/{}", org.login, item.repo_name);
    let state = if item.closed.is_some() {
        "closed"
    } else {
        "open"
    };
    let kind = if item.pull { "pulls" } else { "issues" };
    let mut issue = json!({
        "id": item.id, "number": item.number, "title": format!("Item {}", item.number),
        "url": format!("https://forgejo.invalid/api/v1/repos/{full_name}/issues/{}", item.number),
        "html_url": format!("https://forgejo.invalid/{full_name}/{kind}/{}", item.number),
        "user": user(item.author), "state": state, "comments": item.comments.len(),
        "created_at": gitea_time(item.created), "updated_at": gitea_time(item.updated()),
        "closed_at": item.closed.map(gitea_time),
        "repository": { "id": item.repo_id, "name": item.repo_name, "owner": org.login, "full_name": full_name },
        "pull_request": Value::Null,
    });
    if item.pull {
        issue["pull_request"] = json!({
            "merged": item.merged.is_some(), "merged_at": item.merged.map(gitea_time),
            "html_url": format!("https://forgejo.invalid/{full_name}/pulls/{}", item.number),
        });
    }
    let _ = forge;
    issue
}

/// The search's query.
#[derive(rocket::FromForm)]
struct Search<'r> {
    owner: Option<&'r str>,
    #[field(name = "type")]
    kind: Option<&'r str>,
    since: Option<&'r str>,
    limit: Option<usize>,
    page: Option<usize>,
}

#[get("/repos/issues/search?<q..>")]
async fn search(forge: &State<Arc<Forge>>, q: Search<'_>) -> Reply {
    let Search {
        owner,
        kind,
        since,
        limit,
        page,
    } = q;
    let fault = delay(forge).await;
    let org = owner.and_then(|o| forge.find_org(o));
    let body = org.map(|org| {
        let since = parse_time(since).unwrap_or(i64::MIN);
        let pulls = kind == Some("pulls");
        let mut found: Vec<Item> = items(forge.world(), &org, forge.day())
            .into_iter()
            .filter(|i| i.pull == pulls && i.updated() >= since)
            .collect();
        found.sort_by_key(|i| (std::cmp::Reverse(i.updated()), i.id));
        found
            .iter()
            .map(|i| issue_json(forge, &org, i))
            .collect::<Vec<_>>()
    });
    let (body, headers) = match body {
        Some(all) => {
            let (b, h) = paged(forge, all, limit, page);
            (Some(b), h)
        }
        None => (Some(json!([])), Vec::new()),
    };
    forge.answer_as(
        Flavour::Forgejo,
        fault,
        "issues search",
        body,
        &IfNoneMatch(None),
        headers,
    )
}

#[get("/repos/<owner>/<repo>/issues/comments?<since>&<limit>&<page>")]
async fn comments(
    forge: &State<Arc<Forge>>,
    owner: &str,
    repo: &str,
    since: Option<&str>,
    limit: Option<usize>,
    page: Option<usize>,
) -> Reply {
    let fault = delay(forge).await;
    let (body, headers) = match find_repo(forge, owner, repo) {
        Found::Repo(org, n) => {
            let since = parse_time(since).unwrap_or(i64::MIN);
            let repo_id = forge.world().repo(&org, n, forge.day())["id"].as_i64();
            let full_name = format!("{}/{repo}", org.login);
            let mut all: Vec<(i64, Value)> = Vec::new();
            for item in items_of_repo(forge.world(), &org, n, forge.day())
                .iter()
                .filter(|i| Some(i.repo_id) == repo_id)
            {
                for (k, (at, who)) in item.comments.iter().enumerate() {
                    if *at < since {
                        continue;
                    }
                    let url = format!(
                        "https://forgejo.invalid/api/v1/repos/{full_name}/issues/{}",
                        item.number
                    );
                    all.push((*at, json!({
                        "id": item.id * 10 + k as i64, "user": user(*who),
                        "issue_url": url,
                        "pull_request_url": if item.pull { json!(format!("https://forgejo.invalid/{full_name}/pulls/{}", item.number)) } else { json!("") },
                        "body": "…", "created_at": gitea_time(*at), "updated_at": gitea_time(*at),
                    })));
                }
            }
            all.sort_by_key(|(at, _)| *at);
            let (b, h) = paged(
                forge,
                all.into_iter().map(|(_, v)| v).collect(),
                limit,
                page,
            );
            (Some(b), h)
        }
        _ => (None, Vec::new()),
    };
    forge.answer_as(
        Flavour::Forgejo,
        fault,
        "comments",
        body,
        &IfNoneMatch(None),
        headers,
    )
}

#[get("/repos/<owner>/<repo>/releases?<limit>&<page>")]
async fn releases_route(
    forge: &State<Arc<Forge>>,
    owner: &str,
    repo: &str,
    limit: Option<usize>,
    page: Option<usize>,
) -> Reply {
    let fault = delay(forge).await;
    let (body, headers) = match find_repo(forge, owner, repo) {
        Found::Repo(org, n) => {
            let repo_id = forge.world().repo(&org, n, forge.day())["id"].as_i64();
            let mut found: Vec<Value> = releases_of_repo(forge.world(), &org, n, forge.day())
                .into_iter()
                .filter(|r| Some(r.repo_id) == repo_id)
                .map(|r| json!({
                    "id": r.repo_id * 10 + r.tag.len() as i64, "tag_name": r.tag, "name": r.tag,
                    "draft": false, "prerelease": false,
                    "created_at": gitea_time(r.published), "published_at": gitea_time(r.published),
                }))
                .collect();
            found.reverse();
            let (b, h) = paged(forge, found, limit, page);
            (Some(b), h)
        }
        _ => (None, Vec::new()),
    };
    forge.answer_as(
        Flavour::Forgejo,
        fault,
        "releases",
        body,
        &IfNoneMatch(None),
        headers,
    )
}

pub(crate) fn routes() -> Vec<Route> {
    routes![search, comments, releases_route]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_back_in_both_forms() {
        for t in [0_i64, 1_735_689_600, 1_765_000_123] {
            assert_eq!(chrono_like(&world::timestamp(t)), Some(t));
            assert_eq!(chrono_like(&gitea_time(t)), Some(t));
        }
        assert_eq!(
            chrono_like("2026-01-01T02:00:00+02:00"),
            chrono_like("2026-01-01T00:00:00Z")
        );
    }
}
