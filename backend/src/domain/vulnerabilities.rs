//! Known vulnerabilities of the packages the stored SBOMs list, as OSV reports them.
//!
//! A [`PackageVersion`] (a library with a version) is what OSV is asked about, by its
//! package-URL. OSV answers with advisory ids; each [`Advisory`] is kept as OSV last
//! gave it, by id and `modified`. An organisation's [`Finding`]s are the advisories that
//! apply to each package of each of its repositories, with the severity (the record's
//! CVSS vector scored with the `cvss` crate, else the database's own rating) and the
//! version that fixes it for that package (from the advisory's ranges, in the
//! ecosystem's version order: see [`super::versions`]).

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use serde::{Deserialize, Serialize};

use super::versions;
use super::Library;

/// A package at one version, as a repository's SBOM lists it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PackageVersion {
    /// The package-URL type (`npm`, `cargo`, `pypi`, `golang`, `maven`, …).
    pub ecosystem: String,
    /// Namespace and name as the purl gives them (`@babel/core`, `org.slf4j/slf4j-api`).
    pub name: String,
    pub version: String,
}

/// What a purl segment must not carry bare (the purl specification's reserved characters).
const PURL_SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'@')
    .add(b'[')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

impl PackageVersion {
    /// The library at its version; `None` without a usable version (none at all, or a
    /// pattern such as GitHub Actions' `4.*.*`, which names no release).
    pub fn of(library: &Library) -> Option<PackageVersion> {
        let version = library.version.as_deref()?.trim();
        if version.is_empty() || version.contains('*') || library.ecosystem == "github" {
            return None;
        }
        Some(PackageVersion {
            ecosystem: library.ecosystem.clone(),
            name: library.name.clone(),
            version: version.to_owned(),
        })
    }

    /// Its package-URL, each segment percent-encoded (`pkg:npm/%40babel/core@7.22.0`).
    pub fn purl(&self) -> String {
        let name = self
            .name
            .split('/')
            .map(|segment| utf8_percent_encode(segment, PURL_SEGMENT).to_string())
            .collect::<Vec<_>>()
            .join("/");
        let version = utf8_percent_encode(&self.version, PURL_SEGMENT);
        format!("pkg:{}/{name}@{version}", self.ecosystem)
    }

    /// OSV's name for the ecosystem, where OSV has one.
    pub fn osv_ecosystem(&self) -> Option<&'static str> {
        osv_ecosystem(&self.ecosystem)
    }

    /// Whether an advisory's `affected` entry (OSV ecosystem and name) is this package.
    pub fn is(&self, ecosystem: &str, name: &str) -> bool {
        // OSV suffixes some ecosystems with a release (`Debian:12`); packages here never are.
        let ecosystem = ecosystem.split(':').next().unwrap_or(ecosystem);
        self.osv_ecosystem() == Some(ecosystem)
            && normalised(&self.ecosystem, name) == normalised(&self.ecosystem, &self.osv_name())
    }

    /// Its name as compared with an advisory's entries (see [`name_key`]).
    pub fn name_key(&self) -> String {
        name_key(&self.ecosystem, &self.osv_name())
    }

    /// The name as OSV writes it: Maven's `groupId:artifactId`, the purl's path elsewhere.
    pub fn osv_name(&self) -> String {
        match self.ecosystem.as_str() {
            "maven" => self.name.replacen('/', ":", 1),
            _ => self.name.clone(),
        }
    }

    /// A short label: `npm/lodash@4.17.20`.
    pub fn label(&self) -> String {
        format!("{}/{}@{}", self.ecosystem, self.name, self.version)
    }
}

impl fmt::Display for PackageVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label())
    }
}

/// OSV's ecosystem for a package-URL type.
pub fn osv_ecosystem(purl_type: &str) -> Option<&'static str> {
    Some(match purl_type {
        "cargo" => "crates.io",
        "npm" => "npm",
        "pypi" => "PyPI",
        "golang" => "Go",
        "maven" => "Maven",
        "gem" => "RubyGems",
        "nuget" => "NuGet",
        "composer" => "Packagist",
        "pub" => "Pub",
        "hex" => "Hex",
        "swift" => "SwiftURL",
        "githubactions" => "GitHub Actions",
        "cran" => "CRAN",
        "hackage" => "Hackage",
        "conan" => "ConanCenter",
        _ => return None,
    })
}

/// An advisory entry's name (OSV's spelling) for a package of `purl_type`, as the
/// ecosystem compares names: equal keys, same package. For indexing records by package.
pub fn name_key(purl_type: &str, osv_name: &str) -> String {
    normalised(purl_type, osv_name)
}

/// Names compared as the ecosystem compares them: PyPI folds case and runs of `-_.`;
/// Maven, NuGet and Packagist fold case; the rest are exact.
fn normalised(ecosystem: &str, name: &str) -> String {
    match ecosystem {
        "pypi" => {
            let lower = name.to_lowercase();
            let mut out = String::with_capacity(lower.len());
            let mut separator = false;
            for c in lower.chars() {
                if matches!(c, '-' | '_' | '.') {
                    separator = true;
                } else {
                    if separator && !out.is_empty() {
                        out.push('-');
                    }
                    separator = false;
                    out.push(c);
                }
            }
            out
        }
        "maven" | "nuget" | "composer" => name.to_lowercase(),
        _ => name.to_owned(),
    }
}

/// How bad a vulnerability is, on CVSS's qualitative scale.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// No CVSS vector and no rating from the database.
    #[default]
    Unknown,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// Worst first.
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Unknown => "unknown",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// A database's own rating (GitHub's LOW/MODERATE/HIGH/CRITICAL, and the usual
    /// synonyms); `None` for anything else.
    pub fn from_rating(rating: &str) -> Option<Severity> {
        Some(match rating.trim().to_ascii_uppercase().as_str() {
            "LOW" => Severity::Low,
            "MODERATE" | "MEDIUM" => Severity::Medium,
            "HIGH" | "IMPORTANT" => Severity::High,
            "CRITICAL" => Severity::Critical,
            _ => return None,
        })
    }

    /// Whether it is critical or high: the ones the attention report and the overview count.
    pub fn is_serious(self) -> bool {
        self >= Severity::High
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| format!("unknown severity `{s}`"))
    }
}

/// A severity with where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Rating {
    pub severity: Severity,
    /// The CVSS base score, when a vector was scored.
    pub score: Option<f64>,
    /// The CVSS vector scored.
    pub vector: Option<String>,
}

impl Rating {
    /// From a record's `severity[]` entries (type, score: OSV puts the vector in
    /// `score`) and the database's own rating: the newest CVSS version that parses
    /// (v4, then v3.x, then v2), else the rating.
    pub fn rate(vectors: &[(String, String)], database: Option<&str>) -> Rating {
        let mut best: Option<(u8, cvss::Cvss, &str)> = None;
        for (kind, vector) in vectors {
            let rank = match kind.as_str() {
                "CVSS_V4" => 3,
                "CVSS_V3" => 2,
                "CVSS_V2" => 1,
                _ => continue,
            };
            let Ok(parsed) = vector.trim().parse::<cvss::Cvss>() else {
                continue;
            };
            if best.as_ref().is_none_or(|(r, _, _)| rank > *r) {
                best = Some((rank, parsed, vector.trim()));
            }
        }
        if let Some((_, parsed, vector)) = best {
            let score = parsed.score();
            let severity = match parsed.severity() {
                cvss::Severity::None | cvss::Severity::Low => Severity::Low,
                cvss::Severity::Medium => Severity::Medium,
                cvss::Severity::High => Severity::High,
                cvss::Severity::Critical => Severity::Critical,
            };
            return Rating {
                severity,
                score: Some(score),
                vector: Some(vector.to_owned()),
            };
        }
        Rating {
            severity: database
                .and_then(Severity::from_rating)
                .unwrap_or(Severity::Unknown),
            score: None,
            vector: None,
        }
    }
}

/// One event of an affected range, in OSV's words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RangeEvent {
    Introduced(String),
    Fixed(String),
    LastAffected(String),
    Limit(String),
}

impl RangeEvent {
    fn version(&self) -> &str {
        match self {
            RangeEvent::Introduced(v)
            | RangeEvent::Fixed(v)
            | RangeEvent::LastAffected(v)
            | RangeEvent::Limit(v) => v,
        }
    }
}

/// An affected range of versions (`SEMVER` or `ECOSYSTEM`; `GIT` ranges name commits, not
/// versions, and are not kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffectedRange {
    pub events: Vec<RangeEvent>,
}

/// One package an advisory affects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    /// OSV's ecosystem (`npm`, `PyPI`, `crates.io`, …).
    pub ecosystem: String,
    pub name: String,
    pub ranges: Vec<AffectedRange>,
    /// Versions listed one by one.
    #[serde(default)]
    pub versions: Vec<String>,
    /// A rating given for this package only, where the record gives one.
    #[serde(default)]
    pub rating: Option<Rating>,
}

/// An OSV record, reduced to what orgpulse shows and needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Advisory {
    pub id: String,
    pub modified: DateTime<Utc>,
    /// Set when the record was withdrawn: it applies to nothing. Kept so an unchanged
    /// record is not fetched again.
    pub withdrawn: Option<DateTime<Utc>>,
    /// CVE, GHSA and other ids of the same vulnerability.
    pub aliases: Vec<String>,
    pub summary: Option<String>,
    pub rating: Rating,
    pub affected: Vec<Affected>,
}

impl Advisory {
    /// The severity for `package`: its own entry's rating where the record gives one
    /// (OSV puts severity either on the record or on each entry, not both), else the
    /// record's.
    pub fn rating_for(&self, package: &PackageVersion) -> &Rating {
        self.affected
            .iter()
            .filter(|a| package.is(&a.ecosystem, &a.name))
            .find_map(|a| a.rating.as_ref())
            .unwrap_or(&self.rating)
    }

    /// The version that fixes it for `package`: the `fixed` event closing the range its
    /// version is in; if its version is in none of them (OSV matched it otherwise), the
    /// lowest `fixed` above its version. `None` when no fix is published.
    pub fn fixed_for(&self, package: &PackageVersion) -> Option<String> {
        let order = |a: &str, b: &str| versions::compare(&package.ecosystem, a, b);
        let v = package.version.as_str();
        let mut above: Vec<&str> = Vec::new();
        for affected in self
            .affected
            .iter()
            .filter(|a| package.is(&a.ecosystem, &a.name))
        {
            for range in &affected.ranges {
                let mut events: Vec<&RangeEvent> = range.events.iter().collect();
                // Evaluated in version order, introductions first at a tie.
                events.sort_by(|a, b| {
                    order(a.version(), b.version()).then_with(|| {
                        let first = |e: &RangeEvent| !matches!(e, RangeEvent::Introduced(_));
                        first(a).cmp(&first(b))
                    })
                });
                let mut inside = false;
                for event in events {
                    match event {
                        RangeEvent::Introduced(at) if order(at, v) != Ordering::Greater => {
                            inside = true;
                        }
                        RangeEvent::Fixed(at) => {
                            if order(at, v) == Ordering::Greater {
                                if inside {
                                    return Some(at.clone());
                                }
                                above.push(at);
                            } else {
                                inside = false;
                            }
                        }
                        RangeEvent::LastAffected(at) | RangeEvent::Limit(at)
                            if order(at, v) == Ordering::Less =>
                        {
                            inside = false;
                        }
                        _ => {}
                    }
                }
            }
        }
        above
            .into_iter()
            .min_by(|a, b| order(a, b))
            .map(str::to_owned)
    }
}

/// An advisory id and when OSV last changed its record: what a query answers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AdvisoryRef {
    pub id: String,
    pub modified: DateTime<Utc>,
}

/// What OSV last said of one package version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackageResult {
    pub package: PackageVersion,
    /// When OSV answered (the last confirmation of `advisories`).
    pub checked_at: DateTime<Utc>,
    pub advisories: Vec<AdvisoryRef>,
    /// Why OSV could not say (it refused the package), when it could not.
    pub unknown: Option<String>,
}

/// An advisory as a finding shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdvisoryBrief {
    pub id: String,
    pub aliases: Vec<String>,
    pub summary: Option<String>,
    pub rating: Rating,
}

/// One advisory that applies to one package of one repository.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub repo_id: i64,
    pub package: PackageVersion,
    pub advisory: AdvisoryBrief,
    /// The version that fixes it, if one is published.
    pub fixed: Option<String>,
    /// When orgpulse first found it in this repository (the package's version may have
    /// changed since, the advisory still applying).
    pub first_seen: DateTime<Utc>,
    /// When OSV last confirmed it.
    pub confirmed_at: DateTime<Utc>,
}

/// What a finding is about across days: repository, package (not its version) and
/// advisory. Upgrading a package to a version the advisory still affects keeps it; two
/// versions of one package in a repository (a lock file's nested copies) share it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Exposure {
    pub repo_id: i64,
    pub ecosystem: String,
    pub name: String,
    pub advisory: String,
}

impl Finding {
    pub fn exposure(&self) -> Exposure {
        Exposure {
            repo_id: self.repo_id,
            ecosystem: self.package.ecosystem.clone(),
            name: self.package.name.clone(),
            advisory: self.advisory.id.clone(),
        }
    }

    /// What identifies the finding itself: its exposure at its version.
    pub fn key(&self) -> (Exposure, String) {
        (self.exposure(), self.package.version.clone())
    }

    pub fn severity(&self) -> Severity {
        self.advisory.rating.severity
    }
}

/// An organisation's findings from its libraries and OSV's results: every advisory (not
/// withdrawn, and stored) each package version's result names, once per repository,
/// with the earliest `first_seen` of `before`'s findings of the same exposure, else `now`.
pub fn findings(
    libraries: &[(i64, Library)],
    results: &HashMap<PackageVersion, PackageResult>,
    advisories: &HashMap<String, Advisory>,
    before: &[Finding],
    now: DateTime<Utc>,
) -> Vec<Finding> {
    let mut seen: HashMap<Exposure, DateTime<Utc>> = HashMap::new();
    for f in before {
        let first = seen.entry(f.exposure()).or_insert(f.first_seen);
        *first = (*first).min(f.first_seen);
    }
    let mut out: BTreeMap<(Exposure, String), Finding> = BTreeMap::new();
    for (repo_id, library) in libraries {
        let Some(package) = PackageVersion::of(library) else {
            continue;
        };
        let Some(result) = results.get(&package) else {
            continue;
        };
        for reference in &result.advisories {
            let Some(advisory) = advisories.get(&reference.id) else {
                continue;
            };
            if advisory.withdrawn.is_some() {
                continue;
            }
            let finding = Finding {
                repo_id: *repo_id,
                package: package.clone(),
                advisory: AdvisoryBrief {
                    id: advisory.id.clone(),
                    aliases: advisory.aliases.clone(),
                    summary: advisory.summary.clone(),
                    rating: advisory.rating_for(&package).clone(),
                },
                fixed: advisory.fixed_for(&package),
                first_seen: now,
                confirmed_at: result.checked_at,
            };
            let first_seen = seen.get(&finding.exposure()).copied().unwrap_or(now);
            out.entry(finding.key()).or_insert(Finding {
                first_seen,
                ..finding
            });
        }
    }
    out.into_values().collect()
}

/// A vulnerable package version with every advisory that applies to it, across the
/// repositories that carry it: a row of the Security table.
#[derive(Debug, Clone, PartialEq)]
pub struct VulnerablePackage {
    pub package: PackageVersion,
    /// Worst first; each with its own fixed version.
    pub advisories: Vec<(AdvisoryBrief, Option<String>)>,
    /// The worst advisory's severity.
    pub severity: Severity,
    /// The version that fixes every advisory (the highest of their fixed versions);
    /// `None` when one of them has no fix.
    pub fixed: Option<String>,
    pub repos: BTreeSet<i64>,
    /// When the first of its findings was found.
    pub first_seen: DateTime<Utc>,
    /// The oldest confirmation among its findings.
    pub confirmed_at: DateTime<Utc>,
}

/// `findings` grouped by package version: worst first, then by package.
pub fn by_package(findings: &[Finding]) -> Vec<VulnerablePackage> {
    let mut groups: BTreeMap<&PackageVersion, Vec<&Finding>> = BTreeMap::new();
    for f in findings {
        groups.entry(&f.package).or_default().push(f);
    }
    let mut out: Vec<VulnerablePackage> = groups
        .into_iter()
        .map(|(package, group)| {
            let mut advisories: BTreeMap<&str, (AdvisoryBrief, Option<String>)> = BTreeMap::new();
            for f in &group {
                advisories
                    .entry(&f.advisory.id)
                    .or_insert_with(|| (f.advisory.clone(), f.fixed.clone()));
            }
            let mut advisories: Vec<_> = advisories.into_values().collect();
            advisories.sort_by(|a, b| {
                b.0.rating
                    .severity
                    .cmp(&a.0.rating.severity)
                    .then_with(|| a.0.id.cmp(&b.0.id))
            });
            let fixed = advisories
                .iter()
                .map(|(_, fixed)| fixed.as_deref())
                .collect::<Option<Vec<&str>>>()
                .and_then(|all| {
                    all.into_iter()
                        .max_by(|a, b| versions::compare(&package.ecosystem, a, b))
                        .map(str::to_owned)
                });
            VulnerablePackage {
                package: package.clone(),
                severity: advisories
                    .iter()
                    .map(|(a, _)| a.rating.severity)
                    .max()
                    .unwrap_or_default(),
                advisories,
                fixed,
                repos: group.iter().map(|f| f.repo_id).collect(),
                first_seen: group.iter().map(|f| f.first_seen).min().unwrap_or_default(),
                confirmed_at: group
                    .iter()
                    .map(|f| f.confirmed_at)
                    .min()
                    .unwrap_or_default(),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then_with(|| b.repos.len().cmp(&a.repos.len()))
            .then_with(|| a.package.cmp(&b.package))
    });
    out
}

/// Per repository: its critical or high findings that have a fixed version and were
/// found before `before` — how many distinct advisories, and when the oldest was found.
pub fn overdue(findings: &[Finding], before: DateTime<Utc>) -> HashMap<i64, (u64, DateTime<Utc>)> {
    let mut by_repo: HashMap<i64, (BTreeSet<&str>, DateTime<Utc>)> = HashMap::new();
    for f in findings
        .iter()
        .filter(|f| f.severity().is_serious() && f.fixed.is_some() && f.first_seen <= before)
    {
        let entry = by_repo
            .entry(f.repo_id)
            .or_insert_with(|| (BTreeSet::new(), f.first_seen));
        entry.0.insert(&f.advisory.id);
        entry.1 = entry.1.min(f.first_seen);
    }
    by_repo
        .into_iter()
        .map(|(repo, (ids, oldest))| (repo, (ids.len() as u64, oldest)))
        .collect()
}

/// Vulnerable packages by their worst severity: one day of the history.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SeverityCounts {
    pub critical: u64,
    pub high: u64,
    pub medium: u64,
    pub low: u64,
    pub unknown: u64,
}

impl SeverityCounts {
    /// Distinct vulnerable package versions of `findings`, each under its worst advisory.
    pub fn of(findings: &[Finding]) -> SeverityCounts {
        let mut worst: BTreeMap<&PackageVersion, Severity> = BTreeMap::new();
        for f in findings {
            let w = worst.entry(&f.package).or_default();
            *w = (*w).max(f.severity());
        }
        let mut counts = SeverityCounts::default();
        for severity in worst.values() {
            *counts.get_mut(*severity) += 1;
        }
        counts
    }

    fn get_mut(&mut self, severity: Severity) -> &mut u64 {
        match severity {
            Severity::Critical => &mut self.critical,
            Severity::High => &mut self.high,
            Severity::Medium => &mut self.medium,
            Severity::Low => &mut self.low,
            Severity::Unknown => &mut self.unknown,
        }
    }

    pub fn get(&self, severity: Severity) -> u64 {
        match severity {
            Severity::Critical => self.critical,
            Severity::High => self.high,
            Severity::Medium => self.medium,
            Severity::Low => self.low,
            Severity::Unknown => self.unknown,
        }
    }

    pub fn total(&self) -> u64 {
        Severity::ALL.into_iter().map(|s| self.get(s)).sum()
    }
}

/// One day of an organisation's vulnerability history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SecurityDay {
    pub day: NaiveDate,
    pub counts: SeverityCounts,
}

/// How an organisation's last vulnerability check went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecurityState {
    /// When orgpulse last asked OSV about it.
    pub checked_at: DateTime<Utc>,
    /// The oldest confirmation among its packages' results: every result is at least
    /// this fresh. `None` until every package has one.
    pub confirmed_at: Option<DateTime<Utc>>,
    /// Package versions its SBOMs list (with a version OSV can be asked about).
    pub packages: u64,
    /// Of those, ones OSV could not read, and ones it has not answered for yet.
    pub unknown: BTreeSet<PackageVersion>,
    pub unanswered: u64,
    /// Why the last check was incomplete, if it was.
    pub note: Option<String>,
    /// Vulnerable package versions by severity after the check (what the overview shows).
    #[serde(default)]
    pub counts: SeverityCounts,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(ecosystem: &str, name: &str, version: &str) -> PackageVersion {
        PackageVersion {
            ecosystem: ecosystem.into(),
            name: name.into(),
            version: version.into(),
        }
    }

    fn advisory(ecosystem: &str, name: &str, ranges: Vec<Vec<RangeEvent>>) -> Advisory {
        Advisory {
            id: "GHSA-test".into(),
            modified: Utc::now(),
            withdrawn: None,
            aliases: vec![],
            summary: None,
            rating: Rating::default(),
            affected: vec![Affected {
                ecosystem: ecosystem.into(),
                name: name.into(),
                ranges: ranges
                    .into_iter()
                    .map(|events| AffectedRange { events })
                    .collect(),
                versions: vec![],
                rating: None,
            }],
        }
    }

    use RangeEvent::{Fixed, Introduced, LastAffected};

    #[test]
    fn purls_encode_reserved_characters_per_segment() {
        assert_eq!(
            package("npm", "@babel/core", "7.22.0").purl(),
            "pkg:npm/%40babel/core@7.22.0"
        );
        assert_eq!(
            package("maven", "org.apache.logging.log4j/log4j-core", "2.14.1").purl(),
            "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
        );
        assert_eq!(
            package("golang", "golang.org/x/net", "v0.17.0").purl(),
            "pkg:golang/golang.org/x/net@v0.17.0"
        );
    }

    #[test]
    fn affected_names_match_as_each_ecosystem_compares_them() {
        let log4j = package("maven", "org.apache.logging.log4j/log4j-core", "2.14.1");
        assert!(log4j.is("Maven", "org.apache.logging.log4j:log4j-core"));
        assert!(!log4j.is("Maven", "org.apache.logging.log4j:log4j-api"));
        let pyyaml = package("pypi", "PyYAML", "5.3");
        assert!(pyyaml.is("PyPI", "pyyaml"));
        assert!(package("pypi", "zope.interface", "5.0").is("PyPI", "zope-interface"));
        assert!(!package("npm", "lodash", "4.17.20").is("PyPI", "lodash"));
        assert!(package("cargo", "time", "0.1.45").is("crates.io", "time"));
    }

    #[test]
    fn the_fix_is_the_one_closing_the_range_the_version_is_in() {
        // Jackson-databind style: one range per release line.
        let a = advisory(
            "Maven",
            "com.fasterxml.jackson.core:jackson-databind",
            vec![
                vec![Introduced("2.13.0".into()), Fixed("2.13.4.1".into())],
                vec![Introduced("0".into()), Fixed("2.12.7.1".into())],
            ],
        );
        let at = |v: &str| {
            a.fixed_for(&package(
                "maven",
                "com.fasterxml.jackson.core/jackson-databind",
                v,
            ))
        };
        assert_eq!(at("2.13.2").as_deref(), Some("2.13.4.1"));
        assert_eq!(at("2.12.6").as_deref(), Some("2.12.7.1"));
        assert_eq!(at("2.9.10").as_deref(), Some("2.12.7.1"));
        // Numbers, not strings: 2.13.10 is after 2.13.4.1.
        assert_eq!(at("2.13.10"), None);
    }

    #[test]
    fn no_fix_when_only_last_affected_is_published() {
        let a = advisory(
            "PyPI",
            "example",
            vec![vec![Introduced("0".into()), LastAffected("2.0".into())]],
        );
        assert_eq!(a.fixed_for(&package("pypi", "example", "1.5")), None);
        let b = advisory(
            "PyPI",
            "django",
            vec![vec![Introduced("4.2".into()), Fixed("4.2.10".into())]],
        );
        assert_eq!(
            b.fixed_for(&package("pypi", "Django", "4.2.9")).as_deref(),
            Some("4.2.10")
        );
        assert_eq!(
            b.fixed_for(&package("pypi", "Django", "4.2.1")).as_deref(),
            Some("4.2.10")
        );
    }

    #[test]
    fn severity_scores_the_newest_cvss_vector_else_takes_the_rating() {
        let v3 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H".to_owned();
        let r = Rating::rate(&[("CVSS_V3".into(), v3.clone())], Some("MODERATE"));
        assert_eq!(r.severity, Severity::Critical);
        assert_eq!(r.score, Some(10.0));
        let v4 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N".to_owned();
        let r = Rating::rate(
            &[("CVSS_V3".into(), v3), ("CVSS_V4".into(), v4.clone())],
            None,
        );
        assert_eq!(r.vector.as_deref(), Some(v4.as_str()));
        assert_eq!(r.severity, Severity::Medium, "{r:?}");
        let r = Rating::rate(&[("CVSS_V3".into(), "garbage".into())], Some("MODERATE"));
        assert_eq!((r.severity, r.score), (Severity::Medium, None));
        assert_eq!(Rating::rate(&[], None).severity, Severity::Unknown);
    }

    #[test]
    fn a_package_counts_once_under_its_worst_advisory() {
        let now = Utc::now();
        let f = |name: &str, severity: Severity, id: &str| Finding {
            repo_id: 1,
            package: package("npm", name, "1.0.0"),
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
            fixed: None,
            first_seen: now,
            confirmed_at: now,
        };
        let counts = SeverityCounts::of(&[
            f("a", Severity::Low, "1"),
            f("a", Severity::High, "2"),
            f("b", Severity::Medium, "3"),
        ]);
        assert_eq!((counts.high, counts.medium, counts.low), (1, 1, 0));
        assert_eq!(counts.total(), 2);
    }
}
