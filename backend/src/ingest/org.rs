//! One organisation's refresh: profile → complete listing → per-repo details for the
//! repositories that moved → one atomic commit. Anything that fails before the commit
//! leaves the stored organisation exactly as it was.

use std::collections::{BTreeMap, HashMap, HashSet};

use futures::StreamExt;
use url::Url;

use super::IngestContext;
use crate::domain::{
    HttpCacheEntry, OrgId, OrgOutcome, OrgRecord, OrgStatus, RepoListing, RepoRecord, RunCounts,
    Snapshot,
};
use crate::sources::{Cached, Dependencies, GitHub, RepoPage, SourceError, Tally};
use crate::store::{OrgCommit, RepoLibraries, StoreError};

/// A listing longer than this many pages is treated as a loop upstream.
const MAX_PAGES: usize = 5_000;

/// Why an organisation was not stored.
#[derive(Debug)]
enum Failure {
    Source(SourceError),
    Store(StoreError),
}

impl From<SourceError> for Failure {
    fn from(e: SourceError) -> Self {
        Failure::Source(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

/// Refreshes `org` and says how it went; never fails as a whole.
pub(super) async fn refresh(ctx: &IngestContext, github: &GitHub, org: &OrgId) -> OrgOutcome {
    let tally = Tally::default();
    let mut counts = RunCounts::default();
    let result = fetch_and_commit(ctx, github, org, &tally, &mut counts).await;
    let missing = match &result {
        Err(Failure::Source(SourceError::NotFound { .. })) => {
            Some(explain_missing(ctx, github, org, &tally).await)
        }
        _ => None,
    };
    counts.requests = tally.requests();
    counts.not_modified = tally.not_modified();
    counts.retries = tally.retries();
    let (status, message) = match result {
        Ok(()) => {
            let mut notes = Vec::new();
            if counts.malformed_skipped > 0 {
                notes.push(format!(
                    "{} unreadable repository entries skipped",
                    counts.malformed_skipped
                ));
            }
            if counts.details_failed > 0 {
                notes.push(format!(
                    "{} per-repo detail requests failed; those repositories keep their previous languages/libraries",
                    counts.details_failed
                ));
            }
            if notes.is_empty() {
                (OrgStatus::Ok, None)
            } else {
                (OrgStatus::Partial, Some(notes.join("; ")))
            }
        }
        Err(Failure::Source(SourceError::NotFound { .. })) => (OrgStatus::NotFound, missing),
        Err(Failure::Source(e @ SourceError::RateLimited { .. })) => {
            (OrgStatus::RateLimited, Some(e.to_string()))
        }
        Err(Failure::Source(e @ SourceError::Interrupted)) => {
            (OrgStatus::Interrupted, Some(e.to_string()))
        }
        Err(Failure::Source(e)) => (OrgStatus::Failed, Some(e.to_string())),
        Err(Failure::Store(e)) => (
            OrgStatus::Failed,
            Some(format!("could not store the refresh: {e}")),
        ),
    };
    OrgOutcome {
        org: org.clone(),
        status,
        message,
        counts,
        finished_at: ctx.clock.now(),
    }
}

/// Says what became of an organisation whose login the forge no longer knows: renamed
/// (found again by the stable id stored with it) or gone (deleted, or made private).
async fn explain_missing(
    ctx: &IngestContext,
    github: &GitHub,
    org: &OrgId,
    tally: &Tally,
) -> String {
    let kept = "its stored data and history are kept";
    let stored = match ctx.store.get_org(org).await {
        Ok(Some(record)) => record,
        Ok(None) => return format!("the forge does not know {org}"),
        Err(e) => {
            tracing::warn!(%org, error = %e, "could not read the stored organisation");
            return format!("the forge no longer knows {org}; {kept}");
        }
    };
    let id = stored.profile.id;
    match github.org_by_id(id, tally).await {
        Ok(Some(now)) if !now.login.eq_ignore_ascii_case(org.login()) => format!(
            "renamed upstream: organisation {id} is now {} ({kept}; track {}:{} to follow it)",
            now.login,
            org.forge().as_str(),
            now.login
        ),
        Ok(Some(_)) => format!(
            "the forge answered 404 for {org} although organisation {id} still has that login; {kept}"
        ),
        Ok(None) => format!(
            "the forge no longer knows {org} nor its id {id}: deleted, or made private; {kept}"
        ),
        Err(e) => format!("the forge no longer knows {org} ({e}); {kept}"),
    }
}

async fn fetch_and_commit(
    ctx: &IngestContext,
    github: &GitHub,
    org: &OrgId,
    tally: &Tally,
    counts: &mut RunCounts,
) -> Result<(), Failure> {
    let cache: HashMap<String, HttpCacheEntry> = ctx
        .store
        .list_http_cache(org)
        .await?
        .into_iter()
        .map(|e| (e.url.clone(), e))
        .collect();
    let stored: HashMap<i64, RepoRecord> = ctx
        .store
        .list_repos(org)
        .await?
        .into_iter()
        .map(|r| (r.listing.id, r))
        .collect();

    // Profile first: a missing organisation or a spent budget then costs one request,
    // not two. Other organisations keep the request permits busy meanwhile.
    let profile = github
        .org(
            org.login(),
            cache.get(github.org_url(org.login()).as_str()),
            tally,
        )
        .await?;
    let mut new_cache: Vec<HttpCacheEntry> = profile.entry.into_iter().collect();
    let listing = list_repos(github, org, &cache, tally).await?;
    new_cache.extend(listing.cache_entries);
    counts.malformed_skipped = listing.skipped;

    let now = ctx.clock.now();
    let today = now.date_naive();
    let details = fetch_details(ctx, github, &listing.repos, &stored, &cache, tally).await;

    let mut records = Vec::with_capacity(listing.repos.len() + stored.len());
    let mut changed = Vec::new();
    let mut libraries = Vec::new();
    let mut listed = HashSet::with_capacity(listing.repos.len());
    for repo in listing.repos {
        listed.insert(repo.id);
        let previous = stored.get(&repo.id);
        let mut record = RepoRecord {
            org: org.clone(),
            languages: previous.and_then(|p| p.languages.clone()),
            languages_for: previous.and_then(|p| p.languages_for.clone()),
            libraries: previous.and_then(|p| p.libraries),
            libraries_for: previous.and_then(|p| p.libraries_for.clone()),
            first_seen: previous.map_or(today, |p| p.first_seen),
            gone_since: None,
            listing: repo,
        };
        if let Some(detail) = details.get(&record.listing.id) {
            let marker = record.listing.activity_marker();
            match &detail.languages {
                Some(Ok(fetched)) => {
                    record.languages = Some(fetched.value.clone());
                    record.languages_for = marker.clone();
                    new_cache.extend(fetched.entry.clone());
                }
                Some(Err(_)) => counts.details_failed += 1,
                None => {}
            }
            match &detail.dependencies {
                Some(Ok(fetched)) => {
                    let list = match &fetched.value {
                        Dependencies::Libraries(list) => list.clone(),
                        Dependencies::NotAvailable => Vec::new(),
                    };
                    record.libraries = match &fetched.value {
                        Dependencies::Libraries(list) => Some(list.len() as u64),
                        Dependencies::NotAvailable => None,
                    };
                    record.libraries_for = marker;
                    new_cache.extend(fetched.entry.clone());
                    libraries.push(RepoLibraries {
                        repo_id: record.listing.id,
                        libraries: list,
                    });
                }
                Some(Err(_)) => counts.details_failed += 1,
                None => {}
            }
        }
        if previous != Some(&record) {
            changed.push(record.clone());
        }
        records.push(record);
    }
    counts.repos_seen = records.len() as u64;

    // Stored repositories the listing did not show: unreadable entries stay as they were;
    // the rest are gone upstream, but only a complete listing can say so.
    for (id, previous) in &stored {
        if listed.contains(id) {
            continue;
        }
        let mut record = previous.clone();
        if listing.complete && !listing.unreadable_ids.contains(id) && record.gone_since.is_none() {
            record.gone_since = Some(today);
            counts.repos_gone += 1;
            changed.push(record.clone());
        }
        records.push(record);
    }
    counts.repos_changed = changed.len() as u64 - counts.repos_gone;

    let commit = OrgCommit {
        record: OrgRecord {
            org: org.clone(),
            profile: profile.value,
            fetched_at: now,
        },
        snapshot: Snapshot::of(org, now, &records),
        repos: changed,
        libraries,
        http_cache: new_cache,
    };
    // Past this point the write completes even if shutdown begins: an organisation is
    // stored whole or not at all.
    if ctx.cancel.is_cancelled() {
        return Err(Failure::Source(SourceError::Interrupted));
    }
    ctx.store.commit_org_refresh(&commit).await?;
    Ok(())
}

/// An organisation's complete repository listing.
struct Listing {
    repos: Vec<RepoListing>,
    unreadable_ids: HashSet<i64>,
    skipped: u64,
    /// Every page was read and every entry had an id: safe to mark missing repos as gone.
    complete: bool,
    cache_entries: Vec<HttpCacheEntry>,
}

/// Reads every page. When the first page names the last one, the pages between are
/// known and fetched concurrently; otherwise the `next` chain is walked.
async fn list_repos(
    github: &GitHub,
    org: &OrgId,
    cache: &HashMap<String, HttpCacheEntry>,
    tally: &Tally,
) -> Result<Listing, SourceError> {
    let fetch = |url: Url| async move {
        let prior = cache.get(url.as_str());
        github.repo_page(&url, prior, tally).await
    };
    let mut pages: Vec<Cached<RepoPage>> = vec![fetch(github.repos_url(org.login())).await?];
    let known = pages[0]
        .value
        .last
        .as_deref()
        .zip(pages[0].value.next.as_deref())
        .and_then(|(last, next)| {
            let last = Url::parse(last).ok()?;
            let next = Url::parse(next).ok()?;
            let (first, last_page) = (page_number(&next)?, page_number(&last)?);
            (last_page >= first && last_page - first < MAX_PAGES).then(|| {
                (first..=last_page)
                    .map(|n| with_page(&next, n))
                    .collect::<Vec<_>>()
            })
        });
    if let Some(urls) = known {
        let fetched = futures::future::try_join_all(urls.into_iter().map(fetch)).await?;
        pages.extend(fetched);
    }
    // Walk on from the last page read: the whole chain without `last`, or pages that
    // appeared while the known ones were fetched.
    let mut seen: HashSet<String> = HashSet::new();
    while let Some(next) = pages.last().and_then(|p| p.value.next.clone()) {
        if !seen.insert(next.clone()) || pages.len() >= MAX_PAGES {
            return Err(SourceError::Malformed {
                url: next,
                detail: "the listing's pages loop".into(),
            });
        }
        let url = Url::parse(&next).map_err(|e| SourceError::Malformed {
            url: next.clone(),
            detail: e.to_string(),
        })?;
        pages.push(fetch(url).await?);
    }

    let mut listing = Listing {
        repos: Vec::new(),
        unreadable_ids: HashSet::new(),
        skipped: 0,
        complete: true,
        cache_entries: Vec::new(),
    };
    let mut ids = HashSet::new();
    for page in pages {
        listing.skipped += page.value.skipped();
        listing.complete &= page.value.unreadable_without_id == 0;
        listing.unreadable_ids.extend(page.value.unreadable_ids);
        listing.cache_entries.extend(page.entry);
        // A repository created mid-listing shifts the pages: it can show up twice.
        listing
            .repos
            .extend(page.value.repos.into_iter().filter(|r| ids.insert(r.id)));
    }
    Ok(listing)
}

fn page_number(url: &Url) -> Option<usize> {
    url.query_pairs()
        .find(|(k, _)| k == "page")
        .and_then(|(_, v)| v.parse().ok())
}

fn with_page(url: &Url, page: usize) -> Url {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "page" {
                page.to_string()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    let mut url = url.clone();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url
}

/// The per-repo fetches of one repository; `None` where nothing was asked.
struct Details {
    languages: Option<Result<Cached<BTreeMap<String, u64>>, SourceError>>,
    dependencies: Option<Result<Cached<Dependencies>, SourceError>>,
}

/// Fetches languages and libraries for the repositories whose activity marker moved since
/// the stored copy (or that never had them); the rest reuse what is stored.
async fn fetch_details(
    ctx: &IngestContext,
    github: &GitHub,
    repos: &[RepoListing],
    stored: &HashMap<i64, RepoRecord>,
    cache: &HashMap<String, HttpCacheEntry>,
    tally: &Tally,
) -> HashMap<i64, Details> {
    // Owned values: borrowed closure arguments would make this future unsendable
    // (rust-lang/rust#102211), and runs are spawned.
    let mut wanted: Vec<(i64, String, bool, bool)> = Vec::new();
    for repo in repos {
        let previous = stored.get(&repo.id);
        let marker = repo.activity_marker();
        let moved =
            |stored_for: Option<&String>| stored_for.is_none() || stored_for != marker.as_ref();
        let languages =
            ctx.options.languages && moved(previous.and_then(|p| p.languages_for.as_ref()));
        let libraries =
            ctx.options.libraries && moved(previous.and_then(|p| p.libraries_for.as_ref()));
        if languages || libraries {
            wanted.push((repo.id, repo.full_name.clone(), languages, libraries));
        }
    }
    // Enough tasks to keep every request permit busy; the HTTP client bounds the rest.
    let in_flight = ctx.github.policy.concurrency.max(1) * 2;
    futures::stream::iter(wanted)
        .map(|(id, full_name, languages, libraries)| async move {
            let name = full_name.as_str();
            let languages = if languages {
                Some(github.languages(name, cache.get(github.languages_url(name).as_str()), tally).await)
            } else {
                None
            };
            let dependencies = if libraries {
                Some(github.dependencies(name, cache.get(github.sbom_url(name).as_str()), tally).await)
            } else {
                None
            };
            for e in [languages.as_ref().and_then(|r| r.as_ref().err()), dependencies.as_ref().and_then(|r| r.as_ref().err())]
                .into_iter()
                .flatten()
            {
                tracing::warn!(repo = name, error = %e, "per-repo detail not fetched; keeping the stored one");
            }
            (id, Details { languages, dependencies })
        })
        .buffer_unordered(in_flight)
        .collect()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_page_numbers_and_keeps_other_parameters() {
        let next = Url::parse(
            "https://api.github.com/organizations/9/repos?per_page=100&type=public&page=2",
        )
        .expect("url");
        assert_eq!(page_number(&next), Some(2));
        assert_eq!(
            with_page(&next, 17).as_str(),
            "https://api.github.com/organizations/9/repos?per_page=100&type=public&page=17"
        );
    }
}
