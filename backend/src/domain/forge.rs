//! Forges as named instances: a kind of API (GitHub, GitLab, Gitea, Forgejo), a name the
//! organisation ids use (`github`, `gitlab`, `codeberg`, `gnome`, …) and an API root.
//! [`Forges`] is the configured set; it is what validates an organisation id typed by a
//! user, because which paths are valid depends on the kind behind the name.

use std::fmt;
use std::str::FromStr;

/// The API a forge speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ForgeKind {
    /// github.com or a GitHub Enterprise server.
    GitHub,
    /// gitlab.com or a self-managed GitLab.
    GitLab,
    /// A Gitea server.
    Gitea,
    /// A Forgejo server (Codeberg): Gitea's API.
    Forgejo,
}

impl ForgeKind {
    /// Every kind, in the order error messages and documents list them.
    pub const ALL: [ForgeKind; 4] = [
        ForgeKind::GitHub,
        ForgeKind::GitLab,
        ForgeKind::Gitea,
        ForgeKind::Forgejo,
    ];

    /// The lower-case name `ORGPULSE_FORGES` uses (`gitlab`).
    pub fn as_str(self) -> &'static str {
        match self {
            ForgeKind::GitHub => "github",
            ForgeKind::GitLab => "gitlab",
            ForgeKind::Gitea => "gitea",
            ForgeKind::Forgejo => "forgejo",
        }
    }

    /// The name people know it by (`GitLab`).
    pub fn label(self) -> &'static str {
        match self {
            ForgeKind::GitHub => "GitHub",
            ForgeKind::GitLab => "GitLab",
            ForgeKind::Gitea => "Gitea",
            ForgeKind::Forgejo => "Forgejo",
        }
    }

    /// Whether per-repository languages are bytes (GitHub, Gitea/Forgejo) or percentages
    /// of the repository (GitLab), which can only be shown as shares.
    pub fn languages_in_bytes(self) -> bool {
        !matches!(self, ForgeKind::GitLab)
    }

    /// What the marker that decides whether per-repo details are fetched again is called
    /// on this kind: GitHub reports pushes, the others only "activity" or "updated".
    pub fn activity_label(self) -> &'static str {
        match self {
            ForgeKind::GitHub => "last push",
            ForgeKind::GitLab => "last activity",
            ForgeKind::Gitea | ForgeKind::Forgejo => "last update",
        }
    }

    /// What the forge's open-issue count counts: GitHub's and Gitea's include open pull
    /// requests, GitLab's is issues alone.
    pub fn open_issues_label(self) -> &'static str {
        match self {
            ForgeKind::GitLab => "Open issues",
            ForgeKind::GitHub | ForgeKind::Gitea | ForgeKind::Forgejo => "Open issues and PRs",
        }
    }

    /// The same, short enough for a card: `Issues + PRs` or `Issues`.
    pub fn open_issues_short(self) -> &'static str {
        match self {
            ForgeKind::GitLab => "Issues",
            ForgeKind::GitHub | ForgeKind::Gitea | ForgeKind::Forgejo => "Issues + PRs",
        }
    }

    /// A regular expression for the paths [`ForgeKind::check_path`] accepts, for the API
    /// document (it cannot say everything: the GitLab and Gitea rules on runs of
    /// punctuation are checked by the server only).
    pub fn path_pattern(self) -> &'static str {
        match self {
            ForgeKind::GitHub => GITHUB_LOGIN_PATTERN,
            ForgeKind::GitLab => GITLAB_PATH_PATTERN,
            ForgeKind::Gitea | ForgeKind::Forgejo => GITEA_NAME_PATTERN,
        }
    }

    /// Checks an organisation path against this kind's rules; the reason when it fails.
    pub fn check_path(self, path: &str) -> Result<(), &'static str> {
        if path.is_empty() {
            return Err("it is empty");
        }
        match self {
            ForgeKind::GitHub => {
                if path.len() > 39 {
                    return Err("it is longer than 39 characters");
                }
                if !path.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                    return Err("only letters, digits and hyphens are allowed");
                }
                if path.starts_with('-') {
                    return Err("it starts with a hyphen");
                }
                Ok(())
            }
            ForgeKind::GitLab => {
                if path.len() > 255 {
                    return Err("it is longer than 255 characters");
                }
                let segments: Vec<&str> = path.split('/').collect();
                if segments.len() > 21 {
                    return Err("GitLab nests groups at most 20 deep");
                }
                for segment in segments {
                    if segment.is_empty() {
                        return Err("it has an empty group between slashes");
                    }
                    if !segment
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
                    {
                        return Err(
                            "only letters, digits, '_', '-', '.' and '/' between subgroups are allowed",
                        );
                    }
                    if !segment
                        .bytes()
                        .next()
                        .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
                    {
                        return Err("each group starts with a letter, digit or '_'");
                    }
                    let lower = segment.to_ascii_lowercase();
                    if lower.ends_with('.') || lower.ends_with(".git") || lower.ends_with(".atom") {
                        return Err("a group cannot end in '.', '.git' or '.atom'");
                    }
                }
                Ok(())
            }
            ForgeKind::Gitea | ForgeKind::Forgejo => {
                if path.len() > 40 {
                    return Err("it is longer than 40 characters");
                }
                let bytes = path.as_bytes();
                let special = |b: u8| matches!(b, b'-' | b'_' | b'.');
                if !bytes
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || special(b))
                {
                    return Err("only letters, digits, '-', '_' and '.' are allowed");
                }
                if !bytes[0].is_ascii_alphanumeric()
                    || !bytes[bytes.len() - 1].is_ascii_alphanumeric()
                {
                    return Err("it starts and ends with a letter or digit");
                }
                if bytes.windows(2).any(|w| special(w[0]) && special(w[1])) {
                    return Err("'-', '_' and '.' cannot follow one another");
                }
                Ok(())
            }
        }
    }
}

/// Paths every kind accepts (letters and digits, single hyphens between them, at most 37
/// characters): what the API document can promise for a `{login}` whose forge is not
/// known in advance. Each kind's own rule is wider ([`ForgeKind::path_pattern`]).
pub(crate) const COMMON_PATH_PATTERN: &str = "^[A-Za-z0-9]([A-Za-z0-9]|-[A-Za-z0-9]){0,18}$";

/// [`ForgeKind::check_path`]'s rule for GitHub as a regular expression.
const GITHUB_LOGIN_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9-]{0,38}$";
const GITLAB_PATH_PATTERN: &str =
    "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}(/[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}){0,20}$";
const GITEA_NAME_PATTERN: &str = "^[A-Za-z0-9]([A-Za-z0-9_.-]{0,38}[A-Za-z0-9])?$";

impl fmt::Display for ForgeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ForgeKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ForgeKind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                let kinds: Vec<&str> = ForgeKind::ALL.iter().map(|k| k.as_str()).collect();
                format!("unknown forge kind `{s}` (one of {})", kinds.join(", "))
            })
    }
}

/// A forge instance's name as organisation ids and URLs carry it: a lower-case letter,
/// then up to 31 lower-case letters, digits or hyphens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ForgeName(String);

impl ForgeName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ForgeName {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim().to_ascii_lowercase();
        let valid = name.len() <= 32
            && name.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if valid {
            Ok(ForgeName(name))
        } else {
            Err(format!(
                "`{s}` is not a forge name (a letter, then up to 31 letters, digits or hyphens)"
            ))
        }
    }
}

impl fmt::Display for ForgeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for ForgeName {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for ForgeName {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One configured forge: its name, the API it speaks and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForgeInstance {
    pub name: ForgeName,
    pub kind: ForgeKind,
    /// The REST root (`https://gitlab.com/api/v4`).
    pub api_url: String,
    /// The environment variable the token is read from (never the token itself).
    pub token_env: String,
}

impl ForgeInstance {
    /// The instance called `name`, with the token variable added instances use
    /// (`ORGPULSE_FORGE_<NAME>_TOKEN`).
    pub fn new(name: ForgeName, kind: ForgeKind, api_url: &str) -> Self {
        let token_env = format!(
            "ORGPULSE_FORGE_{}_TOKEN",
            name.as_str().to_ascii_uppercase().replace('-', "_")
        );
        ForgeInstance {
            name,
            kind,
            api_url: api_url.trim_end_matches('/').to_owned(),
            token_env,
        }
    }

    /// The instances every orgpulse knows without configuration.
    pub fn builtin() -> Vec<ForgeInstance> {
        let make = |name: &str, kind, url: &str, token: &str| ForgeInstance {
            name: name.parse().expect("built-in names are valid"),
            kind,
            api_url: url.to_owned(),
            token_env: token.to_owned(),
        };
        vec![
            make(
                "github",
                ForgeKind::GitHub,
                "https://api.github.com",
                "GITHUB_TOKEN",
            ),
            make(
                "gitlab",
                ForgeKind::GitLab,
                "https://gitlab.com/api/v4",
                "GITLAB_TOKEN",
            ),
            make(
                "codeberg",
                ForgeKind::Forgejo,
                "https://codeberg.org/api/v1",
                "CODEBERG_TOKEN",
            ),
        ]
    }
}

/// The configured forges, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forges {
    instances: Vec<ForgeInstance>,
}

impl Default for Forges {
    fn default() -> Self {
        Forges {
            instances: ForgeInstance::builtin(),
        }
    }
}

impl Forges {
    /// The built-ins with `more` added; an entry named like a built-in (or like an earlier
    /// entry) replaces it, keeping that built-in's token variable when the kind is the same.
    pub fn with(more: impl IntoIterator<Item = ForgeInstance>) -> Self {
        let mut forges = Forges::default();
        for instance in more {
            match forges
                .instances
                .iter_mut()
                .find(|i| i.name == instance.name)
            {
                Some(existing) => {
                    let token_env = if existing.kind == instance.kind {
                        existing.token_env.clone()
                    } else {
                        instance.token_env.clone()
                    };
                    *existing = ForgeInstance {
                        token_env,
                        ..instance
                    };
                }
                None => forges.instances.push(instance),
            }
        }
        forges
    }

    pub fn get(&self, name: &ForgeName) -> Option<&ForgeInstance> {
        self.instances.iter().find(|i| &i.name == name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &ForgeInstance> {
        self.instances.iter()
    }

    /// The configured names, for error messages and the API document.
    pub fn names(&self) -> Vec<&str> {
        self.instances.iter().map(|i| i.name.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gnome() -> ForgeInstance {
        ForgeInstance::new(
            "gnome".parse().expect("name"),
            ForgeKind::GitLab,
            "https://gitlab.gnome.org/api/v4/",
        )
    }

    #[test]
    fn built_ins_and_added_instances() {
        let forges = Forges::with([gnome()]);
        assert_eq!(forges.names(), ["github", "gitlab", "codeberg", "gnome"]);
        let gnome = forges.get(&"gnome".parse().expect("name")).expect("gnome");
        assert_eq!(gnome.api_url, "https://gitlab.gnome.org/api/v4");
        assert_eq!(gnome.token_env, "ORGPULSE_FORGE_GNOME_TOKEN");
        let moved = Forges::with([ForgeInstance::new(
            "gitlab".parse().expect("name"),
            ForgeKind::GitLab,
            "http://127.0.0.1:9001/api/v4",
        )]);
        let gitlab = moved.get(&"gitlab".parse().expect("name")).expect("gitlab");
        assert_eq!(gitlab.api_url, "http://127.0.0.1:9001/api/v4");
        assert_eq!(
            gitlab.token_env, "GITLAB_TOKEN",
            "a built-in keeps its token"
        );
        assert_eq!(moved.names().len(), 3);
    }

    #[test]
    fn paths_follow_their_kind() {
        let forges = Forges::default();
        for good in [
            "github:rust-lang",
            "gitlab:gitlab-org/ci-cd",
            "gitlab:a_b.c/d",
            "codeberg:forgejo",
            "codeberg:a.b-c_d",
            "GitLab:GNOME",
        ] {
            assert!(forges.parse(good).is_ok(), "{good} should be accepted");
        }
        for bad in [
            "github:a/b",
            "github:a_b",
            "gitlab:a//b",
            "gitlab:/a",
            "gitlab:a/",
            "gitlab:-a",
            "gitlab:a.git",
            "gitlab:a/b.atom",
            "codeberg:a/b",
            "codeberg:-a",
            "codeberg:a-",
            "codeberg:a--b",
            "codeberg:a._b",
            "gnome:x",
            "github",
        ] {
            assert!(forges.parse(bad).is_err(), "{bad} should be refused");
        }
        let err = forges.parse("gnome:x").expect_err("unknown");
        assert_eq!(
            err.to_string(),
            "unknown forge `gnome` (configured: github, gitlab, codeberg)"
        );
        let err = forges.parse("codeberg:a--b").expect_err("invalid");
        assert!(err.to_string().contains("forgejo"), "{err}");
    }

    #[test]
    fn the_common_shape_is_valid_everywhere() {
        let longest = format!("{}a", "a-".repeat(18));
        for path in ["a", "a-b", "a1-b2-c3", longest.as_str(), &"a".repeat(19)] {
            for kind in ForgeKind::ALL {
                assert_eq!(kind.check_path(path), Ok(()), "{path} on {kind}");
            }
        }
    }

    #[test]
    fn names_and_kinds_parse() {
        assert!("Gnome".parse::<ForgeName>().is_ok());
        assert!("9x".parse::<ForgeName>().is_err());
        assert!("a_b".parse::<ForgeName>().is_err());
        assert_eq!("Forgejo".parse::<ForgeKind>(), Ok(ForgeKind::Forgejo));
        assert!("bitbucket"
            .parse::<ForgeKind>()
            .expect_err("unknown")
            .contains("github, gitlab, gitea, forgejo"));
    }
}
