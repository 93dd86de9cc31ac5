//! Vulnerabilities end to end: fakeforge's GitHub serves SBOMs, its OSV stand-in the
//! advisories; after each refresh every stored finding (repository, package, advisory,
//! severity, fixed version) equals one computed here from the world's SBOMs and the
//! stand-in's records, and the requests, events and failures behave as OSV requires.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use fakeforge::osv::{self as fake_osv, OsvState};
use orgpulse::domain::vulnerabilities::Finding;
use orgpulse::domain::{EventKind, OrgId, RunOptions};
use orgpulse::ingest::{Clock, IngestContext, SecurityOptions};
use orgpulse::store::{EventQuery, Store};
use serde_json::Value;

use crate::common::*;

async fn forge() -> fakeforge::Running {
    fakeforge::start(fakeforge::ForgeConfig {
        world: fakeforge::WorldConfig {
            orgs: 2,
            repos: 40,
            seed: 11,
            changed_per_day: 0.3,
        },
        rate_limit: 1_000_000,
        ..fakeforge::ForgeConfig::default()
    })
    .await
    .expect("fakeforge starts")
}

/// The fake's day `day` at 03:00, as the clock of the refresh that day; `later` moves
/// the clock on without moving the world.
fn when(day: u32, later: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(
        fakeforge::world::EPOCH + (i64::from(day) + later) * 86_400 + 3 * 3_600,
        0,
    )
    .expect("time")
}

fn ctx(store: Arc<dyn Store>, forge: &fakeforge::Running, at: DateTime<Utc>) -> IngestContext {
    let mut ctx = context_at(store, &forge.url);
    ctx.options = RunOptions {
        languages: false,
        libraries: true,
    };
    ctx.clock = Clock::fixed(at);
    ctx.security = SecurityOptions {
        osv_url: Some(format!("{}/osv", forge.url)),
        osv_data_dir: None,
        scorecard_url: Some(format!("{}/scorecard", forge.url)),
        osv_policy: fast_policy(),
    };
    ctx
}

/// A finding as compared: (org, repo, package type, name, version, advisory) →
/// (severity, fixed).
type Key = (String, i64, String, String, String, String);
type Expected = BTreeMap<Key, (&'static str, Option<String>)>;

/// Severity of the stand-in's vectors, scored by hand from the CVSS specifications.
fn severity_of(record: &Value) -> &'static str {
    match record["severity"][0]["score"].as_str() {
        Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H") => "critical", // 10.0
        Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N") => "high",     // 7.5
        Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N") => "medium",   // 5.4
        Some("CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N") => "low",      // 1.8
        Some("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:N/VA:N/SC:N/SI:N/SA:N") => "medium", // 6.9
        Some(other) => panic!("a vector this test does not know: {other}"),
        None => match record["database_specific"]["severity"].as_str() {
            Some("HIGH") => "high",
            _ => "unknown",
        },
    }
}

fn numbers(v: &str) -> Vec<u64> {
    v.split('.').map(|p| p.parse().expect("numeric")).collect()
}

/// The `fixed` closing the range `version` is in.
fn fixed_of(record: &Value, version: &str) -> Option<String> {
    for range in record["affected"][0]["ranges"].as_array()? {
        if range["type"] == "GIT" {
            continue;
        }
        let events = range["events"].as_array()?;
        let introduced = events[0]["introduced"].as_str()?;
        let low = if introduced == "0" {
            vec![0]
        } else {
            numbers(introduced)
        };
        if let Some(fixed) = events.get(1).and_then(|e| e["fixed"].as_str()) {
            if low <= numbers(version) && numbers(version) < numbers(fixed) {
                return Some(fixed.to_owned());
            }
        }
    }
    None
}

/// Every finding the world's SBOMs on `day` and the stand-in's records under `state` make.
fn expected(forge: &fakeforge::Running, day: u32, state: &OsvState) -> Expected {
    let world = forge.forge.world();
    let records: Vec<Value> = fake_osv::records(state)
        .into_iter()
        .filter(|r| r.get("withdrawn").is_none())
        .collect();
    let mut out = Expected::new();
    for org in &world.orgs {
        for n in 0..world.repo_count(day) {
            let id = world.repo(org, n, day)["id"].as_i64().expect("id");
            let Some(sbom) = world.sbom(org, n, day) else {
                continue;
            };
            for package in sbom["sbom"]["packages"].as_array().expect("packages") {
                let purl = package["externalRefs"][0]["referenceLocator"]
                    .as_str()
                    .expect("purl");
                let rest = purl.strip_prefix("pkg:").expect("a purl");
                let (kind, path) = rest.split_once('/').expect("type");
                let (name, version) = path.rsplit_once('@').expect("version");
                let name = name.replace("%40", "@");
                if matches!(kind, "github" | "githubactions" | "generic") {
                    continue;
                }
                for record in &records {
                    if fake_osv::affects(record, kind, &name, version) {
                        out.insert(
                            (
                                format!("github:{}", org.login),
                                id,
                                kind.to_owned(),
                                name.clone(),
                                version.to_owned(),
                                record["id"].as_str().expect("id").to_owned(),
                            ),
                            (severity_of(record), fixed_of(record, version)),
                        );
                    }
                }
            }
        }
    }
    out
}

async fn stored(store: &Arc<dyn Store>, orgs: &[OrgId]) -> (Expected, Vec<Finding>) {
    let mut out = Expected::new();
    let mut all = Vec::new();
    for org in orgs {
        for f in store.findings(org, None).await.expect("findings") {
            out.insert(
                (
                    org.to_string(),
                    f.repo_id,
                    f.package.ecosystem.clone(),
                    f.package.name.clone(),
                    f.package.version.clone(),
                    f.advisory.id.clone(),
                ),
                (f.severity().as_str(), f.fixed.clone()),
            );
            all.push(f);
        }
    }
    (out, all)
}

fn counter(forge: &fakeforge::Running, name: &str) -> u64 {
    forge.forge.counters().get(name).copied().unwrap_or(0)
}

async fn vulnerability_events(store: &Arc<dyn Store>) -> BTreeSet<(&'static str, String)> {
    let events = store
        .list_events(&EventQuery {
            org: None,
            kind: None,
            since: None,
            before: None,
            after: None,
            limit: 10_000,
        })
        .await
        .expect("events");
    events
        .into_iter()
        .filter(|e| {
            matches!(
                e.event.kind,
                EventKind::VulnerabilityFound | EventKind::VulnerabilityFixed
            )
        })
        .map(|e| {
            (
                e.event.kind.as_str(),
                format!(
                    "{}|{}|{}",
                    e.event.org,
                    e.event.repo_id.unwrap_or_default(),
                    e.event.to.unwrap_or_default()
                ),
            )
        })
        .collect()
}

/// The event's key of a finding: its exposure (no version).
fn event_key(k: &Key) -> String {
    format!("{}|{}|{} in {}/{}", k.0, k.1, k.5, k.2, k.3)
}

fn exposures(findings: &Expected) -> BTreeSet<String> {
    findings.keys().map(event_key).collect()
}

/// The world's organisations, as GitHub organisations.
fn world_orgs(forge: &fakeforge::Running) -> Vec<OrgId> {
    forge
        .forge
        .world()
        .orgs
        .iter()
        .map(|o| org(&format!("github:{}", o.login)))
        .collect()
}

#[tokio::test]
async fn findings_equal_the_advisories_osv_holds_for_the_stored_sboms() {
    let forge = forge().await;
    let (_db, store) = sqlite_store().await;
    let orgs = world_orgs(&forge);
    let names: Vec<String> = orgs.iter().map(ToString::to_string).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut state = OsvState::default();

    // Day 0: the first check is the starting point.
    let run = refresh(&ctx(store.clone(), &forge, when(0, 0)), &names).await;
    assert_eq!(run.message, None, "{run:?}");
    let want = expected(&forge, 0, &state);
    let (got, findings) = stored(&store, &orgs).await;
    assert!(want.len() > 20, "the world has findings: {}", want.len());
    assert_eq!(got, want);
    assert!(
        findings.iter().any(|f| f.fixed.is_none()) && findings.iter().any(|f| f.fixed.is_some())
    );
    assert!(
        findings.iter().all(|f| f.advisory.summary.is_some()),
        "a record without a summary takes its details' first line"
    );
    assert!(
        vulnerability_events(&store).await.is_empty(),
        "no events on the first check"
    );
    let first_batches = counter(&forge, "osv querybatch 200");
    assert!(first_batches >= 2, "results were paged: {first_batches}");
    let named: BTreeSet<&str> = want.keys().map(|k| k.5.as_str()).collect();
    assert!(
        counter(&forge, "osv vulns 200") as usize > named.len(),
        "every advisory named was fetched once, the withdrawn one too"
    );
    let s = store
        .security_state(&orgs[0])
        .await
        .expect("state")
        .expect("checked");
    assert_eq!(
        (s.confirmed_at, s.note.as_deref()),
        (Some(when(0, 0)), None)
    );
    assert!(s.unknown.is_empty());

    assert_scorecards(&store, &orgs, when(0, 0)).await;

    // The next day, nothing changed: the same batches, no record fetched again, no
    // Scorecard result asked before its week is up.
    forge.forge.reset_counters();
    refresh(&ctx(store.clone(), &forge, when(0, 1)), &names).await;
    assert_eq!(counter(&forge, "osv querybatch 200"), first_batches);
    assert_eq!(counter(&forge, "osv vulns 200"), 0);
    assert_eq!(
        counter(&forge, "scorecard 200") + counter(&forge, "scorecard 404"),
        0
    );
    assert_eq!(stored(&store, &orgs).await.0, want);

    // Day 6: pushes moved versions; findings follow, with events for the difference.
    forge.forge.set_day(6);
    refresh(&ctx(store.clone(), &forge, when(6, 0)), &names).await;
    let later = expected(&forge, 6, &state);
    assert_eq!(stored(&store, &orgs).await.0, later);
    let (before, after_push) = (exposures(&want), exposures(&later));
    let mut news = BTreeSet::new();
    for k in after_push.difference(&before) {
        news.insert(("vulnerability_found", k.clone()));
    }
    for k in before.difference(&after_push) {
        news.insert(("vulnerability_fixed", k.clone()));
    }
    assert!(
        news.iter().any(|(k, _)| *k == "vulnerability_fixed"),
        "an upgrade fixed something"
    );
    assert_eq!(vulnerability_events(&store).await, news);
    // first_seen is kept for what stayed.
    let (_, now) = stored(&store, &orgs).await;
    assert!(now
        .iter()
        .any(|f| f.first_seen == when(0, 0) && f.confirmed_at == when(6, 0)));

    // A record withdrawn and one modified: only those two are fetched again.
    let withdrawn = later.keys().next().expect("a finding").5.clone();
    let modified = later
        .keys()
        .map(|k| k.5.clone())
        .find(|id| *id != withdrawn)
        .expect("another advisory");
    state.withdrawn.insert(withdrawn.clone());
    state.modified.insert(modified.clone(), 1);
    forge.forge.osv(|s| *s = state.clone());
    forge.forge.reset_counters();
    refresh(&ctx(store.clone(), &forge, when(6, 1)), &names).await;
    // A week after day 0: every repository is asked again.
    assert!(counter(&forge, "scorecard 200") > 0);
    assert_scorecards(&store, &orgs, when(6, 1)).await;
    assert_eq!(counter(&forge, "osv vulns 200"), 2);
    let after = expected(&forge, 6, &state);
    let (got, findings) = stored(&store, &orgs).await;
    assert_eq!(got, after);
    assert!(!got.keys().any(|k| k.5 == withdrawn));
    assert!(findings
        .iter()
        .filter(|f| f.advisory.id == modified)
        .all(|f| f
            .advisory
            .summary
            .as_deref()
            .unwrap_or("")
            .starts_with("Revised (1)")));
    let events = vulnerability_events(&store).await;
    for k in later.keys().filter(|k| k.5 == withdrawn) {
        assert!(events.contains(&("vulnerability_fixed", event_key(k))));
    }

    // OSV down: the last results stay, with the date they were confirmed.
    forge.forge.osv(|s| s.down = true);
    let run = refresh(&ctx(store.clone(), &forge, when(6, 2)), &names).await;
    let message = run.message.unwrap_or_default();
    assert!(message.contains("OSV did not answer"), "{message}");
    assert_eq!(stored(&store, &orgs).await.0, after, "nothing is wiped");
    let s = store
        .security_state(&orgs[0])
        .await
        .expect("state")
        .expect("checked");
    assert_eq!(s.confirmed_at, Some(when(6, 1)));
    assert_eq!(s.checked_at, when(6, 2));
    assert!(s.note.is_some());

    // 429 and 500 are retried; a package OSV cannot read is unknown, the rest go on.
    let refused = after.keys().next().expect("a finding").3.clone();
    forge.forge.osv(|s| {
        s.down = false;
        s.fail_next = vec![429, 500];
        s.refuse.insert(refused.clone());
    });
    let run = refresh(&ctx(store.clone(), &forge, when(6, 3)), &names).await;
    assert_eq!(run.message, None, "retried to the end");
    assert_eq!(counter(&forge, "osv querybatch 429"), 1);
    assert_eq!(counter(&forge, "osv querybatch 500"), 1);
    assert!(counter(&forge, "osv querybatch 400") >= 1);
    assert_eq!(
        stored(&store, &orgs).await.0,
        after,
        "a package OSV cannot read now keeps what it said before"
    );
    let unknown: BTreeSet<String> = {
        let mut all = BTreeSet::new();
        for o in &orgs {
            let s = store
                .security_state(o)
                .await
                .expect("state")
                .expect("checked");
            all.extend(s.unknown.into_iter().map(|p| p.name));
        }
        all
    };
    assert_eq!(unknown, BTreeSet::from([refused]));
    assert_eq!(
        store
            .security_days(&orgs[0], when(0, 0).date_naive(), when(6, 3).date_naive())
            .await
            .expect("days")
            .len(),
        6,
        "one entry per day checked"
    );

    serves_the_findings(&store, &orgs[0]).await;
}

/// Every live repository's stored Scorecard result is the stand-in's, fetched at `at`;
/// one in four is "not scored".
async fn assert_scorecards(store: &Arc<dyn Store>, orgs: &[OrgId], at: DateTime<Utc>) {
    let mut not_scored = 0;
    for org in orgs {
        let repos = store.list_repos(org).await.expect("repos");
        let ids: Vec<i64> = repos.iter().map(|r| r.listing.id).collect();
        let stored = store
            .scorecards(org.forge(), &ids)
            .await
            .expect("scorecards");
        assert_eq!(stored.len(), repos.len(), "every repository asked");
        for r in &repos {
            let entry = &stored[&r.listing.id];
            assert_eq!(entry.fetched_at, at);
            // The date is not compared: only what the result says of the repository.
            let want =
                fakeforge::scorecard::result(r.listing.id, &r.listing.full_name, "2025-01-01");
            match (&entry.result, want) {
                (None, None) => not_scored += 1,
                (Some(got), Some(want)) => {
                    assert_eq!(got.score, want["score"].as_f64().expect("score"));
                    let checks = want["checks"].as_array().expect("checks");
                    assert_eq!(got.checks.len(), checks.len());
                    for (g, w) in got.checks.iter().zip(checks) {
                        let score = w["score"].as_i64().expect("score");
                        assert_eq!(g.score.map(i64::from), (score >= 0).then_some(score));
                    }
                }
                (got, want) => panic!("repository {}: {got:?} against {want:?}", r.listing.id),
            }
        }
    }
    assert!(not_scored > 0, "some repositories are not scored");
}

/// The API shows the stored findings: grouped by package, as CSV, per repository, in the
/// attention report once they are old enough, and on the badge.
async fn serves_the_findings(store: &Arc<dyn Store>, acme: &OrgId) {
    use orgpulse::domain::attention::AttentionRules;
    use orgpulse::domain::vulnerabilities::SeverityCounts;
    use rocket::http::Status;
    use rocket::local::asynchronous::Client;

    let findings = store.findings(acme, None).await.expect("findings");
    store
        .add_tracked_org(acme, chrono::Utc::now())
        .await
        .expect("tracked");
    let services = orgpulse::web::Services {
        attention: AttentionRules {
            vuln_days: Some(5),
            ..AttentionRules::default()
        },
        ..orgpulse::web::Services::reading(store.clone())
    };
    let client = Client::tracked(
        orgpulse::web::build(services, orgpulse::web::rocket_config()).expect("templates"),
    )
    .await
    .expect("rocket");
    let base = format!("/api/v1/orgs/{}/{}", acme.forge(), acme.login());

    let (status, body) = crate::web::json(&client, &format!("{base}/vulnerabilities")).await;
    assert_eq!(status, Status::Ok, "{body}");
    let packages = body["packages"].as_array().expect("packages");
    let distinct: BTreeSet<String> = findings.iter().map(|f| f.package.purl()).collect();
    assert_eq!(packages.len(), distinct.len());
    let counts = SeverityCounts::of(&findings);
    assert_eq!(body["counts"]["critical"], counts.critical);
    assert_eq!(body["counts"]["high"], counts.high);
    let order = ["critical", "high", "medium", "low", "unknown"];
    let ranks: Vec<usize> = packages
        .iter()
        .map(|p| {
            order
                .iter()
                .position(|s| p["severity"] == *s)
                .expect("a severity")
        })
        .collect();
    assert!(
        ranks.windows(2).all(|w| w[0] <= w[1]),
        "worst first: {ranks:?}"
    );
    for p in packages {
        let advisories = p["advisories"].as_array().expect("advisories");
        let fixes: Vec<Option<&str>> = advisories.iter().map(|a| a["fixed"].as_str()).collect();
        if fixes.iter().any(Option::is_none) {
            assert!(p["fixed"].is_null(), "one advisory has no fix: {p}");
        } else {
            let highest = fixes
                .iter()
                .flatten()
                .max_by_key(|v| numbers(v))
                .expect("a fix");
            assert_eq!(p["fixed"], *highest, "{p}");
        }
        assert!(advisories.iter().all(|a| a["url"]
            .as_str()
            .unwrap_or("")
            .starts_with("https://osv.dev/vulnerability/")));
    }
    let history = body["history"].as_array().expect("history");
    assert!(!history.is_empty(), "the days checked");
    assert_eq!(
        history.last().expect("a day")["counts"]["high"],
        store
            .security_state(acme)
            .await
            .expect("state")
            .expect("checked")
            .counts
            .high
    );
    let check = &body["check"];
    assert!(check["packages"].as_u64().unwrap_or(0) >= distinct.len() as u64);
    let state = store
        .security_state(acme)
        .await
        .expect("state")
        .expect("checked");
    let unknown: Vec<String> = state.unknown.iter().map(|p| p.purl()).collect();
    assert_eq!(
        check["unknown"],
        serde_json::json!(unknown),
        "the package OSV refused"
    );

    let (status, csv) = crate::web::get(&client, &format!("{base}/vulnerabilities.csv")).await;
    assert_eq!(status, Status::Ok);
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    assert_eq!(
        reader.headers().expect("header").iter().collect::<Vec<_>>(),
        orgpulse::web::api::VULNERABILITIES_CSV_COLUMNS
    );
    assert_eq!(reader.records().count(), findings.len());

    let repo_id = findings[0].repo_id;
    let detail = store
        .org_detail(acme)
        .await
        .expect("detail")
        .expect("stored");
    let name = detail
        .repos
        .iter()
        .find(|r| r.listing.id == repo_id)
        .expect("the repository")
        .listing
        .name
        .clone();
    let (status, one) =
        crate::web::json(&client, &format!("{base}/repos/{name}/vulnerabilities")).await;
    assert_eq!(status, Status::Ok, "{one}");
    let in_repo: BTreeSet<String> = findings
        .iter()
        .filter(|f| f.repo_id == repo_id)
        .map(|f| f.package.purl())
        .collect();
    assert_eq!(
        one["packages"].as_array().map(Vec::len),
        Some(in_repo.len())
    );
    let (status, body) =
        crate::web::json(&client, &format!("{base}/repos/nope/vulnerabilities")).await;
    crate::web::assert_api_error(status, &body, Status::NotFound, "not_found");

    // Critical or high, with a fix, found over 5 days before the organisation's data.
    let as_of = detail.record.as_ref().expect("a record").fetched_at;
    let mut overdue: BTreeSet<i64> = BTreeSet::new();
    for f in &findings {
        if matches!(f.severity().as_str(), "critical" | "high")
            && f.fixed.is_some()
            && f.first_seen <= as_of - chrono::Duration::days(5)
        {
            overdue.insert(f.repo_id);
        }
    }
    assert!(!overdue.is_empty(), "the world has overdue findings");
    let (status, body) = crate::web::json(&client, &format!("{base}/attention")).await;
    assert_eq!(status, Status::Ok, "{body}");
    let flagged: BTreeSet<i64> = body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| {
            i["reasons"]
                .as_array()
                .is_some_and(|r| r.iter().any(|r| r == "unfixed_vulnerability"))
        })
        .map(|i| i["id"].as_i64().expect("id"))
        .collect();
    let live: BTreeSet<i64> = detail
        .repos
        .iter()
        .filter(|r| r.gone_since.is_none() && !r.listing.archived)
        .map(|r| r.listing.id)
        .collect();
    assert_eq!(flagged, overdue.intersection(&live).copied().collect());

    // The pages: the organisation's Security section lists the worst package, with its
    // advisory and fixed version; the repository's page lists its own.
    let worst = &packages[0];
    let (status, html) =
        crate::web::get(&client, &format!("/orgs/{}/{}", acme.forge(), acme.login())).await;
    assert_eq!(status, Status::Ok);
    let section = &html[html.find(r#"id="security""#).expect("a Security section")..];
    let advisory = worst["advisories"][0]["id"].as_str().expect("id");
    assert!(section.contains(advisory), "{advisory}");
    assert!(section.contains(&format!(
        "<code>{}</code>",
        worst["version"].as_str().expect("version")
    )));
    assert!(section.contains("Vulnerable packages over time"));
    let (status, html) = crate::web::get(
        &client,
        &format!("/orgs/{}/{}/repos/{name}", acme.forge(), acme.login()),
    )
    .await;
    assert_eq!(status, Status::Ok);
    let section = &html[html.find(r#"id="security""#).expect("a Security section")..];
    let first = findings.iter().find(|f| f.repo_id == repo_id).expect("one");
    assert!(section.contains(&first.advisory.id));

    // The overview's card says how many critical and high.
    let (status, html) = crate::web::get(&client, "/").await;
    assert_eq!(status, Status::Ok);
    if counts.critical + counts.high > 0 {
        assert!(html.contains(&format!(
            "{} critical, {} high vulnerable packages",
            counts.critical, counts.high
        )));
    }
    let (status, _) = crate::web::get(&client, "/?sort=vulnerable").await;
    assert_eq!(status, Status::Ok);

    // Scorecard: the median on the overview and the organisation page, each repository's
    // result in the repository JSON and on its page.
    let scores: Vec<f64> = store
        .org_scorecards(acme)
        .await
        .expect("scorecards")
        .iter()
        .filter_map(|e| e.result.as_ref().map(|r| r.score))
        .collect();
    let median = orgpulse::domain::scorecard::median(&scores).expect("some are scored");
    assert!(html.contains(&format!("Median OpenSSF Scorecard score {median:.1} of 10")));
    let (status, page) =
        crate::web::get(&client, &format!("/orgs/{}/{}", acme.forge(), acme.login())).await;
    assert_eq!(status, Status::Ok);
    assert!(page.contains(&format!("median <strong>{median:.1}</strong> of 10")));
    let (status, repos) = crate::web::json(&client, &format!("{base}/repos?limit=100")).await;
    assert_eq!(status, Status::Ok, "{repos}");
    let cards = store
        .scorecards(
            acme.forge(),
            &detail
                .repos
                .iter()
                .map(|r| r.listing.id)
                .collect::<Vec<_>>(),
        )
        .await
        .expect("scorecards");
    for item in repos["items"].as_array().expect("items") {
        let id = item["id"].as_i64().expect("id");
        let stored = &cards[&id];
        assert_eq!(
            item["scorecard"]["scored"],
            stored.result.is_some(),
            "{item}"
        );
        if let Some(r) = &stored.result {
            assert_eq!(item["scorecard"]["score"], r.score);
            assert_eq!(
                item["scorecard"]["checks"].as_array().map(Vec::len),
                Some(r.checks.len())
            );
        }
    }
    let scored = detail
        .repos
        .iter()
        .find(|r| cards[&r.listing.id].result.is_some())
        .expect("a scored repository");
    let (_, page) = crate::web::get(
        &client,
        &format!(
            "/orgs/{}/{}/repos/{}",
            acme.forge(),
            acme.login(),
            scored.listing.name
        ),
    )
    .await;
    let result = cards[&scored.listing.id].result.as_ref().expect("scored");
    assert!(page.contains(&format!("Score <strong>{:.1}</strong> of 10", result.score)));
    assert!(page.contains(&result.checks[0].name));

    let (status, svg) = crate::web::get(
        &client,
        &format!(
            "/badge/{}/{}/vulnerabilities.svg",
            acme.forge(),
            acme.login()
        ),
    )
    .await;
    assert_eq!(status, Status::Ok);
    let label = format!("vulnerabilities: {}", counts.total());
    assert!(svg.contains(&label), "{svg}");
}

/// Writes the stand-in's records under `dir` as OSV's bucket lays its exports out
/// (`{Ecosystem}/all.zip`, one record a file), leaving out the ecosystems in `skip`.
fn write_exports(dir: &std::path::Path, state: &OsvState, skip: &[&str]) {
    use std::io::Write;
    let mut by_ecosystem: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for record in fake_osv::records(state) {
        let ecosystem = record["affected"][0]["package"]["ecosystem"]
            .as_str()
            .expect("ecosystem")
            .to_owned();
        by_ecosystem.entry(ecosystem).or_default().push(record);
    }
    for (ecosystem, records) in by_ecosystem {
        if skip.contains(&ecosystem.as_str()) {
            continue;
        }
        std::fs::create_dir_all(dir.join(&ecosystem)).expect("folder");
        let file = std::fs::File::create(dir.join(&ecosystem).join("all.zip")).expect("zip");
        let mut zip = zip::ZipWriter::new(file);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for record in records {
            let name = format!("{}.json", record["id"].as_str().expect("id"));
            zip.start_file(name, options).expect("entry");
            zip.write_all(record.to_string().as_bytes())
                .expect("written");
        }
        zip.finish().expect("finished");
    }
}

#[tokio::test]
async fn offline_exports_answer_as_the_api_does() {
    let forge = forge().await;
    let (_db, store) = sqlite_store().await;
    let orgs = world_orgs(&forge);
    let names: Vec<String> = orgs.iter().map(ToString::to_string).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let exports = tempfile::tempdir().expect("folder");
    let state = OsvState::default();
    // No RubyGems export: those packages stay unanswered.
    write_exports(exports.path(), &state, &["RubyGems"]);
    let mut offline = ctx(store.clone(), &forge, when(0, 0));
    offline.security.osv_url = None;
    offline.security.scorecard_url = None;
    offline.security.osv_data_dir = Some(exports.path().to_owned());
    let run = refresh(&offline, &names).await;
    let message = run.message.unwrap_or_default();
    assert!(message.contains("RubyGems"), "{message}");
    let want: Expected = expected(&forge, 0, &state)
        .into_iter()
        .filter(|(k, _)| k.2 != "gem")
        .collect();
    assert!(want.len() > 20);
    assert_eq!(stored(&store, &orgs).await.0, want);
    assert_eq!(
        counter(&forge, "osv querybatch 200") + counter(&forge, "osv vulns 200"),
        0,
        "the API is not asked"
    );
    let s = store
        .security_state(&orgs[0])
        .await
        .expect("state")
        .expect("checked");
    assert!(s.unanswered > 0, "the RubyGems packages");
    assert_eq!(s.confirmed_at, None);
}

/// A Scorecard API that does not answer in time is given up for the run after the first
/// requests, not asked once per repository (each would wait out its own timeouts); what
/// was stored stays, and the run says so.
#[tokio::test]
async fn an_unreachable_scorecard_api_is_given_up_for_the_run() {
    use wiremock::{matchers::any, Mock, MockServer, ResponseTemplate};
    let forge = forge().await;
    let silent = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(5)))
        .mount(&silent)
        .await;
    let (_db, store) = sqlite_store().await;
    let orgs = world_orgs(&forge);
    let mut ctx = ctx(store.clone(), &forge, when(0, 0));
    ctx.security.scorecard_url = Some(silent.uri());
    let started = std::time::Instant::now();
    let run = refresh(&ctx, &[&orgs[0].to_string()]).await;
    let message = run.message.unwrap_or_default();
    assert!(message.contains("could not be reached"), "{message}");
    let asked = silent.received_requests().await.expect("recorded").len();
    let policy = fast_policy();
    let bound = policy.concurrency * (policy.retries as usize + 1);
    assert!(
        asked <= bound,
        "{asked} requests for 40 repositories, at most {bound}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    let ids: Vec<i64> = store
        .list_repos(&orgs[0])
        .await
        .expect("repos")
        .iter()
        .map(|r| r.listing.id)
        .collect();
    assert!(store
        .scorecards(orgs[0].forge(), &ids)
        .await
        .expect("read")
        .is_empty());
}
