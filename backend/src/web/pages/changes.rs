//! The change feed for people: `/changes` (every organisation, or one) and the Atom
//! feeds, `/feed.atom` and `/orgs/<forge>/<login>/feed.atom`.

use chrono::Utc;
use rocket::http::ContentType;
use serde::Serialize;

use super::not_tracked;
use crate::domain::{EventKind, StoredEvent};
use crate::store::EventQuery;
use crate::web::cache::{CachedGet, Conditional, Rendered, Scope};
use crate::web::error::PageError;
use crate::web::extract::OrgPath;
use crate::web::feed::{self, FEED_ENTRIES};
use crate::web::params::{ChangesQuery, EventsQuery};
use crate::web::views;

/// Events per page of `/changes`.
const PAGE_SIZE: usize = 50;

#[rocket::get("/changes?<query..>")]
pub(crate) async fn changes(
    get: CachedGet<'_>,
    query: ChangesQuery<'_>,
) -> Result<Conditional, PageError> {
    let filters = EventsQuery {
        org: query.org,
        kind: query.kind,
        cursor: query.cursor,
        ..EventsQuery::default()
    };
    let mut query = feed::query(&get.state.forges, &filters, PAGE_SIZE)?;
    let scope = query.org.clone().map_or(Scope::Orgs, Scope::Org);
    get.answer(scope, || async {
        query.limit = PAGE_SIZE + 1;
        let mut events = get.state.store.list_events(&query).await?;
        let more = events.len() > PAGE_SIZE;
        events.truncate(PAGE_SIZE);
        let filter = |cursor: Option<i64>| {
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            if let Some(o) = &query.org {
                q.append_pair("org", &o.to_string());
            }
            if let Some(k) = query.kind {
                q.append_pair("kind", k.as_str());
            }
            if let Some(c) = cursor {
                q.append_pair("cursor", &c.to_string());
            }
            format!("/changes?{}", q.finish())
        };
        let context = ChangesPage {
            org: query.org.as_ref().map(|o| OrgLink {
                id: o.to_string(),
                url: format!("/orgs/{}", o.url_path()),
            }),
            kinds: EventKind::ALL
                .iter()
                .map(|k| KindOption {
                    value: k.as_str(),
                    label: k.as_str().replace('_', " "),
                    selected: Some(*k) == query.kind,
                })
                .collect(),
            days: by_day(&events),
            next_url: more.then(|| filter(events.last().map(|e| e.seq))),
            first_url: query.before.is_some().then(|| filter(None)),
            feed_url: query.org.as_ref().map_or_else(
                || "/feed.atom".to_owned(),
                |o| format!("/orgs/{}/feed.atom", o.url_path()),
            ),
            json_url: format!(
                "/api/v1/events{}",
                filter(None).trim_start_matches("/changes")
            ),
        };
        let html = get
            .state
            .templates
            .render("changes.html", "changes", &context)?;
        Ok(Rendered::new(html, ContentType::HTML))
    })
    .await
}

/// What `changes.html` shows.
#[derive(Debug, Serialize)]
struct ChangesPage {
    /// The organisation the feed is narrowed to.
    org: Option<OrgLink>,
    kinds: Vec<KindOption>,
    days: Vec<ChangeDay>,
    next_url: Option<String>,
    first_url: Option<String>,
    feed_url: String,
    json_url: String,
}

#[derive(Debug, Serialize)]
struct OrgLink {
    id: String,
    url: String,
}

/// One choice of the kind filter.
#[derive(Debug, Serialize)]
struct KindOption {
    value: &'static str,
    label: String,
    selected: bool,
}

/// One day of the change feed as the pages list it.
#[derive(Debug, Serialize)]
pub(super) struct ChangeDay {
    day: String,
    items: Vec<ChangeItem>,
}

/// One event as the pages list it.
#[derive(Debug, Serialize)]
struct ChangeItem {
    summary: String,
    url: String,
    kind: &'static str,
    org: String,
    org_url: String,
    time: String,
    when: String,
}

/// Events grouped by day, newest first, as the pages list them.
pub(super) fn by_day(events: &[StoredEvent]) -> Vec<ChangeDay> {
    let mut days: Vec<ChangeDay> = Vec::new();
    for e in events {
        let day = e.event.at.format("%Y-%m-%d").to_string();
        let item = ChangeItem {
            summary: e.event.summary(),
            url: crate::domain::feed::link(e),
            kind: e.event.kind.as_str(),
            org: e.event.org.to_string(),
            org_url: format!("/orgs/{}", e.event.org.url_path()),
            time: e.event.at.format("%H:%M").to_string(),
            when: views::when(e.event.at),
        };
        match days.last_mut() {
            Some(d) if d.day == day => d.items.push(item),
            _ => days.push(ChangeDay {
                day,
                items: vec![item],
            }),
        }
    }
    days
}

#[rocket::get("/feed.atom")]
pub(crate) async fn feed_all(get: CachedGet<'_>) -> Result<Conditional, PageError> {
    get.answer(Scope::Orgs, || async {
        let events = get.state.store.list_events(&latest(None)).await?;
        let xml = feed::atom(
            "orgpulse: changes in every organisation",
            "urn:orgpulse:feed:all",
            "/feed.atom",
            "/changes",
            &events,
            Utc::now(),
        );
        Ok(Rendered::new(xml, atom_type()))
    })
    .await
}

#[rocket::get("/orgs/<_>/<_>/feed.atom")]
pub(crate) async fn feed_org(get: CachedGet<'_>, org: OrgPath) -> Result<Conditional, PageError> {
    let id = org.0;
    get.answer(Scope::Org(id.clone()), || async {
        if get.detail(&id).await?.is_none() {
            return Err(not_tracked(&id));
        }
        let events = get
            .state
            .store
            .list_events(&latest(Some(id.clone())))
            .await?;
        let path = format!("/orgs/{}", id.url_path());
        let xml = feed::atom(
            &format!("orgpulse: changes in {id}"),
            &format!("urn:orgpulse:feed:{id}"),
            &format!("{path}/feed.atom"),
            &path,
            &events,
            Utc::now(),
        );
        Ok(Rendered::new(xml, atom_type()))
    })
    .await
}

fn latest(org: Option<crate::domain::OrgId>) -> EventQuery {
    EventQuery {
        org,
        ..EventQuery::latest(FEED_ENTRIES)
    }
}

fn atom_type() -> ContentType {
    ContentType::new("application", "atom+xml").with_params(("charset", "utf-8"))
}
