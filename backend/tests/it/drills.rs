//! Fault drills against fakeforge on 127.0.0.1: upstream faults, a rate-limit budget that
//! runs out mid-run. Each drill reports its counts (faults injected, runs, records checked,
//! records lost) and fails on any loss.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::common::*;
use fakeforge::{Faults, Flavour, ForgeConfig, WorldConfig};
use orgpulse::domain::{ForgeKind, OrgId, OrgStatus, RunStatus};
use orgpulse::ingest::{ForgeAccess, IngestContext};
use orgpulse::store::prelude::*;

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

/// The world's organisations spread over the three forges in turn — `github`, `gitlab`
/// (groups, subgroups included) and `codeberg` (Forgejo) — with `ctx` reading each through
/// its flavour of the fake.
fn spread_over_forges(forge: &fakeforge::Running, ctx: &mut IngestContext) -> Vec<OrgId> {
    ctx.forges = vec![
        ForgeAccess::github(&forge.url),
        ForgeAccess::new(
            "gitlab",
            ForgeKind::GitLab,
            &format!("{}{}", forge.url, Flavour::GitLab.root()),
        ),
        ForgeAccess::new(
            "codeberg",
            ForgeKind::Forgejo,
            &format!("{}{}", forge.url, Flavour::Forgejo.root()),
        ),
    ];
    let names: Vec<String> = ctx
        .forges
        .iter()
        .map(|f| f.instance.name.to_string())
        .collect();
    forge
        .forge
        .world()
        .orgs
        .iter()
        .enumerate()
        .map(|(i, o)| org(&format!("{}:{}", names[i % names.len()], o.login)))
        .collect()
}

/// (id → (name, stars, forks, open issues, pushed_at)) of an org's live repositories.
async fn state(
    store: &dyn Store,
    org: &OrgId,
) -> BTreeMap<i64, (String, u64, u64, Option<u64>, Option<String>)> {
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

/// Prints a drill's counts and keeps them in `target/tmp/drill-counts.txt`, so CI can show
/// them after the one test run (captured output of passing tests is not shown).
fn report(line: String) {
    use std::io::Write as _;
    println!("{line}");
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("drill-counts.txt");
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(file, "{line}");
    }
}

#[tokio::test]
async fn twenty_percent_upstream_faults_converge_to_a_clean_runs_data_on_every_forge() {
    // A clean run is the reference.
    let clean = forge(3, 1_000_000, Faults::default()).await;
    let (_a, reference) = sqlite_store().await;
    let mut ctx = context_at(reference.clone(), &clean.url);
    ctx.options.languages = true;
    let names: Vec<String> = spread_over_forges(&clean, &mut ctx)
        .iter()
        .map(ToString::to_string)
        .collect();
    let run = refresh(&ctx, &names.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.outcomes);

    // The same world behind 20 % faults: 502s, stalls past the timeout, cut-off bodies; and
    // 1 % secondary rate limits on top (403 with retry-after, which pauses every request
    // for a second, and 429 without).
    let faulty = forge(
        3,
        1_000_000,
        Faults {
            server_error: 0.08,
            stall: 0.04,
            truncate: 0.08,
            secondary: 0.01,
            stall_for: Duration::from_millis(2_500),
            ..Faults::default()
        },
    )
    .await;
    let (_b, store) = sqlite_store().await;
    let mut ctx = context_at(store.clone(), &faulty.url);
    ctx.options.languages = true;
    ctx.http.retries = 8;
    ctx.http.secondary_retries = 4;
    ctx.http.timeout = Duration::from_millis(800);
    let spread = spread_over_forges(&faulty, &mut ctx);
    let orgs: Vec<String> = spread.iter().map(ToString::to_string).collect();
    let run = refresh(&ctx, &orgs.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert_eq!(
        run.status,
        RunStatus::Succeeded,
        "within the retry budget: {:?}",
        run.outcomes
    );

    let mut checked = 0;
    for org in spread {
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
    let kinds: Vec<String> = faulty
        .forge
        .counters()
        .iter()
        .filter(|(k, _)| k.starts_with("fault"))
        .map(|(k, n)| format!("{} {n}", &k[6..]))
        .collect();
    report(format!(
        "drill upstream-faults (github, gitlab, codeberg flavours): faults injected {faults} ({}), requests {}, retries {}, runs 2, records checked {checked}, records lost 0",
        kinds.join(", "),
        run.counts.requests, run.counts.retries
    ));
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
    report(format!(
        "drill budget-runs-out: runs 2, orgs updated {updated}, orgs kept {kept}, records checked {checked}, records lost 0, requests refused {refused}"
    ));
}

/// Everything the drills compare of one org: each live repository's listing fields and
/// languages, by forge id.
type FullState = BTreeMap<i64, (String, u64, Option<u64>, Option<String>, Vec<(String, u64)>)>;

async fn full_state(store: &dyn Store, org: &OrgId) -> FullState {
    store
        .list_repos(org)
        .await
        .expect("repos")
        .into_iter()
        .filter(|r| r.gone_since.is_none())
        .map(|r| {
            let languages: Vec<(String, u64)> =
                r.languages.unwrap_or_default().into_iter().collect();
            let l = r.listing;
            (
                l.id,
                (
                    l.full_name,
                    l.stars,
                    l.open_issues,
                    l.pushed_at.map(|t| t.to_rfc3339()),
                    languages,
                ),
            )
        })
        .collect()
}

/// A small deterministic generator for the kill points (the seed is printed, and
/// `ORGPULSE_DRILL_SEED` replays a run).
fn next(seed: &mut u64) -> u64 {
    *seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *seed;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[tokio::test]
async fn sigkill_at_random_points_leaves_every_org_old_or_new_and_the_catch_up_completes() {
    use crate::common::process::{command, run, Server};
    use orgpulse::store::sqlite::SqliteStore;

    let mut seed: u64 = std::env::var("ORGPULSE_DRILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(7)
        });
    let first_seed = seed;
    let forge = lively_forge(5).await;
    let orgs = ids(&forge);
    let dir = tempfile::tempdir().expect("tempdir");
    let mut env = process_env(&forge);
    env.push(("ORGPULSE_SCHEDULE", "0 0 3 1 1 *".into()));
    let db = dir.path().join("data/orgpulse.db");

    // The old state: day 0, stored by a clean run of the binary.
    let first = run(dir.path(), &env, &["refresh"]).await;
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    // Each kill happens on a later day (a fifth of the repositories pushed each day), so
    // every run has real work. The state of each day, refreshed cleanly into a store of its
    // own, is the reference: states[k] is day 7k, per org.
    const KILLS: usize = 6;
    let mut states: Vec<Vec<FullState>> = Vec::new();
    {
        let store = SqliteStore::open(&db).await.expect("opens");
        let mut day0 = Vec::new();
        for org in &orgs {
            day0.push(full_state(&store, org).await);
        }
        states.push(day0);
    }
    for k in 1..=KILLS {
        forge.forge.set_day(7 * k as u32);
        let day = reference_states(&forge, &orgs).await;
        for (n, org) in orgs.iter().enumerate() {
            assert_ne!(day[n], states[k - 1][n], "{org}: the days differ");
        }
        states.push(day);
    }

    let made = run(dir.path(), &env, &["token", "create", "drill"]).await;
    assert!(made.status.success());
    let token = String::from_utf8(made.stdout)
        .expect("utf-8")
        .trim()
        .to_owned();

    // Kill the binary at random points: `orgpulse refresh`, and `orgpulse serve` running a
    // refresh asked for over HTTP, in turn. The last kill comes early in a refresh, so the
    // final start has a refresh to catch up on.
    let (mut at_old, mut at_new, mut mid_run, mut checked) = (0, 0, 0, 0);
    let mut points = Vec::new();
    for i in 0..KILLS {
        let today = i + 1;
        forge.forge.set_day(7 * today as u32);
        let after = if i + 1 == KILLS {
            Duration::from_millis(200 + next(&mut seed) % 400)
        } else {
            Duration::from_millis(100 + next(&mut seed) % 2_500)
        };
        points.push(after.as_millis());
        if i % 2 == 0 || i + 1 == KILLS {
            let mut child = command(dir.path(), &env, &["refresh"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("starts");
            tokio::time::sleep(after).await;
            child.kill().expect("SIGKILL");
            child.wait().expect("reaped");
        } else {
            let mut server = Server::start(dir.path(), &env).await;
            let asked = reqwest::Client::new()
                .post(format!("{}/api/v1/refresh", server.base))
                .bearer_auth(&token)
                .send()
                .await
                .expect("answers");
            assert_eq!(asked.status(), 202);
            tokio::time::sleep(after).await;
            server.kill();
        }

        // The store opens, and every org is whole: at today's state or at an earlier day's
        // (whatever it held before this run), never a mix.
        let store = SqliteStore::open(&db)
            .await
            .unwrap_or_else(|e| panic!("kill {i}: the store does not open: {e}"));
        for (n, org) in orgs.iter().enumerate() {
            let now = full_state(&store, org).await;
            checked += now.len();
            match (0..=today).rev().find(|k| states[*k][n] == now) {
                Some(k) if k == today => at_new += 1,
                Some(_) => at_old += 1,
                None => {
                    let differ = now
                        .iter()
                        .filter(|(id, v)| (0..=today).all(|k| states[k][n].get(id) != Some(v)))
                        .count();
                    // Not assert_eq!: thousands of repositories would bury the message.
                    panic!("kill {i} after {after:?} (seed {first_seed}): {org} matches no whole day: {differ} of {} repos match none", now.len());
                }
            }
        }
        let cut_short = store
            .list_runs(20)
            .await
            .expect("runs")
            .iter()
            .any(|r| !r.status.is_finished());
        if cut_short {
            mid_run += 1;
        } else {
            assert!(i + 1 < KILLS, "the last kill lands in a refresh");
        }
    }

    // A last start catches up and completes; every org ends at the new state.
    let server = Server::start(dir.path(), &env).await;
    let runs = server
        .wait_runs(
            |runs| {
                runs.first()
                    .is_some_and(|r| r["status"] == "succeeded" && r["trigger"] == "catch_up")
            },
            Duration::from_secs(90),
        )
        .await;
    drop(server);
    let store = SqliteStore::open(&db).await.expect("opens");
    for (n, org) in orgs.iter().enumerate() {
        let now = full_state(&store, org).await;
        assert!(
            now == states[KILLS][n],
            "{org}: not at the last day's state after the catch-up"
        );
        checked += now.len();
    }
    let unfinished = store
        .list_runs(50)
        .await
        .expect("runs")
        .iter()
        .filter(|r| !r.status.is_finished())
        .count();
    assert_eq!(unfinished, 0, "every killed run is closed as interrupted");
    report(format!(
        "drill sigkill: seed {first_seed}, kills {KILLS} at {points:?} ms ({mid_run} during a run), orgs seen old {at_old} / new {at_new}, runs recorded {}, records checked {checked}, records lost 0",
        runs.len()
    ));
}

/// A fakeforge for the drills that run the binary: 3 orgs x 160 repositories, a fifth of
/// them pushed each day (so every day is real work), 8 ms per answer.
async fn lively_forge(seed: u64) -> fakeforge::Running {
    fakeforge::start(ForgeConfig {
        world: WorldConfig {
            orgs: 3,
            repos: 160,
            seed,
            changed_per_day: 0.2,
        },
        latency: Duration::from_millis(8),
        rate_limit: 1_000_000,
        ..ForgeConfig::default()
    })
    .await
    .expect("fakeforge starts")
}

/// The environment for an `orgpulse` process refreshing every org of `forge`.
fn process_env(forge: &fakeforge::Running) -> Vec<(&'static str, String)> {
    let orgs: Vec<String> = ids(forge).iter().map(ToString::to_string).collect();
    vec![
        ("ORGPULSE_GITHUB_API_URL", forge.url.clone()),
        ("ORGPULSE_ORGS", orgs.join(",")),
        ("ORGPULSE_FETCH_LANGUAGES", "true".into()),
        ("ORGPULSE_CONCURRENCY", "2".into()),
    ]
}

/// Each org's [`FullState`] on the forge's current day, refreshed cleanly into a store of
/// its own.
async fn reference_states(forge: &fakeforge::Running, orgs: &[OrgId]) -> Vec<FullState> {
    let (_db, reference) = crate::common::stores::sqlite().await.expect("sqlite");
    let mut ctx = context_at(reference.clone(), &forge.url);
    ctx.options.languages = true;
    let names: Vec<String> = orgs.iter().map(ToString::to_string).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    assert_eq!(refresh(&ctx, &names).await.status, RunStatus::Succeeded);
    let mut states = Vec::new();
    for org in orgs {
        states.push(full_state(reference.as_ref(), org).await);
    }
    states
}

/// What the store-unavailable drills need to know about the store under test.
struct Unavailable<'a> {
    name: &'static str,
    url: String,
    /// Makes the store refuse work, mid-run.
    break_it: Box<dyn FnOnce() + 'a>,
    /// Gives it back.
    mend_it: Box<dyn FnOnce() + 'a>,
    /// What the failed run's message must name.
    says: &'static [&'static str],
    /// Whether an org's commit is one transaction (SQLite) or one write per document
    /// (a MongoDB without transactions: each repository is then old or new on its own).
    atomic_orgs: bool,
}

async fn open_ready(url: &str) -> std::sync::Arc<dyn Store> {
    let store = orgpulse::store::open(url, Default::default())
        .await
        .expect("opens");
    let started = std::time::Instant::now();
    while let Err(e) = store.ping().await {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the store did not answer: {e}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    store
}

/// Day 0 stored; the store breaks 300 ms into the day-7 refresh; that run must fail with
/// a clear message and lose nothing; once the store is back the next run must succeed
/// and hold day 7.
async fn store_breaks_mid_run(dir: &std::path::Path, drill: Unavailable<'_>) {
    use crate::common::process::{command, run};
    let forge = lively_forge(9).await;
    let orgs = ids(&forge);
    let mut env = process_env(&forge);
    env.push(("ORGPULSE_DATABASE_URL", drill.url.clone()));
    let first = run(dir, &env, &["refresh"]).await;
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let day0 = reference_states(&forge, &orgs).await;
    forge.forge.set_day(7);
    let day7 = reference_states(&forge, &orgs).await;

    let mut cmd = command(dir, &env, &["refresh"]);
    let child = tokio::task::spawn_blocking(move || cmd.output().expect("runs"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    (drill.break_it)();
    let failed = tokio::time::timeout(Duration::from_secs(120), child)
        .await
        .expect("the broken run ends within two minutes")
        .expect("joined");
    (drill.mend_it)();
    let stderr = String::from_utf8_lossy(&failed.stderr).into_owned();
    assert_eq!(
        failed.status.code(),
        Some(1),
        "{}: the run fails: {stderr}",
        drill.name
    );
    assert!(
        drill.says.iter().any(|s| stderr.contains(s)),
        "{}: the message says what happened: {stderr}",
        drill.name
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    // Nothing lost: orgs (or, without transactions, repositories) are old or new.
    let store = open_ready(&drill.url).await;
    let (mut checked, mut kept_old) = (0, 0);
    for (n, org) in orgs.iter().enumerate() {
        let now = full_state(store.as_ref(), org).await;
        assert_eq!(now.len(), day0[n].len(), "{org}: nothing deleted");
        checked += now.len();
        if drill.atomic_orgs {
            assert!(
                now == day0[n] || now == day7[n],
                "{}: {org} is neither its old nor its new state",
                drill.name
            );
        } else {
            for (id, repo) in &now {
                assert!(
                    day0[n].get(id) == Some(repo) || day7[n].get(id) == Some(repo),
                    "{}: {org} repository {id} is neither old nor new",
                    drill.name
                );
            }
        }
        kept_old += usize::from(now == day0[n]);
    }
    drop(store);

    let next = run(dir, &env, &["refresh"]).await;
    assert!(
        next.status.success(),
        "{}: the next run succeeds: {}",
        drill.name,
        String::from_utf8_lossy(&next.stderr)
    );
    let store = open_ready(&drill.url).await;
    for (n, org) in orgs.iter().enumerate() {
        let now = full_state(store.as_ref(), org).await;
        assert!(
            now == day7[n],
            "{}: {org} holds day 7 after the next run",
            drill.name
        );
        checked += now.len();
    }
    let message = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    report(format!(
        "drill store-unavailable ({}): runs 3, orgs left at their old state {kept_old}, records checked {checked}, records lost 0; the failed run said: {message}",
        drill.name
    ));
}

/// Mounts a small tmpfs on `dir`, when this machine allows it.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(dir: &std::path::Path) -> Result<SmallDisk, String> {
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=16m", "orgpulse-drill"])
            .arg(dir)
            .output()
            .map_err(|e| format!("mount could not run: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mounting a tmpfs is not allowed here: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(SmallDisk(dir.to_owned()))
    }

    /// Writes zeros until the disk is full.
    fn fill(&self) {
        use std::io::Write;
        let mut file = std::fs::File::create(self.0.join("filler")).expect("filler");
        let chunk = vec![0u8; 1 << 16];
        while file.write_all(&chunk).is_ok() {}
        let _ = file.sync_all();
    }

    fn empty(&self) {
        std::fs::remove_file(self.0.join("filler")).expect("filler removed");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

fn skip(reason: &str) {
    assert!(
        std::env::var("ORGPULSE_REQUIRE_ALL_SUITES").as_deref() != Ok("1"),
        "this drill must run here, but {reason}"
    );
    eprintln!("SKIPPED drill: {reason}");
}

#[tokio::test]
async fn sqlite_refusing_writes_mid_run_fails_the_run_cleanly_and_the_next_run_succeeds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let disk_dir = dir.path().join("disk");
    std::fs::create_dir(&disk_dir).expect("mkdir");
    // The database lives on a 16 MiB disk that fills up mid-run: from then on SQLite can
    // read but not write (a read-only file changes nothing for a connection that is
    // already open; a full or read-only file system is what really happens).
    let disk = match SmallDisk::mount(&disk_dir) {
        Ok(disk) => disk,
        Err(reason) => return skip(&reason),
    };
    let drill = Unavailable {
        name: "SQLite, disk full",
        url: format!("sqlite://{}", disk_dir.join("orgpulse.db").display()),
        break_it: Box::new(|| disk.fill()),
        mend_it: Box::new(|| disk.empty()),
        says: &["database or disk is full"],
        atomic_orgs: true,
    };
    store_breaks_mid_run(dir.path(), drill).await;
}

#[tokio::test]
async fn mongodb_stopping_mid_run_fails_the_run_cleanly_and_the_next_run_succeeds() {
    if std::env::var("ORGPULSE_TEST_MONGODB_URI").is_err() {
        // The shared test server cannot be stopped (other suites use it); this drill
        // starts its own, which needs the same Python packages.
        return skip("ORGPULSE_TEST_MONGODB_URI is not set, so the MongoDB test server's packages may be missing (see backend/tests/mongo_wire/README.md)");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let port = crate::common::process::free_port();
    let log = dir.path().join("wire.log");
    let mut server = std::process::Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/mongo_wire/server.py"
        ))
        .args(["--port", &port.to_string()])
        .stdout(std::fs::File::create(&log).expect("log"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("python3 runs");
    let started = std::time::Instant::now();
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("ready")
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the MongoDB test server did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pid = server.id().to_string();
    let signal = |sig: &str| {
        std::process::Command::new("kill")
            .args([sig, &pid])
            .status()
            .expect("kill runs");
    };
    // SIGSTOP: the server stops answering but keeps its (in-memory) data, as a MongoDB
    // behind a broken network would; SIGCONT brings it back.
    let drill = Unavailable {
        name: "MongoDB, server stopped",
        url: format!("mongodb://127.0.0.1:{port}/drill?directConnection=true&serverSelectionTimeoutMS=3000&connectTimeoutMS=3000"),
        break_it: Box::new(|| signal("-STOP")),
        mend_it: Box::new(|| signal("-CONT")),
        says: &["database error", "could not store", "could not read"],
        atomic_orgs: false,
    };
    store_breaks_mid_run(dir.path(), drill).await;
    let _ = server.kill();
    let _ = server.wait();
}

#[tokio::test]
async fn orgs_deleted_or_renamed_upstream_keep_their_history_and_the_page_says_what_happened() {
    use rocket::local::asynchronous::Client;

    let forge = forge(0, 1_000_000, Faults::default()).await;
    let orgs = ids(&forge);
    let names: Vec<String> = orgs.iter().map(ToString::to_string).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let (_db, store) = sqlite_store().await;
    store
        .seed_tracked_orgs(&orgs, chrono::Utc::now())
        .await
        .expect("tracked");
    let ctx = context_at(store.clone(), &forge.url);
    assert_eq!(refresh(&ctx, &names).await.status, RunStatus::Succeeded);
    let mut before = Vec::new();
    for org in &orgs {
        before.push((
            state(store.as_ref(), org).await,
            store.list_history(org, None, None).await.expect("history"),
        ));
    }

    // Day 5: one organisation deleted, one renamed, and 5 % of listing entries garbled.
    forge.forge.set_day(5);
    let (deleted, renamed) = (&orgs[1], &orgs[2]);
    assert!(forge.forge.delete_org(deleted.login()));
    assert!(forge.forge.rename_org(renamed.login(), "renamed-org"));
    forge.forge.set_faults(Faults {
        malformed: 0.05,
        ..Faults::default()
    });
    let run = refresh(&ctx, &names).await;
    assert_eq!(run.status, RunStatus::Partial, "{:?}", run.outcomes);
    let outcome = |org: &OrgId| {
        run.outcomes
            .iter()
            .find(|o| &o.org == org)
            .expect("an outcome")
            .clone()
    };
    let gone = outcome(deleted);
    assert_eq!(gone.status, OrgStatus::NotFound);
    let said = gone.message.clone().unwrap_or_default();
    assert!(said.contains("deleted, or made private"), "{said}");
    let moved = outcome(renamed);
    assert_eq!(moved.status, OrgStatus::NotFound);
    let said_moved = moved.message.clone().unwrap_or_default();
    assert!(
        said_moved.contains("now renamed-org ") && said_moved.contains("github:renamed-org"),
        "{said_moved}"
    );

    let mut checked = 0;
    for (i, org) in orgs.iter().enumerate() {
        let now = state(store.as_ref(), org).await;
        let history = store.list_history(org, None, None).await.expect("history");
        checked += now.len();
        if i == 1 || i == 2 {
            assert_eq!(now, before[i].0, "{org}: repositories kept as they were");
            assert_eq!(history, before[i].1, "{org}: history kept");
        } else {
            // Garbled entries: their repositories keep the last good copy; none is gone.
            assert!(
                before[i].0.keys().all(|id| now.contains_key(id)),
                "{org}: nothing marked gone"
            );
            assert!(history.len() >= before[i].1.len(), "{org}: history kept");
        }
    }
    let garbled = forge
        .forge
        .counters()
        .get("fault malformed")
        .copied()
        .unwrap_or(0);
    assert!(garbled > 0, "entries were garbled");
    for org in [&orgs[0], &orgs[3]] {
        let o = outcome(org);
        assert_eq!(o.status, OrgStatus::Partial, "{org}: {:?}", o.message);
    }

    // The dashboard says what happened, and still shows the kept data.
    let services = orgpulse::web::Services::reading(store.clone());
    let client = Client::tracked(
        orgpulse::web::build(services, orgpulse::web::rocket_config()).expect("builds"),
    )
    .await
    .expect("rocket");
    for (org, says) in [
        (deleted, "deleted, or made private"),
        (renamed, "is now renamed-org "),
    ] {
        let page = client
            .get(format!("/orgs/github/{}", org.login()))
            .dispatch()
            .await;
        assert_eq!(page.status().code, 200);
        let html = page.into_string().await.unwrap_or_default();
        assert!(
            html.contains(says) && html.contains("Showing the last good data"),
            "{org}: the page says what happened"
        );
        // The table opens sorted by stars: the most starred repository is on it.
        let kept = &before[if org == deleted { 1 } else { 2 }].0;
        let name = &kept.values().max_by_key(|r| r.1).expect("a repo").0;
        let short = name.split('/').nth(1).unwrap_or(name);
        assert!(
            html.contains(short),
            "{org}: the kept repositories are listed"
        );
    }

    // Following the rename: the new login is tracked like any organisation; the garbling
    // stops and the next run is clean.
    forge.forge.set_faults(Faults::default());
    let follow = org("github:renamed-org");
    let first_seen_before: BTreeMap<i64, chrono::NaiveDate> = store
        .list_repos(renamed)
        .await
        .expect("repos")
        .into_iter()
        .map(|r| (r.listing.id, r.first_seen))
        .collect();
    let run = refresh(&ctx, &[names[0], names[3], "github:renamed-org"]).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.outcomes);
    // Repositories are keyed by forge id, so they move to the login that lists them now
    // (as a transfer does), keeping when they were first seen; the old login keeps its
    // daily history.
    let followed = store.list_repos(&follow).await.expect("repos");
    for (id, first_seen) in &first_seen_before {
        let repo = followed
            .iter()
            .find(|r| r.listing.id == *id)
            .unwrap_or_else(|| panic!("repository {id} follows the rename"));
        assert_eq!(&repo.first_seen, first_seen, "{id}: first seen is kept");
        assert!(repo.listing.full_name.starts_with("renamed-org/"));
    }
    assert_eq!(
        store
            .list_history(renamed, None, None)
            .await
            .expect("history"),
        before[2].1,
        "the old login's daily history stays as it was"
    );
    checked += followed.len();
    report(format!(
        "drill org-gone-or-renamed: runs 3, orgs deleted 1, renamed 1, listing entries garbled {garbled}, records checked {checked}, records lost 0"
    ));
}
