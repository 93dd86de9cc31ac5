//! An OSV stand-in under `/osv`: `POST /osv/v1/querybatch` and `GET /osv/v1/vulns/{id}`
//! over a database of advisories made up for the world's libraries ([`records`]), with
//! OSV's behaviour where orgpulse depends on it: at most 1,000 queries a batch, a batch
//! with a query it cannot read refused whole with 400, a version both in the purl and in
//! `version` refused, each result paged (`next_page_token`, [`OsvState::page`] ids a
//! page), results carrying only `id` and `modified`.
//!
//! The database changes on demand ([`OsvState`]): records withdrawn or modified, and
//! faults — the next answers 429 or 500, or the whole API down (503).

use std::collections::{BTreeMap, BTreeSet};

use super::*;

/// The stand-in's state, changed by tests and `POST /_admin/osv`.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct OsvState {
    /// Ids per page of one query's results.
    pub page: usize,
    /// Statuses the next requests answer with, in order (429, 500, …).
    pub fail_next: Vec<u16>,
    /// Every request answers 503.
    pub down: bool,
    /// Package names whose purls the API "cannot parse": a batch holding one is a 400.
    pub refuse: BTreeSet<String>,
    /// Records withdrawn (their `modified` moves to the withdrawal).
    pub withdrawn: BTreeSet<String>,
    /// Records changed since the start: how many times (each moves `modified` a day).
    pub modified: BTreeMap<String, u32>,
}

impl Default for OsvState {
    fn default() -> Self {
        OsvState {
            page: 2,
            fail_next: Vec::new(),
            down: false,
            refuse: BTreeSet::new(),
            withdrawn: BTreeSet::new(),
            modified: BTreeMap::new(),
        }
    }
}

/// OSV's ecosystem for a package-URL type of the world.
fn ecosystem(purl_type: &str) -> Option<&'static str> {
    Some(match purl_type {
        "cargo" => "crates.io",
        "npm" => "npm",
        "pypi" => "PyPI",
        "golang" => "Go",
        "maven" => "Maven",
        "gem" => "RubyGems",
        _ => return None,
    })
}

/// The name as OSV writes it: Maven's `group:artifact`, PyPI's as the project spells it.
fn osv_name(purl_type: &str, name: &str) -> String {
    match purl_type {
        "maven" => name.replacen('/', ":", 1),
        "pypi" => {
            let mut c = name.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        }
        _ => name.to_owned(),
    }
}

const CRITICAL: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H";
const HIGH: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N";
const MEDIUM: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N";
const LOW: &str = "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N";
const V4_MEDIUM: &str = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N";

fn time(day: i64) -> String {
    world::timestamp(world::EPOCH - 400 * 86_400 + day * 86_400)
}

/// The database as it stands under `state`: a few advisories per library of the world
/// (versions there are `A.B.C`, A 1–3, B 0–19, C the last push's digit):
/// - every other library: affected before `A.(5+k%10).0`, CVSS v3 of a severity that
///   cycles critical, high, medium, low;
/// - every third: two release lines, `1.0.0`–`1.10.0` and `2.0.0`–`2.(k%20).6`, with only
///   the database's own rating (HIGH);
/// - every fifth: every version up to `3.19.9` affected, no fix, a CVSS v4 vector;
/// - library 1: a record that affects everything, withdrawn from the start.
pub fn records(state: &OsvState) -> Vec<Value> {
    let mut out = Vec::new();
    for (k, (purl_type, name)) in world::all_libraries().into_iter().enumerate() {
        let Some(eco) = ecosystem(purl_type) else {
            continue;
        };
        let package = json!({"ecosystem": eco, "name": osv_name(purl_type, name)});
        let k64 = k as i64;
        if k % 2 == 0 {
            let vector = [CRITICAL, HIGH, MEDIUM, LOW][(k / 2) % 4];
            out.push(json!({
                "id": format!("FAKE-{k}-A"), "modified": time(k64), "published": time(0),
                "aliases": [format!("CVE-2025-{:04}", 1000 + k)],
                "summary": format!("Injection in {name}"),
                "severity": [{"type": "CVSS_V3", "score": vector}],
                "affected": [{"package": package, "ranges": [{"type": "ECOSYSTEM", "events": [
                    {"introduced": "0"}, {"fixed": format!("{}.{}.0", 1 + k % 3, 5 + k % 10)}]}]}]
            }));
        }
        if k % 3 == 0 {
            out.push(json!({
                "id": format!("FAKE-{k}-B"), "modified": time(k64 + 1),
                "aliases": [format!("GHSA-fake-{k:04}-bbbb")],
                "details": format!("A denial of service in {name}.\nMore text follows."),
                "affected": [{"package": package, "ranges": [
                    {"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"fixed": "1.10.0"}]},
                    {"type": "SEMVER", "events": [{"introduced": "2.0.0"}, {"fixed": format!("2.{}.6", k % 20)}]},
                    {"type": "GIT", "repo": "https://example.com/x", "events": [{"introduced": "0"}, {"fixed": "deadbeef"}]}]}],
                "database_specific": {"severity": "HIGH"}
            }));
        }
        if k % 5 == 0 {
            out.push(json!({
                "id": format!("FAKE-{k}-C"), "modified": time(k64 + 2),
                "summary": format!("Information exposure in {name}"),
                "severity": [{"type": "CVSS_V4", "score": V4_MEDIUM}],
                "affected": [{"package": package, "ranges": [{"type": "ECOSYSTEM", "events": [
                    {"introduced": "0"}, {"last_affected": "3.19.9"}]}]}]
            }));
        }
        if k == 1 {
            out.push(json!({
                "id": "FAKE-1-W", "modified": time(3), "withdrawn": time(3),
                "summary": "Withdrawn: not a vulnerability",
                "affected": [{"package": package, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]}]
            }));
        }
    }
    for record in &mut out {
        let id = record["id"].as_str().unwrap_or_default().to_owned();
        let bumps = state.modified.get(&id).copied().unwrap_or(0);
        if bumps > 0 {
            record["modified"] = json!(time(500 + i64::from(bumps)));
            record["summary"] = json!(format!(
                "Revised ({bumps}): {}",
                record["summary"].as_str().unwrap_or("")
            ));
        }
        if state.withdrawn.contains(&id) {
            record["withdrawn"] = json!(time(600));
            record["modified"] = json!(time(600));
        }
    }
    out
}

/// Numeric `A.B.C` order (the world's versions and the records' events); `0` first.
pub fn version_order(a: &str, b: &str) -> std::cmp::Ordering {
    let parts = |v: &str| -> Vec<u64> { v.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    parts(a).cmp(&parts(b))
}

/// Whether `record` affects `name` (package-URL type and name) at `version`, OSV's way:
/// some range has an introduction at or before it with no fix or last-affected between.
pub fn affects(record: &Value, purl_type: &str, name: &str, version: &str) -> bool {
    let Some(eco) = ecosystem(purl_type) else {
        return false;
    };
    let wanted = osv_name(purl_type, name);
    record["affected"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|a| {
            a["package"]["ecosystem"] == eco
                && a["package"]["name"] == wanted.as_str()
                && a["ranges"].as_array().into_iter().flatten().any(|r| {
                    if r["type"] == "GIT" {
                        return false;
                    }
                    let mut inside = false;
                    for e in r["events"].as_array().into_iter().flatten() {
                        let (key, at) = match e.as_object().and_then(|o| o.iter().next()) {
                            Some((k, v)) => (k.as_str(), v.as_str().unwrap_or("0")),
                            None => continue,
                        };
                        let ord = version_order(at, version);
                        match key {
                            "introduced" if ord.is_le() => inside = true,
                            "fixed" if ord.is_le() => inside = false,
                            "last_affected" if ord.is_lt() => inside = false,
                            _ => {}
                        }
                    }
                    inside
                })
        })
}

/// `pkg:TYPE/NAME@VERSION` → (type, name, version); `None` when it is not one.
fn parse_purl(purl: &str) -> Option<(String, String, String)> {
    let rest = purl.strip_prefix("pkg:")?;
    let (purl_type, path) = rest.split_once('/')?;
    let (name, version) = path.rsplit_once('@')?;
    let decode = |s: &str| s.replace("%40", "@");
    Some((purl_type.to_owned(), decode(name), decode(version)))
}

impl Forge {
    /// Reads or changes the OSV stand-in's state.
    pub fn osv<T>(&self, f: impl FnOnce(&mut OsvState) -> T) -> T {
        f(&mut self.osv.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// A fault for this request, if the state holds one.
    fn osv_fault(&self, kind: &str) -> Option<Reply> {
        let status = self.osv(|s| {
            if s.down {
                Some(503)
            } else if s.fail_next.is_empty() {
                None
            } else {
                Some(s.fail_next.remove(0))
            }
        })?;
        self.count(kind, status);
        let status = Status::from_code(status).unwrap_or(Status::InternalServerError);
        Some(Reply::json(
            status,
            &json!({"code": 14, "message": "The service is currently unavailable."}),
            Vec::new(),
        ))
    }
}

#[post("/osv/v1/querybatch", data = "<body>")]
fn querybatch(forge: &State<Arc<Forge>>, body: &str) -> Reply {
    if let Some(fault) = forge.osv_fault("osv querybatch") {
        return fault;
    }
    let refuse = |message: &str| {
        forge.count("osv querybatch", 400);
        Reply::json(
            Status::BadRequest,
            &json!({"code": 3, "message": message}),
            Vec::new(),
        )
    };
    let Ok(request) = serde_json::from_str::<Value>(body) else {
        return refuse("Invalid JSON.");
    };
    let Some(queries) = request["queries"].as_array() else {
        return refuse("Invalid query.");
    };
    if queries.len() > 1_000 {
        return refuse("Too many queries.");
    }
    let state = forge.osv(|s| s.clone());
    let database = records(&state);
    let mut results = Vec::new();
    for query in queries {
        let Some((purl_type, name, version)) =
            query["package"]["purl"].as_str().and_then(parse_purl)
        else {
            return refuse("Invalid query.");
        };
        if query.get("version").is_some() {
            return refuse("version specified in params and PURL query");
        }
        if state.refuse.contains(&name) || ecosystem(&purl_type).is_none() {
            return refuse("Invalid query.");
        }
        let matching: Vec<Value> = database
            .iter()
            .filter(|r| affects(r, &purl_type, &name, &version))
            .map(|r| json!({"id": r["id"], "modified": r["modified"]}))
            .collect();
        let from: usize = query["page_token"]
            .as_str()
            .and_then(|t| t.strip_prefix("fake-page-"))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let page = state.page.max(1);
        let shown: Vec<&Value> = matching.iter().skip(from).take(page).collect();
        let mut result = serde_json::Map::new();
        if !shown.is_empty() {
            result.insert("vulns".into(), json!(shown));
        }
        if from + page < matching.len() {
            result.insert(
                "next_page_token".into(),
                json!(format!("fake-page-{}", from + page)),
            );
        }
        results.push(Value::Object(result));
    }
    forge.count("osv querybatch", 200);
    Reply::json(Status::Ok, &json!({ "results": results }), Vec::new())
}

#[get("/osv/v1/vulns/<id>")]
fn vuln(forge: &State<Arc<Forge>>, id: &str) -> Reply {
    if let Some(fault) = forge.osv_fault("osv vulns") {
        return fault;
    }
    let state = forge.osv(|s| s.clone());
    match records(&state).into_iter().find(|r| r["id"] == id) {
        Some(record) => {
            forge.count("osv vulns", 200);
            Reply::json(Status::Ok, &record, Vec::new())
        }
        None => {
            forge.count("osv vulns", 404);
            Reply::json(
                Status::NotFound,
                &json!({"code": 5, "message": "Bug not found."}),
                Vec::new(),
            )
        }
    }
}

/// `POST /_admin/osv` with a JSON [`OsvState`] (missing fields take their defaults).
#[post("/_admin/osv", data = "<body>")]
fn set_state(forge: &State<Arc<Forge>>, body: &str) -> Reply {
    match serde_json::from_str::<OsvState>(body) {
        Ok(state) => {
            forge.osv(|s| *s = state.clone());
            Reply::json(Status::Ok, &json!({ "osv": state }), Vec::new())
        }
        Err(e) => Reply::json(
            Status::UnprocessableEntity,
            &json!({"message": format!("not an OSV state: {e}")}),
            Vec::new(),
        ),
    }
}

pub(crate) fn routes() -> Vec<rocket::Route> {
    routes![querybatch, vuln, set_state]
}
