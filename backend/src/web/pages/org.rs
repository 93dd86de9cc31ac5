//! One organisation's page: profile, KPIs with deltas, charts, and the repository table
//! (sorted, filtered and paged by the same rules as the API). What it shows is typed in
//! `org_page` and `org_table`.

use chrono::Utc;
use rocket::http::ContentType;

use super::org_page::{org_page, Insight};
use super::org_table::TableParams;
use crate::domain::activity::Window;
use crate::store::EventQuery;
use crate::web::cache::{CachedGet, Conditional, Rendered, Scope};
use crate::web::error::PageError;
use crate::web::extract::{self, OrgPath, RepoQuery};
use crate::web::insight::{self, DEFAULT_WINDOW, MOVER_WINDOWS};

/// Events the "Recent changes" section lists.
const RECENT_CHANGES: usize = 12;

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
