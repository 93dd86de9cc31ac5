//! GitHub App authentication, as GitHub does it: `GET /orgs/{org}/installation` and
//! `POST /app/installations/{id}/access_tokens` take the App's JWT (RS256), verified here
//! with the App's public key: its signature, its issuer (the configured client id), an
//! `exp` in the future and at most 10 minutes after `iat`. The token handed out
//! (`ghs_…`, an hour) is what the fake then counts on the GitHub routes that carry it
//! (`auth installation`) and what GraphQL accepts; the JWT itself GraphQL refuses.

use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::{get, post, routes, State};
use serde_json::json;

use crate::{epoch_now, Forge, Reply};

/// The App a fake knows.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// The App's client id: the JWT's `iss`.
    pub client_id: String,
    /// The App's public key (PEM), to verify JWTs with.
    pub public_key_pem: String,
    /// Logins the App is installed on; `None`: every organisation.
    pub installed_on: Option<Vec<String>>,
}

/// A fresh App key pair, PEM: (private, public). For tests and demos.
pub fn key_pair() -> (String, String) {
    use rsa::pkcs1::{EncodeRsaPrivateKey, LineEnding};
    use rsa::pkcs8::EncodePublicKey;
    use rsa::Generate;
    let key = rsa::PrivateKey::generate();
    let private = key
        .to_pkcs1_pem(LineEnding::LF)
        .expect("a new key encodes")
        .to_string();
    let public = key
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .expect("a public key encodes");
    (private, public)
}

/// The request's `Authorization` header, as sent.
#[derive(Debug)]
pub(crate) struct Authorization(pub(crate) Option<String>);

impl Authorization {
    /// Its bearer credential (a JWT or a token), if it is one.
    pub(crate) fn bearer(&self) -> Option<&str> {
        self.0.as_deref().and_then(|v| v.strip_prefix("Bearer "))
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Authorization {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(Authorization(
            request
                .headers()
                .get_one("authorization")
                .map(str::to_owned),
        ))
    }
}

#[derive(serde::Deserialize)]
struct Claims {
    iat: i64,
    exp: i64,
}

impl Forge {
    /// Whether `bearer` is a JWT of the configured App: signed by its key, issued by it,
    /// unexpired, valid for at most 10 minutes.
    fn valid_jwt(&self, authorization: &Authorization) -> bool {
        let (Some(app), Some(jwt)) = (&self.config.app, authorization.bearer()) else {
            return false;
        };
        let Ok(key) = DecodingKey::from_rsa_pem(app.public_key_pem.as_bytes()) else {
            return false;
        };
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[&app.client_id]);
        validation.set_required_spec_claims(&["exp", "iat", "iss"]);
        validation.leeway = 0;
        match jsonwebtoken::decode::<Claims>(jwt, &key, &validation) {
            Ok(data) => {
                let c = data.claims;
                c.exp - c.iat <= 600 + 60 && c.iat <= epoch_now() as i64
            }
            Err(_) => false,
        }
    }

    /// Whether `bearer` is an installation token this fake handed out; counts it.
    pub(crate) fn installation_token(&self, authorization: &Authorization) -> bool {
        let known = authorization.bearer().is_some_and(|t| {
            self.issued
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .any(|issued| issued == t)
        });
        if known {
            self.count("auth installation", 200);
        }
        known
    }
}

/// The installation id of an organisation: its own id, as good as any.
fn installation_of(org: &crate::world::Org) -> i64 {
    org.id + 7_000_000
}

fn refused(forge: &Forge, kind: &str) -> Reply {
    forge.count(kind, 401);
    Reply::json(
        Status::Unauthorized,
        &json!({"message": "A JSON web token could not be decoded", "documentation_url": "https://docs.github.com/rest"}),
        Vec::new(),
    )
}

#[get("/orgs/<login>/installation")]
fn installation(forge: &State<Arc<Forge>>, login: &str, authorization: Authorization) -> Reply {
    if !forge.valid_jwt(&authorization) {
        return refused(forge, "app installation");
    }
    let installed = forge.config.app.as_ref().is_some_and(|app| {
        app.installed_on
            .as_ref()
            .is_none_or(|on| on.iter().any(|l| l.eq_ignore_ascii_case(login)))
    });
    match forge.find_org(login).filter(|_| installed) {
        Some(org) => {
            forge.count("app installation", 200);
            Reply::json(
                Status::Ok,
                &json!({"id": installation_of(&org), "account": {"login": org.login, "id": org.id},
                        "app_slug": "orgpulse", "target_type": "Organization"}),
                Vec::new(),
            )
        }
        None => {
            forge.count("app installation", 404);
            Reply::json(
                Status::NotFound,
                &json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest/apps/apps#get-an-organization-installation-for-the-authenticated-app"}),
                Vec::new(),
            )
        }
    }
}

#[post("/app/installations/<id>/access_tokens")]
fn access_token(forge: &State<Arc<Forge>>, id: i64, authorization: Authorization) -> Reply {
    if !forge.valid_jwt(&authorization) {
        return refused(forge, "app token");
    }
    let mut issued = forge.issued.lock().unwrap_or_else(|p| p.into_inner());
    let token = format!("ghs_fake{id}x{}", issued.len() + 1);
    issued.push(token.clone());
    forge.count("app token", 201);
    let expires = epoch_now() + 3_600;
    Reply::json(
        Status::Created,
        &json!({"token": token, "expires_at": crate::graphql::rfc3339(expires),
                "permissions": {"metadata": "read", "contents": "read"}, "repository_selection": "all"}),
        Vec::new(),
    )
}

pub(crate) fn routes() -> Vec<rocket::Route> {
    routes![installation, access_token]
}
