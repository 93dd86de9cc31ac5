//! Vulnerability data: OSV caches and each organisation's findings, days and state.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::NaiveDate;
use rusqlite::{params, TransactionBehavior};

use super::{bump_org, day, from_doc, to_doc, ts, SqliteStore};
use crate::domain::scorecard::ScorecardEntry;
use crate::domain::vulnerabilities::{
    Advisory, Finding, PackageResult, PackageVersion, SecurityDay, SecurityState, SeverityCounts,
};
use crate::domain::{ForgeName, OrgId};
use crate::store::{sort_findings, SecurityCommit, SecurityRead, SecurityWrite, StoreResult};

/// Keys per `IN (…)` list: well inside SQLite's bound on parameters.
const CHUNK: usize = 500;

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

#[async_trait]
impl SecurityWrite for SqliteStore {
    async fn put_advisories(&self, advisories: &[Advisory]) -> StoreResult<()> {
        let rows = advisories
            .iter()
            .map(|a| Ok((a.id.clone(), ts(a.modified), to_doc(a)?)))
            .collect::<StoreResult<Vec<_>>>()?;
        self.call(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut put = tx.prepare_cached(
                    "INSERT INTO osv_advisories (id, modified, body) VALUES (?1, ?2, ?3)
                     ON CONFLICT (id) DO UPDATE SET modified = excluded.modified,
                       body = excluded.body",
                )?;
                for (id, modified, body) in &rows {
                    put.execute(params![id, modified, body])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn put_package_results(&self, results: &[PackageResult]) -> StoreResult<()> {
        let rows = results
            .iter()
            .map(|r| Ok((r.package.purl(), ts(r.checked_at), to_doc(r)?)))
            .collect::<StoreResult<Vec<_>>>()?;
        self.call(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut put = tx.prepare_cached(
                    "INSERT INTO osv_packages (purl, checked_at, body) VALUES (?1, ?2, ?3)
                     ON CONFLICT (purl) DO UPDATE SET checked_at = excluded.checked_at,
                       body = excluded.body",
                )?;
                for (purl, checked_at, body) in &rows {
                    put.execute(params![purl, checked_at, body])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn commit_security(&self, commit: &SecurityCommit) -> StoreResult<()> {
        let org = commit.org.to_string();
        let findings = commit
            .findings
            .iter()
            .map(|f| Ok((f.repo_id, to_doc(f)?)))
            .collect::<StoreResult<Vec<_>>>()?;
        let (when, counts) = (day(commit.day.day), to_doc(&commit.day.counts)?);
        let state = to_doc(&commit.state)?;
        self.call(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute("DELETE FROM security_findings WHERE org = ?1", params![org])?;
            {
                let mut put = tx.prepare_cached(
                    "INSERT INTO security_findings (org, repo_id, body) VALUES (?1, ?2, ?3)",
                )?;
                for (repo_id, body) in &findings {
                    put.execute(params![org, repo_id, body])?;
                }
            }
            tx.execute(
                "INSERT INTO security_days (org, day, counts) VALUES (?1, ?2, ?3)
                 ON CONFLICT (org, day) DO UPDATE SET counts = excluded.counts",
                params![org, when, counts],
            )?;
            tx.execute(
                "INSERT INTO security_state (org, body) VALUES (?1, ?2)
                 ON CONFLICT (org) DO UPDATE SET body = excluded.body",
                params![org, state],
            )?;
            bump_org(&tx, &org)?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn put_scorecards(
        &self,
        forge: &ForgeName,
        entries: &[ScorecardEntry],
    ) -> StoreResult<()> {
        let forge = forge.to_string();
        let rows = entries
            .iter()
            .map(|e| Ok((e.repo_id, ts(e.fetched_at), to_doc(e)?)))
            .collect::<StoreResult<Vec<_>>>()?;
        self.call(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut put = tx.prepare_cached(
                    "INSERT INTO scorecards (forge, repo_id, fetched_at, body)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (forge, repo_id) DO UPDATE SET
                       fetched_at = excluded.fetched_at, body = excluded.body",
                )?;
                for (repo_id, fetched_at, body) in &rows {
                    put.execute(params![forge, repo_id, fetched_at, body])?;
                }
            }
            // Every organisation listing these repositories shows them: all move.
            super::bump(&tx)?;
            tx.execute(
                "UPDATE org_stamps SET stamp = stamp + 1 WHERE org IN
                   (SELECT DISTINCT org FROM org_repos WHERE forge = ?1)",
                params![forge],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl SecurityRead for SqliteStore {
    async fn advisories(&self, ids: &[String]) -> StoreResult<HashMap<String, Advisory>> {
        let ids = ids.to_vec();
        self.call(move |conn| {
            let mut found = HashMap::new();
            for chunk in ids.chunks(CHUNK) {
                let mut stmt = conn.prepare(&format!(
                    "SELECT body FROM osv_advisories WHERE id IN ({})",
                    placeholders(chunk.len())
                ))?;
                let rows =
                    stmt.query_map(rusqlite::params_from_iter(chunk), |r| r.get::<_, String>(0))?;
                for row in rows {
                    let advisory: Advisory = from_doc(&row?)?;
                    found.insert(advisory.id.clone(), advisory);
                }
            }
            Ok(found)
        })
        .await
    }

    async fn package_results(
        &self,
        packages: &[PackageVersion],
    ) -> StoreResult<HashMap<PackageVersion, PackageResult>> {
        let purls: Vec<String> = packages.iter().map(PackageVersion::purl).collect();
        self.call(move |conn| {
            let mut found = HashMap::new();
            for chunk in purls.chunks(CHUNK) {
                let mut stmt = conn.prepare(&format!(
                    "SELECT body FROM osv_packages WHERE purl IN ({})",
                    placeholders(chunk.len())
                ))?;
                let rows =
                    stmt.query_map(rusqlite::params_from_iter(chunk), |r| r.get::<_, String>(0))?;
                for row in rows {
                    let result: PackageResult = from_doc(&row?)?;
                    found.insert(result.package.clone(), result);
                }
            }
            Ok(found)
        })
        .await
    }

    async fn findings(&self, org: &OrgId, repo_id: Option<i64>) -> StoreResult<Vec<Finding>> {
        let org = org.to_string();
        self.call(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT body FROM security_findings
                 WHERE org = ?1 AND (?2 IS NULL OR repo_id = ?2)",
            )?;
            let rows = stmt.query_map(params![org, repo_id], |r| r.get::<_, String>(0))?;
            let mut findings = rows
                .map(|row| from_doc(&row?))
                .collect::<StoreResult<Vec<Finding>>>()?;
            sort_findings(&mut findings);
            Ok(findings)
        })
        .await
    }

    async fn security_state(&self, org: &OrgId) -> StoreResult<Option<SecurityState>> {
        let org = org.to_string();
        self.call(move |conn| {
            let body: Option<String> = conn
                .prepare_cached("SELECT body FROM security_state WHERE org = ?1")?
                .query_map(params![org], |r| r.get(0))?
                .next()
                .transpose()?;
            body.as_deref().map(from_doc).transpose()
        })
        .await
    }

    async fn scorecards(
        &self,
        forge: &ForgeName,
        repo_ids: &[i64],
    ) -> StoreResult<HashMap<i64, ScorecardEntry>> {
        let forge = forge.to_string();
        let ids = repo_ids.to_vec();
        self.call(move |conn| {
            let mut found = HashMap::new();
            for chunk in ids.chunks(CHUNK) {
                let mut stmt = conn.prepare(&format!(
                    "SELECT body FROM scorecards WHERE forge = ? AND repo_id IN ({})",
                    placeholders(chunk.len())
                ))?;
                let params = std::iter::once(rusqlite::types::Value::from(forge.clone()))
                    .chain(chunk.iter().map(|id| rusqlite::types::Value::from(*id)));
                let rows = stmt.query_map(rusqlite::params_from_iter(params), |r| {
                    r.get::<_, String>(0)
                })?;
                for row in rows {
                    let entry: ScorecardEntry = from_doc(&row?)?;
                    found.insert(entry.repo_id, entry);
                }
            }
            Ok(found)
        })
        .await
    }

    async fn org_scorecards(&self, org: &OrgId) -> StoreResult<Vec<ScorecardEntry>> {
        let org = org.to_string();
        self.call(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT s.body FROM org_repos m
                 JOIN scorecards s ON s.forge = m.forge AND s.repo_id = m.repo_id
                 WHERE m.org = ?1 AND m.gone_since IS NULL",
            )?;
            let rows = stmt.query_map(params![org], |r| r.get::<_, String>(0))?;
            rows.map(|row| from_doc(&row?)).collect()
        })
        .await
    }

    async fn security_days(
        &self,
        org: &OrgId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<SecurityDay>> {
        let (org, from, to) = (org.to_string(), day(from), day(to));
        self.call(move |conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT day, counts FROM security_days
                 WHERE org = ?1 AND day >= ?2 AND day <= ?3 ORDER BY day",
            )?;
            let rows = stmt.query_map(params![org, from, to], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?;
            rows.map(|row| {
                let (d, counts) = row?;
                Ok(SecurityDay {
                    day: super::parse_day(&d)?,
                    counts: from_doc::<SeverityCounts>(&counts)?,
                })
            })
            .collect()
        })
        .await
    }
}
