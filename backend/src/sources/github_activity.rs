//! GitHub activity over GraphQL (FORGE-APIS.md, "GitHub GraphQL"): an organisation's
//! issues and pull requests from `search(type: ISSUE)` sorted by update, with the first
//! page of comments and reviews in the same query, so most first responses cost nothing
//! more; items whose first page holds no response but has more are read again by node id
//! ([`first_responses`]). Releases of the repositories that moved come 100 repositories a
//! query.
//!
//! Search pages only to its first 1,000 results: a span whose `issueCount` says more is cut
//! into equal slices of at most [`SLICE`] expected results (cut again where one still holds
//! more), so nothing is out of reach. Slices share their edges (GitHub's ranges are
//! inclusive), and an item seen twice is kept once.
//!
//! Authors: a `Bot` is its login with `[bot]` (as REST writes it); a deleted account
//! (`null`, or GitHub's `ghost`) is an unknown author.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::Deserialize;

use super::github_graphql::{Asked, GitHubGraphql};
use super::http::{SourceError, Tally};
use super::{ActivityAsk, ActivityBatch, Unanswered};
use crate::domain::activity::{
    ActivityItem, BotRules, ItemKey, ItemKind, ItemState, ReleaseRecord,
};

/// Search results GitHub lets a query page to.
const CAP: u64 = 1_000;

/// Results a slice is cut to expect, under [`CAP`] so that a slice whose share of the
/// span is a little above average still fits.
const SLICE: u64 = 800;

/// Ids a `nodes(ids:)` query takes.
const NODES: usize = 100;

/// Most pages read in one sync (a guard against an endless search).
const MAX_PAGES: usize = 5_000;

/// The search query. Validated against GitHub's schema in tests.
pub(crate) const SEARCH_QUERY: &str = r#"query Activity($q: String!, $first: Int!, $after: String) {
  rateLimit { cost remaining resetAt used }
  search(type: ISSUE, query: $q, first: $first, after: $after) {
    issueCount
    pageInfo { hasNextPage endCursor }
    nodes {
      __typename
      ... on Issue {
        id fullDatabaseId number createdAt updatedAt closedAt issueState: state
        author { __typename login }
        repository { id }
        comments(first: 10) { totalCount nodes { createdAt author { __typename login } } }
      }
      ... on PullRequest {
        id fullDatabaseId number createdAt updatedAt closedAt mergedAt pullState: state
        author { __typename login }
        repository { id }
        comments(first: 10) { totalCount nodes { createdAt author { __typename login } } }
        reviews(first: 10) { totalCount nodes { createdAt author { __typename login } } }
      }
    }
  }
}"#;

/// Every comment and review (up to 100 each) of items by node id.
pub(crate) const RESPONSES_QUERY: &str = r#"query FirstResponses($ids: [ID!]!) {
  rateLimit { cost remaining resetAt used }
  nodes(ids: $ids) {
    __typename
    ... on Issue {
      id
      comments(first: 100) { nodes { createdAt author { __typename login } } }
    }
    ... on PullRequest {
      id
      comments(first: 100) { nodes { createdAt author { __typename login } } }
      reviews(first: 100) { nodes { createdAt author { __typename login } } }
    }
  }
}"#;

/// The latest releases of repositories by node id.
pub(crate) const RELEASES_QUERY: &str = r#"query Releases($ids: [ID!]!) {
  rateLimit { cost remaining resetAt used }
  nodes(ids: $ids) {
    __typename
    ... on Repository {
      id
      releases(first: 20, orderBy: {field: CREATED_AT, direction: DESC}) {
        nodes { tagName publishedAt isDraft }
      }
    }
  }
}"#;

/// Everything `ask` covers. Each item comes with its first 10 comments and reviews; more
/// are read only when none of these is a response.
pub(crate) async fn read(
    graphql: &GitHubGraphql,
    ask: &ActivityAsk<'_>,
    tally: &Tally,
) -> Result<ActivityBatch, SourceError> {
    let mut wire: BTreeMap<ItemKey, WireItem> = BTreeMap::new();
    let mut batch = ActivityBatch::default();
    for kind in [ItemKind::PullRequest, ItemKind::Issue] {
        search(graphql, ask, kind, &mut wire, &mut batch.skipped, tally).await?;
    }
    let repo_ids: HashMap<&str, i64> = ask
        .repos
        .iter()
        .filter_map(|r| Some((r.node_id.as_deref()?, r.id)))
        .collect();
    let mut active: BTreeSet<i64> = BTreeSet::new();
    for (key, item) in wire {
        let node = item.id.clone();
        let repo = item.repository.as_ref().and_then(|r| r.id.as_deref());
        let Some(&repo_id) = repo.and_then(|r| repo_ids.get(r)) else {
            // A repository the listing does not hold (made private, or created since).
            tracing::debug!(item = %node, "activity of a repository not listed");
            continue;
        };
        let Some((item, settled)) = item.into_item(key, repo_id, ask) else {
            batch.skipped += 1;
            continue;
        };
        active.insert(item.repo_id);
        if !settled {
            batch.unanswered.push(Unanswered {
                key,
                repo_id: item.repo_id,
                number: item.number,
                author: item.author.clone(),
                node: Some(node),
            });
        }
        batch.items.push(item);
    }
    // Releases of repositories with activity, and of those whose listing moved since.
    let moved: Vec<&str> = ask
        .repos
        .iter()
        .filter(|r| active.contains(&r.id) || r.activity_at().is_some_and(|at| at >= ask.since))
        .filter_map(|r| r.node_id.as_deref())
        .collect();
    batch.releases = releases(graphql, ask, &moved, &repo_ids, tally).await?;
    Ok(batch)
}

/// The search string for `kind` updated in `[from, to]`.
fn query(login: &str, kind: ItemKind, from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    let is = match kind {
        ItemKind::PullRequest => "pr",
        ItemKind::Issue => "issue",
    };
    let at = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, false);
    format!(
        "org:{login} is:{is} updated:{}..{} sort:updated-asc",
        at(from),
        at(to)
    )
}

/// Every item of `kind` updated in the sync's span, slice by slice.
async fn search(
    graphql: &GitHubGraphql,
    ask: &ActivityAsk<'_>,
    kind: ItemKind,
    found: &mut BTreeMap<ItemKey, WireItem>,
    skipped: &mut u64,
    tally: &Tally,
) -> Result<(), SourceError> {
    let mut slices = vec![(ask.since, ask.until)];
    let mut page_size = 100_usize;
    let mut pages = 0;
    while let Some((from, to)) = slices.pop() {
        let q = query(&ask.profile.login, kind, from, to);
        let mut after: Option<String> = None;
        loop {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(SourceError::Malformed {
                    url: "graphql search".into(),
                    detail: format!("more than {MAX_PAGES} pages"),
                });
            }
            let variables = serde_json::json!({ "q": q, "first": page_size, "after": after });
            let answered = match graphql
                .ask::<SearchData>(SEARCH_QUERY, variables, tally)
                .await
            {
                Ok(answered) => answered,
                // Too slow: smaller pages, down to 25 items.
                Err(Asked::TooSlow(_)) if page_size > 25 => {
                    page_size /= 2;
                    continue;
                }
                Err(Asked::TooSlow(e) | Asked::Fatal(e)) => return Err(e),
            };
            let result = answered.data.search;
            if after.is_none() && result.issue_count > CAP && to - from > Duration::seconds(1) {
                let parts = result.issue_count.div_ceil(SLICE).max(2) as i32;
                let step = (to - from) / parts;
                // Pushed newest first, so the oldest is read first.
                for k in (0..parts).rev() {
                    let start = from + step * k;
                    let end = if k + 1 == parts {
                        to
                    } else {
                        from + step * (k + 1)
                    };
                    slices.push((start, end));
                }
                break;
            }
            for node in result.nodes.into_iter().flatten() {
                match serde_json::from_value::<WireItem>(node) {
                    Ok(item) => match item.key(kind) {
                        Some(key) => {
                            found.insert(key, item);
                        }
                        None => *skipped += 1,
                    },
                    Err(_) => *skipped += 1,
                }
            }
            match (result.page_info.has_next_page, result.page_info.end_cursor) {
                (true, Some(cursor)) => after = Some(cursor),
                _ => break,
            }
        }
    }
    Ok(())
}

/// The first responses of `items` from all their comments and reviews, 100 items a query.
pub(crate) async fn first_responses(
    graphql: &GitHubGraphql,
    items: &[Unanswered],
    bots: &BotRules,
    tally: &Tally,
) -> Result<HashMap<ItemKey, DateTime<Utc>>, SourceError> {
    let mut found = HashMap::new();
    let asked: Vec<&Unanswered> = items.iter().filter(|u| u.node.is_some()).collect();
    for chunk in asked.chunks(NODES) {
        let ids: Vec<&str> = chunk.iter().filter_map(|u| u.node.as_deref()).collect();
        let answered = graphql
            .ask::<NodesData<ResponsesNode>>(
                RESPONSES_QUERY,
                serde_json::json!({ "ids": ids }),
                tally,
            )
            .await
            .map_err(Asked::into_error)?;
        for (item, node) in chunk.iter().zip(answered.data.nodes) {
            let Some(node) = node else { continue };
            let responses = node.comments.into_iter().chain(node.reviews);
            if let Some(at) = first_response(responses, item.author.as_deref(), bots) {
                found.insert(item.key, at);
            }
        }
    }
    Ok(found)
}

/// The releases of repositories `nodes`, drafts left out.
async fn releases(
    graphql: &GitHubGraphql,
    ask: &ActivityAsk<'_>,
    nodes: &[&str],
    repo_ids: &HashMap<&str, i64>,
    tally: &Tally,
) -> Result<Vec<ReleaseRecord>, SourceError> {
    let mut out = Vec::new();
    for chunk in nodes.chunks(NODES) {
        let answered = graphql
            .ask::<NodesData<ReleasesNode>>(
                RELEASES_QUERY,
                serde_json::json!({ "ids": chunk }),
                tally,
            )
            .await
            .map_err(Asked::into_error)?;
        for node in answered.data.nodes.into_iter().flatten() {
            let repo_id = node.id.as_deref().and_then(|id| repo_ids.get(id));
            let (Some(&repo_id), Some(releases)) = (repo_id, node.releases) else {
                continue;
            };
            out.extend(releases.nodes.into_iter().flatten().filter_map(|r| {
                (!r.is_draft).then_some(())?;
                Some(ReleaseRecord {
                    forge: ask.forge.clone(),
                    repo_id,
                    tag: r.tag_name.filter(|t| !t.is_empty())?,
                    published_at: r.published_at?,
                })
            }));
        }
    }
    Ok(out)
}

/// The earliest of `responses` by someone neither `author` nor a bot.
fn first_response(
    responses: impl Iterator<Item = Connection<WireComment>>,
    author: Option<&str>,
    bots: &BotRules,
) -> Option<DateTime<Utc>> {
    responses
        .flat_map(|c| c.nodes.into_iter().flatten())
        .filter_map(|c| {
            let (login, bot) = c.author.as_ref().and_then(WireActor::login)?;
            bots.responds(author, &login, bot).then_some(c.created_at?)
        })
        .min()
}

impl Asked {
    fn into_error(self) -> SourceError {
        match self {
            Asked::TooSlow(e) | Asked::Fatal(e) => e,
        }
    }
}

#[derive(Deserialize)]
struct SearchData {
    search: SearchResult,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchResult {
    #[serde(default)]
    issue_count: u64,
    page_info: PageInfo,
    #[serde(default)]
    nodes: Vec<Option<serde_json::Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageInfo {
    #[serde(default)]
    has_next_page: bool,
    #[serde(default)]
    end_cursor: Option<String>,
}

#[derive(Deserialize)]
struct NodesData<T> {
    #[serde(default = "Vec::new")]
    nodes: Vec<Option<T>>,
}

#[derive(Deserialize)]
struct Connection<T> {
    #[serde(default, rename = "totalCount")]
    total_count: Option<u64>,
    #[serde(default = "Vec::new")]
    nodes: Vec<Option<T>>,
}

#[derive(Deserialize)]
struct WireActor {
    #[serde(default, rename = "__typename")]
    typename: Option<String>,
    #[serde(default)]
    login: Option<String>,
}

impl WireActor {
    /// The login as REST writes it (a bot's with `[bot]`) and whether GitHub says it is a
    /// bot; `None` for a deleted account.
    fn login(&self) -> Option<(String, bool)> {
        let login = self
            .login
            .as_deref()
            .filter(|l| !l.is_empty() && *l != "ghost")?;
        let bot = self.typename.as_deref() == Some("Bot");
        let login = if bot && !login.ends_with("[bot]") {
            format!("{login}[bot]")
        } else {
            login.to_owned()
        };
        Some((login, bot))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireComment {
    #[serde(default)]
    author: Option<WireActor>,
    #[serde(default)]
    created_at: Option<DateTime<Utc>>,
}

/// A repository by its node id (GraphQL's `databaseId` is a 32-bit `Int`, which
/// repository ids will outgrow; the node id is mapped to the listing's id).
#[derive(Deserialize)]
struct RepoRef {
    #[serde(default)]
    id: Option<String>,
}

/// GitHub's `BigInt`: a string (or, from some servers, a number).
#[derive(Deserialize)]
#[serde(untagged)]
enum BigInt {
    Text(String),
    Number(i64),
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireItem {
    id: String,
    #[serde(default)]
    full_database_id: Option<BigInt>,
    number: u64,
    #[serde(default)]
    created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    closed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    merged_at: Option<DateTime<Utc>>,
    /// `state` is an `IssueState` on issues and a `PullRequestState` on pull requests: one
    /// query must name them apart.
    #[serde(default, alias = "issueState", alias = "pullState")]
    state: Option<String>,
    #[serde(default)]
    author: Option<WireActor>,
    #[serde(default)]
    repository: Option<RepoRef>,
    #[serde(default)]
    comments: Option<Connection<WireComment>>,
    #[serde(default)]
    reviews: Option<Connection<WireComment>>,
}

impl WireItem {
    fn key(&self, kind: ItemKind) -> Option<ItemKey> {
        let id = match self.full_database_id.as_ref()? {
            BigInt::Text(t) => t.parse().ok()?,
            BigInt::Number(n) => *n,
        };
        Some(ItemKey { kind, id })
    }

    /// The item, and whether its first response is settled (found, or no comment or
    /// review beyond those read).
    fn into_item(
        self,
        key: ItemKey,
        repo_id: i64,
        ask: &ActivityAsk<'_>,
    ) -> Option<(ActivityItem, bool)> {
        let created_at = self.created_at?;
        let (author, marked) = match self.author.as_ref().and_then(WireActor::login) {
            Some((login, bot)) => (Some(login), bot),
            None => (None, false),
        };
        let more = |c: &Option<Connection<WireComment>>| {
            c.as_ref()
                .is_some_and(|c| c.total_count.unwrap_or(0) as usize > c.nodes.len())
        };
        let unread = more(&self.comments) || more(&self.reviews);
        let first = first_response(
            self.comments.into_iter().chain(self.reviews),
            author.as_deref(),
            ask.bots,
        );
        let state = match self.state.as_deref() {
            Some("MERGED") => ItemState::Merged,
            Some("CLOSED") => ItemState::Closed,
            _ => ItemState::Open,
        };
        let merged_at = self.merged_at.filter(|_| state == ItemState::Merged);
        let item = ActivityItem {
            forge: ask.forge.clone(),
            id: key.id,
            repo_id,
            number: self.number,
            kind: key.kind,
            author_bot: author
                .as_deref()
                .is_some_and(|a| ask.bots.is_bot(a, marked)),
            author,
            created_at,
            closed_at: match state {
                ItemState::Open => None,
                _ => self.closed_at.or(merged_at),
            },
            merged_at,
            first_response_at: first,
            state,
            updated_at: self.updated_at.unwrap_or(created_at),
        };
        Some((item, first.is_some() || !unread))
    }
}

#[derive(Deserialize)]
struct ResponsesNode {
    #[serde(default)]
    comments: Option<Connection<WireComment>>,
    #[serde(default)]
    reviews: Option<Connection<WireComment>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireRelease {
    #[serde(default)]
    tag_name: Option<String>,
    #[serde(default)]
    published_at: Option<DateTime<Utc>>,
    #[serde(default)]
    is_draft: bool,
}

#[derive(Deserialize)]
struct ReleaseList {
    #[serde(default = "Vec::new")]
    nodes: Vec<Option<WireRelease>>,
}

#[derive(Deserialize)]
struct ReleasesNode {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    releases: Option<ReleaseList>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every query orgpulse sends for activity is valid against GitHub's schema.
    #[test]
    fn the_queries_are_valid_against_githubs_schema() {
        for (name, query) in [
            ("search", SEARCH_QUERY),
            ("responses", RESPONSES_QUERY),
            ("releases", RELEASES_QUERY),
        ] {
            if let Err(errors) = fakeforge::graphql::validate(query) {
                panic!("the {name} query is not valid for GitHub:\n{errors}");
            }
        }
    }

    #[test]
    fn a_span_is_asked_with_inclusive_times_and_sorted_by_update() {
        let from = "2026-09-01T00:00:00Z".parse().expect("time");
        let to = "2026-09-05T12:00:00Z".parse().expect("time");
        assert_eq!(
            query("acme", ItemKind::PullRequest, from, to),
            "org:acme is:pr updated:2026-09-01T00:00:00+00:00..2026-09-05T12:00:00+00:00 sort:updated-asc"
        );
    }

    #[test]
    fn bots_read_as_rest_writes_them_and_ghosts_as_unknown() {
        let actor = |t: &str, l: &str| WireActor {
            typename: Some(t.into()),
            login: Some(l.into()),
        };
        assert_eq!(
            actor("Bot", "renovate").login(),
            Some(("renovate[bot]".into(), true))
        );
        assert_eq!(actor("User", "ann").login(), Some(("ann".into(), false)));
        assert_eq!(actor("User", "ghost").login(), None);
    }
}
