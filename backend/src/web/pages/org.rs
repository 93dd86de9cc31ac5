//! One organisation's page: profile, KPIs with deltas, charts, and the repository table
//! (sorted, filtered and paged by the same rules as the API). What it shows is typed in
//! `org_page` and `org_table`.

use chrono::Utc;
use rocket::http::ContentType;

use super::org_page::{org_page, Insight};
use super::org_table::TableParams;
use super::security::{SecurityInput, SecuritySection};
use crate::domain::activity::Window;
use crate::store::EventQuery;
use crate::web::cache::{CachedGet, Conditional, Rendered, Scope};
use crate::web::error::PageError;
use crate::web::extract::{self, OrgPath, RepoQuery};
use crate::web::insight::{self, DEFAULT_WINDOW, MOVER_WINDOWS};

/// Events the "Recent changes" section lists.
const RECENT_CHANGES: usize = 12;

/// The Security section of the organisation (or of its repository `repo`), with the
/// daily counts over `span` on the organisation's page.
pub(super) async fn security_section(
    get: &CachedGet<'_>,
    detail: &crate::store::OrgDetail,
    span: Window,
    repo: Option<&crate::domain::RepoRecord>,
) -> Result<SecuritySection, crate::store::StoreError> {
    let store = get.state.store.as_ref();
    let id = &detail.org;
    let repo_id = repo.map(|r| r.listing.id);
    let findings = store.findings(id, repo_id).await?;
    let state = store.security_state(id).await?;
    let last = span.to - chrono::Days::new(1);
    let days = match repo {
        Some(_) => None,
        None => Some((
            store.security_days(id, span.from, last).await?,
            span.from,
            last,
        )),
    };
    let libraries: Vec<(i64, crate::domain::Library)> = match repo_id {
        Some(rid) => store
            .list_repo_libraries(id, rid)
            .await?
            .into_iter()
            .map(|l| (rid, l))
            .collect(),
        None => store.org_libraries(id).await?,
    };
    let licenses =
        crate::domain::licenses::inventory(&libraries, &get.state.attention.denied_licenses);
    let live: Vec<i64> = match repo {
        Some(r) => vec![r.listing.id],
        None => detail
            .repos
            .iter()
            .filter(|r| r.gone_since.is_none())
            .map(|r| r.listing.id)
            .collect(),
    };
    let scorecards = store
        .scorecards(id.forge(), &live)
        .await?
        .into_values()
        .collect();
    let base_url = format!("/orgs/{}", id.url_path());
    let api = match repo {
        Some(r) => format!(
            "/api/v1{base_url}/repos/{}",
            crate::domain::feed::path_segment(&r.listing.name)
        ),
        None => format!("/api/v1{base_url}"),
    };
    Ok(super::security::section(SecurityInput {
        detail,
        findings: &findings,
        state,
        days,
        licenses,
        scorecards,
        api,
        base_url,
        of_repo: repo.is_some(),
    }))
}

#[rocket::get("/orgs/<_>/<_>?<query..>")]
pub(crate) async fn org(
    get: CachedGet<'_>,
    org: OrgPath,
    query: RepoQuery<'_>,
) -> Result<Conditional, PageError> {
    let id = org.0;
    let mut table = TableParams::parse(&query)?;
    let window = extract::window("movers", query.movers, &MOVER_WINDOWS, DEFAULT_WINDOW)?;
    table.movers = window;
    get.answer(Scope::Org(id.clone()), || async {
        let detail = get.detail(&id).await?;
        let Some(detail) = detail.as_ref() else {
            return Err(super::not_tracked(&id));
        };
        let store = get.state.store.as_ref();
        let ids: Vec<i64> = table
            .page_of(detail)
            .rows
            .iter()
            .map(|r| r.listing.id)
            .collect();
        let tomorrow = Utc::now().date_naive() + chrono::Days::new(1);
        // The page's chart range (a year for "all"), and the window before it.
        let span = Window::ending(tomorrow, table.range.days().unwrap_or(365));
        let activity = insight::activity(store, &id, None, span)
            .await?
            .map(|found| (found.current, found.previous));
        let insight = Insight {
            activity,
            movers: insight::movers(store, detail, window).await?,
            sparklines: insight::sparklines(store, detail, &ids).await?,
            recent: store
                .list_events(&EventQuery {
                    org: Some(id.clone()),
                    ..EventQuery::latest(RECENT_CHANGES)
                })
                .await?,
            signals: insight::attention_signals(store, detail, &get.state.attention).await?,
            security: security_section(&get, detail, span, None).await?,
        };
        let page = org_page(
            detail,
            &get.state.forges,
            &get.state.attention,
            &table,
            &insight,
            Utc::now(),
        );
        let html = get.state.templates.render("org.html", "orgs", &page)?;
        Ok(Rendered::new(html, ContentType::HTML))
    })
    .await
}
