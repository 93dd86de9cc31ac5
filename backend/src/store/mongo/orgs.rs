//! Organisations, repositories and libraries: the per-organisation commit (in the write
//! order the module above reasons out) and the reads the pages make.

use std::collections::HashMap;

use async_trait::async_trait;
use futures::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};

use super::{backend, date, day, from_doc, int, opt_date, repo_key, to_doc, MongoStore};
use crate::domain::{events, DayTotals, Library, OrgId, OrgOutcome, OrgRecord, RepoRecord};
use crate::store::{
    as_member, LibraryUsage, OrgCommit, OrgDetail, OrgOverview, OrgStore, SnapshotStore,
    StoreResult,
};

#[async_trait]
impl OrgStore for MongoStore {
    async fn commit_org_refresh(&self, commit: &OrgCommit) -> StoreResult<()> {
        self.wait_ready().await?;
        let org = &commit.record.org;
        let key = org.to_string();
        let forge = org.forge().as_str();
        // The repositories' data once, whoever lists them, then this organisation's
        // memberships: a membership never points at a repository not written yet.
        let mut statements = Vec::with_capacity(commit.repos.len());
        let mut members = Vec::with_capacity(commit.repos.len());
        for repo in &commit.repos {
            let id = repo_key(org, repo.listing.id);
            members.push(doc! {
                "q": { "_id": format!("{key}|{id}") },
                "u": { "$set": {
                    "org": &key,
                    "forge": forge,
                    "id": repo.listing.id,
                    "gone_since": repo.gone_since.map(day),
                } },
                "upsert": true,
            });
            statements.push(doc! {
                "q": { "_id": id },
                "u": {
                    "$set": {
                        "forge": forge,
                        "id": repo.listing.id,
                        "stars": repo.listing.stars as i64,
                        "doc": to_doc(repo)?,
                    },
                    "$setOnInsert": { "first_seen": day(repo.first_seen) },
                },
                "upsert": true,
            });
        }
        self.upsert_many("repos", statements).await?;
        self.upsert_many("org_repos", members).await?;
        if !commit.libraries.is_empty() {
            let ids: Vec<i64> = commit.libraries.iter().map(|l| l.repo_id).collect();
            self.c("repo_libraries")
                .delete_many(doc! { "forge": forge, "repo_id": { "$in": ids } })
                .await
                .map_err(backend)?;
            let docs: Vec<Document> = commit
                .libraries
                .iter()
                .flat_map(|set| {
                    set.libraries.iter().map(move |l| {
                        doc! {
                            "forge": forge, "repo_id": set.repo_id, "ecosystem": &l.ecosystem,
                            "name": &l.name, "version": l.version.clone(), "license": l.license.clone(),
                        }
                    })
                })
                .collect();
            if !docs.is_empty() {
                self.c("repo_libraries")
                    .insert_many(docs)
                    .await
                    .map_err(backend)?;
            }
        }
        let snapshot = &commit.snapshot;
        self.write_repo_days(&commit.record.org, snapshot.day, &snapshot.repos)
            .await?;
        self.c("snapshots")
            .update_one(
                doc! { "_id": format!("{key}|{}", day(snapshot.day)) },
                doc! { "$set": {
                    "org": &key,
                    "day": day(snapshot.day),
                    "totals": to_doc(&snapshot.day_totals())?,
                } },
            )
            .upsert(true)
            .await
            .map_err(backend)?;
        self.c("orgs")
            .update_one(
                doc! { "_id": &key },
                doc! { "$set": { "fetched_at": date(commit.record.fetched_at), "doc": to_doc(&commit.record)? } },
            )
            .upsert(true)
            .await
            .map_err(backend)?;
        let mut cache = Vec::with_capacity(commit.http_cache.len());
        for entry in &commit.http_cache {
            cache.push(doc! {
                "q": { "_id": format!("{key}|{}", entry.url) },
                "u": { "$set": { "org": &key, "url": &entry.url, "entry": to_doc(entry)? } },
                "upsert": true,
            });
        }
        self.upsert_many("http_cache", cache).await?;
        self.insert_events(&commit.events).await?;
        self.bump_orgs(&[&commit.record.org]).await
    }

    async fn record_org_outcome(&self, outcome: &OrgOutcome) -> StoreResult<()> {
        self.wait_ready().await?;
        let previous: Option<OrgOutcome> = self
            .c("org_status")
            .find_one(doc! { "_id": outcome.org.to_string() })
            .await
            .map_err(backend)?
            .filter(|d| d.contains_key("outcome"))
            .map(|d| from_doc(&d, "outcome"))
            .transpose()?;
        // The event first: written again with the outcome if this write fails (one key).
        if let Some(event) = events::outcome(previous.as_ref(), outcome) {
            self.insert_events(&[event]).await?;
        }
        let mut set = doc! { "outcome": to_doc(outcome)? };
        if outcome.status.stored() {
            set.insert("last_success_at", date(outcome.finished_at));
        }
        self.c("org_status")
            .update_one(
                doc! { "_id": outcome.org.to_string() },
                doc! { "$set": set },
            )
            .upsert(true)
            .await
            .map_err(backend)?;
        self.bump_orgs(&[&outcome.org]).await
    }

    async fn get_org(&self, org: &OrgId) -> StoreResult<Option<OrgRecord>> {
        self.wait_ready().await?;
        self.org_record(org).await
    }

    async fn list_repos(&self, org: &OrgId) -> StoreResult<Vec<RepoRecord>> {
        self.wait_ready().await?;
        let members = self
            .all(
                "org_repos",
                doc! { "org": org.to_string() },
                Some(doc! { "id": 1 }),
            )
            .await?;
        let keys: Vec<String> = members
            .iter()
            .filter_map(|m| int(m, "id"))
            .map(|id| repo_key(org, id))
            .collect();
        let mut repos: HashMap<String, Document> = self
            .all("repos", doc! { "_id": { "$in": keys } }, None)
            .await?
            .into_iter()
            .filter_map(|d| Some((d.get_str("_id").ok()?.to_owned(), d)))
            .collect();
        let mut listed = Vec::with_capacity(members.len());
        for member in &members {
            let Some(id) = int(member, "id") else {
                continue;
            };
            let Some(d) = repos.remove(&repo_key(org, id)) else {
                // A membership whose repository write was cut short: the next refresh
                // writes both again.
                continue;
            };
            let record: RepoRecord = from_doc(&d, "doc")?;
            // The first date ever written survives later upserts ($setOnInsert).
            let first_seen = d
                .get_str("first_seen")
                .map_or_else(|_| record.first_seen.to_string(), str::to_owned);
            listed.push(as_member(
                record,
                org,
                &first_seen,
                member.get_str("gone_since").ok(),
            )?);
        }
        Ok(listed)
    }

    async fn list_repo_libraries(&self, org: &OrgId, repo_id: i64) -> StoreResult<Vec<Library>> {
        self.wait_ready().await?;
        let docs = self
            .all(
                "repo_libraries",
                doc! { "forge": org.forge().as_str(), "repo_id": repo_id },
                Some(doc! { "ecosystem": 1, "name": 1, "version": 1 }),
            )
            .await?;
        Ok(docs.iter().map(library_of).collect())
    }

    async fn org_libraries(&self, org: &OrgId) -> StoreResult<Vec<(i64, Library)>> {
        self.wait_ready().await?;
        let live = self.live_repo_ids(org).await?;
        let mut found = Vec::new();
        for chunk in live.chunks(super::BATCH) {
            let docs = self
                .all(
                    "repo_libraries",
                    doc! { "forge": org.forge().as_str(), "repo_id": { "$in": chunk } },
                    Some(doc! { "repo_id": 1, "ecosystem": 1, "name": 1, "version": 1 }),
                )
                .await?;
            found.extend(
                docs.iter()
                    .filter_map(|d| Some((int(d, "repo_id")?, library_of(d)))),
            );
        }
        found.sort_by(|a, b| {
            (a.0, &a.1.ecosystem, &a.1.name, &a.1.version).cmp(&(
                b.0,
                &b.1.ecosystem,
                &b.1.name,
                &b.1.version,
            ))
        });
        Ok(found)
    }

    async fn library_usage(&self, org: &OrgId) -> StoreResult<Vec<LibraryUsage>> {
        self.wait_ready().await?;
        let live = self.live_repo_ids(org).await?;
        let pipeline = vec![
            doc! { "$match": { "forge": org.forge().as_str(), "repo_id": { "$in": live } } },
            doc! { "$group": { "_id": { "e": "$ecosystem", "n": "$name" }, "repos": { "$addToSet": "$repo_id" } } },
        ];
        let groups = self.aggregate("repo_libraries", pipeline).await?;
        let mut usage: Vec<LibraryUsage> = groups
            .iter()
            .filter_map(|g| {
                let id = g.get_document("_id").ok()?;
                Some(LibraryUsage {
                    ecosystem: id.get_str("e").ok()?.to_owned(),
                    name: id.get_str("n").ok()?.to_owned(),
                    repos: g.get_array("repos").map(|r| r.len() as u64).unwrap_or(0),
                })
            })
            .collect();
        LibraryUsage::sort(&mut usage);
        Ok(usage)
    }

    async fn overview(&self) -> StoreResult<Vec<OrgOverview>> {
        self.wait_ready().await?;
        // Four reads whatever the number of organisations (tracked, their outcomes,
        // profiles, every day's totals), joined here; not 2N+1 round trips.
        let tracked = self.tracked_orgs().await?;
        let keys: Vec<String> = tracked.iter().map(|t| t.org.to_string()).collect();
        let mut records: HashMap<String, OrgRecord> = HashMap::new();
        for d in self
            .all("orgs", doc! { "_id": { "$in": &keys } }, None)
            .await?
        {
            if let Ok(id) = d.get_str("_id") {
                records.insert(id.to_owned(), from_doc(&d, "doc")?);
            }
        }
        let mut history: HashMap<String, Vec<DayTotals>> = HashMap::new();
        let days = self
            .c("snapshots")
            .find(doc! { "org": { "$in": &keys } })
            .sort(doc! { "org": 1, "day": 1 })
            .projection(doc! { "org": 1, "totals": 1 })
            .await
            .map_err(backend)?
            .try_collect::<Vec<Document>>()
            .await
            .map_err(backend)?;
        for d in &days {
            if let Ok(org) = d.get_str("org") {
                history
                    .entry(org.to_owned())
                    .or_default()
                    .push(from_doc(d, "totals")?);
            }
        }
        Ok(tracked
            .into_iter()
            .map(|tracked| {
                let key = tracked.org.to_string();
                OrgOverview {
                    record: records.remove(&key),
                    history: history.remove(&key).unwrap_or_default(),
                    tracked,
                }
            })
            .collect())
    }

    async fn org_detail(&self, org: &OrgId) -> StoreResult<Option<OrgDetail>> {
        self.wait_ready().await?;
        let key = org.to_string();
        let tracked = self
            .c("tracked_orgs")
            .find_one(doc! { "_id": &key })
            .await
            .map_err(backend)?;
        let status = self
            .c("org_status")
            .find_one(doc! { "_id": &key })
            .await
            .map_err(backend)?;
        let record = self.org_record(org).await?;
        if !OrgDetail::is_known(tracked.is_some(), status.is_some(), record.is_some()) {
            return Ok(None);
        }
        Ok(Some(OrgDetail {
            org: org.clone(),
            tracked_since: tracked.as_ref().and_then(|t| opt_date(t, "added_at")),
            last_outcome: status
                .as_ref()
                .map(|s| from_doc(s, "outcome"))
                .transpose()?,
            last_success_at: status.as_ref().and_then(|s| opt_date(s, "last_success_at")),
            record,
            history: self.list_history(org, None, None).await?,
            repos: self.list_repos(org).await?,
            libraries: self.library_usage(org).await?,
        }))
    }
}

impl MongoStore {
    pub(super) async fn org_record(&self, org: &OrgId) -> StoreResult<Option<OrgRecord>> {
        self.c("orgs")
            .find_one(doc! { "_id": org.to_string() })
            .await
            .map_err(backend)?
            .map(|d| from_doc(&d, "doc"))
            .transpose()
    }
}

fn library_of(d: &Document) -> Library {
    Library {
        ecosystem: d.get_str("ecosystem").unwrap_or_default().to_owned(),
        name: d.get_str("name").unwrap_or_default().to_owned(),
        version: d.get_str("version").ok().map(str::to_owned),
        license: d.get_str("license").ok().map(str::to_owned),
    }
}

impl MongoStore {
    /// The ids of the repositories `org` lists that are not gone.
    pub(super) async fn live_repo_ids(&self, org: &OrgId) -> StoreResult<Vec<i64>> {
        Ok(self
            .all(
                "org_repos",
                doc! { "org": org.to_string(), "gone_since": Bson::Null },
                None,
            )
            .await?
            .iter()
            .filter_map(|d| int(d, "id"))
            .collect())
    }
}
