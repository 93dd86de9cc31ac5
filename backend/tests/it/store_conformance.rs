//! One conformance suite for every `Store` driver: each test is written once against
//! `Arc<dyn Store>` and instantiated per driver by `conformance!` at the bottom.

use std::sync::Arc;

use crate::common::records::{commit, day, record};
use crate::common::{at, org};
use chrono::NaiveDate;
use orgpulse::domain::activity::{
    ActivityItem, ItemKey, ItemKind, ItemState, ReleaseRecord, Window,
};
use orgpulse::domain::{
    HttpCacheEntry, Library, OrgId, OrgOutcome, OrgStatus, RefreshRun, RepoDay, RunCounts, RunId,
    RunOptions, RunStatus, Trigger,
};
use orgpulse::store::{ActivityCommit, RepoLibraries, Store, StoredItem};
use serde_json::json;

fn lib(ecosystem: &str, name: &str) -> Library {
    Library {
        ecosystem: ecosystem.into(),
        name: name.into(),
        version: Some("1.0.0".into()),
        license: None,
    }
}

fn outcome(org_id: &OrgId, status: OrgStatus, when: &str) -> OrgOutcome {
    OrgOutcome {
        org: org_id.clone(),
        status,
        message: None,
        counts: RunCounts::default(),
        finished_at: at(when),
    }
}

async fn ping_answers(store: Arc<dyn Store>) {
    store.ping().await.expect("reachable");
}

async fn seeding_happens_once(store: Arc<dyn Store>) {
    let seeded = store
        .seed_tracked_orgs(&[org("github:a"), org("github:b")], at("2026-01-01"))
        .await
        .expect("seed");
    assert!(seeded);
    assert!(store
        .remove_tracked_org(&org("github:a"), false)
        .await
        .expect("remove"));
    let again = store
        .seed_tracked_orgs(&[org("github:a"), org("github:c")], at("2026-01-02"))
        .await
        .expect("seed");
    assert!(!again, "a second start does not seed");
    let tracked: Vec<String> = store
        .list_tracked_orgs()
        .await
        .expect("list")
        .into_iter()
        .map(|t| t.org.to_string())
        .collect();
    assert_eq!(tracked, ["github:b"]);
}

async fn tracking_add_list_remove(store: Arc<dyn Store>) {
    assert!(store.list_tracked_orgs().await.expect("list").is_empty());
    assert!(store
        .add_tracked_org(&org("github:zeta"), at("2026-01-01"))
        .await
        .expect("add"));
    assert!(
        !store
            .add_tracked_org(&org("github:zeta"), at("2026-01-02"))
            .await
            .expect("add"),
        "already tracked"
    );
    assert!(store
        .add_tracked_org(&org("github:alpha"), at("2026-01-03"))
        .await
        .expect("add"));
    let tracked = store.list_tracked_orgs().await.expect("list");
    assert_eq!(
        tracked
            .iter()
            .map(|t| t.org.to_string())
            .collect::<Vec<_>>(),
        ["github:alpha", "github:zeta"]
    );
    assert_eq!(
        tracked[1].added_at,
        at("2026-01-01"),
        "the first add's time stays"
    );
    assert!(tracked[0].last_outcome.is_none());
    assert!(!store
        .remove_tracked_org(&org("github:nope"), false)
        .await
        .expect("remove"));
}

async fn removing_keeps_data_unless_purged(store: Arc<dyn Store>) {
    let acme = org("github:acme");
    let other = org("github:other");
    store
        .add_tracked_org(&acme, at("2026-01-01"))
        .await
        .expect("add");
    let mut c = commit(&acme, "2026-01-01", vec![record(&acme, 1, 5, "2026-01-01")]);
    c.libraries = vec![RepoLibraries {
        repo_id: 1,
        libraries: vec![lib("cargo", "serde")],
    }];
    c.http_cache = vec![HttpCacheEntry {
        url: "http://x/orgs/acme".into(),
        etag: Some("\"e\"".into()),
        last_modified: None,
        payload: serde_json::json!({"k": 1}),
        stored_at: at("2026-01-01"),
        content_hash: None,
    }];
    store.commit_org_refresh(&c).await.expect("commit");
    store
        .commit_org_refresh(&commit(
            &other,
            "2026-01-01",
            vec![record(&other, 2, 1, "2026-01-01")],
        ))
        .await
        .expect("commit");
    store
        .record_org_outcome(&outcome(&acme, OrgStatus::Ok, "2026-01-01"))
        .await
        .expect("outcome");

    assert!(store
        .remove_tracked_org(&acme, false)
        .await
        .expect("remove"));
    assert_eq!(
        store.list_repos(&acme).await.expect("repos").len(),
        1,
        "kept without purge"
    );

    store
        .add_tracked_org(&acme, at("2026-01-02"))
        .await
        .expect("add");
    assert!(store.remove_tracked_org(&acme, true).await.expect("purge"));
    assert!(store.list_repos(&acme).await.expect("repos").is_empty());
    assert!(store.get_org(&acme).await.expect("org").is_none());
    assert!(store
        .list_snapshots(&acme, None, None)
        .await
        .expect("snapshots")
        .is_empty());
    assert!(store
        .list_http_cache(&acme)
        .await
        .expect("cache")
        .is_empty());
    assert!(store
        .list_repo_libraries(&acme, 1)
        .await
        .expect("libraries")
        .is_empty());
    assert_eq!(
        store.list_repos(&other).await.expect("repos").len(),
        1,
        "other orgs untouched"
    );
}

async fn a_commit_reads_back_whole(store: Arc<dyn Store>) {
    let acme = org("github:acme");
    let repos = vec![
        record(&acme, 3, 30, "2026-01-01"),
        record(&acme, 1, 10, "2026-01-01"),
        record(&acme, 2, 20, "2026-01-01"),
    ];
    let mut c = commit(&acme, "2026-01-05", repos);
    c.libraries = vec![
        RepoLibraries {
            repo_id: 1,
            libraries: vec![lib("cargo", "serde"), lib("cargo", "tokio")],
        },
        RepoLibraries {
            repo_id: 2,
            libraries: vec![lib("cargo", "serde"), lib("npm", "@scope/x")],
        },
    ];
    c.http_cache = vec![HttpCacheEntry {
        url: "http://x/orgs/acme/repos".into(),
        etag: Some("W/\"abc\"".into()),
        last_modified: Some("Tue, 01 Jan 2026 00:00:00 GMT".into()),
        payload: serde_json::json!({"repos": [1, 2, 3], "next": null}),
        stored_at: at("2026-01-05"),
        content_hash: None,
    }];
    store.commit_org_refresh(&c).await.expect("commit");

    assert_eq!(
        store.get_org(&acme).await.expect("org"),
        Some(c.record.clone())
    );
    let stored = store.list_repos(&acme).await.expect("repos");
    assert_eq!(
        stored.iter().map(|r| r.listing.id).collect::<Vec<_>>(),
        [1, 2, 3],
        "by id"
    );
    assert_eq!(stored[0], c.repos[1]);
    let libs = store
        .list_repo_libraries(&acme, 2)
        .await
        .expect("libraries");
    assert_eq!(libs, vec![lib("cargo", "serde"), lib("npm", "@scope/x")]);
    let usage = store.library_usage(&acme).await.expect("usage");
    assert_eq!((usage[0].name.as_str(), usage[0].repos), ("serde", 2));
    assert_eq!(usage.len(), 3);
    assert_eq!(
        store
            .list_snapshots(&acme, None, None)
            .await
            .expect("snapshots"),
        vec![c.snapshot.clone()]
    );
    assert_eq!(
        store.list_http_cache(&acme).await.expect("cache"),
        c.http_cache
    );
    assert!(store
        .list_repos(&org("github:unknown"))
        .await
        .expect("repos")
        .is_empty());
    assert!(store
        .get_org(&org("github:unknown"))
        .await
        .expect("org")
        .is_none());
}

async fn an_empty_org_commits(store: Arc<dyn Store>) {
    let empty = org("github:empty");
    store
        .commit_org_refresh(&commit(&empty, "2026-01-01", Vec::new()))
        .await
        .expect("commit");
    assert!(store.list_repos(&empty).await.expect("repos").is_empty());
    let snaps = store
        .list_snapshots(&empty, None, None)
        .await
        .expect("snapshots");
    assert_eq!(snaps.len(), 1);
    assert_eq!(snaps[0].totals.repos, 0);
    assert!(store.library_usage(&empty).await.expect("usage").is_empty());
}

async fn re_upsert_updates_fields_but_keeps_first_seen(store: Arc<dyn Store>) {
    let acme = org("github:acme");
    store
        .commit_org_refresh(&commit(
            &acme,
            "2026-01-01",
            vec![record(&acme, 1, 5, "2026-01-01")],
        ))
        .await
        .expect("commit");
    let mut changed = record(&acme, 1, 500, "2026-02-01");
    changed.listing.full_name = "acme/renamed".into();
    store
        .commit_org_refresh(&commit(&acme, "2026-02-01", vec![changed]))
        .await
        .expect("commit");
    let stored = store.list_repos(&acme).await.expect("repos");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].listing.stars, 500);
    assert_eq!(stored[0].listing.full_name, "acme/renamed");
    assert_eq!(stored[0].first_seen, day("2026-01-01"));
}

async fn a_transferred_repo_keeps_its_first_day_in_its_new_org(store: Arc<dyn Store>) {
    let (a, b) = (org("github:a"), org("github:b"));
    store
        .commit_org_refresh(&commit(
            &a,
            "2026-01-01",
            vec![record(&a, 9, 1, "2026-01-01")],
        ))
        .await
        .expect("commit");
    store
        .commit_org_refresh(&commit(
            &b,
            "2026-01-02",
            vec![record(&b, 9, 1, "2026-01-02")],
        ))
        .await
        .expect("commit");
    // `a` keeps it until its own refresh finds it missing (then it is gone from `a`).
    assert_eq!(store.list_repos(&a).await.expect("repos").len(), 1);
    let moved = store.list_repos(&b).await.expect("repos");
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].org, b);
    assert_eq!(
        moved[0].first_seen,
        day("2026-01-01"),
        "history follows the id"
    );
    let mut left = record(&a, 9, 1, "2026-01-01");
    left.gone_since = Some(day("2026-01-03"));
    store
        .commit_org_refresh(&commit(&a, "2026-01-03", vec![left]))
        .await
        .expect("commit");
    assert_eq!(
        store.list_repos(&a).await.expect("repos")[0].gone_since,
        Some(day("2026-01-03"))
    );
    assert_eq!(
        store.list_repos(&b).await.expect("repos")[0].gone_since,
        None
    );
}

/// One repository listed by two organisations (a GitLab project in a group and its
/// subgroup): each keeps its own membership, gone mark, libraries and validators, in
/// either commit order; a purge of one never takes the other's repository.
async fn a_repository_listed_by_two_orgs_belongs_to_both(store: Arc<dyn Store>) {
    for parent_first in [true, false] {
        let parent = org(&format!("gitlab:g{parent_first}"));
        let child = org(&format!("gitlab:g{parent_first}/sub"));
        let with = |o: &OrgId, ids: &[i64]| {
            let mut c = commit(
                o,
                "2026-01-01",
                ids.iter()
                    .map(|&id| record(o, id, id as u64, "2026-01-01"))
                    .collect(),
            );
            c.libraries = ids
                .iter()
                .map(|&id| RepoLibraries {
                    repo_id: id,
                    libraries: vec![lib("npm", &format!("lib{id}"))],
                })
                .collect();
            c.http_cache = vec![HttpCacheEntry {
                url: "http://x/projects/2/languages".into(),
                etag: Some(format!("\"{o}\"")),
                last_modified: None,
                payload: json!({}),
                stored_at: at("2026-01-01"),
                content_hash: None,
            }];
            c
        };
        let (p, c) = (with(&parent, &[1, 2, 3]), with(&child, &[2, 3]));
        let commits = if parent_first { [&p, &c] } else { [&c, &p] };
        for commit in commits {
            store.commit_org_refresh(commit).await.expect("commit");
        }
        let ids = |repos: Vec<orgpulse::domain::RepoRecord>| {
            repos
                .iter()
                .map(|r| (r.listing.id, r.org.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ids(store.list_repos(&parent).await.expect("repos")),
            [1, 2, 3].map(|i| (i, parent.to_string())),
            "parent_first={parent_first}"
        );
        assert_eq!(
            ids(store.list_repos(&child).await.expect("repos")),
            [2, 3].map(|i| (i, child.to_string())),
            "parent_first={parent_first}"
        );
        for o in [&parent, &child] {
            let cache = store.list_http_cache(o).await.expect("cache");
            assert_eq!(cache.len(), 1, "each keeps its own validator");
            assert_eq!(cache[0].etag.as_deref(), Some(format!("\"{o}\"").as_str()));
        }

        // Project 3 leaves the subgroup: gone there, live in the parent.
        let mut left = record(&child, 3, 3, "2026-01-01");
        left.gone_since = Some(day("2026-01-02"));
        store
            .commit_org_refresh(&commit(&child, "2026-01-02", vec![left]))
            .await
            .expect("commit");
        let gone = |repos: Vec<orgpulse::domain::RepoRecord>| {
            repos.iter().filter(|r| r.gone_since.is_some()).count()
        };
        assert_eq!(gone(store.list_repos(&child).await.expect("repos")), 1);
        assert_eq!(gone(store.list_repos(&parent).await.expect("repos")), 0);
        assert_eq!(store.library_usage(&parent).await.expect("usage").len(), 3);
        assert_eq!(store.library_usage(&child).await.expect("usage").len(), 1);

        // Purging the subgroup keeps every repository the parent lists, with its libraries.
        store.remove_tracked_org(&child, true).await.expect("purge");
        assert!(store.list_repos(&child).await.expect("repos").is_empty());
        assert_eq!(store.list_repos(&parent).await.expect("repos").len(), 3);
        assert_eq!(
            store
                .list_repo_libraries(&parent, 2)
                .await
                .expect("libraries"),
            vec![lib("npm", "lib2")]
        );
        assert_eq!(
            store.list_http_cache(&parent).await.expect("cache").len(),
            1
        );
        // Purging the parent then removes them all.
        store
            .remove_tracked_org(&parent, true)
            .await
            .expect("purge");
        assert!(store
            .list_repo_libraries(&parent, 2)
            .await
            .expect("libraries")
            .is_empty());
    }
}

async fn gone_repos_leave_library_usage(store: Arc<dyn Store>) {
    let acme = org("github:acme");
    let mut c = commit(
        &acme,
        "2026-01-01",
        vec![
            record(&acme, 1, 1, "2026-01-01"),
            record(&acme, 2, 1, "2026-01-01"),
        ],
    );
    c.libraries = vec![
        RepoLibraries {
            repo_id: 1,
            libraries: vec![lib("cargo", "serde")],
        },
        RepoLibraries {
            repo_id: 2,
            libraries: vec![lib("cargo", "serde")],
        },
    ];
    store.commit_org_refresh(&c).await.expect("commit");
    let mut gone = record(&acme, 2, 1, "2026-01-01");
    gone.gone_since = Some(day("2026-01-03"));
    store
        .commit_org_refresh(&commit(&acme, "2026-01-03", vec![gone]))
        .await
        .expect("commit");
    let stored = store.list_repos(&acme).await.expect("repos");
    assert_eq!(stored.len(), 2, "gone is a mark, not a deletion");
    assert_eq!(stored[1].gone_since, Some(day("2026-01-03")));
    assert_eq!(store.library_usage(&acme).await.expect("usage")[0].repos, 1);
}

async fn libraries_are_replaced_per_repo(store: Arc<dyn Store>) {
    let acme = org("github:acme");
    let mut c = commit(
        &acme,
        "2026-01-01",
        vec![
            record(&acme, 1, 1, "2026-01-01"),
            record(&acme, 2, 1, "2026-01-01"),
        ],
    );
    c.libraries = vec![
        RepoLibraries {
            repo_id: 1,
            libraries: vec![lib("cargo", "serde"), lib("cargo", "rand")],
        },
        RepoLibraries {
            repo_id: 2,
            libraries: vec![lib("pypi", "requests")],
        },
    ];
    store.commit_org_refresh(&c).await.expect("commit");
    let mut again = commit(&acme, "2026-01-02", Vec::new());
    again.libraries = vec![RepoLibraries {
        repo_id: 1,
        libraries: vec![lib("cargo", "tokio")],
    }];
    store.commit_org_refresh(&again).await.expect("commit");
    assert_eq!(
        store
            .list_repo_libraries(&acme, 1)
            .await
            .expect("libraries"),
        vec![lib("cargo", "tokio")]
    );
    assert_eq!(
        store
            .list_repo_libraries(&acme, 2)
            .await
            .expect("libraries"),
        vec![lib("pypi", "requests")]
    );
    // Every live repository's libraries at once, by repository; a gone one's are left out.
    assert_eq!(
        store.org_libraries(&acme).await.expect("libraries"),
        vec![(1, lib("cargo", "tokio")), (2, lib("pypi", "requests"))]
    );
    let mut left = record(&acme, 2, 1, "2026-01-01");
    left.gone_since = Some(day("2026-01-03"));
    store
        .commit_org_refresh(&commit(&acme, "2026-01-03", vec![left]))
        .await
        .expect("commit");
    assert_eq!(
        store.org_libraries(&acme).await.expect("libraries"),
        vec![(1, lib("cargo", "tokio"))],
        "repository 2 is gone"
    );
}

async fn same_day_snapshot_is_replaced_and_ranges_filter(store: Arc<dyn Store>) {
    let acme = org("github:acme");
    for (when, stars) in [
        ("2026-01-01", 1),
        ("2026-01-02", 2),
        ("2026-01-03", 3),
        ("2026-01-03", 30),
    ] {
        store
            .commit_org_refresh(&commit(
                &acme,
                when,
                vec![record(&acme, 1, stars, "2026-01-01")],
            ))
            .await
            .expect("commit");
    }
    let all = store
        .list_snapshots(&acme, None, None)
        .await
        .expect("snapshots");
    assert_eq!(
        all.iter().map(|s| s.totals.stars).collect::<Vec<_>>(),
        [1, 2, 30],
        "oldest first, same day replaced"
    );
    let ranged = store
        .list_snapshots(&acme, Some(day("2026-01-02")), Some(day("2026-01-02")))
        .await
        .expect("range");
    assert_eq!(ranged.len(), 1);
    assert_eq!(ranged[0].day, day("2026-01-02"));
    assert_eq!(
        store
            .list_snapshots(&acme, Some(day("2026-01-03")), None)
            .await
            .expect("from")
            .len(),
        1
    );
    assert_eq!(
        store
            .list_snapshots(&acme, None, Some(day("2026-01-01")))
            .await
            .expect("to")
            .len(),
        1
    );
}

async fn repository_history_and_counts_on_a_day_read_per_repository(store: Arc<dyn Store>) {
    let acme = org("github:acme");
    let other = org("github:other");
    // Day 1: repos 1 and 2. Day 2: repo 2 gains a star, repo 3 appears. Day 3: repo 2 is
    // gone (a complete listing without it). Day 5 (day 4 missed): repo 1 moves, repo 2 is
    // back. Day 5 is then committed again with repo 1 moving once more.
    let days: [(&str, Vec<(i64, u64)>); 5] = [
        ("2026-01-01", vec![(1, 10), (2, 20)]),
        ("2026-01-02", vec![(1, 10), (2, 21), (3, 5)]),
        ("2026-01-03", vec![(1, 10), (3, 5)]),
        ("2026-01-05", vec![(1, 11), (2, 21), (3, 5)]),
        ("2026-01-05", vec![(1, 12), (2, 21), (3, 5)]),
    ];
    for (when, repos) in &days {
        let records = repos
            .iter()
            .map(|(id, stars)| record(&acme, *id, *stars, "2026-01-01"))
            .collect();
        store
            .commit_org_refresh(&commit(&acme, when, records))
            .await
            .expect("commit");
        // Another organisation's rows never mix in.
        store
            .commit_org_refresh(&commit(
                &other,
                when,
                vec![record(&other, 9, 99, "2026-01-01")],
            ))
            .await
            .expect("commit");
    }
    let stars = |h: &[RepoDay]| {
        h.iter()
            .map(|d| (d.day.to_string(), d.counts.map(|c| c.stars)))
            .collect::<Vec<_>>()
    };
    let two = store
        .repo_history(&acme, 2, None, None)
        .await
        .expect("history");
    assert_eq!(
        stars(&two),
        [
            ("2026-01-01".into(), Some(20)),
            ("2026-01-02".into(), Some(21)),
            ("2026-01-03".into(), None),
            ("2026-01-05".into(), Some(21)),
        ],
        "one entry per snapshot day, None where it was not listed; the missed day is absent"
    );
    let one = store
        .repo_history(&acme, 1, Some(day("2026-01-02")), Some(day("2026-01-05")))
        .await
        .expect("ranged");
    assert_eq!(
        stars(&one),
        [
            ("2026-01-02".into(), Some(10)),
            ("2026-01-03".into(), Some(10)),
            ("2026-01-05".into(), Some(12)),
        ],
        "a range, and a day committed again keeps its last values"
    );
    assert_eq!(
        one[2].counts.map(|c| (c.forks, c.open_issues)),
        Some((1, Some(2)))
    );
    assert!(store
        .repo_history(&acme, 404, None, None)
        .await
        .expect("none")
        .iter()
        .all(|d| d.counts.is_none()));

    let on = |d: &str| {
        let store = store.clone();
        let acme = acme.clone();
        let d = day(d);
        async move {
            store
                .repo_counts_on(&acme, d)
                .await
                .expect("counts")
                .iter()
                .map(|c| (c.id, c.stars))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(on("2026-01-02").await, [(1, 10), (2, 21), (3, 5)]);
    assert_eq!(on("2026-01-03").await, [(1, 10), (3, 5)]);
    assert_eq!(
        on("2026-01-04").await,
        [(1, 10), (3, 5)],
        "the latest day on or before"
    );
    assert_eq!(on("2026-01-05").await, [(1, 12), (2, 21), (3, 5)]);
    assert_eq!(on("2025-12-31").await, []);

    // The snapshots read back whole from the rows.
    let snapshots = store
        .list_snapshots(&acme, None, None)
        .await
        .expect("snapshots");
    let expected = [&days[0], &days[1], &days[2], &days[4]];
    assert_eq!(snapshots.len(), expected.len());
    for (snapshot, (_, repos)) in snapshots.iter().zip(expected) {
        assert_eq!(
            snapshot
                .repos
                .iter()
                .map(|c| (c.id, c.stars))
                .collect::<Vec<_>>(),
            *repos,
            "{}",
            snapshot.day
        );
    }
}

async fn http_cache_entries_are_upserted_by_url(store: Arc<dyn Store>) {
    let acme = org("github:acme");
    let entry = |etag: &str| HttpCacheEntry {
        url: "http://x/a".into(),
        etag: Some(etag.into()),
        last_modified: None,
        payload: serde_json::json!([etag]),
        stored_at: at("2026-01-01"),
        content_hash: None,
    };
    let mut c = commit(&acme, "2026-01-01", Vec::new());
    c.http_cache = vec![entry("\"1\"")];
    store.commit_org_refresh(&c).await.expect("commit");
    c.http_cache = vec![entry("\"2\"")];
    store.commit_org_refresh(&c).await.expect("commit");
    assert_eq!(
        store.list_http_cache(&acme).await.expect("cache"),
        vec![entry("\"2\"")]
    );
}

async fn forges_paths_and_content_hashes_round_trip(store: Arc<dyn Store>) {
    // A GitLab subgroup and a Forgejo organisation, each with a repository of the same
    // numeric id: repositories are keyed by forge instance and id.
    let sub = org("gitlab:gnome/sub.group");
    let cb = org("codeberg:forgejo");
    for id in [&sub, &cb] {
        store
            .add_tracked_org(id, at("2026-01-01"))
            .await
            .expect("add");
    }
    let mut c = commit(&sub, "2026-01-01", vec![record(&sub, 7, 5, "2026-01-01")]);
    let hashed = HttpCacheEntry {
        url: "http://x/api/v1/orgs/forgejo/repos?limit=50&page=1".into(),
        etag: None,
        last_modified: None,
        payload: serde_json::json!({"repos": []}),
        stored_at: at("2026-01-01"),
        content_hash: Some("ab".repeat(32)),
    };
    store.commit_org_refresh(&c).await.expect("commit");
    c = commit(&cb, "2026-01-01", vec![record(&cb, 7, 9, "2026-01-01")]);
    c.http_cache = vec![hashed.clone()];
    store.commit_org_refresh(&c).await.expect("commit");

    assert_eq!(
        store.list_http_cache(&cb).await.expect("cache"),
        vec![hashed]
    );
    assert!(store.list_http_cache(&sub).await.expect("cache").is_empty());
    let repos = store.list_repos(&sub).await.expect("repos");
    assert_eq!(repos.len(), 1);
    assert_eq!(
        (repos[0].org.to_string().as_str(), repos[0].listing.stars),
        ("gitlab:gnome/sub.group", 5)
    );
    let repos = store.list_repos(&cb).await.expect("repos");
    assert_eq!(
        repos[0].listing.stars, 9,
        "same numeric id, other forge: its own row"
    );
    let record = store.get_org(&sub).await.expect("get").expect("stored");
    assert_eq!(record.org, sub);
    let tracked: Vec<String> = store
        .list_tracked_orgs()
        .await
        .expect("list")
        .iter()
        .map(|t| t.org.to_string())
        .collect();
    assert!(
        tracked.contains(&"gitlab:gnome/sub.group".to_owned()),
        "{tracked:?}"
    );
}

async fn outcomes_keep_the_last_success(store: Arc<dyn Store>) {
    let acme = org("github:acme");
    store
        .add_tracked_org(&acme, at("2026-01-01"))
        .await
        .expect("add");
    store
        .record_org_outcome(&outcome(&acme, OrgStatus::Ok, "2026-01-02"))
        .await
        .expect("outcome");
    store
        .record_org_outcome(&outcome(&acme, OrgStatus::Failed, "2026-01-03"))
        .await
        .expect("outcome");
    let tracked = &store.list_tracked_orgs().await.expect("list")[0];
    assert_eq!(
        tracked.last_outcome.as_ref().expect("outcome").status,
        OrgStatus::Failed
    );
    assert_eq!(tracked.last_success_at, Some(at("2026-01-02")));
}

async fn runs_are_stored_updated_and_listed_newest_first(store: Arc<dyn Store>) {
    let options = RunOptions {
        languages: true,
        libraries: false,
    };
    let mut first = RefreshRun::queued(
        Trigger::Cli,
        vec![org("github:a")],
        options,
        at("2026-01-01"),
    );
    let second = RefreshRun::queued(Trigger::Schedule, vec![], options, at("2026-01-02"));
    store.insert_run(&first).await.expect("insert");
    store.insert_run(&second).await.expect("insert");
    first.status = RunStatus::Partial;
    first.outcomes = vec![outcome(&org("github:a"), OrgStatus::Partial, "2026-01-01")];
    first.finished_at = Some(at("2026-01-01"));
    store.update_run(&first).await.expect("update");
    assert_eq!(
        store.get_run(&first.id).await.expect("get"),
        Some(first.clone())
    );
    assert!(store
        .get_run(&RunId("nope".into()))
        .await
        .expect("get")
        .is_none());
    let listed = store.list_runs(10).await.expect("list");
    assert_eq!(
        listed.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
        [second.id.clone(), first.id.clone()]
    );
    assert_eq!(store.list_runs(1).await.expect("list").len(), 1);
    let ghost = RefreshRun::queued(Trigger::Cli, vec![], options, at("2026-01-03"));
    assert!(
        store.update_run(&ghost).await.is_err(),
        "updating an unknown run is an error"
    );
}

async fn every_write_moves_the_data_version(store: Arc<dyn Store>) {
    let acme = org("github:acme");
    let mut last = store.data_version().await.expect("version");
    let mut moved = |now: i64, what: &str| {
        assert_ne!(now, last, "{what} did not move the data version");
        last = now;
    };
    store
        .seed_tracked_orgs(std::slice::from_ref(&acme), at("2026-01-01"))
        .await
        .expect("seed");
    moved(store.data_version().await.expect("version"), "seeding");
    store
        .add_tracked_org(&org("github:b"), at("2026-01-01"))
        .await
        .expect("add");
    moved(store.data_version().await.expect("version"), "adding");
    store
        .commit_org_refresh(&commit(
            &acme,
            "2026-01-01",
            vec![record(&acme, 1, 1, "2026-01-01")],
        ))
        .await
        .expect("commit");
    moved(store.data_version().await.expect("version"), "a commit");
    store
        .record_org_outcome(&outcome(&acme, OrgStatus::Ok, "2026-01-01"))
        .await
        .expect("outcome");
    moved(store.data_version().await.expect("version"), "an outcome");
    let mut run = RefreshRun::queued(
        Trigger::Cli,
        vec![],
        RunOptions {
            languages: false,
            libraries: false,
        },
        at("2026-01-01"),
    );
    store.insert_run(&run).await.expect("insert");
    moved(store.data_version().await.expect("version"), "a new run");
    run.status = RunStatus::Succeeded;
    store.update_run(&run).await.expect("update");
    moved(store.data_version().await.expect("version"), "a run update");
    store
        .remove_tracked_org(&org("github:b"), false)
        .await
        .expect("remove");
    moved(store.data_version().await.expect("version"), "removing");
    store.list_repos(&acme).await.expect("read");
    store.overview().await.expect("read");
    assert_eq!(
        store.data_version().await.expect("version"),
        last,
        "reads leave it alone"
    );
}

async fn overview_has_every_tracked_org_in_one_call(store: Arc<dyn Store>) {
    let (acme, never) = (org("github:acme"), org("github:never"));
    store
        .add_tracked_org(&acme, at("2026-01-01"))
        .await
        .expect("add");
    store
        .add_tracked_org(&never, at("2026-01-01"))
        .await
        .expect("add");
    for (when, stars) in [("2026-01-01", 1), ("2026-01-02", 2)] {
        store
            .commit_org_refresh(&commit(
                &acme,
                when,
                vec![record(&acme, 1, stars, "2026-01-01")],
            ))
            .await
            .expect("commit");
    }
    store
        .record_org_outcome(&outcome(&acme, OrgStatus::Ok, "2026-01-02"))
        .await
        .expect("outcome");
    // Stored but no longer tracked: not on the overview.
    let gone = org("github:untracked");
    store
        .commit_org_refresh(&commit(&gone, "2026-01-01", Vec::new()))
        .await
        .expect("commit");

    let overview = store.overview().await.expect("overview");
    assert_eq!(overview.len(), 2);
    assert_eq!(overview[0].tracked.org, acme);
    assert_eq!(
        overview[0]
            .record
            .as_ref()
            .expect("profile")
            .profile
            .name
            .as_deref(),
        Some("Acme")
    );
    assert_eq!(
        overview[0]
            .history
            .iter()
            .map(|d| d.totals.stars)
            .collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(overview[0].history[1].primary_languages["Rust"], 1);
    assert_eq!(
        overview[0]
            .tracked
            .last_outcome
            .as_ref()
            .expect("outcome")
            .status,
        OrgStatus::Ok
    );
    assert_eq!(overview[1].tracked.org, never);
    assert!(overview[1].record.is_none() && overview[1].history.is_empty());
}

async fn org_detail_has_everything_for_one_page(store: Arc<dyn Store>) {
    let acme = org("github:acme");
    assert!(
        store.org_detail(&acme).await.expect("detail").is_none(),
        "unknown org"
    );
    store
        .add_tracked_org(&acme, at("2026-01-01"))
        .await
        .expect("add");
    let detail = store
        .org_detail(&acme)
        .await
        .expect("detail")
        .expect("tracked, never fetched");
    assert!(detail.record.is_none() && detail.repos.is_empty() && detail.history.is_empty());
    assert_eq!(detail.tracked_since, Some(at("2026-01-01")));

    let mut c = commit(
        &acme,
        "2026-01-02",
        vec![
            record(&acme, 2, 5, "2026-01-02"),
            record(&acme, 1, 3, "2026-01-02"),
        ],
    );
    c.libraries = vec![RepoLibraries {
        repo_id: 1,
        libraries: vec![lib("cargo", "serde")],
    }];
    store.commit_org_refresh(&c).await.expect("commit");
    store
        .record_org_outcome(&outcome(&acme, OrgStatus::Failed, "2026-01-03"))
        .await
        .expect("outcome");
    store
        .remove_tracked_org(&acme, false)
        .await
        .expect("untrack");

    let detail = store
        .org_detail(&acme)
        .await
        .expect("detail")
        .expect("data kept");
    assert!(detail.tracked_since.is_none());
    assert_eq!(
        detail.last_outcome.as_ref().expect("outcome").status,
        OrgStatus::Failed
    );
    assert_eq!(detail.last_success_at, None);
    assert_eq!(
        detail
            .repos
            .iter()
            .map(|r| r.listing.id)
            .collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(detail.history.len(), 1);
    assert_eq!(detail.history[0].totals.stars, 8);
    assert_eq!(detail.libraries.len(), 1);
    assert_eq!(
        store
            .list_history(&acme, Some(day("2026-01-03")), None)
            .await
            .expect("history")
            .len(),
        0
    );
    assert_eq!(
        store
            .list_history(&acme, None, None)
            .await
            .expect("history"),
        detail.history
    );
}

async fn a_lease_has_one_holder_until_it_expires(store: Arc<dyn Store>) {
    use orgpulse::store::LeaseGrant;
    let now = at("2026-01-01");
    let (run_a, run_b) = (RunId("run-a".into()), RunId("run-b".into()));
    let later = |s: i64| now + chrono::Duration::seconds(s);
    assert_eq!(
        store
            .acquire_lease("refresh", "a", &run_a, now, later(60))
            .await
            .expect("acquire"),
        LeaseGrant::Acquired
    );
    match store
        .acquire_lease("refresh", "b", &run_b, later(1), later(61))
        .await
        .expect("acquire")
    {
        LeaseGrant::Held(lease) => {
            assert_eq!(lease.holder, "a");
            assert_eq!(
                lease.run_id,
                Some(run_a.clone()),
                "the loser learns which run to join"
            );
            assert_eq!(lease.expires_at, later(60));
        }
        LeaseGrant::Acquired => panic!("two holders at once"),
    }
    assert_eq!(
        store
            .acquire_lease("refresh", "a", &run_a, later(2), later(62))
            .await
            .expect("re-acquire"),
        LeaseGrant::Acquired,
        "the holder may take it again"
    );
    assert!(store
        .renew_lease("refresh", "a", later(120))
        .await
        .expect("renew"));
    assert!(
        !store
            .renew_lease("refresh", "b", later(120))
            .await
            .expect("renew"),
        "only the holder renews"
    );
    assert!(
        matches!(
            store
                .acquire_lease("refresh", "b", &run_b, later(100), later(160))
                .await
                .expect("acquire"),
            LeaseGrant::Held(_)
        ),
        "renewed, so still held"
    );
    // The holder dies: once the lease expires, someone else takes over.
    assert_eq!(
        store
            .acquire_lease("refresh", "b", &run_b, later(121), later(181))
            .await
            .expect("take over"),
        LeaseGrant::Acquired
    );
    assert!(
        !store
            .renew_lease("refresh", "a", later(200))
            .await
            .expect("renew"),
        "the old holder lost it"
    );
    store
        .release_lease("refresh", "a")
        .await
        .expect("release by a non-holder is a no-op");
    assert!(matches!(
        store
            .acquire_lease("refresh", "c", &run_a, later(122), later(182))
            .await
            .expect("acquire"),
        LeaseGrant::Held(_)
    ));
    store.release_lease("refresh", "b").await.expect("release");
    assert_eq!(
        store
            .acquire_lease("refresh", "c", &run_a, later(123), later(183))
            .await
            .expect("acquire"),
        LeaseGrant::Acquired
    );
    assert_eq!(
        store
            .acquire_lease("other", "d", &run_b, later(123), later(183))
            .await
            .expect("acquire"),
        LeaseGrant::Acquired,
        "leases are by name"
    );
}

async fn a_dead_holders_lease_is_taken_over_once_before_it_expires(store: Arc<dyn Store>) {
    use orgpulse::store::LeaseGrant;
    let now = at("2026-01-01");
    let later = |s: i64| now + chrono::Duration::seconds(s);
    let (dead_run, run_b, run_c) = (
        RunId("dead".into()),
        RunId("run-b".into()),
        RunId("run-c".into()),
    );
    assert_eq!(
        store
            .acquire_lease("refresh", "dead", &dead_run, now, later(60))
            .await
            .expect("acquire"),
        LeaseGrant::Acquired
    );
    assert!(
        !store
            .take_over_lease("refresh", "someone-else", "b", &run_b, later(61))
            .await
            .expect("take over"),
        "only from the holder named"
    );
    assert!(store
        .take_over_lease("refresh", "dead", "b", &run_b, later(61))
        .await
        .expect("take over"));
    assert!(
        !store
            .take_over_lease("refresh", "dead", "c", &run_c, later(61))
            .await
            .expect("take over"),
        "a second taker loses"
    );
    match store
        .acquire_lease("refresh", "c", &run_c, later(1), later(61))
        .await
        .expect("acquire")
    {
        LeaseGrant::Held(lease) => {
            assert_eq!(lease.holder, "b");
            assert_eq!(lease.run_id, Some(run_b));
            assert_eq!(lease.expires_at, later(61));
        }
        LeaseGrant::Acquired => panic!("two holders at once"),
    }
    assert!(
        !store
            .take_over_lease("nothing", "dead", "c", &run_c, later(61))
            .await
            .expect("take over"),
        "no lease, nothing to take over"
    );
}

async fn contended_leases_have_exactly_one_winner(store: Arc<dyn Store>) {
    use orgpulse::store::LeaseGrant;
    let now = chrono::Utc::now();
    let attempts = (0..8).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .acquire_lease(
                    "race",
                    &format!("holder-{i}"),
                    &RunId(format!("run-{i}")),
                    now,
                    now + chrono::Duration::seconds(60),
                )
                .await
        })
    });
    let mut winners = 0;
    for attempt in attempts {
        if attempt.await.expect("joined").expect("acquire") == LeaseGrant::Acquired {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
}

async fn tokens_are_stored_found_by_hash_touched_and_revoked(store: Arc<dyn Store>) {
    use orgpulse::domain::TokenRecord;
    let token = |name: &str, hash: &str| TokenRecord {
        name: name.into(),
        hash: hash.into(),
        created_at: at("2026-01-01"),
        expires_at: Some(at("2026-07-01")),
        last_used_at: None,
    };
    assert!(store
        .insert_token(&token("ci", "aa"))
        .await
        .expect("insert"));
    assert!(
        !store
            .insert_token(&token("ci", "bb"))
            .await
            .expect("insert"),
        "names are unique"
    );
    assert!(store
        .insert_token(&token("ops", "cc"))
        .await
        .expect("insert"));
    assert_eq!(
        store
            .list_tokens()
            .await
            .expect("list")
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>(),
        ["ci", "ops"]
    );
    assert_eq!(
        store.find_token("aa").await.expect("find"),
        Some(token("ci", "aa"))
    );
    assert_eq!(store.find_token("zz").await.expect("find"), None);
    store
        .touch_token("ci", at("2026-02-02"))
        .await
        .expect("touch");
    assert_eq!(
        store
            .find_token("aa")
            .await
            .expect("find")
            .expect("found")
            .last_used_at,
        Some(at("2026-02-02"))
    );
    assert!(store.revoke_token("ci").await.expect("revoke"));
    assert!(
        !store.revoke_token("ci").await.expect("revoke"),
        "already gone"
    );
    assert_eq!(
        store.find_token("aa").await.expect("find"),
        None,
        "a revoked token no longer authenticates"
    );
}

async fn run_housekeeping(store: Arc<dyn Store>) {
    let options = RunOptions {
        languages: false,
        libraries: false,
    };
    assert_eq!(store.last_success_at().await.expect("read"), None);
    let mut old = RefreshRun::queued(Trigger::Schedule, vec![], options, at("2026-01-01"));
    old.status = RunStatus::Succeeded;
    old.finished_at = Some(at("2026-01-01"));
    store.insert_run(&old).await.expect("insert");
    let mut failed = RefreshRun::queued(Trigger::Schedule, vec![], options, at("2026-01-05"));
    failed.status = RunStatus::Failed;
    failed.finished_at = Some(at("2026-01-05"));
    store.insert_run(&failed).await.expect("insert");
    assert_eq!(
        store.last_success_at().await.expect("read"),
        Some(at("2026-01-01")),
        "failed runs do not count"
    );

    let mut stuck = RefreshRun::queued(Trigger::Api, vec![], options, at("2026-01-06"));
    stuck.status = RunStatus::Running;
    store.insert_run(&stuck).await.expect("insert");
    let current = RefreshRun::queued(Trigger::Api, vec![], options, at("2026-01-07"));
    store.insert_run(&current).await.expect("insert");
    assert_eq!(
        store
            .interrupt_unfinished_runs(&current.id, "holder died", at("2026-01-07"))
            .await
            .expect("interrupt"),
        1
    );
    let stuck = store.get_run(&stuck.id).await.expect("get").expect("kept");
    assert_eq!(
        (stuck.status, stuck.message.as_deref()),
        (RunStatus::Interrupted, Some("holder died"))
    );
    assert_eq!(
        store
            .get_run(&current.id)
            .await
            .expect("get")
            .expect("kept")
            .status,
        RunStatus::Queued,
        "the kept run is untouched"
    );

    assert_eq!(
        store
            .delete_runs_before(at("2026-01-06"))
            .await
            .expect("delete"),
        2,
        "old finished runs go"
    );
    assert!(store.get_run(&old.id).await.expect("get").is_none());
    assert_eq!(
        store
            .delete_runs_before(at("2026-12-31"))
            .await
            .expect("delete"),
        1,
        "the unfinished one stays"
    );
    assert!(store.get_run(&current.id).await.expect("get").is_some());
}

/// Instantiates every conformance test once per driver, from one list, so no test can run
/// on one store only.
async fn org_writes_move_only_that_orgs_stamp(store: Arc<dyn Store>) {
    let (acme, b) = (org("github:acme"), org("github:b"));
    let stamps = || async {
        store
            .org_stamps()
            .await
            .expect("stamps")
            .into_iter()
            .map(|(o, s)| (o.to_string(), s))
            .collect::<std::collections::HashMap<_, _>>()
    };
    let mut last = stamps().await;
    assert!(last.is_empty(), "a new store has no stamps: {last:?}");
    let mut moved = |now: std::collections::HashMap<String, i64>, who: &[&OrgId], what: &str| {
        let changed: Vec<&String> = now
            .iter()
            .filter(|(o, s)| last.get(*o) != Some(*s))
            .map(|(o, _)| o)
            .collect();
        let mut changed: Vec<String> = changed.into_iter().cloned().collect();
        changed.sort();
        let mut want: Vec<String> = who.iter().map(|o| o.to_string()).collect();
        want.sort();
        assert_eq!(changed, want, "{what} moved these stamps");
        assert!(
            last.keys().all(|o| now.contains_key(o)),
            "{what} removed a stamp"
        );
        last = now;
    };
    store
        .seed_tracked_orgs(std::slice::from_ref(&acme), at("2026-01-01"))
        .await
        .expect("seed");
    moved(stamps().await, &[&acme], "seeding");
    store
        .add_tracked_org(&b, at("2026-01-01"))
        .await
        .expect("add");
    moved(stamps().await, &[&b], "adding");
    store
        .commit_org_refresh(&commit(
            &acme,
            "2026-01-01",
            vec![record(&acme, 1, 1, "2026-01-01")],
        ))
        .await
        .expect("commit");
    moved(stamps().await, &[&acme], "a commit");
    store
        .record_org_outcome(&outcome(&b, OrgStatus::Ok, "2026-01-01"))
        .await
        .expect("outcome");
    moved(stamps().await, &[&b], "an outcome");
    let run = RefreshRun::queued(
        Trigger::Cli,
        vec![],
        RunOptions {
            languages: false,
            libraries: false,
        },
        at("2026-01-01"),
    );
    store.insert_run(&run).await.expect("insert");
    moved(stamps().await, &[], "a new run");
    store.remove_tracked_org(&b, true).await.expect("remove");
    moved(stamps().await, &[&b], "removing with purge");
}

async fn events_are_kept_once_per_key_filtered_and_paged_newest_first(store: Arc<dyn Store>) {
    use orgpulse::domain::{Event, EventKind};
    use orgpulse::store::EventQuery;
    let acme = org("github:acme");
    let other = org("github:other");
    let event = |org_id: &OrgId, when: &str, kind: EventKind, repo: i64| Event {
        org: org_id.clone(),
        at: at(when),
        kind,
        repo_id: Some(repo),
        repo: Some(format!("r{repo}")),
        from: None,
        to: None,
    };
    // Data events arrive with the commit, atomically with the data.
    let mut first = commit(&acme, "2026-03-01", vec![record(&acme, 1, 5, "2026-03-01")]);
    first.events = vec![event(&acme, "2026-03-01", EventKind::RepoCreated, 1)];
    store.commit_org_refresh(&first).await.expect("commit");
    let added = store
        .record_events(&[
            event(&acme, "2026-03-01", EventKind::RepoCreated, 1),
            event(&acme, "2026-03-02", EventKind::RepoArchived, 1),
            event(&other, "2026-03-02", EventKind::RepoCreated, 9),
            event(&acme, "2026-03-03", EventKind::RepoGone, 2),
        ])
        .await
        .expect("record");
    assert_eq!(added, 3, "the event the commit wrote is not written again");
    let all = EventQuery::latest(10);
    let listed = store.list_events(&all).await.expect("list");
    let kinds: Vec<(String, EventKind)> = listed
        .iter()
        .map(|e| (e.event.org.to_string(), e.event.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("github:acme".to_owned(), EventKind::RepoGone),
            ("github:other".to_owned(), EventKind::RepoCreated),
            ("github:acme".to_owned(), EventKind::RepoArchived),
            ("github:acme".to_owned(), EventKind::RepoCreated),
        ],
        "newest first"
    );
    assert!(listed.windows(2).all(|w| w[0].seq > w[1].seq));
    assert_eq!(listed[3].event, first.events[0], "read back whole");

    let page = |before: Option<i64>| EventQuery {
        org: Some(acme.clone()),
        before,
        limit: 2,
        ..all.clone()
    };
    let one = store.list_events(&page(None)).await.expect("page 1");
    let two = store
        .list_events(&page(Some(one[1].seq)))
        .await
        .expect("page 2");
    assert_eq!(
        (one.len(), two.len(), two[0].event.kind),
        (2, 1, EventKind::RepoCreated),
        "a cursor pages through one organisation's events"
    );
    let kind = EventQuery {
        kind: Some(EventKind::RepoCreated),
        ..all.clone()
    };
    assert_eq!(store.list_events(&kind).await.expect("by kind").len(), 2);
    let since = EventQuery {
        since: Some(at("2026-03-02")),
        ..all.clone()
    };
    assert_eq!(store.list_events(&since).await.expect("since").len(), 3);

    // Outcomes: the first failure and the recovery, not every failed day.
    for (status, when) in [
        (OrgStatus::Ok, "2026-03-04"),
        (OrgStatus::Failed, "2026-03-05"),
        (OrgStatus::Failed, "2026-03-06"),
        (OrgStatus::Ok, "2026-03-07"),
    ] {
        store
            .record_org_outcome(&outcome(&acme, status, when))
            .await
            .expect("outcome");
    }
    let since = EventQuery {
        since: Some(at("2026-03-04")),
        ..all.clone()
    };
    let outcomes: Vec<EventKind> = store
        .list_events(&since)
        .await
        .expect("outcomes")
        .iter()
        .map(|e| e.event.kind)
        .collect();
    assert_eq!(outcomes, [EventKind::Recovered, EventKind::RefreshFailed]);

    store.remove_tracked_org(&acme, true).await.expect("purge");
    let left = store.list_events(&all).await.expect("after purge");
    assert_eq!(
        left.len(),
        1,
        "a purge removes the organisation's events only"
    );
    assert_eq!(left[0].event.org, other);
}

async fn webhook_positions_move_forward_and_the_feed_reads_forward(store: Arc<dyn Store>) {
    use orgpulse::domain::{Delivery, Event, EventKind};
    use orgpulse::store::EventQuery;
    let (acme, other) = (org("github:acme"), org("github:other"));
    let events: Vec<Event> = (1..=5)
        .map(|i| Event {
            org: if i == 3 { other.clone() } else { acme.clone() },
            at: at(&format!("2026-03-0{i}")),
            kind: EventKind::RepoCreated,
            repo_id: Some(i),
            repo: Some(format!("r{i}")),
            from: None,
            to: None,
        })
        .collect();
    assert_eq!(store.record_events(&events).await.expect("record"), 5);
    let newest = store
        .list_events(&EventQuery::latest(10))
        .await
        .expect("list");
    let seqs: Vec<i64> = newest.iter().rev().map(|e| e.seq).collect();
    let forward = |after: i64, limit: usize| EventQuery {
        org: Some(acme.clone()),
        after: Some(after),
        ..EventQuery::latest(limit)
    };
    let first_two = store.list_events(&forward(0, 2)).await.expect("forward");
    assert_eq!(
        first_two.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [seqs[0], seqs[1]],
        "oldest first from the start, one organisation's only"
    );
    let rest = store
        .list_events(&forward(seqs[1], 10))
        .await
        .expect("forward");
    assert_eq!(
        rest.iter().map(|e| e.event.repo_id).collect::<Vec<_>>(),
        [Some(4), Some(5)],
        "after a position, the events recorded later (another organisation's skipped)"
    );
    let since = EventQuery {
        since: Some(at("2026-03-05")),
        ..forward(0, 10)
    };
    assert_eq!(store.list_events(&since).await.expect("since").len(), 1);

    assert!(store.webhook_cursors("h1").await.expect("none").is_empty());
    store
        .advance_webhook_cursor("h1", &acme, seqs[1])
        .await
        .expect("advance");
    store
        .advance_webhook_cursor("h1", &acme, seqs[0])
        .await
        .expect("a lower position");
    store
        .advance_webhook_cursor("h1", &other, seqs[2])
        .await
        .expect("advance");
    store
        .advance_webhook_cursor("h2", &acme, seqs[4])
        .await
        .expect("another endpoint");
    let mut h1 = store.webhook_cursors("h1").await.expect("h1");
    h1.sort();
    assert_eq!(
        h1,
        [(acme.clone(), seqs[1]), (other.clone(), seqs[2])],
        "per organisation, never moved backward, other endpoints apart"
    );

    // Deliveries are kept on their run.
    let mut run = RefreshRun::queued(
        Trigger::Schedule,
        vec![acme.clone()],
        RunOptions {
            languages: false,
            libraries: false,
        },
        at("2026-03-05"),
    );
    store.insert_run(&run).await.expect("insert");
    run.deliveries.push(Delivery {
        target: "https://hooks.example.com".into(),
        org: acme.clone(),
        events: 2,
        first_seq: seqs[3],
        last_seq: seqs[4],
        attempts: 3,
        delivered: false,
        status: Some(503),
        error: Some("the endpoint answered 503 Service Unavailable".into()),
        at: at("2026-03-05"),
    });
    store.update_run(&run).await.expect("update");
    assert_eq!(store.get_run(&run.id).await.expect("get"), Some(run));

    store.remove_tracked_org(&acme, true).await.expect("purge");
    assert_eq!(
        store.webhook_cursors("h1").await.expect("h1"),
        [(other, seqs[2])],
        "a purge forgets the organisation's positions"
    );
}

fn activity_item(id: i64, repo_id: i64, author: &str, created: &str) -> ActivityItem {
    ActivityItem {
        forge: "gitlab".parse().expect("forge"),
        id,
        repo_id,
        number: id as u64,
        kind: ItemKind::PullRequest,
        author: Some(author.to_owned()),
        author_bot: author.ends_with("[bot]"),
        created_at: at(created),
        closed_at: None,
        merged_at: None,
        first_response_at: None,
        state: ItemState::Open,
        updated_at: at(created),
    }
}

/// Activity is stored once per item and read per organisation through the repositories
/// it lists: a window's items, each contributor's first item, releases, the sync position,
/// and a purge that takes only what no other organisation lists.
async fn activity_is_stored_once_and_read_through_the_repositories_listed(store: Arc<dyn Store>) {
    let (acme, libs, other) = (
        org("gitlab:acme"),
        org("gitlab:acme/libs"),
        org("gitlab:other"),
    );
    for (id, repos) in [(&acme, vec![1, 2]), (&libs, vec![2]), (&other, vec![3])] {
        store
            .add_tracked_org(id, at("2026-03-01"))
            .await
            .expect("track");
        let records = repos
            .into_iter()
            .map(|r| record(id, r, 1, "2026-03-01"))
            .collect();
        store
            .commit_org_refresh(&commit(id, "2026-03-01", records))
            .await
            .expect("commit");
    }
    let mut merged = activity_item(10, 1, "ann", "2026-03-02");
    merged.merged_at = Some(at("2026-03-05"));
    merged.state = ItemState::Merged;
    let mut issue = activity_item(11, 2, "bob", "2026-02-01");
    issue.kind = ItemKind::Issue;
    issue.closed_at = Some(at("2026-03-03"));
    issue.state = ItemState::Closed;
    let elsewhere = activity_item(12, 3, "cid", "2026-03-04");
    let old_bot = activity_item(13, 1, "renovate[bot]", "2026-01-01");
    let again = activity_item(14, 2, "ann", "2026-03-10");
    let ghost = ActivityItem {
        author: None,
        ..activity_item(15, 1, "x", "2026-01-15")
    };
    // An issue with the merged pull request's id: a kind numbers its own (GitLab, GitHub).
    let same_id = ActivityItem {
        kind: ItemKind::Issue,
        first_response_at: Some(at("2026-03-09")),
        ..activity_item(10, 2, "dee", "2026-03-09")
    };
    let before = store.data_version().await.expect("version");
    assert_eq!(
        store.activity_synced_until(&acme).await.expect("position"),
        None
    );
    store
        .commit_activity(&ActivityCommit {
            org: acme.clone(),
            items: vec![
                merged.clone(),
                issue.clone(),
                elsewhere.clone(),
                old_bot,
                again.clone(),
                ghost,
                same_id.clone(),
            ],
            releases: vec![
                ReleaseRecord {
                    forge: "gitlab".parse().expect("forge"),
                    repo_id: 1,
                    tag: "v1".into(),
                    published_at: at("2026-03-06"),
                },
                ReleaseRecord {
                    forge: "gitlab".parse().expect("forge"),
                    repo_id: 3,
                    tag: "v9".into(),
                    published_at: at("2026-03-07"),
                },
            ],
            synced_until: Some(at("2026-03-12")),
        })
        .await
        .expect("commit activity");
    assert!(store.data_version().await.expect("version") > before);
    assert_eq!(
        store.activity_synced_until(&acme).await.expect("position"),
        Some(at("2026-03-12"))
    );
    let window = Window {
        from: day("2026-03-01"),
        to: day("2026-03-15"),
    };
    let ids = |items: Vec<ActivityItem>| items.iter().map(|i| i.id).collect::<Vec<_>>();
    assert_eq!(
        ids(store
            .activity_items(&acme, window, None)
            .await
            .expect("items")),
        [11, 10, 10, 14],
        "created, closed or merged in the window, oldest first; another org's repository left out"
    );
    assert_eq!(
        ids(store
            .activity_items(&libs, window, None)
            .await
            .expect("items")),
        [11, 10, 14]
    );
    assert_eq!(
        ids(store
            .activity_items(&acme, window, Some(1))
            .await
            .expect("items")),
        [10]
    );
    assert_eq!(
        ids(store
            .activity_items(&other, window, None)
            .await
            .expect("items")),
        [12]
    );
    let read = store
        .activity_items(&acme, window, Some(1))
        .await
        .expect("items");
    assert_eq!(read[0], merged, "every field reads back");
    let people = ["ann", "bob", "cid", "dee", "renovate[bot]", "nobody"].map(String::from);
    let first = store
        .first_items(&acme, &people)
        .await
        .expect("first items");
    assert_eq!(
        first,
        std::collections::HashMap::from([
            ("ann".to_owned(), at("2026-03-02")),
            ("bob".to_owned(), at("2026-02-01")),
            ("dee".to_owned(), at("2026-03-09"))
        ]),
        "bots and deleted authors are no contributors"
    );
    let tags = |r: Vec<ReleaseRecord>| r.into_iter().map(|r| r.tag).collect::<Vec<_>>();
    assert_eq!(
        tags(store.releases(&acme, None).await.expect("releases")),
        ["v1"]
    );
    assert!(store
        .releases(&acme, Some(2))
        .await
        .expect("releases")
        .is_empty());

    // Seen again: one record, updated; no position given leaves the position.
    let mut answered = again.clone();
    answered.first_response_at = Some(at("2026-03-11"));
    store
        .commit_activity(&ActivityCommit {
            org: acme.clone(),
            items: vec![answered.clone()],
            releases: vec![],
            synced_until: None,
        })
        .await
        .expect("commit activity");
    let read = store
        .activity_items(&acme, window, Some(2))
        .await
        .expect("items");
    assert_eq!(
        read.iter().filter(|i| i.id == 14).collect::<Vec<_>>(),
        [&answered]
    );
    assert_eq!(
        read.iter().filter(|i| i.id == 10).collect::<Vec<_>>(),
        [&same_id],
        "an issue and a pull request with one id are two records"
    );
    let gitlab = "gitlab".parse().expect("forge");
    let key = |kind, id| ItemKey { kind, id };
    let responses = |found: std::collections::HashMap<ItemKey, StoredItem>| {
        found
            .into_iter()
            .filter_map(|(k, s)| Some((k, s.first_response_at?)))
            .collect::<std::collections::HashMap<_, _>>()
    };
    let stored = store
        .stored_items(
            &gitlab,
            &[
                key(ItemKind::PullRequest, 14),
                key(ItemKind::PullRequest, 10),
                key(ItemKind::Issue, 10),
                key(ItemKind::Issue, 14),
                key(ItemKind::Issue, 99),
            ],
        )
        .await
        .expect("stored items");
    assert_eq!(stored.len(), 3, "the items stored, each of its kind");
    assert_eq!(
        stored[&key(ItemKind::PullRequest, 10)].updated_at,
        merged.updated_at
    );
    assert_eq!(
        responses(stored),
        std::collections::HashMap::from([
            (key(ItemKind::PullRequest, 14), at("2026-03-11")),
            (key(ItemKind::Issue, 10), at("2026-03-09"))
        ]),
        "only items that have one, each of its kind"
    );
    assert_eq!(
        store
            .waiting_items(&acme, at("2026-03-12"))
            .await
            .expect("waiting items"),
        std::collections::HashMap::from([(1, (2, at("2026-01-01")))]),
        "open, unanswered, created before: per repository, with the oldest"
    );
    assert!(store
        .waiting_items(&acme, at("2026-01-01"))
        .await
        .expect("waiting items")
        .is_empty());
    assert_eq!(
        store
            .merged_by_author(&acme, window)
            .await
            .expect("merged by author"),
        [(1, "ann".to_owned(), 1)],
        "merged in the window, counted per repository and author"
    );
    assert_eq!(
        store.activity_synced_until(&acme).await.expect("position"),
        Some(at("2026-03-12"))
    );

    // Purging the subgroup keeps what acme still lists; purging acme takes the rest of
    // its repositories' activity, and leaves another organisation's alone.
    store.remove_tracked_org(&libs, true).await.expect("purge");
    assert_eq!(
        ids(store
            .activity_items(&acme, window, None)
            .await
            .expect("items")),
        [11, 10, 10, 14]
    );
    store.remove_tracked_org(&acme, true).await.expect("purge");
    assert_eq!(
        store.activity_synced_until(&acme).await.expect("position"),
        None
    );
    store
        .add_tracked_org(&acme, at("2026-03-20"))
        .await
        .expect("track");
    store
        .commit_org_refresh(&commit(
            &acme,
            "2026-03-20",
            vec![record(&acme, 1, 1, "2026-03-20")],
        ))
        .await
        .expect("commit");
    assert!(
        store
            .activity_items(&acme, window, None)
            .await
            .expect("items")
            .is_empty(),
        "gone with the purge"
    );
    assert!(store
        .releases(&acme, None)
        .await
        .expect("releases")
        .is_empty());
    assert_eq!(
        ids(store
            .activity_items(&other, window, None)
            .await
            .expect("items")),
        [12]
    );
    assert_eq!(
        tags(store.releases(&other, None).await.expect("releases")),
        ["v9"]
    );
}

conformance! {
    drivers: [sqlite => crate::common::stores::sqlite, mongo => crate::common::stores::mongo];
    tests: [ping_answers,
    seeding_happens_once,
    tracking_add_list_remove,
    removing_keeps_data_unless_purged,
    a_commit_reads_back_whole,
    an_empty_org_commits,
    re_upsert_updates_fields_but_keeps_first_seen,
    a_transferred_repo_keeps_its_first_day_in_its_new_org,
    a_repository_listed_by_two_orgs_belongs_to_both,
    gone_repos_leave_library_usage,
    libraries_are_replaced_per_repo,
    same_day_snapshot_is_replaced_and_ranges_filter,
    repository_history_and_counts_on_a_day_read_per_repository,
    events_are_kept_once_per_key_filtered_and_paged_newest_first,
    webhook_positions_move_forward_and_the_feed_reads_forward,
    http_cache_entries_are_upserted_by_url,
    forges_paths_and_content_hashes_round_trip,
    outcomes_keep_the_last_success,
    runs_are_stored_updated_and_listed_newest_first,
    every_write_moves_the_data_version,
    org_writes_move_only_that_orgs_stamp,
    overview_has_every_tracked_org_in_one_call,
    org_detail_has_everything_for_one_page,
    a_lease_has_one_holder_until_it_expires,
    a_dead_holders_lease_is_taken_over_once_before_it_expires,
    contended_leases_have_exactly_one_winner,
    tokens_are_stored_found_by_hash_touched_and_revoked,
    run_housekeeping,
    activity_is_stored_once_and_read_through_the_repositories_listed]
}

/// Commits three days of `acme` through `store`: (day, [(repo, stars)]).
async fn three_days(store: &Arc<dyn Store>, acme: &OrgId) -> Vec<(NaiveDate, Vec<(i64, u64)>)> {
    let days = vec![
        (day("2026-02-01"), vec![(1, 10), (2, 20)]),
        (day("2026-02-02"), vec![(1, 10), (2, 22), (3, 1)]),
        (day("2026-02-04"), vec![(1, 10), (3, 2)]),
    ];
    for (on, repos) in &days {
        let records = repos
            .iter()
            .map(|(id, stars)| record(acme, *id, *stars, "2026-02-01"))
            .collect();
        store
            .commit_org_refresh(&commit(acme, &on.to_string(), records))
            .await
            .expect("commit");
    }
    days
}

/// What a store opened on a database written before `repo_days` must read back.
async fn reads_back_the_old_snapshots(
    store: &Arc<dyn Store>,
    acme: &OrgId,
    days: &[(NaiveDate, Vec<(i64, u64)>)],
) {
    let snapshots = store
        .list_snapshots(acme, None, None)
        .await
        .expect("snapshots");
    let got: Vec<(NaiveDate, Vec<(i64, u64)>)> = snapshots
        .iter()
        .map(|s| (s.day, s.repos.iter().map(|c| (c.id, c.stars)).collect()))
        .collect();
    assert_eq!(
        got, days,
        "every day's per-repository counts survive the migration"
    );
    let two: Vec<Option<u64>> = store
        .repo_history(acme, 2, None, None)
        .await
        .expect("history")
        .iter()
        .map(|d| d.counts.map(|c| c.stars))
        .collect();
    assert_eq!(two, [Some(20), Some(22), None]);
    let last: Vec<(i64, u64)> = store
        .repo_counts_on(acme, day("2026-02-03"))
        .await
        .expect("counts")
        .iter()
        .map(|c| (c.id, c.stars))
        .collect();
    assert_eq!(last, [(1, 10), (2, 22), (3, 1)]);
}

/// What the membership migrations carry over: a live repository first seen before its
/// commit, a gone one, and a validator.
fn membership_fixture(acme: &OrgId) -> orgpulse::store::OrgCommit {
    let mut c = commit(acme, "2026-01-01", vec![record(acme, 1, 5, "2025-12-01")]);
    let mut gone = record(acme, 2, 3, "2026-01-01");
    gone.gone_since = Some(day("2026-01-01"));
    c.repos.push(gone);
    c.http_cache = vec![HttpCacheEntry {
        url: "http://x/orgs/acme".into(),
        etag: Some("\"e\"".into()),
        last_modified: None,
        payload: json!({"k": 1}),
        stored_at: at("2026-01-01"),
        content_hash: None,
    }];
    c
}

/// Puts a database back the way schema 7 kept repositories (one organisation each, in the
/// repository's row) and validators (keyed by URL alone), without the activity tables of
/// schema 9.
const SCHEMA_8_UNDONE: &str = "
    DROP TABLE scorecards;
    DROP TABLE osv_advisories;
    DROP TABLE osv_packages;
    DROP TABLE security_findings;
    DROP TABLE security_days;
    DROP TABLE security_state;
    DROP TABLE activity_items;
    DROP TABLE releases;
    DROP TABLE activity_sync;
    ALTER TABLE repos ADD COLUMN org TEXT NOT NULL DEFAULT '';
    ALTER TABLE repos ADD COLUMN gone_since TEXT;
    UPDATE repos SET
        org = (SELECT m.org FROM org_repos m WHERE m.forge = repos.forge AND m.repo_id = repos.id),
        gone_since = (SELECT m.gone_since FROM org_repos m WHERE m.forge = repos.forge AND m.repo_id = repos.id);
    CREATE INDEX repos_by_org_stars ON repos (org, stars DESC);
    DROP TABLE org_repos;
    CREATE TABLE old_cache (url TEXT PRIMARY KEY, org TEXT NOT NULL, etag TEXT, last_modified TEXT,
                            payload TEXT NOT NULL, stored_at TEXT NOT NULL, content_hash TEXT);
    INSERT INTO old_cache SELECT url, org, etag, last_modified, payload, stored_at, content_hash FROM http_cache;
    DROP TABLE http_cache;
    ALTER TABLE old_cache RENAME TO http_cache;
    CREATE INDEX http_cache_by_org ON http_cache (org);
    PRAGMA user_version = 7;
";

/// A database from schema 7 keeps every repository, gone mark, first day and validator
/// when its repositories' membership moves to rows of its own (migration 0008).
#[tokio::test]
async fn sqlite_moves_repository_membership_into_org_repos_on_open() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("orgpulse.db");
    let (acme, other) = (org("github:acme"), org("github:other"));
    let before = {
        let store: Arc<dyn Store> = Arc::new(
            orgpulse::store::sqlite::SqliteStore::open(&path)
                .await
                .expect("opens"),
        );
        store
            .commit_org_refresh(&membership_fixture(&acme))
            .await
            .expect("commit");
        store
            .commit_org_refresh(&commit(
                &other,
                "2026-01-01",
                vec![record(&other, 3, 1, "2026-01-01")],
            ))
            .await
            .expect("commit");
        (
            store.list_repos(&acme).await.expect("repos"),
            store.list_repos(&other).await.expect("repos"),
            store.list_http_cache(&acme).await.expect("cache"),
        )
    };
    {
        let conn = rusqlite::Connection::open(&path).expect("opens");
        conn.execute_batch(SCHEMA_8_UNDONE).expect("schema 7");
    }
    let store: Arc<dyn Store> = Arc::new(
        orgpulse::store::sqlite::SqliteStore::open(&path)
            .await
            .expect("migrates"),
    );
    let after = (
        store.list_repos(&acme).await.expect("repos"),
        store.list_repos(&other).await.expect("repos"),
        store.list_http_cache(&acme).await.expect("cache"),
    );
    assert_eq!(after, before);
    assert_eq!(after.0.len(), 2);
    assert_eq!(after.0[0].first_seen, day("2025-12-01"));
    assert_eq!(after.0[1].gone_since, Some(day("2026-01-01")));
}

/// A database from before migration 0005 (per-repository counts as JSON in each snapshot)
/// is moved to change rows when the store opens, with nothing lost.
#[tokio::test]
async fn sqlite_moves_snapshot_json_into_repo_days_on_open() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let path = dir.path().join("orgpulse.db");
    let acme = org("github:acme");
    let days = {
        let store: Arc<dyn Store> = Arc::new(
            orgpulse::store::sqlite::SqliteStore::open(&path)
                .await
                .expect("opens"),
        );
        three_days(&store, &acme).await
    };
    // Put the database back the way schema 4 kept it.
    {
        let conn = rusqlite::Connection::open(&path).expect("opens");
        conn.execute_batch("ALTER TABLE snapshots ADD COLUMN repos TEXT NOT NULL DEFAULT '[]'")
            .expect("old column");
        for (on, repos) in &days {
            let json: Vec<serde_json::Value> = repos
                .iter()
                .map(|(id, stars)| json!({"id": id, "stars": stars, "forks": 1, "open_issues": 2}))
                .collect();
            conn.execute(
                "UPDATE snapshots SET repos = ?1 WHERE org = 'github:acme' AND day = ?2",
                rusqlite::params![serde_json::to_string(&json).expect("json"), on.to_string()],
            )
            .expect("old counts");
        }
        conn.execute_batch(SCHEMA_8_UNDONE).expect("schema 7");
        conn.execute_batch(
            "DROP TABLE repo_days; DROP TABLE events; DROP TABLE webhook_cursors;
             PRAGMA user_version = 4;",
        )
        .expect("schema 4");
    }
    let store: Arc<dyn Store> = Arc::new(
        orgpulse::store::sqlite::SqliteStore::open(&path)
            .await
            .expect("migrates"),
    );
    reads_back_the_old_snapshots(&store, &acme, &days).await;
    let conn = rusqlite::Connection::open(&path).expect("opens");
    let rows: i64 = conn
        .query_row("SELECT COUNT(*) FROM repo_days", [], |r| r.get(0))
        .expect("count");
    assert_eq!(
        rows,
        2 + 2 + 2,
        "changes only: 2, then 2 moved/new, then 1 moved + 1 gone"
    );
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('snapshots')")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("names");
    assert!(!columns.contains(&"repos".to_owned()), "{columns:?}");
}

/// The same for MongoDB: snapshot documents with a `repos` array are moved into
/// `repo_days` when the store prepares the database.
#[tokio::test]
async fn mongo_moves_snapshot_arrays_into_repo_days_on_open() {
    let Some((db, store)) = crate::common::stores::mongo().await else {
        return;
    };
    let acme = org("github:acme");
    let days = three_days(&store, &acme).await;
    let client = mongodb::Client::with_uri_str(db.url())
        .await
        .expect("client");
    let database = client.default_database().expect("a database in the URL");
    for (on, repos) in &days {
        let array: Vec<mongodb::bson::Document> = repos
            .iter()
            .map(|(id, stars)| mongodb::bson::doc! {"id": id, "stars": *stars as i64, "forks": 1_i64, "open_issues": 2_i64})
            .collect();
        database
            .collection::<mongodb::bson::Document>("snapshots")
            .update_one(
                mongodb::bson::doc! {"org": "github:acme", "day": on.to_string()},
                mongodb::bson::doc! {"$set": {"repos": array}},
            )
            .await
            .expect("old array");
    }
    database
        .collection::<mongodb::bson::Document>("repo_days")
        .delete_many(mongodb::bson::doc! {})
        .await
        .expect("no rows yet");
    let reopened: Arc<dyn Store> = Arc::new(
        orgpulse::store::mongo::MongoStore::open(&db.url(), 36_500)
            .await
            .expect("opens"),
    );
    let started = std::time::Instant::now();
    while reopened.ping().await.is_err() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "prepared"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    reads_back_the_old_snapshots(&reopened, &acme, &days).await;
    let left = database
        .collection::<mongodb::bson::Document>("snapshots")
        .count_documents(mongodb::bson::doc! {"repos": {"$exists": true}})
        .await
        .expect("count");
    assert_eq!(left, 0, "the arrays are gone once moved");
    db.cleanup().await;
}

/// The same as 0008 for MongoDB: repository documents of schema 2 (one `org` and its gone
/// mark each) and validators keyed by URL get memberships and per-organisation keys.
#[tokio::test]
async fn mongo_moves_repository_membership_into_org_repos_on_open() {
    use futures::TryStreamExt;
    use mongodb::bson::{doc, Document};
    let Some((db, store)) = crate::common::stores::mongo().await else {
        return;
    };
    let acme = org("github:acme");
    store
        .commit_org_refresh(&membership_fixture(&acme))
        .await
        .expect("commit");
    let before = (
        store.list_repos(&acme).await.expect("repos"),
        store.list_http_cache(&acme).await.expect("cache"),
    );
    // Back to schema 2: membership inside the repository documents, validators by URL.
    let client = mongodb::Client::with_uri_str(db.url())
        .await
        .expect("client");
    let database = client.default_database().expect("a database in the URL");
    let collection = |name: &str| database.collection::<Document>(name);
    for member in collection("org_repos")
        .find(doc! {})
        .await
        .expect("find")
        .try_collect::<Vec<_>>()
        .await
        .expect("read")
    {
        let id = format!("github:{}", member.get_i64("id").expect("id"));
        collection("repos")
            .update_one(
                doc! {"_id": id},
                doc! {"$set": {"org": member.get_str("org").expect("org"),
                "gone_since": member.get("gone_since").cloned()}},
            )
            .await
            .expect("old repository");
    }
    collection("org_repos").drop().await.expect("drop");
    for entry in collection("http_cache")
        .find(doc! {})
        .await
        .expect("find")
        .try_collect::<Vec<_>>()
        .await
        .expect("read")
    {
        let mut old = entry.clone();
        let url = old.get_str("url").expect("url").to_owned();
        old.insert("_id", url);
        old.remove("url");
        collection("http_cache")
            .delete_one(doc! {"_id": entry.get_str("_id").expect("id")})
            .await
            .expect("delete");
        collection("http_cache")
            .insert_one(old)
            .await
            .expect("old validator");
    }
    collection("meta")
        .update_one(doc! {"_id": "schema"}, doc! {"$set": {"version": 2}})
        .await
        .expect("schema 2");

    let reopened: Arc<dyn Store> = Arc::new(
        orgpulse::store::mongo::MongoStore::open(&db.url(), 36_500)
            .await
            .expect("opens"),
    );
    // Read at once, while the store may still be migrating: a call waits until the store
    // is prepared, never answering from a half-migrated database (issue 28, item 3).
    let after = (
        reopened.list_repos(&acme).await.expect("repos"),
        reopened.list_http_cache(&acme).await.expect("cache"),
    );
    assert_eq!(after, before);
    assert_eq!(after.0[1].gone_since, Some(day("2026-01-01")));
    let left = collection("repos")
        .count_documents(doc! {"org": {"$exists": true}})
        .await
        .expect("count");
    assert_eq!(left, 0, "membership left the repository documents");
    db.cleanup().await;
}
