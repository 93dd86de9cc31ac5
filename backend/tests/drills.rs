//! Fault drills against fakeforge on 127.0.0.1: upstream faults, a rate-limit budget that
//! runs out mid-run. Each drill reports its counts (faults injected, runs, records checked,
//! records lost) and fails on any loss.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use fakeforge::{Faults, ForgeConfig, WorldConfig};
use orgpulse::domain::{OrgId, OrgStatus, RunStatus};
use orgpulse::store::Store;

fn world() -> WorldConfig {
    WorldConfig {
        orgs: 4,
        repos: 260,
        seed: 21,
        changed_per_day: 0.05,
    }
}

async fn forge(day: u32, rate_limit: u64, faults: Faults) -> fakeforge::Running {
    fakeforge::start(ForgeConfig {
        world: world(),
        day,
        rate_limit,
        faults,
        ..ForgeConfig::default()
    })
    .await
    .expect("fakeforge starts")
}

fn ids(forge: &fakeforge::Running) -> Vec<OrgId> {
    forge
        .forge
        .world()
        .orgs
        .iter()
        .map(|o| org(&format!("github:{}", o.login)))
        .collect()
}

/// (id → (name, stars, forks, open issues, pushed_at)) of an org's live repositories.
async fn state(
    store: &dyn Store,
    org: &OrgId,
) -> BTreeMap<i64, (String, u64, u64, u64, Option<String>)> {
    store
        .list_repos(org)
        .await
        .expect("repos")
        .into_iter()
        .filter(|r| r.gone_since.is_none())
        .map(|r| {
            let l = r.listing;
            (
                l.id,
                (
                    l.full_name,
                    l.stars,
                    l.forks,
                    l.open_issues,
                    l.pushed_at.map(|t| t.to_rfc3339()),
                ),
            )
        })
        .collect()
}

fn injected(forge: &fakeforge::Running) -> u64 {
    forge
        .forge
        .counters()
        .iter()
        .filter(|(k, _)| k.starts_with("fault"))
        .map(|(_, n)| n)
        .sum()
}

#[tokio::test]
async fn twenty_percent_upstream_faults_converge_to_a_clean_runs_data() {
    // A clean run is the reference.
    let clean = forge(3, 1_000_000, Faults::default()).await;
    let (_a, reference) = sqlite_store().await;
    let mut ctx = context_at(reference.clone(), &clean.url);
    ctx.options.languages = true;
    let names: Vec<String> = ids(&clean).iter().map(ToString::to_string).collect();
    let run = refresh(&ctx, &names.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.outcomes);

    // The same world behind 20 % faults: 502s, stalls past the timeout, cut-off bodies.
    let faulty = forge(
        3,
        1_000_000,
        Faults {
            server_error: 0.08,
            stall: 0.04,
            truncate: 0.08,
            stall_for: Duration::from_millis(2_500),
        },
    )
    .await;
    let (_b, store) = sqlite_store().await;
    let mut ctx = context_at(store.clone(), &faulty.url);
    ctx.options.languages = true;
    ctx.github.policy.retries = 8;
    ctx.github.policy.timeout = Duration::from_millis(800);
    let orgs: Vec<String> = ids(&faulty).iter().map(ToString::to_string).collect();
    let run = refresh(&ctx, &orgs.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert_eq!(
        run.status,
        RunStatus::Succeeded,
        "within the retry budget: {:?}",
        run.outcomes
    );

    let mut checked = 0;
    for org in ids(&faulty) {
        let (want, got) = (
            state(reference.as_ref(), &org).await,
            state(store.as_ref(), &org).await,
        );
        assert_eq!(want, got, "{org} differs from the clean run");
        checked += got.len();
        let (want_langs, got_langs): (Vec<_>, Vec<_>) = (
            reference
                .list_repos(&org)
                .await
                .expect("repos")
                .into_iter()
                .map(|r| r.languages)
                .collect(),
            store
                .list_repos(&org)
                .await
                .expect("repos")
                .into_iter()
                .map(|r| r.languages)
                .collect(),
        );
        assert_eq!(want_langs, got_langs, "{org}: languages differ");
    }
    let faults = injected(&faulty);
    assert!(faults >= 20, "faults were injected: {faults}");
    println!(
        "drill upstream-faults: faults injected {faults}, requests {}, retries {}, runs 2, records checked {checked}, records lost 0",
        run.counts.requests, run.counts.retries
    );
}

#[tokio::test]
async fn a_budget_that_runs_out_mid_run_keeps_every_org_whole_and_deletes_nothing() {
    // Day 0 stored cleanly.
    let day0 = forge(0, 1_000_000, Faults::default()).await;
    let orgs = ids(&day0);
    let (_db, store) = sqlite_store().await;
    let ctx = context_at(store.clone(), &day0.url);
    let names: Vec<String> = orgs.iter().map(ToString::to_string).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    assert_eq!(refresh(&ctx, &names).await.status, RunStatus::Succeeded);
    let mut before = Vec::new();
    for org in &orgs {
        before.push(state(store.as_ref(), org).await);
    }

    // Day 9, with a budget for two organisations and a bit: each needs 1 + 3 requests.
    let day9 = forge(9, 9, Faults::default()).await;
    let mut ctx = context_at(store.clone(), &day9.url);
    ctx.org_parallelism = 1;
    let run = refresh(&ctx, &names).await;
    assert_eq!(run.status, RunStatus::Partial, "{:?}", run.outcomes);
    let reference = day9.forge.world();
    let mut checked = 0;
    let (mut updated, mut kept) = (0, 0);
    for (i, org) in orgs.iter().enumerate() {
        let now = state(store.as_ref(), org).await;
        let outcome = run
            .outcomes
            .iter()
            .find(|o| &o.org == org)
            .expect("an outcome per org");
        let fresh: BTreeMap<i64, u64> = reference
            .repos(&reference.orgs[i], 9)
            .iter()
            .map(|r| {
                (
                    r["id"].as_i64().expect("id"),
                    r["stargazers_count"].as_u64().expect("stars"),
                )
            })
            .collect();
        let stars: BTreeMap<i64, u64> = now.iter().map(|(id, v)| (*id, v.1)).collect();
        match outcome.status {
            OrgStatus::Ok => {
                assert_eq!(stars, fresh, "{org}: refreshed orgs hold the new data");
                updated += 1;
            }
            OrgStatus::RateLimited => {
                assert_eq!(
                    now, before[i],
                    "{org}: orgs not reached keep their old data"
                );
                kept += 1;
            }
            other => panic!("{org}: unexpected {other:?}"),
        }
        assert!(now.len() >= before[i].len(), "{org}: nothing deleted");
        checked += now.len();
    }
    assert!(
        updated >= 1 && kept >= 1,
        "the budget ran out mid-run: {updated} updated, {kept} kept"
    );
    let refused = day9.forge.counters().get("org 403").copied().unwrap_or(0)
        + day9.forge.counters().get("repos 403").copied().unwrap_or(0);
    assert!(
        refused <= 1,
        "no request after the limit was known: {refused} refused"
    );
    println!(
        "drill budget-runs-out: runs 2, orgs updated {updated}, orgs kept {kept}, records checked {checked}, records lost 0, requests refused {refused}"
    );
}
