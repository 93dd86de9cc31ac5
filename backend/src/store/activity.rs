//! Activity records (issues, pull requests, releases) and each organisation's activity
//! sync position: written by the activity sync, read by the figures. Reads and writes are
//! separate traits, so what only computes figures can be given the reading half.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreResult;
use crate::domain::activity::{ActivityItem, ItemKey, ReleaseRecord, Window};
use crate::domain::{ForgeName, OrgId};

/// What one activity sync of an organisation stores, at once.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivityCommit {
    pub org: OrgId,
    /// Upserted by forge + kind + the forge's id: an item seen again replaces its record.
    pub items: Vec<ActivityItem>,
    /// Upserted by forge + repository + tag.
    pub releases: Vec<ReleaseRecord>,
    /// The organisation's sync position moves here (the time the sync asked from on its
    /// next run); `None` leaves it (a partial sync keeps what it got, not its position).
    pub synced_until: Option<DateTime<Utc>>,
}

/// What a sync needs to know of an item it sees again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredItem {
    pub updated_at: DateTime<Utc>,
    pub first_response_at: Option<DateTime<Utc>>,
}

/// Writing activity.
#[async_trait]
pub trait ActivityWrite {
    /// Stores `commit` in one write.
    async fn commit_activity(&self, commit: &ActivityCommit) -> StoreResult<()>;
}

/// Reading activity. An organisation's items are those of the repositories it lists (gone
/// ones included); `repo_id` narrows to one of them.
#[async_trait]
pub trait ActivityRead {
    /// Where the organisation's last complete activity sync got to.
    async fn activity_synced_until(&self, org: &OrgId) -> StoreResult<Option<DateTime<Utc>>>;

    /// The items that touch `window`: created, closed or merged in it.
    async fn activity_items(
        &self,
        org: &OrgId,
        window: Window,
        repo_id: Option<i64>,
    ) -> StoreResult<Vec<ActivityItem>>;

    /// When each of `authors` (known, non-bot authors) created their first item in the
    /// organisation, for those who have one. Asked for a window's authors, never all.
    async fn first_items(
        &self,
        org: &OrgId,
        authors: &[String],
    ) -> StoreResult<HashMap<String, DateTime<Utc>>>;

    /// Per repository of the organisation: its open items that have no first response and
    /// were created before `before` — how many, and when the oldest was created.
    async fn waiting_items(
        &self,
        org: &OrgId,
        before: DateTime<Utc>,
    ) -> StoreResult<HashMap<i64, (u64, DateTime<Utc>)>>;

    /// Per repository and author (known, non-bot authors): how many pull requests merged in
    /// `window` they wrote. Counted by the store: no item is read.
    async fn merged_by_author(
        &self,
        org: &OrgId,
        window: Window,
    ) -> StoreResult<Vec<(i64, String, u64)>>;

    /// What is stored of items `keys` of `forge` (those stored at all).
    async fn stored_items(
        &self,
        forge: &ForgeName,
        keys: &[ItemKey],
    ) -> StoreResult<HashMap<ItemKey, StoredItem>>;

    /// The releases of the organisation's repositories (of one, with `repo_id`).
    async fn releases(&self, org: &OrgId, repo_id: Option<i64>) -> StoreResult<Vec<ReleaseRecord>>;
}
