//! GitLab's GraphQL API (`/api/graphql`): the languages of a whole group's projects,
//! subgroups included, 100 projects a request, where REST needs one request per project.
//! Facts relied on are in `shared/FORGE-APIS.md`.
//!
//! GitLab bounds a query by its complexity (250 authenticated, 200 anonymous), its length
//! (10,000 characters) and its time (30 s). The query below stays far inside all three at
//! 100 projects a page; an instance that prices it higher answers with a complexity error,
//! and the page size is halved until it fits (down to [`MIN_PAGE`]). Anything else — an
//! instance without the field (before GitLab 15.6), a refused token, a server error —
//! ends the batched read; what it found is kept and the per-project REST calls do the rest.
//!
//! The query is a plain string; `tests` validate it against the GitLab types it uses
//! (`schema/gitlab-subset.graphql`, transcribed from GitLab's GraphQL reference).

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Deserialize;
use url::Url;

use super::http::{HttpClient, Outgoing, SourceError, Tally};

/// Projects a page: GitLab's maximum.
pub(crate) const PAGE: usize = 100;

/// The smallest page asked before the batched read gives up on complexity.
pub(crate) const MIN_PAGE: usize = 10;

/// A group's projects with their languages, one page. Validated in tests.
pub(crate) const LANGUAGES_QUERY: &str = r#"query GroupLanguages($fullPath: ID!, $first: Int!, $after: String) {
  group(fullPath: $fullPath) {
    projects(includeSubgroups: true, first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { id languages { name share } }
    }
  }
}"#;

/// Language → hundredths of a percent, as the REST call stores them.
pub(crate) type Languages = BTreeMap<String, u64>;

/// The GraphQL endpoint of a GitLab whose REST root is `api_url`: `https://HOST/api/v4`
/// (any prefix) → `https://HOST/api/graphql`; anything else → `{api_url}/graphql`.
pub(crate) fn endpoint_for(api_url: &str) -> Result<Url, url::ParseError> {
    let base = api_url.trim_end_matches('/');
    let url = match base.strip_suffix("/api/v4") {
        Some(host) => format!("{host}/api/graphql"),
        None => format!("{base}/graphql"),
    };
    Url::parse(&url)
}

/// How many requests the batched read of a group of `listed` projects costs at most.
pub(crate) fn pages_for(listed: usize) -> usize {
    listed.div_ceil(PAGE).max(1)
}

/// What the batched read found, and why it stopped early if it did.
#[derive(Debug, Default)]
pub(crate) struct Found {
    pub languages: HashMap<i64, Languages>,
    /// The error that ended the read before every page was read; the projects it did
    /// not reach are asked over REST.
    pub stopped: Option<SourceError>,
}

/// Reads the languages of the projects of group `full_path` (subgroups included) until
/// every project in `wanted` is found or the pages end.
pub(crate) async fn group_languages(
    http: &HttpClient,
    endpoint: &Url,
    full_path: &str,
    wanted: &HashSet<i64>,
    tally: &Tally,
) -> Found {
    let mut found = Found::default();
    let mut first = PAGE;
    let mut after: Option<String> = None;
    loop {
        let page = match ask(http, endpoint, full_path, first, after.as_deref(), tally).await {
            Ok(page) => page,
            Err(Refused::TooComplex(_)) if first > MIN_PAGE => {
                first = (first / 2).max(MIN_PAGE);
                tracing::debug!(
                    first,
                    "GitLab priced the languages query too high; smaller pages"
                );
                continue;
            }
            Err(Refused::TooComplex(e) | Refused::Other(e)) => {
                found.stopped = Some(e);
                return found;
            }
        };
        for project in page.nodes.into_iter().flatten() {
            let Some(id) = project.database_id() else {
                continue;
            };
            if wanted.contains(&id) {
                found.languages.insert(id, project.languages());
            }
        }
        let done = wanted.iter().all(|id| found.languages.contains_key(id));
        match (page.page_info.has_next_page, page.page_info.end_cursor) {
            (true, Some(cursor)) if !done && Some(&cursor) != after.as_ref() => {
                after = Some(cursor);
            }
            _ => return found,
        }
    }
}

/// Why a page got no answer.
enum Refused {
    /// GitLab's complexity limit: worth a smaller page.
    TooComplex(SourceError),
    Other(SourceError),
}

async fn ask(
    http: &HttpClient,
    endpoint: &Url,
    full_path: &str,
    first: usize,
    after: Option<&str>,
    tally: &Tally,
) -> Result<Page, Refused> {
    let malformed = |detail: String| SourceError::Malformed {
        url: endpoint.to_string(),
        detail,
    };
    let body = serde_json::to_vec(&serde_json::json!({
        "query": LANGUAGES_QUERY,
        "variables": { "fullPath": full_path, "first": first, "after": after },
    }))
    .map_err(|e| Refused::Other(malformed(e.to_string())))?;
    let request = Outgoing {
        method: reqwest::Method::POST,
        url: endpoint,
        body: Some(&body),
        follow_redirects: true,
        retry_server_errors: true,
        limited: None,
        authorization: None,
    };
    let answer = http.send(&request, tally).await.map_err(Refused::Other)?;
    if answer.status != reqwest::StatusCode::OK {
        return Err(Refused::Other(answer.unexpected(endpoint)));
    }
    let reply: Reply = serde_json::from_slice(&answer.body)
        .map_err(|e| Refused::Other(malformed(format!("GraphQL answer: {e}"))))?;
    let status = |message: String| SourceError::Status {
        status: 200,
        url: endpoint.to_string(),
        message,
    };
    let first_error = reply.errors.as_ref().and_then(|e| e.first());
    if let Some(error) = first_error {
        let message = error.message.clone();
        if message.to_ascii_lowercase().contains("complexity") {
            return Err(Refused::TooComplex(status(message)));
        }
        // Errors beside data (a project whose languages could not be read) leave the
        // rest of the page good; errors instead of data end the read.
        if reply.data.as_ref().and_then(|d| d.group.as_ref()).is_none() {
            return Err(Refused::Other(status(message)));
        }
    }
    match reply.data.and_then(|d| d.group) {
        Some(group) => Ok(group.projects),
        None => Err(Refused::Other(status(format!(
            "no group `{full_path}` in the GraphQL answer"
        )))),
    }
}

#[derive(Deserialize)]
struct Reply {
    #[serde(default)]
    data: Option<Data>,
    #[serde(default)]
    errors: Option<Vec<GraphqlError>>,
}

#[derive(Deserialize)]
struct GraphqlError {
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
struct Data {
    #[serde(default)]
    group: Option<Group>,
}

#[derive(Deserialize)]
struct Group {
    projects: Page,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    page_info: PageInfo,
    #[serde(default)]
    nodes: Vec<Option<Project>>,
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
struct Project {
    #[serde(default)]
    id: Option<String>,
    /// `null` when the project's languages could not be read (an error says why).
    #[serde(default)]
    languages: Option<Vec<Language>>,
}

#[derive(Deserialize)]
struct Language {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    share: Option<f64>,
}

impl Project {
    /// The numeric id in `gid://gitlab/Project/123`.
    fn database_id(&self) -> Option<i64> {
        self.id
            .as_deref()?
            .strip_prefix("gid://gitlab/Project/")?
            .parse()
            .ok()
    }

    /// Shares as hundredths of a percent, exactly as the REST call keeps them; entries
    /// without a name or a usable share are left out, as there.
    fn languages(&self) -> Languages {
        self.languages
            .iter()
            .flatten()
            .filter_map(|l| {
                let name = l.name.clone().filter(|n| !n.is_empty())?;
                let share = l.share.filter(|p| p.is_finite() && *p >= 0.0)?;
                Some((name, (share.min(100.0) * 100.0).round() as u64))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_follows_the_rest_root() {
        let at = |api: &str| endpoint_for(api).expect("url").to_string();
        assert_eq!(
            at("https://gitlab.com/api/v4"),
            "https://gitlab.com/api/graphql"
        );
        assert_eq!(
            at("https://git.example/gitlab/api/v4/"),
            "https://git.example/gitlab/api/graphql"
        );
        assert_eq!(at("http://127.0.0.1:9/x"), "http://127.0.0.1:9/x/graphql");
    }

    #[test]
    fn a_project_reads_as_the_rest_call_does() {
        let project: Project = serde_json::from_value(serde_json::json!({
            "id": "gid://gitlab/Project/278964",
            "languages": [{"name": "Ruby", "share": 66.69}, {"name": "Shell", "share": 33.31},
                          {"name": "", "share": 1.0}, {"name": "Odd", "share": null}]
        }))
        .expect("project");
        assert_eq!(project.database_id(), Some(278_964));
        assert_eq!(
            project.languages(),
            Languages::from([("Ruby".into(), 6669), ("Shell".into(), 3331)])
        );
        let odd: Project =
            serde_json::from_value(serde_json::json!({"id": "gid://gitlab/Group/1"}))
                .expect("node");
        assert_eq!(odd.database_id(), None);
    }

    #[test]
    fn the_query_is_held_to_the_gitlab_types_and_limits() {
        if let Err(errors) = fakeforge::gitlab_graphql::validate(LANGUAGES_QUERY) {
            panic!("GitLab would refuse the languages query:\n{errors}");
        }
        assert!(
            fakeforge::gitlab_graphql::validate("{ group(fullPath: \"a\") { stars } }").is_err(),
            "the check can fail"
        );
        assert!(
            LANGUAGES_QUERY.len() < 10_000,
            "GitLab's query length limit"
        );
    }

    #[test]
    fn pages_round_up() {
        assert_eq!((pages_for(0), pages_for(100), pages_for(101)), (1, 1, 2));
    }
}
