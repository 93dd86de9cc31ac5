//! The change feed on the web: the query every view of it takes (JSON, Atom, the pages),
//! how an event reads and links, and the Atom 1.0 document.

use chrono::{DateTime, NaiveDate, Utc};

use super::charts::esc;
use super::error::Invalid;
use super::extract::bounded;
use super::params::EventsQuery;
use crate::domain::feed::{entry_id, link};
use crate::domain::{EventKind, Forges, StoredEvent};
use crate::store::EventQuery;

/// Events an Atom feed carries.
pub(crate) const FEED_ENTRIES: usize = 50;

pub(crate) use super::params::MAX_EVENTS;

/// The feed's filters as a request gives them (`org`, `kind`, `since`, `limit`,
/// `cursor`), validated into a store query.
pub(crate) fn query(
    forges: &Forges,
    filters: &EventsQuery<'_>,
    default_limit: usize,
) -> Result<EventQuery, Invalid> {
    let EventsQuery {
        org,
        kind,
        since,
        limit,
        cursor,
    } = *filters;
    let org = org
        .typed("org")?
        .get("org")?
        .map(|id| super::extract::org_text(forges, id))
        .transpose()?;
    let kind = kind
        .typed("kind")?
        .get("kind")?
        .map(|k| {
            k.parse::<EventKind>()
                .map_err(|e| Invalid::param(format!("kind: {e}")))
        })
        .transpose()?;
    let since = since
        .typed("since")?
        .get("since")?
        .map(|s| {
            s.parse::<NaiveDate>()
                .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
                .map_err(|_| {
                    Invalid::param(format!("since must be a date like 2026-01-31, got `{s}`"))
                })
        })
        .transpose()?;
    let before = cursor
        .typed("cursor")?
        .get("cursor")?
        .map(|c| {
            c.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                Invalid::param(format!(
                    "cursor must be a `next_cursor` the API gave, got `{c}`"
                ))
            })
        })
        .transpose()?;
    let limit = bounded(
        "limit",
        limit.typed("limit")?,
        default_limit,
        1,
        Some(MAX_EVENTS),
    )?;
    Ok(EventQuery {
        org,
        kind,
        since,
        before,
        ..EventQuery::latest(limit)
    })
}

/// An Atom 1.0 document of `events` (newest first): `title`, the feed's own path
/// (`self_path`), the page it is the feed of (`page_path`) and a stable `feed_id`.
pub(crate) fn atom(
    title: &str,
    feed_id: &str,
    self_path: &str,
    page_path: &str,
    events: &[StoredEvent],
    now: DateTime<Utc>,
) -> String {
    let stamp = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let updated = events.first().map_or(now, |e| e.event.at);
    let mut out = format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>{}</title>
  <id>{}</id>
  <updated>{}</updated>
  <link rel="self" type="application/atom+xml" href="{}"/>
  <link rel="alternate" type="text/html" href="{}"/>
  <generator>orgpulse</generator>
"#,
        esc(title),
        esc(feed_id),
        stamp(updated),
        esc(self_path),
        esc(page_path)
    );
    for e in events {
        out.push_str(&format!(
            r#"  <entry>
    <title>{}</title>
    <id>{}</id>
    <updated>{}</updated>
    <link rel="alternate" type="text/html" href="{}"/>
    <author><name>{}</name></author>
    <category term="{}"/>
    <summary>{}</summary>
  </entry>
"#,
            esc(&e.event.summary()),
            entry_id(e),
            stamp(e.event.at),
            esc(&link(e)),
            esc(&e.event.org.to_string()),
            e.event.kind,
            esc(&format!(
                "{} ({}, {})",
                e.event.summary(),
                e.event.org,
                e.event.at.format("%Y-%m-%d %H:%M UTC")
            ))
        ));
    }
    out.push_str("</feed>\n");
    out
}
