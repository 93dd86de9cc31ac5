//! An organisation's activity sync, after its data is committed: the issues, pull
//! requests and releases updated since the last complete sync (a small overlap before
//! it; the first one reads `ORGPULSE_ACTIVITY_DAYS` back), their first responses kept
//! across syncs, all stored in one write with the new position. A forge that gives no
//! activity leaves the organisation's activity "not available"; one that fails this time
//! leaves the stored activity and the position as they were, and says so.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};

use super::IngestContext;
use crate::domain::activity::{ActivityItem, ItemKey, ReleaseRecord};
use crate::domain::Event;
use crate::domain::OrgId;
use crate::domain::{OrgProfile, RepoListing};
use crate::sources::{ActivityAsk, ForgeSource, SourceError, Tally, Unanswered};
use crate::store::{ActivityCommit, StoreError};

/// How far before the last position a sync reads again: items updated while the last
/// one ran are not missed.
const OVERLAP: Duration = Duration::hours(1);

/// Syncs `org`'s activity; a note for the organisation's outcome when it could not, and
/// `Err` only when the refresh is being interrupted.
pub(super) async fn sync(
    ctx: &IngestContext,
    source: &dyn ForgeSource,
    org: &OrgId,
    profile: &OrgProfile,
    repos: &[RepoListing],
    tally: &Tally,
) -> Result<Option<String>, SourceError> {
    if !ctx.activity.enabled {
        return Ok(None);
    }
    let started = ctx.clock.now();
    let position = match ctx.store.activity_synced_until(org).await {
        Ok(position) => position,
        Err(e) => return Ok(Some(format!("activity not read: {e}"))),
    };
    let since = match position {
        Some(at) => at - OVERLAP,
        None => started - Duration::days(i64::from(ctx.activity.days)),
    };
    let ask = ActivityAsk {
        forge: org.forge(),
        profile,
        repos,
        since,
        until: started,
        bots: &ctx.activity.bots,
    };
    let batch = match source.activity(&ask, tally).await {
        Ok(Some(batch)) => batch,
        // Not served here: nothing to say every day.
        Ok(None) => return Ok(None),
        Err(SourceError::Interrupted) => return Err(SourceError::Interrupted),
        Err(e) => {
            tracing::warn!(%org, error = %e, "activity not read; keeping what is stored");
            return Ok(Some(format!("activity not read: {e}")));
        }
    };
    let keys: Vec<ItemKey> = batch.items.iter().map(ActivityItem::key).collect();
    let stored = match ctx.store.stored_items(org.forge(), &keys).await {
        Ok(stored) => stored,
        Err(e) => return Ok(Some(format!("activity not stored: {e}"))),
    };
    // Items with comments, no stored first response and a change since stored: their
    // comments are read now. If that fails, the items are stored but the position stays,
    // so the next sync asks again.
    let updated: HashMap<ItemKey, DateTime<Utc>> = batch
        .items
        .iter()
        .map(|i| (i.key(), i.updated_at))
        .collect();
    let wanted: Vec<Unanswered> = batch
        .unanswered
        .into_iter()
        .filter(|u| match stored.get(&u.key) {
            None => true,
            Some(s) => s.first_response_at.is_none() && Some(&s.updated_at) != updated.get(&u.key),
        })
        .collect();
    let mut complete = true;
    let mut notes = Vec::new();
    let answered = match source
        .first_responses(&wanted, &ctx.activity.bots, tally)
        .await
    {
        Ok(found) => found,
        Err(SourceError::Interrupted) => return Err(SourceError::Interrupted),
        Err(e) => {
            tracing::warn!(%org, error = %e, "first responses not read; asking again next time");
            notes.push(format!("first responses not read: {e}"));
            complete = false;
            Default::default()
        }
    };
    let mut out_of_order = 0;
    let items = batch
        .items
        .into_iter()
        .map(|i| {
            let (mut i, moved) = i.in_order();
            out_of_order += u64::from(moved);
            if let Some(at) = answered.get(&i.key()) {
                i.first_response_at = Some(*at);
            }
            let kept = stored.get(&i.key()).and_then(|s| s.first_response_at);
            i.keeping(kept)
        })
        .collect::<Vec<_>>();
    tracing::info!(%org, items = items.len(), releases = batch.releases.len(), "activity read");
    // What is news: releases not stored yet, people whose first item this is. The first
    // sync is the starting point, not news.
    let events = match position {
        Some(_) => match news(ctx, org, repos, &items, &batch.releases, started).await {
            Ok(events) => events,
            Err(e) => return Ok(Some(format!("activity not stored: {e}"))),
        },
        None => Vec::new(),
    };
    let commit = ActivityCommit {
        org: org.clone(),
        items,
        releases: batch.releases,
        synced_until: complete.then_some(started),
    };
    if let Err(e) = ctx.store.commit_activity(&commit).await {
        return Ok(Some(format!("activity not stored: {e}")));
    }
    if let Err(e) = ctx.store.record_events(&events).await {
        notes.push(format!("activity events not recorded: {e}"));
    }
    if out_of_order > 0 {
        tracing::warn!(%org, items = out_of_order, "activity times before their item's creation");
        notes.push(format!(
            "{out_of_order} activity items had times before their creation (moved to it)"
        ));
    }
    if batch.skipped > 0 {
        notes.push(format!(
            "{} unreadable activity entries skipped",
            batch.skipped
        ));
    }
    Ok((!notes.is_empty()).then(|| notes.join("; ")))
}

/// The events `items` and `releases` bring, against what the store holds before they are
/// written: a release it has not seen, a contributor whose first item in the
/// organisation is among them.
async fn news(
    ctx: &IngestContext,
    org: &OrgId,
    repos: &[RepoListing],
    items: &[ActivityItem],
    releases: &[ReleaseRecord],
    at: DateTime<Utc>,
) -> Result<Vec<Event>, StoreError> {
    let names: HashMap<i64, &str> = repos.iter().map(|r| (r.id, r.name.as_str())).collect();
    let name = |id: i64| names.get(&id).copied().unwrap_or("a repository");
    let known: HashSet<(i64, String)> = ctx
        .store
        .releases(org, None)
        .await?
        .into_iter()
        .map(|r| (r.repo_id, r.tag))
        .collect();
    let mut events: Vec<Event> = releases
        .iter()
        .filter(|r| !known.contains(&(r.repo_id, r.tag.clone())))
        .map(|r| Event::release(org, at, r.repo_id, name(r.repo_id), &r.tag))
        .collect();
    let people = ctx
        .store
        .first_items(org, &crate::domain::activity::authors(items))
        .await?;
    let mut firsts: BTreeMap<&str, &ActivityItem> = BTreeMap::new();
    for item in items {
        let Some(login) = item.contributor() else {
            continue;
        };
        if people.contains_key(login) {
            continue;
        }
        let first = firsts.entry(login).or_insert(item);
        if item.created_at < first.created_at {
            *first = item;
        }
    }
    events.extend(firsts.into_iter().map(|(login, item)| {
        Event::new_contributor(org, at, item.repo_id, name(item.repo_id), login)
    }));
    Ok(events)
}
