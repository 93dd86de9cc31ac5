//! GitHub's GraphQL API: the per-repository details of up to 100 repositories in one
//! request (`nodes(ids:)` with the listing's `node_id`s), where REST needs one request per
//! repository. Facts relied on are in `shared/FORGE-APIS.md`.
//!
//! GraphQL fails differently from REST, and each way is handled where it lands:
//! - HTTP 200 with `errors` and partial `data`: a node that is `NOT_FOUND` (deleted or made
//!   private since the listing) concerns that repository only; the others are kept;
//! - 502/504 or "couldn't respond in time": the batch is split in half and each half asked
//!   again, down to single repositories; one that still fails is given up for this run;
//! - the primary limit is its own points budget (`x-ratelimit-resource: graphql`), spent
//!   when a 200 says so with `x-ratelimit-remaining: 0`: the client waits for the reset
//!   like the REST one (its own [`HttpClient`], so REST keeps its budget); secondary limits
//!   (403/429, `retry-after`) as for REST;
//! - 401: the token is refused; the error names the setting, never the token.
//!
//! The query is a plain string; `tests` validate it against GitHub's published schema
//! (`schema/github.graphql`), so a query GitHub would reject cannot land (see
//! docs/architecture.md for why not a typed client).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use reqwest::header::{HeaderValue, AUTHORIZATION};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::http::{HttpClient, HttpPolicy, Outgoing, SourceError, Tally};
use super::{add_token, base_headers};
use crate::domain::{Release, RepoDetails, Secret};
use crate::metrics::Metrics;

/// Most ids `nodes(ids:)` takes in one query (GitHub refuses more).
pub(crate) const BATCH: usize = 100;

/// Languages asked per repository; a repository with more is completed over REST.
const LANGUAGES: usize = 100;

/// The details of a batch of repositories. Validated against GitHub's schema in tests.
pub(crate) const DETAILS_QUERY: &str = r#"query RepositoryDetails($ids: [ID!]!) {
  rateLimit { cost remaining resetAt used }
  nodes(ids: $ids) {
    __typename
    ... on Repository {
      languages(first: 100, orderBy: {field: SIZE, direction: DESC}) {
        totalSize
        pageInfo { hasNextPage }
        edges { size node { name } }
      }
      licenseInfo { spdxId }
      issues(states: OPEN) { totalCount }
      pullRequests(states: OPEN) { totalCount }
      latestRelease { tagName publishedAt }
      repositoryTopics(first: 20) { nodes { topic { name } } }
      defaultBranchRef { target { __typename ... on Commit { committedDate } } }
    }
  }
}"#;

/// One repository's answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Detailed {
    pub details: RepoDetails,
    /// Language → bytes, as the REST `/languages` reports them; `None` when the repository
    /// has more languages than one query lists (the REST call completes it).
    pub languages: Option<BTreeMap<String, u64>>,
}

/// What became of one repository asked for.
#[derive(Debug)]
pub(crate) enum Outcome {
    Found(Box<Detailed>),
    /// The node no longer resolves: deleted, or made private, since the listing.
    Vanished,
    Failed(SourceError),
}

/// A GraphQL client for one GitHub (a token is required: GraphQL refuses anonymous calls).
#[derive(Debug)]
pub(crate) struct GitHubGraphql {
    http: HttpClient,
    endpoint: Url,
    /// The setting the token came from, for a 401's message.
    token_setting: String,
    metrics: Arc<Metrics>,
    forge: String,
}

impl GitHubGraphql {
    pub(crate) fn new(
        endpoint: Url,
        token: &Secret,
        token_setting: &str,
        forge: &str,
        policy: HttpPolicy,
        cancel: CancellationToken,
        metrics: Arc<Metrics>,
    ) -> Result<Self, SourceError> {
        let mut headers = base_headers("application/json");
        add_token(
            &mut headers,
            AUTHORIZATION,
            "Bearer ",
            Some(token),
            endpoint.as_str(),
        )?;
        headers.insert(
            "x-github-api-version",
            HeaderValue::from_static(super::GITHUB_API_VERSION),
        );
        Ok(GitHubGraphql {
            http: HttpClient::new(policy, headers, cancel, metrics.clone())?,
            endpoint,
            token_setting: token_setting.to_owned(),
            metrics,
            forge: forge.to_owned(),
        })
    }

    /// The details of `repos` (database id, node id), [`BATCH`] a request; every
    /// repository asked gets an outcome.
    pub(crate) async fn details(
        &self,
        repos: &[(i64, String)],
        tally: &Tally,
    ) -> Result<HashMap<i64, Outcome>, SourceError> {
        let mut outcomes = HashMap::with_capacity(repos.len());
        // Batches still to ask; a batch that times out comes back as two halves.
        let mut pending: Vec<&[(i64, String)]> = repos.chunks(BATCH).rev().collect();
        while let Some(batch) = pending.pop() {
            match self.batch(batch, tally).await {
                Ok(answered) => outcomes.extend(answered),
                Err(Asked::TooSlow(err)) if batch.len() > 1 => {
                    tracing::debug!(repos = batch.len(), error = %err, "GraphQL batch too slow; splitting it");
                    let (left, right) = batch.split_at(batch.len() / 2);
                    pending.push(right);
                    pending.push(left);
                }
                Err(Asked::TooSlow(err)) => {
                    outcomes.insert(batch[0].0, Outcome::Failed(err));
                }
                Err(Asked::Fatal(err)) => return Err(err),
            }
        }
        Ok(outcomes)
    }

    /// One query for `batch`.
    async fn batch(
        &self,
        batch: &[(i64, String)],
        tally: &Tally,
    ) -> Result<Vec<(i64, Outcome)>, Asked> {
        let ids: Vec<&str> = batch.iter().map(|(_, node)| node.as_str()).collect();
        let answered: Answered<Data> = self
            .ask(DETAILS_QUERY, serde_json::json!({ "ids": ids }), tally)
            .await?;
        let (status, errors) = (answered.status, answered.errors);
        let nodes = answered.data.nodes;
        if nodes.len() != batch.len() {
            // Not an answer to this question: nothing can be said of any of them.
            let err = self.malformed(format!(
                "{} nodes answered for {} ids",
                nodes.len(),
                batch.len()
            ));
            return Ok(batch
                .iter()
                .map(|(id, _)| (*id, Outcome::Failed(err.clone())))
                .collect());
        }
        // Errors that point at one node concern that node only.
        let mut node_errors: HashMap<usize, &GraphqlError> = HashMap::new();
        for error in &errors {
            if let Some(i) = error.node_index() {
                node_errors.insert(i, error);
            }
        }
        let mut outcomes = Vec::with_capacity(batch.len());
        for (i, (id, _)) in batch.iter().enumerate() {
            let node = nodes.get(i).cloned().flatten();
            let outcome = match (node, node_errors.get(&i)) {
                (Some(node), _) => match node.into_detailed() {
                    Some(detailed) => Outcome::Found(Box::new(detailed)),
                    // The id resolved to something that is not a repository any more.
                    None => Outcome::Vanished,
                },
                (None, Some(e)) if e.kind.as_deref() == Some("NOT_FOUND") => Outcome::Vanished,
                (None, Some(e)) => Outcome::Failed(self.status_error(status, e.message.clone())),
                (None, None) => Outcome::Vanished,
            };
            outcomes.push((*id, outcome));
        }
        Ok(outcomes)
    }

    /// Sends `query` with `variables`: its `data` (as `T`) and the errors that came with
    /// it. A refused token, a timeout (502/504, "couldn't respond in time") and an answer
    /// without data are errors; the points the query cost are counted.
    pub(crate) async fn ask<T: DeserializeOwned>(
        &self,
        query: &str,
        variables: serde_json::Value,
        tally: &Tally,
    ) -> Result<Answered<T>, Asked> {
        let body = serde_json::to_vec(&serde_json::json!({
            "query": query,
            "variables": variables,
        }))
        .map_err(|e| Asked::Fatal(self.malformed(e.to_string())))?;
        let request = Outgoing {
            method: reqwest::Method::POST,
            url: &self.endpoint,
            body: Some(&body),
            follow_redirects: true,
            // A timed-out query is made smaller, not asked again whole.
            retry_server_errors: false,
            limited: Some(says_rate_limited),
            authorization: None,
        };
        let answer = self
            .http
            .send(&request, tally)
            .await
            .map_err(Asked::Fatal)?;
        let status = answer.status.as_u16();
        if status == 401 {
            return Err(Asked::Fatal(SourceError::Status {
                status,
                url: self.endpoint.to_string(),
                message: format!(
                    "GitHub refused the token for GraphQL: check {}",
                    self.token_setting
                ),
            }));
        }
        if matches!(status, 502 | 504) {
            return Err(Asked::TooSlow(answer.unexpected(&self.endpoint)));
        }
        if status != 200 {
            return Err(Asked::Fatal(answer.unexpected(&self.endpoint)));
        }
        let reply: Reply = serde_json::from_slice(&answer.body)
            .map_err(|e| Asked::Fatal(self.malformed(format!("GraphQL answer: {e}"))))?;
        let errors = reply.errors.unwrap_or_default();
        let Some(data) = reply.data.filter(|d| !d.is_null()) else {
            let message = errors
                .first()
                .map_or("no data", |e| e.message.as_str())
                .to_owned();
            if message.to_ascii_lowercase().contains("couldn't respond") {
                return Err(Asked::TooSlow(self.status_error(status, message)));
            }
            return Err(Asked::Fatal(self.status_error(status, message)));
        };
        if let Some(limit) = data
            .get("rateLimit")
            .and_then(|l| serde_json::from_value::<RateLimit>(l.clone()).ok())
        {
            tally.add_points(limit.cost);
            self.metrics.graphql_points(&self.forge, limit.cost);
            tracing::debug!(
                cost = limit.cost,
                remaining = limit.remaining,
                "GraphQL points"
            );
        }
        let data = serde_json::from_value(data)
            .map_err(|e| Asked::Fatal(self.malformed(format!("GraphQL data: {e}"))))?;
        Ok(Answered {
            data,
            errors,
            status,
        })
    }

    fn malformed(&self, detail: String) -> SourceError {
        SourceError::Malformed {
            url: self.endpoint.to_string(),
            detail,
        }
    }

    fn status_error(&self, status: u16, message: String) -> SourceError {
        SourceError::Status {
            status,
            url: self.endpoint.to_string(),
            message,
        }
    }
}

/// A query's answer: its data and the errors that came with it (partial answers).
pub(crate) struct Answered<T> {
    pub data: T,
    pub errors: Vec<GraphqlError>,
    pub status: u16,
}

/// Why a query got no answer.
#[derive(Debug)]
pub(crate) enum Asked {
    /// 502/504 or "couldn't respond in time": worth splitting.
    TooSlow(SourceError),
    /// Anything else stops the details for this organisation.
    Fatal(SourceError),
}

/// Whether a 200 body is GraphQL's primary rate limit.
fn says_rate_limited(body: &[u8]) -> bool {
    serde_json::from_slice::<Reply>(body).is_ok_and(|reply| {
        reply
            .errors
            .unwrap_or_default()
            .iter()
            .any(|e| e.kind.as_deref() == Some("RATE_LIMITED"))
    })
}

/// The GraphQL endpoint of a GitHub whose REST root is `api_url`: `api.github.com` →
/// `https://api.github.com/graphql`; Enterprise `https://HOST/api/v3` →
/// `https://HOST/api/graphql`; anything else (tests) → `{api_url}/graphql`.
pub(crate) fn endpoint_for(api_url: &str) -> Result<Url, url::ParseError> {
    let base = api_url.trim_end_matches('/');
    let url = match base.strip_suffix("/api/v3") {
        Some(host) => format!("{host}/api/graphql"),
        None => format!("{base}/graphql"),
    };
    Url::parse(&url)
}

#[derive(Deserialize)]
struct Reply {
    #[serde(default)]
    data: Option<serde_json::Value>,
    #[serde(default)]
    errors: Option<Vec<GraphqlError>>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(default)]
    nodes: Vec<Option<Node>>,
}

#[derive(Deserialize)]
struct RateLimit {
    #[serde(default)]
    cost: u64,
    #[serde(default)]
    remaining: u64,
}

#[derive(Debug, Deserialize)]
pub(crate) struct GraphqlError {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    path: Vec<serde_json::Value>,
}

impl GraphqlError {
    /// The node it concerns: a path `["nodes", i, …]`.
    fn node_index(&self) -> Option<usize> {
        match self.path.as_slice() {
            [first, index, ..] if first == "nodes" => index.as_u64().map(|i| i as usize),
            _ => None,
        }
    }
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct Node {
    #[serde(rename = "__typename", default)]
    typename: String,
    #[serde(default)]
    languages: Option<Languages>,
    #[serde(default)]
    license_info: Option<LicenseInfo>,
    #[serde(default)]
    issues: Option<Count>,
    #[serde(default)]
    pull_requests: Option<Count>,
    #[serde(default)]
    latest_release: Option<WireRelease>,
    #[serde(default)]
    repository_topics: Option<Topics>,
    #[serde(default)]
    default_branch_ref: Option<BranchRef>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct Languages {
    #[serde(default)]
    page_info: Option<PageInfo>,
    #[serde(default)]
    edges: Vec<LanguageEdge>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct PageInfo {
    #[serde(default)]
    has_next_page: bool,
}

#[derive(Deserialize, Clone)]
struct LanguageEdge {
    size: u64,
    node: Named,
}

#[derive(Deserialize, Clone)]
struct Named {
    name: String,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct LicenseInfo {
    #[serde(default)]
    spdx_id: Option<String>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct Count {
    total_count: u64,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct WireRelease {
    tag_name: String,
    #[serde(default)]
    published_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize, Clone)]
struct Topics {
    #[serde(default)]
    nodes: Vec<TopicNode>,
}

#[derive(Deserialize, Clone)]
struct TopicNode {
    topic: Named,
}

#[derive(Deserialize, Clone)]
struct BranchRef {
    #[serde(default)]
    target: Option<Target>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct Target {
    #[serde(default)]
    committed_date: Option<DateTime<Utc>>,
}

impl Node {
    fn into_detailed(self) -> Option<Detailed> {
        if self.typename != "Repository" {
            return None;
        }
        let languages = self.languages.and_then(|l| {
            let complete =
                !l.page_info.is_some_and(|p| p.has_next_page) && l.edges.len() <= LANGUAGES;
            complete.then(|| {
                l.edges
                    .into_iter()
                    .map(|e| (e.node.name, e.size))
                    .collect::<BTreeMap<_, _>>()
            })
        });
        let mut topics: Vec<String> = self
            .repository_topics
            .map(|t| t.nodes.into_iter().map(|n| n.topic.name).collect())
            .unwrap_or_default();
        topics.sort();
        topics.dedup();
        Some(Detailed {
            details: RepoDetails {
                open_issues: self.issues.map_or(0, |c| c.total_count),
                open_pull_requests: self.pull_requests.map_or(0, |c| c.total_count),
                latest_release: self.latest_release.map(|r| Release {
                    tag: r.tag_name,
                    published_at: r.published_at,
                }),
                last_commit_at: self
                    .default_branch_ref
                    .and_then(|b| b.target)
                    .and_then(|t| t.committed_date),
                license: self
                    .license_info
                    .and_then(|l| l.spdx_id)
                    .filter(|id| !id.is_empty() && id != "NOASSERTION"),
                topics,
            },
            languages,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_follow_the_rest_root() {
        let e = |u: &str| endpoint_for(u).expect("url").to_string();
        assert_eq!(
            e("https://api.github.com"),
            "https://api.github.com/graphql"
        );
        assert_eq!(
            e("https://ghe.example/api/v3/"),
            "https://ghe.example/api/graphql"
        );
        assert_eq!(e("http://127.0.0.1:9000"), "http://127.0.0.1:9000/graphql");
    }

    #[test]
    fn a_node_becomes_details_and_languages_in_bytes() {
        let node: Node = serde_json::from_value(serde_json::json!({
            "__typename": "Repository",
            "languages": {"totalSize": 30, "pageInfo": {"hasNextPage": false},
                          "edges": [{"size": 20, "node": {"name": "Rust"}}, {"size": 10, "node": {"name": "Shell"}}]},
            "licenseInfo": {"spdxId": "NOASSERTION"},
            "issues": {"totalCount": 3}, "pullRequests": {"totalCount": 2},
            "latestRelease": {"tagName": "v1.0", "publishedAt": "2026-01-02T00:00:00Z"},
            "repositoryTopics": {"nodes": [{"topic": {"name": "b"}}, {"topic": {"name": "a"}}]},
            "defaultBranchRef": {"target": {"__typename": "Commit", "committedDate": "2026-01-03T00:00:00Z"}}
        }))
        .expect("node");
        let d = node.into_detailed().expect("a repository");
        assert_eq!(
            d.languages,
            Some(BTreeMap::from([("Rust".into(), 20), ("Shell".into(), 10)]))
        );
        assert_eq!(
            (d.details.open_issues, d.details.open_pull_requests),
            (3, 2)
        );
        assert_eq!(d.details.license, None, "NOASSERTION is no licence");
        assert_eq!(d.details.topics, ["a", "b"]);
        assert_eq!(d.details.latest_release.expect("release").tag, "v1.0");
        assert!(d.details.last_commit_at.is_some());

        let more: Node = serde_json::from_value(serde_json::json!({
            "__typename": "Repository",
            "languages": {"pageInfo": {"hasNextPage": true}, "edges": []}
        }))
        .expect("node");
        assert_eq!(
            more.into_detailed().expect("repo").languages,
            None,
            "completed over REST"
        );
    }

    #[test]
    fn errors_point_at_their_node() {
        let e: GraphqlError = serde_json::from_value(serde_json::json!(
            {"type": "NOT_FOUND", "path": ["nodes", 3], "message": "Could not resolve to a node"}
        ))
        .expect("error");
        assert_eq!(e.node_index(), Some(3));
        assert!(says_rate_limited(
            br#"{"errors":[{"type":"RATE_LIMITED","message":"API rate limit exceeded"}]}"#
        ));
        assert!(!says_rate_limited(br#"{"data":{"nodes":[]}}"#));
    }

    /// Every query orgpulse sends is valid against GitHub's published schema
    /// (`schema/github.graphql`, read by fakeforge, which holds the queries it serves to
    /// the same check).
    #[test]
    fn the_query_is_valid_against_githubs_schema() {
        if let Err(errors) = fakeforge::graphql::validate(DETAILS_QUERY) {
            panic!("the details query is not valid for GitHub:\n{errors}");
        }
        assert!(
            fakeforge::graphql::validate("{ nodes(ids: []) { ... on Repository { stars } } }")
                .is_err(),
            "the check refuses what GitHub refuses"
        );
    }
}
