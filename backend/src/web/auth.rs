//! The bearer-token guard for routes that change things. Missing, malformed, unknown,
//! expired and revoked tokens all get the same 401 (with `WWW-Authenticate: Bearer`),
//! so an answer never tells which it was. Tokens are never logged.

use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};

use super::WebState;
use crate::domain::{constant_time_eq, TokenSecret};

/// A request made with a valid API token.
#[derive(Debug)]
pub(crate) struct Maintainer {
    /// The token's name (never its secret).
    pub token: String,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Maintainer {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let Some(state) = request.rocket().state::<WebState>() else {
            return Outcome::Error((Status::InternalServerError, ()));
        };
        let presented = request
            .headers()
            .get_one("Authorization")
            .and_then(|h| h.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .and_then(|(_, token)| TokenSecret::parse(token.trim()));
        let Some(secret) = presented else {
            return Outcome::Error((Status::Unauthorized, ()));
        };
        let hash = secret.hash();
        let now = chrono::Utc::now();
        match state.store.find_token(&hash).await {
            Ok(Some(token))
                if constant_time_eq(token.hash.as_bytes(), hash.as_bytes())
                    && !token.is_expired_at(now) =>
            {
                if let Err(e) = state.store.touch_token(&token.name, now).await {
                    tracing::warn!(token = %token.name, error = %e, "could not record the token's use");
                }
                tracing::info!(token = %token.name, "authenticated");
                Outcome::Success(Maintainer { token: token.name })
            }
            Ok(_) => Outcome::Error((Status::Unauthorized, ())),
            Err(e) => {
                tracing::error!(error = %e, "could not check a token");
                Outcome::Error((Status::ServiceUnavailable, ()))
            }
        }
    }
}
