//! How each forge's answers differ (error bodies, rate-limit headers, validators), and
//! where the rate-limit budget stands after a request.

use super::*;

/// Where the rate-limit budget stands after a request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BudgetState {
    pub(crate) limit: u64,
    pub(crate) used: u64,
    pub(crate) remaining: u64,
    pub(crate) reset: u64,
}

impl BudgetState {
    /// The headers `flavour` reports the budget in (Gitea/Forgejo: none).
    pub(crate) fn headers(&self, flavour: Flavour) -> Vec<(String, String)> {
        let pairs: Vec<(&str, String)> = match flavour {
            Flavour::GitHub => vec![
                ("x-ratelimit-limit", self.limit.to_string()),
                ("x-ratelimit-remaining", self.remaining.to_string()),
                ("x-ratelimit-used", self.used.to_string()),
                ("x-ratelimit-reset", self.reset.to_string()),
                ("x-ratelimit-resource", "core".into()),
            ],
            Flavour::GitLab => vec![
                ("ratelimit-limit", self.limit.to_string()),
                ("ratelimit-observed", self.used.to_string()),
                ("ratelimit-remaining", self.remaining.to_string()),
                ("ratelimit-reset", self.reset.to_string()),
            ],
            Flavour::Forgejo => Vec::new(),
        };
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }
}

/// Which forge's API an answer imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// GitHub REST, at the root.
    GitHub,
    /// GitLab REST v4, under `/gitlab/api/v4`.
    GitLab,
    /// Forgejo (Gitea) API v1, under `/forgejo/api/v1`.
    Forgejo,
}

impl Flavour {
    /// Where the flavour's API lives on the fake.
    pub fn root(self) -> &'static str {
        match self {
            Flavour::GitHub => "",
            Flavour::GitLab => gitlab::ROOT,
            Flavour::Forgejo => forgejo::ROOT,
        }
    }

    /// The counter an answer of `kind` is counted under (GitHub's keep their bare names).
    pub(crate) fn counter(self, kind: &str) -> String {
        match self {
            Flavour::GitHub => kind.to_owned(),
            Flavour::GitLab => format!("gitlab {kind}"),
            Flavour::Forgejo => format!("forgejo {kind}"),
        }
    }

    pub(crate) fn sends_etags(self) -> bool {
        self != Flavour::Forgejo
    }

    pub(crate) fn cache_headers(self) -> Vec<(String, String)> {
        let value = match self {
            Flavour::GitHub => return Vec::new(),
            Flavour::GitLab => "max-age=0, private, must-revalidate",
            Flavour::Forgejo => "max-age=0, private, must-revalidate, no-transform",
        };
        vec![("cache-control".into(), value.into())]
    }

    /// A 502 as the forge's front proxy sends it.
    pub(crate) fn server_error(self) -> Reply {
        match self {
            Flavour::GitHub => Reply::json(
                Status::BadGateway,
                &json!({"message": "Server Error"}),
                Vec::new(),
            ),
            Flavour::GitLab | Flavour::Forgejo => Reply {
                status: Status::BadGateway,
                body: "<html><body><h1>502 Bad Gateway</h1></body></html>".into(),
                headers: vec![("content-type".into(), "text/html".into())],
            },
        }
    }

    pub(crate) fn not_found(self, headers: Vec<(String, String)>) -> Reply {
        let body = match self {
            Flavour::GitHub => {
                json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
            }
            Flavour::GitLab => json!({"message": "404 Not found"}),
            Flavour::Forgejo => {
                json!({"errors": [], "message": "The target couldn't be found.", "url": "/api/swagger"})
            }
        };
        Reply::json(Status::NotFound, &body, headers)
    }
}
