//! Settings: every option orgpulse reads, its default and its environment name, in one place.
//!
//! Layers, later ones winning: built-in defaults → `orgpulse.toml` (or the file named by
//! `--config` / `ORGPULSE_CONFIG`, if present) → environment variables. The file uses the
//! same keys as the environment, lower-cased and without the `ORGPULSE_` prefix
//! (`database_url`, `orgs`, `github_token`, …).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use figment::providers::{Env, Format, Toml};
use figment::Figment;
use serde::{Deserialize, Deserializer};

use std::collections::BTreeMap;

use crate::domain::attention::AttentionRules;
use crate::domain::{AppCredentials, ForgeInstance, ForgeKind, ForgeName, Forges, OrgId, Secret};

/// The configuration file read when present and no other is named.
pub(crate) const DEFAULT_CONFIG_FILE: &str = "orgpulse.toml";

/// Every setting orgpulse reads.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Settings {
    /// `ORGPULSE_DATABASE_URL`: `sqlite://PATH` (embedded) or `mongodb://…` / `mongodb+srv://…`.
    #[serde(default = "defaults::database_url")]
    pub database_url: String,

    /// `ORGPULSE_ORGS`: comma list of `FORGE:LOGIN`; seeds the tracked organisations on
    /// the first start only (later changes go through `orgpulse orgs` or the API).
    #[serde(default = "defaults::orgs", deserialize_with = "org_list")]
    pub orgs: Vec<OrgId>,

    /// `ORGPULSE_SCHEDULE`: cron expression with seconds, in UTC.
    #[serde(default = "defaults::schedule")]
    pub schedule: String,

    /// `GITHUB_TOKEN`: raises GitHub's limit from 60 to 5,000 requests an hour. Empty
    /// counts as unset (container set-ups pass `GITHUB_TOKEN=` through).
    #[serde(default, deserialize_with = "optional_secret")]
    pub github_token: Option<Secret>,

    /// `ORGPULSE_GITHUB_API_URL`: GitHub's REST base URL (GitHub Enterprise, tests).
    #[serde(default = "defaults::github_api_url")]
    pub github_api_url: String,

    /// `ORGPULSE_GITHUB_GRAPHQL_URL`: GitHub's GraphQL endpoint, when not the one derived
    /// from the REST URL (`…/graphql`; Enterprise `https://HOST/api/graphql`). Other GitHub
    /// instances: `ORGPULSE_FORGE_<NAME>_GRAPHQL_URL`.
    #[serde(default)]
    pub github_graphql_url: Option<String>,

    /// `ORGPULSE_GITHUB_APP_ID`: authenticate the built-in `github` as this GitHub App
    /// (its client id, recommended, or numeric id) with installation tokens, instead of
    /// `GITHUB_TOKEN`. Needs `ORGPULSE_GITHUB_APP_PRIVATE_KEY_FILE`.
    #[serde(default, deserialize_with = "optional_text")]
    pub github_app_id: Option<String>,

    /// `ORGPULSE_GITHUB_APP_PRIVATE_KEY_FILE`: the App's private key (PEM). Read at start;
    /// never logged.
    #[serde(default)]
    pub github_app_private_key_file: Option<PathBuf>,

    /// `ORGPULSE_GITHUB_APP_INSTALLATION_ID`: one installation for every organisation;
    /// unset, each organisation's is looked up (`GET /orgs/{org}/installation`).
    #[serde(default)]
    pub github_app_installation_id: Option<u64>,

    /// `ORGPULSE_FORGES`: more forge instances, or built-ins pointed elsewhere:
    /// `NAME=KIND@API_URL,…` in the environment, `[forges.NAME]` tables (`kind`, `url`,
    /// `token_env`) in the file. Read through [`Settings::forges`].
    #[serde(default, rename = "forges")]
    forges_raw: Option<RawForges>,

    /// The configured forges: the built-ins, `ORGPULSE_GITHUB_API_URL`, then
    /// `ORGPULSE_FORGES`. Filled in by [`Settings::from_figment`].
    #[serde(skip)]
    pub forges: Forges,

    /// `ORGPULSE_CONCURRENCY`: upstream requests in flight at once (1–100).
    #[serde(default = "defaults::concurrency")]
    pub concurrency: usize,

    /// `ORGPULSE_FETCH_LANGUAGES`: `auto` (only with a token), `true` or `false`.
    /// Languages cost one request per changed repository.
    #[serde(default)]
    pub fetch_languages: Toggle,

    /// `ORGPULSE_FETCH_LIBRARIES`: `auto` (only with a token), `true` or `false`.
    /// Libraries (from the dependency-graph SBOM) cost one request per changed repository.
    #[serde(default)]
    pub fetch_libraries: Toggle,

    /// `ORGPULSE_FETCH_ACTIVITY`: `auto` (only with a token), `true` or `false`. Issues,
    /// pull requests, their first responses and releases, read since the last sync.
    #[serde(default)]
    pub fetch_activity: Toggle,

    /// `ORGPULSE_ACTIVITY_DAYS`: how far back an organisation's first activity sync reads.
    #[serde(default = "defaults::activity_days")]
    pub activity_days: u32,

    /// `ORGPULSE_OSV`: `auto` (on when libraries are fetched), `true`/`on` or
    /// `false`/`off`. After each refresh the stored SBOMs' package versions are checked
    /// against OSV's vulnerability database: one request per 1,000 distinct packages, plus
    /// the advisories new or changed since the last check.
    #[serde(default)]
    pub osv: Toggle,

    /// `ORGPULSE_OSV_API_URL`: the OSV API (a mirror, or a stand-in in tests).
    #[serde(default = "defaults::osv_api_url")]
    pub osv_api_url: String,

    /// `ORGPULSE_OSV_DATA_DIR`: a directory of OSV's offline exports (`PyPI/all.zip`,
    /// `npm/all.zip`, …, as OSV's public bucket lays them out), asked instead of the API
    /// on networks that cannot reach it.
    #[serde(default)]
    pub osv_data_dir: Option<std::path::PathBuf>,

    /// `ORGPULSE_SCORECARD`: `auto` (on when libraries are fetched), `true`/`on` or
    /// `false`/`off`. GitHub repositories' OpenSSF Scorecard results, asked at most once
    /// a week per repository.
    #[serde(default)]
    pub scorecard: Toggle,

    /// `ORGPULSE_SCORECARD_API_URL`: the Scorecard API.
    #[serde(default = "defaults::scorecard_api_url")]
    pub scorecard_api_url: String,

    /// `ORGPULSE_BOT_LOGINS`: comma list of logins that count as bots besides those the
    /// forge marks and those ending in `[bot]`.
    #[serde(default, deserialize_with = "comma_list")]
    pub bot_logins: Vec<String>,

    /// `ORGPULSE_HTTP_TIMEOUT_SECS`: limit for one upstream request, body included.
    #[serde(default = "defaults::http_timeout_secs")]
    pub http_timeout_secs: u64,

    /// `ORGPULSE_HTTP_RETRIES`: further tries after a connection error, timeout, 5xx or
    /// unreadable body before a request counts as failed.
    #[serde(default = "defaults::http_retries")]
    pub http_retries: u32,

    /// `ORGPULSE_MAX_RESPONSE_MB`: larger upstream bodies are refused.
    #[serde(default = "defaults::max_response_mb")]
    pub max_response_mb: u64,

    /// `ORGPULSE_RATE_LIMIT_RESERVE`: requests of the forge's budget left unused, for
    /// other tools sharing the token.
    #[serde(default = "defaults::rate_limit_reserve")]
    pub rate_limit_reserve: u64,

    /// `ORGPULSE_RATE_LIMIT_MAX_WAIT_SECS`: when the budget is spent, wait for its reset
    /// only if it comes within this many seconds; otherwise stop fetching for this run.
    #[serde(default = "defaults::rate_limit_max_wait_secs")]
    pub rate_limit_max_wait_secs: u64,

    /// `ORGPULSE_RUN_RETENTION_DAYS`: run records older than this are removed (snapshots,
    /// the history, are kept).
    #[serde(default = "defaults::run_retention_days")]
    pub run_retention_days: u32,

    /// `ORGPULSE_SECONDARY_LIMIT_WAIT_SECS`: first wait after a secondary rate limit
    /// that gave no `retry-after` (GitHub asks for at least 60 s); doubles on each try.
    #[serde(default = "defaults::secondary_limit_wait_secs")]
    pub secondary_limit_wait_secs: u64,

    /// `ORGPULSE_REPORT_WAIT_SECS`: longest wait for one repository's SBOM report while
    /// GitHub generates it (big repositories take minutes); past it, that repository
    /// keeps its previous libraries for this run.
    #[serde(default = "defaults::report_wait_secs")]
    pub report_wait_secs: u64,

    /// `ORGPULSE_WEBHOOK_URLS`: comma list of http(s) endpoints that get each
    /// organisation's new events after every refresh. Kept secret like a token: a chat
    /// service's webhook URL is its credential.
    #[serde(default, deserialize_with = "secret_list")]
    pub webhook_urls: Vec<Secret>,

    /// `ORGPULSE_WEBHOOK_SECRET`: key of the HMAC-SHA256 signature each delivery carries in
    /// `X-Orgpulse-Signature-256`. Empty counts as unset (no signature).
    #[serde(default, deserialize_with = "optional_secret")]
    pub webhook_secret: Option<Secret>,

    /// `ORGPULSE_STALE_DAYS`: a repository with no activity for this many days needs
    /// attention.
    #[serde(default = "defaults::stale_days")]
    pub stale_days: u32,

    /// `ORGPULSE_RELEASE_DAYS`: needs attention: a repository whose latest release is this
    /// many days old (releases known from GitHub's details or the activity sync;
    /// repositories that never released are left alone); 0 turns the rule off.
    #[serde(default = "defaults::release_days")]
    pub release_days: u32,

    /// `ORGPULSE_DENIED_LICENSES`: comma list of SPDX licence ids; a repository that
    /// depends on a package whose licence cannot be satisfied without one needs attention.
    #[serde(default, deserialize_with = "comma_list")]
    pub denied_licenses: Vec<String>,

    /// `ORGPULSE_RESPONSE_DAYS`: needs attention: a repository with open issues or pull
    /// requests that got no first response in this many days; 0 turns the rule off.
    #[serde(default = "defaults::response_days")]
    pub response_days: u32,

    /// `ORGPULSE_VULN_DAYS`: needs attention: a repository affected by a critical or high
    /// vulnerability that has a fixed version, found this many days ago or more; 0 turns
    /// the rule off.
    #[serde(default = "defaults::vuln_days")]
    pub vuln_days: u32,

    /// `ORGPULSE_ATTENTION_EXEMPT_TOPIC`: repositories with this topic never need attention.
    #[serde(default = "defaults::attention_exempt_topic")]
    pub attention_exempt_topic: String,

    /// `ORGPULSE_WEBHOOK_TIMEOUT_SECS`: limit for one delivery attempt.
    #[serde(default = "defaults::webhook_timeout_secs")]
    pub webhook_timeout_secs: u64,
}

mod defaults {
    pub(crate) fn database_url() -> String {
        "sqlite://data/orgpulse.db".into()
    }
    pub(crate) fn orgs() -> Vec<crate::domain::OrgId> {
        vec!["github:rust-lang"
            .parse()
            .expect("the default organisation is valid")]
    }
    pub(crate) fn schedule() -> String {
        "0 0 3 * * *".into()
    }
    pub(crate) fn github_api_url() -> String {
        "https://api.github.com".into()
    }
    pub(crate) fn concurrency() -> usize {
        4
    }
    pub(crate) fn http_timeout_secs() -> u64 {
        30
    }
    pub(crate) fn http_retries() -> u32 {
        4
    }
    pub(crate) fn max_response_mb() -> u64 {
        64
    }
    pub(crate) fn rate_limit_reserve() -> u64 {
        5
    }
    pub(crate) fn rate_limit_max_wait_secs() -> u64 {
        300
    }
    pub(crate) fn secondary_limit_wait_secs() -> u64 {
        60
    }
    pub(crate) fn report_wait_secs() -> u64 {
        600
    }
    pub(crate) fn release_days() -> u32 {
        crate::domain::attention::DEFAULT_RELEASE_DAYS
    }
    pub(crate) fn response_days() -> u32 {
        crate::domain::attention::DEFAULT_RESPONSE_DAYS
    }
    pub(crate) fn activity_days() -> u32 {
        90
    }
    pub(crate) fn osv_api_url() -> String {
        "https://api.osv.dev".into()
    }
    pub(crate) fn scorecard_api_url() -> String {
        "https://api.securityscorecards.dev".into()
    }
    pub(crate) fn vuln_days() -> u32 {
        crate::domain::attention::DEFAULT_VULN_DAYS
    }

    pub(crate) fn stale_days() -> u32 {
        crate::domain::attention::DEFAULT_STALE_DAYS
    }
    pub(crate) fn attention_exempt_topic() -> String {
        crate::domain::attention::DEFAULT_EXEMPT_TOPIC.into()
    }
    pub(crate) fn webhook_timeout_secs() -> u64 {
        10
    }
    pub(crate) fn run_retention_days() -> u32 {
        30
    }
}

impl Default for Settings {
    fn default() -> Self {
        Figment::new()
            .extract()
            .expect("every setting has a default")
    }
}

impl Settings {
    /// Loads defaults → the configuration file → the environment, then validates.
    ///
    /// `file` names the configuration file; without it `ORGPULSE_CONFIG`, then
    /// `orgpulse.toml` in the working directory, are used when they exist. A file that was
    /// named explicitly must exist.
    pub(crate) fn load(file: Option<&Path>) -> anyhow::Result<Settings> {
        let explicit = file
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("ORGPULSE_CONFIG").map(PathBuf::from));
        let path = match explicit {
            Some(path) => {
                if !path.is_file() {
                    bail!("configuration file {} does not exist", path.display());
                }
                path
            }
            None => PathBuf::from(DEFAULT_CONFIG_FILE),
        };
        let figment = Figment::new()
            .merge(Toml::file(&path))
            .merge(Env::prefixed("ORGPULSE_").ignore(&["config"]))
            .merge(Env::raw().only(&["github_token"]));
        Self::from_figment(figment)
            .with_context(|| format!("invalid configuration (environment or {})", path.display()))
    }

    /// Extracts and validates settings from any figment (tests build their own).
    pub(crate) fn from_figment(figment: Figment) -> anyhow::Result<Settings> {
        let mut settings: Settings = figment.extract()?;
        settings.forges = settings.build_forges()?;
        settings.validate()?;
        Ok(settings)
    }

    fn build_forges(&self) -> anyhow::Result<Forges> {
        let mut more = vec![ForgeInstance::new(
            "github".parse().expect("a valid name"),
            ForgeKind::GitHub,
            &self.github_api_url,
        )];
        match &self.forges_raw {
            None => {}
            Some(RawForges::Text(text)) => {
                for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    more.push(parse_forge(item).with_context(|| {
                        format!("ORGPULSE_FORGES: `{item}` is not NAME=KIND@API_URL")
                    })?);
                }
            }
            Some(RawForges::Table(table)) => {
                for (name, entry) in table {
                    let context = || format!("[forges.{name}] in the configuration file");
                    let name: ForgeName = name
                        .parse()
                        .map_err(anyhow::Error::msg)
                        .with_context(context)?;
                    let kind: ForgeKind = entry
                        .kind
                        .parse()
                        .map_err(anyhow::Error::msg)
                        .with_context(context)?;
                    check_api_url(&entry.url).with_context(context)?;
                    let mut instance = ForgeInstance::new(name, kind, &entry.url);
                    if let Some(token_env) = &entry.token_env {
                        instance.token_env = token_env.clone();
                    }
                    more.push(instance);
                }
            }
        }
        Ok(Forges::with(more))
    }

    /// The token for `instance`: `GITHUB_TOKEN` (or `github_token` in the file) for the
    /// built-in `github`, otherwise the environment variable the instance names. Empty
    /// counts as unset.
    pub(crate) fn forge_token(&self, instance: &ForgeInstance) -> Option<Secret> {
        if instance.token_env == "GITHUB_TOKEN" {
            return self.github_token.clone();
        }
        std::env::var(&instance.token_env)
            .ok()
            .map(|t| Secret::new(t.trim()))
            .filter(|t| !t.expose().is_empty())
    }

    /// The GitHub App the built-in `github` authenticates as, when one is configured. The
    /// key is read here; when it cannot be, each organisation's refresh says why.
    pub(crate) fn github_app(&self, instance: &ForgeInstance) -> Option<AppCredentials> {
        if instance.name.as_str() != "github" {
            return None;
        }
        let app_id = self.github_app_id.clone()?;
        let private_key = match &self.github_app_private_key_file {
            None => Err(
                "ORGPULSE_GITHUB_APP_ID is set but ORGPULSE_GITHUB_APP_PRIVATE_KEY_FILE is not"
                    .to_owned(),
            ),
            Some(path) => std::fs::read_to_string(path).map(Secret::new).map_err(|e| {
                format!(
                    "ORGPULSE_GITHUB_APP_PRIVATE_KEY_FILE ({}) cannot be read: {e}",
                    path.display()
                )
            }),
        };
        Some(AppCredentials {
            app_id,
            private_key,
            installation_id: self.github_app_installation_id,
        })
    }

    /// The GraphQL endpoint override for `instance`: `ORGPULSE_GITHUB_GRAPHQL_URL` for the
    /// built-in `github`, else `ORGPULSE_FORGE_<NAME>_GRAPHQL_URL`. Empty counts as unset.
    pub(crate) fn graphql_url(&self, instance: &ForgeInstance) -> Option<String> {
        let url = if instance.name.as_str() == "github" {
            self.github_graphql_url.clone()
        } else {
            let name = instance
                .name
                .as_str()
                .to_ascii_uppercase()
                .replace('-', "_");
            std::env::var(format!("ORGPULSE_FORGE_{name}_GRAPHQL_URL")).ok()
        };
        url.map(|u| u.trim().to_owned()).filter(|u| !u.is_empty())
    }

    fn validate(&self) -> anyhow::Result<()> {
        for org in &self.orgs {
            self.forges
                .check(org)
                .with_context(|| "ORGPULSE_ORGS names an organisation that is not valid")?;
        }
        if !(1..=100).contains(&self.concurrency) {
            bail!(
                "ORGPULSE_CONCURRENCY must be between 1 and 100 (GitHub allows at most 100 concurrent requests), got {}",
                self.concurrency
            );
        }
        let url = url::Url::parse(&self.github_api_url).with_context(|| {
            format!(
                "ORGPULSE_GITHUB_API_URL `{}` is not a URL",
                self.github_api_url
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            bail!(
                "ORGPULSE_GITHUB_API_URL must be an http(s) URL, got `{}`",
                self.github_api_url
            );
        }
        if self.http_timeout_secs == 0 {
            bail!("ORGPULSE_HTTP_TIMEOUT_SECS must be at least 1");
        }
        if self.max_response_mb == 0 {
            bail!("ORGPULSE_MAX_RESPONSE_MB must be at least 1");
        }
        for (n, url) in self.webhook_urls.iter().enumerate() {
            // The URL is not repeated: it may carry its endpoint's credential.
            crate::domain::feed::webhook_endpoint(url.expose())
                .with_context(|| format!("ORGPULSE_WEBHOOK_URLS: item {} is not usable", n + 1))?;
        }
        if !(1..=3_650).contains(&self.activity_days) {
            anyhow::bail!(
                "ORGPULSE_ACTIVITY_DAYS must be between 1 and 3650, got {}",
                self.activity_days
            );
        }
        if !(1..=36_500).contains(&self.stale_days) {
            bail!(
                "ORGPULSE_STALE_DAYS must be between 1 and 36500, got {}",
                self.stale_days
            );
        }
        crate::domain::licenses::DeniedLicenses::parse(&self.denied_licenses.join(","))
            .map_err(|e| anyhow::anyhow!("ORGPULSE_DENIED_LICENSES: {e}"))?;
        if self.response_days > 36_500 {
            bail!(
                "ORGPULSE_RESPONSE_DAYS must be between 0 and 36500, got {}",
                self.response_days
            );
        }
        if self.vuln_days > 36_500 {
            bail!(
                "ORGPULSE_VULN_DAYS must be between 0 and 36500, got {}",
                self.vuln_days
            );
        }
        if let Some(dir) = &self.osv_data_dir {
            if !dir.is_dir() {
                bail!(
                    "ORGPULSE_OSV_DATA_DIR `{}` is not a directory",
                    dir.display()
                );
            }
        }
        for (name, value) in [
            ("ORGPULSE_OSV_API_URL", &self.osv_api_url),
            ("ORGPULSE_SCORECARD_API_URL", &self.scorecard_api_url),
        ] {
            let url =
                url::Url::parse(value).with_context(|| format!("{name} `{value}` is not a URL"))?;
            if !matches!(url.scheme(), "http" | "https") {
                bail!("{name} must be an http(s) URL, got `{value}`");
            }
        }
        if self.attention_exempt_topic.trim().is_empty() {
            bail!("ORGPULSE_ATTENTION_EXEMPT_TOPIC must not be empty");
        }
        if self.webhook_timeout_secs == 0 {
            bail!("ORGPULSE_WEBHOOK_TIMEOUT_SECS must be at least 1");
        }
        Ok(())
    }

    /// What counts as needing attention.
    pub(crate) fn attention_rules(&self) -> AttentionRules {
        AttentionRules {
            stale_days: self.stale_days,
            release_days: (self.release_days > 0).then_some(self.release_days),
            response_days: (self.response_days > 0).then_some(self.response_days),
            vuln_days: (self.vuln_days > 0).then_some(self.vuln_days),
            // Validated at start-up: an unknown id never gets this far.
            denied_licenses: crate::domain::licenses::DeniedLicenses::parse(
                &self.denied_licenses.join(","),
            )
            .unwrap_or_default(),
            exempt_topic: self.attention_exempt_topic.trim().to_owned(),
        }
    }

    /// Whether any forge has a token (what `auto` toggles follow).
    fn any_token(&self) -> bool {
        self.forges.iter().any(|f| self.forge_token(f).is_some())
    }

    /// Whether this run fetches per-repo languages.
    pub(crate) fn languages_enabled(&self) -> bool {
        self.fetch_languages.resolve(self.any_token())
    }

    /// Whether and how far back activity is read, and who counts as a bot.
    pub(crate) fn activity(&self) -> crate::domain::activity::ActivityOptions {
        crate::domain::activity::ActivityOptions {
            enabled: self.fetch_activity.resolve(self.any_token()),
            days: self.activity_days,
            bots: crate::domain::activity::BotRules::new(&self.bot_logins),
        }
    }

    /// The OSV API the vulnerability check asks, when it is on.
    pub(crate) fn osv_url(&self) -> Option<String> {
        self.osv
            .resolve(self.libraries_enabled())
            .then(|| self.osv_api_url.trim().to_owned())
    }

    /// OSV's offline exports, when the check is on and reads them.
    pub(crate) fn osv_data_dir(&self) -> Option<std::path::PathBuf> {
        self.osv_url().and(self.osv_data_dir.clone())
    }

    /// The Scorecard API, when GitHub repositories' results are read.
    pub(crate) fn scorecard_url(&self) -> Option<String> {
        self.scorecard
            .resolve(self.libraries_enabled())
            .then(|| self.scorecard_api_url.trim().to_owned())
    }

    /// Whether this run fetches per-repo libraries (SBOMs).
    pub(crate) fn libraries_enabled(&self) -> bool {
        self.fetch_libraries.resolve(self.any_token())
    }

    pub(crate) fn http_timeout(&self) -> Duration {
        Duration::from_secs(self.http_timeout_secs)
    }
}

/// `ORGPULSE_FORGES` as the environment (text) or the file (tables) gives it.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum RawForges {
    Text(String),
    Table(BTreeMap<String, RawForge>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawForge {
    kind: String,
    url: String,
    #[serde(default)]
    token_env: Option<String>,
}

/// `NAME=KIND@API_URL`.
fn parse_forge(item: &str) -> anyhow::Result<ForgeInstance> {
    let (name, rest) = item.split_once('=').context("no `=` after the name")?;
    let (kind, url) = rest.split_once('@').context("no `@` before the API URL")?;
    let name: ForgeName = name.parse().map_err(anyhow::Error::msg)?;
    let kind: ForgeKind = kind.parse().map_err(anyhow::Error::msg)?;
    check_api_url(url.trim())?;
    Ok(ForgeInstance::new(name, kind, url.trim()))
}

fn check_api_url(url: &str) -> anyhow::Result<()> {
    let parsed = url::Url::parse(url).with_context(|| format!("`{url}` is not a URL"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        bail!("`{url}` is not an http(s) URL");
    }
    Ok(())
}

/// An on/off switch whose default depends on something else (here: a configured token).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Toggle {
    #[default]
    Auto,
    On,
    Off,
}

impl Toggle {
    fn resolve(self, auto: bool) -> bool {
        match self {
            Toggle::Auto => auto,
            Toggle::On => true,
            Toggle::Off => false,
        }
    }
}

impl<'de> Deserialize<'de> for Toggle {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Bool(bool),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Bool(true) => Ok(Toggle::On),
            Raw::Bool(false) => Ok(Toggle::Off),
            Raw::Text(s) => match s.to_ascii_lowercase().as_str() {
                "auto" | "" => Ok(Toggle::Auto),
                "true" | "on" | "yes" | "1" => Ok(Toggle::On),
                "false" | "off" | "no" | "0" => Ok(Toggle::Off),
                _ => Err(serde::de::Error::custom(format!(
                    "expected auto, true or false, got `{s}`"
                ))),
            },
        }
    }
}

/// Text that may arrive as a number (figment reads an all-digit variable as one, and a
/// numeric App id is all digits); empty is `None`.
fn optional_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let secret = Option::<Secret>::deserialize(deserializer)?;
    Ok(secret
        .map(|s| s.expose().to_owned())
        .filter(|s| !s.is_empty()))
}

fn optional_secret<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Secret>, D::Error> {
    let secret = Option::<Secret>::deserialize(deserializer)?;
    Ok(secret.filter(|s| !s.expose().is_empty()))
}

/// The non-empty items of a comma-separated string (the environment) or a list (the
/// TOML file), trimmed.
fn comma_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        Text(String),
    }
    let items = match Raw::deserialize(deserializer)? {
        Raw::List(items) => items,
        Raw::Text(s) => s.split(',').map(str::to_owned).collect(),
    };
    Ok(items
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect())
}

fn org_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<OrgId>, D::Error> {
    comma_list(deserializer)?
        .iter()
        .map(|s| s.parse::<OrgId>().map_err(serde::de::Error::custom))
        .collect()
}

fn secret_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Secret>, D::Error> {
    Ok(comma_list(deserializer)?
        .into_iter()
        .map(Secret::new)
        .collect())
}

#[cfg(test)]
mod tests {

    /// Every `ORGPULSE_*` variable the code reads is in docs/configuration.md, and every
    /// one that page names is read by the code (an instance's `ORGPULSE_FORGE_<NAME>_…`
    /// variables are a pattern, and its examples are left out): the page cannot drift.
    #[test]
    fn the_configuration_page_names_exactly_the_variables_the_code_reads() {
        fn names(text: &str) -> std::collections::BTreeSet<String> {
            let mut found = std::collections::BTreeSet::new();
            for (i, _) in text.match_indices("ORGPULSE_") {
                let name: String = text[i..]
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                let name = name.trim_end_matches('_').to_owned();
                let instance = name.starts_with("ORGPULSE_FORGE_")
                    && (name.ends_with("_TOKEN") || name.ends_with("_GRAPHQL_URL"));
                if name != "ORGPULSE_FORGE" && !instance {
                    found.insert(name);
                }
            }
            found
        }
        fn sources(dir: &std::path::Path, out: &mut String) {
            for entry in std::fs::read_dir(dir).expect("source folder").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    sources(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push_str(&std::fs::read_to_string(&path).expect("source"));
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut code = String::new();
        sources(&root.join("src"), &mut code);
        let page = std::fs::read_to_string(root.join("../docs/configuration.md"))
            .expect("docs/configuration.md");
        let (read, documented) = (names(&code), names(&page));
        let undocumented: Vec<_> = read.difference(&documented).collect();
        let unknown: Vec<_> = documented.difference(&read).collect();
        assert!(
            undocumented.is_empty() && unknown.is_empty(),
            "read but not documented: {undocumented:?}; documented but not read: {unknown:?}"
        );
        assert!(read.len() > 20, "the scan finds the settings: {read:?}");
    }

    use super::*;
    use figment::providers::Serialized;

    fn with(pairs: &[(&str, &str)]) -> anyhow::Result<Settings> {
        let mut figment = Figment::new();
        for (k, v) in pairs {
            figment = figment.merge(Serialized::default(k, v));
        }
        Settings::from_figment(figment)
    }

    #[test]
    fn defaults_match_the_documented_ones() {
        let s = Settings::default();
        assert_eq!(s.database_url, "sqlite://data/orgpulse.db");
        assert_eq!(s.orgs.len(), 1);
        assert_eq!(s.orgs[0].to_string(), "github:rust-lang");
        assert_eq!(s.schedule, "0 0 3 * * *");
        assert_eq!(s.github_api_url, "https://api.github.com");
        assert_eq!(s.concurrency, 4);
        assert!(s.github_token.is_none());
        assert!(!s.languages_enabled() && !s.libraries_enabled());
    }

    #[test]
    fn reads_comma_lists_and_toggles() {
        let s = with(&[
            ("orgs", "github:a, github:B,,"),
            ("github_token", "ghp_x"),
            ("fetch_libraries", "false"),
        ])
        .expect("valid");
        let orgs: Vec<String> = s.orgs.iter().map(ToString::to_string).collect();
        assert_eq!(orgs, ["github:a", "github:b"]);
        assert!(s.languages_enabled(), "auto turns on with a token");
        assert!(!s.libraries_enabled());
    }

    #[test]
    fn rejects_bad_values_with_the_variable_name() {
        let err = with(&[("orgs", "github:-bad")]).expect_err("invalid org");
        assert!(format!("{err:#}").contains("-bad"), "{err:#}");
        let err = Settings::from_figment(Figment::new().merge(Toml::string("concurrency = 0")))
            .expect_err("zero");
        assert!(err.to_string().contains("ORGPULSE_CONCURRENCY"), "{err}");
        let err = with(&[("github_api_url", "ftp://x")]).expect_err("scheme");
        assert!(err.to_string().contains("ORGPULSE_GITHUB_API_URL"), "{err}");
    }

    #[test]
    fn webhook_urls_are_a_checked_list_never_repeated_in_errors() {
        let ok = with(&[(
            "webhook_urls",
            "https://hooks.example.com/a, http://127.0.0.1:9000/b,",
        )])
        .expect("two endpoints");
        assert_eq!(ok.webhook_urls.len(), 2);
        assert!(
            !format!("{ok:?}").contains("hooks.example.com/a"),
            "kept secret"
        );
        let err = with(&[("webhook_urls", "https://ok.example/x,ftp://T0KEN@host/y")])
            .expect_err("not http");
        let text = format!("{err:#}");
        assert!(text.contains("ORGPULSE_WEBHOOK_URLS: item 2"), "{text}");
        assert!(!text.contains("T0KEN"), "{text}");
        assert!(with(&[("webhook_timeout_secs", "0")]).is_err());
    }

    #[test]
    fn reads_forges_from_the_environment_and_the_file() {
        let s = with(&[
            (
                "forges",
                "gnome=gitlab@https://gitlab.gnome.org/api/v4, gitlab=gitlab@http://127.0.0.1:9001/api/v4",
            ),
            ("orgs", "gnome:GNOME/Sub, gitlab:gitlab-org, codeberg:forgejo"),
        ])
        .expect("valid");
        assert_eq!(s.forges.names(), ["github", "gitlab", "codeberg", "gnome"]);
        let gitlab = s
            .forges
            .get(&"gitlab".parse().expect("name"))
            .expect("gitlab");
        assert_eq!(gitlab.api_url, "http://127.0.0.1:9001/api/v4");
        assert_eq!(gitlab.token_env, "GITLAB_TOKEN");
        let orgs: Vec<String> = s.orgs.iter().map(ToString::to_string).collect();
        assert_eq!(
            orgs,
            ["gnome:gnome/sub", "gitlab:gitlab-org", "codeberg:forgejo"]
        );

        let file = "[forges.fd]\nkind = \"gitlab\"\nurl = \"https://gitlab.freedesktop.org/api/v4\"\ntoken_env = \"FD_TOKEN\"\n";
        let s = Settings::from_figment(Figment::new().merge(Toml::string(file))).expect("valid");
        let fd = s.forges.get(&"fd".parse().expect("name")).expect("fd");
        assert_eq!(
            (fd.kind, fd.token_env.as_str()),
            (ForgeKind::GitLab, "FD_TOKEN")
        );

        let s = with(&[("github_api_url", "http://127.0.0.1:1/")]).expect("valid");
        let github = s
            .forges
            .get(&"github".parse().expect("name"))
            .expect("github");
        assert_eq!(github.api_url, "http://127.0.0.1:1");
    }

    #[test]
    fn refuses_bad_forges_clearly() {
        for (forges, says) in [
            ("gnome", "NAME=KIND@API_URL"),
            ("gnome=svn@http://x", "unknown forge kind `svn`"),
            ("gnome=gitlab@not a url", "not a URL"),
            ("9=gitlab@http://x", "not a forge name"),
        ] {
            let err = with(&[("forges", forges)]).expect_err(forges);
            assert!(format!("{err:#}").contains(says), "{forges}: {err:#}");
        }
        let err = with(&[("orgs", "gnome:x")]).expect_err("unknown forge");
        assert!(
            format!("{err:#}").contains("configured: github, gitlab, codeberg"),
            "{err:#}"
        );
        let err = with(&[("orgs", "codeberg:a--b")]).expect_err("invalid path");
        assert!(format!("{err:#}").contains("a--b"), "{err:#}");
    }

    #[test]
    fn an_empty_token_is_no_token() {
        let s = with(&[("github_token", "  ")]).expect("valid");
        assert!(s.github_token.is_none());
        assert!(
            !s.languages_enabled(),
            "auto stays off without a real token"
        );
    }

    #[test]
    fn secrets_never_print() {
        let s = with(&[("github_token", "ghp_supersecret")]).expect("valid");
        let shown = format!("{s:?}");
        assert!(!shown.contains("supersecret"), "{shown}");
        assert_eq!(s.github_token.expect("set").expose(), "ghp_supersecret");
    }

    #[test]
    fn reads_a_toml_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("orgpulse.toml");
        std::fs::write(&path, "orgs = [\"github:x\"]\nconcurrency = 9\n").expect("write");
        let figment = Figment::new().merge(Toml::file(&path));
        let s = Settings::from_figment(figment).expect("valid");
        assert_eq!(s.concurrency, 9);
        assert_eq!(s.orgs[0].to_string(), "github:x");
    }
}
