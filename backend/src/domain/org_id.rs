//! `OrgId`: the validated `forge:login` identifier every layer uses for an organisation.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A code forge orgpulse knows how to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Forge {
    /// github.com or a GitHub Enterprise server.
    GitHub,
}

impl Forge {
    /// Every forge kind, in the order error messages and documents list them.
    pub(crate) const ALL: [Forge; 1] = [Forge::GitHub];

    /// The lower-case name used in identifiers and URLs (`github`).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Forge::GitHub => "github",
        }
    }
}

impl fmt::Display for Forge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Forge {
    type Err = OrgIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "github" => Ok(Forge::GitHub),
            _ => Err(OrgIdError::UnknownForge(s.to_owned())),
        }
    }
}

/// Why a string is not a valid organisation identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrgIdError {
    #[error("`{0}` is not of the form FORGE:LOGIN (for example github:rust-lang)")]
    Shape(String),
    #[error("unknown forge `{0}` (supported: github)")]
    UnknownForge(String),
    #[error("`{login}` is not a valid {forge} login: {reason}")]
    Login {
        forge: Forge,
        login: String,
        reason: &'static str,
    },
}

/// An organisation on a forge, e.g. `github:rust-lang`.
///
/// Logins are case-insensitive on every supported forge, so the login is kept in lower
/// case: `github:Rust-Lang` and `github:rust-lang` are the same key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrgId {
    forge: Forge,
    login: String,
}

impl OrgId {
    /// Validates `login` for `forge` and builds the identifier.
    pub(crate) fn new(forge: Forge, login: &str) -> Result<Self, OrgIdError> {
        validate_login(forge, login)?;
        Ok(OrgId {
            forge,
            login: login.to_ascii_lowercase(),
        })
    }

    pub fn forge(&self) -> Forge {
        self.forge
    }

    /// The login in its canonical (lower-case) form.
    pub fn login(&self) -> &str {
        &self.login
    }
}

/// [`validate_login`]'s rule for GitHub as a regular expression, for the API document.
pub(crate) const GITHUB_LOGIN_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9-]{0,38}$";

fn validate_login(forge: Forge, login: &str) -> Result<(), OrgIdError> {
    let fail = |reason| {
        Err(OrgIdError::Login {
            forge,
            login: login.to_owned(),
            reason,
        })
    };
    match forge {
        Forge::GitHub => {
            if login.is_empty() {
                return fail("it is empty");
            }
            if login.len() > 39 {
                return fail("it is longer than 39 characters");
            }
            if !login
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            {
                return fail("only letters, digits and hyphens are allowed");
            }
            if login.starts_with('-') {
                return fail("it starts with a hyphen");
            }
            Ok(())
        }
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
        OrgId::new(forge.parse()?, login)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises() {
        let id: OrgId = "github:Rust-Lang".parse().expect("valid");
        assert_eq!(id.to_string(), "github:rust-lang");
        assert_eq!(id.forge(), Forge::GitHub);
        assert_eq!(id.login(), "rust-lang");
        assert_eq!(
            " GitHub:a ".parse::<OrgId>().expect("valid").to_string(),
            "github:a"
        );
    }

    #[test]
    fn rejects_bad_ids() {
        for bad in [
            "rust-lang",
            "github:",
            "github:-lead",
            "github:has space",
            "github:under_score",
            "github:a/b",
            "gitlab:x",
            ":x",
        ] {
            assert!(bad.parse::<OrgId>().is_err(), "{bad} should be rejected");
        }
        let long = format!("github:{}", "a".repeat(40));
        assert!(long.parse::<OrgId>().is_err());
        let max = format!("github:{}", "a".repeat(39));
        assert!(max.parse::<OrgId>().is_ok());
    }

    #[test]
    fn error_messages_say_why() {
        let err = "github:-x".parse::<OrgId>().expect_err("invalid");
        assert_eq!(
            err.to_string(),
            "`-x` is not a valid github login: it starts with a hyphen"
        );
    }
}
