//! OpenSSF Scorecard results of GitHub repositories, as the Scorecard API publishes them
//! (weekly, for the repositories in its list or that publish their own): an overall
//! score out of 10 and each check's score and reason. A check scored −1 does not apply to
//! the repository; a repository the API does not know is "not scored", which is not a
//! failure.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Days before a repository's result is asked for again (Scorecard updates weekly).
pub const REFETCH_DAYS: i64 = 7;

/// One check of a result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScorecardCheck {
    pub name: String,
    /// 0–10; `None` when the check does not apply (the API's −1).
    pub score: Option<u8>,
    pub reason: Option<String>,
    /// The check's documentation.
    pub url: Option<String>,
}

/// A repository's published result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scorecard {
    /// The day Scorecard ran.
    pub date: Option<NaiveDate>,
    /// 0–10.
    pub score: f64,
    /// The commit it looked at.
    pub commit: Option<String>,
    pub checks: Vec<ScorecardCheck>,
}

/// What orgpulse last learnt of one repository.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScorecardEntry {
    pub repo_id: i64,
    pub fetched_at: DateTime<Utc>,
    /// `None`: not scored (the API does not know the repository).
    pub result: Option<Scorecard>,
}

impl ScorecardEntry {
    /// Whether it is old enough to ask for again at `now`.
    pub fn is_due(&self, now: DateTime<Utc>) -> bool {
        (now - self.fetched_at).num_days() >= REFETCH_DAYS
    }
}

/// The median of `scores`; `None` without any.
pub fn median(scores: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = scores.iter().copied().filter(|s| s.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    })
}

/// How many of `scores` fall in each band: 0–2, 2–4, 4–6, 6–8, 8–10 (a band holds its
/// lower bound; 10 is in the last).
pub fn bands(scores: &[f64]) -> [u64; 5] {
    let mut out = [0; 5];
    for s in scores.iter().filter(|s| s.is_finite()) {
        let band = ((s.clamp(0.0, 10.0) / 2.0).floor() as usize).min(4);
        out[band] += 1;
    }
    out
}

/// The bands' labels.
pub const BANDS: [&str; 5] = ["0–2", "2–4", "4–6", "6–8", "8–10"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_bands() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 9.1, 5.5]), Some(5.5));
        assert_eq!(median(&[4.0, 6.0, 2.0, 8.0]), Some(5.0));
        assert_eq!(bands(&[0.0, 1.9, 2.0, 7.9, 8.0, 10.0]), [2, 1, 0, 1, 2]);
    }

    #[test]
    fn an_entry_is_asked_again_after_a_week() {
        let at = DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        let entry = ScorecardEntry {
            repo_id: 1,
            fetched_at: at,
            result: None,
        };
        assert!(!entry.is_due(at + chrono::Duration::days(6)));
        assert!(entry.is_due(at + chrono::Duration::days(7)));
    }
}
