//! The OSV API client: which advisories apply to a list of package versions
//! (`POST /v1/querybatch`, at most 1,000 queries a request, each result paged by
//! `next_page_token`), and each advisory's full record (`GET /v1/vulns/{id}`).
//!
//! OSV publishes no rate limit: 429s and 5xx are retried with the shared client's
//! bounded, doubling backoff. A batch OSV refuses with 400 holds a query it cannot
//! parse; the batch is halved until that package stands alone, and only it is marked
//! unknown. When OSV cannot be reached the packages not yet answered are returned
//! unanswered, with the error: the caller keeps what it had for them.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use super::http::Outgoing;
use super::{base_headers, ApiRoot, HttpClient, HttpPolicy, SourceError, Tally};
use crate::domain::vulnerabilities::{
    Advisory, AdvisoryRef, Affected, AffectedRange, PackageVersion, RangeEvent, Rating,
};
use crate::metrics::Metrics;

/// OSV's cap on queries per batch.
pub const BATCH: usize = 1_000;

/// Follow-up requests for one batch's paged results before giving up on the rest.
const MAX_PAGES: usize = 100;

/// Where vulnerability answers come from: the OSV API ([`Osv`]) or OSV's offline exports
/// ([`super::osv_offline::OsvExport`]); the check is the same either way.
#[async_trait::async_trait]
pub trait OsvSource: Send + Sync {
    /// Which advisories apply to each of `packages`; those not answered are left out,
    /// with the reason in [`Queried::failed`].
    async fn query(&self, packages: &[PackageVersion], tally: &Tally) -> Queried;

    /// The record of advisory `id`; `None` when it is not known.
    async fn advisory(&self, id: &str, tally: &Tally) -> Result<Option<Advisory>, SourceError>;
}

/// A client for one OSV API.
#[derive(Debug)]
pub struct Osv {
    http: HttpClient,
    root: ApiRoot,
}

/// What [`Osv::query`] learnt.
#[derive(Debug, Default)]
pub struct Queried {
    /// Packages OSV answered for: their advisories, or why OSV could not read the package.
    pub answered: Vec<(PackageVersion, Result<Vec<AdvisoryRef>, String>)>,
    /// Why the rest were not answered, when some were not.
    pub failed: Option<SourceError>,
}

impl Osv {
    /// A client for the OSV API at `api_url` (`https://api.osv.dev`).
    pub fn new(
        api_url: &str,
        policy: HttpPolicy,
        cancel: CancellationToken,
        metrics: Arc<Metrics>,
    ) -> Result<Self, SourceError> {
        Ok(Osv {
            http: HttpClient::new(policy, base_headers("application/json"), cancel, metrics)?,
            root: ApiRoot::parse(api_url)?,
        })
    }

    /// Asks which advisories apply to each of `packages`, [`BATCH`] at a time.
    async fn ask(&self, packages: &[PackageVersion], tally: &Tally) -> Queried {
        let mut queried = Queried::default();
        // Batches still to ask; a refused batch comes back here in halves.
        let mut pending: Vec<&[PackageVersion]> = packages.chunks(BATCH).rev().collect();
        while let Some(batch) = pending.pop() {
            match self.batch(batch, tally).await {
                Ok(results) => queried
                    .answered
                    .extend(batch.iter().cloned().zip(results.into_iter().map(Ok))),
                Err(Refused::Query(message)) if batch.len() == 1 => {
                    tracing::warn!(package = %batch[0], %message, "OSV cannot read this package");
                    queried.answered.push((batch[0].clone(), Err(message)));
                }
                Err(Refused::Query(_)) => {
                    let (left, right) = batch.split_at(batch.len() / 2);
                    pending.push(right);
                    pending.push(left);
                }
                Err(Refused::Failed(e)) => {
                    queried.failed = Some(e);
                    break;
                }
            }
        }
        queried
    }

    /// One batch, its paged results followed to the end.
    async fn batch(
        &self,
        packages: &[PackageVersion],
        tally: &Tally,
    ) -> Result<Vec<Vec<AdvisoryRef>>, Refused> {
        let mut found: Vec<Vec<AdvisoryRef>> = vec![Vec::new(); packages.len()];
        // (index into `packages`, page token) of the queries to ask (again).
        let mut asking: Vec<(usize, Option<String>)> =
            (0..packages.len()).map(|i| (i, None)).collect();
        for _ in 0..MAX_PAGES {
            let queries: Vec<serde_json::Value> = asking
                .iter()
                .map(|(i, token)| {
                    let mut query = serde_json::json!({"package": {"purl": packages[*i].purl()}});
                    if let Some(token) = token {
                        query["page_token"] = token.clone().into();
                    }
                    query
                })
                .collect();
            let results = self.post_batch(&queries, tally).await?;
            let mut next = Vec::new();
            for ((i, _), result) in asking.iter().zip(results) {
                found[*i].extend(result.vulns.into_iter().map(|v| AdvisoryRef {
                    id: v.id,
                    modified: v.modified,
                }));
                if let Some(token) = result.next_page_token.filter(|t| !t.is_empty()) {
                    next.push((*i, Some(token)));
                }
            }
            if next.is_empty() {
                for refs in &mut found {
                    let mut seen = std::collections::HashSet::new();
                    refs.retain(|r| seen.insert(r.id.clone()));
                }
                return Ok(found);
            }
            asking = next;
        }
        Err(Refused::Failed(SourceError::Malformed {
            url: self.querybatch_url().to_string(),
            detail: format!("results still paged after {MAX_PAGES} requests"),
        }))
    }

    async fn post_batch(
        &self,
        queries: &[serde_json::Value],
        tally: &Tally,
    ) -> Result<Vec<WireResult>, Refused> {
        let url = self.querybatch_url();
        let body = serde_json::to_vec(&serde_json::json!({ "queries": queries }))
            .expect("JSON values serialise");
        let request = Outgoing {
            method: reqwest::Method::POST,
            url: &url,
            body: Some(&body),
            follow_redirects: true,
            retry_server_errors: true,
            limited: None,
            authorization: None,
        };
        let answer = self
            .http
            .send(&request, tally)
            .await
            .map_err(Refused::Failed)?;
        if answer.status == StatusCode::BAD_REQUEST {
            return Err(Refused::Query(answer.message()));
        }
        if answer.status != StatusCode::OK {
            return Err(Refused::Failed(answer.unexpected(&url)));
        }
        let malformed = |detail: String| {
            Refused::Failed(SourceError::Malformed {
                url: url.to_string(),
                detail,
            })
        };
        let batch: WireBatch =
            serde_json::from_slice(&answer.body).map_err(|e| malformed(e.to_string()))?;
        if batch.results.len() != queries.len() {
            return Err(malformed(format!(
                "{} results for {} queries",
                batch.results.len(),
                queries.len()
            )));
        }
        Ok(batch.results)
    }

    /// The record of advisory `id`; `None` when OSV no longer has it.
    async fn fetch(&self, id: &str, tally: &Tally) -> Result<Option<Advisory>, SourceError> {
        let url = self.root.url_encoded(&["v1", "vulns", id], None);
        let answer = self.http.send(&Outgoing::get(&url), tally).await?;
        match answer.status {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND => return Ok(None),
            _ => return Err(answer.unexpected(&url)),
        }
        let advisory = parse_record(&answer.body).map_err(|detail| SourceError::Malformed {
            url: url.to_string(),
            detail,
        })?;
        if advisory.id != id {
            return Err(SourceError::Malformed {
                url: url.to_string(),
                detail: format!("asked for {id}, got {}", advisory.id),
            });
        }
        Ok(Some(advisory))
    }

    fn querybatch_url(&self) -> url::Url {
        self.root.url_encoded(&["v1", "querybatch"], None)
    }
}

#[async_trait::async_trait]
impl OsvSource for Osv {
    async fn query(&self, packages: &[PackageVersion], tally: &Tally) -> Queried {
        self.ask(packages, tally).await
    }

    async fn advisory(&self, id: &str, tally: &Tally) -> Result<Option<Advisory>, SourceError> {
        self.fetch(id, tally).await
    }
}

/// One OSV record (the API's `/vulns/{id}` answer, or a file of an export), as orgpulse
/// keeps it.
pub(crate) fn parse_record(body: &[u8]) -> Result<Advisory, String> {
    serde_json::from_slice::<WireRecord>(body)
        .map(WireRecord::into_advisory)
        .map_err(|e| e.to_string())
}

enum Refused {
    /// 400: a query in the batch is one OSV cannot read.
    Query(String),
    Failed(SourceError),
}

#[derive(Deserialize)]
struct WireBatch {
    results: Vec<WireResult>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct WireResult {
    vulns: Vec<WireRef>,
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct WireRef {
    id: String,
    modified: DateTime<Utc>,
}

#[derive(Deserialize)]
struct WireRecord {
    id: String,
    modified: DateTime<Utc>,
    #[serde(default)]
    withdrawn: Option<DateTime<Utc>>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    details: Option<String>,
    #[serde(default)]
    severity: Vec<WireSeverity>,
    #[serde(default)]
    affected: Vec<serde_json::Value>,
    #[serde(default)]
    database_specific: Option<serde_json::Value>,
}

#[derive(Deserialize, Clone)]
struct WireSeverity {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

#[derive(Deserialize)]
struct WireAffected {
    package: WirePackage,
    #[serde(default)]
    ranges: Vec<WireRange>,
    #[serde(default)]
    versions: Vec<String>,
    #[serde(default)]
    severity: Vec<WireSeverity>,
    #[serde(default)]
    database_specific: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct WirePackage {
    ecosystem: String,
    name: String,
}

#[derive(Deserialize)]
struct WireRange {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    events: Vec<serde_json::Value>,
}

/// A database's own rating (`database_specific.severity`), if it gives one as text.
fn database_rating(specific: Option<&serde_json::Value>) -> Option<&str> {
    specific?.get("severity")?.as_str()
}

impl WireRecord {
    /// The record as orgpulse keeps it. An `affected` entry, range or event that cannot
    /// be read is left out, not the record.
    fn into_advisory(self) -> Advisory {
        let pairs = |s: &[WireSeverity]| -> Vec<(String, String)> {
            s.iter()
                .map(|s| (s.kind.clone(), s.score.clone()))
                .collect()
        };
        let affected: Vec<WireAffected> = self
            .affected
            .into_iter()
            .filter_map(|v| serde_json::from_value(v).ok())
            .collect();
        let database = database_rating(self.database_specific.as_ref()).map(str::to_owned);
        let affected: Vec<Affected> = affected
            .into_iter()
            .map(|a| {
                let own = database_rating(a.database_specific.as_ref());
                let rating = (!a.severity.is_empty() || own.is_some())
                    .then(|| Rating::rate(&pairs(&a.severity), own.or(database.as_deref())));
                Affected {
                    ecosystem: a.package.ecosystem,
                    name: a.package.name,
                    ranges: a
                        .ranges
                        .into_iter()
                        .filter(|r| r.kind != "GIT")
                        .map(|r| AffectedRange {
                            events: r.events.iter().filter_map(range_event).collect(),
                        })
                        .collect(),
                    versions: a.versions,
                    rating,
                }
            })
            .collect();
        let summary = self.summary.filter(|s| !s.trim().is_empty()).or_else(|| {
            // Some databases (PYSEC, Go) leave `summary` out: the details' first line.
            self.details
                .as_deref()
                .and_then(|d| d.lines().map(str::trim).find(|l| !l.is_empty()))
                .map(|l| l.chars().take(200).collect())
        });
        Advisory {
            id: self.id,
            modified: self.modified,
            withdrawn: self.withdrawn,
            aliases: self.aliases,
            summary,
            rating: Rating::rate(&pairs(&self.severity), database.as_deref()),
            affected,
        }
    }
}

fn range_event(value: &serde_json::Value) -> Option<RangeEvent> {
    let object = value.as_object()?;
    let (key, version) = object.iter().next()?;
    let version = version.as_str()?.to_owned();
    Some(match key.as_str() {
        "introduced" => RangeEvent::Introduced(version),
        "fixed" => RangeEvent::Fixed(version),
        "last_affected" => RangeEvent::LastAffected(version),
        "limit" => RangeEvent::Limit(version),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::vulnerabilities::Severity;

    /// GHSA-jfh8-c2jp-5v3q (Log4Shell) as OSV serves it, trimmed.
    const LOG4SHELL: &str = r#"{
      "id": "GHSA-jfh8-c2jp-5v3q", "modified": "2025-03-12T21:34:51.130Z",
      "published": "2021-12-10T00:40:56Z", "aliases": ["CVE-2021-44228"],
      "summary": "Remote code injection in Log4j", "details": "...",
      "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"}],
      "affected": [
        {"package": {"ecosystem": "Maven", "name": "org.apache.logging.log4j:log4j-core",
                     "purl": "pkg:maven/org.apache.logging.log4j/log4j-core"},
         "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "2.13.0"}, {"fixed": "2.15.0"}]},
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.3.1"}]},
                    {"type": "ECOSYSTEM", "events": [{"introduced": "2.4"}, {"fixed": "2.12.2"}]}],
         "database_specific": {"source": "https://github.com/github/advisory-database/blob/main/advisories/github-reviewed/2021/12/GHSA-jfh8-c2jp-5v3q/GHSA-jfh8-c2jp-5v3q.json"}},
        {"package": {"ecosystem": "Maven", "name": "org.ops4j.pax.logging:pax-logging-log4j2"},
         "ranges": [{"type": "GIT", "repo": "x", "events": [{"introduced": "0"}, {"fixed": "abc"}]}]},
        "not an entry"
      ],
      "database_specific": {"cwe_ids": ["CWE-502"], "severity": "CRITICAL", "github_reviewed": true}
    }"#;

    #[test]
    fn reads_a_record_as_osv_serves_it() {
        let record: WireRecord = serde_json::from_str(LOG4SHELL).expect("decodes");
        let advisory = record.into_advisory();
        assert_eq!(advisory.aliases, ["CVE-2021-44228"]);
        assert_eq!(advisory.rating.severity, Severity::Critical);
        assert_eq!(advisory.rating.score, Some(10.0));
        assert_eq!(
            advisory.affected.len(),
            2,
            "the unreadable entry is left out"
        );
        assert!(
            advisory.affected[1].ranges.is_empty(),
            "GIT ranges are not kept"
        );
        let package = PackageVersion {
            ecosystem: "maven".into(),
            name: "org.apache.logging.log4j/log4j-core".into(),
            version: "2.14.1".into(),
        };
        assert_eq!(advisory.fixed_for(&package).as_deref(), Some("2.15.0"));
        let old = PackageVersion {
            version: "2.8.2".into(),
            ..package
        };
        assert_eq!(advisory.fixed_for(&old).as_deref(), Some("2.12.2"));
    }

    #[test]
    fn a_record_without_a_summary_takes_the_first_line_of_its_details() {
        let record: WireRecord = serde_json::from_str(
            r#"{"id": "PYSEC-2023-1", "modified": "2023-01-01T00:00:00Z",
                "details": "\n  Django before 4.1.6 allows a denial of service.\nMore text.",
                "affected": [{"package": {"ecosystem": "PyPI", "name": "django"},
                  "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "4.1"}, {"fixed": "4.1.6"}]}]}]}"#,
        )
        .expect("decodes");
        let advisory = record.into_advisory();
        assert_eq!(
            advisory.summary.as_deref(),
            Some("Django before 4.1.6 allows a denial of service.")
        );
        assert_eq!(advisory.rating.severity, Severity::Unknown);
    }
}
