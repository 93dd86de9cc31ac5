//! The API's parameters: each route's query string is one `FromForm` struct, and it (and
//! the [`OrgPath`] guard, for the path) declares its OpenAPI parameters through utoipa's
//! `IntoParams`, built from the same constants the handlers validate with (page sizes,
//! windows, sort keys, event kinds, cursor patterns). The document and the server cannot
//! drift apart; only what the configuration decides (the forge names) is written into the
//! document when the server starts (`docs::tighten`).
//!
//! The impls are written out rather than derived: utoipa's derive takes limits and
//! patterns as literals only, which would copy each constant into an attribute.

use rocket::FromForm;
use serde_json::Value;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::Required;
use utoipa::IntoParams;

use super::extract::{OrgPath, Param, RepoQuery};
use super::insight::{MAX_MOVERS, MOVER_WINDOWS};
use super::repos::{Cursor, SortKey, MAX_LIMIT};
use crate::domain::{EventKind, COMMON_PATH_PATTERN};

/// Most events one API page returns.
pub(crate) const MAX_EVENTS: usize = 200;

/// A `next_cursor` of the change feed: an event's sequence number.
pub(crate) const EVENT_CURSOR_PATTERN: &str = "^[1-9][0-9]{0,17}$";

/// `from` and `to` of a history: UTC days, both inclusive.
#[derive(Debug, Default, FromForm)]
pub(crate) struct DaysQuery<'r> {
    pub from: Param<'r>,
    pub to: Param<'r>,
}

/// An activity window: `from` inclusive to `to` exclusive.
#[derive(Debug, Default, FromForm)]
pub(crate) struct ActivityQuery<'r> {
    pub from: Param<'r>,
    pub to: Param<'r>,
}

impl IntoParams for ActivityQuery<'_> {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            query("from", "First day, `YYYY-MM-DD` (default: 90 days before `to`)", day()),
            query(
                "to",
                "The day after the last, `YYYY-MM-DD` (exclusive; default: tomorrow, so the window ends with today). Not after `from`: an empty window; more than 3660 days after it: the last 3660 days (the answer's `window` says which)",
                day(),
            ),
        ]
    }
}

/// The front page's chart range and table order.
#[derive(Debug, Default, FromForm)]
pub(crate) struct OverviewQuery<'r> {
    pub range: Param<'r>,
    pub sort: Param<'r>,
    pub order: Param<'r>,
}

/// The change feed page's filters and position.
#[derive(Debug, Default, FromForm)]
pub(crate) struct ChangesQuery<'r> {
    pub org: Param<'r>,
    pub kind: Param<'r>,
    pub cursor: Param<'r>,
}

/// A page's chart range.
#[derive(Debug, Default, FromForm)]
pub(crate) struct RangeQuery<'r> {
    pub range: Param<'r>,
}

/// The movers' window and list length.
#[derive(Debug, Default, FromForm)]
pub(crate) struct MoversQuery<'r> {
    pub days: Param<'r>,
    pub limit: Param<'r>,
}

/// The change feed's filters and page.
#[derive(Debug, Default, FromForm)]
pub(crate) struct EventsQuery<'r> {
    pub org: Param<'r>,
    pub kind: Param<'r>,
    pub since: Param<'r>,
    pub limit: Param<'r>,
    pub cursor: Param<'r>,
}

/// How many runs to list.
#[derive(Debug, Default, FromForm)]
pub(crate) struct RunsQuery<'r> {
    pub limit: Param<'r>,
}

/// Whether untracking also deletes what is stored.
#[derive(Debug, Default, FromForm)]
pub(crate) struct PurgeQuery<'r> {
    pub purge: Param<'r>,
}

pub(crate) fn param(
    name: &str,
    at: ParameterIn,
    description: &str,
    schema: ObjectBuilder,
) -> Parameter {
    let required = if at == ParameterIn::Path {
        Required::True
    } else {
        Required::False
    };
    ParameterBuilder::new()
        .name(name)
        .parameter_in(at)
        .required(required)
        .description(Some(description))
        .schema(Some(schema.build()))
        .build()
}

fn query(name: &str, description: &str, schema: ObjectBuilder) -> Parameter {
    param(name, ParameterIn::Query, description, schema)
}

fn text() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

pub(crate) fn choice<V: Into<Value>>(values: impl IntoIterator<Item = V>) -> ObjectBuilder {
    text().enum_values(Some(values))
}

fn pattern(pattern: &str) -> ObjectBuilder {
    text().pattern(Some(pattern))
}

fn day() -> ObjectBuilder {
    text().format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
}

fn whole(min: usize, max: usize) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(min as f64))
        .maximum(Some(max as f64))
}

fn boolean() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Boolean)
}

/// `{forge}` and `{login}`; the configured forge names and the kinds' path rules are
/// written in when the server starts.
impl IntoParams for OrgPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            param("forge", ParameterIn::Path, "The forge instance", text()),
            param(
                "login",
                ParameterIn::Path,
                "The organisation's path on the forge",
                pattern(COMMON_PATH_PATTERN),
            ),
        ]
    }
}

/// A repository's `{name}` in the organisation's path.
pub(crate) struct RepoName;

impl IntoParams for RepoName {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![param(
            "name",
            ParameterIn::Path,
            "The repository's name within the organisation, `/` written `%2F` (a GitLab project in a subgroup: `libs%2Fparser`); any case",
            text().min_length(Some(1)),
        )]
    }
}

impl IntoParams for RepoQuery<'_> {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let keys: Vec<&str> = SortKey::ALL.iter().map(|k| k.as_str()).collect();
        vec![
            query(
                "sort",
                &format!("{} (default: stars)", keys.join(", ")),
                choice(keys.clone()),
            ),
            query(
                "order",
                "asc or desc (default: desc for numbers and dates, asc for text)",
                choice(["asc", "desc"]),
            ),
            query(
                "q",
                "Case-insensitive text in name, description or topics",
                text(),
            ),
            query(
                "language",
                "Primary language, exact (case-insensitive)",
                text(),
            ),
            query("license", "Licence, exact (case-insensitive)", text()),
            query(
                "archived",
                "Only archived (true) or only active (false)",
                boolean(),
            ),
            query(
                "limit",
                &format!("1–{MAX_LIMIT}, default 30"),
                whole(1, MAX_LIMIT),
            ),
            query(
                "cursor",
                "Where the page starts: `next_cursor` of the previous page, or any keyset position `{id}.n`, `{id}.i{integer}` or `{id}.s{hex of the UTF-8 sort text}` (the items after it in this order)",
                pattern(Cursor::PATTERN),
            ),
        ]
    }
}

impl IntoParams for DaysQuery<'_> {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            query("from", "First day, `YYYY-MM-DD`", day()),
            query(
                "to",
                "Last day, `YYYY-MM-DD`; before `from`, the range is empty (no rows)",
                day(),
            ),
        ]
    }
}

impl IntoParams for MoversQuery<'_> {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let windows: Vec<String> = MOVER_WINDOWS.iter().map(u32::to_string).collect();
        vec![
            query(
                "days",
                &format!("The window in days: {} (default 7)", windows.join(", ")),
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .enum_values(Some(MOVER_WINDOWS)),
            ),
            query(
                "limit",
                &format!("Most repositories per list, 1–{MAX_MOVERS}, default 20"),
                whole(1, MAX_MOVERS),
            ),
        ]
    }
}

impl IntoParams for EventsQuery<'_> {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            // The pattern names the configured forges: written in at start-up.
            query("org", "Only this organisation (`forge:login`)", text()),
            query(
                "kind",
                "Only this kind of event",
                choice(EventKind::ALL.iter().map(|k| k.as_str())),
            ),
            query(
                "since",
                "Only events on or after this day, `YYYY-MM-DD`",
                day(),
            ),
            query(
                "limit",
                &format!("1–{MAX_EVENTS}, default 50"),
                whole(1, MAX_EVENTS),
            ),
            query(
                "cursor",
                "`next_cursor` of the previous page",
                pattern(EVENT_CURSOR_PATTERN),
            ),
        ]
    }
}

impl IntoParams for RunsQuery<'_> {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![query("limit", "1–200, default 50", whole(1, 200))]
    }
}

impl IntoParams for PurgeQuery<'_> {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![query(
            "purge",
            "Also delete everything stored about it",
            boolean(),
        )]
    }
}
