//! API documentation: the OpenAPI 3 document generated from the handlers' annotations,
//! and `/docs`, a page drawn from that same document with a small "try it" form that
//! needs nothing from the internet.

use rocket::http::ContentType;
use rocket::State;
use serde_json::{json, Value};
use utoipa::OpenApi;

use super::cache::{Conditional, IfNoneMatch, Rendered};
use super::error::PageError;
use super::{api, ops, WebState};

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "orgpulse API",
        description = "Organisations on code forges: profiles, repositories, daily history, libraries and refresh runs. Every answer carries an ETag; send it back in If-None-Match to get 304 when nothing changed. Errors are `{\"error\":{\"code\",\"message\"}}`."
    ),
    paths(
        api::list_orgs, api::get_org, api::list_repos, api::repos_csv, api::history, api::libraries,
        api::list_runs, api::get_run, api::track_org, api::untrack_org, api::refresh,
        ops::healthz, ops::readyz, ops::metrics
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "organisations", description = "Tracked organisations and their history"),
        (name = "repositories", description = "Repositories of an organisation"),
        (name = "runs", description = "Refresh runs"),
        (name = "operations", description = "Health and metrics")
    )
)]
pub(crate) struct ApiDoc;

/// Declares the bearer-token scheme the write routes use.
#[derive(Debug)]
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API token from `orgpulse token create NAME` (starts with `orgp_`)",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document as JSON text, built once.
pub(crate) fn openapi_json() -> &'static str {
    static JSON: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    JSON.get_or_init(|| {
        let mut doc = ApiDoc::openapi();
        doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
        doc.to_pretty_json()
            .expect("the OpenAPI document serialises")
    })
}

#[rocket::get("/api/v1/openapi.json")]
pub(crate) fn openapi() -> (ContentType, &'static str) {
    (ContentType::JSON, openapi_json())
}

#[rocket::get("/docs")]
pub(crate) fn docs(
    state: &State<WebState>,
    validators: IfNoneMatch,
) -> Result<Conditional, PageError> {
    static PAGE: std::sync::OnceLock<std::sync::Arc<Rendered>> = std::sync::OnceLock::new();
    if let Some(page) = PAGE.get() {
        return Ok(Conditional::new(page.clone(), &validators));
    }
    let html = state
        .templates
        .render("docs.html", "docs", &docs_context())?;
    let page = PAGE.get_or_init(|| std::sync::Arc::new(Rendered::new(html, ContentType::HTML)));
    Ok(Conditional::new(page.clone(), &validators))
}

/// The operations of the document, in the order written, for the page.
fn docs_context() -> Value {
    let doc: Value = serde_json::from_str(openapi_json()).expect("valid JSON");
    let mut ops = Vec::new();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            for method in ["get", "post", "delete"] {
                let Some(op) = item.get(method) else { continue };
                let params: Vec<Value> = op["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| json!({ "name": p["name"], "in": p["in"], "required": p["required"].as_bool().unwrap_or(false), "description": p["description"] }))
                    .collect();
                let responses: Vec<Value> = op["responses"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(code, r)| json!({ "code": code, "description": r["description"] }))
                    .collect();
                ops.push(json!({
                    "id": format!("{method}-{}", path.replace(['/', '{', '}', '.'], "-")),
                    "method": method, "path": path,
                    "summary": op["summary"].as_str().or(op["description"].as_str()).unwrap_or(""),
                    "tag": op["tags"][0],
                    "params": params, "responses": responses,
                    "secured": op.get("security").is_some(),
                    "has_body": op.get("requestBody").is_some(),
                }));
            }
        }
    }
    json!({ "ops": ops, "title": doc["info"]["title"], "description": doc["info"]["description"] })
}

pub(crate) fn routes() -> Vec<rocket::Route> {
    rocket::routes![openapi, docs]
}
