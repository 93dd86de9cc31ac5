//! An OpenSSF Scorecard stand-in under `/scorecard`:
//! `GET /scorecard/projects/github.com/{owner}/{repo}` answers a result made up from the
//! repository's id ([`result`]) — one repository in four is not scored (404), as most
//! repositories outside Scorecard's weekly list are not.

use super::*;

/// The checks the stand-in reports, in the API's names.
const CHECKS: [&str; 6] = [
    "Code-Review",
    "Maintained",
    "Vulnerabilities",
    "Packaging",
    "Branch-Protection",
    "Token-Permissions",
];

/// The result of repository `id` on `date` (`YYYY-MM-DD`), or `None` when it is not scored.
pub fn result(id: i64, full_name: &str, date: &str) -> Option<Value> {
    if id % 4 == 0 {
        return None;
    }
    let seed = world::mix_public(id as u64);
    let checks: Vec<Value> = CHECKS
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let roll = world::mix_public(seed ^ (i as u64 + 1));
            // Packaging is often not applicable: -1.
            let score = if *name == "Packaging" && roll.is_multiple_of(2) {
                -1
            } else {
                (roll % 11) as i64
            };
            json!({
                "name": name, "score": score,
                "reason": if score < 0 { "no published package detected".to_owned() } else { format!("{score}/10 on {name}") },
                "details": null,
                "documentation": {"short": format!("Checks {name}"), "url": format!("https://github.com/ossf/scorecard/blob/main/docs/checks.md#{}", name.to_lowercase())}
            })
        })
        .collect();
    let applicable: Vec<i64> = checks
        .iter()
        .filter_map(|c| c["score"].as_i64())
        .filter(|s| *s >= 0)
        .collect();
    let score = applicable.iter().sum::<i64>() as f64 / applicable.len().max(1) as f64;
    Some(json!({
        "date": format!("{date}T08:00:00Z"),
        "repo": {"name": format!("github.com/{full_name}"), "commit": format!("{seed:040x}")},
        "scorecard": {"version": "v5.0.0", "commit": "fake"},
        "score": (score * 10.0).round() / 10.0,
        "checks": checks,
    }))
}

#[get("/scorecard/projects/github.com/<owner>/<repo>")]
fn project(forge: &State<Arc<Forge>>, owner: &str, repo: &str) -> Reply {
    let not_scored = |forge: &Forge| {
        forge.count("scorecard", 404);
        Reply::json(
            Status::NotFound,
            &json!({"code": 404, "message": "fetching result: not found"}),
            Vec::new(),
        )
    };
    let Found::Repo(org, n) = find_repo(forge, owner, repo) else {
        return not_scored(forge);
    };
    let day = forge.day();
    let listing = forge.world().repo(&org, n, day);
    let id = listing["id"].as_i64().unwrap_or(0);
    let full_name = listing["full_name"].as_str().unwrap_or_default();
    let date = world::timestamp(world::EPOCH + i64::from(day) * 86_400);
    match result(id, full_name, &date[..10]) {
        Some(body) => {
            forge.count("scorecard", 200);
            Reply::json(Status::Ok, &body, Vec::new())
        }
        None => not_scored(forge),
    }
}

pub(crate) fn routes() -> Vec<rocket::Route> {
    routes![project]
}
