//! Stored records built by hand, for tests that write through a store directly: a
//! repository, and the commit of one organisation's refresh on a day.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use orgpulse::domain::{OrgId, OrgProfile, OrgRecord, RepoListing, RepoRecord, Snapshot};
use orgpulse::store::OrgCommit;

use super::at;

pub fn day(s: &str) -> NaiveDate {
    s.parse().expect("date")
}

/// Repository `id` of `org_id` (named `r{id}`) with `stars`, first seen on `first_seen`.
pub fn record(org_id: &OrgId, id: i64, stars: u64, first_seen: &str) -> RepoRecord {
    RepoRecord {
        org: org_id.clone(),
        listing: RepoListing {
            id,
            name: format!("r{id}"),
            full_name: format!("{}/r{id}", org_id.login()),
            description: Some("a repository".into()),
            html_url: None,
            language: Some("Rust".into()),
            stars,
            watchers: stars,
            forks: 1,
            open_issues: Some(2),
            license: Some("MIT".into()),
            topics: vec!["x".into()],
            archived: false,
            disabled: false,
            fork: false,
            size_kb: 10,
            default_branch: Some("main".into()),
            created_at: Some(at("2020-01-01")),
            updated_at: None,
            pushed_at: Some(at("2026-01-01")),
            visibility: Some("public".into()),
            node_id: None,
            open_pull_requests: None,
        },
        languages: Some(BTreeMap::from([("Rust".to_string(), 100)])),
        languages_for: Some("2026-01-01T12:00:00Z".into()),
        libraries: None,
        libraries_for: None,
        details: None,
        details_for: None,
        first_seen: day(first_seen),
        gone_since: None,
    }
}

/// The commit of `org_id`'s refresh on `when` (a day) that lists `repos`.
pub fn commit(org_id: &OrgId, when: &str, repos: Vec<RepoRecord>) -> OrgCommit {
    let now = at(when);
    OrgCommit {
        record: OrgRecord {
            org: org_id.clone(),
            profile: OrgProfile {
                id: 77,
                login: org_id.login().to_string(),
                name: Some("Acme".into()),
                description: None,
                blog: None,
                location: None,
                html_url: None,
                avatar_url: None,
                public_repos: Some(repos.len() as u64),
                followers: None,
                created_at: None,
                updated_at: None,
                is_verified: None,
            },
            fetched_at: now,
        },
        snapshot: Snapshot::of(org_id, now, &repos),
        repos,
        libraries: Vec::new(),
        http_cache: Vec::new(),
        events: Vec::new(),
    }
}
