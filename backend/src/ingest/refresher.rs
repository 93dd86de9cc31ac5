//! One refresh at a time, across every instance sharing the database.
//!
//! A [`Refresher`] starts runs for the scheduler, the API and the CLI. Before a run
//! starts it takes the `refresh` lease in the store (renewed while the run lives,
//! released at its end); an instance that finds the lease held joins the holder's run
//! instead of starting one ("coalesces"). A holder that dies stops renewing, its lease
//! expires, and the next taker marks the dead run `interrupted`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::Utc;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use super::{IngestContext, Progress};
use crate::domain::{OrgId, RefreshRun, RunId, RunStatus, Trigger};
use crate::store::LeaseGrant;

/// The lease's name in the store.
pub const LEASE: &str = "refresh";

/// A requested refresh: the run that will answer it.
#[derive(Debug, Clone)]
pub struct Requested {
    pub run: RefreshRun,
    /// `true` when a refresh was already running and this request joined it.
    pub coalesced: bool,
}

#[derive(Debug)]
struct Active {
    id: RunId,
    task: JoinHandle<()>,
}

/// Starts refreshes, one at a time across instances.
#[derive(Debug)]
pub struct Refresher {
    ctx: IngestContext,
    holder: String,
    lease_ttl: Duration,
    active: Mutex<Option<Active>>,
}

impl Refresher {
    /// A refresher for this process; its lease holder name is `host-pid-random`.
    pub fn new(ctx: IngestContext) -> Self {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "host".into());
        let holder = format!(
            "{host}-{}-{:04x}",
            std::process::id(),
            rand::random::<u16>()
        );
        Refresher {
            ctx,
            holder,
            lease_ttl: Duration::from_secs(60),
            active: Mutex::new(None),
        }
    }

    /// How long a lease lasts without renewal (renewed every third of it).
    pub fn with_lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl;
        self
    }

    /// This instance's name as a lease holder.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    pub fn context(&self) -> &IngestContext {
        &self.ctx
    }

    /// Starts a refresh of `orgs` (default: every tracked organisation), or joins the one
    /// already running in this or another instance.
    pub async fn request(
        self: &Arc<Self>,
        trigger: Trigger,
        orgs: Option<Vec<OrgId>>,
        progress: Arc<dyn Progress>,
    ) -> anyhow::Result<Requested> {
        let store = &self.ctx.store;
        let mut active = self.active.lock().await;
        if let Some(current) = active.as_ref().filter(|a| !a.task.is_finished()) {
            let run = store
                .get_run(&current.id)
                .await?
                .context("the running refresh has no record")?;
            return Ok(Requested {
                run,
                coalesced: true,
            });
        }
        anyhow::ensure!(
            !self.ctx.cancel.is_cancelled(),
            "orgpulse is shutting down; no new refresh starts"
        );
        let orgs = match orgs {
            Some(orgs) => orgs,
            None => store
                .list_tracked_orgs()
                .await?
                .into_iter()
                .map(|t| t.org)
                .collect(),
        };
        let now = self.ctx.clock.now();
        let run = RefreshRun::queued(trigger, orgs, self.ctx.options, now);
        let until = now + chrono::Duration::from_std(self.lease_ttl)?;
        match store
            .acquire_lease(LEASE, &self.holder, &run.id, now, until)
            .await?
        {
            LeaseGrant::Held(lease) => {
                drop(active);
                let id = lease.run_id.context("the refresh lease names no run")?;
                tracing::info!(run = %id, holder = %lease.holder, "a refresh is already running elsewhere; joining it");
                let run = self.await_record(&id).await?;
                Ok(Requested {
                    run,
                    coalesced: true,
                })
            }
            LeaseGrant::Acquired => {
                let stale = store
                    .interrupt_unfinished_runs(
                        &run.id,
                        "the instance running it stopped before it finished",
                        now,
                    )
                    .await?;
                if stale > 0 {
                    tracing::warn!(
                        runs = stale,
                        "marked runs left unfinished by a stopped instance as interrupted"
                    );
                }
                if let Err(e) = store.insert_run(&run).await {
                    let _ = store.release_lease(LEASE, &self.holder).await;
                    return Err(e).context("could not record the run");
                }
                let me = Arc::clone(self);
                let queued = run.clone();
                let task = tokio::spawn(async move { me.execute(queued, progress).await });
                *active = Some(Active {
                    id: run.id.clone(),
                    task,
                });
                Ok(Requested {
                    run,
                    coalesced: false,
                })
            }
        }
    }

    /// Runs `run` while renewing the lease; releases it at the end.
    async fn execute(self: Arc<Self>, run: RefreshRun, progress: Arc<dyn Progress>) {
        let store = self.ctx.store.clone();
        let id = run.id.clone();
        // Losing the lease (another instance took over after a long stall) stops this run
        // alone; shutdown stops every run.
        let run_cancel = self.ctx.cancel.child_token();
        let renewer = {
            let (store, holder, ttl, cancel) = (
                store.clone(),
                self.holder.clone(),
                self.lease_ttl,
                run_cancel.clone(),
            );
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(ttl / 3);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    let until = Utc::now()
                        + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::seconds(60));
                    match store.renew_lease(LEASE, &holder, until).await {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::error!("the refresh lease was taken over; stopping this run");
                            cancel.cancel();
                            return;
                        }
                        Err(e) => tracing::warn!(error = %e, "could not renew the refresh lease"),
                    }
                }
            })
        };
        let ctx = IngestContext {
            cancel: run_cancel,
            ..self.ctx.clone()
        };
        let outcome = super::run(&ctx, run, progress.as_ref()).await;
        renewer.abort();
        if let Err(e) = outcome {
            tracing::error!(run = %id, error = format!("{e:#}"), "refresh failed");
            self.finish_as(&id, RunStatus::Failed, &format!("{e:#}"))
                .await;
        }
        if let Err(e) = store.release_lease(LEASE, &self.holder).await {
            tracing::warn!(error = %e, "could not release the refresh lease; it expires on its own");
        }
    }

    /// Records a run as ended with `status`. The store may be what failed, so this keeps
    /// trying for a while (about half a minute) before it gives up; a run left unfinished
    /// is closed as interrupted by the next lease holder anyway.
    async fn finish_as(&self, id: &RunId, status: RunStatus, message: &str) {
        let store = &self.ctx.store;
        let mut wait = Duration::from_millis(500);
        for attempt in 1..=6 {
            let outcome = async {
                match store.get_run(id).await? {
                    Some(mut run) if !run.status.is_finished() => {
                        run.status = status;
                        run.message = Some(message.to_owned());
                        run.finished_at = Some(self.ctx.clock.now());
                        store.update_run(&run).await
                    }
                    _ => Ok(()),
                }
            }
            .await;
            match outcome {
                Ok(()) => return,
                Err(e) if attempt < 6 => {
                    tracing::warn!(run = %id, error = %e, "could not record how the run ended; retrying");
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
                Err(e) => {
                    tracing::error!(run = %id, error = %e, "could not record how the run ended")
                }
            }
        }
    }

    /// The record of run `id`, which its holder writes right after taking the lease.
    async fn await_record(&self, id: &RunId) -> anyhow::Result<RefreshRun> {
        for _ in 0..100 {
            if let Some(run) = self.ctx.store.get_run(id).await? {
                return Ok(run);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("the running refresh {id} has no record")
    }

    /// Waits until run `id` has finished (in any instance) and returns it.
    pub async fn wait_for(&self, id: &RunId, poll: Duration) -> anyhow::Result<RefreshRun> {
        loop {
            let run = self
                .ctx
                .store
                .get_run(id)
                .await?
                .with_context(|| format!("run {id} disappeared"))?;
            if run.status.is_finished() {
                return Ok(run);
            }
            tokio::time::sleep(poll).await;
        }
    }

    /// Stops refreshing: no new upstream request is sent, the current run may finish
    /// writing for up to `bound`, then it is recorded `interrupted` and the lease released.
    pub async fn shutdown(&self, bound: Duration) {
        self.ctx.cancel.cancel();
        let Some(active) = self.active.lock().await.take() else {
            return;
        };
        if active.task.is_finished() {
            return;
        }
        tracing::info!(run = %active.id, "shutting down: stopping the running refresh");
        let abort = active.task.abort_handle();
        if tokio::time::timeout(bound, active.task).await.is_err() {
            abort.abort();
            self.finish_as(
                &active.id,
                RunStatus::Interrupted,
                "stopped by shutdown before it finished",
            )
            .await;
            let _ = self.ctx.store.release_lease(LEASE, &self.holder).await;
        }
    }

    /// Deletes finished runs older than `days`.
    pub async fn apply_retention(&self, days: u32) -> anyhow::Result<u64> {
        let cutoff = self.ctx.clock.now() - chrono::Duration::days(i64::from(days));
        let deleted = self.ctx.store.delete_runs_before(cutoff).await?;
        if deleted > 0 {
            tracing::info!(deleted, days, "removed old run records");
        }
        Ok(deleted)
    }
}
