//! The GitLab REST v4 client (gitlab.com or a self-managed instance): a group's profile,
//! every project of the group and its subgroups, per-project languages (percentages) and,
//! where the instance serves it, the dependency list.
//!
//! Facts relied on are in `shared/FORGE-APIS.md`: the group is read by its URL-encoded
//! full path and its numeric id kept; projects are listed by that id, ordered by id so a
//! project created mid-crawl cannot shift the pages; pages go in parallel only when
//! `x-total-pages` says how many there are (GitLab drops it above 10,000 rows), otherwise
//! the `next` chain is walked. Fields missing from an answer are optional, never fatal.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::http::{Cached, HttpClient, HttpPolicy, Meta, SourceError, Tally};
use super::paging::{with_page, Listing, Pages};
use super::{
    add_token, base_headers, decode_entries, gitlab_activity, gitlab_graphql, lenient_time,
    non_empty, required, ActivityAsk, ActivityBatch, ApiRoot, Dependencies, ForgeSource, RepoPage,
    Unanswered, Validators,
};
use crate::domain::activity::{BotRules, ItemKey};
use crate::domain::Secret;
use crate::domain::{Library, OrgProfile, RepoListing};
use crate::metrics::Metrics;

/// Projects per page: GitLab's maximum.
const PER_PAGE: usize = 100;

/// A client for one GitLab instance.
#[derive(Debug)]
pub(crate) struct GitLab {
    http: HttpClient,
    root: ApiRoot,
    /// The GraphQL endpoint beside the REST root (`/api/graphql`).
    graphql: Url,
}

impl GitLab {
    /// `api_url` is the REST root (`https://gitlab.com/api/v4`).
    pub(crate) fn new(
        api_url: &str,
        token: Option<&Secret>,
        policy: HttpPolicy,
        cancel: CancellationToken,
        metrics: Arc<Metrics>,
    ) -> Result<Self, SourceError> {
        let root = ApiRoot::parse(api_url)?;
        let mut headers = base_headers("application/json");
        add_token(
            &mut headers,
            reqwest::header::HeaderName::from_static("private-token"),
            "",
            token,
            api_url,
        )?;
        let graphql =
            gitlab_graphql::endpoint_for(api_url).map_err(|e| SourceError::Malformed {
                url: api_url.to_owned(),
                detail: format!("no GraphQL endpoint beside it: {e}"),
            })?;
        Ok(GitLab {
            http: HttpClient::new(policy, headers, cancel, metrics)?,
            root,
            graphql,
        })
    }

    /// `GET /groups/{full%2Fpath}`.
    pub(crate) fn group_url(&self, path: &str) -> Url {
        self.root.url_encoded(&["groups", path], None)
    }

    /// The first page of the group's projects, subgroups included, shared ones left out.
    pub(crate) fn projects_url(&self, group_id: i64) -> Url {
        self.root.url_encoded(
            &["groups", &group_id.to_string(), "projects"],
            Some(&format!(
                "include_subgroups=true&with_shared=false&order_by=id&sort=asc&per_page={PER_PAGE}&page=1"
            )),
        )
    }

    fn project_url(&self, id: i64, what: &str) -> Url {
        self.root
            .url_encoded(&["projects", &id.to_string(), what], None)
    }

    async fn group(
        &self,
        url: &Url,
        tally: &Tally,
        cache: &Validators,
        absent: &[StatusCode],
    ) -> Result<Option<Cached<OrgProfile>>, SourceError> {
        self.http
            .get_cached(url, cache.get(url.as_str()), tally, absent, |body, _| {
                let wire: WireGroup =
                    serde_json::from_slice(body).map_err(|e| format!("group: {e}"))?;
                Ok(wire.into_profile())
            })
            .await
    }
}

#[async_trait]
impl ForgeSource for GitLab {
    async fn org(
        &self,
        path: &str,
        cache: &Validators,
        tally: &Tally,
    ) -> Result<Cached<OrgProfile>, SourceError> {
        self.group(&self.group_url(path), tally, cache, &[])
            .await
            .map(required)
    }

    /// `GET /groups/{id}`: a renamed group's old path answers 404, its id still works.
    async fn org_by_id(&self, id: i64, tally: &Tally) -> Result<Option<OrgProfile>, SourceError> {
        let url = self.root.url_encoded(&["groups", &id.to_string()], None);
        let found = self
            .group(&url, tally, &Validators::new(), &[StatusCode::NOT_FOUND])
            .await?;
        Ok(found.map(|c| c.value))
    }

    async fn listing(
        &self,
        _path: &str,
        profile: &OrgProfile,
        cache: &Validators,
        tally: &Tally,
    ) -> Result<Listing, SourceError> {
        let group = profile.login.to_ascii_lowercase();
        Pages {
            http: &self.http,
            cache,
            tally,
            first: self.projects_url(profile.id),
            page_size: PER_PAGE,
            decode: |body: &[u8], meta: &Meta<'_>| decode_projects(body, meta, &group),
        }
        .read()
        .await
    }

    /// Percentages of the project, kept as hundredths of a percent.
    async fn languages(
        &self,
        repo: &RepoListing,
        cache: &Validators,
        tally: &Tally,
    ) -> Result<Cached<BTreeMap<String, u64>>, SourceError> {
        let url = self.project_url(repo.id, "languages");
        self.http
            .get_cached(&url, cache.get(url.as_str()), tally, &[], |body, _| {
                let raw: BTreeMap<String, serde_json::Value> =
                    serde_json::from_slice(body).map_err(|e| format!("languages: {e}"))?;
                Ok(raw
                    .into_iter()
                    .filter_map(|(k, v)| {
                        let share = v.as_f64().filter(|p| p.is_finite() && *p >= 0.0)?;
                        Some((k, (share.min(100.0) * 100.0).round() as u64))
                    })
                    .collect())
            })
            .await
            .map(required)
    }

    /// From the group's projects over GraphQL, when that takes fewer requests than one
    /// `/languages` call per wanted project.
    async fn batch_languages(
        &self,
        profile: &OrgProfile,
        wanted: &HashSet<i64>,
        listed: usize,
        tally: &Tally,
    ) -> Option<gitlab_graphql::Found> {
        if wanted.len() <= gitlab_graphql::pages_for(listed) {
            return None;
        }
        Some(
            gitlab_graphql::group_languages(
                &self.http,
                &self.graphql,
                &profile.login,
                wanted,
                tally,
            )
            .await,
        )
    }

    /// `GET /projects/{id}/dependencies` (GitLab Ultimate); 401/403/404 mean "not available".
    async fn dependencies(
        &self,
        repo: &RepoListing,
        cache: &Validators,
        tally: &Tally,
    ) -> Result<Cached<Dependencies>, SourceError> {
        let url = self.project_url(repo.id, "dependencies");
        let absent = [
            StatusCode::UNAUTHORIZED,
            StatusCode::FORBIDDEN,
            StatusCode::NOT_FOUND,
        ];
        let found = self
            .http
            .get_cached(&url, cache.get(url.as_str()), tally, &absent, |body, _| {
                let raw: Vec<WireDependency> =
                    serde_json::from_slice(body).map_err(|e| format!("dependencies: {e}"))?;
                let mut libraries: Vec<Library> = raw
                    .into_iter()
                    .filter_map(WireDependency::into_library)
                    .collect();
                libraries.sort();
                libraries.dedup();
                Ok(Dependencies::Libraries(libraries))
            })
            .await?;
        Ok(found.unwrap_or_else(super::not_available))
    }

    async fn activity(
        &self,
        ask: &ActivityAsk<'_>,
        tally: &Tally,
    ) -> Result<Option<ActivityBatch>, SourceError> {
        gitlab_activity::Sync {
            http: &self.http,
            root: &self.root,
            forge: ask.forge,
            group_id: ask.profile.id,
            repos: ask.repos,
            since: ask.since,
            bots: ask.bots,
            tally,
        }
        .read()
        .await
    }

    async fn first_responses(
        &self,
        items: &[Unanswered],
        bots: &BotRules,
        tally: &Tally,
    ) -> Result<HashMap<ItemKey, DateTime<Utc>>, SourceError> {
        gitlab_activity::first_responses(&self.http, &self.root, items, bots, tally).await
    }

    fn rate_limit_remaining(&self) -> Option<u64> {
        self.http.rate_limit_remaining()
    }
}

/// One page of projects. `group` (lower case) is the listed group's full path: a project's
/// name is its path below it (`cli`, `subgroup/cli`), so subgroups never collide.
fn decode_projects(body: &[u8], meta: &Meta<'_>, group: &str) -> Result<RepoPage, String> {
    let mut page = decode_entries(body, meta.url, |w: WireProject| w.into_listing(group))?;
    page.total_pages = meta.number("x-total-pages").map(|n| n as usize);
    page.next = meta
        .links
        .next
        .as_ref()
        .map(Url::to_string)
        // `x-next-page` is present but empty on the last page.
        .or_else(|| {
            meta.number("x-next-page")
                .map(|n| with_page(meta.url, n as usize).to_string())
        });
    page.last = meta.links.last.as_ref().map(Url::to_string);
    Ok(page)
}

#[derive(Deserialize)]
struct WireGroup {
    id: i64,
    #[serde(default)]
    full_path: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    web_url: Option<String>,
    #[serde(default)]
    avatar_url: Option<String>,
    #[serde(default, deserialize_with = "lenient_time")]
    created_at: Option<DateTime<Utc>>,
}

impl WireGroup {
    fn into_profile(self) -> OrgProfile {
        OrgProfile {
            id: self.id,
            login: non_empty(self.full_path)
                .or(non_empty(self.path))
                .unwrap_or_else(|| self.id.to_string()),
            name: non_empty(self.name),
            description: non_empty(self.description),
            blog: None,
            location: None,
            html_url: non_empty(self.web_url),
            avatar_url: non_empty(self.avatar_url),
            public_repos: None,
            followers: None,
            created_at: self.created_at,
            updated_at: None,
            is_verified: None,
        }
    }
}

#[derive(Deserialize)]
struct WireNamespace {
    #[serde(default)]
    full_path: Option<String>,
}

#[derive(Deserialize)]
struct WireProject {
    id: i64,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    path_with_namespace: Option<String>,
    #[serde(default)]
    namespace: Option<WireNamespace>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    web_url: Option<String>,
    #[serde(default)]
    star_count: Option<u64>,
    #[serde(default)]
    forks_count: Option<u64>,
    /// Absent when the issues feature is off, and in `simple` listings.
    #[serde(default)]
    open_issues_count: Option<u64>,
    #[serde(default)]
    topics: Option<Vec<String>>,
    /// Older instances call the topics `tag_list`.
    #[serde(default)]
    tag_list: Option<Vec<String>>,
    #[serde(default)]
    archived: Option<bool>,
    #[serde(default)]
    forked_from_project: Option<serde_json::Value>,
    #[serde(default)]
    default_branch: Option<String>,
    #[serde(default)]
    visibility: Option<String>,
    #[serde(default, deserialize_with = "lenient_time")]
    created_at: Option<DateTime<Utc>>,
    /// Moves for any activity, written at most once an hour: the activity marker.
    #[serde(default, deserialize_with = "lenient_time")]
    last_activity_at: Option<DateTime<Utc>>,
}

impl WireProject {
    fn into_listing(self, group: &str) -> Option<RepoListing> {
        let full_name = non_empty(self.path_with_namespace).or_else(|| {
            let namespace = self.namespace.and_then(|n| non_empty(n.full_path))?;
            Some(format!("{namespace}/{}", non_empty(self.path.clone())?))
        })?;
        let below = full_name
            .get(group.len()..)
            .filter(|_| full_name.to_ascii_lowercase().starts_with(group))
            .and_then(|rest| rest.strip_prefix('/'))
            .filter(|rest| !rest.is_empty());
        let name = below
            .map(str::to_owned)
            .or(non_empty(self.path))
            .unwrap_or_else(|| full_name.clone());
        let mut topics = self.topics.or(self.tag_list).unwrap_or_default();
        topics.sort();
        topics.dedup();
        Some(RepoListing {
            id: self.id,
            name,
            full_name,
            description: non_empty(self.description),
            html_url: non_empty(self.web_url),
            // GitLab's listing names no primary language.
            language: None,
            stars: self.star_count.unwrap_or(0),
            watchers: 0,
            forks: self.forks_count.unwrap_or(0),
            open_issues: self.open_issues_count,
            license: None,
            topics,
            archived: self.archived.unwrap_or(false),
            disabled: false,
            fork: self.forked_from_project.is_some_and(|p| !p.is_null()),
            size_kb: 0,
            default_branch: non_empty(self.default_branch),
            created_at: self.created_at,
            updated_at: self.last_activity_at,
            pushed_at: None,
            visibility: non_empty(self.visibility),
            node_id: None,
            open_pull_requests: None,
        })
    }
}

#[derive(Deserialize)]
struct WireLicence {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    spdx_identifier: Option<String>,
}

#[derive(Deserialize)]
struct WireDependency {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    package_manager: Option<String>,
    #[serde(default)]
    licenses: Option<Vec<WireLicence>>,
}

impl WireDependency {
    fn into_library(self) -> Option<Library> {
        let name = non_empty(self.name)?;
        // GitLab names the package manager; the purl type is what the portal groups by.
        let ecosystem = match non_empty(self.package_manager)?
            .to_ascii_lowercase()
            .as_str()
        {
            "bundler" => "gem".to_owned(),
            "yarn" | "npm" | "pnpm" => "npm".to_owned(),
            "pip" | "pipenv" | "poetry" | "setuptools" | "uv" => "pypi".to_owned(),
            "maven" | "gradle" | "sbt" => "maven".to_owned(),
            "go" => "golang".to_owned(),
            other => other.to_owned(),
        };
        let license = self.licenses.and_then(|l| {
            l.into_iter()
                .find_map(|l| non_empty(l.spdx_identifier).or(non_empty(l.name)))
        });
        Some(Library {
            ecosystem,
            name,
            version: non_empty(self.version),
            license,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::http::Links;
    use reqwest::header::{HeaderMap, HeaderValue};

    fn client() -> GitLab {
        GitLab::new(
            "https://gitlab.example/api/v4",
            None,
            HttpPolicy::default(),
            CancellationToken::new(),
            Arc::default(),
        )
        .expect("client")
    }

    #[test]
    fn encodes_group_paths_as_one_segment() {
        let gl = client();
        assert_eq!(
            gl.group_url("gitlab-org/ci-cd").as_str(),
            "https://gitlab.example/api/v4/groups/gitlab-org%2Fci-cd"
        );
        assert_eq!(
            gl.projects_url(9).as_str(),
            "https://gitlab.example/api/v4/groups/9/projects?include_subgroups=true&with_shared=false&order_by=id&sort=asc&per_page=100&page=1"
        );
    }

    #[test]
    fn decodes_projects_tolerantly_and_names_them_below_the_group() {
        let url =
            Url::parse("https://gitlab.example/api/v4/groups/9/projects?page=2").expect("url");
        let mut headers = HeaderMap::new();
        headers.insert("x-next-page", HeaderValue::from_static("3"));
        headers.insert("x-total-pages", HeaderValue::from_static(""));
        let meta = Meta {
            url: &url,
            links: Links::default(),
            headers: &headers,
        };
        let body = serde_json::json!([
            {"id": 1, "path": "cli", "path_with_namespace": "Group/cli", "star_count": 3,
             "forks_count": 1, "open_issues_count": 2, "topics": ["b", "a", "b"],
             "last_activity_at": "2026-01-02T03:04:05.123Z", "forked_from_project": {"id": 7}},
            {"id": 2, "path": "lib", "path_with_namespace": "group/sub/lib", "archived": true},
            {"id": 3, "path": "x", "namespace": {"full_path": "group/sub"}, "tag_list": ["t"]},
            {"id": 4},
            {"path": "no-id"}
        ]);
        let page = decode_projects(body.to_string().as_bytes(), &meta, "group").expect("page");
        let names: Vec<&str> = page.repos.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["cli", "sub/lib", "sub/x"]);
        let cli = &page.repos[0];
        assert_eq!((cli.stars, cli.forks, cli.open_issues), (3, 1, Some(2)));
        assert!(cli.fork);
        assert_eq!(cli.topics, ["a", "b"]);
        assert!(cli.updated_at.is_some() && cli.pushed_at.is_none());
        assert_eq!(
            page.repos[1].open_issues, None,
            "missing is unknown, not zero, and not fatal"
        );
        assert!(page.repos[1].archived);
        assert_eq!(page.repos[2].topics, ["t"]);
        assert_eq!(page.unreadable_ids, [4]);
        assert_eq!(page.unreadable_without_id, 1);
        assert_eq!(page.total_pages, None);
        assert_eq!(
            page.next.as_deref(),
            Some("https://gitlab.example/api/v4/groups/9/projects?page=3")
        );
    }
}
