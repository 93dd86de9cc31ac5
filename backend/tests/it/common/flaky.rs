//! A store that forwards to a real one until it is switched "down", then fails every
//! call as an unreachable database would.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use orgpulse::domain::activity::{ActivityItem, ReleaseRecord, Window};
use orgpulse::domain::scorecard::ScorecardEntry;
use orgpulse::domain::vulnerabilities::{
    Advisory, Finding, PackageResult, PackageVersion, SecurityDay, SecurityState,
};
use orgpulse::domain::{
    DayTotals, Event, HttpCacheEntry, Library, OrgId, OrgOutcome, OrgRecord, RefreshRun,
    RepoCounts, RepoDay, RepoRecord, RunId, Snapshot, StoredEvent, TokenRecord,
};
use orgpulse::store::{
    ActivityCommit, ActivityRead, ActivityWrite, EventQuery, EventStore, HealthStore, LeaseGrant,
    LeaseStore, LibraryUsage, OrgCommit, OrgDetail, OrgOverview, OrgStore, RunStore,
    SecurityCommit, SecurityRead, SecurityWrite, SnapshotStore, Store, StoreError, StoreResult,
    TokenStore, TrackedOrg, TrackedOrgStore, ValidatorStore, WebhookStore,
};

#[derive(Debug)]
pub struct FlakyStore {
    inner: Arc<dyn Store>,
    down: AtomicBool,
}

impl FlakyStore {
    pub fn new(inner: Arc<dyn Store>) -> Self {
        FlakyStore {
            inner,
            down: AtomicBool::new(false),
        }
    }

    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    fn check(&self) -> StoreResult<()> {
        if self.down.load(Ordering::SeqCst) {
            Err(StoreError::backend("connection refused"))
        } else {
            Ok(())
        }
    }
}

#[async_trait]
impl HealthStore for FlakyStore {
    async fn ping(&self) -> StoreResult<()> {
        self.check()?;
        self.inner.ping().await
    }
    async fn data_version(&self) -> StoreResult<i64> {
        self.check()?;
        self.inner.data_version().await
    }
    async fn org_stamps(&self) -> StoreResult<Vec<(OrgId, i64)>> {
        self.check()?;
        self.inner.org_stamps().await
    }
}

#[async_trait]
impl TrackedOrgStore for FlakyStore {
    async fn seed_tracked_orgs(&self, orgs: &[OrgId], now: DateTime<Utc>) -> StoreResult<bool> {
        self.check()?;
        self.inner.seed_tracked_orgs(orgs, now).await
    }
    async fn add_tracked_org(&self, org: &OrgId, now: DateTime<Utc>) -> StoreResult<bool> {
        self.check()?;
        self.inner.add_tracked_org(org, now).await
    }
    async fn list_tracked_orgs(&self) -> StoreResult<Vec<TrackedOrg>> {
        self.check()?;
        self.inner.list_tracked_orgs().await
    }
    async fn remove_tracked_org(&self, org: &OrgId, purge: bool) -> StoreResult<bool> {
        self.check()?;
        self.inner.remove_tracked_org(org, purge).await
    }
}

#[async_trait]
impl OrgStore for FlakyStore {
    async fn commit_org_refresh(&self, commit: &OrgCommit) -> StoreResult<()> {
        self.check()?;
        self.inner.commit_org_refresh(commit).await
    }
    async fn record_org_outcome(&self, outcome: &OrgOutcome) -> StoreResult<()> {
        self.check()?;
        self.inner.record_org_outcome(outcome).await
    }
    async fn get_org(&self, org: &OrgId) -> StoreResult<Option<OrgRecord>> {
        self.check()?;
        self.inner.get_org(org).await
    }
    async fn list_repos(&self, org: &OrgId) -> StoreResult<Vec<RepoRecord>> {
        self.check()?;
        self.inner.list_repos(org).await
    }
    async fn org_libraries(&self, org: &OrgId) -> StoreResult<Vec<(i64, Library)>> {
        self.check()?;
        self.inner.org_libraries(org).await
    }
    async fn list_repo_libraries(&self, org: &OrgId, repo_id: i64) -> StoreResult<Vec<Library>> {
        self.check()?;
        self.inner.list_repo_libraries(org, repo_id).await
    }
    async fn library_usage(&self, org: &OrgId) -> StoreResult<Vec<LibraryUsage>> {
        self.check()?;
        self.inner.library_usage(org).await
    }
    async fn overview(&self) -> StoreResult<Vec<OrgOverview>> {
        self.check()?;
        self.inner.overview().await
    }
    async fn org_detail(&self, org: &OrgId) -> StoreResult<Option<OrgDetail>> {
        self.check()?;
        self.inner.org_detail(org).await
    }
}

#[async_trait]
impl EventStore for FlakyStore {
    async fn record_events(&self, events: &[Event]) -> StoreResult<u64> {
        self.check()?;
        self.inner.record_events(events).await
    }
    async fn list_events(&self, query: &EventQuery) -> StoreResult<Vec<StoredEvent>> {
        self.check()?;
        self.inner.list_events(query).await
    }
}

#[async_trait]
impl WebhookStore for FlakyStore {
    async fn webhook_cursors(&self, hook: &str) -> StoreResult<Vec<(OrgId, i64)>> {
        self.check()?;
        self.inner.webhook_cursors(hook).await
    }
    async fn advance_webhook_cursor(&self, hook: &str, org: &OrgId, seq: i64) -> StoreResult<()> {
        self.check()?;
        self.inner.advance_webhook_cursor(hook, org, seq).await
    }
}

#[async_trait]
impl SnapshotStore for FlakyStore {
    async fn list_history(
        &self,
        org: &OrgId,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> StoreResult<Vec<DayTotals>> {
        self.check()?;
        self.inner.list_history(org, from, to).await
    }
    async fn list_snapshots(
        &self,
        org: &OrgId,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> StoreResult<Vec<Snapshot>> {
        self.check()?;
        self.inner.list_snapshots(org, from, to).await
    }
    async fn repo_history(
        &self,
        org: &OrgId,
        repo_id: i64,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> StoreResult<Vec<RepoDay>> {
        self.check()?;
        self.inner.repo_history(org, repo_id, from, to).await
    }
    async fn repo_counts_on(&self, org: &OrgId, day: NaiveDate) -> StoreResult<Vec<RepoCounts>> {
        self.check()?;
        self.inner.repo_counts_on(org, day).await
    }
}

#[async_trait]
impl ValidatorStore for FlakyStore {
    async fn list_http_cache(&self, org: &OrgId) -> StoreResult<Vec<HttpCacheEntry>> {
        self.check()?;
        self.inner.list_http_cache(org).await
    }
}

#[async_trait]
impl RunStore for FlakyStore {
    async fn insert_run(&self, run: &RefreshRun) -> StoreResult<()> {
        self.check()?;
        self.inner.insert_run(run).await
    }
    async fn update_run(&self, run: &RefreshRun) -> StoreResult<()> {
        self.check()?;
        self.inner.update_run(run).await
    }
    async fn get_run(&self, id: &RunId) -> StoreResult<Option<RefreshRun>> {
        self.check()?;
        self.inner.get_run(id).await
    }
    async fn list_runs(&self, limit: usize) -> StoreResult<Vec<RefreshRun>> {
        self.check()?;
        self.inner.list_runs(limit).await
    }
    async fn last_success_at(&self) -> StoreResult<Option<DateTime<Utc>>> {
        self.check()?;
        self.inner.last_success_at().await
    }
    async fn interrupt_unfinished_runs(
        &self,
        keep: &RunId,
        message: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        self.check()?;
        self.inner
            .interrupt_unfinished_runs(keep, message, now)
            .await
    }
    async fn delete_runs_before(&self, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        self.check()?;
        self.inner.delete_runs_before(cutoff).await
    }
}

#[async_trait]
impl LeaseStore for FlakyStore {
    async fn acquire_lease(
        &self,
        name: &str,
        holder: &str,
        run_id: &RunId,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<LeaseGrant> {
        self.check()?;
        self.inner
            .acquire_lease(name, holder, run_id, now, until)
            .await
    }
    async fn renew_lease(
        &self,
        name: &str,
        holder: &str,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.check()?;
        self.inner.renew_lease(name, holder, until).await
    }
    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        self.check()?;
        self.inner.release_lease(name, holder).await
    }
    async fn take_over_lease(
        &self,
        name: &str,
        dead: &str,
        holder: &str,
        run_id: &RunId,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        self.check()?;
        self.inner
            .take_over_lease(name, dead, holder, run_id, until)
            .await
    }
}

#[async_trait]
impl TokenStore for FlakyStore {
    async fn insert_token(&self, token: &TokenRecord) -> StoreResult<bool> {
        self.check()?;
        self.inner.insert_token(token).await
    }
    async fn list_tokens(&self) -> StoreResult<Vec<TokenRecord>> {
        self.check()?;
        self.inner.list_tokens().await
    }
    async fn find_token(&self, hash: &str) -> StoreResult<Option<TokenRecord>> {
        self.check()?;
        self.inner.find_token(hash).await
    }
    async fn touch_token(&self, name: &str, now: DateTime<Utc>) -> StoreResult<()> {
        self.check()?;
        self.inner.touch_token(name, now).await
    }
    async fn revoke_token(&self, name: &str) -> StoreResult<bool> {
        self.check()?;
        self.inner.revoke_token(name).await
    }
}

#[async_trait]
impl ActivityWrite for FlakyStore {
    async fn commit_activity(&self, commit: &ActivityCommit) -> StoreResult<()> {
        self.check()?;
        self.inner.commit_activity(commit).await
    }
}

#[async_trait]
impl ActivityRead for FlakyStore {
    async fn activity_synced_until(&self, org: &OrgId) -> StoreResult<Option<DateTime<Utc>>> {
        self.check()?;
        self.inner.activity_synced_until(org).await
    }
    async fn activity_items(
        &self,
        org: &OrgId,
        window: Window,
        repo_id: Option<i64>,
    ) -> StoreResult<Vec<ActivityItem>> {
        self.check()?;
        self.inner.activity_items(org, window, repo_id).await
    }
    async fn first_items(
        &self,
        org: &OrgId,
        authors: &[String],
    ) -> StoreResult<std::collections::HashMap<String, DateTime<Utc>>> {
        self.check()?;
        self.inner.first_items(org, authors).await
    }
    async fn merged_by_author(
        &self,
        org: &OrgId,
        window: orgpulse::domain::activity::Window,
    ) -> StoreResult<Vec<(i64, String, u64)>> {
        self.check()?;
        self.inner.merged_by_author(org, window).await
    }
    async fn waiting_items(
        &self,
        org: &OrgId,
        before: DateTime<Utc>,
    ) -> StoreResult<std::collections::HashMap<i64, (u64, DateTime<Utc>)>> {
        self.check()?;
        self.inner.waiting_items(org, before).await
    }
    async fn stored_items(
        &self,
        forge: &orgpulse::domain::ForgeName,
        keys: &[orgpulse::domain::activity::ItemKey],
    ) -> StoreResult<
        std::collections::HashMap<orgpulse::domain::activity::ItemKey, orgpulse::store::StoredItem>,
    > {
        self.check()?;
        self.inner.stored_items(forge, keys).await
    }
    async fn releases(&self, org: &OrgId, repo_id: Option<i64>) -> StoreResult<Vec<ReleaseRecord>> {
        self.check()?;
        self.inner.releases(org, repo_id).await
    }
}

#[async_trait]
impl SecurityWrite for FlakyStore {
    async fn put_advisories(&self, advisories: &[Advisory]) -> StoreResult<()> {
        self.check()?;
        self.inner.put_advisories(advisories).await
    }
    async fn put_package_results(&self, results: &[PackageResult]) -> StoreResult<()> {
        self.check()?;
        self.inner.put_package_results(results).await
    }
    async fn commit_security(&self, commit: &SecurityCommit) -> StoreResult<()> {
        self.check()?;
        self.inner.commit_security(commit).await
    }
    async fn put_scorecards(
        &self,
        forge: &orgpulse::domain::ForgeName,
        entries: &[ScorecardEntry],
    ) -> StoreResult<()> {
        self.check()?;
        self.inner.put_scorecards(forge, entries).await
    }
}

#[async_trait]
impl SecurityRead for FlakyStore {
    async fn advisories(&self, ids: &[String]) -> StoreResult<HashMap<String, Advisory>> {
        self.check()?;
        self.inner.advisories(ids).await
    }
    async fn package_results(
        &self,
        packages: &[PackageVersion],
    ) -> StoreResult<HashMap<PackageVersion, PackageResult>> {
        self.check()?;
        self.inner.package_results(packages).await
    }
    async fn findings(&self, org: &OrgId, repo_id: Option<i64>) -> StoreResult<Vec<Finding>> {
        self.check()?;
        self.inner.findings(org, repo_id).await
    }
    async fn scorecards(
        &self,
        forge: &orgpulse::domain::ForgeName,
        repo_ids: &[i64],
    ) -> StoreResult<HashMap<i64, ScorecardEntry>> {
        self.check()?;
        self.inner.scorecards(forge, repo_ids).await
    }
    async fn org_scorecards(&self, org: &OrgId) -> StoreResult<Vec<ScorecardEntry>> {
        self.check()?;
        self.inner.org_scorecards(org).await
    }
    async fn security_state(&self, org: &OrgId) -> StoreResult<Option<SecurityState>> {
        self.check()?;
        self.inner.security_state(org).await
    }
    async fn security_days(
        &self,
        org: &OrgId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<SecurityDay>> {
        self.check()?;
        self.inner.security_days(org, from, to).await
    }
}
