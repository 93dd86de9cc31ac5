//! Manual refreshes (bearer token): start one, or join the one running.

use rocket::serde::json::Json;
use rocket::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::web::auth::Maintainer;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::extract::JsonBody;
use crate::web::WebState;

/// `{"orgs":["github:x"]}`, or no body for every tracked organisation.
#[derive(Debug, serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RefreshRequest {
    pub orgs: Option<Vec<String>>,
}

/// An accepted refresh.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RefreshAccepted {
    pub id: String,
    /// `queued` or `running` (or already finished, when joined late).
    pub status: String,
    /// `true` when a refresh was already running and this request joined it.
    pub coalesced: bool,
}

/// The 202 answer, with `Location` pointing at the run.
#[derive(Debug, rocket::Responder)]
#[response(status = 202)]
pub(crate) struct Accepted {
    body: Json<RefreshAccepted>,
    location: rocket::http::Header<'static>,
}

/// Starts a refresh (of the listed organisations, or every tracked one), or joins the one
/// already running in any instance.
#[utoipa::path(post, path = "/api/v1/refresh", tag = "runs",
    request_body(content = RefreshRequest, description = "Optional: which organisations (no body: every tracked one)"),
    security(("bearer" = [])),
    responses(
        (status = 202, description = "Started or joined; poll the run at `Location`", body = RefreshAccepted,
            headers(("Location" = String, description = "/api/v1/runs/{id}"))),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 413, description = "Body larger than 16 KiB", body = ErrorBody),
        (status = 422, description = "An invalid organisation id", body = ErrorBody),
        (status = 503, description = "Shutting down, or the database is not answering", body = ErrorBody)))]
#[rocket::post("/refresh", data = "<body>")]
pub(crate) async fn refresh(
    state: &State<WebState>,
    who: Maintainer,
    body: Result<JsonBody<RefreshRequest>, ApiError>,
) -> Result<Accepted, ApiError> {
    let orgs = body?
        .0
        .and_then(|request| request.orgs)
        .map(|ids| {
            ids.iter()
                .map(|id| {
                    state
                        .forges
                        .parse(id)
                        .map_err(|e| ApiError::invalid(e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let Some(refresher) = state.refresher.clone() else {
        return Err(ApiError::unavailable("this server does not run refreshes"));
    };
    let requested = refresher
        .request_refresh(crate::domain::Trigger::Api, orgs)
        .await
        .map_err(|e| {
            // The chain names internals (database, lease); it goes to the log only.
            tracing::error!(error = format!("{e:#}"), "refresh could not start");
            ApiError::unavailable("the refresh could not start; the server's log says why")
        })?;
    tracing::info!(run = %requested.run.id, token = %who.token, coalesced = requested.coalesced, "refresh requested");
    let id = requested.run.id.to_string();
    Ok(Accepted {
        location: rocket::http::Header::new("Location", format!("/api/v1/runs/{id}")),
        body: Json(RefreshAccepted {
            id,
            status: requested.run.status.as_str().to_owned(),
            coalesced: requested.coalesced,
        }),
    })
}
