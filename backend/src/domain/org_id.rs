//! `OrgId`: the validated `forge:login` identifier every layer uses for an organisation.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::forge::{ForgeInstance, ForgeKind, ForgeName, Forges};

/// Why a string is not a valid organisation identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrgIdError {
    #[error("`{0}` is not of the form FORGE:PATH (for example github:rust-lang)")]
    Shape(String),
    #[error("unknown forge `{forge}` (configured: {known})")]
    UnknownForge { forge: String, known: String },
    #[error("`{login}` is not a valid {forge} ({kind}) organisation: {reason}")]
    Login {
        forge: ForgeName,
        kind: ForgeKind,
        login: String,
        reason: &'static str,
    },
}

/// An organisation on a forge instance, e.g. `github:rust-lang`, `gitlab:gitlab-org/ci-cd`.
///
/// Paths are case-insensitive on every supported forge, so the path is kept in lower
/// case: `github:Rust-Lang` and `github:rust-lang` are the same key. Which paths are
/// valid depends on the forge's kind: ids typed by a user are built through
/// [`Forges`](super::Forges), which knows it; [`FromStr`] only checks the shape every
/// kind shares (for ids read back from the store).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrgId {
    forge: ForgeName,
    login: String,
}

impl OrgId {
    /// Validates `login` for `instance`'s kind and builds the identifier.
    pub fn new(instance: &ForgeInstance, login: &str) -> Result<Self, OrgIdError> {
        instance
            .kind
            .check_path(login)
            .map_err(|reason| OrgIdError::Login {
                forge: instance.name.clone(),
                kind: instance.kind,
                login: login.to_owned(),
                reason,
            })?;
        Ok(OrgId {
            forge: instance.name.clone(),
            login: login.to_ascii_lowercase(),
        })
    }

    /// The forge instance's name.
    pub fn forge(&self) -> &ForgeName {
        &self.forge
    }

    /// The path on the forge (a login; on GitLab possibly `group/subgroup`) in its
    /// canonical (lower-case) form.
    pub fn login(&self) -> &str {
        &self.login
    }

    /// The path as one URL segment: `/` written `%2F`, as GitLab's own API does, so a
    /// subgroup can never be mistaken for a route.
    pub fn login_segment(&self) -> String {
        self.login.replace('/', "%2F")
    }

    /// `{forge}/{path}` for URLs (`gitlab/gitlab-org%2Fci-cd`).
    pub fn url_path(&self) -> String {
        format!("{}/{}", self.forge, self.login_segment())
    }
}

impl fmt::Display for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.forge, self.login)
    }
}

impl FromStr for OrgId {
    type Err = OrgIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (forge, login) = s
            .split_once(':')
            .ok_or_else(|| OrgIdError::Shape(s.to_owned()))?;
        let forge: ForgeName = forge.parse().map_err(|_| OrgIdError::UnknownForge {
            forge: forge.to_owned(),
            known: "a forge name".into(),
        })?;
        // The shape every kind shares: a GitLab path is the loosest rule.
        ForgeKind::GitLab
            .check_path(login)
            .map_err(|reason| OrgIdError::Login {
                forge: forge.clone(),
                kind: ForgeKind::GitLab,
                login: login.to_owned(),
                reason,
            })?;
        Ok(OrgId {
            forge,
            login: login.to_ascii_lowercase(),
        })
    }
}

impl Serialize for OrgId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for OrgId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Organisation ids checked against the configured forges: an id names a forge instance, so
/// the registry of instances is where one is built from what a user typed.
impl Forges {
    /// The instance an organisation lives on; `None` when its forge is not configured
    /// (any more).
    pub fn of(&self, org: &OrgId) -> Option<&ForgeInstance> {
        self.get(org.forge())
    }

    /// The kind of forge an organisation lives on; `None` when it is not configured.
    pub fn kind_of(&self, org: &OrgId) -> Option<ForgeKind> {
        self.of(org).map(|f| f.kind)
    }

    /// Builds the id of `path` on the forge called `forge`, checking both against the
    /// configuration: a user typed them.
    pub fn org(&self, forge: &str, path: &str) -> Result<OrgId, OrgIdError> {
        let unknown = || OrgIdError::UnknownForge {
            forge: forge.to_owned(),
            known: self.names().join(", "),
        };
        let name: ForgeName = forge.parse().map_err(|_| unknown())?;
        let instance = self.get(&name).ok_or_else(unknown)?;
        OrgId::new(instance, path)
    }

    /// Parses and checks `FORGE:PATH` as a user typed it.
    pub fn parse(&self, s: &str) -> Result<OrgId, OrgIdError> {
        let s = s.trim();
        let (forge, path) = s
            .split_once(':')
            .ok_or_else(|| OrgIdError::Shape(s.to_owned()))?;
        self.org(forge, path)
    }

    /// Checks an id that was parsed without the configuration (a command-line argument).
    pub fn check(&self, org: &OrgId) -> Result<&ForgeInstance, OrgIdError> {
        self.parse(&org.to_string())?;
        Ok(self.of(org).expect("parse found it"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Forges;

    #[test]
    fn parses_and_normalises() {
        let forges = Forges::default();
        let id = forges.parse("github:Rust-Lang").expect("valid");
        assert_eq!(id.to_string(), "github:rust-lang");
        assert_eq!(id.forge().as_str(), "github");
        assert_eq!(id.login(), "rust-lang");
        assert_eq!(
            forges.parse(" GitHub:a ").expect("valid").to_string(),
            "github:a"
        );
        let sub = forges.parse("gitlab:GNOME/Sub.Group").expect("valid");
        assert_eq!(sub.login(), "gnome/sub.group");
        assert_eq!(sub.url_path(), "gitlab/gnome%2Fsub.group");
        assert_eq!(sub.to_string().parse::<OrgId>(), Ok(sub));
    }

    #[test]
    fn rejects_bad_ids() {
        let forges = Forges::default();
        for bad in [
            "rust-lang",
            "github:",
            "github:-lead",
            "github:has space",
            "github:under_score",
            "github:a/b",
            "nowhere:x",
            ":x",
        ] {
            assert!(forges.parse(bad).is_err(), "{bad} should be rejected");
        }
        let long = format!("github:{}", "a".repeat(40));
        assert!(forges.parse(&long).is_err());
        let max = format!("github:{}", "a".repeat(39));
        assert!(forges.parse(&max).is_ok());
        for bad in ["x", "github:", "github:a//b", ":a", "9:a"] {
            assert!(bad.parse::<OrgId>().is_err(), "{bad} is not even the shape");
        }
    }

    #[test]
    fn error_messages_say_why() {
        let err = Forges::default().parse("github:-x").expect_err("invalid");
        assert_eq!(
            err.to_string(),
            "`-x` is not a valid github (github) organisation: it starts with a hyphen"
        );
    }
}
