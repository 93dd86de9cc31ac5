//! Supply-chain data: OSV's advisories and its answers per package version (shared by
//! every organisation, kept as caches keyed by advisory id and by package-URL), per
//! organisation the findings, their daily counts and how the last check went, and per
//! repository its OpenSSF Scorecard result. Reads and
//! writes are separate traits, as for activity.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::NaiveDate;

use super::StoreResult;
use crate::domain::scorecard::ScorecardEntry;
use crate::domain::vulnerabilities::{
    Advisory, Finding, PackageResult, PackageVersion, SecurityDay, SecurityState,
};
use crate::domain::{ForgeName, OrgId};

/// What one organisation's vulnerability check stores, at once.
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityCommit {
    pub org: OrgId,
    /// Replaces the organisation's findings.
    pub findings: Vec<Finding>,
    /// Upserted by day.
    pub day: SecurityDay,
    pub state: SecurityState,
}

/// Writing vulnerability data.
#[async_trait]
pub trait SecurityWrite {
    /// Upserts advisories by id.
    async fn put_advisories(&self, advisories: &[Advisory]) -> StoreResult<()>;

    /// Upserts OSV's answers by package version.
    async fn put_package_results(&self, results: &[PackageResult]) -> StoreResult<()>;

    /// Stores `commit` in one write.
    async fn commit_security(&self, commit: &SecurityCommit) -> StoreResult<()>;

    /// Upserts Scorecard results by forge and repository.
    async fn put_scorecards(
        &self,
        forge: &ForgeName,
        entries: &[ScorecardEntry],
    ) -> StoreResult<()>;
}

/// Reading vulnerability data.
#[async_trait]
pub trait SecurityRead {
    /// The stored advisories among `ids`.
    async fn advisories(&self, ids: &[String]) -> StoreResult<HashMap<String, Advisory>>;

    /// OSV's last answers for those of `packages` it answered.
    async fn package_results(
        &self,
        packages: &[PackageVersion],
    ) -> StoreResult<HashMap<PackageVersion, PackageResult>>;

    /// The organisation's findings (of one repository, with `repo_id`), worst first, then
    /// by package and advisory.
    async fn findings(&self, org: &OrgId, repo_id: Option<i64>) -> StoreResult<Vec<Finding>>;

    /// How the organisation's last check went; `None` before the first.
    async fn security_state(&self, org: &OrgId) -> StoreResult<Option<SecurityState>>;

    /// What is stored of the Scorecard results of `forge`'s repositories `repo_ids`.
    async fn scorecards(
        &self,
        forge: &ForgeName,
        repo_ids: &[i64],
    ) -> StoreResult<HashMap<i64, ScorecardEntry>>;

    /// What is stored of the Scorecard results of the organisation's live repositories.
    async fn org_scorecards(&self, org: &OrgId) -> StoreResult<Vec<ScorecardEntry>>;

    /// The organisation's daily counts from `from` to `to` (inclusive), oldest first; a
    /// day without a check has no entry.
    async fn security_days(
        &self,
        org: &OrgId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<SecurityDay>>;
}

/// The order every store returns findings in.
pub(crate) fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        b.severity()
            .cmp(&a.severity())
            .then_with(|| a.package.cmp(&b.package))
            .then_with(|| a.advisory.id.cmp(&b.advisory.id))
            .then_with(|| a.repo_id.cmp(&b.repo_id))
    });
}
