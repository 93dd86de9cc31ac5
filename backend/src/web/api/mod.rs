//! The JSON API under `/api/v1`, one file per resource: organisations, repositories,
//! runs, the tracked list and refreshes; `types.rs` holds the response types. Reads are
//! cached per URL and answered conditionally on `If-None-Match`.

mod activity;
mod attention;
mod events;
mod insight;
mod licenses;
mod orgs;
mod refreshes;
mod repos;
mod runs;
mod tracking;
mod types;
mod vulnerabilities;

use rocket::http::ContentType;
use serde::Serialize;

pub use self::activity::*;
pub use self::attention::*;
pub use self::events::*;
pub use self::insight::*;
pub use self::licenses::*;
pub use self::orgs::*;
pub use self::refreshes::*;
pub use self::repos::*;
pub use self::runs::*;
pub use self::tracking::*;
pub(crate) use self::types::*;
pub use self::vulnerabilities::*;
use super::cache::{CachedGet, Conditional, Rendered, Scope};
use super::error::ApiError;
use crate::domain::OrgId;
use crate::store::OrgDetail;

fn json_body<T: Serialize>(value: &T) -> Result<Rendered, ApiError> {
    let body = serde_json::to_vec(value).map_err(|e| {
        tracing::error!(error = %e, "could not serialise an answer");
        ApiError::internal()
    })?;
    Ok(Rendered::new(body, ContentType::JSON))
}

/// An RFC 4180 body (CRLF line ends): a header row of `columns`, then `rows`, each cell
/// made safe to open in a spreadsheet ([`inert`]).
fn csv_body<const N: usize>(
    columns: &[&str; N],
    rows: impl Iterator<Item = [String; N]>,
) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    out.write_record(columns)?;
    for row in rows {
        let cells: Vec<_> = row.iter().map(|cell| inert(cell)).collect();
        out.write_record(cells.iter().map(|cell| cell.as_bytes()))?;
    }
    out.into_inner().map_err(|e| e.into_error().into())
}

/// A cell a spreadsheet shows as text, never runs as a formula (CSV injection, as OWASP
/// describes it): text starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets
/// a leading `'`. Numbers (`-3`, `+1.5`) are left as they are: they run nothing. Values
/// come from forges, so a repository description `=HYPERLINK(…)` is a real case.
fn inert(cell: &str) -> std::borrow::Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && cell.parse::<f64>().is_err() {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// Every export: `rows` under `columns` as a CSV download named `filename`.
fn csv_answer<const N: usize>(
    columns: &[&str; N],
    rows: impl Iterator<Item = [String; N]>,
    filename: &str,
) -> Result<Rendered, ApiError> {
    let body = csv_body(columns, rows).map_err(|e| {
        tracing::error!(error = %e, "could not write CSV");
        ApiError::internal()
    })?;
    Ok(Rendered::new(
        body,
        ContentType::new("text", "csv").with_params(("charset", "utf-8")),
    )
    .with_header(
        "Content-Disposition",
        format!("attachment; filename=\"{filename}\""),
    ))
}

/// Answers from one organisation's cached detail (404 when it is unknown), cached per URL
/// and conditional on `If-None-Match`.
async fn org_answer(
    get: &CachedGet<'_>,
    org: &OrgId,
    answer: impl FnOnce(&OrgDetail) -> Result<Rendered, ApiError>,
) -> Result<Conditional, ApiError> {
    get.answer(Scope::Org(org.clone()), || async {
        let detail = known(get, org).await?;
        answer(&detail)
    })
    .await
}

/// An organisation's cached detail, known to exist.
pub(crate) struct Known(std::sync::Arc<Option<OrgDetail>>);

impl std::ops::Deref for Known {
    type Target = OrgDetail;

    fn deref(&self) -> &OrgDetail {
        match self.0.as_ref() {
            Some(detail) => detail,
            None => unreachable!("`known` returns only details that exist"),
        }
    }
}

/// The organisation's cached detail; 404 when nothing is known about it.
pub(crate) async fn known(get: &CachedGet<'_>, org: &OrgId) -> Result<Known, ApiError> {
    let detail = get.detail(org).await?;
    if detail.is_none() {
        return Err(ApiError::not_found(format!(
            "{org} is not tracked and nothing is stored about it"
        )));
    }
    Ok(Known(detail))
}

pub(crate) fn routes() -> Vec<rocket::Route> {
    rocket::routes![
        list_orgs,
        get_org,
        org_activity,
        repo_activity,
        pulls_csv,
        issues_csv,
        list_contributors,
        list_repos,
        repos_csv,
        repo_history,
        movers,
        list_attention,
        attention_csv,
        history,
        history_csv,
        libraries_csv,
        list_licenses,
        licenses_csv,
        repo_licenses,
        list_vulnerabilities,
        vulnerabilities_csv,
        repo_vulnerabilities,
        list_events,
        libraries,
        list_runs,
        get_run,
        track_org,
        untrack_org,
        refresh
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_that_would_run_as_formulas_are_written_as_text() {
        let rows = [
            [
                "=HYPERLINK(\"http://x\",\"click\")".to_owned(),
                "-3".to_owned(),
            ],
            ["+cmd|' /C calc'!A0".to_owned(), "+1.5".to_owned()],
            ["@SUM(1+1)".to_owned(), "-".to_owned()],
            ["\tindented".to_owned(), "\rback".to_owned()],
            ["plain = fine".to_owned(), "a-b".to_owned()],
        ];
        let body = csv_body(&["a", "b"], rows.into_iter()).expect("csv");
        let text = String::from_utf8(body).expect("utf-8");
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(
            lines[1],
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"click\"\")\",-3"
        );
        assert_eq!(lines[2], "'+cmd|' /C calc'!A0,+1.5");
        assert_eq!(lines[3], "'@SUM(1+1),'-");
        assert_eq!(lines[4], "'\tindented,\"'\rback\"");
        assert_eq!(lines[5], "plain = fine,a-b");
    }
}
