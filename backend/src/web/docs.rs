//! API documentation: the OpenAPI 3 document generated from the handlers' annotations,
//! and `/docs`, a page drawn from that same document with a small "try it" form that
//! needs nothing from the internet.

use rocket::http::ContentType;
use rocket::State;
use serde_json::{json, Value};
use utoipa::OpenApi;

use super::badges;
use super::cache::{Conditional, IfNoneMatch, Rendered};
use super::error::PageError;
use super::{api, ops, WebState};
use crate::domain::{ForgeKind, Forges, COMMON_PATH_PATTERN};

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "orgpulse API",
        description = "Organisations on code forges: profiles, repositories, daily history, libraries and refresh runs. Every answer carries an ETag; send it back in If-None-Match to get 304 when nothing changed. Errors are `{\"error\":{\"code\",\"message\"}}`."
    ),
    paths(
        api::list_orgs, api::get_org, api::list_repos, api::repos_csv, api::repo_history, api::history, api::history_csv,
        api::movers, api::list_attention, api::attention_csv, api::libraries, api::libraries_csv, api::list_licenses, api::licenses_csv, api::repo_licenses, api::list_vulnerabilities, api::vulnerabilities_csv, api::repo_vulnerabilities, api::list_events,
        api::org_activity, api::repo_activity, api::pulls_csv, api::issues_csv, api::list_contributors, api::list_runs, api::get_run, api::track_org, api::untrack_org, api::refresh,
        badges::badge, ops::healthz, ops::readyz, ops::metrics
    ),
    components(schemas(api::WebhookPayload)),
    modifiers(&BearerAuth),
    tags(
        (name = "organisations", description = "Tracked organisations and their history"),
        (name = "repositories", description = "Repositories of an organisation"),
        (name = "events", description = "The change feed: what refreshes saw change"),
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

/// The document as JSON text for the configured `forges` (the server builds it once).
pub(crate) fn openapi_json(forges: &Forges) -> String {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    let mut doc = serde_json::to_value(&doc).expect("the OpenAPI document serialises");
    tighten(&mut doc, forges);
    serde_json::to_string_pretty(&doc).expect("the OpenAPI document serialises")
}

/// Writes into the document what the configuration decides — which forges a path takes,
/// the path rules of their kinds, what an organisation id looks like — and the answers
/// every route can give besides its own (422 for an organisation path, 503 while the
/// database is down, 429 from nginx's rate limits in the deployed set-up).
fn tighten(doc: &mut Value, configured: &Forges) {
    let forges: Vec<&str> = configured.names();
    let login = COMMON_PATH_PATTERN
        .trim_start_matches('^')
        .trim_end_matches('$');
    let org_id = format!("^({}):{login}$", forges.join("|"));
    let forge_description = format!(
        "The forge instance: {}",
        configured
            .iter()
            .map(|f| format!("`{}` ({}, {})", f.name, f.kind.label(), f.api_url))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let kinds: Vec<ForgeKind> = ForgeKind::ALL
        .into_iter()
        .filter(|k| configured.iter().any(|f| f.kind == *k))
        .collect();
    let login_description = format!(
        "The organisation's path on the forge, `/` written `%2F` (a GitLab subgroup: `gitlab-org%2Fci-cd`). The pattern is what every forge kind accepts; each kind allows more: {}",
        kinds
            .iter()
            .map(|k| format!("{} `{}`", k.label(), k.path_pattern()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let error = |description: &str| {
        json!({ "description": description,
                "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ErrorBody" } } } })
    };
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for op in item.values_mut() {
                let params = op.get_mut("parameters").and_then(Value::as_array_mut);
                let names_an_org = params
                    .as_ref()
                    .is_some_and(|ps| ps.iter().any(|p| p["name"] == "forge"));
                // What the configuration decides; every other parameter is declared
                // with its route (`web::params`).
                for p in params.into_iter().flatten() {
                    match p["name"].as_str().unwrap_or_default() {
                        "forge" => {
                            p["description"] = json!(forge_description);
                            p["schema"] = json!({ "type": "string", "enum": forges });
                        }
                        "login" => p["description"] = json!(login_description),
                        "org" => p["schema"]["pattern"] = json!(org_id),
                        _ => {}
                    }
                }
                let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
                    continue;
                };
                if names_an_org {
                    responses.entry("422").or_insert_with(|| {
                        error("Not a valid organisation, or a parameter is not valid")
                    });
                }
                if path.starts_with("/api/v1/") || path.starts_with("/badge/") || path == "/readyz"
                {
                    responses.entry("503").or_insert_with(|| {
                        let mut unavailable =
                            error("The database is not answering, or still starting");
                        unavailable["headers"] = json!({ "Retry-After": {
                            "description": "Seconds to wait before asking again",
                            "schema": { "type": "integer", "minimum": 1 } } });
                        unavailable
                    });
                }
                responses.entry("429").or_insert_with(|| {
                    error("Too many requests (nginx's rate limits, in the deployed set-up)")
                });
            }
        }
    }
    // A listed repository's name leads to its history (for clients, and for the
    // contract check's stateful phase).
    doc["paths"]["/api/v1/orgs/{forge}/{login}/repos"]["get"]["responses"]["200"]["links"] = json!({
        "RepoHistory": {
            "operationId": "repo_history",
            "description": "The history of the page's first repository",
            "parameters": {
                "forge": "$request.path.forge",
                "login": "$request.path.login",
                "name": "$response.body#/items/0/name"
            }
        }
    });
    // No body at all asks for every tracked organisation.
    doc["paths"]["/api/v1/refresh"]["post"]["requestBody"]["required"] = json!(false);
    let schemas = &mut doc["components"]["schemas"];
    schemas["TrackRequest"]["properties"]["id"]["pattern"] = json!(org_id);
    schemas["RefreshRequest"]["properties"]["orgs"]["items"]["pattern"] = json!(org_id);
    // What orgpulse sends, not what it serves: the webhook deliveries (OpenAPI 3.1).
    doc["webhooks"] = json!({
        "changes": { "post": {
            "summary": "New events of one organisation, after a refresh",
            "description": "Sent to each `ORGPULSE_WEBHOOK_URLS` endpoint after every refresh: one POST per organisation with events that endpoint has not had yet (at most 100 per POST, oldest first). Signed with `ORGPULSE_WEBHOOK_SECRET`: `X-Orgpulse-Signature-256: sha256=<hex HMAC-SHA256 of the body>`. `X-Orgpulse-Delivery` is the same on every retry. Delivered at least once: tell repeats apart by the events' `id`s. Any 2xx answer accepts the delivery; 408, 429, 5xx and no answer are retried with doubling waits, then the events are sent again after the next refresh.",
            "parameters": [
                { "name": "X-Orgpulse-Signature-256", "in": "header", "required": false,
                  "description": "Present when ORGPULSE_WEBHOOK_SECRET is set",
                  "schema": { "type": "string", "pattern": "^sha256=[0-9a-f]{64}$" } },
                { "name": "X-Orgpulse-Delivery", "in": "header", "required": true,
                  "schema": { "type": "string", "format": "uuid" } },
                { "name": "X-Orgpulse-Event", "in": "header", "required": true,
                  "schema": { "type": "string", "enum": ["changes"] } }
            ],
            "requestBody": { "required": true, "content": { "application/json": {
                "schema": { "$ref": "#/components/schemas/WebhookPayload" } } } },
            "responses": { "2XX": { "description": "Accepted; the endpoint's position in the feed moves past these events" } }
        } }
    });
}

#[rocket::get("/api/v1/openapi.json")]
pub(crate) fn openapi(state: &State<WebState>) -> (ContentType, String) {
    (ContentType::JSON, state.openapi.clone())
}

#[rocket::get("/docs")]
pub(crate) fn docs(
    state: &State<WebState>,
    validators: IfNoneMatch,
) -> Result<Conditional, PageError> {
    if let Some(page) = state.docs_page.get() {
        return Ok(Conditional::new(page.clone(), &validators));
    }
    let html = state
        .templates
        .render("docs.html", "docs", &docs_context(&state.openapi))?;
    let page = state
        .docs_page
        .get_or_init(|| std::sync::Arc::new(Rendered::new(html, ContentType::HTML)));
    Ok(Conditional::new(page.clone(), &validators))
}

/// The operations of the document, in the order written, for the page.
fn docs_context(openapi: &str) -> Value {
    let doc: Value = serde_json::from_str(openapi).expect("valid JSON");
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
