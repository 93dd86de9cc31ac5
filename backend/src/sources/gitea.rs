//! The Gitea / Forgejo REST v1 client (Codeberg or self-hosted): an organisation's
//! profile, every repository, and per-repository languages (bytes).
//!
//! Facts relied on are in `shared/FORGE-APIS.md`: the page size is `limit`, silently
//! capped at the server's `max_response_items` (read once per run from
//! `GET /settings/api`); `X-Total-Count` gives the page count, so pages go in parallel
//! and their URLs are built here (`Link` URLs can carry a wrong `AppURL`). Listings carry
//! no `ETag`: each page's body hash is kept instead, so an unchanged page is neither
//! decoded nor written again. A renamed organisation answers 307 to its new name, which
//! the HTTP client follows. These forges serve no dependency list.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::header::AUTHORIZATION;
use reqwest::StatusCode;
use serde::Deserialize;
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;
use url::Url;

use super::http::{Cached, HttpClient, HttpPolicy, Meta, SourceError, Tally};
use super::paging::{Listing, Pages};
use super::{
    add_token, base_headers, bytes_per_language, decode_entries, lenient_time, non_empty, required,
    ActivityAsk, ActivityBatch, ApiRoot, Dependencies, ForgeSource, RepoPage, Validators,
};
use crate::domain::Secret;
use crate::domain::{OrgProfile, RepoListing};
use crate::metrics::Metrics;

/// The page size when the server does not say (Gitea's default `max_response_items`).
const DEFAULT_PAGE_SIZE: usize = 50;

/// A client for one Gitea or Forgejo server.
#[derive(Debug)]
pub(crate) struct Gitea {
    http: HttpClient,
    root: ApiRoot,
    /// The server's `max_response_items`, asked once.
    page_size: OnceCell<usize>,
}

impl Gitea {
    /// `api_url` is the REST root (`https://codeberg.org/api/v1`).
    pub(crate) fn new(
        api_url: &str,
        token: Option<&Secret>,
        policy: HttpPolicy,
        cancel: CancellationToken,
        metrics: Arc<Metrics>,
    ) -> Result<Self, SourceError> {
        let root = ApiRoot::parse(api_url)?;
        let mut headers = base_headers("application/json");
        add_token(&mut headers, AUTHORIZATION, "token ", token, api_url)?;
        Ok(Gitea {
            http: HttpClient::new(policy, headers, cancel, metrics)?.hashing_bodies(),
            root,
            page_size: OnceCell::new(),
        })
    }

    pub(crate) fn org_url(&self, name: &str) -> Url {
        self.root.url_encoded(&["orgs", name], None)
    }

    /// The first page of the organisation's repositories, `limit` at the server's cap.
    pub(crate) fn repos_url(&self, name: &str, limit: usize) -> Url {
        self.root.url_encoded(
            &["orgs", name, "repos"],
            Some(&format!("limit={limit}&page=1")),
        )
    }

    /// The server's `max_response_items`; its default when the server does not say.
    async fn page_size(&self, tally: &Tally) -> Result<usize, SourceError> {
        self.page_size
            .get_or_try_init(|| async {
                let url = self.root.url_encoded(&["settings", "api"], None);
                let found = self
                    .http
                    .get_cached(&url, None, tally, &[StatusCode::NOT_FOUND], |body, _| {
                        let wire: WireApiSettings = serde_json::from_slice(body)
                            .map_err(|e| format!("API settings: {e}"))?;
                        Ok(wire.max_response_items)
                    })
                    .await;
                let found = match found {
                    Ok(found) => found,
                    // An instance that hides its settings (or answers them with garbage)
                    // is still listed, at the default page size.
                    Err(e @ (SourceError::Status { .. } | SourceError::Malformed { .. })) => {
                        tracing::warn!(error = %e, "API settings not readable; paging by {DEFAULT_PAGE_SIZE}");
                        None
                    }
                    Err(e) => return Err(e),
                };
                Ok(found
                    .and_then(|c| c.value)
                    .filter(|n| *n > 0)
                    .map_or(DEFAULT_PAGE_SIZE, |n| n.min(1_000) as usize))
            })
            .await
            .copied()
    }
}

#[async_trait]
impl ForgeSource for Gitea {
    async fn org(
        &self,
        path: &str,
        cache: &Validators,
        tally: &Tally,
    ) -> Result<Cached<OrgProfile>, SourceError> {
        let url = self.org_url(path);
        let web_root = self.web_root();
        self.http
            .get_cached(&url, cache.get(url.as_str()), tally, &[], |body, _| {
                let wire: WireOrg =
                    serde_json::from_slice(body).map_err(|e| format!("organisation: {e}"))?;
                Ok(wire.into_profile(web_root.as_ref()))
            })
            .await
            .map(required)
    }

    /// These forges have no organisation-by-id lookup; a rename is followed by the 307
    /// the old name answers, so a 404 means the organisation is gone.
    async fn org_by_id(&self, _id: i64, _tally: &Tally) -> Result<Option<OrgProfile>, SourceError> {
        Ok(None)
    }

    async fn listing(
        &self,
        _path: &str,
        profile: &OrgProfile,
        cache: &Validators,
        tally: &Tally,
    ) -> Result<Listing, SourceError> {
        let limit = self.page_size(tally).await?;
        // The name the forge answered with: after a rename (307) that is the new one.
        Pages {
            http: &self.http,
            cache,
            tally,
            first: self.repos_url(&profile.login, limit),
            page_size: limit,
            decode: |body: &[u8], meta: &Meta<'_>| decode_repos(body, meta, limit),
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
        let url = self
            .root
            .url(&["repos", &repo.full_name, "languages"], None);
        self.http
            .get_cached(&url, cache.get(url.as_str()), tally, &[], |body, _| {
                bytes_per_language(body)
            })
            .await
            .map(required)
    }

    async fn dependencies(
        &self,
        _repo: &RepoListing,
        _cache: &Validators,
        _tally: &Tally,
    ) -> Result<Cached<Dependencies>, SourceError> {
        Ok(super::not_available())
    }

    async fn activity(
        &self,
        ask: &ActivityAsk<'_>,
        tally: &Tally,
    ) -> Result<Option<ActivityBatch>, SourceError> {
        super::gitea_activity::Sync {
            http: &self.http,
            root: &self.root,
            forge: ask.forge,
            owner: &ask.profile.login,
            repos: ask.repos,
            since: ask.since,
            bots: ask.bots,
            page_size: self.page_size(tally).await?,
            tally,
        }
        .read()
        .await
    }

    fn rate_limit_remaining(&self) -> Option<u64> {
        self.http.rate_limit_remaining()
    }
}

impl Gitea {
    /// The web root the API lives under (`https://codeberg.org/` for `…/api/v1`), for
    /// links the API does not give (an organisation's page).
    fn web_root(&self) -> Option<Url> {
        let api = self.root.url(&[], None);
        let path = api.path().trim_end_matches('/');
        let web = path.strip_suffix("/api/v1")?;
        let mut url = api.clone();
        url.set_path(&format!("{web}/"));
        Some(url)
    }
}

fn decode_repos(body: &[u8], meta: &Meta<'_>, limit: usize) -> Result<RepoPage, String> {
    let mut page = decode_entries(body, meta.url, WireRepo::into_listing)?;
    page.total_pages = meta
        .number("x-total-count")
        .map(|total| (total as usize).div_ceil(limit.max(1)));
    Ok(page)
}

#[derive(Deserialize)]
struct WireApiSettings {
    #[serde(default)]
    max_response_items: Option<u64>,
}

#[derive(Deserialize)]
struct WireOrg {
    id: i64,
    /// Gitea calls the login `username` in answers and `name` in requests.
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    full_name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    website: Option<String>,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    avatar_url: Option<String>,
}

impl WireOrg {
    fn into_profile(self, web_root: Option<&Url>) -> OrgProfile {
        let login = non_empty(self.username)
            .or(non_empty(self.name))
            .unwrap_or_else(|| self.id.to_string());
        OrgProfile {
            id: self.id,
            html_url: web_root
                .and_then(|root| root.join(&login).ok())
                .map(String::from),
            login,
            name: non_empty(self.full_name),
            description: non_empty(self.description),
            blog: non_empty(self.website),
            location: non_empty(self.location),
            avatar_url: non_empty(self.avatar_url),
            public_repos: None,
            followers: None,
            created_at: None,
            updated_at: None,
            is_verified: None,
        }
    }
}

#[derive(Deserialize)]
struct WireRepo {
    id: i64,
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
    stars_count: Option<u64>,
    #[serde(default)]
    watchers_count: Option<u64>,
    #[serde(default)]
    forks_count: Option<u64>,
    #[serde(default)]
    open_issues_count: Option<u64>,
    #[serde(default)]
    open_pr_counter: Option<u64>,
    /// Newer servers list the licences they detected.
    #[serde(default)]
    licenses: Option<Vec<String>>,
    #[serde(default)]
    topics: Option<Vec<String>>,
    #[serde(default)]
    archived: Option<bool>,
    #[serde(default)]
    fork: Option<bool>,
    #[serde(default)]
    private: Option<bool>,
    #[serde(default)]
    internal: Option<bool>,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    default_branch: Option<String>,
    #[serde(default, deserialize_with = "lenient_time")]
    created_at: Option<DateTime<Utc>>,
    /// Moves on pushes and on settings edits: the activity marker (there is no push time).
    #[serde(default, deserialize_with = "lenient_time")]
    updated_at: Option<DateTime<Utc>>,
}

impl WireRepo {
    fn into_listing(self) -> Option<RepoListing> {
        let full_name = non_empty(self.full_name);
        let name = non_empty(self.name).or_else(|| {
            full_name
                .as_deref()
                .and_then(|f| f.rsplit('/').next())
                .map(str::to_owned)
        })?;
        let full_name = full_name?;
        let mut topics = self.topics.unwrap_or_default();
        topics.sort();
        topics.dedup();
        let visibility = match (self.private, self.internal) {
            (Some(true), _) => Some("private"),
            (_, Some(true)) => Some("internal"),
            (Some(false), _) => Some("public"),
            _ => None,
        };
        Some(RepoListing {
            id: self.id,
            name,
            full_name,
            description: non_empty(self.description),
            html_url: non_empty(self.html_url),
            language: non_empty(self.language),
            stars: self.stars_count.unwrap_or(0),
            watchers: self.watchers_count.unwrap_or(0),
            forks: self.forks_count.unwrap_or(0),
            // Like GitHub's figure: issues and pull requests together (the pull
            // requests apart too, below; a server without `open_pr_counter` counts
            // issues alone, left as it says).
            open_issues: self
                .open_issues_count
                .map(|issues| issues + self.open_pr_counter.unwrap_or(0)),
            license: self
                .licenses
                .and_then(|l| l.into_iter().find_map(|l| non_empty(Some(l)))),
            topics,
            archived: self.archived.unwrap_or(false),
            disabled: false,
            fork: self.fork.unwrap_or(false),
            size_kb: self.size.unwrap_or(0),
            default_branch: non_empty(self.default_branch),
            created_at: self.created_at,
            updated_at: self.updated_at,
            pushed_at: None,
            visibility: visibility.map(str::to_owned),
            node_id: None,
            open_pull_requests: self.open_pr_counter,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::http::Links;
    use reqwest::header::{HeaderMap, HeaderValue};

    fn client() -> Gitea {
        Gitea::new(
            "https://codeberg.example/api/v1",
            None,
            HttpPolicy::default(),
            CancellationToken::new(),
            Arc::default(),
        )
        .expect("client")
    }

    #[test]
    fn builds_urls_and_the_web_root() {
        let c = client();
        assert_eq!(
            c.repos_url("forgejo", 50).as_str(),
            "https://codeberg.example/api/v1/orgs/forgejo/repos?limit=50&page=1"
        );
        assert_eq!(
            c.web_root().map(String::from).as_deref(),
            Some("https://codeberg.example/")
        );
    }

    #[test]
    fn decodes_tolerantly_and_counts_pages() {
        let url = Url::parse("https://codeberg.example/api/v1/orgs/a/repos?limit=50&page=1")
            .expect("url");
        let mut headers = HeaderMap::new();
        headers.insert("x-total-count", HeaderValue::from_static("101"));
        let meta = Meta {
            url: &url,
            links: Links::default(),
            headers: &headers,
        };
        let body = serde_json::json!([
            {"id": 1, "name": "a", "full_name": "org/a", "stars_count": 4, "open_issues_count": 2,
             "open_pr_counter": 1, "licenses": ["MIT"], "private": false, "updated_at": "2026-01-01T00:00:00+01:00"},
            {"id": 2, "full_name": "org/b", "topics": null, "size": "big"},
            {"id": 3, "full_name": "org/c", "created_at": "yesterday"}
        ]);
        let page = decode_repos(body.to_string().as_bytes(), &meta, 50).expect("page");
        assert_eq!(page.total_pages, Some(3));
        assert_eq!(page.repos.len(), 2);
        let a = &page.repos[0];
        assert_eq!(
            (a.stars, a.open_issues, a.open_pull_requests),
            (4, Some(3), Some(1))
        );
        assert_eq!(a.license.as_deref(), Some("MIT"));
        assert_eq!(a.visibility.as_deref(), Some("public"));
        assert!(a.updated_at.is_some() && a.pushed_at.is_none());
        assert_eq!(page.repos[1].name, "c");
        assert_eq!(page.unreadable_ids, [2]);
    }
}
