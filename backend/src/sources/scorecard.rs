//! The OpenSSF Scorecard API client: `GET {api}/projects/github.com/{owner}/{repo}`.
//! A 404 means the repository is not scored (only those in Scorecard's weekly list or
//! that publish their results are), which is an answer, not a failure.

use std::sync::Arc;

use chrono::NaiveDate;
use reqwest::StatusCode;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use super::http::Outgoing;
use super::{base_headers, ApiRoot, HttpClient, HttpPolicy, SourceError, Tally};
use crate::domain::scorecard::{Scorecard, ScorecardCheck};
use crate::metrics::Metrics;

/// A client for one Scorecard API.
#[derive(Debug)]
pub struct ScorecardApi {
    http: HttpClient,
    root: ApiRoot,
}

impl ScorecardApi {
    /// A client for the API at `api_url` (`https://api.securityscorecards.dev`).
    pub fn new(
        api_url: &str,
        policy: HttpPolicy,
        cancel: CancellationToken,
        metrics: Arc<Metrics>,
    ) -> Result<Self, SourceError> {
        Ok(ScorecardApi {
            http: HttpClient::new(policy, base_headers("application/json"), cancel, metrics)?,
            root: ApiRoot::parse(api_url)?,
        })
    }

    /// The published result of GitHub repository `full_name` (`owner/repo`); `None` when
    /// it is not scored.
    pub async fn result(
        &self,
        full_name: &str,
        tally: &Tally,
    ) -> Result<Option<Scorecard>, SourceError> {
        let (owner, repo) = full_name
            .split_once('/')
            .ok_or_else(|| SourceError::Malformed {
                url: full_name.to_owned(),
                detail: "not an owner/repository name".into(),
            })?;
        let url = self
            .root
            .url_encoded(&["projects", "github.com", owner, repo], None);
        let answer = self.http.send(&Outgoing::get(&url), tally).await?;
        match answer.status {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND => return Ok(None),
            _ => return Err(answer.unexpected(&url)),
        }
        let wire: WireResult =
            serde_json::from_slice(&answer.body).map_err(|e| SourceError::Malformed {
                url: url.to_string(),
                detail: e.to_string(),
            })?;
        Ok(Some(wire.into_scorecard()))
    }
}

#[derive(Deserialize)]
struct WireResult {
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    repo: Option<WireRepo>,
    score: f64,
    #[serde(default)]
    checks: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct WireRepo {
    #[serde(default)]
    commit: Option<String>,
}

#[derive(Deserialize)]
struct WireCheck {
    name: String,
    score: i64,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    documentation: Option<WireDocumentation>,
}

#[derive(Deserialize)]
struct WireDocumentation {
    #[serde(default)]
    url: Option<String>,
}

impl WireResult {
    /// The result as orgpulse keeps it; a check that cannot be read is left out.
    fn into_scorecard(self) -> Scorecard {
        Scorecard {
            // `2024-11-18` or `2024-11-18T08:52:26Z`, as the API's versions write it.
            date: self
                .date
                .as_deref()
                .and_then(|d| d.get(..10))
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
            score: self.score.clamp(0.0, 10.0),
            commit: self.repo.and_then(|r| r.commit),
            checks: self
                .checks
                .into_iter()
                .filter_map(|v| serde_json::from_value::<WireCheck>(v).ok())
                .map(|c| ScorecardCheck {
                    name: c.name,
                    score: u8::try_from(c.score).ok().filter(|s| *s <= 10),
                    reason: c.reason,
                    url: c.documentation.and_then(|d| d.url),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_result_as_the_api_serves_it() {
        let wire: WireResult = serde_json::from_str(
            r#"{"date": "2024-11-18T08:52:26Z",
                "repo": {"name": "github.com/ossf/scorecard", "commit": "7a7b8c"},
                "scorecard": {"version": "v5.0.0", "commit": "x"},
                "score": 8.3,
                "checks": [
                  {"name": "Code-Review", "score": 10, "reason": "all changesets reviewed",
                   "details": null, "documentation": {"short": "…", "url": "https://github.com/ossf/scorecard/blob/main/docs/checks.md#code-review"}},
                  {"name": "Packaging", "score": -1, "reason": "packaging workflow not detected"},
                  {"name": "broken"}
                ]}"#,
        )
        .expect("decodes");
        let card = wire.into_scorecard();
        assert_eq!(card.date, NaiveDate::from_ymd_opt(2024, 11, 18));
        assert_eq!(card.score, 8.3);
        assert_eq!(card.commit.as_deref(), Some("7a7b8c"));
        assert_eq!(card.checks.len(), 2, "the unreadable check is left out");
        assert_eq!(card.checks[0].score, Some(10));
        assert_eq!(card.checks[1].score, None, "-1: not applicable");
    }
}
