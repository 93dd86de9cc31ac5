//! API tokens: a secret with a recognisable prefix, shown once; only its SHA-256 is kept.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::hex;

/// Every token starts with this, so leaked ones are easy to recognise and scan for.
pub const TOKEN_PREFIX: &str = "orgp_";
/// Hex characters after the prefix (32 random bytes).
const TOKEN_HEX_LEN: usize = 64;

/// A token's secret text. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSecret(String);

impl TokenSecret {
    /// A new random token.
    pub fn generate() -> Self {
        let bytes: [u8; 32] = rand::random();
        TokenSecret(format!("{TOKEN_PREFIX}{}", hex(&bytes)))
    }

    /// Reads a presented token; `None` when it cannot be one of ours.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let rest = text.strip_prefix(TOKEN_PREFIX)?;
        (rest.len() == TOKEN_HEX_LEN
            && rest
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
        .then(|| TokenSecret(text.to_owned()))
    }

    /// The secret, to show once at creation.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What is stored: the SHA-256 of the secret, in hex.
    pub fn hash(&self) -> String {
        hex(&Sha256::digest(self.0.as_bytes()))
    }
}

impl fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenSecret(***)")
    }
}

/// Compares two byte strings in time that depends only on their length.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A stored token: never the secret itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub name: String,
    /// SHA-256 of the secret, hex.
    pub hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl TokenRecord {
    pub(crate) fn is_expired_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|e| e <= now)
    }
}

/// Token names: 1–64 letters, digits, `.`, `_` or `-`.
pub fn validate_token_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 64 {
        return Err(format!(
            "a token name has 1 to 64 characters, `{name}` has {}",
            name.len()
        ));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err(format!(
            "a token name uses letters, digits, `.`, `_` and `-` only, got `{name}`"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_random_and_hashed() {
        let a = TokenSecret::generate();
        let b = TokenSecret::generate();
        assert_ne!(a, b);
        assert!(a.expose().starts_with("orgp_") && a.expose().len() == 5 + 64);
        assert_eq!(TokenSecret::parse(a.expose()), Some(a.clone()));
        assert_eq!(a.hash().len(), 64);
        assert_ne!(a.hash(), a.expose()[5..], "the hash is not the secret");
        assert_eq!(format!("{a:?}"), "TokenSecret(***)");
        for bad in [
            "",
            "orgp_",
            "orgp_xyz",
            "ghp_0000",
            &format!("orgp_{}", "A".repeat(64)),
        ] {
            assert!(TokenSecret::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn names_and_comparison() {
        assert!(validate_token_name("ci-deploy.2").is_ok());
        assert!(validate_token_name("").is_err());
        assert!(validate_token_name("has space").is_err());
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
