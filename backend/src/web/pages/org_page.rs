//! What the organisation page shows, as typed values: the header, notices, key figures,
//! charts, movers, recent changes, needs attention, badges and exports (the repository
//! table is `org_table`). A template input missing here is a compile error, not an empty
//! spot on the page.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::changes::ChangeDay;
use super::org_activity::ActivitySection;
use super::org_table::{RepoTable, TableParams};
use super::security::SecuritySection;
use super::{badge, display_name, last_refresh_text, Badge, Kpi};
use crate::domain::activity::ActivityFigures;
use crate::domain::attention::{AttentionRules, Signals};
use crate::domain::feed::path_segment;
use crate::domain::history::Mover;
use crate::domain::{ForgeInstance, ForgeKind, Forges, OrgStatus, RepoDay, StoredEvent, Totals};
use crate::store::OrgDetail;
use crate::web::badges::METRICS;
use crate::web::charts::{self, thousands, Bar, Series, ShareRow, Width};
use crate::web::insight::{self, MoversWindow, MOVER_WINDOWS};
use crate::web::range::{self, RangeLink};
use crate::web::views::{self, Freshness, LanguageMeasure};

/// Repositories the "Needs attention" section lists; the CSV has them all.
const ATTENTION_SHOWN: usize = 15;

/// Movers (and new repositories) the page lists; the API gives more.
const MOVERS_SHOWN: usize = 10;

/// What the page reads per repository besides the organisation's detail.
pub(super) struct Insight {
    /// The activity window's figures and the window before; `None`: never read.
    pub activity: Option<(ActivityFigures, ActivityFigures)>,
    pub movers: MoversWindow,
    pub sparklines: HashMap<i64, Vec<RepoDay>>,
    pub recent: Vec<StoredEvent>,
    /// What the stored activity says for the attention rules.
    pub signals: Signals,
    /// Vulnerabilities and licences.
    pub security: SecuritySection,
}

/// What `org.html` shows.
#[derive(Debug, Serialize)]
pub(super) struct OrgPage {
    org: OrgHeader,
    badge: Badge,
    last: String,
    notices: Vec<Notice>,
    /// `None` until there is a snapshot of a fetched organisation.
    kpis: Option<Vec<Kpi>>,
    ranges: Vec<RangeLink>,
    range: &'static str,
    charts: OrgCharts,
    table: RepoTable,
    movers: MoversSection,
    changes: ChangesSection,
    badges: Vec<BadgeLink>,
    exports: Exports,
    attention: AttentionSection,
    activity: ActivitySection,
    security: SecuritySection,
}

#[derive(Debug, Serialize)]
struct OrgHeader {
    id: String,
    /// The forge kind's label ("GitHub"), or the instance's name when not configured.
    forge: String,
    forge_name: String,
    forge_kind: Option<&'static str>,
    url: String,
    name: String,
    initial: String,
    color: usize,
    description: Option<String>,
    html_url: Option<String>,
    blog: Option<String>,
    location: Option<String>,
    followers: Option<String>,
    created: Option<String>,
    verified: bool,
}

/// A line above the page: `info`, `bad`, or plain.
#[derive(Debug, Serialize)]
struct Notice {
    class: &'static str,
    text: String,
}

/// Inline SVG charts, and what they show.
#[derive(Debug, Serialize)]
struct OrgCharts {
    top_repos: String,
    languages: String,
    languages_note: String,
    stars: String,
    forks: String,
    libraries: String,
    libraries_note: String,
}

#[derive(Debug, Serialize)]
struct MoversSection {
    days: u32,
    windows: Vec<WindowLink>,
    note: Option<String>,
    /// What the section says when nothing moved.
    empty: &'static str,
    moved: Vec<MoverRow>,
    more: usize,
    new: Vec<MoverRow>,
    more_new: usize,
    json: String,
}

#[derive(Debug, Serialize)]
struct WindowLink {
    days: u32,
    url: String,
    current: bool,
}

#[derive(Debug, Serialize)]
struct MoverRow {
    name: String,
    url: String,
    start: Option<String>,
    end: String,
    gained: Option<String>,
    /// `up`, `down` or `none`.
    class: &'static str,
    percent: Option<String>,
}

#[derive(Debug, Serialize)]
struct ChangesSection {
    days: Vec<ChangeDay>,
    all: String,
    feed: String,
}

#[derive(Debug, Serialize)]
struct BadgeLink {
    metric: &'static str,
    url: String,
}

#[derive(Debug, Serialize)]
struct Exports {
    csv: String,
    history_csv: String,
    libraries_csv: String,
    /// The dependency licence inventory.
    licenses: String,
    licenses_csv: String,
    json: String,
}

#[derive(Debug, Serialize)]
struct AttentionSection {
    rows: Vec<AttentionRow>,
    total: usize,
    more: usize,
    checked: usize,
    exempt: usize,
    topic: String,
    stale_days: u32,
    as_of: String,
    /// What this forge does not report ("licences or sizes"), when anything.
    not_reported: Option<String>,
    csv: String,
    json: String,
}

#[derive(Debug, Serialize)]
struct AttentionRow {
    name: String,
    url: String,
    fork: bool,
    archived: bool,
    reasons: Vec<ReasonView>,
    activity: Option<String>,
    stars: String,
}

#[derive(Debug, Serialize)]
struct ReasonView {
    key: &'static str,
    text: String,
}

/// The "Needs attention" section: the first repositories flagged, and what was judged how.
fn attention_section(
    detail: &OrgDetail,
    forges: &Forges,
    rules: &AttentionRules,
    signals: &Signals,
) -> AttentionSection {
    let (found, as_of) = insight::attention(detail, forges, rules, signals);
    let base_url = format!("/orgs/{}/{}", detail.org.forge(), detail.org.login());
    let rows = found
        .flagged
        .iter()
        .take(ATTENTION_SHOWN)
        .map(|f| {
            let l = &f.repo.listing;
            AttentionRow {
                name: l.name.clone(),
                url: format!("{base_url}/repos/{}", path_segment(&l.name)),
                fork: l.fork,
                archived: l.archived,
                reasons: f
                    .reasons
                    .iter()
                    .map(|r| ReasonView {
                        key: r.as_str(),
                        text: r.to_string(),
                    })
                    .collect(),
                activity: l.activity_at().map(|t| t.format("%Y-%m-%d").to_string()),
                stars: thousands(l.stars),
            }
        })
        .collect();
    let not_reported: Vec<&str> = found
        .not_reported
        .iter()
        .map(|rule| match *rule {
            "no_license" => "licences",
            "empty" => "sizes",
            other => other,
        })
        .collect();
    AttentionSection {
        rows,
        total: found.flagged.len(),
        more: found.flagged.len().saturating_sub(ATTENTION_SHOWN),
        checked: found.checked,
        exempt: found.exempt,
        topic: rules.exempt_topic.clone(),
        stale_days: rules.stale_days,
        as_of: views::when(as_of),
        not_reported: (!not_reported.is_empty()).then(|| not_reported.join(" or ")),
        csv: format!("/api/v1{base_url}/attention.csv"),
        json: format!("/api/v1{base_url}/attention"),
    }
}

/// The movers section: the window's links, the gainers and the new repositories.
fn movers_section(
    w: &MoversWindow,
    detail: &OrgDetail,
    base_url: &str,
    table: &TableParams,
) -> MoversSection {
    let by_id = insight::by_id(detail);
    let row = |m: &Mover| {
        let name = by_id
            .get(&m.repo_id)
            .map_or_else(|| m.repo_id.to_string(), |r| r.listing.name.clone());
        MoverRow {
            url: format!("{base_url}/repos/{}", path_segment(&name)),
            name,
            start: m.start.map(thousands),
            end: thousands(m.end),
            gained: m.gained().map(charts::signed),
            class: match m.gained().map(i64::signum) {
                Some(1) => "up",
                Some(-1) => "down",
                _ => "none",
            },
            percent: m.percent().map(|p| format!("{p:+.1} %")),
        }
    };
    let windows = MOVER_WINDOWS
        .iter()
        .map(|d| WindowLink {
            days: *d,
            url: table.with_movers(base_url, *d),
            current: *d == w.days,
        })
        .collect();
    let (note, empty) = match (w.since, w.until) {
        (Some(since), Some(until)) if since == until => {
            (None, "Movers appear once there are two days of history.")
        }
        (Some(since), Some(until)) if !w.complete => (
            Some(format!(
                "The history is not {} days deep yet: changes from {since} to {until}.",
                w.days
            )),
            "No repository's stars moved in this window.",
        ),
        (Some(since), Some(until)) => (
            Some(format!("Changes from {since} to {until}.")),
            "No repository's stars moved in this window.",
        ),
        _ => (
            None,
            "No history yet: movers appear once there are two days of it.",
        ),
    };
    MoversSection {
        days: w.days,
        windows,
        note,
        empty,
        moved: w.moved.iter().take(MOVERS_SHOWN).map(row).collect(),
        more: w.moved.len().saturating_sub(MOVERS_SHOWN),
        new: w.new.iter().take(MOVERS_SHOWN).map(row).collect(),
        more_new: w.new.len().saturating_sub(MOVERS_SHOWN),
        json: format!("/api/v1{base_url}/movers?days={}", w.days),
    }
}

/// `forge` is the organisation's forge, `None` when it is no longer configured.
pub(super) fn org_page(
    detail: &OrgDetail,
    forges: &Forges,
    rules: &AttentionRules,
    table: &TableParams,
    insight: &Insight,
    now: DateTime<Utc>,
) -> OrgPage {
    let forge: Option<&ForgeInstance> = forges.of(&detail.org);
    let id = &detail.org;
    let profile = detail.record.as_ref().map(|r| &r.profile);
    let name = display_name(id, profile.and_then(|p| p.name.as_deref()));
    let (initial, color) = views::monogram(id, &name);
    let outcome = detail.last_outcome.as_ref();
    let freshness = Freshness::of(outcome, detail.last_success_at, now);
    let base_url = format!("/orgs/{}", id.url_path());
    let kind = forge.map(|f| f.kind);
    let token = forge.map_or("GITHUB_TOKEN", |f| f.token_env.as_str());

    let mut notices = Vec::new();
    if detail.tracked_since.is_none() {
        notices.push(Notice {
            class: "info",
            text: format!(
                "{id} is no longer tracked; this is the data kept from its last refresh."
            ),
        });
    }
    match (outcome, detail.record.as_ref()) {
        (Some(o), record) if !o.status.stored() => {
            let reason = o.message.clone().unwrap_or_else(|| o.status.to_string());
            let kept = match record {
                Some(r) => format!(
                    " Showing the last good data, from {}.",
                    views::when(r.fetched_at)
                ),
                None => String::new(),
            };
            let what = if o.status == OrgStatus::NotFound {
                format!(
                    "At the last refresh ({}) the forge did not know {id}: {}.",
                    views::when(o.finished_at),
                    o.message
                        .as_deref()
                        .unwrap_or("it may have been renamed or deleted")
                )
            } else {
                format!(
                    "The last refresh ({}) failed: {reason}.",
                    views::when(o.finished_at)
                )
            };
            notices.push(Notice {
                class: "bad",
                text: format!("{what}{kept}"),
            });
        }
        (Some(o), _) if o.status == OrgStatus::Partial => {
            notices.push(Notice {
                class: "",
                text: format!(
                    "The last refresh was partial: {}.",
                    o.message
                        .as_deref()
                        .unwrap_or("some details were not fetched")
                ),
            });
        }
        _ => {}
    }
    if detail.record.is_none() {
        notices.push(Notice { class: "info", text: format!("{id} has not been fetched yet. It is fetched on the next refresh; run `orgpulse refresh --org {id}` to fetch it now.") });
    }

    let live: Vec<&crate::domain::RepoRecord> = detail
        .repos
        .iter()
        .filter(|r| r.gone_since.is_none())
        .collect();
    let issues_label = kind.unwrap_or(ForgeKind::GitHub).open_issues_label();
    let kpis = (!detail.history.is_empty() && detail.record.is_some()).then(|| {
        let latest = &detail.history[detail.history.len() - 1].totals;
        let kpi = |label: &str, pick: fn(&Totals) -> u64| {
            let points: Vec<_> = detail
                .history
                .iter()
                .map(|d| (d.day, Some(pick(&d.totals))))
                .collect();
            Kpi {
                label: label.to_owned(),
                value: thousands(pick(latest)),
                deltas: range::delta_cells(&points, table.range),
            }
        };
        vec![
            kpi("Repositories", |t| t.repos),
            kpi("Stars", |t| t.stars),
            kpi("Forks", |t| t.forks),
            kpi(issues_label, |t| t.open_issues),
        ]
    });
    let shown = table.range.keep(&detail.history, |d| d.day);

    // Charts.
    let mut by_stars = live.clone();
    by_stars.sort_by(|a, b| {
        b.listing
            .stars
            .cmp(&a.listing.stars)
            .then(a.listing.id.cmp(&b.listing.id))
    });
    let top_repos: Vec<Bar> = by_stars
        .iter()
        .take(12)
        .map(|r| Bar {
            label: r.listing.name.clone(),
            value: r.listing.stars,
            href: r.listing.html_url.clone(),
        })
        .collect();
    let (language_chart, language_note) = match detail.history.last() {
        Some(day) => {
            let (measure, mix) = views::language_mix(day);
            let row = ShareRow {
                label: name.clone(),
                parts: mix.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            };
            let (unit, note) = match measure {
                LanguageMeasure::Bytes if kind.is_some_and(|k| !k.languages_in_bytes()) => ("share", "Average share per language over the projects whose languages are known: GitLab reports each project's languages as percentages, not bytes.".to_owned()),
                LanguageMeasure::Bytes => ("bytes", "Share of code bytes per language, over all live repositories.".to_owned()),
                LanguageMeasure::Repos => ("repos", format!("Share of repositories by primary language. Languages per repository are fetched when {token} is set.")),
            };
            (
                charts::shares("languages", "Language share", &[row], unit),
                note,
            )
        }
        None => (
            charts::shares("languages", "Language share", &[], "bytes"),
            String::new(),
        ),
    };
    let stars = Series {
        name: "Stars".into(),
        points: shown
            .iter()
            .map(|d| (d.day, Some(d.totals.stars)))
            .collect(),
    };
    let forks = Series {
        name: "Forks".into(),
        points: shown
            .iter()
            .map(|d| (d.day, Some(d.totals.forks)))
            .collect(),
    };
    let libraries: Vec<Bar> = detail
        .libraries
        .iter()
        .take(15)
        .map(|l| Bar {
            label: format!("{} ({})", l.name, l.ecosystem),
            value: l.repos,
            href: None,
        })
        .collect();
    let mut ecosystems: Vec<(String, usize)> = Vec::new();
    for l in &detail.libraries {
        match ecosystems.iter_mut().find(|(e, _)| *e == l.ecosystem) {
            Some((_, n)) => *n += 1,
            None => ecosystems.push((l.ecosystem.clone(), 1)),
        }
    }
    let libraries_note = if detail.libraries.is_empty() {
        match kind {
            Some(ForgeKind::Gitea | ForgeKind::Forgejo) => "Gitea and Forgejo serve no dependency data.".to_owned(),
            Some(ForgeKind::GitLab) => format!("No dependency data: GitLab serves a project's dependency list on Ultimate instances only, and to a token ({token})."),
            _ => format!("No dependency data yet: libraries come from each repository's dependency-graph SBOM, fetched when {token} is set."),
        }
    } else {
        format!(
            "Repositories using each library, from dependency-graph SBOMs. Distinct libraries by ecosystem: {}.",
            ecosystems.iter().map(|(e, n)| format!("{e} {n}")).collect::<Vec<_>>().join(", ")
        )
    };

    OrgPage {
        org: OrgHeader {
            id: id.to_string(),
            forge: kind.map_or_else(|| id.forge().to_string(), |k| k.label().to_owned()),
            forge_name: id.forge().as_str().to_owned(),
            forge_kind: kind.map(ForgeKind::as_str),
            url: base_url.clone(),
            name,
            initial,
            color,
            description: profile.and_then(|p| p.description.clone()),
            html_url: profile.and_then(|p| p.html_url.clone()),
            blog: profile
                .and_then(|p| p.blog.clone())
                .filter(|b| b.starts_with("http")),
            location: profile.and_then(|p| p.location.clone()),
            followers: profile.and_then(|p| p.followers).map(thousands),
            created: profile
                .and_then(|p| p.created_at)
                .map(|t| t.format("%Y").to_string()),
            verified: profile.and_then(|p| p.is_verified).unwrap_or(false),
        },
        badge: badge(freshness, outcome, detail.last_success_at),
        last: last_refresh_text(outcome, now),
        notices,
        kpis,
        ranges: table.range.links(|r| table.with_range(&base_url, r)),
        range: table.range.label(),
        charts: OrgCharts {
            top_repos: charts::bars(
                "top-repos",
                "Top repositories by stars",
                &top_repos,
                "stars",
                Width::Panel,
            ),
            languages: language_chart,
            languages_note: language_note,
            stars: charts::lines("stars", "Stars over time", &[stars], "stars", Width::Panel),
            forks: charts::lines("forks", "Forks over time", &[forks], "forks", Width::Panel),
            libraries: charts::bars(
                "libraries",
                "Most-used libraries",
                &libraries,
                "repositories",
                Width::Wide,
            ),
            libraries_note,
        },
        table: table.context(detail, kind, &insight.sparklines, &base_url),
        movers: movers_section(&insight.movers, detail, &base_url, table),
        changes: ChangesSection {
            days: super::changes::by_day(&insight.recent),
            all: format!(
                "/changes?org={}",
                url::form_urlencoded::byte_serialize(id.to_string().as_bytes()).collect::<String>()
            ),
            feed: format!("{base_url}/feed.atom"),
        },
        badges: METRICS
            .iter()
            .map(|m| BadgeLink {
                metric: m,
                url: format!("/badge/{}/{}/{m}.svg", id.forge(), id.login()),
            })
            .collect(),
        exports: Exports {
            csv: format!("/api/v1{base_url}/repos.csv"),
            history_csv: format!("/api/v1{base_url}/history.csv"),
            libraries_csv: format!("/api/v1{base_url}/libraries.csv"),
            licenses: format!("/api/v1{base_url}/licenses"),
            licenses_csv: format!("/api/v1{base_url}/licenses.csv"),
            json: format!("/api/v1{base_url}/repos"),
        },
        attention: attention_section(detail, forges, rules, &insight.signals),
        activity: super::org_activity::section(
            insight.activity.clone(),
            format!("/api/v1{base_url}/activity"),
            false,
        ),
        security: insight.security.clone(),
    }
}
