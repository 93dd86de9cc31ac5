//! Errors as visitors and API clients see them: a JSON body
//! `{"error":{"code","message"}}` under `/api`, an HTML page elsewhere. Details of
//! internal failures are logged, never shown.

use rocket::http::{ContentType, Header, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use rocket::serde::json::Json;
use serde::Serialize;

use crate::store::StoreError;

/// An error answered as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: Status,
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// A stable, machine-readable code (`not_found`, `invalid_parameter`, …).
    pub code: String,
    /// What went wrong, for people.
    pub message: String,
}

impl ApiError {
    pub fn new(status: Status, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Status::NotFound, "not_found", message)
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(Status::UnprocessableEntity, "invalid_parameter", message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(Status::ServiceUnavailable, "unavailable", message)
    }

    pub fn internal() -> Self {
        Self::new(
            Status::InternalServerError,
            "internal",
            "something went wrong on our side; it has been logged",
        )
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message.clone(),
            },
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store error while answering");
        ApiError::unavailable("the database is not answering; try again shortly")
    }
}

impl<'r> Responder<'r, 'static> for ApiError {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        let mut response = Response::build_from(Json(self.body()).respond_to(request)?);
        response.status(self.status);
        if self.status == Status::Unauthorized {
            response.header(Header::new("WWW-Authenticate", "Bearer"));
        }
        response.ok()
    }
}

/// An error answered as an HTML page.
#[derive(Debug, Clone)]
pub struct PageError {
    pub status: Status,
    pub title: String,
    pub message: String,
}

impl PageError {
    pub fn new(status: Status, title: impl Into<String>, message: impl Into<String>) -> Self {
        PageError {
            status,
            title: title.into(),
            message: message.into(),
        }
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store error while rendering a page");
        PageError::new(
            Status::ServiceUnavailable,
            "The database is not answering",
            "orgpulse cannot reach its database right now. The page will work again as soon as it is back.",
        )
    }
}

impl From<tera::Error> for PageError {
    fn from(e: tera::Error) -> Self {
        tracing::error!(error = ?e, "template error");
        PageError::new(
            Status::InternalServerError,
            "Something went wrong",
            "This page could not be drawn; the error has been logged.",
        )
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
        Response::build()
            .status(self.status)
            .header(ContentType::HTML)
            .sized_body(html.len(), std::io::Cursor::new(html))
            .ok()
    }
}
