//! Secrets (API tokens, webhook URLs that carry credentials) in a type that never shows
//! them: `Debug` and `Display` print `***`. Configuration reads the environment into it;
//! the clients that send a secret take it from here.

use std::fmt;

use serde::{Deserialize, Deserializer};

/// A secret string (an API token). Its `Debug` and `Display` never show the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// A secret holding `value`, trimmed.
    pub fn new(value: impl AsRef<str>) -> Self {
        Secret(value.as_ref().trim().to_owned())
    }

    /// The secret itself: only for the header that carries it.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Figment turns an all-digit environment value into a number; a token is text.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Unsigned(u64),
            Signed(i64),
        }
        let value = match Raw::deserialize(deserializer)? {
            Raw::Text(s) => s,
            Raw::Unsigned(n) => n.to_string(),
            Raw::Signed(n) => n.to_string(),
        };
        Ok(Secret::new(value))
    }
}

/// How a GitHub App is configured.
#[derive(Debug, Clone)]
pub struct AppCredentials {
    /// The App's client id (`Iv1.…`, recommended) or numeric App id: the JWT's `iss`.
    pub app_id: String,
    /// The private key (PEM), or why it could not be read (reported per organisation).
    pub private_key: Result<Secret, String>,
    /// One installation for every organisation, when configured; else looked up per
    /// organisation.
    pub installation_id: Option<u64>,
}
