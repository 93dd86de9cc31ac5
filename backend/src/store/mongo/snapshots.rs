//! The daily snapshots: one document per organisation and day with its totals, and the
//! per-repository counts as change rows in `repo_days` (see `domain/history.rs`): small
//! documents, none growing with an organisation's size or age.

use async_trait::async_trait;
use chrono::NaiveDate;
use futures::TryStreamExt;
use mongodb::bson::{self, doc, Bson, Document};

use super::{backend, day, from_doc, int, MongoStore};
use crate::domain::history::{self, DayCounts, RepoChange};
use crate::domain::{DayTotals, OrgId, RepoCounts, RepoDay, Snapshot};
use crate::store::{SnapshotStore, StoreError, StoreResult};

#[async_trait]
impl SnapshotStore for MongoStore {
    async fn list_history(
        &self,
        org: &OrgId,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> StoreResult<Vec<DayTotals>> {
        self.wait_ready().await?;
        // The totals alone: every day's per-repository counts stay in the database.
        let docs = self
            .snapshot_docs(org, from, to, Some(doc! { "totals": 1 }))
            .await?;
        docs.iter().map(|d| from_doc(d, "totals")).collect()
    }

    async fn list_snapshots(
        &self,
        org: &OrgId,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> StoreResult<Vec<Snapshot>> {
        self.wait_ready().await?;
        let docs = self
            .snapshot_docs(org, from, to, Some(doc! { "totals": 1 }))
            .await?;
        let totals: Vec<DayTotals> = docs
            .iter()
            .map(|d| from_doc(d, "totals"))
            .collect::<StoreResult<_>>()?;
        let days: Vec<NaiveDate> = totals.iter().map(|t| t.day).collect();
        let rows = self.change_rows(org, None, to).await?;
        let repos = history::replay(&days, &rows);
        Ok(totals
            .into_iter()
            .zip(repos)
            .map(|(day, repos)| Snapshot::from_parts(org.clone(), day, repos))
            .collect())
    }

    async fn repo_history(
        &self,
        org: &OrgId,
        repo_id: i64,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> StoreResult<Vec<RepoDay>> {
        self.wait_ready().await?;
        let docs = self
            .snapshot_docs(org, from, to, Some(doc! { "day": 1 }))
            .await?;
        let days: Vec<NaiveDate> = docs
            .iter()
            .map(|d| parse_day(d.get_str("day").unwrap_or_default()))
            .collect::<StoreResult<_>>()?;
        let rows = self.change_rows(org, Some(repo_id), to).await?;
        Ok(history::series(&days, &rows))
    }

    async fn repo_counts_on(&self, org: &OrgId, on: NaiveDate) -> StoreResult<Vec<RepoCounts>> {
        self.wait_ready().await?;
        Ok(history::listed(self.latest_rows(org, on, true).await?))
    }
}

fn parse_day(s: &str) -> StoreResult<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| StoreError::Corrupt(format!("day `{s}`: {e}")))
}

/// A `repo_days` document: `{org, repo, day, stars, forks, issues}`, counts null when the
/// repository stopped being listed that day.
fn row_doc(org: &str, row: &RepoChange) -> Document {
    let count = |f: fn(&DayCounts) -> u64| {
        row.counts
            .as_ref()
            .map_or(Bson::Null, |c| Bson::Int64(f(c) as i64))
    };
    doc! {
        "org": org, "repo": row.repo_id, "day": day(row.day),
        "stars": count(|c| c.stars), "forks": count(|c| c.forks),
        "issues": row.counts.and_then(|c| c.open_issues).map_or(Bson::Null, |n| Bson::Int64(n as i64)),
    }
}

fn row_of(d: &Document) -> StoreResult<RepoChange> {
    let repo_id =
        int(d, "repo").ok_or_else(|| StoreError::Corrupt("repo_days without a repo".into()))?;
    let counts = int(d, "stars").map(|stars| DayCounts {
        stars: u64::try_from(stars).unwrap_or(0),
        forks: int(d, "forks")
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0),
        open_issues: int(d, "issues").and_then(|n| u64::try_from(n).ok()),
    });
    Ok(RepoChange {
        repo_id,
        day: parse_day(d.get_str("day").unwrap_or_default())?,
        counts,
    })
}

impl MongoStore {
    /// `org`'s change rows up to `to` (inclusive), of one repository or all.
    pub(super) async fn change_rows(
        &self,
        org: &OrgId,
        repo_id: Option<i64>,
        to: Option<NaiveDate>,
    ) -> StoreResult<Vec<RepoChange>> {
        let mut filter = doc! { "org": org.to_string() };
        if let Some(id) = repo_id {
            filter.insert("repo", id);
        }
        if let Some(t) = to {
            filter.insert("day", doc! { "$lte": day(t) });
        }
        self.all("repo_days", filter, None)
            .await?
            .iter()
            .map(row_of)
            .collect()
    }

    /// The latest row per repository of `org` before `on` (on or before it when
    /// `inclusive`), grouped on the server: the answer is one document per repository
    /// whatever the length of the history. The `$sort` follows the unique index
    /// (org, repo, day) and the `$group` takes only `$first`s keyed by `repo`, the shape
    /// MongoDB answers with a DISTINCT_SCAN (one index seek per repository; SERVER-9507)
    /// instead of reading every row. The wire test server cannot show that plan.
    async fn latest_rows(
        &self,
        org: &OrgId,
        on: NaiveDate,
        inclusive: bool,
    ) -> StoreResult<std::collections::HashMap<i64, Option<DayCounts>>> {
        let bound = if inclusive { "$lte" } else { "$lt" };
        let pipeline = vec![
            doc! { "$match": { "org": org.to_string(), "day": { bound: day(on) } } },
            doc! { "$sort": { "org": 1, "repo": 1, "day": -1 } },
            doc! { "$group": {
                "_id": "$repo",
                "day": { "$first": "$day" },
                "stars": { "$first": "$stars" },
                "forks": { "$first": "$forks" },
                "issues": { "$first": "$issues" },
            } },
        ];
        let groups = self.aggregate("repo_days", pipeline).await?;
        groups
            .into_iter()
            .map(|mut g| {
                let id = g.remove("_id").unwrap_or(Bson::Null);
                g.insert("repo", id);
                row_of(&g).map(|r| (r.repo_id, r.counts))
            })
            .collect()
    }

    /// Writes the change rows of `org`'s snapshot of `on`, replacing that day's when the
    /// day is committed again. Before the snapshot document, like every part of a commit.
    pub(super) async fn write_repo_days(
        &self,
        org: &OrgId,
        on: NaiveDate,
        listed: &[RepoCounts],
    ) -> StoreResult<()> {
        let key = org.to_string();
        self.c("repo_days")
            .delete_many(doc! { "org": &key, "day": day(on) })
            .await
            .map_err(backend)?;
        let latest = self.latest_rows(org, on, false).await?;
        let docs: Vec<Document> = history::changes_for(on, &latest, listed)
            .iter()
            .map(|row| row_doc(&key, row))
            .collect();
        for chunk in docs.chunks(super::BATCH) {
            self.c("repo_days")
                .insert_many(chunk.to_vec())
                .await
                .map_err(backend)?;
        }
        Ok(())
    }

    /// Moves per-repository counts out of snapshot documents written before `repo_days`
    /// existed (their `repos` arrays) into change rows, one organisation at a time.
    /// Idempotent: rows are replaced by key, and a snapshot loses its array only after its
    /// organisation's rows are written.
    pub(super) async fn migrate_snapshot_repos(&self) -> StoreResult<u64> {
        let old = self
            .all(
                "snapshots",
                doc! { "repos": { "$exists": true } },
                Some(doc! { "org": 1, "day": 1 }),
            )
            .await?;
        let mut by_org: std::collections::BTreeMap<String, Vec<&Document>> = Default::default();
        for d in &old {
            by_org
                .entry(d.get_str("org").unwrap_or_default().to_owned())
                .or_default()
                .push(d);
        }
        let mut migrated = 0;
        for (org, snapshots) in by_org {
            let mut rows: Vec<RepoChange> = self
                .all("repo_days", doc! { "org": &org }, None)
                .await?
                .iter()
                .map(row_of)
                .collect::<StoreResult<_>>()?;
            let mut days = Vec::new();
            let mut written = Vec::new();
            for snapshot in &snapshots {
                let on = parse_day(snapshot.get_str("day").unwrap_or_default())?;
                let listed: Vec<RepoCounts> = bson::from_bson(Bson::Array(
                    snapshot
                        .get_array("repos")
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?
                        .clone(),
                ))
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                rows.retain(|r| r.day != on);
                let latest = history::latest_of(rows.iter().copied().filter(|r| r.day < on));
                let changes = history::changes_for(on, &latest, &listed);
                rows.extend(changes.iter().copied());
                written.extend(changes);
                days.push(day(on));
            }
            self.c("repo_days")
                .delete_many(doc! { "org": &org, "day": { "$in": &days } })
                .await
                .map_err(backend)?;
            let docs: Vec<Document> = written.iter().map(|r| row_doc(&org, r)).collect();
            for chunk in docs.chunks(super::BATCH) {
                self.c("repo_days")
                    .insert_many(chunk.to_vec())
                    .await
                    .map_err(backend)?;
            }
            self.c("snapshots")
                .update_many(
                    doc! { "org": &org, "day": { "$in": &days } },
                    doc! { "$unset": { "repos": "" } },
                )
                .await
                .map_err(backend)?;
            migrated += days.len() as u64;
        }
        Ok(migrated)
    }

    /// `org`'s snapshot documents between `from` and `to` inclusive, oldest first, with
    /// only the `projection`'s fields when one is given.
    async fn snapshot_docs(
        &self,
        org: &OrgId,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        projection: Option<Document>,
    ) -> StoreResult<Vec<Document>> {
        let mut filter = doc! { "org": org.to_string() };
        let mut range = Document::new();
        if let Some(f) = from {
            range.insert("$gte", day(f));
        }
        if let Some(t) = to {
            range.insert("$lte", day(t));
        }
        if !range.is_empty() {
            filter.insert("day", range);
        }
        let collection = self.c("snapshots");
        let mut find = collection.find(filter).sort(doc! { "day": 1 });
        if let Some(projection) = projection {
            find = find.projection(projection);
        }
        find.await
            .map_err(backend)?
            .try_collect()
            .await
            .map_err(backend)
    }
}
