//! GitLab languages over GraphQL, a group's projects (subgroups included) 100 a request,
//! against fakeforge's GitLab endpoint (which validates every query against the GitLab
//! types orgpulse uses): the same languages as the per-project REST calls, an unchanged
//! day that asks GraphQL nothing, a query priced too high answered with smaller pages,
//! and an instance without the field falling back to REST.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::common::*;
use orgpulse::domain::{ForgeKind, RunStatus};
use orgpulse::ingest::{Clock, ForgeAccess, IngestContext};
use orgpulse::store::Store;

const PROJECTS: usize = 250;

async fn forge() -> fakeforge::Running {
    fakeforge::start(fakeforge::ForgeConfig {
        world: fakeforge::WorldConfig {
            orgs: 1,
            repos: PROJECTS,
            seed: 23,
            changed_per_day: 0.02,
        },
        rate_limit: 1_000_000,
        ..fakeforge::ForgeConfig::default()
    })
    .await
    .expect("fakeforge starts")
}

fn ctx(store: Arc<dyn Store>, forge: &fakeforge::Running) -> IngestContext {
    let mut ctx = context_at(store, &forge.url);
    ctx.forges = vec![ForgeAccess::new(
        "gitlab",
        ForgeKind::GitLab,
        &format!("{}/gitlab/api/v4", forge.url),
    )];
    ctx.options.languages = true;
    ctx.clock = Clock::fixed(at("2026-06-01"));
    ctx
}

fn counter(forge: &fakeforge::Running, key: &str) -> u64 {
    forge.forge.counters().get(key).copied().unwrap_or(0)
}

/// Every GitLab GraphQL request fakeforge answered, whatever the answer.
fn graphql_requests(forge: &fakeforge::Running) -> u64 {
    forge
        .forge
        .counters()
        .iter()
        .filter(|(k, _)| k.starts_with("gitlab graphql"))
        .map(|(_, n)| n)
        .sum()
}

async fn languages(store: &Arc<dyn Store>, id: &str) -> BTreeMap<i64, BTreeMap<String, u64>> {
    store
        .list_repos(&org(id))
        .await
        .expect("repos")
        .into_iter()
        .map(|r| (r.listing.id, r.languages.expect("languages read")))
        .collect()
}

#[tokio::test]
async fn a_group_s_languages_come_100_projects_a_request_and_match_the_rest_path() {
    let forge = forge().await;
    let login = forge.forge.world().orgs[0].login.clone();
    let id = format!("gitlab:{login}");

    // An instance without the field (before GitLab 15.6): one refused query, then REST.
    forge.forge.set_faults(fakeforge::Faults {
        gitlab_graphql_without_languages: true,
        ..fakeforge::Faults::default()
    });
    let (_rest_db, rest_store) = sqlite_store().await;
    let rest = refresh(&ctx(rest_store.clone(), &forge), &[&id]).await;
    assert_eq!(rest.status, RunStatus::Succeeded, "{:?}", rest.outcomes);
    let seen = rest.counts.repos_seen;
    assert!(seen > 200, "{seen} projects");
    assert_eq!(graphql_requests(&forge), 1, "refused once, not per page");
    assert_eq!(
        counter(&forge, "gitlab languages 200"),
        seen,
        "REST: one per project"
    );
    let by_rest = languages(&rest_store, &id).await;

    forge.forge.set_faults(fakeforge::Faults::default());
    forge.forge.reset_counters();
    let (_db, store) = sqlite_store().await;
    let first = refresh(&ctx(store.clone(), &forge), &[&id]).await;
    assert_eq!(first.status, RunStatus::Succeeded, "{:?}", first.outcomes);
    assert_eq!(
        counter(&forge, "gitlab graphql 200"),
        seen.div_ceil(100),
        "one request per 100 projects"
    );
    assert_eq!(graphql_requests(&forge), seen.div_ceil(100));
    assert_eq!(
        counter(&forge, "gitlab languages 200"),
        0,
        "no per-project call"
    );
    let listing_pages = seen.div_ceil(100);
    assert_eq!(
        first.counts.requests,
        1 + listing_pages + seen.div_ceil(100),
        "the group, its listing pages, the GraphQL pages"
    );
    assert_eq!(
        languages(&store, &id).await,
        by_rest,
        "the same languages whichever path ran"
    );

    // Nothing moved: GraphQL is not asked (it has no 304).
    forge.forge.reset_counters();
    let again = refresh(&ctx(store.clone(), &forge), &[&id]).await;
    assert_eq!(again.status, RunStatus::Succeeded, "{:?}", again.outcomes);
    assert_eq!(graphql_requests(&forge), 0);
    assert_eq!(again.counts.repos_changed, 0);

    // The next day a few projects moved: fewer than a page's worth of requests, so
    // each is asked over REST (cheaper than reading every page of the group).
    forge.forge.set_day(forge.forge.day() + 1);
    forge.forge.reset_counters();
    let next = refresh(&ctx(store.clone(), &forge), &[&id]).await;
    assert_eq!(next.status, RunStatus::Succeeded, "{:?}", next.outcomes);
    let moved = counter(&forge, "gitlab languages 200") + counter(&forge, "gitlab languages 304");
    let graphql = graphql_requests(&forge);
    assert!(
        (graphql == 0 && moved <= listing_pages) || (moved == 0 && graphql <= listing_pages),
        "the cheaper way alone: {moved} REST calls, {graphql} GraphQL requests"
    );
}

#[tokio::test]
async fn a_query_priced_too_high_is_asked_again_in_smaller_pages() {
    let forge = forge().await;
    let login = forge.forge.world().orgs[0].login.clone();
    let id = format!("gitlab:{login}");
    let (_rest_db, rest_store) = sqlite_store().await;
    forge.forge.set_faults(fakeforge::Faults {
        gitlab_graphql_without_languages: true,
        ..fakeforge::Faults::default()
    });
    let seen = refresh(&ctx(rest_store.clone(), &forge), &[&id])
        .await
        .counts
        .repos_seen;

    forge.forge.set_faults(fakeforge::Faults {
        gitlab_graphql_max_page: 30,
        ..fakeforge::Faults::default()
    });
    forge.forge.reset_counters();
    let (_db, store) = sqlite_store().await;
    let run = refresh(&ctx(store.clone(), &forge), &[&id]).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.outcomes);
    // 100 and 50 are refused; pages of 25 fit.
    assert_eq!(counter(&forge, "gitlab graphql complexity 200"), 2);
    assert_eq!(counter(&forge, "gitlab graphql 200"), seen.div_ceil(25));
    assert_eq!(counter(&forge, "gitlab languages 200"), 0);
    assert_eq!(
        languages(&store, &id).await,
        languages(&rest_store, &id).await
    );

    // Priced too high at every size: the read gives up and REST does the work.
    forge.forge.set_faults(fakeforge::Faults {
        gitlab_graphql_max_page: 5,
        ..fakeforge::Faults::default()
    });
    forge.forge.reset_counters();
    let (_db2, fallback) = sqlite_store().await;
    let run = refresh(&ctx(fallback.clone(), &forge), &[&id]).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.outcomes);
    assert_eq!(
        counter(&forge, "gitlab graphql complexity 200"),
        5,
        "100, 50, 25, 12 and 10 refused; 10 is the smallest page asked"
    );
    assert_eq!(counter(&forge, "gitlab languages 200"), seen);
    assert_eq!(
        languages(&fallback, &id).await,
        languages(&rest_store, &id).await
    );
}
