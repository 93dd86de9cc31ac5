//! Data the store benchmarks share: an organisation's repositories and the commit of a
//! refresh that lists them.

use chrono::{DateTime, Utc};
use orgpulse::domain::{OrgId, OrgProfile, OrgRecord, RepoListing, RepoRecord, Snapshot};
use orgpulse::store::OrgCommit;

/// `n` repositories of `org` with ids from `offset`.
pub fn records(org: &OrgId, n: usize, offset: i64) -> Vec<RepoRecord> {
    (0..n as i64)
        .map(|i| RepoRecord {
            org: org.clone(),
            listing: RepoListing {
                id: offset + i,
                name: format!("repo-{i}"),
                full_name: format!("{}/repo-{i}", org.login()),
                description: Some("A repository for the benchmark".into()),
                html_url: Some(format!("https://github.com/{}/repo-{i}", org.login())),
                language: Some("Rust".into()),
                stars: (i * 7 % 5000) as u64,
                watchers: 0,
                forks: (i % 300) as u64,
                open_issues: Some((i % 40) as u64),
                license: Some("MIT".into()),
                topics: vec!["bench".into()],
                archived: false,
                disabled: false,
                fork: false,
                size_kb: 1000,
                default_branch: Some("main".into()),
                created_at: Some(Utc::now()),
                updated_at: Some(Utc::now()),
                pushed_at: Some(Utc::now()),
                visibility: Some("public".into()),
                node_id: None,
                open_pull_requests: None,
            },
            languages: None,
            languages_for: None,
            libraries: None,
            libraries_for: None,
            details: None,
            details_for: None,
            first_seen: Utc::now().date_naive(),
            gone_since: None,
        })
        .collect()
}

/// The commit of a refresh taken at `now` listing `listed`, of which `changed` are written.
pub fn commit_on(
    org: &OrgId,
    now: DateTime<Utc>,
    listed: &[RepoRecord],
    changed: Vec<RepoRecord>,
) -> OrgCommit {
    OrgCommit {
        record: OrgRecord {
            org: org.clone(),
            profile: OrgProfile {
                id: 1,
                login: org.login().into(),
                name: None,
                description: None,
                blog: None,
                location: None,
                html_url: None,
                avatar_url: None,
                public_repos: None,
                followers: None,
                created_at: None,
                updated_at: None,
                is_verified: None,
            },
            fetched_at: now,
        },
        snapshot: Snapshot::of(org, now, listed),
        repos: changed,
        libraries: Vec::new(),
        http_cache: Vec::new(),
        events: Vec::new(),
    }
}
