//! What a request carries, parsed once for pages and API alike: the organisation in the
//! path, the repository list's query, page sizes, and JSON bodies. Each parser returns
//! [`Invalid`], which the API answers as a JSON 422 and a page as an HTML 422.

use rocket::data::{ByteUnit, Data, FromData, Outcome};
use rocket::http::Status;
use rocket::request::Request;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::repos::{Order, RepoFilter, SortKey};
use crate::domain::OrgId;

/// A value in the address or the body that is not valid, with what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invalid {
    /// A heading for the HTML error page.
    pub title: &'static str,
    pub message: String,
}

impl Invalid {
    fn new(title: &'static str, message: impl Into<String>) -> Self {
        Invalid {
            title,
            message: message.into(),
        }
    }
}

/// The organisation a URL's `{forge}/{login}` names; invalid → 422 naming the problem,
/// never a lookup.
pub(crate) fn org_path(forge: &str, login: &str) -> Result<OrgId, Invalid> {
    forge
        .parse()
        .and_then(|forge| OrgId::new(forge, login))
        .map_err(|e| Invalid::new("Not a valid organisation", e.to_string()))
}

/// A query value with surrounding blanks removed; an empty one counts as absent.
pub(crate) fn present(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|s| !s.is_empty())
}

fn table(message: String) -> Invalid {
    Invalid::new("That table view does not exist", message)
}

/// `true` or `false`; absent (or empty) is `None`.
pub(crate) fn flag(name: &str, value: Option<&str>) -> Result<Option<bool>, Invalid> {
    match present(value) {
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
    value: Option<&str>,
    default: usize,
    min: usize,
    max: Option<usize>,
) -> Result<usize, Invalid> {
    let Some(v) = present(value) else {
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
    pub q: Option<&'r str>,
    pub language: Option<&'r str>,
    pub license: Option<&'r str>,
    pub archived: Option<&'r str>,
    pub sort: Option<&'r str>,
    pub order: Option<&'r str>,
    pub page: Option<&'r str>,
    pub limit: Option<&'r str>,
    pub cursor: Option<&'r str>,
}

impl RepoQuery<'_> {
    /// Validates the query: sort by stars unless told, in the key's natural order.
    pub(crate) fn selection(&self) -> Result<Selection, Invalid> {
        let sort: SortKey = present(self.sort)
            .map(str::parse)
            .transpose()
            .map_err(table)?
            .unwrap_or(SortKey::Stars);
        let order: Order = present(self.order)
            .map(str::parse)
            .transpose()
            .map_err(table)?
            .unwrap_or(sort.natural_order());
        Ok(Selection {
            filter: RepoFilter {
                q: present(self.q).map(str::to_owned),
                language: present(self.language).map(str::to_owned),
                archived: flag("archived", self.archived)?,
                license: present(self.license).map(str::to_owned),
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
            sort: Some(" "),
            order: Some(""),
            ..RepoQuery::default()
        };
        let selection = query.selection().expect("blank is default");
        assert_eq!(
            (selection.sort, selection.order),
            (SortKey::Stars, Order::Desc)
        );
        let bad = RepoQuery {
            archived: Some("maybe"),
            ..RepoQuery::default()
        };
        assert!(bad
            .selection()
            .expect_err("invalid")
            .message
            .contains("archived"));
        assert_eq!(bounded("limit", Some(""), 30, 1, Some(100)), Ok(30));
        assert!(bounded("limit", Some("101"), 30, 1, Some(100)).is_err());
        assert!(org_path("github", "-bad").is_err());
    }
}
