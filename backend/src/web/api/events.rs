//! The change feed as JSON.

use super::{json_body, EventPage};
use crate::web::cache::{CachedGet, Conditional, Scope};
use crate::web::error::{ApiError, ErrorBody};
use crate::web::feed;
use crate::web::params::EventsQuery;

/// Recorded changes, newest first, filtered and paged by cursor.
#[utoipa::path(get, path = "/api/v1/events", tag = "events",
    params(EventsQuery),
    responses(
        (status = 200, description = "A page of events", body = EventPage),
        (status = 422, description = "A parameter is invalid", body = ErrorBody)))]
#[rocket::get("/events?<filters..>")]
pub(crate) async fn list_events(
    get: CachedGet<'_>,
    filters: EventsQuery<'_>,
) -> Result<Conditional, ApiError> {
    let mut query = feed::query(&get.state.forges, &filters, 50)?;
    let scope = query.org.clone().map_or(Scope::Orgs, Scope::Org);
    get.answer(scope, || async {
        let limit = query.limit;
        query.limit += 1;
        let mut events = get.state.store.list_events(&query).await?;
        let next_cursor = (events.len() > limit).then(|| events[limit - 1].seq.to_string());
        events.truncate(limit);
        json_body(&EventPage {
            items: events.iter().map(Into::into).collect(),
            next_cursor,
        })
    })
    .await
}
