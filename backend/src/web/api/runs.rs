//! Refresh runs: the history with the schedule's next tick, and one run by id.

use chrono::{DateTime, Utc};
use rocket::serde::json::Json;
use rocket::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::{json_body, RunView};
use crate::domain::RunId;
use crate::web::cache::{CachedGet, Conditional, Scope};
use crate::web::error::{ApiError, ErrorBody};
use crate::web::extract::bounded;
use crate::web::params::RunsQuery;
use crate::web::WebState;

/// Refresh runs with the schedule and its next planned run.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RunList {
    /// The cron expression (with seconds, UTC); `null` when this server does not schedule.
    pub schedule: Option<String>,
    pub next_scheduled_at: Option<DateTime<Utc>>,
    /// Newest first.
    pub runs: Vec<RunView>,
}

/// Refresh runs, newest first, and when the next scheduled one is due.
#[utoipa::path(get, path = "/api/v1/runs", tag = "runs",
    params(RunsQuery),
    responses((status = 200, description = "Runs, newest first", body = RunList), (status = 422, description = "Invalid limit", body = ErrorBody)))]
#[rocket::get("/runs?<query..>")]
pub(crate) async fn list_runs(
    get: CachedGet<'_>,
    query: RunsQuery<'_>,
) -> Result<Conditional, ApiError> {
    let limit = bounded("limit", query.limit.typed("limit")?, 50, 1, Some(200))?;
    get.answer(Scope::Any, || async {
        let runs = get.state.store.list_runs(limit).await?;
        json_body(&RunList {
            schedule: get.state.schedule.as_ref().map(|s| s.expr().to_owned()),
            next_scheduled_at: get
                .state
                .schedule
                .as_ref()
                .and_then(|s| s.next_after(Utc::now())),
            runs: runs.iter().map(RunView::from).collect(),
        })
    })
    .await
}

/// One run with its per-organisation outcome and progress.
#[utoipa::path(get, path = "/api/v1/runs/{id}", tag = "runs",
    params(("id" = String, Path, description = "The run's id")),
    responses((status = 200, description = "The run", body = RunView), (status = 404, description = "No such run", body = ErrorBody)))]
#[rocket::get("/runs/<id>")]
pub(crate) async fn get_run(state: &State<WebState>, id: &str) -> Result<Json<RunView>, ApiError> {
    // Not cached: clients poll this while a run is going.
    match state.store.get_run(&RunId(id.to_owned())).await? {
        Some(run) => Ok(Json((&run).into())),
        None => Err(ApiError::not_found(format!("there is no run {id}"))),
    }
}
