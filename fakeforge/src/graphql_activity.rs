//! The world's activity ([`activity`](crate::activity)) as GitHub's GraphQL shows it:
//!
//! - `search(type: ISSUE, query: "org:X is:pr|is:issue updated:A..B sort:updated-asc",
//!   first:, after:)`: `issueCount` is the full count, but, as on GitHub, only the first
//!   1,000 results can be paged to;
//! - issues and pull requests as nodes (`PR_kwDO…`, `I_kwDO…` ids, also through
//!   `nodes(ids:)`), `fullDatabaseId` as a string (GitHub's `BigInt`), a pull request's
//!   comments split between `comments` and `reviews`;
//! - authors: a bot is a `Bot` whose login has no `[bot]`; a deleted item author is
//!   `null`, a deleted commenter GitHub's `ghost`;
//! - a repository's `releases`, newest first.

use serde_json::{json, Value};

use crate::activity::{is_active, items, parse_time, repo_items, repo_releases, Item};
use crate::{world, Forge};

/// Results GitHub's search lets a query page to.
const CAP: usize = 1_000;

/// A node id for item `id`.
pub(crate) fn item_node(pull: bool, id: i64) -> String {
    let prefix = if pull { "PR_kwDO" } else { "I_kwDO" };
    format!("{prefix}{id:x}")
}

/// The item a node id names (`pull`, id).
fn item_of(node: &str) -> Option<(bool, i64)> {
    let (pull, hex) = match node.strip_prefix("PR_kwDO") {
        Some(hex) => (true, hex),
        None => (false, node.strip_prefix("I_kwDO")?),
    };
    Some((pull, i64::from_str_radix(hex, 16).ok()?))
}

fn actor(login: Option<&str>) -> Value {
    match login {
        Some(l) if l.ends_with("[bot]") => {
            json!({"__typename": "Bot", "login": l.trim_end_matches("[bot]")})
        }
        Some(l) => json!({"__typename": "User", "login": l}),
        None => Value::Null,
    }
}

fn time(seconds: i64) -> String {
    world::timestamp(seconds)
}

/// An item as a GraphQL node.
fn item_json(item: &Item) -> Value {
    let comment = |(at, who): &(i64, Option<&str>), typename: &str| {
        let author = match who {
            Some(_) => actor(*who),
            None => json!({"__typename": "User", "login": "ghost"}),
        };
        json!({"__typename": typename, "createdAt": time(*at), "author": author})
    };
    let (comments, reviews): (Vec<_>, Vec<_>) = if item.pull {
        let (c, r): (Vec<_>, Vec<_>) = item
            .comments
            .iter()
            .enumerate()
            .partition(|(k, _)| k % 2 == 0);
        (
            c.into_iter().map(|(_, c)| c).collect(),
            r.into_iter().map(|(_, c)| c).collect(),
        )
    } else {
        (item.comments.iter().collect(), Vec::new())
    };
    let state = match (item.merged, item.closed) {
        (Some(_), _) => "MERGED",
        (None, Some(_)) => "CLOSED",
        (None, None) => "OPEN",
    };
    let mut node = json!({
        "__typename": if item.pull { "PullRequest" } else { "Issue" },
        "id": item_node(item.pull, item.id), "fullDatabaseId": item.id.to_string(),
        "number": item.number, "createdAt": time(item.created), "updatedAt": time(item.updated()),
        "closedAt": item.closed.map(time), "state": state,
        "author": actor(item.author),
        "repository": {"__typename": "Repository", "id": world::node_id(item.repo_id),
                       "databaseId": item.repo_id},
        "comments": {
            "__typename": "IssueCommentConnection", "totalCount": comments.len(),
            "nodes": comments.iter().map(|c| comment(c, "IssueComment")).collect::<Vec<_>>(),
        },
    });
    if item.pull {
        node["mergedAt"] = json!(item.merged.map(time));
        node["reviews"] = json!({
            "__typename": "PullRequestReviewConnection", "totalCount": reviews.len(),
            "nodes": reviews.iter().map(|c| comment(c, "PullRequestReview")).collect::<Vec<_>>(),
        });
    }
    node
}

/// The item node `node` names, as it stands today.
pub(crate) fn item_by_node(forge: &Forge, node: &str) -> Option<Value> {
    let (pull, id) = item_of(node)?;
    let day = forge.day();
    let world = forge.world();
    let (org, n) = world.repo_by_id(id / 100, day)?;
    if !is_active(world, n) {
        return None;
    }
    let name = world.repo(org, n, day)["name"].as_str()?.to_owned();
    repo_items(world, id / 100, &name, day)
        .into_iter()
        .find(|i| i.id == id && i.pull == pull)
        .map(|i| item_json(&i))
}

/// Repository `n`'s releases connection, newest first.
pub(crate) fn releases_of(forge: &Forge, n: usize, repo_id: i64) -> Value {
    let found = if is_active(forge.world(), n) {
        repo_releases(forge.world(), repo_id, forge.day())
    } else {
        Vec::new()
    };
    let mut found: Vec<Value> = found
        .into_iter()
        .map(|r| {
            json!({"__typename": "Release", "tagName": r.tag, "publishedAt": time(r.published),
                   "isDraft": false})
        })
        .collect();
    found.reverse();
    json!({"__typename": "ReleaseConnection", "totalCount": found.len(), "nodes": found})
}

/// `search(type: ISSUE, query:, first:, after:)` over the world's items.
pub(crate) fn search(forge: &Forge, query: &str, first: usize, after: Option<&str>) -> Value {
    let mut org = None;
    let mut pulls = None;
    let (mut from, mut to) = (i64::MIN, i64::MAX);
    for term in query.split_whitespace() {
        match term.split_once(':') {
            Some(("org", login)) => org = forge.find_org(login),
            Some(("is", "pr")) => pulls = Some(true),
            Some(("is", "issue")) => pulls = Some(false),
            Some(("updated", range)) => {
                if let Some(since) = range.strip_prefix(">=") {
                    from = parse_time(Some(since)).unwrap_or(i64::MIN);
                } else if let Some((a, b)) = range.split_once("..") {
                    from = parse_time(Some(a)).unwrap_or(i64::MIN);
                    to = parse_time(Some(b)).unwrap_or(i64::MAX);
                }
            }
            _ => {}
        }
    }
    let mut found: Vec<Item> = match org {
        Some(org) => items(forge.world(), &org, forge.day())
            .into_iter()
            .filter(|i| pulls.is_none_or(|p| i.pull == p))
            .filter(|i| (from..=to).contains(&i.updated()))
            .collect(),
        None => Vec::new(),
    };
    found.sort_by_key(|i| (i.updated(), i.id));
    let offset: usize = after
        .and_then(|a| a.strip_prefix("cursor:"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let reachable = found.len().min(CAP);
    let end = (offset + first.clamp(1, 100)).min(reachable);
    let page: Vec<Value> = found
        .get(offset.min(end)..end)
        .unwrap_or_default()
        .iter()
        .map(item_json)
        .collect();
    json!({
        "__typename": "SearchResultItemConnection",
        "issueCount": found.len(),
        "pageInfo": {"__typename": "PageInfo", "hasNextPage": end < reachable,
                     "hasPreviousPage": offset > 0,
                     "endCursor": (end > offset).then(|| format!("cursor:{end}"))},
        "nodes": page,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_nodes_name_their_kind_and_id() {
        assert_eq!(
            item_of(&item_node(true, 1_000_000_000_305)),
            Some((true, 1_000_000_000_305))
        );
        assert_eq!(item_of(&item_node(false, 42)), Some((false, 42)));
        assert_eq!(item_of("R_kgDO2a"), None);
    }
}
