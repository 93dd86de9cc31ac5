//! The forge's rate-limit budget as its headers report it, and the waits it calls for.

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use tokio::time::Instant;

use super::headers::{rate_limit, retry_after, until_epoch};
use super::{HttpClient, SourceError};

#[derive(Debug, Default)]
pub(super) struct Budget {
    limit: Option<u64>,
    remaining: Option<u64>,
    /// UTC epoch seconds.
    reset: Option<u64>,
    /// Nothing is sent before this instant (a rate-limit wait every task honours).
    paused_until: Option<Instant>,
    /// Set once the run must stop fetching: every later request fails at once.
    exhausted: Option<Option<u64>>,
}

impl HttpClient {
    /// The budget left, as the forge last reported it.
    pub(crate) fn rate_limit_remaining(&self) -> Option<u64> {
        self.lock_budget().remaining
    }

    /// Decides whether a 403/429 is a rate limit and how long to wait before trying again:
    /// `Ok(None)` for an ordinary refusal, `Ok(Some(None))` for a limit without advice,
    /// `Err` when the run must stop fetching.
    pub(super) fn rate_limit_wait(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        message: &str,
    ) -> Result<Option<Option<Duration>>, SourceError> {
        if let Some(wait) = retry_after(headers) {
            return Ok(Some(Some(wait)));
        }
        if rate_limit(headers, "remaining") == Some(0) {
            let reset = rate_limit(headers, "reset");
            let wait = reset
                .map(until_epoch)
                .unwrap_or(self.policy.rate_limit_max_wait + Duration::from_secs(1));
            if wait > self.policy.rate_limit_max_wait {
                return Err(self.exhaust(reset));
            }
            return Ok(Some(Some(wait + Duration::from_secs(1))));
        }
        let says_limit = message.to_ascii_lowercase().contains("rate limit");
        if status == StatusCode::TOO_MANY_REQUESTS || says_limit {
            // A secondary limit without advice: the policy's doubling backoff.
            return Ok(Some(None));
        }
        Ok(None)
    }

    /// Waits out a pause, and refuses (or waits for a reset) when the budget is spent.
    pub(super) async fn wait_for_budget(&self) -> Result<(), SourceError> {
        loop {
            let wait = {
                let mut budget = self.lock_budget();
                if let Some(reset) = budget.exhausted {
                    return Err(SourceError::RateLimited { reset_at: reset });
                }
                if let Some(until) = budget.paused_until {
                    if until > Instant::now() {
                        Some(until - Instant::now())
                    } else {
                        budget.paused_until = None;
                        None
                    }
                } else if budget
                    .remaining
                    .is_some_and(|r| r <= self.policy.rate_limit_reserve)
                {
                    match budget.reset.map(until_epoch) {
                        Some(wait) if wait.is_zero() => {
                            // The window has rolled over; the next answer tells the new budget.
                            budget.remaining = None;
                            None
                        }
                        Some(wait) if wait <= self.policy.rate_limit_max_wait => {
                            budget.paused_until =
                                Some(Instant::now() + wait + Duration::from_millis(500));
                            tracing::warn!(
                                wait_s = wait.as_secs(),
                                "rate-limit budget spent; waiting for its reset"
                            );
                            continue;
                        }
                        _ => {
                            let reset = budget.reset;
                            budget.exhausted = Some(reset);
                            return Err(SourceError::RateLimited { reset_at: reset });
                        }
                    }
                } else {
                    None
                }
            };
            match wait {
                Some(wait) => self.sleep(wait).await?,
                None => return Ok(()),
            }
        }
    }

    pub(super) fn budget_is_low(&self) -> bool {
        let budget = self.lock_budget();
        match (budget.remaining, budget.limit) {
            (Some(remaining), Some(limit)) => {
                remaining < (limit / 10).max(self.policy.rate_limit_reserve * 2)
            }
            _ => false,
        }
    }

    pub(super) fn pause_for(&self, wait: Duration) {
        let mut budget = self.lock_budget();
        let until = Instant::now() + wait;
        budget.paused_until = Some(budget.paused_until.map_or(until, |u| u.max(until)));
    }

    pub(super) fn exhaust(&self, reset: Option<u64>) -> SourceError {
        let mut budget = self.lock_budget();
        let reset = reset.or(budget.reset);
        budget.exhausted = Some(reset);
        tracing::warn!("rate limit reached; no more upstream requests in this run");
        SourceError::RateLimited { reset_at: reset }
    }

    /// Records the rate-limit headers of an answer.
    pub(super) fn observe(&self, headers: &HeaderMap) {
        let Some(remaining) = rate_limit(headers, "remaining") else {
            return;
        };
        let reset = rate_limit(headers, "reset");
        let mut budget = self.lock_budget();
        // Answers arrive out of order: within one window keep the lowest figure.
        let same_window = budget.reset.is_some() && budget.reset == reset;
        budget.remaining = Some(match budget.remaining {
            Some(known) if same_window => known.min(remaining),
            _ => remaining,
        });
        budget.reset = reset.or(budget.reset);
        budget.limit = rate_limit(headers, "limit").or(budget.limit);
        if let Some(remaining) = budget.remaining {
            self.metrics.rate_limit_remaining(remaining);
        }
    }

    pub(super) fn lock_budget(&self) -> std::sync::MutexGuard<'_, Budget> {
        // The budget holds plain numbers; a panic elsewhere cannot leave it inconsistent.
        self.budget
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
