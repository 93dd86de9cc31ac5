//! Gitea/Forgejo activity (FORGE-APIS.md, "Gitea / Forgejo activity"): an organisation's
//! issues and pull requests updated since a time in one listing per kind
//! (`GET /repos/issues/search?owner=…&type=…&state=all&since=…`), the first responses from
//! each active repository's comments since then, and the releases of repositories with
//! activity. Items are deduplicated by id (a listing that shifts while it is paged shows
//! some twice); entries that do not read are skipped and counted, never fatal.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;
use url::Url;

use super::http::{HttpClient, SourceError, Tally};
use super::{lenient_time, ActivityBatch, ApiRoot, ACTIVITY_MAX_PAGES as MAX_PAGES, REFUSED};
use crate::domain::activity::{ActivityItem, BotRules, ItemKind, ItemState, ReleaseRecord};
use crate::domain::{ForgeName, RepoListing};

/// What one activity read needs to know.
pub(crate) struct Sync<'a> {
    pub http: &'a HttpClient,
    pub root: &'a ApiRoot,
    pub forge: &'a ForgeName,
    /// The organisation's current name.
    pub owner: &'a str,
    /// Its live repositories: those updated since `since` have their releases read.
    pub repos: &'a [RepoListing],
    pub since: DateTime<Utc>,
    pub bots: &'a BotRules,
    pub page_size: usize,
    pub tally: &'a Tally,
}

impl Sync<'_> {
    /// Everything updated since `since`; `None` when the server refuses the listing.
    pub(crate) async fn read(&self) -> Result<Option<ActivityBatch>, SourceError> {
        let mut batch = ActivityBatch::default();
        let mut wire: BTreeMap<i64, WireIssue> = BTreeMap::new();
        for kind in ["pulls", "issues"] {
            let Some(found) = self.search(kind, &mut batch.skipped).await? else {
                return Ok(None);
            };
            for issue in found {
                wire.insert(issue.id, issue);
            }
        }
        // Repositories with activity: their comments give the first responses.
        let mut repos: BTreeMap<i64, String> = BTreeMap::new();
        for issue in wire.values() {
            if let Some(r) = &issue.repository {
                repos.insert(r.id, r.full_name.clone());
            }
        }
        let mut first: HashMap<(i64, u64), DateTime<Utc>> = HashMap::new();
        let authors: HashMap<(i64, u64), Option<String>> = wire
            .values()
            .filter_map(|i| Some(((i.repository.as_ref()?.id, i.number), i.login())))
            .collect();
        for (repo_id, full_name) in &repos {
            for comment in self.comments(full_name, &mut batch.skipped).await? {
                let Some(number) = comment.number() else {
                    continue;
                };
                let key = (*repo_id, number);
                let Some(author) = authors.get(&key) else {
                    continue;
                };
                let Some(login) = comment.user.as_ref().and_then(WireUser::login) else {
                    continue;
                };
                if !self.bots.responds(author.as_deref(), &login, false) {
                    continue;
                }
                let at = first.entry(key).or_insert(comment.created_at);
                *at = (*at).min(comment.created_at);
            }
        }
        // Releases of the repositories with activity and of those updated since (a
        // release moves a repository's update time).
        let mut released = repos;
        released.extend(
            self.repos
                .iter()
                .filter(|r| r.activity_at().is_some_and(|at| at >= self.since))
                .map(|r| (r.id, r.full_name.clone())),
        );
        for (repo_id, full_name) in &released {
            batch
                .releases
                .extend(self.releases(*repo_id, full_name).await?);
        }
        for issue in wire.into_values() {
            match issue.into_item(self.forge, self.bots, &first) {
                Some(item) => batch.items.push(item),
                None => batch.skipped += 1,
            }
        }
        Ok(Some(batch))
    }

    fn since(&self) -> String {
        self.since.to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    async fn search(
        &self,
        kind: &str,
        skipped: &mut u64,
    ) -> Result<Option<Vec<WireIssue>>, SourceError> {
        let query = format!(
            "owner={}&type={kind}&state=all&since={}&limit={}",
            urlencoding(self.owner),
            urlencoding(&self.since()),
            self.page_size
        );
        self.pages(&["repos", "issues", "search"], &query, skipped)
            .await
    }

    async fn comments(
        &self,
        full_name: &str,
        skipped: &mut u64,
    ) -> Result<Vec<WireComment>, SourceError> {
        let query = format!(
            "since={}&limit={}",
            urlencoding(&self.since()),
            self.page_size
        );
        let path = format!("repos/{full_name}/issues/comments");
        Ok(self
            .pages(&[path.as_str()], &query, skipped)
            .await?
            .unwrap_or_default())
    }

    async fn releases(
        &self,
        repo_id: i64,
        full_name: &str,
    ) -> Result<Vec<ReleaseRecord>, SourceError> {
        let query = format!("limit={}", self.page_size);
        let path = format!("repos/{full_name}/releases");
        let mut skipped = 0;
        let found: Vec<WireRelease> = self
            .pages(&[path.as_str()], &query, &mut skipped)
            .await?
            .unwrap_or_default();
        Ok(found
            .into_iter()
            .filter(|r| !r.draft)
            .filter_map(|r| {
                Some(ReleaseRecord {
                    forge: self.forge.clone(),
                    repo_id,
                    tag: r.tag_name.filter(|t| !t.is_empty())?,
                    published_at: r.published_at?,
                })
            })
            .collect())
    }

    /// Every page of a listing, `page=1, 2, …` until one comes back short; `None` when
    /// the server refuses it. Entries that do not read are counted in `skipped`.
    async fn pages<T>(
        &self,
        segments: &[&str],
        query: &str,
        skipped: &mut u64,
    ) -> Result<Option<Vec<T>>, SourceError>
    where
        T: for<'de> Deserialize<'de>,
    {
        let mut all = Vec::new();
        for page in 1..=MAX_PAGES {
            let url: Url = self
                .root
                .url(segments, Some(&format!("{query}&page={page}")));
            let found = self
                .http
                .get_cached(&url, None, self.tally, &REFUSED, |body, _| {
                    let raw: Vec<serde_json::Value> =
                        serde_json::from_slice(body).map_err(|e| format!("listing: {e}"))?;
                    Ok(raw)
                })
                .await?;
            let Some(found) = found else {
                return Ok((page > 1).then_some(all));
            };
            let n = found.value.len();
            for entry in found.value {
                match serde_json::from_value::<T>(entry) {
                    Ok(t) => all.push(t),
                    Err(_) => *skipped += 1,
                }
            }
            if n < self.page_size {
                break;
            }
        }
        Ok(Some(all))
    }
}

fn urlencoding(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[derive(Debug, Deserialize)]
struct WireUser {
    #[serde(default)]
    id: Option<i64>,
    #[serde(default)]
    login: Option<String>,
}

impl WireUser {
    /// The login; `None` for a deleted account (Gitea's `Ghost`, id -1).
    fn login(&self) -> Option<String> {
        if self.id == Some(-1) {
            return None;
        }
        self.login.clone().filter(|l| !l.is_empty())
    }
}

#[derive(Debug, Deserialize)]
struct WireRepoRef {
    id: i64,
    full_name: String,
}

#[derive(Debug, Deserialize)]
struct WirePull {
    #[serde(default)]
    merged: bool,
    #[serde(default, deserialize_with = "lenient_time")]
    merged_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
struct WireIssue {
    id: i64,
    number: u64,
    #[serde(default)]
    user: Option<WireUser>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default, deserialize_with = "lenient_time")]
    created_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    updated_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    closed_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pull_request: Option<WirePull>,
    #[serde(default)]
    repository: Option<WireRepoRef>,
}

impl WireIssue {
    fn login(&self) -> Option<String> {
        self.user.as_ref().and_then(WireUser::login)
    }

    fn into_item(
        self,
        forge: &ForgeName,
        bots: &BotRules,
        first: &HashMap<(i64, u64), DateTime<Utc>>,
    ) -> Option<ActivityItem> {
        let repo_id = self.repository.as_ref()?.id;
        let created_at = self.created_at?;
        let author = self.login();
        let merged_at = self
            .pull_request
            .as_ref()
            .filter(|p| p.merged)
            .and_then(|p| p.merged_at.or(self.closed_at));
        let closed = self.state.as_deref() == Some("closed");
        let state = match (merged_at, closed) {
            (Some(_), _) => ItemState::Merged,
            (None, true) => ItemState::Closed,
            (None, false) => ItemState::Open,
        };
        Some(ActivityItem {
            forge: forge.clone(),
            id: self.id,
            repo_id,
            number: self.number,
            kind: if self.pull_request.is_some() {
                ItemKind::PullRequest
            } else {
                ItemKind::Issue
            },
            author_bot: author.as_deref().is_some_and(|a| bots.is_bot(a, false)),
            author,
            created_at,
            closed_at: self.closed_at.filter(|_| closed),
            merged_at,
            first_response_at: first.get(&(repo_id, self.number)).copied(),
            state,
            updated_at: self.updated_at.unwrap_or(created_at),
        })
    }
}

#[derive(Debug, Deserialize)]
struct WireComment {
    #[serde(default)]
    user: Option<WireUser>,
    #[serde(default)]
    issue_url: Option<String>,
    #[serde(default)]
    pull_request_url: Option<String>,
    #[serde(deserialize_with = "required_time")]
    created_at: DateTime<Utc>,
}

impl WireComment {
    /// The number of the issue or pull request it is on, from its URL's last segment.
    fn number(&self) -> Option<u64> {
        [&self.issue_url, &self.pull_request_url]
            .into_iter()
            .flatten()
            .find_map(|u| u.trim_end_matches('/').rsplit('/').next()?.parse().ok())
    }
}

#[derive(Debug, Deserialize)]
struct WireRelease {
    #[serde(default)]
    tag_name: Option<String>,
    #[serde(default)]
    draft: bool,
    #[serde(default, deserialize_with = "lenient_time")]
    published_at: Option<DateTime<Utc>>,
}

fn required_time<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    lenient_time(d)?.ok_or_else(|| serde::de::Error::custom("no time"))
}
