//! One refresh at a time, across every instance sharing the database.
//!
//! A [`Refresher`] starts runs for the scheduler, the API and the CLI. Before a run
//! starts it takes the `refresh` lease in the store (renewed while the run lives,
//! released at its end); an instance that finds the lease held joins the holder's run
//! instead of starting one ("coalesces"). A holder that dies stops renewing, its lease
//! expires, and the next taker marks the dead run `interrupted`. A holder that provably
//! died on this machine (same host and pid namespace, its process gone) is taken over at
//! once instead: a service restarted after a crash does not wait out the lease.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chrono::Utc;
use tokio::sync::Mutex;
use tokio::task::JoinHandle;

use super::{IngestContext, Progress};
use crate::domain::{Lease, OrgId, RefreshRun, RunId, RunStatus, Trigger};
use crate::store::LeaseGrant;
use crate::webhooks::Webhooks;

/// The lease's name in the store.
pub const LEASE: &str = "refresh";

/// How long a lease lasts without renewal (renewed every third of it).
const LEASE_TTL: Duration = Duration::from_secs(60);

/// How often a waiter checks that the run it waits for still has a live instance.
const LIVENESS_CHECK: Duration = Duration::from_secs(1);

/// A lease holder's name, `host-pidnamespace-pid-random`: enough to tell, on the same
/// machine, that the process holding a lease is gone. Another host, another pid namespace
/// (another container) or an unreadable `/proc` never count as dead: those wait for the
/// lease to expire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Holder {
    pub host: String,
    /// The pid namespace's inode (`/proc/self/ns/pid`); 0 when unknown.
    pub pid_ns: u64,
    pub pid: u32,
    pub nonce: u16,
}

impl Holder {
    /// This process, with `nonce` telling apart two holders that reuse a pid.
    pub(crate) fn this_process(nonce: u16) -> Holder {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "host".into());
        let pid_ns = std::fs::read_link("/proc/self/ns/pid")
            .ok()
            .and_then(|p| {
                let text = p.to_string_lossy().into_owned();
                text.strip_prefix("pid:[")?.strip_suffix(']')?.parse().ok()
            })
            .unwrap_or(0);
        Holder {
            host,
            pid_ns,
            pid: std::process::id(),
            nonce,
        }
    }

    pub(crate) fn parse(name: &str) -> Option<Holder> {
        let mut parts = name.rsplitn(4, '-');
        let nonce = u16::from_str_radix(parts.next()?, 16).ok()?;
        let pid = parts.next()?.parse().ok()?;
        let pid_ns = parts.next()?.parse().ok()?;
        let host = parts.next()?.to_owned();
        Some(Holder {
            host,
            pid_ns,
            pid,
            nonce,
        })
    }

    /// Whether this holder was a process of this machine that no longer runs, judged by
    /// `me` (this process's holder name) and `live`, the refreshers known alive beside it.
    pub(crate) fn is_dead_here(&self, me: &str, live: &LiveHolders) -> bool {
        let Some(me_parsed) = Holder::parse(me) else {
            return false;
        };
        if self.to_string() == me
            || self.pid_ns == 0
            || self.host != me_parsed.host
            || self.pid_ns != me_parsed.pid_ns
        {
            return false;
        }
        // Our own pid: dead unless a refresher of this process holds that name (an earlier
        // process had this pid). Otherwise the pid must be gone (a reused pid keeps it
        // "alive": the lease then expires).
        if self.pid == me_parsed.pid {
            return !live.contains(&self.to_string());
        }
        !std::path::Path::new(&format!("/proc/{}", self.pid)).exists()
    }
}

/// The holder names of the refreshers alive in one process. A lease held under this
/// process's pid by a name not in here belonged to an earlier process that had the same
/// pid (a container restarted), which is dead. One process has one refresher, so each
/// refresher gets its own set by default; refreshers that share a process and a database
/// (tests) share a set ([`Refresher::new_in`]).
#[derive(Debug, Clone, Default)]
pub struct LiveHolders(Arc<std::sync::Mutex<std::collections::BTreeSet<String>>>);

impl LiveHolders {
    fn names(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeSet<String>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn contains(&self, holder: &str) -> bool {
        self.names().contains(holder)
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}-{}-{}-{:04x}",
            self.host, self.pid_ns, self.pid, self.nonce
        )
    }
}

impl Drop for Refresher {
    fn drop(&mut self) {
        self.live.names().remove(&self.holder);
    }
}

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
    /// The refreshers alive beside this one in this process (itself included).
    live: LiveHolders,
    active: Mutex<Option<Active>>,
    /// Where runs execute; the caller's runtime when `None`.
    runs_on: Option<tokio::runtime::Handle>,
    /// Where each finished run's new events are sent, if anywhere.
    webhooks: Option<Arc<Webhooks>>,
    /// The latest run's webhook deliveries, while they go on: the next run's wait for
    /// them, so an endpoint gets its events in order.
    deliveries: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Refresher {
    /// A refresher for this process; its lease holder name is
    /// `host-pidnamespace-pid-random` (see [`Holder`]).
    pub fn new(ctx: IngestContext) -> Self {
        Refresher::new_in(ctx, &LiveHolders::default())
    }

    /// A refresher that counts as alive, and counts as alive, the others of `live`: for
    /// several refreshers of one process sharing a database.
    pub fn new_in(ctx: IngestContext, live: &LiveHolders) -> Self {
        let holder = Holder::this_process(rand::random::<u16>()).to_string();
        live.names().insert(holder.clone());
        Refresher {
            ctx,
            holder,
            live: live.clone(),
            active: Mutex::new(None),
            runs_on: None,
            webhooks: None,
            deliveries: std::sync::Mutex::new(None),
        }
    }

    /// Sends each finished run's new events to `webhooks` (nothing when `None`).
    pub fn with_webhooks(mut self, webhooks: Option<Webhooks>) -> Self {
        self.webhooks = webhooks.map(Arc::new);
        self
    }

    /// Runs refreshes on `runtime` (and every task they spawn), not on the caller's: the
    /// server gives them threads of their own, so decoding and writing a big listing never
    /// holds up the requests queued on the web's workers.
    pub fn running_on(mut self, runtime: tokio::runtime::Handle) -> Self {
        self.runs_on = Some(runtime);
        self
    }

    /// The run this instance is executing, if any.
    pub(crate) async fn active_run(&self) -> Option<RunId> {
        self.active
            .lock()
            .await
            .as_ref()
            .filter(|a| !a.task.is_finished())
            .map(|a| a.id.clone())
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
        let until = now + chrono::Duration::from_std(LEASE_TTL)?;
        let mut grant = store
            .acquire_lease(LEASE, &self.holder, &run.id, now, until)
            .await?;
        if let LeaseGrant::Held(lease) = &grant {
            if self.take_over_if_dead(lease, &run.id, until).await? {
                grant = LeaseGrant::Acquired;
            }
        }
        match grant {
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
                let execute = async move { me.execute(queued, progress).await };
                let task = match &self.runs_on {
                    Some(runtime) => runtime.spawn(execute),
                    None => tokio::spawn(execute),
                };
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
                LEASE_TTL,
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
        match outcome {
            Ok(run) => self.notify(run),
            Err(e) => {
                tracing::error!(run = %id, error = format!("{e:#}"), "refresh failed");
                self.finish_as(&id, RunStatus::Failed, &format!("{e:#}"))
                    .await;
            }
        }
        if let Err(e) = store.release_lease(LEASE, &self.holder).await {
            tracing::warn!(error = %e, "could not release the refresh lease; it expires on its own");
        }
    }

    /// Starts delivering the events recorded up to the end of `run` to the webhooks, on a
    /// task of its own (after the previous run's deliveries), and records them on the run.
    fn notify(&self, run: RefreshRun) {
        let Some(webhooks) = self.webhooks.clone() else {
            return;
        };
        if self.ctx.cancel.is_cancelled() {
            return; // shutting down: the next run sends these
        }
        let mut slot = self
            .deliveries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let previous = slot.take();
        let (store, clock, cancel) = (
            self.ctx.store.clone(),
            self.ctx.clock.clone(),
            self.ctx.cancel.clone(),
        );
        let deliver = async move {
            if let Some(previous) = previous {
                let _ = previous.await;
            }
            let deliveries = webhooks
                .deliver(store.as_ref(), &run, || clock.now(), &cancel)
                .await;
            if !deliveries.is_empty() {
                amend_run(
                    store.as_ref(),
                    &run.id,
                    "the webhook deliveries",
                    4,
                    |recorded| {
                        recorded.deliveries.extend(deliveries.iter().cloned());
                        true
                    },
                )
                .await;
            }
        };
        *slot = Some(match &self.runs_on {
            Some(runtime) => runtime.spawn(deliver),
            None => tokio::spawn(deliver),
        });
    }

    /// Waits up to `bound` for this instance's run to hand its events over and for the
    /// webhook deliveries under way to end (the CLI, before it exits).
    pub async fn settle_deliveries(&self, bound: Duration) {
        let deadline = tokio::time::Instant::now() + bound;
        // A run is recorded finished a moment before it starts its deliveries.
        while self.active_run().await.is_some() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.await_deliveries(deadline.saturating_duration_since(tokio::time::Instant::now()))
            .await;
    }

    /// Waits up to `bound` for the webhook deliveries under way, then stops them.
    async fn await_deliveries(&self, bound: Duration) {
        let task = self
            .deliveries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(task) = task {
            let abort = task.abort_handle();
            if tokio::time::timeout(bound, task).await.is_err() {
                tracing::warn!(
                    "webhook deliveries still under way; the next run sends what is left"
                );
                abort.abort();
            }
        }
    }

    /// Records a run as ended with `status`. The store may be what failed, so this keeps
    /// trying for a while (about half a minute) before it gives up; a run left unfinished
    /// is closed as interrupted by the next lease holder anyway.
    async fn finish_as(&self, id: &RunId, status: RunStatus, message: &str) {
        let now = self.ctx.clock.now();
        amend_run(self.ctx.store.as_ref(), id, "how the run ended", 6, |run| {
            if run.status.is_finished() {
                return false;
            }
            run.finish(status, Some(message.to_owned()), now);
            true
        })
        .await;
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

    /// Waits until run `id` has finished (in any instance) and returns it. A run whose
    /// instance died (its lease expired, or its process provably gone) is closed as
    /// `interrupted` and returned as such, instead of being waited for forever.
    pub(crate) async fn wait_for(&self, id: &RunId, poll: Duration) -> anyhow::Result<RefreshRun> {
        let mut checked = tokio::time::Instant::now();
        loop {
            let run = self
                .ctx
                .store
                .get_run(id)
                .await
                .with_context(|| format!("could not read how run {id} is going"))?
                .with_context(|| format!("run {id} disappeared"))?;
            if run.status.is_finished() {
                return Ok(run);
            }
            if checked.elapsed() >= LIVENESS_CHECK {
                checked = tokio::time::Instant::now();
                self.close_if_orphaned(id).await?;
            }
            tokio::time::sleep(poll).await;
        }
    }

    /// Closes run `id` as interrupted when no live instance runs it any more. Taking the
    /// lease is the test: nobody else can be writing while this instance holds it.
    async fn close_if_orphaned(&self, id: &RunId) -> anyhow::Result<()> {
        if self.active_run().await.is_some() {
            return Ok(()); // this process runs it (or another run), so it is alive
        }
        let store = &self.ctx.store;
        let now = self.ctx.clock.now();
        let until = now + chrono::Duration::from_std(LEASE_TTL)?;
        let taken = match store
            .acquire_lease(LEASE, &self.holder, id, now, until)
            .await?
        {
            LeaseGrant::Acquired => true,
            LeaseGrant::Held(lease) => self.take_over_if_dead(&lease, id, until).await?,
        };
        if taken {
            let closed = store
                .interrupt_unfinished_runs(
                    &RunId(String::new()),
                    "the instance running it stopped before it finished",
                    now,
                )
                .await;
            let _ = store.release_lease(LEASE, &self.holder).await;
            if closed? > 0 {
                tracing::warn!(run = %id, "the instance running this refresh stopped; closed it as interrupted");
            }
        }
        Ok(())
    }

    /// Takes `lease` over for `run_id` when its holder was a process of this machine that
    /// no longer runs; `false` otherwise (or when someone else took it over first).
    async fn take_over_if_dead(
        &self,
        lease: &Lease,
        run_id: &RunId,
        until: chrono::DateTime<Utc>,
    ) -> anyhow::Result<bool> {
        if !Holder::parse(&lease.holder).is_some_and(|h| h.is_dead_here(&self.holder, &self.live)) {
            return Ok(false);
        }
        let taken = self
            .ctx
            .store
            .take_over_lease(LEASE, &lease.holder, &self.holder, run_id, until)
            .await?;
        if taken {
            tracing::warn!(holder = %lease.holder, "the refresh lease was held by a process of this machine that no longer runs; took it over");
        }
        Ok(taken)
    }

    /// Starts a refresh and waits for it to end. A joined run whose instance died is
    /// replaced by a new one (a few times at most), so the caller gets a refresh that
    /// really ran; `on_join` hears about each run joined instead of started.
    pub(crate) async fn refresh_to_end(
        self: &Arc<Self>,
        trigger: Trigger,
        orgs: Option<Vec<OrgId>>,
        progress: Arc<dyn Progress>,
        poll: Duration,
        on_join: impl Fn(&RefreshRun),
    ) -> anyhow::Result<RefreshRun> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let requested = self
                .request(trigger, orgs.clone(), progress.clone())
                .await?;
            if requested.coalesced {
                on_join(&requested.run);
            }
            let run = self.wait_for(&requested.run.id, poll).await?;
            let orphaned = requested.coalesced
                && run.status == RunStatus::Interrupted
                && !self.ctx.cancel.is_cancelled();
            if !orphaned || attempts >= 3 {
                return Ok(run);
            }
            tracing::warn!(run = %run.id, "the refresh joined was left by an instance that stopped; starting a new one");
        }
    }

    /// Stops refreshing: no new upstream request is sent, the current run may finish
    /// writing for up to `bound`, then it is recorded `interrupted` and the lease released.
    pub async fn shutdown(&self, bound: Duration) {
        self.ctx.cancel.cancel();
        // Cancelled deliveries end at once; what they did not send waits for the next run.
        self.await_deliveries(bound).await;
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
    pub(crate) async fn apply_retention(&self, days: u32) -> anyhow::Result<u64> {
        let cutoff = self.ctx.clock.now() - chrono::Duration::days(i64::from(days));
        let deleted = self.ctx.store.delete_runs_before(cutoff).await?;
        if deleted > 0 {
            tracing::info!(deleted, days, "removed old run records");
        }
        Ok(deleted)
    }
}

/// Changes run `id`'s record with `change` (which says whether there is anything to
/// write) and stores it. The store may be what failed, so this tries `attempts` times with
/// doubling waits from half a second; `what` names the change in the logs.
async fn amend_run(
    store: &dyn crate::store::Store,
    id: &RunId,
    what: &str,
    attempts: u32,
    change: impl Fn(&mut RefreshRun) -> bool,
) {
    let mut wait = Duration::from_millis(500);
    for attempt in 1..=attempts {
        let outcome = async {
            let Some(mut run) = store.get_run(id).await? else {
                return Ok(()); // expired meanwhile
            };
            if change(&mut run) {
                store.update_run(&run).await?;
            }
            Ok::<_, crate::store::StoreError>(())
        }
        .await;
        match outcome {
            Ok(()) => return,
            Err(e) if attempt < attempts => {
                tracing::warn!(run = %id, error = %e, "could not record {what}; retrying");
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
            Err(e) => tracing::error!(run = %id, error = %e, "could not record {what}"),
        }
    }
}

/// What the web layer may ask of the refresh machinery: it depends on this, not on
/// [`Refresher`], so its tests need no forge.
#[async_trait::async_trait]
pub trait RefreshRequests: Send + Sync + std::fmt::Debug {
    /// Starts a refresh of `orgs` (default: every tracked organisation), or joins the one
    /// already running in this or another instance.
    async fn request_refresh(
        self: Arc<Self>,
        trigger: Trigger,
        orgs: Option<Vec<OrgId>>,
    ) -> anyhow::Result<Requested>;
}

#[async_trait::async_trait]
impl RefreshRequests for Refresher {
    async fn request_refresh(
        self: Arc<Self>,
        trigger: Trigger,
        orgs: Option<Vec<OrgId>>,
    ) -> anyhow::Result<Requested> {
        self.request(trigger, orgs, Arc::new(super::Silent)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holder_names_round_trip_and_only_provably_dead_local_holders_are_dead() {
        let me = Holder::this_process(0xbeef);
        let name = me.to_string();
        assert_eq!(Holder::parse(&name), Some(me.clone()));
        let with_dashes = Holder {
            host: "web-1-a".into(),
            ..me.clone()
        };
        assert_eq!(
            Holder::parse(&with_dashes.to_string()),
            Some(with_dashes.clone())
        );
        assert_eq!(Holder::parse("host-123-beef"), None, "the old format");

        let live = LiveHolders::default();
        assert!(!me.is_dead_here(&name, &live), "this process is alive");
        live.names().insert(name.clone());
        let sibling = Holder {
            nonce: 0x0001,
            ..me.clone()
        };
        live.names().insert(sibling.to_string());
        assert!(
            !sibling.is_dead_here(&name, &live),
            "another live refresher of this process"
        );
        if me.pid_ns == 0 {
            return; // no /proc here: nothing can be proven dead
        }
        let earlier_self = Holder {
            nonce: 0x1234,
            ..me.clone()
        };
        assert!(
            earlier_self.is_dead_here(&name, &live),
            "an earlier process with this pid is gone"
        );
        let gone = Holder {
            pid: u32::MAX - 7,
            ..me.clone()
        };
        assert!(gone.is_dead_here(&name, &live), "no such pid");
        let alive = Holder {
            pid: 1,
            ..me.clone()
        };
        assert!(!alive.is_dead_here(&name, &live), "pid 1 runs");
        let elsewhere = Holder {
            host: "other-host".into(),
            ..gone.clone()
        };
        assert!(!elsewhere.is_dead_here(&name, &live), "another machine");
        let other_container = Holder {
            pid_ns: me.pid_ns + 1,
            ..gone
        };
        assert!(
            !other_container.is_dead_here(&name, &live),
            "another pid namespace"
        );
    }
}
