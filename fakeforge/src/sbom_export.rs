//! GitHub's SBOM export, which replaced the synchronous endpoint on 2026-11-13:
//! `generate-report` answers 201 with the report's address; that address answers 202
//! while the report is "generated" (`ForgeConfig::report_polls` times, every other one
//! with `retry-after: 0`), then 302 to a temporary download under `/_storage`, which
//! answers the SPDX document itself and refuses (401) a request that carries a token, as
//! the real storage host does. The old endpoint answers only with
//! `ForgeConfig::legacy_sbom` (an older GitHub Enterprise; see `github.rs`).

use std::sync::Arc;

use rocket::http::Status;
use rocket::{get, routes, State};
use serde_json::json;

use crate::app::Authorization;
use crate::github::{find_repo, Base, Found};
use crate::{delay, Forge, IfNoneMatch, Reply};

/// A report's id: the repository's id and the day it describes, in a UUID's shape.
fn report_id(id: i64, day: u32) -> String {
    format!("00000000-{day:04x}-4000-8000-{id:012x}")
}

/// The repository id and day a report id stands for.
fn parse_report_id(uuid: &str) -> Option<(i64, u32)> {
    let parts: Vec<&str> = uuid.split('-').collect();
    match parts.as_slice() {
        ["00000000", day, "4000", "8000", id] => Some((
            i64::from_str_radix(id, 16).ok()?,
            u32::from_str_radix(day, 16).ok()?,
        )),
        _ => None,
    }
}

#[get("/repos/<owner>/<repo>/dependency-graph/sbom/generate-report")]
async fn generate_report(forge: &State<Arc<Forge>>, owner: &str, repo: &str, base: Base) -> Reply {
    let fault = delay(forge).await;
    let day = forge.day();
    let (org, n) = match find_repo(forge, owner, repo) {
        Found::Repo(org, n) => (org, n),
        Found::Moved(_) | Found::Missing => {
            return forge.answer(fault, "sbom-report", None, &IfNoneMatch(None), Vec::new())
        }
    };
    if forge.world().sbom(&org, n, day).is_none() {
        forge.count("sbom-report", 403);
        return Reply::json(
            Status::Forbidden,
            &json!({"message": "Dependency graph is not enabled for this repository."}),
            Vec::new(),
        );
    }
    let id = forge.world().repo(&org, n, day)["id"].as_i64().unwrap_or(0);
    let url = format!(
        "{}/repos/{owner}/{repo}/dependency-graph/sbom/fetch-report/{}",
        base.0,
        report_id(id, day)
    );
    let mut answer = forge.answer(
        fault,
        "sbom-report",
        Some(json!({ "sbom_url": url })),
        &IfNoneMatch(None),
        Vec::new(),
    );
    if answer.status == Status::Ok {
        answer.status = Status::Created;
    }
    answer
}

#[get("/repos/<_owner>/<_repo>/dependency-graph/sbom/fetch-report/<uuid>")]
async fn fetch_report(
    forge: &State<Arc<Forge>>,
    _owner: &str,
    _repo: &str,
    uuid: &str,
    base: Base,
) -> Reply {
    let fault = delay(forge).await;
    if parse_report_id(uuid).is_none() {
        return forge.answer(fault, "sbom-fetch", None, &IfNoneMatch(None), Vec::new());
    }
    let polls = forge.poll_report(uuid);
    if polls <= forge.config().report_polls {
        forge.count("sbom-fetch", 202);
        let mut headers = Vec::new();
        if polls % 2 == 1 {
            headers.push(("retry-after".into(), "0".into()));
        }
        return Reply::json(
            Status::Accepted,
            &json!({"message": "The SBOM report is being generated."}),
            headers,
        );
    }
    forge.count("sbom-fetch", 302);
    Reply::redirect(
        Status::Found,
        format!("{}/_storage/sbom/{uuid}.json?sig=fake", base.0),
    )
}

#[get("/_storage/sbom/<file>?<sig>")]
async fn download(
    forge: &State<Arc<Forge>>,
    file: &str,
    sig: Option<&str>,
    authorization: Authorization,
) -> Reply {
    if authorization.0.is_some() {
        forge.count("sbom-download", 401);
        return Reply::text(
            Status::Unauthorized,
            "Server failed to authenticate the request: an Authorization header is not accepted with a signed URL.",
            Vec::new(),
        );
    }
    let found = file
        .strip_suffix(".json")
        .filter(|_| sig.is_some())
        .and_then(parse_report_id)
        .and_then(|(id, day)| {
            let (org, n) = forge.world().repo_by_id(id, day)?;
            forge.world().sbom(org, n, day)
        });
    match found {
        Some(mut export) => {
            forge.count("sbom-download", 200);
            // The download is the SPDX document itself, not wrapped.
            Reply::json(Status::Ok, &export["sbom"].take(), Vec::new())
        }
        None => {
            forge.count("sbom-download", 404);
            Reply::text(
                Status::NotFound,
                "The specified blob does not exist.",
                Vec::new(),
            )
        }
    }
}

impl Forge {
    /// Counts one more poll of SBOM report `id`; returns how many there were.
    fn poll_report(&self, id: &str) -> u32 {
        let mut reports = self.reports.lock().unwrap_or_else(|p| p.into_inner());
        let polls = reports.entry(id.to_owned()).or_insert(0);
        *polls += 1;
        *polls
    }
}

pub(crate) fn routes() -> Vec<rocket::Route> {
    routes![generate_report, fetch_report, download]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_ids_round_trip() {
        assert_eq!(parse_report_id(&report_id(123_456, 9)), Some((123_456, 9)));
        assert_eq!(parse_report_id("nope"), None);
    }
}
