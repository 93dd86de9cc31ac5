//! The synthetic world: organisations and repositories generated from a seed, and how
//! they change from one day to the next. Everything is a pure function of
//! (seed, sizes, day), so two runs with the same flags serve the same bytes.

use serde_json::{json, Value};

/// How big and how lively the world is.
#[derive(Debug, Clone)]
pub struct WorldConfig {
    pub orgs: usize,
    pub repos: usize,
    pub seed: u64,
    /// Share of repositories pushed to on any given day (their details change).
    pub changed_per_day: f64,
}

/// SplitMix64: tiny, fast and stable across versions — the world must not change when a
/// dependency does.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The world's mixing function, for other parts of the fake that need stable spreads.
pub fn mix_public(x: u64) -> u64 {
    mix(x)
}

fn unit(x: u64) -> f64 {
    (mix(x) >> 11) as f64 / (1u64 << 53) as f64
}

fn pick<T>(items: &[T], x: u64) -> &T {
    &items[(mix(x) % items.len() as u64) as usize]
}

const ORG_WORDS: [&str; 24] = [
    "aurora",
    "basalt",
    "cobalt",
    "driftwood",
    "ember",
    "fjord",
    "granite",
    "harbor",
    "iris",
    "juniper",
    "kestrel",
    "lumen",
    "meridian",
    "nimbus",
    "onyx",
    "prism",
    "quartz",
    "riverbed",
    "sierra",
    "tundra",
    "umber",
    "vertex",
    "willow",
    "zephyr",
];
const ORG_SUFFIX: [&str; 5] = ["labs", "dev", "io", "systems", "oss"];
const REPO_WORDS: [&str; 20] = [
    "core", "cli", "api", "web", "sdk", "docs", "engine", "parser", "server", "client", "tools",
    "ui", "db", "cache", "proxy", "agent", "runtime", "compiler", "bench", "infra",
];
const LANGUAGES: [(&str, u32); 12] = [
    ("Rust", 18),
    ("Go", 14),
    ("TypeScript", 16),
    ("Python", 15),
    ("JavaScript", 9),
    ("Java", 6),
    ("C", 4),
    ("C++", 5),
    ("Shell", 4),
    ("Ruby", 3),
    ("Kotlin", 3),
    ("HTML", 3),
];
const LICENSES: [Option<(&str, &str)>; 7] = [
    Some(("mit", "MIT")),
    Some(("apache-2.0", "Apache-2.0")),
    Some(("mit", "MIT")),
    Some(("bsd-3-clause", "BSD-3-Clause")),
    Some(("gpl-3.0", "GPL-3.0")),
    Some(("mpl-2.0", "MPL-2.0")),
    None,
];
const TOPICS: [&str; 12] = [
    "cli",
    "web",
    "database",
    "networking",
    "async",
    "testing",
    "devops",
    "security",
    "data",
    "ml",
    "embedded",
    "docs",
];

/// Every library an SBOM of the world may list: (package-URL type, name).
pub fn all_libraries() -> Vec<(&'static str, &'static str)> {
    let mut seen = Vec::new();
    for language in ["Rust", "Go", "TypeScript", "Python", "Java", "Ruby", "C"] {
        let (ecosystem, names) = libraries_for(language);
        if seen.iter().any(|(e, _)| *e == ecosystem) {
            continue;
        }
        seen.extend(names.iter().map(|n| (ecosystem, *n)));
    }
    seen
}

fn libraries_for(language: &str) -> (&'static str, &'static [&'static str]) {
    match language {
        "Rust" => (
            "cargo",
            &[
                "serde",
                "tokio",
                "anyhow",
                "clap",
                "rand",
                "regex",
                "thiserror",
                "tracing",
                "reqwest",
                "chrono",
            ],
        ),
        "Go" => (
            "golang",
            &[
                "github.com/stretchr/testify",
                "golang.org/x/sys",
                "github.com/spf13/cobra",
                "google.golang.org/grpc",
                "github.com/google/uuid",
            ],
        ),
        "TypeScript" | "JavaScript" | "HTML" => (
            "npm",
            &[
                "react",
                "lodash",
                "express",
                "typescript",
                "jest",
                "axios",
                "@types/node",
                "eslint",
                "vite",
            ],
        ),
        "Python" => (
            "pypi",
            &[
                "requests", "numpy", "pandas", "pytest", "flask", "pydantic", "click",
            ],
        ),
        "Java" | "Kotlin" => (
            "maven",
            &[
                "org.slf4j/slf4j-api",
                "junit/junit",
                "com.google.guava/guava",
                "org.jetbrains.kotlin/kotlin-stdlib",
            ],
        ),
        "Ruby" => ("gem", &["rails", "rspec", "rake", "nokogiri"]),
        _ => ("generic", &["zlib", "openssl"]),
    }
}

/// 2025-01-01T00:00:00Z: day 0 of the world unless [`Life::epoch`] says otherwise.
pub const EPOCH: i64 = 1_735_689_600;

/// When the world's days fall and what happens on them besides pushes, stars, renames
/// and new repositories. The default keeps the world every test was written against.
#[derive(Debug, Clone)]
pub struct Life {
    /// Unix seconds of day 0 (a demo starts its world on its first simulated day, so
    /// "pushed 3 days ago" reads right against today).
    pub epoch: i64,
    /// Repositories have a past: those not pushed since day 0 were last pushed
    /// somewhere in the years before it (some long enough to be stale), and on some
    /// days a repository is archived (half of them unarchived a few days later), changes
    /// licence or default branch, or is deleted.
    pub eventful: bool,
    /// How many of each organisation's first repositories have issues, pull requests and
    /// releases.
    pub active_repos: usize,
}

impl Default for Life {
    fn default() -> Self {
        Life {
            epoch: EPOCH,
            eventful: false,
            active_repos: 12,
        }
    }
}

/// `2026-12-07T10:00:00Z` for seconds since the Unix epoch.
pub(crate) fn timestamp(seconds: i64) -> String {
    // Civil-from-days (Howard Hinnant), to stay free of date crates.
    let days = seconds.div_euclid(86_400);
    let secs = seconds.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// One generated organisation.
#[derive(Debug, Clone)]
pub struct Org {
    pub index: usize,
    pub login: String,
    pub id: i64,
}

/// The whole world.
#[derive(Debug, Clone)]
pub struct World {
    pub config: WorldConfig,
    pub orgs: Vec<Org>,
    pub life: Life,
}

impl World {
    pub fn new(config: WorldConfig) -> Self {
        Self::living(config, Life::default())
    }

    pub fn living(config: WorldConfig, life: Life) -> Self {
        let orgs = (0..config.orgs)
            .map(|index| {
                let word = ORG_WORDS[index % ORG_WORDS.len()];
                let suffix = pick(&ORG_SUFFIX, config.seed ^ index as u64);
                let round = index / ORG_WORDS.len();
                let login = if round == 0 {
                    format!("{word}-{suffix}")
                } else {
                    format!("{word}-{suffix}-{round}")
                };
                Org {
                    index,
                    login,
                    id: 1_000_000 + index as i64 * 7919,
                }
            })
            .collect();
        World { config, orgs, life }
    }

    pub fn org(&self, login: &str) -> Option<&Org> {
        self.orgs
            .iter()
            .find(|o| o.login.eq_ignore_ascii_case(login))
    }

    pub fn org_by_id(&self, id: i64) -> Option<&Org> {
        self.orgs.iter().find(|o| o.id == id)
    }

    fn repo_seed(&self, org: &Org, n: usize) -> u64 {
        mix(self.config.seed ^ mix(org.index as u64 + 1) ^ (n as u64).wrapping_mul(0x1000_0001))
    }

    pub(crate) fn repo_id(org: &Org, n: usize) -> i64 {
        org.id * 10_000 + n as i64
    }

    /// The repositories that exist on `day`: most from the start, a few created later.
    pub fn repo_count(&self, day: u32) -> usize {
        let base = self.config.repos - self.config.repos / 50;
        (base + (day as usize / 3).min(self.config.repos / 50)).min(self.config.repos)
    }

    /// The number of repositories created before the world began.
    fn founding(&self) -> usize {
        self.config.repos - self.config.repos / 50
    }

    /// The day repository `n` is deleted, if it ever is (eventful worlds only: one
    /// founding repository in 53, among the less starred ones).
    fn deleted_on(&self, seed: u64, n: usize) -> Option<u32> {
        (self.life.eventful && n < self.founding() && seed % 53 == 11 && base_stars(seed) < 2_000)
            .then_some(4 + (seed >> 13) as u32 % 30)
    }

    /// Whether repository `n` of `org` exists on `day`.
    pub fn exists(&self, org: &Org, n: usize, day: u32) -> bool {
        n < self.repo_count(day)
            && self
                .deleted_on(self.repo_seed(org, n), n)
                .is_none_or(|gone| day < gone)
    }

    /// The index `n` of a listing entry (its id's last four digits).
    pub fn index_of(repo: &Value) -> usize {
        repo["id"]
            .as_i64()
            .and_then(|id| usize::try_from(id % 10_000).ok())
            .unwrap_or(usize::MAX)
    }

    fn at(&self, day: i64, seconds: i64) -> String {
        timestamp(self.life.epoch + 86_400 * day + seconds)
    }

    pub fn profile(&self, org: &Org, day: u32) -> Value {
        let s = mix(self.config.seed ^ org.index as u64);
        let title = org.login.split('-').next().unwrap_or_default();
        let name = format!(
            "{}{} {}",
            title[..1].to_uppercase(),
            &title[1..],
            if s.is_multiple_of(2) {
                "Labs"
            } else {
                "Project"
            }
        );
        json!({
            "login": org.login, "id": org.id, "node_id": format!("O_{}", org.id),
            "url": format!("https://api.github.com/orgs/{}", org.login),
            "name": name,
            "description": format!("Open-source tools from the {name} team."),
            "blog": format!("https://{}.example.org", org.login),
            "location": pick(&["Berlin", "Lisbon", "Toronto", "Remote", "Nairobi", "Osaka"], s),
            "email": null, "twitter_username": null, "is_verified": s.is_multiple_of(3),
            "html_url": format!("https://github.com/{}", org.login),
            "avatar_url": format!("https://avatars.githubusercontent.com/u/{}?v=4", org.id),
            "public_repos": (0..self.repo_count(day)).filter(|n| self.exists(org, *n, day)).count(), "public_gists": 0,
            "followers": 50 + s % 5000, "following": 0,
            "created_at": self.at(-(400 + (s % 2500) as i64), 0),
            "updated_at": self.at(i64::from(day), 0),
            "type": "Organization"
        })
    }

    /// The last day on or before `day` the repository was pushed to (None: never).
    fn last_push(&self, seed: u64, created: u32, day: u32) -> Option<u32> {
        if seed.is_multiple_of(40) {
            return None; // an empty repository
        }
        (created..=day).rev().take(400).find(|d| {
            *d == created
                || unit(seed ^ u64::from(*d).wrapping_mul(0xABCD)) < self.config.changed_per_day
        })
    }

    /// The day (relative to day 0, negative before it) of the last push on or before
    /// `day`: in an eventful world a founding repository not pushed since day 0 was
    /// last pushed up to four years before it, most of them recently.
    fn pushed_day(&self, seed: u64, created: u32, day: u32) -> Option<i64> {
        let last = self.last_push(seed, created, day)?;
        if !self.life.eventful || created > 0 || last > 0 {
            return Some(i64::from(last));
        }
        if unit(seed) < self.config.changed_per_day {
            return Some(0); // pushed on day 0 itself (see `last_push`)
        }
        Some(-1 - (unit(seed ^ 0x5EED).powi(2) * 1_400.0) as i64)
    }

    /// Days after `created` up to `day` on which the repository was pushed to.
    fn active_days(&self, seed: u64, created: u32, day: u32) -> u32 {
        if seed.is_multiple_of(40) {
            return 0;
        }
        (created + 1..=day)
            .filter(|d| {
                unit(seed ^ u64::from(*d).wrapping_mul(0xABCD)) < self.config.changed_per_day
            })
            .count() as u32
    }

    /// Repository `n` of `org` as the listing shows it on `day`.
    pub fn repo(&self, org: &Org, n: usize, day: u32) -> Value {
        let s = self.repo_seed(org, n);
        let id = Self::repo_id(org, n);
        let name = self.repo_name(s, n, day);
        let created = if n >= self.founding() {
            ((n - self.founding()) * 3) as u32
        } else {
            0
        };
        let base = if self.life.eventful && created > 0 {
            base_stars(s) / 100 // a new repository starts small
        } else {
            base_stars(s)
        };
        // Stars move on active days only, so an ordinary day leaves most repositories as
        // they were (and their listing entries byte-identical).
        let grown = base + (base / 100 + 1) * u64::from(self.active_days(s, created, day));
        let language = language(s);
        let pushed = self.last_push(s, created, day);
        let pushed_day = self.pushed_day(s, created, day);
        let born = if self.life.eventful && created == 0 {
            // Before its first push, which may be years before day 0.
            pushed_day.unwrap_or(0).min(0) - 30 - (s % 700) as i64
        } else {
            i64::from(created) - 300
        };
        let changes = self.changes(s, day);
        let license =
            LICENSES[((mix(s ^ 3) + u64::from(changes.licence)) % LICENSES.len() as u64) as usize];
        let nulls = s.is_multiple_of(23);
        let mut repo = json!({
            "id": id, "node_id": node_id(id), "name": name,
            "full_name": format!("{}/{name}", org.login), "private": false,
            "owner": {"login": org.login, "id": org.id, "type": "Organization"},
            "html_url": format!("https://github.com/{}/{name}", org.login),
            "description": if nulls { Value::Null } else { json!(format!("The {} for {} projects.", name.replace('-', " "), language)) },
            "fork": s.is_multiple_of(17), "url": format!("https://api.github.com/repos/{}/{name}", org.login),
            "created_at": self.at(born, (s % 86_400) as i64),
            "updated_at": self.at(pushed_day.unwrap_or(i64::from(created)), 3600),
            "pushed_at": pushed_day.map_or(Value::Null, |d| json!(self.at(d, (s % 80_000) as i64))),
            "homepage": null, "size": if pushed.is_none() { 0 } else { 100 + s % 90_000 },
            "stargazers_count": grown, "watchers_count": grown,
            "language": if pushed.is_none() { Value::Null } else { json!(language) },
            "has_issues": true, "forks_count": grown / 9 + s % 5, "archived": s.is_multiple_of(13) || changes.archived, "disabled": false,
            "open_issues_count": (s >> 9) % 60 + u64::from(self.active_days(s, created, day) % 7),
            "license": license.map_or(Value::Null, |(key, spdx)| json!({"key": key, "name": format!("{spdx} License"), "spdx_id": spdx})),
            "topics": (0..(s % 4)).map(|i| *pick(&TOPICS, s ^ (i + 5))).collect::<Vec<_>>(),
            "visibility": "public", "default_branch": if changes.old_branch { "master" } else { "main" },
            "forks": grown / 9 + s % 5, "open_issues": (s >> 9) % 60 + u64::from(self.active_days(s, created, day) % 7), "watchers": grown
        });
        // Publishing a release pushes its tag: the repository's push time moves with it.
        if crate::activity::is_active(self, n) {
            let released = crate::activity::repo_releases(self, id, day)
                .iter()
                .map(|r| r.published)
                .max();
            let pushed_at = pushed_day.map(|d| self.life.epoch + 86_400 * d + (s % 80_000) as i64);
            if let Some(at) = released.filter(|r| pushed_at.is_none_or(|p| *r > p)) {
                repo["pushed_at"] = json!(timestamp(at));
                repo["updated_at"] = json!(timestamp(at));
            }
        }
        if nulls {
            // Some servers leave these out altogether.
            if let Some(map) = repo.as_object_mut() {
                map.remove("topics");
                map.remove("visibility");
            }
        }
        repo
    }

    /// What an eventful world has done to repository `seed` by `day` (nothing in a
    /// plain one): one in 31 is archived for a few days from some day (half of them for
    /// good), one in 37 moves to the next licence on some day, one in 41 keeps `master`
    /// as its default branch until some day and `main` from then on.
    fn changes(&self, seed: u64, day: u32) -> Changes {
        if !self.life.eventful {
            return Changes::default();
        }
        let on = |shift: u32| 2 + (seed >> shift) as u32 % 30;
        let archived_from = on(17);
        let for_good = (seed >> 21).is_multiple_of(2);
        Changes {
            archived: seed % 31 == 5
                && day >= archived_from
                && (for_good || day < archived_from + 5),
            licence: seed % 37 == 7 && day >= on(19),
            old_branch: seed % 41 == 9 && day < on(23),
        }
    }

    /// The day repository `seed` is renamed (one in 29 is, during its first weeks).
    fn rename_day(seed: u64) -> Option<u32> {
        (seed % 29 == 3).then_some(1 + (seed >> 5) as u32 % 12)
    }

    /// A repository's name on `day`: two words and its number; renamed ones gain `-next`
    /// before the number (names always end in `-{n}`, which is how lookups find them).
    fn repo_name(&self, seed: u64, n: usize, day: u32) -> String {
        let stem = format!(
            "{}-{}",
            pick(&REPO_WORDS, seed),
            pick(&REPO_WORDS, seed >> 7)
        )
        .replace("core-core", "core");
        match Self::rename_day(seed) {
            Some(d) if day >= d => format!("{stem}-next-{n}"),
            _ => format!("{stem}-{n}"),
        }
    }

    /// Repository `name` of `org` if it is a name the repository had before a rename:
    /// GitHub redirects those to `/repositories/{id}`.
    pub fn renamed_from(&self, org: &Org, name: &str, day: u32) -> Option<i64> {
        let n: usize = name.rsplit('-').next()?.parse().ok()?;
        if !self.exists(org, n, day) {
            return None;
        }
        let s = self.repo_seed(org, n);
        let old = self.repo_name(s, n, 0);
        (old == name && self.repo_name(s, n, day) != name).then(|| Self::repo_id(org, n))
    }

    /// The organisation and index of repository `id`, if it exists on `day`.
    pub fn repo_by_id(&self, id: i64, day: u32) -> Option<(&Org, usize)> {
        let org = self.org_by_id(id / 10_000)?;
        let n = usize::try_from(id % 10_000).ok()?;
        self.exists(org, n, day).then_some((org, n))
    }

    /// Every repository of `org` on `day`, in listing order (oldest first, as GitHub's default).
    pub fn repos(&self, org: &Org, day: u32) -> Vec<Value> {
        (0..self.repo_count(day))
            .filter(|n| self.exists(org, *n, day))
            .map(|n| self.repo(org, n, day))
            .collect()
    }

    /// Finds repository `name` of `org` (names end in `-{n}`, so this is a lookup).
    pub fn repo_index(&self, org: &Org, name: &str, day: u32) -> Option<usize> {
        let n: usize = name.rsplit('-').next()?.parse().ok()?;
        (self.exists(org, n, day) && self.repo(org, n, day)["name"] == name).then_some(n)
    }

    pub fn languages(&self, org: &Org, n: usize, day: u32) -> Value {
        let s = self.repo_seed(org, n);
        if self.last_push(s, 0, day).is_none() {
            return json!({});
        }
        let primary = language(s);
        let size =
            20_000 + (s % 2_000_000) + u64::from(self.last_push(s, 0, day).unwrap_or(0)) * 37;
        let mut map = serde_json::Map::new();
        map.insert(primary.to_owned(), json!(size));
        for i in 0..(s % 3) {
            let other = language(mix(s ^ (i + 11)));
            if other != primary {
                map.insert(other.to_owned(), json!(size / (4 + i * 3)));
            }
        }
        if s.is_multiple_of(4) {
            map.insert("Shell".into(), json!(1_000 + s % 9_000));
        }
        Value::Object(map)
    }

    /// The dependency-graph SBOM, or `None` when the graph is off for this repository.
    pub fn sbom(&self, org: &Org, n: usize, day: u32) -> Option<Value> {
        let s = self.repo_seed(org, n);
        if s.is_multiple_of(6) {
            return None;
        }
        let name = self.repo(org, n, day)["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let (ecosystem, libraries) = libraries_for(language(s));
        let push = u64::from(self.last_push(s, 0, day).unwrap_or(0));
        let mut packages = vec![json!({
            "SPDXID": "SPDXRef-DocumentRoot", "name": format!("com.github.{}/{name}", org.login),
            "versionInfo": "main", "downloadLocation": "NOASSERTION", "licenseConcluded": "NOASSERTION",
            "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": format!("pkg:github/{}/{name}@main", org.login)}]
        })];
        let count = 2 + (s % 6) as usize;
        for i in 0..count.min(libraries.len()) {
            let lib = libraries[(mix(s ^ i as u64) % libraries.len() as u64) as usize];
            let version = format!("{}.{}.{}", 1 + (s >> i) % 3, (s >> (i + 3)) % 20, push % 10);
            let encoded = lib.replace('@', "%40");
            packages.push(json!({
                "SPDXID": format!("SPDXRef-{ecosystem}-{i}"), "name": lib, "versionInfo": version,
                "downloadLocation": "NOASSERTION", "licenseConcluded": if i % 3 == 0 { "NOASSERTION" } else { "MIT" },
                "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": format!("pkg:{ecosystem}/{encoded}@{version}")}]
            }));
        }
        if s.is_multiple_of(2) {
            packages.push(json!({
                "SPDXID": "SPDXRef-actions-checkout", "name": "actions/checkout", "versionInfo": "4.*.*",
                "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": "pkg:githubactions/actions/checkout@4.*.*"}]
            }));
        }
        Some(json!({"sbom": {
            "SPDXID": "SPDXRef-DOCUMENT", "spdxVersion": "SPDX-2.3", "name": format!("com.github.{}/{name}", org.login),
            "dataLicense": "CC0-1.0", "creationInfo": {"created": self.at(i64::from(day), 0), "creators": ["Tool: fakeforge"]},
            "packages": packages, "relationships": []
        }}))
    }
}

/// A heavy tail: most repositories have a few stars, some have thousands.
fn base_stars(seed: u64) -> u64 {
    (unit(seed ^ 1).powf(4.0) * 20_000.0) as u64
}

/// See [`World::changes`].
#[derive(Debug, Default, Clone, Copy)]
struct Changes {
    archived: bool,
    licence: bool,
    old_branch: bool,
}

fn language(s: u64) -> &'static str {
    let total: u32 = LANGUAGES.iter().map(|(_, w)| w).sum();
    let mut roll = (mix(s ^ 2) % u64::from(total)) as u32;
    for (name, weight) in LANGUAGES {
        if roll < weight {
            return name;
        }
        roll -= weight;
    }
    "Rust"
}

/// A repository's node id as its REST listing gives it: half the world has the old form.
pub fn node_id(id: i64) -> String {
    if id % 2 == 0 {
        format!("R_kgDO{id:x}")
    } else {
        format!("MDEwOlJlcG9zaXRvcnk{id}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world() -> World {
        World::new(WorldConfig {
            orgs: 3,
            repos: 250,
            seed: 7,
            changed_per_day: 0.05,
        })
    }

    #[test]
    fn is_deterministic() {
        let (a, b) = (world(), world());
        assert_eq!(a.repos(&a.orgs[1], 4), b.repos(&b.orgs[1], 4));
        let suffix = *pick(&ORG_SUFFIX, 7);
        assert_eq!(a.orgs[0].login, format!("aurora-{suffix}"));
    }

    #[test]
    fn days_move_some_repos_and_ids_are_unique() {
        let w = world();
        let org = &w.orgs[0];
        let (d1, d2) = (w.repos(org, 10), w.repos(org, 11));
        let pushed = d1
            .iter()
            .zip(&d2)
            .filter(|(a, b)| a["pushed_at"] != b["pushed_at"])
            .count();
        assert!(
            pushed > 0 && pushed < 50,
            "a few repos move per day: {pushed}"
        );
        let mut ids: Vec<i64> = w
            .orgs
            .iter()
            .flat_map(|o| w.repos(o, 30))
            .map(|r| r["id"].as_i64().expect("id"))
            .collect();
        let all = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), all);
        assert!(
            w.repo_count(30) > w.repo_count(0),
            "new repositories appear"
        );
    }

    #[test]
    fn some_repositories_are_renamed_and_keep_their_id() {
        let w = world();
        let org = &w.orgs[0];
        let (before, after) = (w.repos(org, 0), w.repos(org, 20));
        let renamed: Vec<(&Value, &Value)> = before
            .iter()
            .zip(&after)
            .filter(|(a, b)| a["name"] != b["name"])
            .collect();
        assert!(
            !renamed.is_empty() && renamed.len() < 30,
            "{}",
            renamed.len()
        );
        for (a, b) in renamed {
            assert_eq!(a["id"], b["id"]);
            let old = a["name"].as_str().expect("name");
            assert_eq!(w.renamed_from(org, old, 20), a["id"].as_i64());
            assert_eq!(w.renamed_from(org, old, 0), None, "not renamed yet");
            let n = w
                .repo_index(org, b["name"].as_str().expect("name"), 20)
                .expect("found by its new name");
            let (owner, index) = w
                .repo_by_id(a["id"].as_i64().expect("id"), 20)
                .expect("by id");
            assert_eq!((owner.id, index), (org.id, n));
        }
    }

    #[test]
    fn an_eventful_world_archives_relicenses_moves_branches_and_deletes() {
        let plain = world();
        let w = World::living(
            plain.config.clone(),
            Life {
                epoch: EPOCH + 86_400 * 600,
                eventful: true,
                ..Life::default()
            },
        );
        let changed = |field: &str| {
            w.orgs
                .iter()
                .flat_map(|org| (0..w.repo_count(0)).map(move |n| (org, n)))
                .filter(|(org, n)| w.exists(org, *n, 40))
                .filter(|(org, n)| w.repo(org, *n, 0)[field] != w.repo(org, *n, 40)[field])
                .count()
        };
        assert!(changed("license") > 0, "licences change");
        assert!(changed("default_branch") > 0, "branches move to main");
        let archived = |day| {
            w.orgs
                .iter()
                .flat_map(|org| w.repos(org, day))
                .filter(|r| r["archived"] == true)
                .count()
        };
        let most = (0..=40).map(archived).max().unwrap_or_default();
        assert!(
            archived(0) < most && archived(40) < most,
            "archived, then some unarchived: {} < {most} > {}",
            archived(0),
            archived(40)
        );
        let org = &w.orgs[0];
        let gone: Vec<usize> = (0..w.repo_count(0))
            .filter(|n| w.exists(org, *n, 0) && !w.exists(org, *n, 40))
            .collect();
        assert!(!gone.is_empty(), "some repositories are deleted");
        let id = World::repo_id(org, gone[0]);
        assert!(
            w.repo_by_id(id, 40).is_none(),
            "a deleted repository is not found"
        );
        assert!(w.repos(org, 40).iter().all(|r| r["id"] != id));
        assert_eq!(
            w.profile(org, 40)["public_repos"],
            w.repos(org, 40).len(),
            "the profile counts what the listing lists"
        );
        // A past before day 0: some founding repositories were last pushed over a year
        // before it; the plain world has none.
        let before = |world: &World| {
            world
                .repos(&world.orgs[0], 0)
                .iter()
                .filter(|r| {
                    r["pushed_at"]
                        .as_str()
                        .is_some_and(|at| *at < *timestamp(world.life.epoch - 86_400 * 365))
                })
                .count()
        };
        assert!(before(&w) > 10, "{}", before(&w));
        assert_eq!(before(&plain), 0);
        assert!(w.profile(org, 0)["updated_at"]
            .as_str()
            .is_some_and(|at| at.starts_with(&timestamp(w.life.epoch)[..10])));
    }

    #[test]
    fn timestamps_are_civil_dates() {
        assert_eq!(timestamp(EPOCH), "2025-01-01T00:00:00Z");
        assert_eq!(
            timestamp(EPOCH + 86_400 * 59 + 3_661),
            "2025-03-01T01:01:01Z"
        );
    }
}
