//! The refresh schedule: a cron expression (with seconds, UTC) run in-process by
//! tokio-cron-scheduler, plus the start-up catch-up — schedulers that only fire at the
//! next tick lose a day whenever the service restarts across one.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use croner::parser::{CronParser, Seconds};
use croner::Cron;
use tokio_cron_scheduler::{Job, JobScheduler};

use super::refresher::Refresher;
use super::Silent;
use crate::domain::{RunStatus, Trigger};

/// A parsed `ORGPULSE_SCHEDULE`.
#[derive(Debug, Clone)]
pub struct Schedule {
    expr: String,
    cron: Cron,
}

impl Schedule {
    /// Parses a six-field cron expression (seconds first), as the scheduler reads it.
    pub(crate) fn parse(expr: &str) -> Result<Schedule, String> {
        let cron = CronParser::builder()
            .seconds(Seconds::Required)
            .dom_and_dow(true)
            .build()
            .parse(expr.trim())
            .map_err(|e| {
                format!(
                    "ORGPULSE_SCHEDULE `{expr}` is not a valid cron expression ({e}); it takes six fields with seconds first, in UTC, e.g. `0 0 3 * * *` for 03:00 every day"
                )
            })?;
        let schedule = Schedule {
            expr: expr.trim().to_owned(),
            cron,
        };
        if schedule.next_after(Utc::now()).is_none() {
            return Err(format!("ORGPULSE_SCHEDULE `{expr}` never fires again"));
        }
        Ok(schedule)
    }

    pub(crate) fn expr(&self) -> &str {
        &self.expr
    }

    /// The first tick after `t`.
    pub(crate) fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.find_next_occurrence(&t, false).ok()
    }

    /// The time between the next two ticks after `now` (a day when it cannot be told).
    pub(crate) fn period(&self, now: DateTime<Utc>) -> chrono::Duration {
        self.next_after(now)
            .and_then(|a| Some((a, self.next_after(a)?)))
            .map(|(a, b)| b - a)
            .unwrap_or_else(|| chrono::Duration::days(1))
    }
}

/// Whether a refresh is due at start-up: the last one that stored data is older than
/// one schedule period, there never was one, or the latest run did not end (its instance
/// stopped mid-way, so some organisations may hold older data than the rest). Failed runs
/// do not count as refreshed.
pub(crate) fn catch_up_due(
    last_success: Option<DateTime<Utc>>,
    latest_cut_short: bool,
    period: chrono::Duration,
    now: DateTime<Utc>,
) -> bool {
    latest_cut_short || last_success.is_none_or(|at| now - at > period)
}

/// Registers the scheduled refresh (plus run retention) and starts the scheduler; also
/// starts a catch-up refresh `catch_up_after` start-up when one is due.
pub(crate) async fn start(
    refresher: Arc<Refresher>,
    schedule: &Schedule,
    retention_days: u32,
    catch_up_after: Duration,
) -> anyhow::Result<JobScheduler> {
    let scheduler = JobScheduler::new().await?;
    let on_tick = Arc::clone(&refresher);
    let job = Job::new_async(schedule.expr(), move |_, _| {
        let refresher = Arc::clone(&on_tick);
        Box::pin(async move {
            match refresher
                .request(Trigger::Schedule, None, Arc::new(Silent))
                .await
            {
                Ok(r) if r.coalesced => {
                    tracing::info!(run = %r.run.id, "scheduled tick: a refresh is already running")
                }
                Ok(r) => tracing::info!(run = %r.run.id, "scheduled refresh started"),
                Err(e) => tracing::error!(
                    error = format!("{e:#}"),
                    "scheduled refresh could not start"
                ),
            }
            if let Err(e) = refresher.apply_retention(retention_days).await {
                tracing::warn!(error = format!("{e:#}"), "could not remove old run records");
            }
        })
    })?;
    scheduler.add(job).await?;
    scheduler.start().await?;
    tracing::info!(schedule = schedule.expr(), next = ?schedule.next_after(Utc::now()), "refresh schedule set");

    let period = schedule.period(Utc::now());
    tokio::spawn(async move {
        tokio::time::sleep(catch_up_after).await;
        // The database may still be starting (MongoDB next to us): wait for it.
        let mut wait = Duration::from_millis(500);
        while refresher.context().store.ping().await.is_err() {
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(30));
        }
        let store = &refresher.context().store;
        let (last, latest) = match tokio::try_join!(store.last_success_at(), store.list_runs(1)) {
            Ok(read) => read,
            Err(e) => {
                tracing::warn!(error = %e, "catch-up: could not read the last refresh; the next tick will refresh");
                return;
            }
        };
        let cut_short = latest.first().is_some_and(|run| {
            matches!(
                run.status,
                RunStatus::Queued | RunStatus::Running | RunStatus::Interrupted
            )
        });
        if !catch_up_due(last, cut_short, period, Utc::now()) {
            return;
        }
        if cut_short {
            tracing::info!(last_success = ?last, "the latest refresh did not finish; catching up");
        } else {
            tracing::info!(last_success = ?last, "the last successful refresh is older than one schedule period; catching up");
        }
        // Waits for the run, so a run joined from an instance that died is replaced.
        if let Err(e) = refresher
            .refresh_to_end(
                Trigger::CatchUp,
                None,
                Arc::new(Silent),
                Duration::from_millis(500),
                |_| {},
            )
            .await
        {
            tracing::error!(error = format!("{e:#}"), "catch-up refresh could not run");
        }
        let _ = refresher.apply_retention(retention_days).await;
    });
    Ok(scheduler)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn parses_six_field_expressions_and_names_the_variable_when_it_cannot() {
        let daily = Schedule::parse("0 0 3 * * *").expect("valid");
        assert_eq!(
            daily.next_after(at("2026-01-01T04:00:00Z")),
            Some(at("2026-01-02T03:00:00Z"))
        );
        assert_eq!(
            daily.period(at("2026-01-01T04:00:00Z")),
            chrono::Duration::days(1)
        );
        let every_minute = Schedule::parse("0 * * * * *").expect("valid");
        assert_eq!(
            every_minute.period(Utc::now()),
            chrono::Duration::minutes(1)
        );
        for bad in [
            "",
            "0 3 * * *",
            "not cron",
            "0 0 25 * * *",
            "0 0 3 * * * * *",
        ] {
            let err = Schedule::parse(bad).expect_err(bad);
            assert!(err.contains("ORGPULSE_SCHEDULE"), "{err}");
        }
    }

    #[test]
    fn catch_up_decisions() {
        let now = at("2026-03-10T12:00:00Z");
        let day = chrono::Duration::days(1);
        assert!(
            catch_up_due(None, false, day, now),
            "never refreshed (or only failed runs)"
        );
        assert!(
            !catch_up_due(Some(at("2026-03-10T03:00:00Z")), false, day, now),
            "refreshed within the period"
        );
        assert!(
            catch_up_due(Some(at("2026-03-08T03:00:00Z")), false, day, now),
            "a tick was missed"
        );
        // The last run failed but an earlier one succeeded recently: the last success decides.
        assert!(!catch_up_due(
            Some(at("2026-03-09T13:00:00Z")),
            false,
            day,
            now
        ));
        assert!(
            catch_up_due(Some(at("2026-03-10T03:00:00Z")), true, day, now),
            "the latest run was cut short"
        );
    }
}
