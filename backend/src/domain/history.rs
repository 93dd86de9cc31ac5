//! Per-repository daily counts, stored as changes: a row says "from this day on, this
//! repository of this organisation had these counts" (or, with no counts, "was no longer
//! listed"), and holds until the next row. An ordinary day changes a few repositories, so
//! it writes a few rows instead of one per repository; a repository's history is its own
//! rows, and every organisation's counts on a day are the latest row per repository on or
//! before it. Both stores keep these rows and share the rules below.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::RepoCounts;

/// A repository's counts on a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCounts {
    pub stars: u64,
    pub forks: u64,
    pub open_issues: u64,
}

impl From<&RepoCounts> for DayCounts {
    fn from(c: &RepoCounts) -> Self {
        DayCounts {
            stars: c.stars,
            forks: c.forks,
            open_issues: c.open_issues,
        }
    }
}

/// One stored change: from `day` on, repository `repo_id` had `counts` (`None`: it was
/// no longer listed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepoChange {
    pub repo_id: i64,
    pub day: NaiveDate,
    pub counts: Option<DayCounts>,
}

/// One snapshot day of a repository's history: its counts, or `None` when the
/// organisation's snapshot that day did not list it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoDay {
    pub day: NaiveDate,
    pub counts: Option<DayCounts>,
}

/// The rows a snapshot of `day` adds, given each repository's latest row before `day`
/// (`latest`): a row for every listed repository whose counts differ from its latest (or
/// that has none), and a "no longer listed" row for every one listed before and not now.
pub fn changes_for(
    day: NaiveDate,
    latest: &HashMap<i64, Option<DayCounts>>,
    listed: &[RepoCounts],
) -> Vec<RepoChange> {
    let mut rows = Vec::new();
    let mut seen = std::collections::HashSet::with_capacity(listed.len());
    for repo in listed {
        seen.insert(repo.id);
        let counts = DayCounts::from(repo);
        if latest.get(&repo.id) != Some(&Some(counts)) {
            rows.push(RepoChange {
                repo_id: repo.id,
                day,
                counts: Some(counts),
            });
        }
    }
    for (id, counts) in latest {
        if counts.is_some() && !seen.contains(id) {
            rows.push(RepoChange {
                repo_id: *id,
                day,
                counts: None,
            });
        }
    }
    rows.sort_by_key(|r| r.repo_id);
    rows
}

/// The latest row per repository among `rows` (any order).
pub fn latest_of(rows: impl IntoIterator<Item = RepoChange>) -> HashMap<i64, Option<DayCounts>> {
    let mut latest: HashMap<i64, (NaiveDate, Option<DayCounts>)> = HashMap::new();
    for row in rows {
        let entry = latest.entry(row.repo_id).or_insert((row.day, row.counts));
        if row.day >= entry.0 {
            *entry = (row.day, row.counts);
        }
    }
    latest.into_iter().map(|(id, (_, c))| (id, c)).collect()
}

/// The repositories `latest` has as listed, with their counts, ordered by id.
pub fn listed(latest: HashMap<i64, Option<DayCounts>>) -> Vec<RepoCounts> {
    let mut counts: Vec<RepoCounts> = latest
        .into_iter()
        .filter_map(|(id, c)| c.map(|c| c.of(id)))
        .collect();
    counts.sort_by_key(|c| c.id);
    counts
}

impl DayCounts {
    /// These counts as repository `id`'s.
    pub fn of(self, id: i64) -> RepoCounts {
        RepoCounts {
            id,
            stars: self.stars,
            forks: self.forks,
            open_issues: self.open_issues,
        }
    }
}

/// Each of `days` (ascending) with the repositories listed that day, from `rows` (any
/// order): what the snapshots of those days held.
pub fn replay(days: &[NaiveDate], rows: &[RepoChange]) -> Vec<Vec<RepoCounts>> {
    let mut sorted: Vec<&RepoChange> = rows.iter().collect();
    sorted.sort_by_key(|r| (r.day, r.repo_id));
    let mut current: BTreeMap<i64, DayCounts> = BTreeMap::new();
    let mut next = sorted.into_iter().peekable();
    days.iter()
        .map(|day| {
            while let Some(row) = next.next_if(|r| r.day <= *day) {
                match row.counts {
                    Some(c) => current.insert(row.repo_id, c),
                    None => current.remove(&row.repo_id),
                };
            }
            current.iter().map(|(id, c)| c.of(*id)).collect()
        })
        .collect()
}

/// One repository's history over the organisation's snapshot `days` (ascending), from its
/// own `rows` (any order).
pub fn series(days: &[NaiveDate], rows: &[RepoChange]) -> Vec<RepoDay> {
    let mut sorted: Vec<&RepoChange> = rows.iter().collect();
    sorted.sort_by_key(|r| r.day);
    let mut current = None;
    let mut next = sorted.into_iter().peekable();
    days.iter()
        .map(|day| {
            while let Some(row) = next.next_if(|r| r.day <= *day) {
                current = row.counts;
            }
            RepoDay {
                day: *day,
                counts: current,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(n: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, n).expect("date")
    }

    fn c(id: i64, stars: u64) -> RepoCounts {
        RepoCounts {
            id,
            stars,
            forks: 1,
            open_issues: 2,
        }
    }

    #[test]
    fn only_changes_and_departures_are_written_and_replay_restores_every_day() {
        let days = [d(1), d(2), d(3), d(5)];
        let listed = [
            vec![c(1, 10), c(2, 20)],
            vec![c(1, 10), c(2, 21), c(3, 5)],
            vec![c(1, 10), c(3, 5)],
            vec![c(1, 11), c(2, 21), c(3, 5)],
        ];
        let mut rows: Vec<RepoChange> = Vec::new();
        for (day, today) in days.iter().zip(&listed) {
            let before = latest_of(rows.iter().copied().filter(|r| r.day < *day));
            rows.extend(changes_for(*day, &before, today));
        }
        // Day 1: two rows; day 2: repo 2 moved, repo 3 appeared; day 3: repo 2 left;
        // day 5: repo 1 moved, repo 2 came back.
        assert_eq!(rows.len(), 2 + 2 + 1 + 2);
        assert_eq!(
            rows.iter().filter(|r| r.counts.is_none()).count(),
            1,
            "one departure"
        );
        assert_eq!(replay(&days, &rows), listed);
        assert_eq!(
            series(
                &days,
                &rows
                    .iter()
                    .copied()
                    .filter(|r| r.repo_id == 2)
                    .collect::<Vec<_>>()
            )
            .iter()
            .map(|d| d.counts.map(|c| c.stars))
            .collect::<Vec<_>>(),
            [Some(20), Some(21), None, Some(21)]
        );
        // Committing a day again over its own rows changes nothing.
        let before = latest_of(rows.iter().copied().filter(|r| r.day < d(5)));
        let again = changes_for(d(5), &before, &listed[3]);
        assert_eq!(
            again,
            rows.iter()
                .copied()
                .filter(|r| r.day == d(5))
                .collect::<Vec<_>>()
        );
    }
}
