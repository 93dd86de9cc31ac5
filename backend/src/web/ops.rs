//! Operations: liveness, readiness and Prometheus metrics.

use std::fmt::Write as _;

use rocket::http::{ContentType, Status};
use rocket::serde::json::Json;
use rocket::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::WebState;

/// A health answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Health {
    /// `ok` (alive) or `ready` (alive and the database answers).
    pub status: String,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "Alive", body = Health)))]
#[rocket::get("/healthz")]
pub(crate) fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// Readiness: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, description = "Ready", body = Health),
    (status = 503, description = "The database is not reachable", body = ErrorBody)))]
#[rocket::get("/readyz")]
pub(crate) async fn readyz(state: &State<WebState>) -> Result<Json<Health>, ApiError> {
    match state.store.ping().await {
        Ok(()) => Ok(Json(Health {
            status: "ready".into(),
        })),
        Err(e) => {
            tracing::warn!(error = %e, "not ready: the store does not answer");
            Err(ApiError::unavailable("the database is not reachable"))
        }
    }
}

/// Prometheus text format: HTTP requests and latency, refresh durations, upstream answers
/// by status, rate-limit budget, and each tracked organisation's last successful refresh.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
#[rocket::get("/metrics")]
pub(crate) async fn metrics(state: &State<WebState>) -> (Status, (ContentType, String)) {
    let mut text = state.metrics.render();
    match state.cache.overview(state.store.as_ref()).await {
        Ok(overview) => {
            text.push_str("# HELP orgpulse_org_last_success_timestamp_seconds When each tracked organisation's data was last stored.\n");
            text.push_str("# TYPE orgpulse_org_last_success_timestamp_seconds gauge\n");
            for o in overview.iter() {
                if let Some(at) = o.tracked.last_success_at {
                    let _ = writeln!(
                        text,
                        "orgpulse_org_last_success_timestamp_seconds{{org=\"{}\"}} {}",
                        crate::metrics::escape(&o.tracked.org.to_string()),
                        at.timestamp()
                    );
                }
            }
            text.push_str("# HELP orgpulse_tracked_orgs Organisations tracked.\n# TYPE orgpulse_tracked_orgs gauge\n");
            let _ = writeln!(text, "orgpulse_tracked_orgs {}", overview.len());
            text.push_str("# HELP orgpulse_store_up Whether the database answered this scrape.\n# TYPE orgpulse_store_up gauge\norgpulse_store_up 1\n");
        }
        Err(e) => {
            tracing::warn!(error = %e, "metrics: the store does not answer");
            text.push_str("# HELP orgpulse_store_up Whether the database answered this scrape.\n# TYPE orgpulse_store_up gauge\norgpulse_store_up 0\n");
        }
    }
    (
        Status::Ok,
        (
            ContentType::new("text", "plain")
                .with_params([("version", "0.0.4"), ("charset", "utf-8")]),
            text,
        ),
    )
}

pub(crate) fn routes() -> Vec<rocket::Route> {
    rocket::routes![healthz, readyz, metrics]
}
