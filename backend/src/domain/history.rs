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
    /// `None` where the listing did not say.
    pub open_issues: Option<u64>,
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

/// How one repository's stars moved over a window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mover {
    pub repo_id: i64,
    /// Stars at the start of the window; `None`: not listed then (a new repository).
    pub start: Option<u64>,
    pub end: u64,
}

impl Mover {
    /// Stars gained (negative: lost); `None` for a new repository, whose stars were not
    /// gained in the window but brought along.
    pub fn gained(&self) -> Option<i64> {
        self.start.map(|s| self.end as i64 - s as i64)
    }

    /// The gain as a percentage of the start; `None` when new or starting from zero.
    pub fn percent(&self) -> Option<f64> {
        let start = self.start.filter(|s| *s > 0)?;
        Some((self.end as f64 - start as f64) / start as f64 * 100.0)
    }
}

/// The repositories listed at the window's `end` whose stars moved since its `start`,
/// most gained first (losses last), and the ones that were not listed at the start, most
/// stars first. Ties go to the lower id.
pub fn movers(start: &[RepoCounts], end: &[RepoCounts]) -> (Vec<Mover>, Vec<Mover>) {
    let before: HashMap<i64, u64> = start.iter().map(|c| (c.id, c.stars)).collect();
    let (mut moved, mut new): (Vec<Mover>, Vec<Mover>) = end
        .iter()
        .map(|c| Mover {
            repo_id: c.id,
            start: before.get(&c.id).copied(),
            end: c.stars,
        })
        .filter(|m| m.gained() != Some(0))
        .partition(|m| m.start.is_some());
    moved.sort_by_key(|m| (std::cmp::Reverse(m.gained()), m.repo_id));
    new.sort_by_key(|m| (std::cmp::Reverse(m.end), m.repo_id));
    (moved, new)
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
            open_issues: Some(2),
        }
    }

    #[test]
    fn movers_rank_gains_and_keep_new_repositories_apart() {
        let start = [c(1, 100), c(2, 10), c(3, 0), c(4, 50), c(9, 7)];
        let end = [
            c(1, 110),
            c(2, 30),
            c(3, 5),
            c(4, 45),
            c(5, 900),
            c(6, 3),
            c(9, 7),
        ];
        let (moved, new) = movers(&start, &end);
        assert_eq!(
            moved
                .iter()
                .map(|m| (m.repo_id, m.gained()))
                .collect::<Vec<_>>(),
            [(2, Some(20)), (1, Some(10)), (3, Some(5)), (4, Some(-5))],
            "an unchanged repository is no mover"
        );
        assert_eq!(moved[0].percent(), Some(200.0));
        assert_eq!(moved[2].percent(), None, "from zero there is no percentage");
        assert_eq!(
            new.iter()
                .map(|m| (m.repo_id, m.gained(), m.end))
                .collect::<Vec<_>>(),
            [(5, None, 900), (6, None, 3)],
            "new repositories are not +everything"
        );
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
