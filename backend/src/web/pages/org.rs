//! One organisation's page: profile, KPIs with deltas, charts, and the repository table
//! (sorted, filtered and paged by the same rules as the API). What it shows is typed in
//! `org_page` and `org_table`.

use chrono::Utc;
use rocket::http::ContentType;

use super::org_page::{org_page, Insight};
use super::org_table::TableParams;
use crate::domain::activity::{ActivityFigures, Window};
use crate::domain::OrgId;
use crate::store::{EventQuery, Store, StoreError};
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
        let activity = activity(store, &id, table.range.days()).await?;
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

/// The activity figures of the page's range (a year for "all") and of the window before
/// it; `None` when the organisation's activity was never read.
async fn activity(
    store: &dyn Store,
    org: &OrgId,
    days: Option<u64>,
) -> Result<Option<(ActivityFigures, ActivityFigures)>, StoreError> {
    if store.activity_synced_until(org).await?.is_none() {
        return Ok(None);
    }
    let tomorrow = Utc::now().date_naive() + chrono::Days::new(1);
    let window = Window::ending(tomorrow, days.unwrap_or(365));
    let first = store.first_items(org).await?;
    let releases = store.releases(org, None).await?;
    let mut figures = Vec::with_capacity(2);
    for w in [window, window.previous()] {
        let items = store.activity_items(org, w, None).await?;
        figures.push(ActivityFigures::of(w, &items, &first, &releases));
    }
    let before = figures.pop().expect("two windows");
    let now = figures.pop().expect("two windows");
    Ok(Some((now, before)))
}
