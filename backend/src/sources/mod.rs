//! One REST client per forge, over a shared HTTP layer. Wire types stay private to each
//! client; what leaves a client is a domain type or a small source type defined here.

pub(crate) mod github;
pub(crate) mod http;
mod sbom;

pub(crate) use github::GitHub;
pub use http::{Cached, HttpClient, HttpPolicy, SourceError, Tally};

use crate::domain::{Library, RepoListing};

/// One page of an organisation's repository listing.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct RepoPage {
    pub repos: Vec<RepoListing>,
    /// Ids of entries that could not be read (kept, not marked gone).
    pub unreadable_ids: Vec<i64>,
    /// Entries that could not be read and had no usable id either.
    pub unreadable_without_id: u64,
    /// The `rel="next"` page, verbatim.
    pub next: Option<String>,
    /// The `rel="last"` page, when upstream said.
    pub last: Option<String>,
}

impl RepoPage {
    /// Entries skipped on this page.
    pub(crate) fn skipped(&self) -> u64 {
        self.unreadable_ids.len() as u64 + self.unreadable_without_id
    }
}

/// What a repository's dependency graph says.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) enum Dependencies {
    /// The libraries the SBOM lists (the repository itself left out).
    Libraries(Vec<Library>),
    /// The dependency graph is off or not visible (403/404): not a failure.
    NotAvailable,
}
