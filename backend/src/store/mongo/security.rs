//! Vulnerability data. `osv_advisories` (`_id` the advisory id) and `osv_packages`
//! (`_id` the package-URL) are caches shared by every organisation. Per organisation:
//! `security_findings` holds one document per repository (`_id` `org|repo`) with all
//! its findings, so a reader sees each repository's old or new findings, never a mix;
//! `security_days` one per day; `security_state` one (`_id` the organisation). Per
//! repository: `scorecards` (`_id` `forge:repo`).
//!
//! A check's commit writes the repositories' documents, then deletes those of
//! repositories without findings any more, then the day and the state, then bumps the
//! organisation's stamp.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use chrono::NaiveDate;
use mongodb::bson::{doc, Document};

use super::{backend, date, day, from_doc, int, to_doc, MongoStore};
use crate::domain::scorecard::ScorecardEntry;
use crate::domain::vulnerabilities::{
    Advisory, Finding, PackageResult, PackageVersion, SecurityDay, SecurityState,
};
use crate::domain::{ForgeName, OrgId};
use crate::store::{
    sort_findings, SecurityCommit, SecurityRead, SecurityWrite, StoreError, StoreResult,
};

/// Keys per `$in` list.
const CHUNK: usize = 1_000;

#[async_trait]
impl SecurityWrite for MongoStore {
    async fn put_advisories(&self, advisories: &[Advisory]) -> StoreResult<()> {
        self.wait_ready().await?;
        let mut statements = Vec::with_capacity(advisories.len());
        for a in advisories {
            statements.push(doc! {
                "q": { "_id": &a.id },
                "u": { "$set": { "modified": date(a.modified), "doc": to_doc(a)? } },
                "upsert": true,
            });
        }
        self.upsert_many("osv_advisories", statements).await
    }

    async fn put_package_results(&self, results: &[PackageResult]) -> StoreResult<()> {
        self.wait_ready().await?;
        let mut statements = Vec::with_capacity(results.len());
        for r in results {
            statements.push(doc! {
                "q": { "_id": r.package.purl() },
                "u": { "$set": { "checked_at": date(r.checked_at), "doc": to_doc(r)? } },
                "upsert": true,
            });
        }
        self.upsert_many("osv_packages", statements).await
    }

    async fn commit_security(&self, commit: &SecurityCommit) -> StoreResult<()> {
        self.wait_ready().await?;
        let org = commit.org.to_string();
        let mut by_repo: BTreeMap<i64, Vec<Document>> = BTreeMap::new();
        for f in &commit.findings {
            by_repo.entry(f.repo_id).or_default().push(to_doc(f)?);
        }
        let repos: Vec<i64> = by_repo.keys().copied().collect();
        let statements = by_repo
            .into_iter()
            .map(|(repo_id, findings)| {
                doc! {
                    "q": { "_id": format!("{org}|{repo_id}") },
                    "u": { "$set": { "org": &org, "repo_id": repo_id, "findings": findings } },
                    "upsert": true,
                }
            })
            .collect();
        self.upsert_many("security_findings", statements).await?;
        self.c("security_findings")
            .delete_many(doc! { "org": &org, "repo_id": { "$nin": repos } })
            .await
            .map_err(backend)?;
        self.c("security_days")
            .update_one(
                doc! { "org": &org, "day": day(commit.day.day) },
                doc! { "$set": { "counts": to_doc(&commit.day.counts)? } },
            )
            .upsert(true)
            .await
            .map_err(backend)?;
        self.c("security_state")
            .update_one(
                doc! { "_id": &org },
                doc! { "$set": { "doc": to_doc(&commit.state)? } },
            )
            .upsert(true)
            .await
            .map_err(backend)?;
        self.bump_orgs(&[&commit.org]).await
    }

    async fn put_scorecards(
        &self,
        forge: &ForgeName,
        entries: &[ScorecardEntry],
    ) -> StoreResult<()> {
        self.wait_ready().await?;
        let forge = forge.as_str();
        let mut statements = Vec::with_capacity(entries.len());
        for e in entries {
            statements.push(doc! {
                "q": { "_id": format!("{forge}:{}", e.repo_id) },
                "u": { "$set": {
                    "forge": forge, "repo_id": e.repo_id, "fetched_at": date(e.fetched_at),
                    "doc": to_doc(e)?,
                } },
                "upsert": true,
            });
        }
        self.upsert_many("scorecards", statements).await?;
        // Every organisation listing these repositories shows them: all move.
        let ids: Vec<i64> = entries.iter().map(|e| e.repo_id).collect();
        let mut orgs: Vec<OrgId> = Vec::new();
        for chunk in ids.chunks(CHUNK) {
            for d in self
                .all(
                    "org_repos",
                    doc! { "forge": forge, "id": { "$in": chunk } },
                    None,
                )
                .await?
            {
                if let Ok(org) = d.get_str("org").unwrap_or_default().parse::<OrgId>() {
                    if !orgs.contains(&org) {
                        orgs.push(org);
                    }
                }
            }
        }
        let orgs: Vec<&OrgId> = orgs.iter().collect();
        self.bump_orgs(&orgs).await
    }
}

#[async_trait]
impl SecurityRead for MongoStore {
    async fn advisories(&self, ids: &[String]) -> StoreResult<HashMap<String, Advisory>> {
        self.wait_ready().await?;
        let mut found = HashMap::new();
        for chunk in ids.chunks(CHUNK) {
            for d in self
                .all("osv_advisories", doc! { "_id": { "$in": chunk } }, None)
                .await?
            {
                let advisory: Advisory = from_doc(&d, "doc")?;
                found.insert(advisory.id.clone(), advisory);
            }
        }
        Ok(found)
    }

    async fn package_results(
        &self,
        packages: &[PackageVersion],
    ) -> StoreResult<HashMap<PackageVersion, PackageResult>> {
        self.wait_ready().await?;
        let purls: Vec<String> = packages.iter().map(PackageVersion::purl).collect();
        let mut found = HashMap::new();
        for chunk in purls.chunks(CHUNK) {
            for d in self
                .all("osv_packages", doc! { "_id": { "$in": chunk } }, None)
                .await?
            {
                let result: PackageResult = from_doc(&d, "doc")?;
                found.insert(result.package.clone(), result);
            }
        }
        Ok(found)
    }

    async fn findings(&self, org: &OrgId, repo_id: Option<i64>) -> StoreResult<Vec<Finding>> {
        self.wait_ready().await?;
        let mut filter = doc! { "org": org.to_string() };
        if let Some(repo_id) = repo_id {
            filter.insert("repo_id", repo_id);
        }
        let mut findings = Vec::new();
        for d in self.all("security_findings", filter, None).await? {
            let list = d
                .get_array("findings")
                .map_err(|e| StoreError::Corrupt(format!("findings: {e}")))?;
            for item in list {
                let item = item
                    .as_document()
                    .ok_or_else(|| StoreError::Corrupt("a finding is not a document".into()))?;
                findings.push(
                    mongodb::bson::from_document(item.clone())
                        .map_err(|e| StoreError::Corrupt(format!("finding: {e}")))?,
                );
            }
        }
        sort_findings(&mut findings);
        Ok(findings)
    }

    async fn security_state(&self, org: &OrgId) -> StoreResult<Option<SecurityState>> {
        self.wait_ready().await?;
        let found = self
            .c("security_state")
            .find_one(doc! { "_id": org.to_string() })
            .await
            .map_err(backend)?;
        found.map(|d| from_doc(&d, "doc")).transpose()
    }

    async fn scorecards(
        &self,
        forge: &ForgeName,
        repo_ids: &[i64],
    ) -> StoreResult<HashMap<i64, ScorecardEntry>> {
        self.wait_ready().await?;
        let mut found = HashMap::new();
        for chunk in repo_ids.chunks(CHUNK) {
            for d in self
                .all(
                    "scorecards",
                    doc! { "forge": forge.as_str(), "repo_id": { "$in": chunk } },
                    None,
                )
                .await?
            {
                let entry: ScorecardEntry = from_doc(&d, "doc")?;
                if int(&d, "repo_id") == Some(entry.repo_id) {
                    found.insert(entry.repo_id, entry);
                }
            }
        }
        Ok(found)
    }

    async fn org_scorecards(&self, org: &OrgId) -> StoreResult<Vec<ScorecardEntry>> {
        self.wait_ready().await?;
        let ids = self.live_repo_ids(org).await?;
        Ok(self
            .scorecards(org.forge(), &ids)
            .await?
            .into_values()
            .collect())
    }

    async fn security_days(
        &self,
        org: &OrgId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<SecurityDay>> {
        self.wait_ready().await?;
        let docs = self
            .all(
                "security_days",
                doc! { "org": org.to_string(), "day": { "$gte": day(from), "$lte": day(to) } },
                Some(doc! { "day": 1 }),
            )
            .await?;
        docs.iter()
            .map(|d| {
                let text = d.get_str("day").unwrap_or_default();
                let day = NaiveDate::parse_from_str(text, "%Y-%m-%d")
                    .map_err(|e| StoreError::Corrupt(format!("day `{text}`: {e}")))?;
                Ok(SecurityDay {
                    day,
                    counts: from_doc(d, "counts")?,
                })
            })
            .collect()
    }
}
