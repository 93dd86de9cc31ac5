//! One REST client per forge, over a shared HTTP layer. Wire types stay private to each
//! client; what leaves a client is a domain type or a small source type defined here.

pub(crate) mod gitea;
pub(crate) mod gitea_activity;
pub(crate) mod github;
pub(crate) mod github_activity;
pub(crate) mod github_app;
pub(crate) mod github_graphql;
pub(crate) mod gitlab;
pub(crate) mod gitlab_activity;
pub(crate) mod gitlab_graphql;
pub(crate) mod http;
pub mod osv;
pub mod osv_offline;
mod paging;
mod sbom;
pub mod scorecard;

pub(crate) use gitea::Gitea;
pub(crate) use gitlab::GitLab;
pub use http::{Cached, HttpClient, HttpPolicy, SourceError, Tally};
pub(crate) use paging::Listing;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::domain::activity::{ActivityItem, BotRules, ItemKey, ReleaseRecord};
use crate::domain::{AppCredentials, ForgeName, Secret};
use crate::domain::{ForgeInstance, ForgeKind, HttpCacheEntry, Library, OrgProfile, RepoListing};
use crate::metrics::Metrics;

/// The GitHub API version orgpulse is written against (REST and GraphQL).
pub(crate) const GITHUB_API_VERSION: &str = "2022-11-28";

/// What an activity read found: items and releases, and how many entries did not read.
#[derive(Debug, Default)]
pub(crate) struct ActivityBatch {
    pub items: Vec<ActivityItem>,
    pub releases: Vec<ReleaseRecord>,
    pub skipped: u64,
    /// Items with comments whose first response the listing did not settle: read with
    /// [`ForgeSource::first_responses`] where the store has none yet.
    pub unanswered: Vec<Unanswered>,
}

/// Most pages one activity listing is read to (a guard against a server that never ends).
pub(super) const ACTIVITY_MAX_PAGES: usize = 2_000;

/// Statuses that mean "this server does not serve that to this token".
pub(super) const REFUSED: [reqwest::StatusCode; 3] = [
    reqwest::StatusCode::UNAUTHORIZED,
    reqwest::StatusCode::FORBIDDEN,
    reqwest::StatusCode::NOT_FOUND,
];

/// What an activity read asks of a forge.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ActivityAsk<'a> {
    pub forge: &'a ForgeName,
    pub profile: &'a OrgProfile,
    /// The organisation's live repositories: those active since `since` have their
    /// releases read.
    pub repos: &'a [RepoListing],
    /// Items updated from here (inclusive)…
    pub since: DateTime<Utc>,
    /// …to here (the sync's start).
    pub until: DateTime<Utc>,
    pub bots: &'a BotRules,
}

/// An item whose first response is still to be read, and what finds it on its forge.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Unanswered {
    pub key: ItemKey,
    pub repo_id: i64,
    pub number: u64,
    /// Its author, whose own comments are no response.
    pub author: Option<String>,
    /// Its GraphQL node id, where the forge reads it by that.
    pub node: Option<String>,
}

/// The validators kept from earlier runs, by URL.
pub(crate) type Validators = HashMap<String, HttpCacheEntry>;

/// What ingest needs from a forge, whatever its kind. Every call counts its requests in
/// `tally` and sends the validators `cache` holds for its URL; what comes back is a domain
/// type (or a small source type defined here) plus the validators to keep.
#[async_trait]
pub(crate) trait ForgeSource: Send + Sync + std::fmt::Debug {
    /// The organisation (GitLab: group) at `path`.
    async fn org(
        &self,
        path: &str,
        cache: &Validators,
        tally: &Tally,
    ) -> Result<Cached<OrgProfile>, SourceError>;

    /// The organisation with the forge's stable id `id`, under its current path; `None`
    /// when the forge knows no such organisation. How a renamed one is found.
    async fn org_by_id(&self, id: i64, tally: &Tally) -> Result<Option<OrgProfile>, SourceError>;

    /// Every repository of the organisation `profile` describes (fetched just before).
    async fn listing(
        &self,
        path: &str,
        profile: &OrgProfile,
        cache: &Validators,
        tally: &Tally,
    ) -> Result<Listing, SourceError>;

    /// Language → amount for one repository: bytes, or on GitLab hundredths of a percent
    /// ([`ForgeKind::languages_in_bytes`]).
    async fn languages(
        &self,
        repo: &RepoListing,
        cache: &Validators,
        tally: &Tally,
    ) -> Result<Cached<BTreeMap<String, u64>>, SourceError>;

    /// The libraries one repository depends on, when the forge says.
    async fn dependencies(
        &self,
        repo: &RepoListing,
        cache: &Validators,
        tally: &Tally,
    ) -> Result<Cached<Dependencies>, SourceError>;

    /// The per-repository details (languages among them) of many repositories in few
    /// requests, where the forge has a batched API this client may use (GitHub's GraphQL,
    /// with a token); `None` otherwise, and the per-repository calls apply. Every
    /// repository asked that has a node id gets an outcome.
    async fn batch_details(
        &self,
        _repos: &[RepoListing],
        _tally: &Tally,
    ) -> Option<Result<HashMap<i64, github_graphql::Outcome>, SourceError>> {
        None
    }

    /// The languages of the repositories `wanted` of the organisation `profile` describes
    /// (which lists `listed` repositories), read in few requests where the forge has a
    /// batched API for them (GitLab's GraphQL: a group's projects, 100 a request) and that
    /// costs fewer requests than one per wanted repository; `None` otherwise. Repositories
    /// it does not return are asked one by one.
    async fn batch_languages(
        &self,
        _profile: &OrgProfile,
        _wanted: &HashSet<i64>,
        _listed: usize,
        _tally: &Tally,
    ) -> Option<gitlab_graphql::Found> {
        None
    }

    /// The organisation's issues, pull requests and releases updated in `ask`'s span;
    /// `Ok(None)` where this forge gives no activity (not available: a forge kind not
    /// read yet, or a server that refuses the endpoints to this token).
    async fn activity(
        &self,
        _ask: &ActivityAsk<'_>,
        _tally: &Tally,
    ) -> Result<Option<ActivityBatch>, SourceError> {
        Ok(None)
    }

    /// The first responses of `items` (from an [`ActivityBatch`]'s `unanswered`), for those
    /// that have one.
    async fn first_responses(
        &self,
        _items: &[Unanswered],
        _bots: &BotRules,
        _tally: &Tally,
    ) -> Result<HashMap<ItemKey, DateTime<Utc>>, SourceError> {
        Ok(HashMap::new())
    }

    /// The client to use for organisation `org`, when it needs one of its own (a GitHub
    /// App: the installation's token); `None`: this one.
    async fn scoped(
        &self,
        _org: &str,
        _tally: &Tally,
    ) -> Result<Option<Arc<dyn ForgeSource>>, SourceError> {
        Ok(None)
    }

    /// The rate-limit budget left, as the forge last reported it.
    fn rate_limit_remaining(&self) -> Option<u64>;
}

/// The client for `instance`'s kind.
pub(crate) fn connect(
    instance: &ForgeInstance,
    token: Option<&Secret>,
    graphql_url: Option<&str>,
    app: Option<&AppCredentials>,
    policy: HttpPolicy,
    cancel: CancellationToken,
    metrics: Arc<Metrics>,
) -> Result<Arc<dyn ForgeSource>, SourceError> {
    let url = instance.api_url.as_str();
    Ok(match instance.kind {
        ForgeKind::GitHub => {
            let setup = github::Setup {
                api_url: url.to_owned(),
                graphql_url: graphql_url.map(str::to_owned),
                token_setting: instance.token_env.clone(),
                forge: instance.name.as_str().to_owned(),
                policy,
                cancel,
                metrics,
            };
            match app {
                // A GitHub App: each organisation gets a client with its installation's
                // token (see `GitHub::scoped`).
                Some(credentials) => Arc::new(setup.with_app(credentials.clone())?),
                None => Arc::new(setup.client(token)?),
            }
        }
        ForgeKind::GitLab => Arc::new(GitLab::new(url, token, policy, cancel, metrics)?),
        ForgeKind::Gitea | ForgeKind::Forgejo => {
            Arc::new(Gitea::new(url, token, policy, cancel, metrics)?)
        }
    })
}

/// One page of an organisation's repository listing.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct RepoPage {
    pub repos: Vec<RepoListing>,
    /// Ids of entries that could not be read (kept, not marked gone).
    pub unreadable_ids: Vec<i64>,
    /// Entries that could not be read and had no usable id either.
    pub unreadable_without_id: u64,
    /// The `rel="next"` page, verbatim.
    pub next: Option<String>,
    /// The `rel="last"` page, when upstream said.
    pub last: Option<String>,
    /// How many pages the listing has, when upstream said (GitLab's `x-total-pages`,
    /// Gitea's `X-Total-Count` over the page size).
    #[serde(default)]
    pub total_pages: Option<usize>,
}

impl RepoPage {
    /// Entries skipped on this page.
    pub(crate) fn skipped(&self) -> u64 {
        self.unreadable_ids.len() as u64 + self.unreadable_without_id
    }
}

/// The answer of a call that declared no status absent (so there always is one).
pub(crate) fn required<T>(found: Option<Cached<T>>) -> Cached<T> {
    found.expect("no status was declared absent for this call")
}

/// The answer for "dependencies are not something this forge serves": no request made.
pub(crate) fn not_available() -> Cached<Dependencies> {
    Cached {
        value: Dependencies::NotAvailable,
        entry: None,
        not_modified: false,
    }
}

/// Common parts of every client: the API root, always ending in `/`, and URLs under it.
#[derive(Debug, Clone)]
pub(crate) struct ApiRoot(url::Url);

impl ApiRoot {
    pub(crate) fn parse(api_url: &str) -> Result<Self, SourceError> {
        let mut base = url::Url::parse(api_url).map_err(|e| SourceError::Connect {
            url: api_url.to_owned(),
            detail: format!("not a URL: {e}"),
        })?;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        Ok(ApiRoot(base))
    }

    /// The URL of `segments` under the root; a `/` inside a segment separates segments
    /// (`repos/{owner/name}/languages`).
    pub(crate) fn url(&self, segments: &[&str], query: Option<&str>) -> url::Url {
        let pieces: Vec<&str> = segments.iter().flat_map(|s| s.split('/')).collect();
        self.url_encoded(&pieces, query)
    }

    /// The URL of `segments` under the root, each one segment: a `/` inside is written
    /// `%2F` (GitLab's `groups/{full%2Fpath}`).
    pub(crate) fn url_encoded(&self, segments: &[&str], query: Option<&str>) -> url::Url {
        let mut url = self.0.clone();
        {
            let mut path = url
                .path_segments_mut()
                .expect("an http(s) base URL has a path");
            path.pop_if_empty();
            path.extend(segments);
        }
        url.set_query(query);
        url
    }
}

/// Parses a timestamp, treating anything unreadable as absent.
pub(crate) fn lenient_time<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, D::Error> {
    use serde::Deserialize;
    let raw: Option<serde_json::Value> = Option::deserialize(d)?;
    Ok(raw
        .as_ref()
        .and_then(serde_json::Value::as_str)
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&chrono::Utc)))
}

/// The headers every client sends: what it accepts and who it is.
pub(crate) fn base_headers(accept: &'static str) -> reqwest::header::HeaderMap {
    use reqwest::header::{HeaderValue, ACCEPT, USER_AGENT};
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(ACCEPT, HeaderValue::from_static(accept));
    headers.insert(
        USER_AGENT,
        HeaderValue::from_static(concat!("orgpulse/", env!("CARGO_PKG_VERSION"))),
    );
    headers
}

/// Adds the token to `headers` as `name: {prefix}{token}`, marked sensitive (never logged).
pub(crate) fn add_token(
    headers: &mut reqwest::header::HeaderMap,
    name: reqwest::header::HeaderName,
    prefix: &str,
    token: Option<&Secret>,
    api_url: &str,
) -> Result<(), SourceError> {
    let Some(token) = token else {
        return Ok(());
    };
    let mut value = reqwest::header::HeaderValue::from_str(&format!("{prefix}{}", token.expose()))
        .map_err(|_| SourceError::Connect {
            url: api_url.to_owned(),
            detail: "the token contains characters that cannot be sent in a header".into(),
        })?;
    value.set_sensitive(true);
    headers.insert(name, value);
    Ok(())
}

/// A `{language: bytes}` answer (GitHub, Gitea/Forgejo); values that are not whole
/// numbers are left out.
pub(crate) fn bytes_per_language(body: &[u8]) -> Result<BTreeMap<String, u64>, String> {
    let raw: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(body).map_err(|e| format!("languages: {e}"))?;
    Ok(raw
        .into_iter()
        .filter_map(|(k, v)| Some((k, v.as_u64()?)))
        .collect())
}

/// Trimmed text; empty is absent.
pub(crate) fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// Reads a listing page's entries one by one: an entry that cannot be read is skipped and
/// counted (by id when it has one), never failing its page.
pub(crate) fn decode_entries<W: serde::de::DeserializeOwned>(
    body: &[u8],
    url: &url::Url,
    into: impl Fn(W) -> Option<RepoListing>,
) -> Result<RepoPage, String> {
    let entries: Vec<serde_json::Value> =
        serde_json::from_slice(body).map_err(|e| format!("repository listing: {e}"))?;
    let mut page = RepoPage {
        repos: Vec::with_capacity(entries.len()),
        unreadable_ids: Vec::new(),
        unreadable_without_id: 0,
        next: None,
        last: None,
        total_pages: None,
    };
    for entry in entries {
        let id = entry.get("id").and_then(serde_json::Value::as_i64);
        match serde_json::from_value::<W>(entry).ok().and_then(&into) {
            Some(repo) => page.repos.push(repo),
            None => {
                tracing::warn!(%url, id, "skipping a repository entry that cannot be read");
                match id {
                    Some(id) => page.unreadable_ids.push(id),
                    None => page.unreadable_without_id += 1,
                }
            }
        }
    }
    Ok(page)
}

/// What a repository's dependency graph says.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) enum Dependencies {
    /// The libraries the SBOM lists (the repository itself left out).
    Libraries(Vec<Library>),
    /// The dependency graph is off or not visible (403/404): not a failure.
    NotAvailable,
}
