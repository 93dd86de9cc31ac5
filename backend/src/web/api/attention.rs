//! Needs attention: an organisation's repositories that look neglected, as JSON and CSV.

use super::{json_body, known, AttentionItem, AttentionList};
use crate::domain::attention::Flagged;
use crate::domain::{ForgeKind, OpenCounts};
use crate::web::cache::{CachedGet, Conditional, Scope};
use crate::web::error::{ApiError, ErrorBody};
use crate::web::extract::OrgPath;
use crate::web::insight;
use chrono::{DateTime, Utc};

/// The CSV's columns, in order.
pub(crate) const ATTENTION_CSV_COLUMNS: [&str; 12] = [
    "id",
    "name",
    "html_url",
    "reasons",
    "summary",
    "fork",
    "archived",
    "stars",
    "open_issues",
    "open_issues_and_pull_requests",
    "last_activity_at",
    "days_inactive",
];

/// The live repositories that need attention, each with its reasons, most reasons first:
/// no activity for `ORGPULSE_STALE_DAYS` (the default branch's last commit where known),
/// no licence, no description, empty, archived with open issues, no release in
/// `ORGPULSE_RELEASE_DAYS`, items waiting `ORGPULSE_RESPONSE_DAYS` for a first response,
/// one author merging most recent pull requests. Repositories with the `ORGPULSE_ATTENTION_EXEMPT_TOPIC` topic are left
/// out; so are rules the forge cannot answer (`not_reported`). Judged as of the last
/// stored listing.
#[utoipa::path(get, path = "/api/v1/orgs/{forge}/{login}/attention", tag = "repositories",
    params(OrgPath),
    responses(
        (status = 200, description = "The repositories that need attention", body = AttentionList),
        (status = 404, description = "Unknown organisation", body = ErrorBody)))]
#[rocket::get("/orgs/<_>/<_>/attention")]
pub(crate) async fn list_attention(
    get: CachedGet<'_>,
    org: OrgPath,
) -> Result<Conditional, ApiError> {
    let org = org.0;
    get.answer(Scope::Org(org.clone()), || async {
        let detail = known(&get, &org).await?;
        let rules = &get.state.attention;
        let signals = insight::attention_signals(get.state.store.as_ref(), &detail, rules).await?;
        let (found, as_of) = insight::attention(&detail, &get.state.forges, rules, &signals);
        let kind = get.state.forges.kind_of(&org);
        json_body(&AttentionList {
            org: org.to_string(),
            as_of: detail.record.as_ref().map(|r| r.fetched_at),
            stale_days: get.state.attention.stale_days,
            release_days: get.state.attention.release_days,
            response_days: get.state.attention.response_days,
            exempt_topic: get.state.attention.exempt_topic.clone(),
            checked: found.checked,
            exempt: found.exempt,
            not_reported: found.not_reported.iter().map(|s| (*s).to_owned()).collect(),
            items: found.flagged.iter().map(|f| item(kind, f, as_of)).collect(),
        })
    })
    .await
}

/// The same list as CSV (RFC 4180, a header row; `reasons` separated by `;`).
#[utoipa::path(get, path = "/api/v1/orgs/{forge}/{login}/attention.csv", tag = "repositories",
    params(OrgPath),
    responses(
        (status = 200, description = "CSV with a header row: id, name, html_url, reasons (`;`-separated), summary, fork, archived, stars, open_issues, open_issues_and_pull_requests, last_activity_at, days_inactive", content_type = "text/csv"),
        (status = 404, description = "Unknown organisation", body = ErrorBody)))]
#[rocket::get("/orgs/<_>/<_>/attention.csv", rank = 1)]
pub(crate) async fn attention_csv(
    get: CachedGet<'_>,
    org: OrgPath,
) -> Result<Conditional, ApiError> {
    let org = org.0;
    get.answer(Scope::Org(org.clone()), || async {
        let detail = known(&get, &org).await?;
        let rules = &get.state.attention;
        let signals = insight::attention_signals(get.state.store.as_ref(), &detail, rules).await?;
        let (found, as_of) = insight::attention(&detail, &get.state.forges, rules, &signals);
        let kind = get.state.forges.kind_of(&org);
        super::csv_answer(
            &ATTENTION_CSV_COLUMNS,
            found.flagged.iter().map(|f| csv_row(&item(kind, f, as_of))),
            &format!("{}-{}-attention.csv", org.forge(), org.login()),
        )
    })
    .await
}

fn item(kind: Option<ForgeKind>, f: &Flagged<'_>, as_of: DateTime<Utc>) -> AttentionItem {
    let l = &f.repo.listing;
    let open = OpenCounts::of_repo(kind, f.repo);
    let activity = l.activity_at();
    AttentionItem {
        id: l.id,
        name: l.name.clone(),
        html_url: l.html_url.clone(),
        reasons: f.reasons.iter().map(|r| r.as_str().to_owned()).collect(),
        summary: f
            .reasons
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        fork: l.fork,
        archived: l.archived,
        stars: l.stars,
        open_issues: open.issues,
        open_issues_and_pull_requests: open.both,
        last_activity_at: activity,
        days_inactive: activity.map(|at| (as_of - at).num_days().max(0)),
    }
}

/// One item as a row under [`ATTENTION_CSV_COLUMNS`].
fn csv_row(i: &AttentionItem) -> [String; 12] {
    [
        i.id.to_string(),
        i.name.clone(),
        i.html_url.clone().unwrap_or_default(),
        i.reasons.join(";"),
        i.summary.clone(),
        i.fork.to_string(),
        i.archived.to_string(),
        i.stars.to_string(),
        i.open_issues.map(|n| n.to_string()).unwrap_or_default(),
        i.open_issues_and_pull_requests
            .map(|n| n.to_string())
            .unwrap_or_default(),
        i.last_activity_at
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default(),
        i.days_inactive.map(|d| d.to_string()).unwrap_or_default(),
    ]
}
