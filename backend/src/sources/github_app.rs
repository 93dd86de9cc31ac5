//! GitHub App authentication: the App signs a short JWT (RS256 with its private key,
//! `iat` 60 s in the past, `exp` 9 minutes ahead, `iss` its client id or numeric id), finds
//! the installation on each organisation (`GET /orgs/{org}/installation`, unless one
//! installation id is configured), and trades the JWT for an installation token
//! (`POST /app/installations/{id}/access_tokens`), valid for an hour. That token is what
//! REST and GraphQL requests carry (GraphQL refuses the JWT itself). Tokens are cached per
//! installation and renewed five minutes before they expire.
//!
//! A missing or unreadable key, a wrong id, or an App not installed on an organisation is
//! an error for that organisation only. Neither the key nor a token is ever logged: both
//! are [`Secret`]s, and errors name settings, never values.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::header::HeaderValue;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use url::Url;

use super::http::{HttpClient, Outgoing, SourceError, Tally};
use super::ApiRoot;
use crate::domain::{AppCredentials, Secret};

/// An installation token and when it stops working.
#[derive(Debug, Clone)]
pub(crate) struct InstallationToken {
    pub token: Secret,
    pub installation: u64,
    pub expires_at: DateTime<Utc>,
}

/// A GitHub App, for one forge instance.
#[derive(Debug)]
pub(crate) struct GitHubApp {
    credentials: AppCredentials,
    root: ApiRoot,
    /// Sends the JWT requests (no token of its own).
    http: HttpClient,
    installations: Mutex<HashMap<String, u64>>,
    tokens: Mutex<HashMap<u64, InstallationToken>>,
}

#[derive(Serialize)]
struct Claims<'a> {
    iat: i64,
    exp: i64,
    iss: &'a str,
}

#[derive(Deserialize)]
struct Installation {
    id: u64,
}

#[derive(Deserialize)]
struct AccessToken {
    token: String,
    expires_at: DateTime<Utc>,
}

impl GitHubApp {
    pub(crate) fn new(credentials: AppCredentials, root: ApiRoot, http: HttpClient) -> Self {
        GitHubApp {
            credentials,
            root,
            http,
            installations: Mutex::new(HashMap::new()),
            tokens: Mutex::new(HashMap::new()),
        }
    }

    /// The App's JWT, valid for the next 9 minutes.
    fn jwt(&self) -> Result<Secret, SourceError> {
        let pem = self
            .credentials
            .private_key
            .as_ref()
            .map_err(|why| auth(why.clone()))?;
        let key = EncodingKey::from_rsa_pem(pem.expose().as_bytes()).map_err(|_| {
            auth(
                "ORGPULSE_GITHUB_APP_PRIVATE_KEY_FILE does not hold an RSA private key in PEM form",
            )
        })?;
        let now = Utc::now().timestamp();
        let claims = Claims {
            iat: now - 60,
            exp: now + 9 * 60,
            iss: &self.credentials.app_id,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &key)
            .map(Secret::new)
            .map_err(|e| auth(format!("the App's JWT could not be signed: {e}")))
    }

    /// The installation token for organisation `org`, from the cache while it has more
    /// than five minutes left.
    pub(crate) async fn token_for(
        &self,
        org: &str,
        tally: &Tally,
    ) -> Result<InstallationToken, SourceError> {
        let installation = self.installation(org, tally).await?;
        let mut tokens = self.tokens.lock().await;
        if let Some(cached) = tokens.get(&installation) {
            if cached.expires_at - Utc::now() > Duration::minutes(5) {
                return Ok(cached.clone());
            }
        }
        let url = self.root.url(
            &[
                "app",
                "installations",
                &installation.to_string(),
                "access_tokens",
            ],
            None,
        );
        let not_found = format!(
            "GitHub App installation {installation} does not exist (check ORGPULSE_GITHUB_APP_INSTALLATION_ID)"
        );
        let issued: AccessToken = self
            .with_jwt(reqwest::Method::POST, &url, tally, not_found)
            .await?;
        let token = InstallationToken {
            token: Secret::new(issued.token),
            installation,
            expires_at: issued.expires_at,
        };
        tokens.insert(installation, token.clone());
        Ok(token)
    }

    /// The App's installation on `org`: the configured one, or asked once per run.
    async fn installation(&self, org: &str, tally: &Tally) -> Result<u64, SourceError> {
        if let Some(id) = self.credentials.installation_id {
            return Ok(id);
        }
        let key = org.to_ascii_lowercase();
        if let Some(id) = self.installations.lock().await.get(&key) {
            return Ok(*id);
        }
        let url = self.root.url(&["orgs", org, "installation"], None);
        let not_found = format!(
            "the GitHub App is not installed on {org}: install it there, or track the organisation with a token"
        );
        let found: Installation = self
            .with_jwt(reqwest::Method::GET, &url, tally, not_found)
            .await?;
        self.installations.lock().await.insert(key, found.id);
        Ok(found.id)
    }

    /// Sends a request with the App's JWT and reads its JSON answer; 401 is the JWT
    /// refused, 404 says `not_found`.
    async fn with_jwt<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        url: &Url,
        tally: &Tally,
        not_found: String,
    ) -> Result<T, SourceError> {
        let jwt = self.jwt()?;
        let mut bearer = HeaderValue::from_str(&format!("Bearer {}", jwt.expose()))
            .map_err(|_| auth("the App's JWT is not a valid header value"))?;
        bearer.set_sensitive(true);
        let request = Outgoing {
            method,
            authorization: Some(bearer),
            ..Outgoing::get(url)
        };
        let answer = self.http.send(&request, tally).await?;
        match answer.status.as_u16() {
            200 | 201 => {}
            401 => return Err(self.refused()),
            404 => return Err(auth(not_found)),
            _ => return Err(answer.unexpected(url)),
        }
        serde_json::from_slice(&answer.body).map_err(|e| SourceError::Malformed {
            url: url.to_string(),
            detail: e.to_string(),
        })
    }

    fn refused(&self) -> SourceError {
        auth(format!(
            "GitHub refused the App's JWT: check ORGPULSE_GITHUB_APP_ID (`{}`) and that ORGPULSE_GITHUB_APP_PRIVATE_KEY_FILE is that App's key",
            self.credentials.app_id
        ))
    }
}

fn auth(message: impl Into<String>) -> SourceError {
    SourceError::Auth {
        message: message.into(),
    }
}
