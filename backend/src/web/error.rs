//! Errors as visitors and API clients see them. One [`WebError`] says what went wrong,
//! whoever asked; two thin responders answer it by audience: [`ApiError`] as a JSON body
//! `{"error":{"code","message"}}` under `/api`, [`PageError`] as an HTML page elsewhere.
//! Details of internal failures are logged, never shown.

use std::ops::Deref;

use rocket::http::{ContentType, Header, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use rocket::serde::json::Json;
use serde::Serialize;

use crate::store::StoreError;

/// A value in the address or the body that is not valid, with what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invalid {
    /// A heading for the HTML error page.
    pub title: &'static str,
    pub message: String,
}

impl Invalid {
    pub(crate) fn new(title: &'static str, message: impl Into<String>) -> Self {
        Invalid {
            title,
            message: message.into(),
        }
    }

    /// A query parameter that is not valid.
    pub(crate) fn param(message: impl Into<String>) -> Self {
        Invalid::new("Not a valid request", message)
    }
}

/// How long a client is asked to wait after a 503 (the database starting or away).
const RETRY_AFTER_SECONDS: &str = "5";

/// What went wrong answering a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WebError {
    pub status: Status,
    /// A stable, machine-readable code (`not_found`, `invalid_parameter`, …).
    pub code: &'static str,
    /// A heading for people: the HTML error page's title.
    pub title: String,
    /// What went wrong, for people.
    pub message: String,
}

impl WebError {
    pub(crate) fn new(
        status: Status,
        code: &'static str,
        title: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        WebError {
            status,
            code,
            title: title.into(),
            message: message.into(),
        }
    }

    fn internal() -> Self {
        Self::new(
            Status::InternalServerError,
            "internal",
            "Something went wrong",
            "something went wrong on our side; it has been logged",
        )
    }
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        if let StoreError::NotReady(why) = &e {
            tracing::warn!(why = %why, "a request came before the store was ready");
            return WebError::new(
                Status::ServiceUnavailable,
                "unavailable",
                "Starting up",
                "orgpulse's database is still starting; try again in a few seconds",
            );
        }
        tracing::error!(error = %e, "store error while answering");
        WebError::new(
            Status::ServiceUnavailable,
            "unavailable",
            "The database is not answering",
            "orgpulse cannot reach its database right now; try again shortly",
        )
    }
}

impl From<tera::Error> for WebError {
    fn from(e: tera::Error) -> Self {
        tracing::error!(error = ?e, "template error");
        WebError::internal()
    }
}

impl From<Invalid> for WebError {
    fn from(e: Invalid) -> Self {
        WebError::new(
            Status::UnprocessableEntity,
            "invalid_parameter",
            e.title,
            e.message,
        )
    }
}

/// The JSON error body.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorDetail {
    /// A stable, machine-readable code (`not_found`, `invalid_parameter`, …).
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
}

/// A [`WebError`] answered as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError(pub WebError);

impl ApiError {
    pub(crate) fn new(status: Status, code: &'static str, message: impl Into<String>) -> Self {
        let title = status.reason_lossy();
        ApiError(WebError::new(status, code, title, message))
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(Status::NotFound, "not_found", message)
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(Status::UnprocessableEntity, "invalid_parameter", message)
    }

    pub(crate) fn unavailable(message: impl Into<String>) -> Self {
        Self::new(Status::ServiceUnavailable, "unavailable", message)
    }

    pub(crate) fn internal() -> Self {
        ApiError(WebError::internal())
    }

    pub(crate) fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message.clone(),
            },
        }
    }
}

impl Deref for ApiError {
    type Target = WebError;

    fn deref(&self) -> &WebError {
        &self.0
    }
}

impl<'r> Responder<'r, 'static> for ApiError {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        let mut response = Response::build_from(Json(self.body()).respond_to(request)?);
        response.status(self.status);
        if self.status == Status::Unauthorized {
            response.header(Header::new("WWW-Authenticate", "Bearer"));
        }
        if self.status == Status::ServiceUnavailable {
            response.header(Header::new("Retry-After", RETRY_AFTER_SECONDS));
        }
        response.ok()
    }
}

/// A [`WebError`] answered as an HTML page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PageError(pub WebError);

impl PageError {
    pub(crate) fn new(
        status: Status,
        title: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        PageError(WebError::new(status, "error", title, message))
    }
}

impl Deref for PageError {
    type Target = WebError;

    fn deref(&self) -> &WebError {
        &self.0
    }
}

/// Each audience's error converts from what a handler may fail with.
macro_rules! from_failures {
    ($($audience:ident),*) => {$(
        impl From<WebError> for $audience {
            fn from(e: WebError) -> Self {
                $audience(e)
            }
        }

        impl From<StoreError> for $audience {
            fn from(e: StoreError) -> Self {
                $audience(e.into())
            }
        }

        impl From<Invalid> for $audience {
            fn from(e: Invalid) -> Self {
                $audience(e.into())
            }
        }
    )*};
}

from_failures!(ApiError, PageError);

impl From<tera::Error> for PageError {
    fn from(e: tera::Error) -> Self {
        PageError(e.into())
    }
}

impl<'r> Responder<'r, 'static> for PageError {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        let html = request
            .rocket()
            .state::<super::WebState>()
            .and_then(|state| {
                state
                    .templates
                    .error_page(self.status, &self.title, &self.message)
                    .ok()
            })
            .unwrap_or_else(|| {
                format!(
                    "<!doctype html><title>{}</title><h1>{}</h1><p>{}</p>",
                    self.status,
                    super::charts::esc(&self.title),
                    super::charts::esc(&self.message)
                )
            });
        let mut response = Response::build();
        response
            .status(self.status)
            .header(ContentType::HTML)
            .sized_body(html.len(), std::io::Cursor::new(html));
        if self.status == Status::ServiceUnavailable {
            response.header(Header::new("Retry-After", RETRY_AFTER_SECONDS));
        }
        response.ok()
    }
}
