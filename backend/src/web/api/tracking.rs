//! The tracked list over the API (bearer token): start and stop tracking.

use chrono::Utc;
use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::OrgId;
use crate::web::auth::Maintainer;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::extract::{flag, JsonBody, OrgPath};
use crate::web::params::PurgeQuery;
use crate::web::WebState;

/// `{"id":"github:foo"}`.
#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TrackRequest {
    /// `FORGE:LOGIN`.
    #[schema(example = "github:rust-lang")]
    pub id: String,
}

/// A tracked-list change.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Tracking {
    pub id: String,
    pub tracked: bool,
    /// `true` when this request changed the list.
    pub changed: bool,
    /// Whether stored data was deleted (removal with `purge=true`).
    pub purged: bool,
}

/// Starts tracking an organisation; it is fetched on the next refresh.
#[utoipa::path(post, path = "/api/v1/orgs", tag = "organisations", request_body = TrackRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Now tracked", body = Tracking),
        (status = 200, description = "Was already tracked", body = Tracking),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 413, description = "Body larger than 16 KiB", body = ErrorBody),
        (status = 422, description = "Not a valid organisation id", body = ErrorBody)))]
#[rocket::post("/orgs", data = "<body>")]
pub(crate) async fn track_org(
    state: &State<WebState>,
    _who: Maintainer,
    body: Result<JsonBody<TrackRequest>, ApiError>,
) -> Result<(Status, Json<Tracking>), ApiError> {
    let request = body?
        .0
        .ok_or_else(|| ApiError::invalid("send {\"id\":\"FORGE:LOGIN\"}"))?;
    let org: OrgId = state
        .forges
        .parse(&request.id)
        .map_err(|e| ApiError::invalid(e.to_string()))?;
    let added = state.store.add_tracked_org(&org, Utc::now()).await?;
    let status = if added { Status::Created } else { Status::Ok };
    Ok((
        status,
        Json(Tracking {
            id: org.to_string(),
            tracked: true,
            changed: added,
            purged: false,
        }),
    ))
}

/// Stops tracking an organisation; its data is kept unless `purge=true`.
#[utoipa::path(delete, path = "/api/v1/orgs/{forge}/{login}", tag = "organisations",
    params(
        OrgPath, PurgeQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "No longer tracked", body = Tracking),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 404, description = "Not tracked (and nothing purged)", body = ErrorBody),
        (status = 422, description = "Invalid id or parameter", body = ErrorBody)))]
#[rocket::delete("/orgs/<_>/<_>?<query..>")]
pub(crate) async fn untrack_org(
    state: &State<WebState>,
    _who: Maintainer,
    org: OrgPath,
    query: PurgeQuery<'_>,
) -> Result<Json<Tracking>, ApiError> {
    let org = org.0;
    let purge = flag("purge", query.purge.typed("purge")?)?.unwrap_or(false);
    let removed = state.store.remove_tracked_org(&org, purge).await?;
    if !removed && !purge {
        return Err(ApiError::not_found(format!("{org} is not tracked")));
    }
    Ok(Json(Tracking {
        id: org.to_string(),
        tracked: false,
        changed: removed,
        purged: purge,
    }))
}
