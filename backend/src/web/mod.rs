//! The web layer: one [`build`] function makes the Rocket instance for `orgpulse serve`
//! and for every test. Pages, the JSON API, API docs, static assets and operations routes
//! all read through the store; nothing here talks to a forge.

pub mod api;
mod assets;
pub(crate) mod auth;
pub(crate) mod badges;
pub(crate) mod cache;
pub(crate) mod charts;
pub(crate) mod docs;
pub(crate) mod error;
pub(crate) mod extract;
pub(crate) mod feed;
pub(crate) mod insight;
pub(crate) mod ops;
pub(crate) mod pages;
pub(crate) mod params;
pub(crate) mod range;
pub(crate) mod repos;
mod templates;
pub(crate) mod views;

use std::sync::Arc;
use std::time::Instant;

use figment::providers::{Env, Serialized};
use figment::Figment;
use rocket::data::{Limits, ToByteUnit};
use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::{Header, Status};
use rocket::response::{self, Responder};
use rocket::{catch, catchers, Build, Data, Request, Response, Rocket};

use self::cache::ViewCache;
use self::error::{ApiError, PageError};
pub(crate) use self::templates::Templates;
use crate::domain::attention::AttentionRules;
use crate::domain::Forges;
use crate::ingest::refresher::RefreshRequests;
use crate::ingest::schedule::Schedule;
use crate::metrics::Metrics;
use crate::store::Store;

/// What the web layer is built over.
#[derive(Debug, Clone)]
pub struct Services {
    pub store: Arc<dyn Store>,
    /// Starts (or joins) refreshes for `POST /api/v1/refresh`; without one, that route
    /// answers 503 (a read-only portal).
    pub refresher: Option<Arc<dyn RefreshRequests>>,
    /// The refresh schedule, to show the next planned run; `None` when not scheduled.
    pub schedule: Option<Schedule>,
    /// Where requests are counted and what `/metrics` shows.
    pub metrics: Arc<Metrics>,
    /// The configured forges: which `{forge}` names the routes take, and their kinds.
    pub forges: Forges,
    /// What counts as needing attention.
    pub attention: AttentionRules,
}

impl Services {
    /// A read-only portal over `store`: no refreshes, no schedule, its own metrics, the
    /// built-in forges.
    pub fn reading(store: Arc<dyn Store>) -> Self {
        Services {
            store,
            refresher: None,
            schedule: None,
            metrics: Arc::default(),
            forges: Forges::default(),
            attention: AttentionRules::default(),
        }
    }
}

/// What every handler can reach.
#[derive(Debug)]
pub(crate) struct WebState {
    pub store: Arc<dyn Store>,
    pub refresher: Option<Arc<dyn RefreshRequests>>,
    pub schedule: Option<Schedule>,
    pub metrics: Arc<Metrics>,
    pub cache: ViewCache,
    pub templates: Templates,
    pub forges: Forges,
    pub attention: AttentionRules,
    /// The OpenAPI document for these forges, built once.
    pub openapi: String,
    /// `/docs`, rendered on first use.
    pub docs_page: std::sync::OnceLock<Arc<cache::Rendered>>,
}

/// Rocket's settings: its defaults, then ours (quiet logs — orgpulse logs requests itself
/// — and small body limits), then `ROCKET_*` environment variables, which win.
pub fn rocket_config() -> Figment {
    let limits = Limits::default()
        .limit("json", 16.kibibytes())
        .limit("form", 16.kibibytes())
        .limit("string", 16.kibibytes());
    Figment::from(rocket::Config::default())
        .merge(Serialized::defaults(
            serde_json::json!({ "log_level": "off", "ident": "orgpulse" }),
        ))
        .merge(("limits", limits))
        .merge(Env::prefixed("ROCKET_").ignore(&["PROFILE"]).global())
}

/// Builds the web application over `services`.
pub fn build(services: Services, config: Figment) -> Result<Rocket<Build>, tera::Error> {
    let state = WebState {
        store: services.store,
        refresher: services.refresher,
        schedule: services.schedule,
        metrics: services.metrics.clone(),
        cache: ViewCache::default(),
        templates: Templates::load()?,
        openapi: docs::openapi_json(&services.forges),
        docs_page: std::sync::OnceLock::new(),
        forges: services.forges,
        attention: services.attention,
    };
    Ok(rocket::custom(config)
        .manage(state)
        .mount("/", pages::routes())
        .mount("/", ops::routes())
        .mount("/", rocket::routes![badges::badge])
        .mount("/", docs::routes())
        .mount("/api/v1", api::routes())
        .mount("/static", assets::routes())
        .register("/", catchers![page_catcher])
        .register("/api", catchers![api_catcher])
        // Badges answer errors as the API does (their document says JSON).
        .register("/badge", catchers![api_catcher])
        .attach(RequestLog {
            metrics: services.metrics,
        }))
}

/// An error answer, with `Allow` when it is a 405.
struct Answer<R> {
    error: R,
    allow: Option<String>,
}

impl<'r, R: Responder<'r, 'static>> Responder<'r, 'static> for Answer<R> {
    fn respond_to(self, request: &'r Request<'_>) -> response::Result<'static> {
        let mut response = self.error.respond_to(request)?;
        if let Some(allow) = self.allow {
            response.set_header(Header::new("Allow", allow));
        }
        Ok(response)
    }
}

/// Marks a request that reached routing (Rocket answers a method it cannot parse with 400
/// before any fairing sees the request).
#[derive(Clone, Copy)]
struct Routed(bool);

/// The methods the routes at the request's path answer, when its own method has none:
/// what turns a 404 (or Rocket's 400 for a method it does not know, such as QUERY) into
/// a 405 with `Allow`. `None` for a path no route serves, or one whose route forwarded.
fn allowed_methods(status: Status, request: &Request<'_>) -> Option<String> {
    let unknown_method = status == Status::BadRequest && !request.local_cache(|| Routed(false)).0;
    if status != Status::NotFound && !unknown_method {
        return None;
    }
    let path: Vec<&str> = request.uri().path().segments().collect();
    let mut methods: Vec<&str> = request
        .rocket()
        .routes()
        .filter(|route| template_matches(route.uri.path(), &path))
        .map(|route| route.method.as_str())
        .collect();
    if methods.is_empty() || (!unknown_method && methods.contains(&request.method().as_str())) {
        return None;
    }
    if methods.contains(&"GET") {
        methods.push("HEAD");
    }
    methods.sort_unstable();
    methods.dedup();
    Some(methods.join(", "))
}

/// Whether a route's path template (`/api/v1/orgs/<forge>/<login>`) covers `path`.
fn template_matches(template: &str, path: &[&str]) -> bool {
    let parts: Vec<&str> = template.split('/').filter(|s| !s.is_empty()).collect();
    for (i, part) in parts.iter().enumerate() {
        if part.starts_with('<') && part.ends_with("..>") {
            return true;
        }
        let Some(segment) = path.get(i) else {
            return false;
        };
        let dynamic = part.starts_with('<') && part.ends_with('>');
        if !dynamic && part != segment {
            return false;
        }
    }
    parts.len() == path.len()
}

/// What a request guard refused this request for (an organisation path, say), when one
/// did: the catchers answer with its reason rather than a generic 422.
fn refused(status: Status, request: &Request<'_>) -> Option<error::Invalid> {
    (status == Status::UnprocessableEntity)
        .then(|| request.local_cache(extract::Refused::default).0.clone())
        .flatten()
}

#[catch(default)]
fn page_catcher(status: Status, request: &Request<'_>) -> Answer<PageError> {
    if let Some(invalid) = refused(status, request) {
        return Answer {
            error: invalid.into(),
            allow: None,
        };
    }
    if let Some(allow) = allowed_methods(status, request) {
        return Answer {
            error: PageError::new(
                Status::MethodNotAllowed,
                "That method is not allowed here",
                format!("This address answers {allow}."),
            ),
            allow: Some(allow),
        };
    }
    let (title, message) = match status.code {
        404 => (
            "Page not found",
            "There is nothing at this address. The organisations are listed on the front page.",
        ),
        422 => (
            "That request does not make sense",
            "A value in the address is not valid.",
        ),
        _ if status.code >= 500 => (
            "Something went wrong",
            "The error has been logged; try again in a moment.",
        ),
        _ => ("That did not work", "The request could not be answered."),
    };
    Answer {
        error: PageError::new(status, title, message),
        allow: None,
    }
}

#[catch(default)]
fn api_catcher(status: Status, request: &Request<'_>) -> Answer<ApiError> {
    if let Some(invalid) = refused(status, request) {
        return Answer {
            error: invalid.into(),
            allow: None,
        };
    }
    if let Some(allow) = allowed_methods(status, request) {
        return Answer {
            error: ApiError::new(
                Status::MethodNotAllowed,
                "method_not_allowed",
                format!("this route answers {allow}"),
            ),
            allow: Some(allow),
        };
    }
    let error = match status.code {
        400 => ApiError::new(
            status,
            "bad_request",
            "the request could not be read (malformed JSON?)",
        ),
        401 => ApiError::new(status, "unauthorized", "a valid bearer token is required"),
        404 => ApiError::not_found("there is no such API route; see /api/v1/openapi.json"),
        413 => ApiError::new(status, "too_large", "the request body is too large"),
        415 => ApiError::new(
            status,
            "unsupported_media_type",
            "send JSON with Content-Type: application/json",
        ),
        422 => ApiError::invalid("the request body or a parameter is not valid"),
        code if code >= 500 => ApiError::internal(),
        _ => ApiError::new(status, "error", status.reason_lossy().to_lowercase()),
    };
    Answer { error, allow: None }
}

/// Logs every request with its route, status and time, and counts it in the metrics.
struct RequestLog {
    metrics: Arc<Metrics>,
}

#[derive(Clone, Copy)]
struct Started(Instant);

#[rocket::async_trait]
impl Fairing for RequestLog {
    fn info(&self) -> Info {
        Info {
            name: "request log and metrics",
            kind: Kind::Request | Kind::Response | Kind::Liftoff,
        }
    }

    async fn on_liftoff(&self, rocket: &Rocket<rocket::Orbit>) {
        let config = rocket.config();
        tracing::info!(address = %config.address, port = config.port, "orgpulse is serving on http://{}:{}", config.address, config.port);
    }

    async fn on_request(&self, request: &mut Request<'_>, _: &mut Data<'_>) {
        request.local_cache(|| Started(Instant::now()));
        request.local_cache(|| Routed(true));
    }

    async fn on_response<'r>(&self, request: &'r Request<'_>, response: &mut Response<'r>) {
        let took = request.local_cache(|| Started(Instant::now())).0.elapsed();
        // Query parameters are not part of a route's identity in the metrics.
        let route = request.route().map_or("unmatched", |r| {
            r.uri.as_str().split('?').next().unwrap_or_default()
        });
        let status = response.status().code;
        self.metrics
            .http_request(route, request.method().as_str(), status, took);
        tracing::info!(
            method = %request.method(),
            path = %request.uri().path(),
            route = %route,
            status,
            duration_ms = took.as_secs_f64() * 1000.0,
            client = %request.client_ip().map(|ip| ip.to_string()).unwrap_or_default(),
            "request"
        );
    }
}
