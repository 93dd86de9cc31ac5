//! An organisation's activity sync, after its data is committed: the issues, pull
//! requests and releases updated since the last complete sync (a small overlap before
//! it; the first one reads `ORGPULSE_ACTIVITY_DAYS` back), their first responses kept
//! across syncs, all stored in one write with the new position. A forge that gives no
//! activity leaves the organisation's activity "not available"; one that fails this time
//! leaves the stored activity and the position as they were, and says so.

use chrono::Duration;

use super::IngestContext;
use crate::domain::activity::{ActivityItem, ItemKey};
use crate::domain::OrgId;
use crate::domain::{OrgProfile, RepoListing};
use crate::sources::{ForgeSource, SourceError, Tally};
use crate::store::ActivityCommit;

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
    let since = match ctx.store.activity_synced_until(org).await {
        Ok(Some(at)) => at - OVERLAP,
        Ok(None) => started - Duration::days(i64::from(ctx.activity.days)),
        Err(e) => return Ok(Some(format!("activity not read: {e}"))),
    };
    let batch = match source
        .activity(
            org.forge(),
            profile,
            repos,
            since,
            &ctx.activity.bots,
            tally,
        )
        .await
    {
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
    let stored = match ctx.store.first_responses(org.forge(), &keys).await {
        Ok(stored) => stored,
        Err(e) => return Ok(Some(format!("activity not stored: {e}"))),
    };
    let items = batch
        .items
        .into_iter()
        .map(|i| {
            let kept = stored.get(&i.key()).copied();
            i.keeping(kept)
        })
        .collect::<Vec<_>>();
    tracing::info!(%org, items = items.len(), releases = batch.releases.len(), "activity read");
    let commit = ActivityCommit {
        org: org.clone(),
        items,
        releases: batch.releases,
        synced_until: Some(started),
    };
    if let Err(e) = ctx.store.commit_activity(&commit).await {
        return Ok(Some(format!("activity not stored: {e}")));
    }
    Ok((batch.skipped > 0)
        .then(|| format!("{} unreadable activity entries skipped", batch.skipped)))
}
