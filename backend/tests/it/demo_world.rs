//! The demo's kind of world, driven through the real pipeline: fakeforge's eventful world
//! over five weeks of daily refreshes, one organisation read as a GitHub organisation and
//! one as a GitLab group, and what the feed and needs-attention make of it checked
//! against what the world did.

use std::collections::BTreeSet;

use chrono::{Duration, TimeZone, Utc};
use fakeforge::{Flavour, ForgeConfig, Life, WorldConfig};
use orgpulse::domain::{EventKind, ForgeKind, OrgId, RunOptions, RunStatus, Trigger};
use orgpulse::ingest::{self, Clock, ForgeAccess, IngestContext, Silent};
use orgpulse::store::EventQuery;

use crate::common::{fast_policy, org, sqlite_store};
use crate::web::{client, json};

const DAYS: u32 = 36;

#[tokio::test]
async fn an_eventful_world_shows_every_kind_of_change_as_it_happened() {
    let (_db, store) = sqlite_store().await;
    let today = Utc::now().date_naive();
    let first = today - Duration::days(i64::from(DAYS));
    let forge = fakeforge::start(ForgeConfig {
        world: WorldConfig {
            orgs: 2,
            repos: 200,
            seed: 11,
            changed_per_day: 0.05,
        },
        life: Life {
            epoch: first
                .and_hms_opt(0, 0, 0)
                .expect("time")
                .and_utc()
                .timestamp(),
            eventful: true,
            ..Life::default()
        },
        rate_limit: 1_000_000,
        ..ForgeConfig::default()
    })
    .await
    .expect("fakeforge starts");
    let world = forge.forge.world();
    let ids: Vec<OrgId> = vec![
        org(&format!("github:{}", world.orgs[0].login)),
        org(&format!("gitlab:{}", world.orgs[1].login)),
    ];
    let forges = vec![
        ForgeAccess::github(&forge.url),
        ForgeAccess::new(
            "gitlab",
            ForgeKind::GitLab,
            &format!("{}{}", forge.url, Flavour::GitLab.root()),
        ),
    ];
    store
        .seed_tracked_orgs(
            &ids,
            Utc.from_utc_datetime(&first.and_hms_opt(1, 0, 0).expect("time")),
        )
        .await
        .expect("seed");
    for day in 0..DAYS {
        forge.forge.set_day(day);
        let date = first + Duration::days(i64::from(day) + 1);
        let ctx = IngestContext {
            store: store.clone(),
            forges: forges.clone(),
            http: fast_policy(),
            options: RunOptions {
                languages: false,
                libraries: false,
            },
            org_parallelism: 2,
            clock: Clock::fixed(Utc.from_utc_datetime(&date.and_hms_opt(3, 0, 0).expect("time"))),
            cancel: Default::default(),
            metrics: Default::default(),
            activity: Default::default(),
            security: Default::default(),
        };
        let run = ingest::queue(&ctx, Trigger::Schedule, ids.clone())
            .await
            .expect("queued");
        let run = ingest::run(&ctx, run, &Silent).await.expect("ran");
        assert_eq!(
            run.status,
            RunStatus::Succeeded,
            "day {day}: {:?}",
            run.outcomes
        );
    }

    let last = DAYS - 1;
    for (id, o) in ids.iter().zip(&world.orgs) {
        let events = |kind| {
            let store = store.clone();
            let id = id.clone();
            async move {
                store
                    .list_events(&EventQuery {
                        org: Some(id),
                        kind: Some(kind),
                        ..EventQuery::latest(1_000)
                    })
                    .await
                    .expect("events")
            }
        };
        // Every repository the world deleted, and only those, is gone.
        let deleted: BTreeSet<i64> = (0..world.repo_count(0))
            .filter(|n| world.exists(o, *n, 0) && !world.exists(o, *n, last))
            .map(|n| world.repo(o, n, 0)["id"].as_i64().expect("id"))
            .collect();
        assert!(!deleted.is_empty(), "{id}: the world deletes some");
        let gone: BTreeSet<i64> = events(EventKind::RepoGone)
            .await
            .iter()
            .filter_map(|e| e.event.repo_id)
            .collect();
        assert_eq!(gone, deleted, "{id}");
        // Archived now and never archived at the start: each has its event.
        let archived_since: BTreeSet<i64> = world
            .repos(o, last)
            .iter()
            .filter(|r| r["archived"] == true)
            .filter(|r| {
                let n = fakeforge::World::index_of(r);
                world.repo(o, n, 0)["archived"] == false
            })
            .map(|r| r["id"].as_i64().expect("id"))
            .collect();
        let archived: BTreeSet<i64> = events(EventKind::RepoArchived)
            .await
            .iter()
            .filter_map(|e| e.event.repo_id)
            .collect();
        assert!(
            archived_since.is_subset(&archived),
            "{id}: {archived_since:?} ⊄ {archived:?}"
        );
        // GitLab lists no licences, so it can report no licence change.
        let gitlab = id.to_string().starts_with("gitlab:");
        for kind in [
            EventKind::RepoCreated,
            EventKind::RepoRenamed,
            EventKind::RepoUnarchived,
            EventKind::LicenseChanged,
            EventKind::DefaultBranchChanged,
        ] {
            let found = events(kind).await;
            if gitlab && kind == EventKind::LicenseChanged {
                assert!(found.is_empty(), "{id}: {found:?}");
            } else {
                assert!(!found.is_empty(), "{id}: no {kind:?} event");
            }
        }
        let branches = events(EventKind::DefaultBranchChanged).await;
        assert!(branches
            .iter()
            .all(|e| e.event.from.as_deref() == Some("master")
                && e.event.to.as_deref() == Some("main")));
    }

    // Founding repositories have a past: some were last active over a year before the
    // last refresh, and needs-attention finds them stale.
    let client = client(store).await;
    let (_, body) = json(
        &client,
        &format!("/api/v1/orgs/github/{}/attention", world.orgs[0].login),
    )
    .await;
    let stale = body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| {
            i["reasons"]
                .as_array()
                .is_some_and(|r| r.iter().any(|r| r == "stale"))
        })
        .count();
    assert!(stale > 0 && stale < 80, "{stale} stale of 200: {body}");
}
