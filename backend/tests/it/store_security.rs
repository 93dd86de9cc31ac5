//! The store's vulnerability data, on every driver: OSV's caches by advisory id and by
//! package-URL, and each organisation's findings (replaced whole), days and state.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::common::{at, org};
use chrono::NaiveDate;
use orgpulse::domain::vulnerabilities::{
    Advisory, AdvisoryBrief, AdvisoryRef, Affected, AffectedRange, Finding, PackageResult,
    PackageVersion, RangeEvent, Rating, SecurityDay, SecurityState, Severity, SeverityCounts,
};
use orgpulse::store::{SecurityCommit, Store};

fn package(ecosystem: &str, name: &str, version: &str) -> PackageVersion {
    PackageVersion {
        ecosystem: ecosystem.into(),
        name: name.into(),
        version: version.into(),
    }
}

fn advisory(id: &str, modified: &str) -> Advisory {
    Advisory {
        id: id.into(),
        modified: at(modified),
        withdrawn: None,
        aliases: vec!["CVE-2021-23337".into()],
        summary: Some("Command injection in lodash".into()),
        rating: Rating {
            severity: Severity::High,
            score: Some(7.2),
            vector: Some("CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H".into()),
        },
        affected: vec![Affected {
            ecosystem: "npm".into(),
            name: "lodash".into(),
            ranges: vec![AffectedRange {
                events: vec![
                    RangeEvent::Introduced("0".into()),
                    RangeEvent::Fixed("4.17.21".into()),
                ],
            }],
            versions: vec![],
            rating: None,
        }],
    }
}

fn finding(repo_id: i64, package: &PackageVersion, id: &str, severity: Severity) -> Finding {
    Finding {
        repo_id,
        package: package.clone(),
        advisory: AdvisoryBrief {
            id: id.into(),
            aliases: vec![],
            summary: None,
            rating: Rating {
                severity,
                score: None,
                vector: None,
            },
        },
        fixed: Some("9.9.9".into()),
        first_seen: at("2026-03-01"),
        confirmed_at: at("2026-03-02"),
    }
}

fn state(checked: &str) -> SecurityState {
    SecurityState {
        checked_at: at(checked),
        confirmed_at: Some(at(checked)),
        packages: 3,
        unknown: BTreeSet::from([package("npm", "bad name", "1")]),
        unanswered: 0,
        note: None,
        counts: SeverityCounts {
            high: 2,
            ..SeverityCounts::default()
        },
    }
}

fn day(s: &str) -> NaiveDate {
    s.parse().expect("a day")
}

async fn osv_caches_are_upserted_by_id_and_by_package(store: Arc<dyn Store>) {
    let lodash = package("npm", "lodash", "4.17.20");
    let core = package("npm", "@babel/core", "7.22.0");
    store
        .put_advisories(&[advisory("GHSA-35jh-r3h4-6jhm", "2024-01-01")])
        .await
        .expect("put");
    let mut changed = advisory("GHSA-35jh-r3h4-6jhm", "2025-06-01");
    changed.withdrawn = Some(at("2025-06-01"));
    store
        .put_advisories(&[changed.clone()])
        .await
        .expect("put again");
    let read = store
        .advisories(&["GHSA-35jh-r3h4-6jhm".into(), "GHSA-none".into()])
        .await
        .expect("read");
    assert_eq!(read.len(), 1);
    assert_eq!(
        read["GHSA-35jh-r3h4-6jhm"], changed,
        "the newer record replaced it"
    );

    let result = |p: &PackageVersion, day: &str, ids: &[&str]| PackageResult {
        package: p.clone(),
        checked_at: at(day),
        advisories: ids
            .iter()
            .map(|id| AdvisoryRef {
                id: (*id).into(),
                modified: at("2024-01-01"),
            })
            .collect(),
        unknown: None,
    };
    store
        .put_package_results(&[
            result(&lodash, "2026-03-01", &["GHSA-35jh-r3h4-6jhm"]),
            result(&core, "2026-03-01", &[]),
        ])
        .await
        .expect("put");
    store
        .put_package_results(&[result(&lodash, "2026-03-02", &["GHSA-35jh-r3h4-6jhm", "X"])])
        .await
        .expect("put again");
    let other_version = package("npm", "lodash", "4.17.21");
    let read = store
        .package_results(&[lodash.clone(), core.clone(), other_version])
        .await
        .expect("read");
    assert_eq!(read.len(), 2, "only the versions answered");
    assert_eq!(read[&lodash].checked_at, at("2026-03-02"));
    assert_eq!(read[&lodash].advisories.len(), 2);
    assert!(read[&core].advisories.is_empty());
}

async fn findings_are_replaced_whole_per_organisation(store: Arc<dyn Store>) {
    let acme = org("github:acme");
    let other = org("github:other");
    let lodash = package("npm", "lodash", "4.17.20");
    let log4j = package("maven", "org.apache.logging.log4j/log4j-core", "2.14.1");
    let commit = |o: &orgpulse::domain::OrgId, findings: Vec<Finding>, d: &str| SecurityCommit {
        org: o.clone(),
        day: SecurityDay {
            day: day(d),
            counts: SeverityCounts::of(&findings),
        },
        findings,
        state: state(d),
    };
    let stamps = || async { store.org_stamps().await.expect("stamps") };
    let before = stamps().await;
    store
        .commit_security(&commit(
            &acme,
            vec![
                finding(1, &lodash, "GHSA-a", Severity::High),
                finding(1, &log4j, "GHSA-b", Severity::Critical),
                finding(2, &lodash, "GHSA-a", Severity::High),
            ],
            "2026-03-01",
        ))
        .await
        .expect("commit");
    assert_ne!(stamps().await, before, "the organisation's stamp moved");
    store
        .commit_security(&commit(
            &other,
            vec![finding(9, &lodash, "GHSA-a", Severity::High)],
            "2026-03-01",
        ))
        .await
        .expect("commit other");

    let all = store.findings(&acme, None).await.expect("findings");
    let keys: Vec<(i64, &str)> = all
        .iter()
        .map(|f| (f.repo_id, f.advisory.id.as_str()))
        .collect();
    assert_eq!(
        keys,
        [(1, "GHSA-b"), (1, "GHSA-a"), (2, "GHSA-a")],
        "worst first"
    );
    assert_eq!(all[0], finding(1, &log4j, "GHSA-b", Severity::Critical));
    assert_eq!(store.findings(&acme, Some(2)).await.expect("one").len(), 1);

    // The next day repository 1 upgraded lodash; repository 2 has no findings left.
    store
        .commit_security(&commit(
            &acme,
            vec![finding(1, &log4j, "GHSA-b", Severity::Critical)],
            "2026-03-02",
        ))
        .await
        .expect("commit again");
    let all = store.findings(&acme, None).await.expect("findings");
    assert_eq!(all.len(), 1);
    assert!(store
        .findings(&acme, Some(2))
        .await
        .expect("none")
        .is_empty());
    assert_eq!(store.findings(&other, None).await.expect("other").len(), 1);

    let days = store
        .security_days(&acme, day("2026-03-01"), day("2026-03-31"))
        .await
        .expect("days");
    assert_eq!(
        days.iter()
            .map(|d| (d.day, d.counts.total()))
            .collect::<Vec<_>>(),
        [(day("2026-03-01"), 2), (day("2026-03-02"), 1)]
    );
    assert_eq!(days[0].counts.critical, 1);
    let narrow = store
        .security_days(&acme, day("2026-03-02"), day("2026-03-02"))
        .await
        .expect("days");
    assert_eq!(narrow.len(), 1);
    assert_eq!(
        store.security_state(&acme).await.expect("state"),
        Some(state("2026-03-02"))
    );
    assert_eq!(
        store
            .security_state(&org("github:never"))
            .await
            .expect("state"),
        None
    );

    // A purge takes the organisation's security data, not another's.
    store
        .add_tracked_org(&acme, at("2026-01-01"))
        .await
        .expect("track");
    store.remove_tracked_org(&acme, true).await.expect("purge");
    assert!(store.findings(&acme, None).await.expect("gone").is_empty());
    assert_eq!(store.security_state(&acme).await.expect("state"), None);
    assert!(store
        .security_days(&acme, day("2026-01-01"), day("2026-12-31"))
        .await
        .expect("days")
        .is_empty());
    assert_eq!(store.findings(&other, None).await.expect("other").len(), 1);
}

async fn scorecards_are_kept_per_repository_and_purged_with_it(store: Arc<dyn Store>) {
    use crate::common::records::{commit, record};
    use orgpulse::domain::scorecard::{Scorecard, ScorecardCheck, ScorecardEntry};
    let acme = org("github:acme");
    let forge = acme.forge().clone();
    store
        .commit_org_refresh(&commit(
            &acme,
            "2026-03-01",
            vec![
                record(&acme, 1, 5, "2026-03-01"),
                record(&acme, 2, 5, "2026-03-01"),
            ],
        ))
        .await
        .expect("commit");
    let scored = ScorecardEntry {
        repo_id: 1,
        fetched_at: at("2026-03-01"),
        result: Some(Scorecard {
            date: Some(day("2026-02-24")),
            score: 7.4,
            commit: Some("abc".into()),
            checks: vec![ScorecardCheck {
                name: "Code-Review".into(),
                score: None,
                reason: Some("not applicable".into()),
                url: None,
            }],
        }),
    };
    let unscored = ScorecardEntry {
        repo_id: 2,
        fetched_at: at("2026-03-01"),
        result: None,
    };
    let stamps = store.org_stamps().await.expect("stamps");
    store
        .put_scorecards(&forge, &[scored.clone(), unscored.clone()])
        .await
        .expect("put");
    assert_ne!(
        store.org_stamps().await.expect("stamps"),
        stamps,
        "the organisation listing them shows them"
    );
    let later = ScorecardEntry {
        fetched_at: at("2026-03-08"),
        ..unscored.clone()
    };
    store
        .put_scorecards(&forge, std::slice::from_ref(&later))
        .await
        .expect("again");
    let read = store.scorecards(&forge, &[1, 2, 3]).await.expect("read");
    assert_eq!(read.len(), 2);
    assert_eq!(read[&1], scored);
    assert_eq!(read[&2], later);
    let mut of_org: Vec<i64> = store
        .org_scorecards(&acme)
        .await
        .expect("of the organisation")
        .iter()
        .map(|e| e.repo_id)
        .collect();
    of_org.sort();
    assert_eq!(of_org, [1, 2]);
    let other: orgpulse::domain::ForgeName = "codeberg".parse().expect("name");
    assert!(store
        .scorecards(&other, &[1])
        .await
        .expect("read")
        .is_empty());

    store
        .add_tracked_org(&acme, at("2026-01-01"))
        .await
        .expect("track");
    store.remove_tracked_org(&acme, true).await.expect("purge");
    assert!(store
        .scorecards(&forge, &[1, 2])
        .await
        .expect("read")
        .is_empty());
}

conformance! {
    drivers: [sqlite => crate::common::stores::sqlite, mongo => crate::common::stores::mongo];
    tests: [osv_caches_are_upserted_by_id_and_by_package,
    findings_are_replaced_whole_per_organisation,
    scorecards_are_kept_per_repository_and_purged_with_it]
}
