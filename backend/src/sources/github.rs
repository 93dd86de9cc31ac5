//! The GitHub REST client: organisation profile, repository listing (paginated by the
//! `link` header), per-repo languages and dependency-graph SBOMs.
//!
//! SBOMs come through the export GitHub put in place of the synchronous endpoint it
//! removed on 2026-11-13: `generate-report` answers where the report will be, that
//! address is polled (202 while it is generated, honouring `retry-after`, within
//! [`HttpPolicy::report_wait`]) until it redirects to a temporary download, which is
//! fetched **without** the GitHub token (the storage host refuses it). Exports in flight
//! are bounded; a poll's wait holds no request permit, so the rest of the refresh goes on.
//! Where `generate-report` is 404 (an older GitHub Enterprise), the old endpoint is used.
//!
//! Facts relied on are in `shared/FORGE-APIS.md`. Wire types are private and tolerant:
//! absent, null and unknown fields never fail a page, and an entry that cannot be read is
//! skipped and counted rather than failing its page.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::StatusCode;
use serde::Deserialize;
use url::Url;

use tokio_util::sync::CancellationToken;

use super::github_app::GitHubApp;
use super::github_graphql::{GitHubGraphql, Outcome};
use super::http::{Answer, Cached, HttpClient, HttpPolicy, Meta, Outgoing, SourceError, Tally};
use super::paging::{Listing, Pages};
use super::{
    add_token, base_headers, bytes_per_language, decode_entries, lenient_time, non_empty, required,
    sbom, ActivityAsk, ActivityBatch, ApiRoot, Dependencies, ForgeSource, RepoPage, Unanswered,
    Validators, GITHUB_API_VERSION,
};
use crate::domain::activity::{BotRules, ItemKey};
use crate::domain::{AppCredentials, Secret};
use crate::domain::{HttpCacheEntry, OrgProfile, RepoListing};
use crate::metrics::Metrics;

/// A client for one GitHub (github.com or an Enterprise server).
#[derive(Debug)]
pub(crate) struct GitHub {
    http: HttpClient,
    /// For the SBOM downloads: no token (the storage host answers 401 to one).
    download: HttpClient,
    /// SBOM exports in flight at once.
    exports: tokio::sync::Semaphore,
    report_wait: std::time::Duration,
    report_poll: std::time::Duration,
    /// Details 100 repositories a request, when there is a token.
    graphql: Option<GitHubGraphql>,
    /// Authenticating as a GitHub App: a client per installation.
    app: Option<AppClients>,
    root: ApiRoot,
}

/// What it takes to build a client for one GitHub: with a personal token, with an
/// installation's token, or with none.
#[derive(Debug, Clone)]
pub(crate) struct Setup {
    pub api_url: String,
    /// GraphQL's endpoint when not the one derived from the REST root.
    pub graphql_url: Option<String>,
    /// The setting the token comes from, for messages.
    pub token_setting: String,
    /// The forge instance's name, for metrics.
    pub forge: String,
    pub policy: HttpPolicy,
    pub cancel: CancellationToken,
    pub metrics: Arc<Metrics>,
}

impl Setup {
    /// A client sending `token` (REST and, since there is a token, GraphQL).
    pub(crate) fn client(&self, token: Option<&Secret>) -> Result<GitHub, SourceError> {
        let graphql = match token {
            // GraphQL needs a token: without one, the REST path is the only one.
            None => None,
            Some(token) => {
                let endpoint = match &self.graphql_url {
                    Some(url) => Url::parse(url),
                    None => super::github_graphql::endpoint_for(&self.api_url),
                }
                .map_err(|e| SourceError::Connect {
                    url: self.api_url.clone(),
                    detail: format!("no usable GraphQL endpoint: {e}"),
                })?;
                Some(GitHubGraphql::new(
                    endpoint,
                    token,
                    &self.token_setting,
                    &self.forge,
                    self.policy.clone(),
                    self.cancel.clone(),
                    self.metrics.clone(),
                )?)
            }
        };
        Ok(GitHub::new(
            &self.api_url,
            token,
            self.policy.clone(),
            self.cancel.clone(),
            self.metrics.clone(),
        )?
        .with_graphql(graphql))
    }

    /// A client that authenticates as the GitHub App `credentials` describe: each
    /// organisation is read with its installation's token ([`GitHub::scoped`]).
    pub(crate) fn with_app(self, credentials: AppCredentials) -> Result<GitHub, SourceError> {
        let mut headers = base_headers("application/vnd.github+json");
        headers.insert(
            "x-github-api-version",
            HeaderValue::from_static(GITHUB_API_VERSION),
        );
        let http = HttpClient::new(
            self.policy.clone(),
            headers,
            self.cancel.clone(),
            self.metrics.clone(),
        )?;
        let app = GitHubApp::new(credentials, ApiRoot::parse(&self.api_url)?, http);
        let mut github = self.client(None)?;
        github.app = Some(AppClients {
            app,
            setup: self,
            clients: tokio::sync::Mutex::new(HashMap::new()),
        });
        Ok(github)
    }
}

/// A GitHub App's clients, one per installation, each with that installation's token
/// until it is renewed.
#[derive(Debug)]
struct AppClients {
    app: GitHubApp,
    setup: Setup,
    clients: tokio::sync::Mutex<HashMap<u64, InstallationClient>>,
}

/// An installation's client and when its token expires.
type InstallationClient = (chrono::DateTime<Utc>, Arc<GitHub>);

impl GitHub {
    /// `api_url` is the REST root (`https://api.github.com`, `https://ghe.example/api/v3`).
    pub(crate) fn new(
        api_url: &str,
        token: Option<&Secret>,
        policy: HttpPolicy,
        cancel: CancellationToken,
        metrics: Arc<Metrics>,
    ) -> Result<Self, SourceError> {
        let root = ApiRoot::parse(api_url)?;
        let mut headers = base_headers("application/vnd.github+json");
        headers.insert(
            "x-github-api-version",
            HeaderValue::from_static(GITHUB_API_VERSION),
        );
        add_token(&mut headers, AUTHORIZATION, "Bearer ", token, api_url)?;
        Ok(GitHub {
            download: HttpClient::new(
                policy.clone(),
                base_headers("application/json"),
                cancel.clone(),
                metrics.clone(),
            )?,
            exports: tokio::sync::Semaphore::new(policy.concurrency.max(1)),
            report_wait: policy.report_wait,
            report_poll: policy.report_poll,
            http: HttpClient::new(policy, headers, cancel, metrics)?,
            graphql: None,
            app: None,
            root,
        })
    }

    /// Asks repository details over GraphQL (`None`: the REST calls only).
    pub(crate) fn with_graphql(mut self, graphql: Option<GitHubGraphql>) -> Self {
        self.graphql = graphql;
        self
    }

    fn url(&self, segments: &[&str], query: Option<&str>) -> Url {
        self.root.url(segments, query)
    }

    /// `GET /orgs/{org}`.
    pub(crate) fn org_url(&self, login: &str) -> Url {
        self.url(&["orgs", login], None)
    }

    /// The first page of `GET /orgs/{org}/repos`; later pages come from `link` headers.
    pub(crate) fn repos_url(&self, login: &str) -> Url {
        self.url(&["orgs", login, "repos"], Some("per_page=100&type=public"))
    }

    pub(crate) fn languages_url(&self, full_name: &str) -> Url {
        self.url(&["repos", full_name, "languages"], None)
    }

    /// The synchronous SBOM endpoint GitHub removed (kept for older Enterprise servers).
    pub(crate) fn sbom_url(&self, full_name: &str) -> Url {
        self.url(&["repos", full_name, "dependency-graph", "sbom"], None)
    }

    /// `GET …/dependency-graph/sbom/generate-report`: where the export will be.
    pub(crate) fn sbom_report_url(&self, full_name: &str) -> Url {
        self.url(
            &[
                "repos",
                full_name,
                "dependency-graph",
                "sbom",
                "generate-report",
            ],
            None,
        )
    }

    /// The organisation's profile.
    async fn profile(
        &self,
        login: &str,
        prior: Option<&HttpCacheEntry>,
        tally: &Tally,
    ) -> Result<Cached<OrgProfile>, SourceError> {
        let url = self.org_url(login);
        self.http
            .get_cached(&url, prior, tally, &[], |body, _| {
                let wire: WireOrg =
                    serde_json::from_slice(body).map_err(|e| format!("organisation: {e}"))?;
                Ok(wire.into_profile())
            })
            .await
            .map(required)
    }

    /// The organisation with forge id `id`, under its current login (`GET
    /// /organizations/{id}`); `None` when the forge knows no such organisation. This is
    /// how a renamed organisation is found: its old login answers 404.
    async fn profile_by_id(
        &self,
        id: i64,
        tally: &Tally,
    ) -> Result<Option<OrgProfile>, SourceError> {
        let url = self.url(&["organizations", &id.to_string()], None);
        let found = self
            .http
            .get_cached(&url, None, tally, &[StatusCode::NOT_FOUND], |body, _| {
                let wire: WireOrg =
                    serde_json::from_slice(body).map_err(|e| format!("organisation: {e}"))?;
                Ok(wire.into_profile())
            })
            .await?;
        Ok(found.map(|c| c.value))
    }

    /// Language → bytes of one repository.
    async fn repo_languages(
        &self,
        full_name: &str,
        prior: Option<&HttpCacheEntry>,
        tally: &Tally,
    ) -> Result<Cached<BTreeMap<String, u64>>, SourceError> {
        let url = self.languages_url(full_name);
        self.http
            .get_cached(&url, prior, tally, &[], |body, _| bytes_per_language(body))
            .await
            .map(required)
    }

    /// The libraries in one repository's dependency graph, through the SBOM export; 403
    /// (and 404 from both the export and the old endpoint) mean "not available".
    async fn repo_dependencies(
        &self,
        full_name: &str,
        prior: Option<&HttpCacheEntry>,
        tally: &Tally,
    ) -> Result<Cached<Dependencies>, SourceError> {
        let _slot = self
            .exports
            .acquire()
            .await
            .expect("the semaphore is never closed");
        let url = self.sbom_report_url(full_name);
        let asked = self.http.send(&Outgoing::get(&url), tally).await?;
        let report = match asked.status.as_u16() {
            200..=202 => report_address(&asked, &url)?,
            404 => return self.legacy_dependencies(full_name, prior, tally).await,
            403 => return Ok(super::not_available()),
            _ => return Err(asked.unexpected(&url)),
        };
        let download = self.await_report(&report, tally).await?;
        let answer = self.download.send(&Outgoing::get(&download), tally).await?;
        if answer.status != StatusCode::OK {
            return Err(answer.unexpected(&download));
        }
        let list = sbom::libraries(&answer.body).map_err(|detail| SourceError::Malformed {
            url: report.to_string(),
            detail,
        })?;
        Ok(Cached {
            value: Dependencies::Libraries(list),
            entry: None,
            not_modified: false,
        })
    }

    /// Polls a report being generated until it redirects to its download (returned),
    /// waiting what `retry-after` says, else a doubling wait, within the report wait.
    async fn await_report(&self, report: &Url, tally: &Tally) -> Result<Url, SourceError> {
        let started = tokio::time::Instant::now();
        let mut wait = self.report_poll;
        loop {
            let poll = Outgoing {
                follow_redirects: false,
                ..Outgoing::get(report)
            };
            let answer = self.http.send(&poll, tally).await?;
            match answer.status.as_u16() {
                301..=303 | 307 | 308 => {
                    return answer
                        .location(report)
                        .ok_or_else(|| SourceError::Malformed {
                            url: report.to_string(),
                            detail: "a redirect without a usable location".into(),
                        })
                }
                201 | 202 => {
                    let pause = answer.retry_after().unwrap_or(wait);
                    if started.elapsed() + pause > self.report_wait {
                        return Err(SourceError::Timeout {
                            url: report.to_string(),
                            seconds: self.report_wait.as_secs().max(1),
                        });
                    }
                    self.http.sleep(pause).await?;
                    wait = (wait * 2).min(std::time::Duration::from_secs(30));
                }
                _ => return Err(answer.unexpected(report)),
            }
        }
    }

    /// The synchronous endpoint, where `generate-report` does not exist (older GitHub
    /// Enterprise); 403/404 mean "not available".
    async fn legacy_dependencies(
        &self,
        full_name: &str,
        prior: Option<&HttpCacheEntry>,
        tally: &Tally,
    ) -> Result<Cached<Dependencies>, SourceError> {
        let url = self.sbom_url(full_name);
        let found = self
            .http
            .get_cached(
                &url,
                prior,
                tally,
                &[StatusCode::NOT_FOUND, StatusCode::FORBIDDEN],
                |body, _| sbom::libraries(body).map(Dependencies::Libraries),
            )
            .await?;
        Ok(found.unwrap_or_else(super::not_available))
    }
}

/// The report address a `generate-report` answer names (`sbom_url`).
fn report_address(answer: &Answer, asked: &Url) -> Result<Url, SourceError> {
    #[derive(Deserialize)]
    struct Generated {
        sbom_url: String,
    }
    let generated: Generated =
        serde_json::from_slice(&answer.body).map_err(|e| SourceError::Malformed {
            url: asked.to_string(),
            detail: format!("generate-report: {e}"),
        })?;
    asked
        .join(&generated.sbom_url)
        .map_err(|e| SourceError::Malformed {
            url: asked.to_string(),
            detail: format!("sbom_url `{}`: {e}", generated.sbom_url),
        })
}

#[async_trait]
impl ForgeSource for GitHub {
    async fn org(
        &self,
        path: &str,
        cache: &Validators,
        tally: &Tally,
    ) -> Result<Cached<OrgProfile>, SourceError> {
        self.profile(path, cache.get(self.org_url(path).as_str()), tally)
            .await
    }

    async fn org_by_id(&self, id: i64, tally: &Tally) -> Result<Option<OrgProfile>, SourceError> {
        self.profile_by_id(id, tally).await
    }

    /// When the first page names the last one, the pages between are fetched
    /// concurrently; otherwise the `link` chain is walked.
    async fn listing(
        &self,
        path: &str,
        _profile: &OrgProfile,
        cache: &Validators,
        tally: &Tally,
    ) -> Result<Listing, SourceError> {
        Pages {
            http: &self.http,
            cache,
            tally,
            first: self.repos_url(path),
            // `link` headers say where the listing ends.
            page_size: 0,
            decode: decode_repo_page,
        }
        .read()
        .await
    }

    async fn languages(
        &self,
        repo: &RepoListing,
        cache: &Validators,
        tally: &Tally,
    ) -> Result<Cached<BTreeMap<String, u64>>, SourceError> {
        let name = repo.full_name.as_str();
        self.repo_languages(name, cache.get(self.languages_url(name).as_str()), tally)
            .await
    }

    async fn dependencies(
        &self,
        repo: &RepoListing,
        cache: &Validators,
        tally: &Tally,
    ) -> Result<Cached<Dependencies>, SourceError> {
        let name = repo.full_name.as_str();
        self.repo_dependencies(name, cache.get(self.sbom_url(name).as_str()), tally)
            .await
    }

    async fn scoped(
        &self,
        org: &str,
        tally: &Tally,
    ) -> Result<Option<Arc<dyn ForgeSource>>, SourceError> {
        let Some(app) = &self.app else {
            return Ok(None);
        };
        let token = app.app.token_for(org, tally).await?;
        let mut clients = app.clients.lock().await;
        if let Some((expires, client)) = clients.get(&token.installation) {
            if *expires == token.expires_at {
                return Ok(Some(client.clone()));
            }
        }
        let client = Arc::new(app.setup.client(Some(&token.token))?);
        clients.insert(token.installation, (token.expires_at, client.clone()));
        Ok(Some(client))
    }

    async fn batch_details(
        &self,
        repos: &[RepoListing],
        tally: &Tally,
    ) -> Option<Result<HashMap<i64, Outcome>, SourceError>> {
        let graphql = self.graphql.as_ref()?;
        let ids: Vec<(i64, String)> = repos
            .iter()
            .filter_map(|r| Some((r.id, r.node_id.clone()?)))
            .collect();
        Some(graphql.details(&ids, tally).await)
    }

    /// Over GraphQL, which needs a token: without one, activity is not available.
    async fn activity(
        &self,
        ask: &ActivityAsk<'_>,
        tally: &Tally,
    ) -> Result<Option<ActivityBatch>, SourceError> {
        let Some(graphql) = self.graphql.as_ref() else {
            return Ok(None);
        };
        super::github_activity::read(graphql, ask, tally)
            .await
            .map(Some)
    }

    async fn first_responses(
        &self,
        items: &[Unanswered],
        bots: &BotRules,
        tally: &Tally,
    ) -> Result<HashMap<ItemKey, DateTime<Utc>>, SourceError> {
        match self.graphql.as_ref() {
            Some(graphql) => {
                super::github_activity::first_responses(graphql, items, bots, tally).await
            }
            None => Ok(HashMap::new()),
        }
    }

    fn rate_limit_remaining(&self) -> Option<u64> {
        self.http.rate_limit_remaining()
    }
}

fn decode_repo_page(body: &[u8], meta: &Meta<'_>) -> Result<RepoPage, String> {
    let mut page = decode_entries(body, meta.url, WireRepo::into_listing)?;
    page.next = meta.links.next.as_ref().map(Url::to_string);
    page.last = meta.links.last.as_ref().map(Url::to_string);
    Ok(page)
}

#[derive(Deserialize)]
struct WireOrg {
    id: i64,
    login: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    blog: Option<String>,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    avatar_url: Option<String>,
    #[serde(default)]
    public_repos: Option<u64>,
    #[serde(default)]
    followers: Option<u64>,
    #[serde(default, deserialize_with = "lenient_time")]
    created_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    updated_at: Option<DateTime<Utc>>,
    #[serde(default)]
    is_verified: Option<bool>,
}

impl WireOrg {
    fn into_profile(self) -> OrgProfile {
        OrgProfile {
            id: self.id,
            login: self.login,
            name: non_empty(self.name),
            description: non_empty(self.description),
            blog: non_empty(self.blog),
            location: non_empty(self.location),
            html_url: self.html_url,
            avatar_url: self.avatar_url,
            public_repos: self.public_repos,
            followers: self.followers,
            created_at: self.created_at,
            updated_at: self.updated_at,
            is_verified: self.is_verified,
        }
    }
}

#[derive(Deserialize)]
struct WireLicense {
    #[serde(default)]
    spdx_id: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct WireRepo {
    id: i64,
    #[serde(default)]
    node_id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    full_name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    stargazers_count: Option<u64>,
    #[serde(default)]
    watchers_count: Option<u64>,
    #[serde(default)]
    forks_count: Option<u64>,
    #[serde(default)]
    open_issues_count: Option<u64>,
    #[serde(default)]
    license: Option<WireLicense>,
    #[serde(default)]
    topics: Option<Vec<String>>,
    #[serde(default)]
    archived: Option<bool>,
    #[serde(default)]
    disabled: Option<bool>,
    #[serde(default)]
    fork: Option<bool>,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    default_branch: Option<String>,
    #[serde(default, deserialize_with = "lenient_time")]
    created_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    updated_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    pushed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    visibility: Option<String>,
}

impl WireRepo {
    /// `None` when neither a name nor a full name is there to show.
    fn into_listing(self) -> Option<RepoListing> {
        let full_name = non_empty(self.full_name);
        let name = non_empty(self.name).or_else(|| {
            full_name
                .as_deref()
                .and_then(|f| f.rsplit('/').next())
                .map(str::to_owned)
        })?;
        let full_name = full_name?;
        let license = self.license.and_then(|l| {
            non_empty(l.spdx_id)
                .filter(|id| id != "NOASSERTION")
                .or(non_empty(l.name))
        });
        let mut topics = self.topics.unwrap_or_default();
        topics.sort();
        topics.dedup();
        Some(RepoListing {
            id: self.id,
            name,
            full_name,
            description: non_empty(self.description),
            html_url: self.html_url,
            language: non_empty(self.language),
            stars: self.stargazers_count.unwrap_or(0),
            watchers: self.watchers_count.unwrap_or(0),
            forks: self.forks_count.unwrap_or(0),
            open_issues: self.open_issues_count,
            license,
            topics,
            archived: self.archived.unwrap_or(false),
            disabled: self.disabled.unwrap_or(false),
            fork: self.fork.unwrap_or(false),
            size_kb: self.size.unwrap_or(0),
            default_branch: non_empty(self.default_branch),
            created_at: self.created_at,
            updated_at: self.updated_at,
            pushed_at: self.pushed_at,
            visibility: non_empty(self.visibility),
            node_id: non_empty(self.node_id),
            // GitHub's REST listing counts them with the issues, never apart.
            open_pull_requests: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::http::Links;
    use reqwest::header::HeaderMap;

    #[test]
    fn builds_urls_under_enterprise_prefixes() {
        let gh = GitHub::new(
            "https://ghe.example/api/v3",
            None,
            HttpPolicy::default(),
            CancellationToken::new(),
            Arc::default(),
        )
        .expect("client");
        assert_eq!(
            gh.org_url("acme").as_str(),
            "https://ghe.example/api/v3/orgs/acme"
        );
        assert_eq!(
            gh.repos_url("acme").as_str(),
            "https://ghe.example/api/v3/orgs/acme/repos?per_page=100&type=public"
        );
        assert_eq!(
            gh.sbom_url("acme/tool.rs").as_str(),
            "https://ghe.example/api/v3/repos/acme/tool.rs/dependency-graph/sbom"
        );
    }

    #[test]
    fn decodes_tolerantly() {
        let url = Url::parse("http://x/orgs/a/repos").expect("url");
        let headers = HeaderMap::new();
        let meta = Meta {
            url: &url,
            links: Links::default(),
            headers: &headers,
        };
        let body = serde_json::json!([
            {"id": 1, "name": "a", "full_name": "o/a", "license": null, "topics": null, "pushed_at": null, "extra": {"x": 1}},
            {"id": 2, "full_name": "o/b", "stargazers_count": 5, "license": {"spdx_id": "NOASSERTION", "name": "Other"}, "created_at": "not a date"},
            {"id": 3, "name": "c", "stargazers_count": "many"},
            {"name": "no id"},
            17
        ]);
        let page = decode_repo_page(body.to_string().as_bytes(), &meta).expect("page");
        assert_eq!(page.repos.len(), 2);
        assert_eq!(page.repos[1].name, "b");
        assert_eq!(page.repos[1].stars, 5);
        assert_eq!(page.repos[1].license.as_deref(), Some("Other"));
        assert_eq!(page.repos[1].created_at, None);
        assert_eq!(page.unreadable_ids, vec![3]);
        assert_eq!(page.unreadable_without_id, 2);
        assert!(decode_repo_page(b"{\"message\":\"x\"}", &meta).is_err());
    }
}
