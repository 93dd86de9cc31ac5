//! Repositories of an organisation: a sorted, filtered page with a cursor, and every
//! repository as CSV.

use chrono::{DateTime, Utc};

use super::{json_body, known, org_answer, RepoPage, RepoView};
use crate::domain::{ForgeKind, OpenCounts, RepoRecord};
use crate::web::cache::{CachedGet, Conditional, Scope};
use crate::web::error::{ApiError, ErrorBody};
use crate::web::extract::{bounded, OrgPath, RepoQuery, Selection};
use crate::web::repos::MAX_LIMIT;
use crate::web::repos::{self, Cursor};

/// The CSV columns, in order: a stable contract for spreadsheets and scripts.
pub const CSV_COLUMNS: [&str; 26] = [
    "id",
    "name",
    "full_name",
    "description",
    "html_url",
    "language",
    "stars",
    "forks",
    "open_issues",
    "open_pull_requests",
    "open_issues_and_pull_requests",
    "watchers",
    "license",
    "topics",
    "archived",
    "fork",
    "size_kb",
    "default_branch",
    "created_at",
    "updated_at",
    "pushed_at",
    "libraries",
    "first_seen",
    "gone_since",
    "latest_release",
    "latest_release_at",
];

/// An organisation's live repositories, sorted, filtered and paged by cursor.
#[utoipa::path(get, path = "/api/v1/orgs/{forge}/{login}/repos", tag = "repositories",
    params(OrgPath, RepoQuery),
    responses(
        (status = 200, description = "A page of repositories", body = RepoPage),
        (status = 404, description = "Unknown organisation", body = ErrorBody),
        (status = 422, description = "A parameter is invalid", body = ErrorBody)))]
#[rocket::get("/orgs/<_>/<_>/repos?<query..>")]
pub(crate) async fn list_repos(
    get: CachedGet<'_>,
    org: OrgPath,
    query: RepoQuery<'_>,
) -> Result<Conditional, ApiError> {
    let org = org.0;
    let kind = get.state.forges.kind_of(&org);
    let Selection {
        filter,
        sort: key,
        order,
    } = query.typed()?.selection()?;
    let limit = bounded("limit", query.limit, 30, 1, Some(MAX_LIMIT))?;
    let cursor = query
        .cursor
        .get("cursor")?
        .map(Cursor::decode)
        .transpose()
        .map_err(ApiError::invalid)?;
    get.answer(Scope::Org(org.clone()), || async {
        let detail = known(&get, &org).await?;
        let selected = repos::select(&detail.repos, &filter, key, order);
        let total = selected.len();
        let after: Vec<&RepoRecord> = match &cursor {
            Some(c) => selected
                .into_iter()
                .filter(|r| c.precedes(r, key, order))
                .collect(),
            None => selected,
        };
        let items: Vec<&RepoRecord> = after.iter().take(limit).copied().collect();
        let next_cursor =
            (after.len() > limit).then(|| Cursor::after(items[items.len() - 1], key).encode());
        let ids: Vec<i64> = items.iter().map(|r| r.listing.id).collect();
        let scorecards = get.state.store.scorecards(org.forge(), &ids).await?;
        json_body(&RepoPage {
            items: items
                .into_iter()
                .map(|r| RepoView {
                    scorecard: scorecards.get(&r.listing.id).map(Into::into),
                    ..RepoView::of(kind, r)
                })
                .collect(),
            total,
            next_cursor,
        })
    })
    .await
}

/// Every stored repository of an organisation (gone ones included) as RFC 4180 CSV.
#[utoipa::path(get, path = "/api/v1/orgs/{forge}/{login}/repos.csv", tag = "repositories",
    params(OrgPath),
    responses(
        (status = 200, description = "CSV with a header row; topics are separated by `;`", content_type = "text/csv"),
        (status = 404, description = "Unknown organisation", body = ErrorBody)))]
#[rocket::get("/orgs/<_>/<_>/repos.csv", rank = 1)]
pub(crate) async fn repos_csv(get: CachedGet<'_>, org: OrgPath) -> Result<Conditional, ApiError> {
    let org = org.0;
    let kind = get.state.forges.kind_of(&org);
    org_answer(&get, &org, |detail| {
        super::csv_answer(
            &CSV_COLUMNS,
            detail.repos.iter().map(|r| csv_row(kind, r)),
            &format!("{}-{}-repos.csv", org.forge(), org.login()),
        )
    })
    .await
}

/// One repository as a row under [`CSV_COLUMNS`].
fn csv_row(kind: Option<ForgeKind>, r: &RepoRecord) -> [String; 26] {
    let time = |t: Option<DateTime<Utc>>| {
        t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default()
    };
    let l = &r.listing;
    let release = r.details.as_ref().and_then(|d| d.latest_release.as_ref());
    // Empty where unknown, never zero; never a count of both under the name "issues".
    let count = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_default();
    let open = OpenCounts::of_repo(kind, r);
    [
        l.id.to_string(),
        l.name.clone(),
        l.full_name.clone(),
        l.description.clone().unwrap_or_default(),
        l.html_url.clone().unwrap_or_default(),
        l.language.clone().unwrap_or_default(),
        l.stars.to_string(),
        l.forks.to_string(),
        count(open.issues),
        count(open.pull_requests),
        count(open.both),
        l.watchers.to_string(),
        l.license.clone().unwrap_or_default(),
        l.topics.join(";"),
        l.archived.to_string(),
        l.fork.to_string(),
        l.size_kb.to_string(),
        l.default_branch.clone().unwrap_or_default(),
        time(l.created_at),
        time(l.updated_at),
        time(l.pushed_at),
        r.libraries.map(|n| n.to_string()).unwrap_or_default(),
        r.first_seen.to_string(),
        r.gone_since.map(|d| d.to_string()).unwrap_or_default(),
        release.map(|r| r.tag.clone()).unwrap_or_default(),
        time(release.and_then(|r| r.published_at)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let repo: RepoRecord = serde_json::from_value(serde_json::json!({
            "org": "github:a", "id": 1, "name": "x", "full_name": "a/x",
            "description": "says \"hi\", then\nleaves", "html_url": null, "language": null,
            "stars": 1, "watchers": 0, "forks": 0, "open_issues": 0, "license": null,
            "topics": ["a", "b"], "archived": false, "disabled": false, "fork": false, "size_kb": 0,
            "default_branch": null, "created_at": null, "updated_at": null, "pushed_at": null,
            "visibility": null, "languages": null, "languages_for": null, "libraries": null,
            "libraries_for": null, "first_seen": "2026-01-01", "gone_since": null
        }))
        .expect("record");
        let body = super::super::csv_body(
            &CSV_COLUMNS,
            [repo].iter().map(|r| csv_row(Some(ForgeKind::GitHub), r)),
        );
        let text = String::from_utf8(body.expect("csv")).expect("utf-8");
        assert!(text.starts_with("id,name,full_name,description,"));
        assert!(text.contains("\"says \"\"hi\"\", then\nleaves\""), "{text}");
        assert!(text.contains(",a;b,"));
        assert!(text.ends_with("\r\n"));
    }
}
