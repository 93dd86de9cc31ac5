//! What a request carries, parsed once for pages and API alike: the organisation in the
//! path, the repository list's query, page sizes, and JSON bodies. Each parser returns
//! [`Invalid`], which the API answers as a JSON 422 and a page as an HTML 422.

use rocket::data::{ByteUnit, Data, FromData, Outcome};
use rocket::form::{self, DataField, FromForm, ValueField};
use rocket::http::Status;
use rocket::request::{self, FromRequest, Request};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::error::Invalid;
use super::repos::{Order, RepoFilter, SortKey};
use crate::domain::{Forges, OrgId};

/// The organisation a URL's `{forge}/{login}` names (a GitLab subgroup path arrives with
/// its `%2F` decoded to `/`); invalid or an unconfigured forge → 422 naming the problem,
/// never a lookup.
pub(crate) fn org_path(forges: &Forges, forge: &str, login: &str) -> Result<OrgId, Invalid> {
    forges
        .org(forge, login)
        .map_err(|e| Invalid::new("Not a valid organisation", e.to_string()))
}

/// An organisation given as `FORGE:PATH` (a query's `org=`), checked like a path's.
pub(crate) fn org_text(forges: &Forges, text: &str) -> Result<OrgId, Invalid> {
    forges
        .parse(text)
        .map_err(|e| Invalid::new("Not a valid organisation", e.to_string()))
}

/// The organisation a route's `/{prefix}/{forge}/{login}/…` names, validated once against
/// the configured forges. Routes leave the two segments unnamed (`/orgs/<_>/<_>`) and take
/// this guard; one that is not valid fails the request with 422, and the catchers answer
/// it with the reason ([`Refused`]) — JSON under `/api`, a page elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OrgPath(pub OrgId);

impl std::ops::Deref for OrgPath {
    type Target = OrgId;

    fn deref(&self) -> &OrgId {
        &self.0
    }
}

/// Why a request guard refused the request, kept for the catcher that answers it.
#[derive(Debug, Default, Clone)]
pub(crate) struct Refused(pub Option<Invalid>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for OrgPath {
    type Error = Invalid;

    async fn from_request(request: &'r Request<'_>) -> request::Outcome<Self, Invalid> {
        let segment = |n: usize| request.routed_segment(n).unwrap_or_default();
        let parsed = match request.rocket().state::<super::WebState>() {
            Some(state) => org_path(&state.forges, segment(1), segment(2)),
            None => Err(Invalid::new(
                "Not a valid organisation",
                "no forges configured",
            )),
        };
        match parsed {
            Ok(org) => request::Outcome::Success(OrgPath(org)),
            Err(invalid) => {
                request.local_cache(|| Refused(Some(invalid.clone())));
                request::Outcome::Error((Status::UnprocessableEntity, invalid))
            }
        }
    }
}

/// One query value as the request gave it. Unlike `Option<&str>`, which reads a repeated
/// field as absent, it remembers that a field came twice (`?limit=5&limit=500`), and the
/// handler refuses that with a 422 rather than guessing which one was meant.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Param<'r> {
    value: Option<&'r str>,
    repeated: bool,
}

impl<'r> Param<'r> {
    /// The value with surrounding blanks removed; absent or empty is `None`; given more
    /// than once is invalid.
    pub(crate) fn get(self, name: &str) -> Result<Option<&'r str>, Invalid> {
        if self.repeated {
            return Err(Invalid::new(
                "Not a valid request",
                format!("{name} given more than once"),
            ));
        }
        Ok(self.value.map(str::trim).filter(|s| !s.is_empty()))
    }

    /// The same value, refusing an empty one: for API parameters whose documented type (a
    /// number, a boolean, a choice, a date) has no empty value. Pages read blanks as absent
    /// instead, because an HTML form sends every field, filled or not.
    pub(crate) fn typed(self, name: &str) -> Result<Self, Invalid> {
        match self.value {
            Some(v) if v.trim().is_empty() => Err(Invalid::new(
                "Not a valid request",
                format!("{name} is empty; leave it out for the default"),
            )),
            _ => Ok(self),
        }
    }
}

impl<'r> From<&'r str> for Param<'r> {
    fn from(value: &'r str) -> Self {
        Param {
            value: Some(value),
            repeated: false,
        }
    }
}

#[rocket::async_trait]
impl<'r> FromForm<'r> for Param<'r> {
    type Context = Param<'r>;

    fn init(_opts: form::Options) -> Self::Context {
        <Param as Default>::default()
    }

    fn push_value(ctxt: &mut Self::Context, field: ValueField<'r>) {
        ctxt.repeated |= ctxt.value.is_some();
        ctxt.value = Some(field.value);
    }

    async fn push_data(ctxt: &mut Self::Context, _field: DataField<'r, '_>) {
        // Query strings carry no data fields; a form body that did is not a single value.
        ctxt.repeated = true;
    }

    fn finalize(ctxt: Self::Context) -> form::Result<'r, Self> {
        Ok(ctxt)
    }

    fn default(_opts: form::Options) -> Option<Self> {
        Some(<Param as Default>::default())
    }
}

fn table(message: String) -> Invalid {
    Invalid::new("That table view does not exist", message)
}

/// A movers window in days: one of `windows`, `default` when absent.
pub(crate) fn window(
    name: &str,
    value: Param<'_>,
    windows: &[u32],
    default: u32,
) -> Result<u32, Invalid> {
    let Some(v) = value.typed(name)?.get(name)? else {
        return Ok(default);
    };
    v.parse::<u32>()
        .ok()
        .filter(|d| windows.contains(d))
        .ok_or_else(|| {
            let list: Vec<String> = windows.iter().map(u32::to_string).collect();
            Invalid::new(
                "That window does not exist",
                format!("{name} must be one of {}, got `{v}`", list.join(", ")),
            )
        })
}

/// `true` or `false`; absent (or empty) is `None`.
pub(crate) fn flag(name: &str, value: Param<'_>) -> Result<Option<bool>, Invalid> {
    match value.get(name)? {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(other) => Err(table(format!(
            "{name} must be true or false, got `{other}`"
        ))),
    }
}

/// A whole number from `min` to `max`; absent (or empty) is `default`.
pub(crate) fn bounded(
    name: &str,
    value: Param<'_>,
    default: usize,
    min: usize,
    max: Option<usize>,
) -> Result<usize, Invalid> {
    let Some(v) = value.get(name)? else {
        return Ok(default);
    };
    v.parse::<usize>()
        .ok()
        .filter(|n| *n >= min && max.is_none_or(|max| *n <= max))
        .ok_or_else(|| {
            table(match max {
                Some(max) => {
                    format!("{name} must be a whole number from {min} to {max}, got `{v}`")
                }
                None => format!("{name} must be a whole number from {min}, got `{v}`"),
            })
        })
}

/// Which repositories a list shows, in which order: the table's and the API's query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Selection {
    pub filter: RepoFilter,
    pub sort: SortKey,
    pub order: Order,
}

/// The query parameters of a repository list: the selection, then how it is paged — by
/// `page` in the HTML table, by `limit` and `cursor` in the API.
#[derive(Debug, Default, rocket::FromForm)]
pub(crate) struct RepoQuery<'r> {
    pub q: Param<'r>,
    pub language: Param<'r>,
    pub license: Param<'r>,
    pub archived: Param<'r>,
    pub sort: Param<'r>,
    pub order: Param<'r>,
    pub page: Param<'r>,
    pub limit: Param<'r>,
    pub cursor: Param<'r>,
    /// The organisation page's movers window (the API has its own route).
    pub movers: Param<'r>,
    /// The organisation page's chart range (see [`crate::web::range`]).
    pub range: Param<'r>,
}

impl RepoQuery<'_> {
    /// Refuses empty values for the typed fields, as the API's document declares them
    /// (see [`Param::typed`]); free text (`q`, `language`, `license`, `cursor`) may be empty.
    pub(crate) fn typed(&self) -> Result<&Self, Invalid> {
        for (name, value) in [
            ("archived", self.archived),
            ("sort", self.sort),
            ("order", self.order),
            ("page", self.page),
            ("limit", self.limit),
        ] {
            value.typed(name)?;
        }
        Ok(self)
    }

    /// Validates the query: sort by stars unless told, in the key's natural order.
    pub(crate) fn selection(&self) -> Result<Selection, Invalid> {
        let sort: SortKey = self
            .sort
            .get("sort")?
            .map(str::parse)
            .transpose()
            .map_err(table)?
            .unwrap_or(SortKey::Stars);
        let order: Order = self
            .order
            .get("order")?
            .map(str::parse)
            .transpose()
            .map_err(table)?
            .unwrap_or(sort.natural_order());
        Ok(Selection {
            filter: RepoFilter {
                q: self.q.get("q")?.map(str::to_owned),
                language: self.language.get("language")?.map(str::to_owned),
                archived: flag("archived", self.archived)?,
                license: self.license.get("license")?.map(str::to_owned),
            },
            sort,
            order,
        })
    }
}

/// Largest request body accepted.
pub(crate) const BODY_LIMIT: ByteUnit = ByteUnit::Kibibyte(16);

/// A JSON request body of type `T` (which refuses unknown fields), or `None` when the body
/// is empty. Taken as `Result<JsonBody<T>, ApiError>` so the handler answers the error:
/// 413 over [`BODY_LIMIT`], 400 for malformed JSON, 422 when it does not fit `T`.
#[derive(Debug)]
pub(crate) struct JsonBody<T>(pub Option<T>);

#[rocket::async_trait]
impl<'r, T: DeserializeOwned + Send> FromData<'r> for JsonBody<T> {
    type Error = ApiError;

    async fn from_data(_request: &'r Request<'_>, data: Data<'r>) -> Outcome<'r, Self> {
        match read_json(data).await {
            Ok(value) => Outcome::Success(JsonBody(value)),
            Err(e) => Outcome::Error((e.status, e)),
        }
    }
}

async fn read_json<T: DeserializeOwned>(data: Data<'_>) -> Result<Option<T>, ApiError> {
    let text = data.open(BODY_LIMIT).into_string().await.map_err(|e| {
        ApiError::new(
            Status::BadRequest,
            "bad_request",
            format!("the body could not be read: {e}"),
        )
    })?;
    if !text.is_complete() {
        return Err(ApiError::new(
            Status::PayloadTooLarge,
            "too_large",
            format!("the body is larger than {BODY_LIMIT}"),
        ));
    }
    if text.trim().is_empty() {
        return Ok(None);
    }
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        ApiError::new(
            Status::BadRequest,
            "malformed_json",
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    // serde reads a struct from an array too (`[[]]` as `{"orgs": []}`): every body here
    // is a JSON object, as the document says.
    if !value.is_object() {
        return Err(ApiError::invalid("the body must be a JSON object"));
    }
    serde_json::from_value(value)
        .map(Some)
        .map_err(|e| ApiError::invalid(format!("the body does not fit: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_values_count_as_absent_and_bad_ones_name_themselves() {
        let query = RepoQuery {
            sort: " ".into(),
            order: "".into(),
            ..<RepoQuery as Default>::default()
        };
        let selection = query.selection().expect("blank is default");
        assert_eq!(
            (selection.sort, selection.order),
            (SortKey::Stars, Order::Desc)
        );
        let bad = RepoQuery {
            archived: "maybe".into(),
            ..<RepoQuery as Default>::default()
        };
        assert!(bad
            .selection()
            .expect_err("invalid")
            .message
            .contains("archived"));
        assert_eq!(bounded("limit", "".into(), 30, 1, Some(100)), Ok(30));
        assert!(bounded("limit", "101".into(), 30, 1, Some(100)).is_err());
        let twice = Param {
            value: Some("5"),
            repeated: true,
        };
        assert!(bounded("limit", twice, 30, 1, Some(100))
            .expect_err("repeated")
            .message
            .contains("more than once"));
        let forges = Forges::default();
        assert!(org_path(&forges, "github", "-bad").is_err());
        assert_eq!(
            org_path(&forges, "gitlab", "GNOME/sub").map(|o| o.to_string()),
            Ok("gitlab:gnome/sub".to_owned())
        );
        assert!(org_path(&forges, "nowhere", "x")
            .expect_err("unknown")
            .message
            .contains("configured: github, gitlab, codeberg"));
    }
}
