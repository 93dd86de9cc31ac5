//! OpenSSF Scorecard results of the run's GitHub repositories, after their data is
//! stored: each live repository whose stored result (or "not scored") is a week old or
//! older, or that has none, is asked again; the rest cost nothing. A repository the API
//! could not answer for keeps what is stored and is asked again next run; once the API
//! cannot be reached at all, no more are asked this run.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;

use super::IngestContext;
use crate::domain::scorecard::ScorecardEntry;
use crate::domain::{ForgeKind, OrgId};
use crate::sources::scorecard::ScorecardApi;
use crate::sources::{SourceError, Tally};

/// Reads what is due for `orgs`; a note when some could not be read.
pub(super) async fn refresh(ctx: &IngestContext, orgs: &[OrgId]) -> Option<String> {
    let url = ctx.security.scorecard_url.as_deref()?;
    if ctx.cancel.is_cancelled() {
        return None;
    }
    let api = match ScorecardApi::new(
        url,
        ctx.security.osv_policy.clone(),
        ctx.cancel.clone(),
        ctx.metrics.clone(),
    ) {
        Ok(api) => api,
        Err(e) => return Some(format!("Scorecard not read: {e}")),
    };
    let now = ctx.clock.now();
    let tally = Tally::default();
    let mut failed = 0usize;
    let mut read = 0usize;
    let unreachable = AtomicBool::new(false);
    for org in orgs {
        if unreachable.load(Ordering::Relaxed) {
            break;
        }
        // Scorecard scores github.com repositories only.
        let on_github = ctx
            .forges
            .iter()
            .any(|f| &f.instance.name == org.forge() && f.instance.kind == ForgeKind::GitHub);
        if !on_github {
            continue;
        }
        let repos = match ctx.store.list_repos(org).await {
            Ok(repos) => repos,
            Err(e) => return Some(format!("Scorecard not read: {e}")),
        };
        // Scorecard knows github.com: a GitHub Enterprise repository of the same name
        // would get another repository's score, so only those github.com hosts are asked.
        let live: Vec<(i64, String)> = repos
            .iter()
            .filter(|r| r.gone_since.is_none())
            .filter(|r| {
                r.listing
                    .html_url
                    .as_deref()
                    .is_some_and(|u| u.starts_with("https://github.com/"))
            })
            .map(|r| (r.listing.id, r.listing.full_name.clone()))
            .collect();
        let ids: Vec<i64> = live.iter().map(|(id, _)| *id).collect();
        let stored: HashMap<i64, ScorecardEntry> =
            match ctx.store.scorecards(org.forge(), &ids).await {
                Ok(stored) => stored,
                Err(e) => return Some(format!("Scorecard not read: {e}")),
            };
        let due: Vec<(i64, String)> = live
            .into_iter()
            .filter(|(id, _)| stored.get(id).is_none_or(|e| e.is_due(now)))
            .collect();
        let answers: Vec<(i64, Result<_, SourceError>)> = futures::stream::iter(due)
            .map(|(id, full_name)| {
                let (api, tally, unreachable) = (&api, &tally, &unreachable);
                async move {
                    // Once the API cannot be reached, the rest are not asked this run: each
                    // would only wait out its own timeouts.
                    if unreachable.load(Ordering::Relaxed) {
                        return (id, Err(SourceError::Interrupted));
                    }
                    let answer = api.result(&full_name, tally).await;
                    if matches!(
                        answer,
                        Err(SourceError::Connect { .. } | SourceError::Timeout { .. })
                    ) {
                        unreachable.store(true, Ordering::Relaxed);
                    }
                    (id, answer)
                }
            })
            .buffer_unordered(ctx.security.osv_policy.concurrency.max(1))
            .collect()
            .await;
        let mut entries = Vec::new();
        for (repo_id, answer) in answers {
            match answer {
                Ok(result) => entries.push(ScorecardEntry {
                    repo_id,
                    fetched_at: now,
                    result,
                }),
                Err(SourceError::Interrupted) if !unreachable.load(Ordering::Relaxed) => {
                    return None
                }
                Err(SourceError::Interrupted) => failed += 1,
                Err(e) => {
                    tracing::warn!(%org, repo_id, error = %e, "Scorecard result not read");
                    failed += 1;
                }
            }
        }
        read += entries.len();
        if !entries.is_empty() {
            if let Err(e) = ctx.store.put_scorecards(org.forge(), &entries).await {
                return Some(format!("Scorecard results not stored: {e}"));
            }
        }
    }
    tracing::info!(
        read,
        failed,
        requests = tally.requests(),
        "Scorecard results read"
    );
    if unreachable.load(Ordering::Relaxed) {
        return Some("the Scorecard API could not be reached; the last results are kept".into());
    }
    (failed > 0)
        .then(|| format!("{failed} Scorecard results could not be read; their last ones are kept"))
}
