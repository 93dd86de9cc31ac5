//! The vulnerability check after a refresh: the package versions the stored SBOMs of the
//! run's organisations list, asked of OSV at once (one `querybatch` per 1,000 distinct
//! packages, however many organisations share them); the advisories new or changed since
//! they were stored fetched, each once; then per organisation its findings, the events
//! they bring and the day's counts, stored in one write.
//!
//! Nothing is wiped when OSV fails. A package OSV did not answer for keeps its last
//! answer (with the date it was given), and so do the findings drawn from it; a package
//! whose advisory could not be fetched keeps its last answer too, so an advisory is never
//! dropped for want of its record. An organisation's first check with packages is its
//! starting point: it raises no events.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use futures::StreamExt;

use super::IngestContext;
use crate::domain::vulnerabilities::{
    self, Advisory, AdvisoryRef, Exposure, Finding, PackageResult, PackageVersion, SecurityDay,
    SecurityState, SeverityCounts,
};
use crate::domain::{Event, Library, OrgId};
use crate::sources::osv::{Osv, OsvSource};
use crate::sources::osv_offline::OsvExport;
use crate::sources::{HttpPolicy, SourceError, Tally};
use crate::store::{SecurityCommit, StoreError};

/// Whether and where the vulnerability check and Scorecard ask.
#[derive(Debug, Clone, Default)]
pub struct SecurityOptions {
    /// The OSV API (`https://api.osv.dev`); `None`: the check is off.
    pub osv_url: Option<String>,
    /// OSV's offline exports (`ORGPULSE_OSV_DATA_DIR`): asked instead of the API.
    pub osv_data_dir: Option<std::path::PathBuf>,
    /// The OpenSSF Scorecard API; `None`: GitHub repositories' results are not read.
    pub scorecard_url: Option<String>,
    /// How patient the OSV and Scorecard clients are.
    pub osv_policy: HttpPolicy,
}

/// What one check did, for the run's log and message.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CheckReport {
    pub packages: usize,
    /// Requests to OSV: batches and advisory records.
    pub requests: u64,
    pub records_fetched: usize,
    /// Why the check was incomplete, if it was.
    pub note: Option<String>,
}

/// Checks the stored packages of `orgs` against OSV; `None` when the check is off. A
/// refresh runs it after its organisations are stored; it also runs on its own (the
/// benchmark does) on what is stored.
pub async fn check(ctx: &IngestContext, orgs: &[OrgId]) -> Option<CheckReport> {
    if ctx.cancel.is_cancelled() || orgs.is_empty() {
        return None;
    }
    let mut report = CheckReport::default();
    let source: Box<dyn OsvSource> = match (&ctx.security.osv_data_dir, &ctx.security.osv_url) {
        (Some(dir), _) => match OsvExport::open(dir) {
            Ok(export) => Box::new(export),
            Err(e) => {
                report.note = Some(format!("vulnerabilities not checked: {e}"));
                return Some(report);
            }
        },
        (None, Some(url)) => match Osv::new(
            url,
            ctx.security.osv_policy.clone(),
            ctx.cancel.clone(),
            ctx.metrics.clone(),
        ) {
            Ok(osv) => Box::new(osv),
            Err(e) => {
                report.note = Some(format!("vulnerabilities not checked: {e}"));
                return Some(report);
            }
        },
        (None, None) => return None,
    };
    match run_check(ctx, source.as_ref(), orgs, &mut report).await {
        Ok(()) => {}
        Err(Stop::Interrupted) => {
            report.note = Some("vulnerability check stopped by shutdown".into());
        }
        Err(Stop::Store(e)) => {
            tracing::warn!(error = %e, "vulnerability check not stored");
            report.note = Some(format!("vulnerabilities not stored: {e}"));
        }
    }
    Some(report)
}

/// The library as OSV can be asked about it: with a version, in an ecosystem OSV knows.
fn checkable(library: &Library) -> Option<PackageVersion> {
    PackageVersion::of(library).filter(|p| p.osv_ecosystem().is_some())
}

enum Stop {
    Interrupted,
    Store(StoreError),
}

impl From<StoreError> for Stop {
    fn from(e: StoreError) -> Self {
        Stop::Store(e)
    }
}

async fn run_check(
    ctx: &IngestContext,
    osv: &dyn OsvSource,
    orgs: &[OrgId],
    report: &mut CheckReport,
) -> Result<(), Stop> {
    let started = ctx.clock.now();
    let mut libraries: Vec<(OrgId, Vec<(i64, Library)>)> = Vec::new();
    for org in orgs {
        libraries.push((org.clone(), ctx.store.org_libraries(org).await?));
    }
    let packages: Vec<PackageVersion> = libraries
        .iter()
        .flat_map(|(_, libs)| libs.iter().filter_map(|(_, l)| checkable(l)))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    report.packages = packages.len();

    let tally = Tally::default();
    let queried = if packages.is_empty() {
        Default::default()
    } else {
        osv.query(&packages, &tally).await
    };
    let mut notes = Vec::new();
    if let Some(e) = &queried.failed {
        if matches!(e, SourceError::Interrupted) {
            return Err(Stop::Interrupted);
        }
        let unanswered = packages.len() - queried.answered.len();
        tracing::warn!(error = %e, unanswered, "OSV did not answer; keeping the last results");
        notes.push(format!(
            "OSV did not answer for {unanswered} of {} packages ({e}); their last results are kept",
            packages.len()
        ));
    }

    // Advisory records new or changed since stored, each fetched once.
    let named: HashMap<&str, &AdvisoryRef> = queried
        .answered
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok())
        .flatten()
        .map(|r| (r.id.as_str(), r))
        .collect();
    let ids: Vec<String> = named.keys().map(|id| (*id).to_owned()).collect();
    let stored = ctx.store.advisories(&ids).await?;
    // Owned: borrowed closure arguments would make the run's future unsendable
    // (rust-lang/rust#102211).
    let wanted: Vec<AdvisoryRef> = named
        .values()
        .filter(|r| stored.get(&r.id).is_none_or(|a| a.modified != r.modified))
        .map(|r| (*r).clone())
        .collect();
    let unreachable = AtomicBool::new(false);
    let fetched: Vec<(AdvisoryRef, Result<Option<Advisory>, SourceError>)> =
        futures::stream::iter(wanted)
            .map(|r| {
                let (tally, unreachable) = (&tally, &unreachable);
                async move {
                    // Once OSV cannot be reached, the rest are not asked this run.
                    if unreachable.load(Ordering::Relaxed) {
                        let e = SourceError::Connect {
                            url: r.id.clone(),
                            detail: "OSV could not be reached".into(),
                        };
                        return (r, Err(e));
                    }
                    let answer = osv.advisory(&r.id, tally).await;
                    if matches!(
                        answer,
                        Err(SourceError::Connect { .. } | SourceError::Timeout { .. })
                    ) {
                        unreachable.store(true, Ordering::Relaxed);
                    }
                    (r, answer)
                }
            })
            .buffer_unordered(ctx.security.osv_policy.concurrency.max(1))
            .collect()
            .await;
    let mut records = Vec::new();
    let mut missing: HashSet<String> = HashSet::new();
    let mut failures = 0;
    for (r, outcome) in fetched {
        match outcome {
            Ok(Some(advisory)) => records.push(advisory),
            // Listed by the query but gone from the database: as good as withdrawn.
            Ok(None) => records.push(Advisory {
                id: r.id.clone(),
                modified: r.modified,
                withdrawn: Some(started),
                aliases: Vec::new(),
                summary: None,
                rating: Default::default(),
                affected: Vec::new(),
            }),
            Err(SourceError::Interrupted) => return Err(Stop::Interrupted),
            Err(e) => {
                tracing::warn!(advisory = %r.id, error = %e, "advisory not fetched");
                failures += 1;
                if !stored.contains_key(&r.id) {
                    missing.insert(r.id.clone());
                }
            }
        }
    }
    if failures > 0 {
        notes.push(format!(
            "{failures} advisories could not be fetched; the packages they name keep their last results"
        ));
    }
    report.records_fetched = records.len();
    ctx.store.put_advisories(&records).await?;

    // OSV's answers, except those naming an advisory whose record is not stored. A
    // package OSV could not read this time keeps what it said before (and when), marked.
    let refused: Vec<PackageVersion> = queried
        .answered
        .iter()
        .filter(|(_, answer)| answer.is_err())
        .map(|(p, _)| p.clone())
        .collect();
    let mut earlier = ctx.store.package_results(&refused).await?;
    let results: Vec<PackageResult> = queried
        .answered
        .into_iter()
        .filter_map(|(package, answer)| match answer {
            Ok(refs) if refs.iter().any(|r| missing.contains(&r.id)) => None,
            Ok(advisories) => Some(PackageResult {
                package,
                checked_at: started,
                advisories,
                unknown: None,
            }),
            Err(why) => Some(match earlier.remove(&package) {
                Some(before) => PackageResult {
                    unknown: Some(why),
                    ..before
                },
                None => PackageResult {
                    package,
                    checked_at: started,
                    advisories: Vec::new(),
                    unknown: Some(why),
                },
            }),
        })
        .collect();
    ctx.store.put_package_results(&results).await?;
    report.requests = tally.requests();
    let note = (!notes.is_empty()).then(|| notes.join("; "));

    for (org, libs) in &libraries {
        if ctx.cancel.is_cancelled() {
            return Err(Stop::Interrupted);
        }
        commit_org(ctx, org, libs, started, note.clone()).await?;
    }
    report.note = note;
    tracing::info!(
        packages = report.packages,
        requests = report.requests,
        records = report.records_fetched,
        "vulnerabilities checked"
    );
    Ok(())
}

/// Draws `org`'s findings from the stored answers and commits them with their events.
async fn commit_org(
    ctx: &IngestContext,
    org: &OrgId,
    libraries: &[(i64, Library)],
    now: DateTime<Utc>,
    note: Option<String>,
) -> Result<(), StoreError> {
    let packages: Vec<PackageVersion> = libraries
        .iter()
        .filter_map(|(_, l)| checkable(l))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let results = ctx.store.package_results(&packages).await?;
    let ids: Vec<String> = results
        .values()
        .flat_map(|r| r.advisories.iter().map(|a| a.id.clone()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let advisories = ctx.store.advisories(&ids).await?;
    let before = ctx.store.findings(org, None).await?;
    let previous = ctx.store.security_state(org).await?;
    let mut findings = vulnerabilities::findings(libraries, &results, &advisories, &before, now);

    // A finding that went away while the repository still depends on a version OSV has
    // never answered for is not known to be fixed: it stays, as last confirmed.
    let unanswered: HashSet<(i64, &str, &str)> = libraries
        .iter()
        .filter_map(|(repo, l)| {
            let p = checkable(l)?;
            (!results.contains_key(&p)).then_some((*repo, l.ecosystem.as_str(), l.name.as_str()))
        })
        .collect();
    let now_exposed: HashSet<_> = findings.iter().map(Finding::exposure).collect();
    let mut gone: BTreeMap<Exposure, &Finding> = BTreeMap::new();
    for f in &before {
        if now_exposed.contains(&f.exposure()) {
            continue;
        }
        let key = (
            f.repo_id,
            f.package.ecosystem.as_str(),
            f.package.name.as_str(),
        );
        if unanswered.contains(&key) {
            findings.push(f.clone());
        } else {
            gone.entry(f.exposure()).or_insert(f);
        }
    }
    crate::store::sort_findings(&mut findings);

    // One event per exposure, whichever versions carry it. The first check with packages
    // (the first, or the first after the SBOMs arrived) is the starting point.
    let events = if previous.as_ref().is_some_and(|p| p.packages > 0) {
        let repos = ctx.store.list_repos(org).await?;
        // A repository that is gone has its own event; its findings go quietly.
        let live: HashSet<i64> = repos
            .iter()
            .filter(|r| r.gone_since.is_none())
            .map(|r| r.listing.id)
            .collect();
        let names: HashMap<i64, String> = repos
            .into_iter()
            .map(|r| (r.listing.id, r.listing.name))
            .collect();
        let name = |id: i64| names.get(&id).map_or("a repository", String::as_str);
        let before_exposed: HashSet<_> = before.iter().map(Finding::exposure).collect();
        let mut found: BTreeMap<Exposure, &Finding> = BTreeMap::new();
        for f in findings
            .iter()
            .filter(|f| !before_exposed.contains(&f.exposure()))
        {
            found.entry(f.exposure()).or_insert(f);
        }
        found
            .values()
            .map(|f| Event::vulnerability(org, now, name(f.repo_id), f, true))
            .chain(
                gone.values()
                    .filter(|f| live.contains(&f.repo_id))
                    .map(|f| Event::vulnerability(org, now, name(f.repo_id), f, false)),
            )
            .collect()
    } else {
        Vec::new()
    };

    let unknown: BTreeSet<PackageVersion> = results
        .values()
        .filter(|r| r.unknown.is_some())
        .map(|r| r.package.clone())
        .collect();
    let unanswered_count = packages.len() - results.len();
    let confirmed_at = (unanswered_count == 0)
        .then(|| results.values().map(|r| r.checked_at).min())
        .flatten();
    let counts = SeverityCounts::of(&findings);
    let commit = SecurityCommit {
        org: org.clone(),
        day: SecurityDay {
            day: now.date_naive(),
            counts,
        },
        findings,
        state: SecurityState {
            checked_at: now,
            confirmed_at: confirmed_at.or(if packages.is_empty() { Some(now) } else { None }),
            packages: packages.len() as u64,
            unknown,
            unanswered: unanswered_count as u64,
            note,
            counts,
        },
    };
    ctx.store.commit_security(&commit).await?;
    if !events.is_empty() {
        let by_kind: BTreeMap<&str, usize> = events.iter().fold(BTreeMap::new(), |mut m, e| {
            *m.entry(e.kind.as_str()).or_default() += 1;
            m
        });
        tracing::info!(%org, ?by_kind, "vulnerability events");
        ctx.store.record_events(&events).await?;
    }
    Ok(())
}
