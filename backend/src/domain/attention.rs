//! Needs attention: the repositories of an organisation that look neglected, from what is
//! already stored (no request of its own).
//!
//! Each rule reads one listing field, and a rule the forge cannot answer is left out
//! rather than flagging everything: GitLab's listing has no licence and no size, and
//! older Gitea/Forgejo servers list no licences (an organisation where none of the
//! repositories has one is taken as such a server). Activity is the last push on GitHub
//! and the last update elsewhere (GitLab and Gitea/Forgejo report no push time, and their
//! update time also moves on settings edits), so "no activity" can only be shorter there.
//! Archived repositories are retired on purpose: only open issues left behind in them count.
//!
//! Where the default branch's last commit is known (GitHub's GraphQL details), it is the
//! activity time instead: bots (dependency updaters) push branches that move `pushed_at`
//! without any work landing. Where the activity sync ran, its signals add three rules:
//! items waiting for a first response, no release lately (from the stored releases as well
//! as the details), and one author carrying most of the merged pull requests; the stored
//! SBOMs add dependencies under a denied licence, and OSV's findings on them critical or
//! high vulnerabilities left unfixed although a fixed version exists.

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, Utc};

use super::licenses::DeniedLicenses;
use super::{ForgeKind, RepoRecord};

/// The default of `ORGPULSE_STALE_DAYS`.
pub const DEFAULT_STALE_DAYS: u32 = 365;
/// The default of `ORGPULSE_RELEASE_DAYS`.
pub const DEFAULT_RELEASE_DAYS: u32 = 365;
/// The default of `ORGPULSE_RESPONSE_DAYS`.
pub const DEFAULT_RESPONSE_DAYS: u32 = 14;
/// The default of `ORGPULSE_VULN_DAYS`.
pub const DEFAULT_VULN_DAYS: u32 = 30;
/// Merged pull requests a repository needs in the bus-factor window before one author's
/// share of them says anything.
pub const BUS_FACTOR_MIN_MERGED: u64 = 5;
/// The default of `ORGPULSE_ATTENTION_EXEMPT_TOPIC`.
pub const DEFAULT_EXEMPT_TOPIC: &str = "orgpulse-keep";

/// What counts as needing attention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttentionRules {
    /// No activity for this many days makes a repository stale.
    pub stale_days: u32,
    /// Repositories with this topic are never listed.
    pub exempt_topic: String,
    /// A repository whose latest release is this many days old has not released lately;
    /// `None` turns the rule off. Repositories that never released are not counted.
    pub release_days: Option<u32>,
    /// An open item with no first response this many days after it was opened is waiting
    /// too long; `None` turns the rule off.
    pub response_days: Option<u32>,
    /// A critical or high vulnerability with a fixed version, found this many days ago or
    /// more, needs fixing; `None` turns the rule off.
    pub vuln_days: Option<u32>,
    /// Licences a repository's dependencies must not need (none: the rule is off).
    pub denied_licenses: DeniedLicenses,
}

impl Default for AttentionRules {
    fn default() -> Self {
        AttentionRules {
            stale_days: DEFAULT_STALE_DAYS,
            exempt_topic: DEFAULT_EXEMPT_TOPIC.to_owned(),
            release_days: Some(DEFAULT_RELEASE_DAYS),
            response_days: Some(DEFAULT_RESPONSE_DAYS),
            vuln_days: Some(DEFAULT_VULN_DAYS),
            denied_licenses: DeniedLicenses::default(),
        }
    }
}

/// What the stored activity and SBOMs say of each repository (by id), for the rules that
/// read them; empty where the activity sync never ran and no licence is denied.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Signals {
    /// The latest stored release.
    pub latest_release: HashMap<i64, DateTime<Utc>>,
    /// Open items without a first response opened before the response limit: how many,
    /// and when the oldest was opened.
    pub waiting: HashMap<i64, (u64, DateTime<Utc>)>,
    /// Repositories where one author merged more than half of at least
    /// [`BUS_FACTOR_MIN_MERGED`] pull requests in the last 90 days: that author.
    pub single_author: HashMap<i64, String>,
    /// Packages whose licence cannot be satisfied without a denied one, per repository.
    pub denied_packages: HashMap<i64, u64>,
    /// Critical or high vulnerabilities with a fixed version that were found before the
    /// vulnerability limit, per repository: how many, and when the oldest was found.
    pub overdue_vulnerabilities: HashMap<i64, (u64, DateTime<Utc>)>,
}

/// Why a repository needs attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// No activity for this many days (or never any recorded).
    Stale {
        days: Option<i64>,
    },
    NoLicense,
    NoDescription,
    /// Size 0: nothing was ever pushed.
    Empty,
    /// Archived, with this many open issues (and, on GitHub and Gitea/Forgejo, pull
    /// requests) left.
    ArchivedWithOpenIssues {
        open: u64,
    },
    /// The latest release is this many days old (known where GitHub's GraphQL details
    /// were fetched; repositories that never released are left alone).
    NoRecentRelease {
        days: i64,
    },
    /// Open items waiting for a first response: how many, and the oldest's age in days.
    WaitingForResponse {
        items: u64,
        days: i64,
    },
    /// One author merged more than half of the recent pull requests.
    BusFactorOne,
    /// This many of its dependencies need a licence of `ORGPULSE_DENIED_LICENSES`.
    DeniedLicense {
        packages: u64,
    },
    /// Critical or high vulnerabilities with a fixed version, the oldest found this many
    /// days ago.
    UnfixedVulnerability {
        advisories: u64,
        days: i64,
    },
}

impl Reason {
    /// The name the API and the CSV use.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Stale { .. } => "stale",
            Reason::NoLicense => "no_license",
            Reason::NoDescription => "no_description",
            Reason::Empty => "empty",
            Reason::ArchivedWithOpenIssues { .. } => "archived_with_open_issues",
            Reason::NoRecentRelease { .. } => "no_recent_release",
            Reason::WaitingForResponse { .. } => "waiting_for_response",
            Reason::BusFactorOne => "bus_factor_one",
            Reason::DeniedLicense { .. } => "denied_license",
            Reason::UnfixedVulnerability { .. } => "unfixed_vulnerability",
        }
    }

    /// Every reason's name, for the API's documentation.
    pub const NAMES: [&'static str; 10] = [
        "stale",
        "no_license",
        "no_description",
        "empty",
        "archived_with_open_issues",
        "no_recent_release",
        "waiting_for_response",
        "bus_factor_one",
        "denied_license",
        "unfixed_vulnerability",
    ];
}

impl fmt::Display for Reason {
    /// For people: "no activity for 400 days", "archived with 3 open issues and PRs".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Stale { days: Some(days) } => write!(f, "no activity for {days} days"),
            Reason::Stale { days: None } => f.write_str("no activity recorded"),
            Reason::NoLicense => f.write_str("no licence"),
            Reason::NoDescription => f.write_str("no description"),
            Reason::Empty => f.write_str("empty"),
            Reason::ArchivedWithOpenIssues { open } => write!(
                f,
                "archived with {open} open issue{} and PR{}",
                if *open == 1 { "" } else { "s" },
                if *open == 1 { "" } else { "s" }
            ),
            Reason::NoRecentRelease { days } => write!(f, "no release for {days} days"),
            Reason::WaitingForResponse { items, days } => write!(
                f,
                "{items} item{} waiting for a first response, the oldest {days} days",
                if *items == 1 { "" } else { "s" }
            ),
            Reason::BusFactorOne => {
                f.write_str("one author merged most pull requests of the last 90 days")
            }
            Reason::DeniedLicense { packages } => write!(
                f,
                "{packages} dependenc{} under a denied licence",
                if *packages == 1 { "y" } else { "ies" }
            ),
            Reason::UnfixedVulnerability { advisories, days } => write!(
                f,
                "{advisories} critical or high vulnerabilit{} with a fix available, the oldest found {days} days ago",
                if *advisories == 1 { "y" } else { "ies" }
            ),
        }
    }
}

/// One repository that needs attention.
#[derive(Debug, Clone, PartialEq)]
pub struct Flagged<'a> {
    pub repo: &'a RepoRecord,
    pub reasons: Vec<Reason>,
}

/// What the rules found in one organisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Attention<'a> {
    /// Most reasons first, then most stars, then by name.
    pub flagged: Vec<Flagged<'a>>,
    /// Live repositories carrying the exempt topic.
    pub exempt: usize,
    /// Live repositories looked at (exempt ones included).
    pub checked: usize,
    /// Rules left out because the forge does not report what they read.
    pub not_reported: Vec<&'static str>,
}

/// Applies `rules` to `repos` (gone ones are skipped) of an organisation on a `kind`
/// forge, at `now`, with what its stored activity says (`signals`).
pub fn attention<'a>(
    repos: &'a [RepoRecord],
    kind: ForgeKind,
    rules: &AttentionRules,
    signals: &Signals,
    now: DateTime<Utc>,
) -> Attention<'a> {
    let live: Vec<&RepoRecord> = repos.iter().filter(|r| r.gone_since.is_none()).collect();
    let licences_listed = match kind {
        ForgeKind::GitHub => true,
        ForgeKind::GitLab => false,
        // Older servers list none: one repository with a licence shows this one does.
        ForgeKind::Gitea | ForgeKind::Forgejo => live.iter().any(|r| r.listing.license.is_some()),
    };
    let sizes_listed = kind != ForgeKind::GitLab;
    let mut not_reported = Vec::new();
    if !licences_listed {
        not_reported.push(Reason::NoLicense.as_str());
    }
    if !sizes_listed {
        not_reported.push(Reason::Empty.as_str());
    }
    let mut exempt = 0;
    let mut flagged = Vec::new();
    for repo in &live {
        let l = &repo.listing;
        if l.topics
            .iter()
            .any(|t| t.eq_ignore_ascii_case(&rules.exempt_topic))
        {
            exempt += 1;
            continue;
        }
        let mut reasons = Vec::new();
        if l.archived {
            if let Some(open) = l.open_issues.filter(|n| *n > 0) {
                reasons.push(Reason::ArchivedWithOpenIssues { open });
            }
        } else {
            let last_commit = repo.details.as_ref().and_then(|d| d.last_commit_at);
            let idle = last_commit
                .or(l.activity_at())
                .map(|at| (now - at).num_days());
            if idle.is_none_or(|days| days >= i64::from(rules.stale_days)) {
                reasons.push(Reason::Stale { days: idle });
            }
            if licences_listed && l.license.is_none() {
                reasons.push(Reason::NoLicense);
            }
            if l.description.is_none() {
                reasons.push(Reason::NoDescription);
            }
            if sizes_listed && l.size_kb == 0 {
                reasons.push(Reason::Empty);
            }
            let released = repo
                .details
                .as_ref()
                .and_then(|d| d.latest_release.as_ref())
                .and_then(|r| r.published_at)
                .max(signals.latest_release.get(&l.id).copied());
            if let (Some(limit), Some(at)) = (rules.release_days, released) {
                let days = (now - at).num_days();
                if days >= i64::from(limit) {
                    reasons.push(Reason::NoRecentRelease { days });
                }
            }
            if let (Some(_), Some((items, oldest))) =
                (rules.response_days, signals.waiting.get(&l.id))
            {
                reasons.push(Reason::WaitingForResponse {
                    items: *items,
                    days: (now - *oldest).num_days(),
                });
            }
            if signals.single_author.contains_key(&l.id) {
                reasons.push(Reason::BusFactorOne);
            }
            if let Some(packages) = signals.denied_packages.get(&l.id) {
                reasons.push(Reason::DeniedLicense {
                    packages: *packages,
                });
            }
            if let (Some(_), Some((advisories, oldest))) =
                (rules.vuln_days, signals.overdue_vulnerabilities.get(&l.id))
            {
                reasons.push(Reason::UnfixedVulnerability {
                    advisories: *advisories,
                    days: (now - *oldest).num_days(),
                });
            }
        }
        if !reasons.is_empty() {
            flagged.push(Flagged { repo, reasons });
        }
    }
    flagged.sort_by(|a, b| {
        b.reasons
            .len()
            .cmp(&a.reasons.len())
            .then(b.repo.listing.stars.cmp(&a.repo.listing.stars))
            .then_with(|| a.repo.listing.name.cmp(&b.repo.listing.name))
    });
    Attention {
        flagged,
        exempt,
        checked: live.len(),
        not_reported,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::test_repo;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("time")
    }

    /// No activity signals: the sync never ran.
    static NONE: std::sync::LazyLock<Signals> = std::sync::LazyLock::new(Signals::default);

    /// A tidy repository pushed to on `pushed`.
    fn tidy(id: i64, name: &str, stars: u64, pushed: &str) -> RepoRecord {
        let mut r = test_repo(id, name, stars);
        r.listing.description = Some("does things".into());
        r.listing.size_kb = 120;
        r.listing.pushed_at = Some(at(pushed));
        r
    }

    fn reasons(found: &Attention<'_>) -> Vec<(String, Vec<String>)> {
        found
            .flagged
            .iter()
            .map(|f| {
                (
                    f.repo.listing.name.clone(),
                    f.reasons.iter().map(ToString::to_string).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn an_old_release_is_flagged_and_never_releasing_is_not() {
        use crate::domain::{Release, RepoDetails};
        let now = at("2026-06-01T00:00:00Z");
        let details = |published: Option<&str>| RepoDetails {
            open_issues: 0,
            open_pull_requests: 0,
            latest_release: published.map(|p| Release {
                tag: "v1".into(),
                published_at: Some(at(p)),
            }),
            last_commit_at: None,
            license: None,
            topics: Vec::new(),
        };
        let mut old = tidy(1, "old", 1, "2026-05-01T00:00:00Z");
        old.listing.license = Some("MIT".into());
        old.details = Some(details(Some("2025-01-01T00:00:00Z")));
        let mut recent = old.clone();
        recent.listing.name = "recent".into();
        recent.details = Some(details(Some("2026-05-01T00:00:00Z")));
        let mut never = old.clone();
        never.listing.name = "never".into();
        never.details = Some(details(None));
        let mut unknown = old.clone();
        unknown.listing.name = "unknown".into();
        unknown.details = None;
        let repos = [old, recent, never, unknown];
        let found = attention(
            &repos,
            ForgeKind::GitHub,
            &AttentionRules::default(),
            &NONE,
            now,
        );
        assert_eq!(
            reasons(&found),
            [("old".to_owned(), vec!["no release for 516 days".to_owned()])]
        );
        let off = AttentionRules {
            release_days: None,
            ..AttentionRules::default()
        };
        assert!(attention(&repos, ForgeKind::GitHub, &off, &NONE, now)
            .flagged
            .is_empty());
    }

    #[test]
    fn each_rule_flags_what_it_reads_and_the_worst_come_first() {
        let now = at("2026-06-01T00:00:00Z");
        let mut stale = tidy(1, "stale", 5, "2025-05-01T00:00:00Z");
        stale.listing.license = None;
        let fresh = tidy(2, "fresh", 900, "2026-05-30T00:00:00Z");
        let mut bare = tidy(3, "bare", 50, "2026-05-30T00:00:00Z");
        bare.listing.description = None;
        bare.listing.size_kb = 0;
        bare.listing.fork = true;
        let mut retired = tidy(4, "retired", 1, "2020-01-01T00:00:00Z");
        retired.listing.archived = true;
        retired.listing.open_issues = Some(3);
        retired.listing.license = None;
        let mut tidy_archive = tidy(5, "tidy-archive", 1, "2020-01-01T00:00:00Z");
        tidy_archive.listing.archived = true;
        let mut kept = tidy(6, "kept", 1, "2019-01-01T00:00:00Z");
        kept.listing.topics = vec!["Orgpulse-Keep".into()];
        let mut gone = tidy(7, "gone", 1, "2019-01-01T00:00:00Z");
        gone.gone_since = Some("2026-05-01".parse().expect("day"));
        let mut never = tidy(8, "never", 0, "2026-01-01T00:00:00Z");
        never.listing.pushed_at = None;
        let repos = [stale, fresh, bare, retired, tidy_archive, kept, gone, never];

        let found = attention(
            &repos,
            ForgeKind::GitHub,
            &AttentionRules::default(),
            &NONE,
            now,
        );
        assert_eq!(
            reasons(&found),
            [
                ("bare".into(), vec!["no description".into(), "empty".into()]),
                (
                    "stale".into(),
                    vec!["no activity for 396 days".into(), "no licence".into()]
                ),
                (
                    "retired".into(),
                    vec!["archived with 3 open issues and PRs".into()]
                ),
                ("never".into(), vec!["no activity recorded".into()]),
            ],
            "most reasons first, then most stars; archived only for open issues"
        );
        assert_eq!(
            (found.exempt, found.checked),
            (1, 7),
            "gone ones are not checked"
        );
        assert!(found.not_reported.is_empty());
        assert!(
            found.flagged[0].repo.listing.fork,
            "forks are flagged as such"
        );

        let strict = AttentionRules {
            release_days: None,
            response_days: None,
            vuln_days: None,
            denied_licenses: DeniedLicenses::default(),
            stale_days: 1,
            exempt_topic: "none".into(),
        };
        let found = attention(&repos, ForgeKind::GitHub, &strict, &NONE, now);
        assert!(found.flagged.iter().any(|f| f.repo.listing.name == "kept"));
        assert!(found.flagged.iter().any(|f| f.repo.listing.name == "fresh"));
    }

    #[test]
    fn rules_the_forge_cannot_answer_are_left_out() {
        let now = at("2026-06-01T00:00:00Z");
        let mut a = tidy(1, "a", 1, "2026-05-30T00:00:00Z");
        a.listing.license = None;
        a.listing.size_kb = 0; // GitLab lists no size
        let found = attention(
            std::slice::from_ref(&a),
            ForgeKind::GitLab,
            &AttentionRules::default(),
            &NONE,
            now,
        );
        assert!(found.flagged.is_empty(), "{:?}", reasons(&found));
        assert_eq!(found.not_reported, ["no_license", "empty"]);

        // An old Gitea lists no licences at all; a newer one lists some.
        a.listing.size_kb = 10;
        let found = attention(
            std::slice::from_ref(&a),
            ForgeKind::Forgejo,
            &AttentionRules::default(),
            &NONE,
            now,
        );
        assert_eq!(
            (found.flagged.len(), found.not_reported.clone()),
            (0, vec!["no_license"])
        );
        let mut b = tidy(2, "b", 1, "2026-05-30T00:00:00Z");
        b.listing.license = Some("MIT".into());
        let both = [a, b];
        let found = attention(
            &both,
            ForgeKind::Gitea,
            &AttentionRules::default(),
            &NONE,
            now,
        );
        assert_eq!(reasons(&found), [("a".into(), vec!["no licence".into()])]);
    }

    #[test]
    fn attention_signals_flag_waiting_items_stored_releases_and_a_single_author() {
        use crate::domain::RepoDetails;
        let now = at("2026-06-01T00:00:00Z");
        let mut repos: Vec<RepoRecord> = (1..=5)
            .map(|id| {
                let mut r = tidy(id, &format!("r{id}"), 1, "2026-05-30T00:00:00Z");
                r.listing.license = Some("MIT".into());
                r
            })
            .collect();
        // r4's listing moved yesterday, but only a bot's branch did: its last commit is
        // two years old.
        repos[3].details = Some(RepoDetails {
            open_issues: 0,
            open_pull_requests: 0,
            latest_release: None,
            last_commit_at: Some(at("2024-05-01T00:00:00Z")),
            license: None,
            topics: Vec::new(),
        });
        let signals = Signals {
            latest_release: HashMap::from([(2, at("2025-03-01T00:00:00Z"))]),
            waiting: HashMap::from([(1, (3, at("2026-04-01T00:00:00Z")))]),
            single_author: HashMap::from([(3, "ann".to_owned())]),
            denied_packages: HashMap::from([(4, 2)]),
            overdue_vulnerabilities: HashMap::from([(5, (2, at("2026-04-01T00:00:00Z")))]),
        };
        let found = attention(
            &repos,
            ForgeKind::GitHub,
            &AttentionRules::default(),
            &signals,
            now,
        );
        let mut got = reasons(&found);
        got.sort();
        assert_eq!(
            got,
            [
                (
                    "r1".to_owned(),
                    vec!["3 items waiting for a first response, the oldest 61 days".to_owned()]
                ),
                ("r2".to_owned(), vec!["no release for 457 days".to_owned()]),
                (
                    "r3".to_owned(),
                    vec!["one author merged most pull requests of the last 90 days".to_owned()]
                ),
                (
                    "r4".to_owned(),
                    vec![
                        "no activity for 761 days".to_owned(),
                        "2 dependencies under a denied licence".to_owned()
                    ]
                ),
                (
                    "r5".to_owned(),
                    vec!["2 critical or high vulnerabilities with a fix available, the oldest found 61 days ago".to_owned()]
                ),
            ]
        );
        let off = AttentionRules {
            response_days: None,
            release_days: None,
            vuln_days: None,
            ..AttentionRules::default()
        };
        let found = attention(&repos, ForgeKind::GitHub, &off, &signals, now);
        assert_eq!(found.flagged.len(), 2, "{:?}", reasons(&found));
    }
}
