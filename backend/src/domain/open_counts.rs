//! What is open on a repository or an organisation, as far as it is known: a forge's
//! listing counts open issues and open pull requests together on GitHub and
//! Gitea/Forgejo and issues alone on GitLab; GitHub's GraphQL details count them apart.
//! Every number the API, CSV and pages show comes from here, so none of them can call a
//! count of both "issues".

use super::{ForgeKind, RepoRecord};

/// Open issues and pull requests of one repository (or summed over many, or their change
/// between two days: `T = i64`), each `None` where it is unknown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpenCounts<T = u64> {
    /// Open issues alone.
    pub issues: Option<T>,
    /// Open pull (merge) requests alone.
    pub pull_requests: Option<T>,
    /// Open issues and pull requests together.
    pub both: Option<T>,
}

impl<T: Default> OpenCounts<T> {
    /// What a forge's listing count of `kind` says. A forge no longer configured (its
    /// kind unknown) is read as counting both: the number is then never called issues.
    pub fn listed(kind: Option<ForgeKind>, count: Option<T>) -> OpenCounts<T> {
        match kind {
            Some(ForgeKind::GitLab) => OpenCounts {
                issues: count,
                ..OpenCounts::default()
            },
            _ => OpenCounts {
                both: count,
                ..OpenCounts::default()
            },
        }
    }
}

impl OpenCounts {
    /// One stored repository: its listing's count, split by its details where they
    /// belong to the listing stored (details from an older state of the repository
    /// would not add up to the listing's count, so they are left out).
    pub fn of_repo(kind: Option<ForgeKind>, repo: &RepoRecord) -> OpenCounts {
        let listed = OpenCounts::listed(kind, repo.listing.open_issues);
        let current = repo
            .details
            .as_ref()
            .filter(|_| repo.details_for.as_deref() == Some(&repo.listing.details_marker()));
        match current {
            Some(d) => OpenCounts {
                issues: Some(d.open_issues),
                pull_requests: Some(d.open_pull_requests),
                both: Some(d.open_issues + d.open_pull_requests),
            },
            // A listing that counts pull requests apart as well (Gitea/Forgejo).
            None => match (listed.both, repo.listing.open_pull_requests) {
                (Some(both), Some(pull_requests)) if pull_requests <= both => OpenCounts {
                    issues: Some(both - pull_requests),
                    pull_requests: Some(pull_requests),
                    both: Some(both),
                },
                _ => listed,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{test_repo, RepoDetails};

    fn detailed(open_issues: u64, open_pull_requests: u64) -> RepoRecord {
        let mut repo = test_repo(1, "a", 0);
        repo.listing.open_issues = Some(open_issues + open_pull_requests);
        repo.details = Some(RepoDetails {
            open_issues,
            open_pull_requests,
            latest_release: None,
            last_commit_at: None,
            license: None,
            topics: vec![],
        });
        repo.details_for = Some(repo.listing.details_marker());
        repo
    }

    #[test]
    fn a_listing_count_is_issues_alone_only_on_gitlab() {
        let gitlab = OpenCounts::listed(Some(ForgeKind::GitLab), Some(4));
        assert_eq!((gitlab.issues, gitlab.both), (Some(4), None));
        for kind in [Some(ForgeKind::GitHub), Some(ForgeKind::Forgejo), None] {
            let c = OpenCounts::listed(kind, Some(4));
            assert_eq!((c.issues, c.pull_requests, c.both), (None, None, Some(4)));
        }
        assert_eq!(
            OpenCounts::<u64>::listed(Some(ForgeKind::GitLab), None),
            OpenCounts::default()
        );
    }

    #[test]
    fn current_details_split_the_count() {
        let repo = detailed(3, 2);
        let c = OpenCounts::of_repo(Some(ForgeKind::GitHub), &repo);
        assert_eq!(
            (c.issues, c.pull_requests, c.both),
            (Some(3), Some(2), Some(5))
        );
    }

    #[test]
    fn a_listing_that_counts_pull_requests_apart_splits_the_count() {
        let mut repo = test_repo(1, "a", 0);
        repo.listing.open_issues = Some(7);
        repo.listing.open_pull_requests = Some(2);
        let c = OpenCounts::of_repo(Some(ForgeKind::Forgejo), &repo);
        assert_eq!(
            (c.issues, c.pull_requests, c.both),
            (Some(5), Some(2), Some(7))
        );
        // More pull requests than the whole count: garbage, the split is not used.
        repo.listing.open_pull_requests = Some(9);
        let c = OpenCounts::of_repo(Some(ForgeKind::Forgejo), &repo);
        assert_eq!((c.issues, c.both), (None, Some(7)));
    }

    #[test]
    fn details_of_an_older_state_are_not_used() {
        let mut repo = detailed(3, 2);
        // A pull request opened since the details were asked; this run's details failed.
        repo.listing.open_issues = Some(6);
        let c = OpenCounts::of_repo(Some(ForgeKind::GitHub), &repo);
        assert_eq!((c.issues, c.pull_requests, c.both), (None, None, Some(6)));
    }
}
