//! fakeforge: a local GitHub, GitLab and Forgejo serving one deterministic synthetic
//! world, for orgpulse's tests, demos and benchmarks. The GitLab flavour lives under
//! `/gitlab/api/v4` (see `gitlab.rs`), the Forgejo one under `/forgejo/api/v1` (see
//! `forgejo.rs`); both show the same organisations and repositories, so star and fork sums
//! agree across forges. At the root it speaks the parts of GitHub orgpulse uses:
//! `/orgs/{org}`, paginated `/orgs/{org}/repos` whose `link` headers point at
//! `/organizations/{id}/repos` as GitHub's do, `/repos/{o}/{r}/languages`, dependency-graph
//! SBOMs and `/rate_limit`; ETags with `304 Not Modified` (free against the budget) and
//! `x-ratelimit-*` headers over a budget that really runs out.
//!
//! Faults on demand: latency, 502s, stalls, cut-off bodies, secondary rate limits (403
//! with `retry-after`, 429 without), malformed listing entries, organisations deleted or
//! renamed, repositories renamed between days (their old names redirect, as GitHub's do).
//!
//! An OSV stand-in under `/osv` (see `osv.rs`) knows advisories for the world's libraries;
//! a Scorecard stand-in under `/scorecard` scores three repositories in four.
//!
//! Admin routes under `/_admin` move the world to another day, change the faults, delete
//! or rename organisations, and read the request counters.

// Gitea's repository entries are wide: `json!` needs a deeper macro recursion.
#![recursion_limit = "256"]

pub mod activity;
mod admin;
pub mod app;
mod flavour;
mod forgejo;
mod github;
mod gitlab;
pub mod gitlab_activity;
pub mod gitlab_graphql;
pub mod graphql;
mod graphql_activity;
pub mod osv;
mod reply;
mod sbom_export;
pub mod scorecard;

pub(crate) use github::{find_repo, find_repo_by_id, Base, Found};
pub(crate) use reply::delay;
pub use reply::{IfNoneMatch, Reply};
pub mod world;

use std::collections::hash_map::DefaultHasher;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::io::Cursor;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rocket::http::{Header, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::{self, Responder, Response};
use rocket::{get, post, routes, State};
use serde_json::{json, Value};

pub(crate) use flavour::BudgetState;
pub use flavour::Flavour;
pub use world::{Life, World, WorldConfig};

/// How the fake behaves besides its data.
#[derive(Debug, Clone)]
pub struct ForgeConfig {
    pub world: WorldConfig,
    /// When the world's days fall and whether repositories are archived, relicensed,
    /// deleted… on them.
    pub life: Life,
    /// The world's day at start.
    pub day: u32,
    /// Added to every answer.
    pub latency: Duration,
    /// Requests per rate-limit window (304s are free).
    pub rate_limit: u64,
    /// Length of a rate-limit window.
    pub rate_window: Duration,
    /// Injected faults.
    pub faults: Faults,
    /// The Forgejo flavour's `max_response_items` (the cap on `limit`).
    pub max_response_items: usize,
    /// How many times an SBOM report answers "being generated" (202) before it is ready.
    pub report_polls: u32,
    /// Serve the synchronous SBOM endpoint GitHub removed (as an older Enterprise does).
    pub legacy_sbom: bool,
    /// GraphQL points per rate-limit window (GitHub: 5,000 an hour for a personal token).
    pub graphql_points: u64,
    /// The GitHub App whose JWTs the fake accepts, if any.
    pub app: Option<app::AppConfig>,
}

/// Faults injected into answers, each a share of requests (0.0–1.0), spread
/// deterministically over the request count.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Answer 502 instead.
    pub server_error: f64,
    /// Answer only after `stall_for` (meant to exceed a client's timeout).
    pub stall: f64,
    /// Answer 200 with the body cut in half.
    pub truncate: f64,
    /// Answer a secondary rate limit: 403 with `retry-after: 1` and 429 without, in turn.
    pub secondary: f64,
    /// Share of listing entries replaced by malformed ones (half keep their id).
    pub malformed: f64,
    /// Every n-th GraphQL query answers 502 ("couldn't respond in time"); 0 = never.
    pub graphql_502_every: u64,
    /// Repository ids whose GraphQL nodes no longer resolve (deleted or made private
    /// since the listing): `NOT_FOUND`.
    pub vanished: Vec<i64>,
    /// GitLab GraphQL: a page larger than this many projects gets GitLab's complexity
    /// error (an instance that prices the query higher); 0 = never.
    pub gitlab_graphql_max_page: u64,
    /// GitLab GraphQL answers as a GitLab before 15.6: `Project` has no `languages`.
    pub gitlab_graphql_without_languages: bool,
    #[serde(with = "millis")]
    pub stall_for: Duration,
}

mod millis {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(serde::Deserialize::deserialize(d)?))
    }
}

/// The fault one request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    ServerError,
    Stall,
    Truncate,
    /// A secondary limit; `true` with `retry-after`.
    Secondary(bool),
}

impl Default for ForgeConfig {
    fn default() -> Self {
        ForgeConfig {
            world: WorldConfig {
                orgs: 3,
                repos: 120,
                seed: 1,
                changed_per_day: 0.05,
            },
            life: Life::default(),
            day: 0,
            latency: Duration::ZERO,
            rate_limit: 5_000,
            rate_window: Duration::from_secs(3_600),
            faults: Faults::default(),
            max_response_items: 50,
            report_polls: 1,
            legacy_sbom: false,
            graphql_points: 5_000,
            app: None,
        }
    }
}

#[derive(Debug)]
struct Budget {
    used: u64,
    reset: u64,
}

/// Organisations deleted or renamed since start, by index.
#[derive(Debug, Default)]
struct OrgChanges {
    deleted: std::collections::BTreeSet<usize>,
    renamed: BTreeMap<usize, String>,
}

/// One organisation's generated listing: (login, day, repositories).
type Listing = (String, u32, Arc<Vec<Value>>);

/// The server's shared state.
#[derive(Debug)]
pub struct Forge {
    world: World,
    config: ForgeConfig,
    faults: std::sync::RwLock<Faults>,
    orgs: Mutex<OrgChanges>,
    /// The latest listing generated per organisation, keyed by (login, day): every page
    /// of a listing is cut from one generation instead of regenerating all of it.
    listings: Mutex<BTreeMap<usize, Listing>>,
    day: Mutex<u32>,
    budget: Mutex<Budget>,
    counters: Mutex<BTreeMap<String, u64>>,
    requests: std::sync::atomic::AtomicU64,
    /// How often each SBOM report was polled.
    reports: Mutex<BTreeMap<String, u32>>,
    /// The GraphQL points budget (its own window, as GitHub keeps it).
    graphql_budget: Mutex<Budget>,
    graphql_requests: std::sync::atomic::AtomicU64,
    /// Installation tokens handed out to the App.
    issued: Mutex<Vec<String>>,
    /// The OSV stand-in's database changes and faults.
    osv: Mutex<osv::OsvState>,
}

fn epoch_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl Forge {
    pub fn new(config: ForgeConfig) -> Self {
        Forge {
            world: World::living(config.world.clone(), config.life.clone()),
            faults: std::sync::RwLock::new(config.faults.clone()),
            orgs: Mutex::new(OrgChanges::default()),
            listings: Mutex::new(BTreeMap::new()),
            day: Mutex::new(config.day),
            budget: Mutex::new(Budget {
                used: 0,
                reset: epoch_now() + config.rate_window.as_secs(),
            }),
            counters: Mutex::new(BTreeMap::new()),
            requests: std::sync::atomic::AtomicU64::new(0),
            reports: Mutex::new(BTreeMap::new()),
            graphql_budget: Mutex::new(Budget {
                used: 0,
                reset: epoch_now() + config.rate_window.as_secs(),
            }),
            graphql_requests: std::sync::atomic::AtomicU64::new(0),
            issued: Mutex::new(Vec::new()),
            osv: Mutex::new(osv::OsvState::default()),
            config,
        }
    }

    pub fn config(&self) -> &ForgeConfig {
        &self.config
    }

    pub fn world(&self) -> &World {
        &self.world
    }

    pub fn day(&self) -> u32 {
        *self.day.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_day(&self, day: u32) {
        *self.day.lock().unwrap_or_else(|p| p.into_inner()) = day;
    }

    pub fn faults(&self) -> Faults {
        self.faults
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Replaces the faults from the next request on.
    pub fn set_faults(&self, faults: Faults) {
        *self.faults.write().unwrap_or_else(|p| p.into_inner()) = faults;
    }

    /// Deletes organisation `login`: every route answers 404 for it from now on.
    pub fn delete_org(&self, login: &str) -> bool {
        let Some(org) = self.find_org(login) else {
            return false;
        };
        self.lock_orgs().deleted.insert(org.index);
        true
    }

    /// Renames organisation `login` to `to` (same id): the old login answers 404, as
    /// GitHub's API does once an organisation is renamed.
    pub fn rename_org(&self, login: &str, to: &str) -> bool {
        let Some(org) = self.find_org(login) else {
            return false;
        };
        if self.find_org(to).is_some() {
            return false;
        }
        self.lock_orgs().renamed.insert(org.index, to.to_owned());
        true
    }

    /// Every repository of `org` on the current day, generated once per (login, day).
    pub(crate) fn listing(&self, org: &world::Org) -> Arc<Vec<Value>> {
        let day = self.day();
        if let Some((login, d, repos)) = self
            .listings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&org.index)
        {
            if *login == org.login && *d == day {
                return Arc::clone(repos);
            }
        }
        let repos = Arc::new(self.world.repos(org, day));
        self.listings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(org.index, (org.login.clone(), day, Arc::clone(&repos)));
        repos
    }

    fn lock_orgs(&self) -> std::sync::MutexGuard<'_, OrgChanges> {
        self.orgs.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `org` as it stands now: `None` when deleted, under its new login when renamed.
    fn as_now(changes: &OrgChanges, org: &world::Org) -> Option<world::Org> {
        if changes.deleted.contains(&org.index) {
            return None;
        }
        Some(match changes.renamed.get(&org.index) {
            Some(to) => world::Org {
                login: to.clone(),
                ..org.clone()
            },
            None => org.clone(),
        })
    }

    /// The organisation `login` names now (renamed ones under their new login).
    pub fn find_org(&self, login: &str) -> Option<world::Org> {
        let changes = self.lock_orgs();
        self.world
            .orgs
            .iter()
            .filter_map(|o| Self::as_now(&changes, o))
            .find(|o| o.login.eq_ignore_ascii_case(login))
    }

    /// The organisation `login` named before it was renamed, under its new login.
    pub fn renamed_away(&self, login: &str) -> Option<world::Org> {
        let changes = self.lock_orgs();
        self.world
            .orgs
            .iter()
            .filter(|o| o.login.eq_ignore_ascii_case(login))
            .filter(|o| changes.renamed.contains_key(&o.index))
            .find_map(|o| Self::as_now(&changes, o))
    }

    /// The organisation with `id`, under its current login.
    pub fn find_org_by_id(&self, id: i64) -> Option<world::Org> {
        Self::as_now(&self.lock_orgs(), self.world.org_by_id(id)?)
    }

    /// Requests answered so far, by `kind status` (e.g. `repos 304`).
    pub fn counters(&self) -> BTreeMap<String, u64> {
        self.counters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn reset_counters(&self) {
        self.counters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// A page's entries with the `malformed` share replaced by garbage (half keep their id).
    pub(crate) fn mangle<'a>(&self, entries: impl Iterator<Item = &'a Value>) -> Vec<Value> {
        let malformed = self.faults().malformed;
        let salt = self.requests.load(std::sync::atomic::Ordering::Relaxed);
        entries
            .enumerate()
            .map(|(i, entry)| {
                let roll = (world::mix_public(salt ^ (i as u64) << 20) >> 11) as f64
                    / (1u64 << 53) as f64;
                if roll >= malformed {
                    return entry.clone();
                }
                self.count_fault("malformed");
                if i % 2 == 0 {
                    // The id survives, the rest is garbage.
                    json!({"id": entry["id"], "name": 42, "full_name": null, "stargazers_count": "many", "star_count": "many", "stars_count": "many"})
                } else {
                    json!({"oops": true})
                }
            })
            .collect()
    }

    /// Counts an injected fault, as `fault {name}`.
    fn count_fault(&self, name: &str) {
        *self
            .counters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(format!("fault {name}"))
            .or_insert(0) += 1;
    }

    pub(crate) fn count(&self, kind: &str, status: u16) {
        *self
            .counters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(format!("{kind} {status}"))
            .or_insert(0) += 1;
    }

    /// Spends one request of the budget unless `free`; says whether it was allowed and
    /// where the budget stands.
    fn spend(&self, free: bool) -> (bool, BudgetState) {
        let mut budget = self.budget.lock().unwrap_or_else(|p| p.into_inner());
        let now = epoch_now();
        if now >= budget.reset {
            budget.used = 0;
            budget.reset = now + self.config.rate_window.as_secs();
        }
        let allowed = free || budget.used < self.config.rate_limit;
        if allowed && !free {
            budget.used += 1;
        }
        let state = BudgetState {
            limit: self.config.rate_limit,
            used: budget.used,
            remaining: self.config.rate_limit.saturating_sub(budget.used),
            reset: budget.reset,
        };
        (allowed, state)
    }

    /// Answers `body` the way GitHub does: ETag, 304 for a matching validator, budget.
    pub(crate) fn answer(
        &self,
        fault: Option<Fault>,
        kind: &str,
        body: Option<Value>,
        validators: &IfNoneMatch,
        headers: Vec<(String, String)>,
    ) -> Reply {
        self.answer_as(Flavour::GitHub, fault, kind, body, validators, headers)
    }

    /// Answers `body` the way `flavour`'s forge does: its error bodies, its rate-limit
    /// headers (or none), its validators (GitHub and GitLab send ETags and answer 304;
    /// Gitea/Forgejo send neither on API answers). `None` is a 404.
    pub(crate) fn answer_as(
        &self,
        flavour: Flavour,
        fault: Option<Fault>,
        kind: &str,
        body: Option<Value>,
        validators: &IfNoneMatch,
        mut headers: Vec<(String, String)>,
    ) -> Reply {
        let kind = flavour.counter(kind);
        if fault == Some(Fault::ServerError) {
            self.count_fault("502");
            return flavour.server_error();
        }
        if let Some(Fault::Secondary(advice)) = fault {
            return self.throttled(flavour, advice);
        }
        let Some(body) = body else {
            let (allowed, budget) = self.spend(false);
            if !allowed {
                return self.limited(flavour, &kind, &budget);
            }
            self.count(&kind, 404);
            return flavour.not_found(budget.headers(flavour));
        };
        let text = body.to_string();
        let etag = flavour.sends_etags().then(|| {
            let mut hasher = DefaultHasher::new();
            text.hash(&mut hasher);
            format!("W/\"{:016x}\"", hasher.finish())
        });
        let matches = etag.as_ref().is_some_and(|etag| {
            validators
                .0
                .as_deref()
                .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
        });
        // GitHub does not charge a 304; GitLab's exemption is unconfirmed, so it charges.
        let (allowed, budget) = self.spend(matches && flavour == Flavour::GitHub);
        if !allowed {
            return self.limited(flavour, &kind, &budget);
        }
        headers.extend(budget.headers(flavour));
        headers.extend(flavour.cache_headers());
        if let Some(etag) = etag {
            headers.push(("etag".into(), etag));
        }
        if matches {
            self.count(&kind, 304);
            return Reply {
                status: Status::NotModified,
                body: String::new(),
                headers,
            };
        }
        self.count(&kind, 200);
        let body = if fault == Some(Fault::Truncate) {
            self.count_fault("truncated");
            text[..text.len() / 2].to_owned()
        } else {
            text
        };
        Reply {
            status: Status::Ok,
            body,
            headers,
        }
    }

    /// Refuses a request the way `flavour` does (403 `Forbidden`, say), charging the budget.
    pub(crate) fn refuse(&self, flavour: Flavour, kind: &str, status: Status) -> Reply {
        let kind = flavour.counter(kind);
        let (allowed, budget) = self.spend(false);
        if !allowed {
            return self.limited(flavour, &kind, &budget);
        }
        self.count(&kind, status.code);
        let message = match flavour {
            Flavour::GitLab => format!("{} {}", status.code, status.reason_lossy()),
            _ => status.reason_lossy().to_owned(),
        };
        Reply::json(
            status,
            &json!({"message": message}),
            budget.headers(flavour),
        )
    }

    /// A secondary (abuse) limit: `advice` says whether the answer says when to retry.
    fn throttled(&self, flavour: Flavour, advice: bool) -> Reply {
        let retry = vec![("retry-after".to_owned(), "1".to_owned())];
        match flavour {
            Flavour::GitHub => {
                let message = json!({"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.", "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"});
                if advice {
                    self.count_fault("secondary 403");
                    Reply::json(Status::Forbidden, &message, retry)
                } else {
                    self.count_fault("secondary 429");
                    Reply::json(Status::TooManyRequests, &message, Vec::new())
                }
            }
            // GitLab's throttles answer "Retry later" with `Retry-After` and `RateLimit-*`,
            // except the Projects/Groups API throttles, which may send no headers at all;
            // Codeberg's proxy answers a bare 429 or one with `Retry-After`.
            Flavour::GitLab | Flavour::Forgejo => {
                self.count_fault(if advice {
                    "secondary 429 advised"
                } else {
                    "secondary 429"
                });
                let mut headers = Vec::new();
                if advice {
                    headers = retry;
                    if flavour == Flavour::GitLab {
                        let (_, budget) = self.spend(true);
                        headers.extend(budget.headers(flavour));
                    }
                }
                Reply::text(Status::TooManyRequests, "Retry later\n", headers)
            }
        }
    }

    /// The answer once the budget is spent.
    fn limited(&self, flavour: Flavour, kind: &str, budget: &BudgetState) -> Reply {
        match flavour {
            Flavour::GitHub => {
                self.count(kind, 403);
                Reply::json(
                    Status::Forbidden,
                    &json!({"message": "API rate limit exceeded for 127.0.0.1.", "documentation_url": "https://docs.github.com/rest/rate-limit"}),
                    budget.headers(flavour),
                )
            }
            Flavour::GitLab => {
                self.count(kind, 429);
                let wait = budget.reset.saturating_sub(epoch_now()).max(1);
                let mut headers = budget.headers(flavour);
                headers.push(("retry-after".into(), wait.to_string()));
                Reply::text(Status::TooManyRequests, "Retry later\n", headers)
            }
            Flavour::Forgejo => {
                self.count(kind, 429);
                Reply::text(Status::TooManyRequests, "Too Many Requests\n", Vec::new())
            }
        }
    }
}

/// The fake as a Rocket application on `addr`.
pub fn rocket(forge: Arc<Forge>, addr: SocketAddr) -> rocket::Rocket<rocket::Build> {
    let config = rocket::Config {
        address: addr.ip(),
        port: addr.port(),
        log_level: rocket::config::LogLevel::Off,
        cli_colors: false,
        shutdown: rocket::config::Shutdown {
            ctrlc: false,
            ..Default::default()
        },
        // OSV takes 1,000 queries a batch (tens of kilobytes); GraphQL queries are large too.
        limits: rocket::data::Limits::default()
            .limit("string", rocket::data::ToByteUnit::mebibytes(8)),
        ..rocket::Config::default()
    };
    rocket::custom(config)
        .manage(forge)
        .mount("/", github::routes())
        .mount("/", admin::routes())
        .mount("/", sbom_export::routes())
        .mount("/", graphql::routes())
        .mount("/", app::routes())
        .mount(gitlab::ROOT, gitlab::routes())
        .mount(gitlab::ROOT, gitlab_activity::routes())
        .mount("/gitlab", gitlab_graphql::routes())
        .mount(forgejo::ROOT, forgejo::routes())
        .mount(forgejo::ROOT, activity::routes())
        .mount("/", osv::routes())
        .mount("/", scorecard::routes())
}

/// A fake running in this process.
#[derive(Debug)]
pub struct Running {
    pub forge: Arc<Forge>,
    pub url: String,
    shutdown: rocket::Shutdown,
}

impl Running {
    pub fn stop(&self) {
        self.shutdown.clone().notify();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts a fake on a free port of 127.0.0.1 and returns once it answers.
pub async fn start(config: ForgeConfig) -> anyhow::Result<Running> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let forge = Arc::new(Forge::new(config));
    let ignited = rocket(forge.clone(), addr).ignite().await?;
    let shutdown = ignited.shutdown();
    tokio::spawn(async move {
        let _ = ignited.launch().await;
    });
    let url = format!("http://{addr}");
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok(Running {
                forge,
                url,
                shutdown,
            });
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    anyhow::bail!("fakeforge did not start on {addr}")
}
