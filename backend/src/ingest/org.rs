//! One organisation's refresh: profile → complete listing → per-repo details for the
//! repositories that moved → one atomic commit. Anything that fails before the commit
//! leaves the stored organisation exactly as it was.

use std::collections::{BTreeMap, HashMap, HashSet};

use futures::StreamExt;

use super::IngestContext;
use crate::domain::{
    events, HttpCacheEntry, OrgId, OrgOutcome, OrgProfile, OrgRecord, OrgStatus, RepoListing,
    RepoRecord, RunCounts, Snapshot,
};
use crate::sources::github_graphql::Outcome;
use crate::sources::{Cached, Dependencies, ForgeSource, SourceError, Tally, Validators};
use crate::store::{OrgCommit, RepoLibraries, StoreError};

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
pub(super) async fn refresh(
    ctx: &IngestContext,
    source: &dyn ForgeSource,
    org: &OrgId,
) -> OrgOutcome {
    let tally = Tally::default();
    let mut counts = RunCounts::default();
    let result = fetch_and_commit(ctx, source, org, &tally, &mut counts).await;
    let missing = match &result {
        Err(Failure::Source(SourceError::NotFound { .. })) => {
            Some(explain_missing(ctx, source, org, &tally).await)
        }
        _ => None,
    };
    counts.requests = tally.requests();
    counts.not_modified = tally.not_modified();
    counts.retries = tally.retries();
    counts.points = tally.points();
    let (status, message) = match &result {
        Ok(_) => {
            let mut notes = Vec::new();
            if counts.malformed_skipped > 0 {
                notes.push(format!(
                    "{} unreadable repository entries skipped",
                    counts.malformed_skipped
                ));
            }
            if counts.details_failed > 0 {
                notes.push(format!(
                    "{} per-repo detail requests failed; those repositories keep their previous details",
                    counts.details_failed
                ));
            }
            if let Ok(Some(note)) = &result {
                notes.push(note.clone());
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
    source: &dyn ForgeSource,
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
    match source.org_by_id(id, tally).await {
        Ok(Some(now)) if !now.login.eq_ignore_ascii_case(org.login()) => format!(
            "renamed upstream: organisation {id} is now {} ({kept}; track {}:{} to follow it)",
            now.login,
            org.forge(),
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
    source: &dyn ForgeSource,
    org: &OrgId,
    tally: &Tally,
    counts: &mut RunCounts,
) -> Result<Option<String>, Failure> {
    // A GitHub App reads each organisation with its installation's token.
    let scoped = source.scoped(org.login(), tally).await?;
    let source = scoped.as_deref().unwrap_or(source);
    let cache: Validators = ctx
        .store
        .list_http_cache(org)
        .await?
        .into_iter()
        .map(|e| (e.url.clone(), e))
        .collect();
    let before = ctx.store.get_org(org).await?;
    let stored: HashMap<i64, RepoRecord> = ctx
        .store
        .list_repos(org)
        .await?
        .into_iter()
        .map(|r| (r.listing.id, r))
        .collect();

    // Profile first: a missing organisation or a spent budget then costs one request,
    // not two. Other organisations keep the request permits busy meanwhile.
    let profile = source.org(org.login(), &cache, tally).await?;
    let mut new_cache: Vec<HttpCacheEntry> = profile.entry.into_iter().collect();
    let listing = source
        .listing(org.login(), &profile.value, &cache, tally)
        .await?;
    new_cache.extend(listing.cache_entries);
    counts.malformed_skipped = listing.skipped;

    let now = ctx.clock.now();
    let today = now.date_naive();
    let (mut details, batch_error) = fetch_details(
        ctx,
        source,
        &profile.value,
        &listing.repos,
        &stored,
        &cache,
        tally,
    )
    .await;
    if let Some(SourceError::Interrupted) = batch_error {
        return Err(Failure::Source(SourceError::Interrupted));
    }
    let note = batch_error.map(|e| format!("batched details: {e}"));

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
            details: previous.and_then(|p| p.details.clone()),
            details_for: previous.and_then(|p| p.details_for.clone()),
            first_seen: previous.map_or(today, |p| p.first_seen),
            gone_since: None,
            listing: repo,
        };
        if let Some(detail) = details.get_mut(&record.listing.id) {
            let marker = record.listing.activity_marker();
            match detail.batched.take() {
                Some(Outcome::Found(found)) => {
                    record.details = Some(found.details);
                    record.details_for = Some(record.listing.details_marker());
                    if let (true, Some(languages)) = (ctx.options.languages, found.languages) {
                        record.languages = Some(languages);
                        record.languages_for = marker.clone();
                    }
                }
                Some(Outcome::Failed(e)) => {
                    tracing::warn!(repo = %record.listing.full_name, error = %e, "details not fetched; keeping the stored ones");
                    counts.details_failed += 1;
                }
                // Deleted or made private since the listing: the next listing says which.
                Some(Outcome::Vanished) | None => {}
            }
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

    // What changed, from the stored and the new state side by side: no extra request.
    let first = before.is_none() && stored.is_empty();
    let mut changes = events::changes(org, now, &stored, &records, first);
    changes.extend(
        before
            .as_ref()
            .and_then(|b| events::renamed(org, now, &b.profile.login, &profile.value.login)),
    );
    let profile = profile.value;
    let commit = OrgCommit {
        record: OrgRecord {
            org: org.clone(),
            profile: profile.clone(),
            fetched_at: now,
        },
        snapshot: Snapshot::of(org, now, &records),
        repos: changed,
        libraries,
        http_cache: new_cache,
        events: changes,
    };
    // Past this point the write completes even if shutdown begins: an organisation is
    // stored whole or not at all.
    if ctx.cancel.is_cancelled() {
        return Err(Failure::Source(SourceError::Interrupted));
    }
    ctx.store.commit_org_refresh(&commit).await?;
    let live: Vec<RepoListing> = records
        .iter()
        .filter(|r| r.gone_since.is_none())
        .map(|r| r.listing.clone())
        .collect();
    let activity = super::activity::sync(ctx, source, org, &profile, &live, tally).await?;
    Ok(match (note, activity) {
        (Some(a), Some(b)) => Some(format!("{a}; {b}")),
        (a, b) => a.or(b),
    })
}

/// The per-repo fetches of one repository; `None` where nothing was asked.
#[derive(Default)]
struct Details {
    /// What the forge's batched API said of it (GitHub GraphQL), when asked.
    batched: Option<Outcome>,
    languages: Option<Result<Cached<BTreeMap<String, u64>>, SourceError>>,
    dependencies: Option<Result<Cached<Dependencies>, SourceError>>,
}

/// Fetches the details of the repositories that moved since the stored copy (or never
/// had them); the rest reuse what is stored. Where the forge has a batched API (GitHub
/// GraphQL with a token; GitLab GraphQL for languages), details and languages come from
/// it, 100 repositories a request; languages it could not give (a failed or incomplete
/// answer) and libraries come from the per-repository calls.
async fn fetch_details(
    ctx: &IngestContext,
    source: &dyn ForgeSource,
    profile: &OrgProfile,
    repos: &[RepoListing],
    stored: &HashMap<i64, RepoRecord>,
    cache: &Validators,
    tally: &Tally,
) -> (HashMap<i64, Details>, Option<SourceError>) {
    let mut details: HashMap<i64, Details> = HashMap::new();
    let mut batch_error = None;
    let asked: Vec<RepoListing> = repos
        .iter()
        .filter(|r| {
            r.node_id.is_some()
                && stored.get(&r.id).and_then(|p| p.details_for.as_deref())
                    != Some(r.details_marker().as_str())
        })
        .cloned()
        .collect();
    if !asked.is_empty() {
        match source.batch_details(&asked, tally).await {
            None => {}
            Some(Ok(outcomes)) => {
                for (id, outcome) in outcomes {
                    details.entry(id).or_default().batched = Some(outcome);
                }
            }
            Some(Err(e)) => {
                tracing::warn!(error = %e, "batched details not fetched; asking per repository");
                for repo in &asked {
                    details.entry(repo.id).or_default().batched = Some(Outcome::Failed(e.clone()));
                }
                batch_error = Some(e);
            }
        }
    }

    // Owned values: borrowed closure arguments would make this future unsendable
    // (rust-lang/rust#102211), and runs are spawned.
    let mut wanted: Vec<(RepoListing, bool, bool)> = Vec::new();
    for repo in repos {
        let previous = stored.get(&repo.id);
        let marker = repo.activity_marker();
        let moved =
            |stored_for: Option<&String>| stored_for.is_none() || stored_for != marker.as_ref();
        let batched_languages = details.get(&repo.id).is_some_and(|d| match &d.batched {
            Some(Outcome::Found(found)) => found.languages.is_some(),
            // Gone upstream: the per-repository call would find nothing either.
            Some(Outcome::Vanished) => true,
            _ => false,
        });
        let languages = ctx.options.languages
            && !batched_languages
            && moved(previous.and_then(|p| p.languages_for.as_ref()));
        let libraries =
            ctx.options.libraries && moved(previous.and_then(|p| p.libraries_for.as_ref()));
        if languages || libraries {
            wanted.push((repo.clone(), languages, libraries));
        }
    }
    // Languages a group-wide batched read can give (GitLab GraphQL), when it is cheaper.
    let wanted_languages: HashSet<i64> = wanted
        .iter()
        .filter(|(_, languages, _)| *languages)
        .map(|(repo, _, _)| repo.id)
        .collect();
    if !wanted_languages.is_empty() {
        if let Some(found) = source
            .batch_languages(profile, &wanted_languages, repos.len(), tally)
            .await
        {
            if let Some(e) = found.stopped {
                tracing::warn!(error = %e, found = found.languages.len(), "batched languages stopped early; asking the rest per repository");
                if matches!(e, SourceError::Interrupted) {
                    batch_error = Some(e);
                }
            }
            for (id, languages) in found.languages {
                details.entry(id).or_default().languages = Some(Ok(Cached {
                    value: languages,
                    entry: None,
                    not_modified: false,
                }));
            }
            wanted.retain_mut(|(repo, languages, libraries)| {
                if details.get(&repo.id).is_some_and(|d| d.languages.is_some()) {
                    *languages = false;
                }
                *languages || *libraries
            });
        }
    }
    // Enough tasks to keep every request permit busy; the HTTP client bounds the rest.
    let in_flight = ctx.http.concurrency.max(1) * 2;
    let fetched: Vec<(i64, Details)> = futures::stream::iter(wanted)
        .map(|(repo, languages, libraries)| async move {
            let name = repo.full_name.as_str();
            let id = repo.id;
            let languages = if languages {
                Some(source.languages(&repo, cache, tally).await)
            } else {
                None
            };
            let dependencies = if libraries {
                Some(source.dependencies(&repo, cache, tally).await)
            } else {
                None
            };
            for e in [languages.as_ref().and_then(|r| r.as_ref().err()), dependencies.as_ref().and_then(|r| r.as_ref().err())]
                .into_iter()
                .flatten()
            {
                tracing::warn!(repo = name, error = %e, "per-repo detail not fetched; keeping the stored one");
            }
            (id, Details { batched: None, languages, dependencies })
        })
        .buffer_unordered(in_flight)
        .collect()
        .await;
    for (id, rest) in fetched {
        let entry = details.entry(id).or_default();
        if rest.languages.is_some() {
            entry.languages = rest.languages;
        }
        entry.dependencies = rest.dependencies;
    }
    (details, batch_error)
}
