//! GitLab activity (FORGE-APIS.md, "GitLab GraphQL and activity endpoints"): a group's
//! merge requests and issues updated since a time (`GET /groups/:id/merge_requests` and
//! `/issues` with `updated_after`, subgroups included), the releases of projects with
//! activity, and — only for items with comments whose first response is not stored yet —
//! the notes that give it (system notes and bots are no response).
//!
//! Listings are read in `updated_at` order by keyset: each page asks from the last update
//! time it saw, so an item updated while the listing is read moves to the end instead of
//! shifting an unread one onto a page already read. Items seen twice are kept once.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;

use super::http::{HttpClient, SourceError, Tally};
use super::{
    lenient_time, ActivityBatch, ApiRoot, Unanswered, ACTIVITY_MAX_PAGES as MAX_PAGES, REFUSED,
};
use crate::domain::activity::{
    ActivityItem, BotRules, ItemKey, ItemKind, ItemState, ReleaseRecord,
};
use crate::domain::{ForgeName, RepoListing};

/// GitLab's largest page.
const PER_PAGE: usize = 100;

/// What one activity read needs to know.
pub(crate) struct Sync<'a> {
    pub http: &'a HttpClient,
    pub root: &'a ApiRoot,
    pub forge: &'a ForgeName,
    /// The group's numeric id.
    pub group_id: i64,
    /// Its live projects: those active since `since` have their releases read.
    pub repos: &'a [RepoListing],
    pub since: DateTime<Utc>,
    pub bots: &'a BotRules,
    pub tally: &'a Tally,
}

impl Sync<'_> {
    /// Everything updated since `since`; `None` when the server refuses the listings.
    pub(crate) async fn read(&self) -> Result<Option<ActivityBatch>, SourceError> {
        let mut batch = ActivityBatch::default();
        let mut active: BTreeMap<i64, ()> = BTreeMap::new();
        for kind in [ItemKind::PullRequest, ItemKind::Issue] {
            let Some(found) = self.list(kind, &mut batch.skipped).await? else {
                return Ok(None);
            };
            for wire in found.into_values() {
                let notes = wire.user_notes_count.unwrap_or(0);
                let Some(item) = wire.into_item(kind, self.forge, self.bots) else {
                    batch.skipped += 1;
                    continue;
                };
                active.insert(item.repo_id, ());
                if notes > 0 {
                    batch.unanswered.push(Unanswered {
                        key: item.key(),
                        repo_id: item.repo_id,
                        number: item.number,
                        author: item.author.clone(),
                        node: None,
                    });
                }
                batch.items.push(item);
            }
        }
        let released = active.into_keys().chain(
            self.repos
                .iter()
                .filter(|r| r.activity_at().is_some_and(|at| at >= self.since))
                .map(|r| r.id),
        );
        let released: std::collections::BTreeSet<i64> = released.collect();
        for repo_id in released {
            batch.releases.extend(self.releases(repo_id).await?);
        }
        Ok(Some(batch))
    }

    /// The group's items of `kind` updated since `since`, by id; `None` when refused.
    async fn list(
        &self,
        kind: ItemKind,
        skipped: &mut u64,
    ) -> Result<Option<BTreeMap<i64, WireItem>>, SourceError> {
        let what = match kind {
            ItemKind::PullRequest => "merge_requests",
            ItemKind::Issue => "issues",
        };
        let mut found = BTreeMap::new();
        let (mut from, mut page) = (self.since, 1);
        for request in 0..MAX_PAGES {
            let query = format!(
                "scope=all&state=all&order_by=updated_at&sort=asc&updated_after={}&per_page={PER_PAGE}&page={page}",
                encode(&from.to_rfc3339_opts(SecondsFormat::Secs, true))
            );
            let url = self
                .root
                .url_encoded(&["groups", &self.group_id.to_string(), what], Some(&query));
            let answer = self
                .http
                .get_cached(&url, None, self.tally, &REFUSED, |body, _| {
                    serde_json::from_slice::<Vec<serde_json::Value>>(body)
                        .map_err(|e| format!("{what}: {e}"))
                })
                .await?;
            let Some(answer) = answer else {
                if request == 0 {
                    return Ok(None);
                }
                return Err(SourceError::Status {
                    status: 403,
                    url: url.to_string(),
                    message: format!("the {what} listing was refused part of the way"),
                });
            };
            let n = answer.value.len();
            let mut last = from;
            for entry in answer.value {
                match serde_json::from_value::<WireItem>(entry) {
                    Ok(item) => {
                        if let Some(at) = item.updated_at {
                            last = last.max(at);
                        }
                        found.insert(item.id, item);
                    }
                    Err(_) => *skipped += 1,
                }
            }
            if n < PER_PAGE {
                break;
            }
            // Keyset: the next page asks from the last update seen (inclusive, so items of
            // that very second come again and are kept once); only a page that is all one
            // second moves by offset.
            if last > from {
                (from, page) = (last, 1);
            } else {
                page += 1;
            }
        }
        Ok(Some(found))
    }

    async fn releases(&self, repo_id: i64) -> Result<Vec<ReleaseRecord>, SourceError> {
        let url = self.root.url_encoded(
            &["projects", &repo_id.to_string(), "releases"],
            Some(&format!("per_page={PER_PAGE}")),
        );
        let found = self
            .http
            .get_cached(&url, None, self.tally, &REFUSED, |body, _| {
                serde_json::from_slice::<Vec<serde_json::Value>>(body)
                    .map_err(|e| format!("releases: {e}"))
            })
            .await?;
        Ok(found
            .map(|f| f.value)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|v| serde_json::from_value::<WireRelease>(v).ok())
            .filter(|r| !r.upcoming_release)
            .filter_map(|r| {
                Some(ReleaseRecord {
                    forge: self.forge.clone(),
                    repo_id,
                    tag: r.tag_name.filter(|t| !t.is_empty())?,
                    published_at: r.released_at.or(r.created_at)?,
                })
            })
            .collect())
    }
}

/// The first responses of `items` from their notes, oldest first, read until one is
/// found: the earliest comment by someone neither the author nor a bot. Items the forge no
/// longer has are left out.
pub(crate) async fn first_responses(
    http: &HttpClient,
    root: &ApiRoot,
    items: &[Unanswered],
    bots: &BotRules,
    tally: &Tally,
) -> Result<HashMap<ItemKey, DateTime<Utc>>, SourceError> {
    let mut found = HashMap::new();
    for item in items {
        let what = match item.key.kind {
            ItemKind::PullRequest => "merge_requests",
            ItemKind::Issue => "issues",
        };
        for page in 1..=MAX_PAGES {
            let url = root.url_encoded(
                &[
                    "projects",
                    &item.repo_id.to_string(),
                    what,
                    &item.number.to_string(),
                    "notes",
                ],
                Some(&format!(
                    "sort=asc&order_by=created_at&per_page={PER_PAGE}&page={page}"
                )),
            );
            let notes = http
                .get_cached(&url, None, tally, &REFUSED, |body, _| {
                    serde_json::from_slice::<Vec<serde_json::Value>>(body)
                        .map_err(|e| format!("notes: {e}"))
                })
                .await?;
            let Some(notes) = notes else { break };
            let n = notes.value.len();
            let first = notes
                .value
                .into_iter()
                .filter_map(|v| serde_json::from_value::<WireNote>(v).ok())
                .filter(|note| !note.system)
                .filter_map(|note| {
                    let author = note.author.as_ref()?;
                    let login = author.login()?;
                    bots.responds(item.author.as_deref(), &login, author.bot)
                        .then_some(note.created_at?)
                })
                .min();
            if let Some(at) = first {
                found.insert(item.key, at);
                break;
            }
            if n < PER_PAGE {
                break;
            }
        }
    }
    Ok(found)
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[derive(Debug, Deserialize)]
struct WireUser {
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    bot: bool,
}

impl WireUser {
    /// The username; `None` for GitLab's Ghost User (who deleted accounts' work moves to).
    fn login(&self) -> Option<String> {
        self.username
            .clone()
            .filter(|u| !u.is_empty() && u != "ghost")
    }
}

#[derive(Debug, Deserialize)]
struct WireItem {
    id: i64,
    iid: u64,
    project_id: i64,
    #[serde(default)]
    author: Option<WireUser>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default, deserialize_with = "lenient_time")]
    created_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    updated_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    closed_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    merged_at: Option<DateTime<Utc>>,
    #[serde(default)]
    user_notes_count: Option<u64>,
}

impl WireItem {
    fn into_item(self, kind: ItemKind, forge: &ForgeName, bots: &BotRules) -> Option<ActivityItem> {
        let created_at = self.created_at?;
        let author = self.author.as_ref().and_then(WireUser::login);
        let marked = self.author.as_ref().is_some_and(|a| a.bot);
        let state = match self.state.as_deref() {
            Some("merged") => ItemState::Merged,
            Some("closed") => ItemState::Closed,
            _ => ItemState::Open,
        };
        let merged_at = self.merged_at.filter(|_| state == ItemState::Merged);
        Some(ActivityItem {
            forge: forge.clone(),
            id: self.id,
            repo_id: self.project_id,
            number: self.iid,
            kind,
            author_bot: author.as_deref().is_some_and(|a| bots.is_bot(a, marked)),
            author,
            created_at,
            // A merge closes: as on the other forges, a merged item has both times.
            closed_at: match state {
                ItemState::Closed => self.closed_at,
                ItemState::Merged => self.closed_at.or(merged_at),
                ItemState::Open => None,
            },
            merged_at,
            first_response_at: None,
            state,
            updated_at: self.updated_at.unwrap_or(created_at),
        })
    }
}

#[derive(Debug, Deserialize)]
struct WireNote {
    #[serde(default)]
    author: Option<WireUser>,
    #[serde(default)]
    system: bool,
    #[serde(default, deserialize_with = "lenient_time")]
    created_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
struct WireRelease {
    #[serde(default)]
    tag_name: Option<String>,
    #[serde(default)]
    upcoming_release: bool,
    #[serde(default, deserialize_with = "lenient_time")]
    released_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "lenient_time")]
    created_at: Option<DateTime<Utc>>,
}
