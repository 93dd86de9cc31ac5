//! GitHub's GraphQL endpoint (`POST /graphql`). Every query is parsed and validated
//! against GitHub's published schema (`schema/github.graphql`); one GitHub would reject
//! gets GitHub's answer to it (200 with `errors`, no `data`). A valid query is executed
//! over the world by apollo-compiler's executor: `nodes(ids:)` resolves repositories by
//! the `node_id` their REST listing gave (old `MDEw…` and new `R_kgDO…` forms), with the
//! same languages (bytes), licence and counts REST answers, and `rateLimit` reports a
//! points budget of its own (`x-ratelimit-resource: graphql`). Issues, pull requests,
//! `search` and releases: [`graphql_activity`](crate::graphql_activity). Besides the
//! `graphql` counter, each `search` counts as `graphql search` and each `nodes` query as
//! `graphql repository nodes` or `graphql item nodes`.
//!
//! As on GitHub: no token → 401; an id that does not resolve → `null` in `nodes` and a
//! `NOT_FOUND` error with its path; a spent budget → 200, a `RATE_LIMITED` error and
//! `x-ratelimit-remaining: 0`. Fault switches ([`Faults`](crate::Faults)):
//! `graphql_502_every` answers every n-th query 502 ("couldn't respond in time"), and
//! `vanished` lists repository ids whose nodes no longer resolve.

use std::sync::{Arc, OnceLock};

use apollo_compiler::resolvers::{Execution, FieldError, ObjectValue, ResolveInfo, ResolvedValue};
use apollo_compiler::response::{JsonMap, JsonValue};
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Schema};
use rocket::http::Status;
use rocket::{post, routes, State};
use serde_json::{json, Value};

use crate::app::Authorization;
use crate::{epoch_now, Forge, Reply};
use crate::{graphql_activity, world};

/// GitHub's published schema, as the fake knows it.
const SCHEMA: &str = include_str!("../../schema/github.graphql");

/// The schema, parsed once. GitHub's published file defines one field twice
/// (`EnterpriseOwnerInfo.repositoryDeployKeySetting`), which strict schema validation
/// refuses; the parsed schema is complete all the same, and queries are validated strictly
/// against it.
pub fn schema() -> &'static Valid<Schema> {
    static PARSED: OnceLock<Valid<Schema>> = OnceLock::new();
    PARSED.get_or_init(|| {
        let schema = match Schema::parse(SCHEMA, "github.graphql") {
            Ok(schema) => schema,
            Err(with_errors) => with_errors.partial,
        };
        Valid::assume_valid(schema)
    })
}

/// Checks `query` as GitHub would; the errors as text when it is not valid.
pub fn validate(query: &str) -> Result<(), String> {
    ExecutableDocument::parse_and_validate(schema(), query, "query.graphql")
        .map(|_| ())
        .map_err(|errors| errors.to_string())
}

/// The repository id a node id stands for.
fn repo_id_of(node: &str) -> Option<i64> {
    let id = if let Some(hex) = node.strip_prefix("R_kgDO") {
        i64::from_str_radix(hex, 16).ok()?
    } else {
        node.strip_prefix("MDEwOlJlcG9zaXRvcnk")?.parse().ok()?
    };
    (world::node_id(id) == node).then_some(id)
}

/// Points a query of `nodes` ids costs: GitHub counts the connections each node fills,
/// over 100, at least 1 (an approximation of its formula for the repository query).
fn cost(nodes: usize) -> u64 {
    ((nodes as u64 * 3).div_ceil(100)).max(1)
}

/// A GraphQL request body.
#[derive(serde::Deserialize)]
pub(crate) struct Request {
    pub query: String,
    #[serde(default)]
    pub variables: Option<JsonMap>,
    #[serde(default, rename = "operationName")]
    pub operation_name: Option<String>,
}

/// `query` parsed and validated against `schema`; the validation messages when it is not
/// valid.
pub(crate) fn validated(
    schema: &Valid<Schema>,
    query: &str,
) -> Result<Valid<ExecutableDocument>, Vec<String>> {
    ExecutableDocument::parse_and_validate(schema, query, "query.graphql")
        .map_err(|invalid| invalid.errors.iter().map(|e| e.error.to_string()).collect())
}

#[post("/graphql", data = "<body>")]
async fn graphql(forge: &State<Arc<Forge>>, body: &str, authorization: Authorization) -> Reply {
    let fault = crate::delay(forge).await;
    // An App's own JWT is refused here, as GitHub does: its installation token is not.
    let jwt = authorization.bearer().is_some_and(|b| b.starts_with("eyJ"));
    forge.installation_token(&authorization);
    if authorization.0.is_none() || jwt {
        forge.count("graphql", 401);
        return Reply::json(
            Status::Unauthorized,
            &json!({"message": "This endpoint requires you to be authenticated.",
                    "documentation_url": "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql"}),
            Vec::new(),
        );
    }
    let n = forge.graphql_request();
    let every = forge.faults().graphql_502_every;
    if fault == Some(crate::Fault::ServerError) || (every > 0 && n.is_multiple_of(every)) {
        forge.count("graphql", 502);
        return Reply::json(
            Status::BadGateway,
            &json!({"data": null, "errors": [{"message": "Something went wrong while executing your query. This may be the result of a timeout, or it could be a GitHub bug."}]}),
            Vec::new(),
        );
    }
    let Ok(request) = serde_json::from_str::<Request>(body) else {
        forge.count("graphql", 400);
        return Reply::json(
            Status::BadRequest,
            &json!({"message": "Problems parsing JSON"}),
            Vec::new(),
        );
    };
    let document = match validated(schema(), &request.query) {
        Ok(document) => document,
        Err(errors) => {
            forge.count("graphql invalid", 200);
            let messages: Vec<Value> = errors
                .iter()
                .map(|e| json!({"message": e, "type": "INVALID_QUERY"}))
                .collect();
            return Reply::json(Status::Ok, &json!({ "errors": messages }), Vec::new());
        }
    };
    let variables = request.variables.unwrap_or_default();
    let ids = variables
        .get("ids")
        .and_then(JsonValue::as_array)
        .map_or(0, Vec::len);
    let spent = forge.spend_points(cost(ids));
    let headers = spent.headers();
    if !spent.allowed {
        forge.count("graphql limited", 200);
        return Reply::json(
            Status::Ok,
            &json!({"errors": [{"type": "RATE_LIMITED", "code": "graphql_rate_limit",
                                "message": "API rate limit already exceeded for user ID 1."}]}),
            headers,
        );
    }
    let root = Root {
        forge,
        missing: std::sync::Mutex::new(Vec::new()),
        rate_limit: json!({"__typename": "RateLimit", "cost": spent.cost, "limit": spent.limit,
                           "remaining": spent.remaining, "used": spent.used, "nodeCount": ids,
                           "resetAt": rfc3339(spent.reset)}),
    };
    let execution = Execution::new(schema(), &document).raw_variable_values(&variables);
    let execution = match execution.operation_name(request.operation_name.as_deref()) {
        Ok(execution) => execution,
        Err(e) => {
            return Reply::json(
                Status::Ok,
                &json!({"errors": [{"message": e.message().to_string()}]}),
                headers,
            )
        }
    };
    let response = match execution.execute_sync(&root) {
        Ok(response) => response,
        Err(e) => {
            return Reply::json(
                Status::Ok,
                &json!({"errors": [{"message": e.message().to_string()}]}),
                headers,
            )
        }
    };
    let mut answer = serde_json::to_value(&response).unwrap_or_default();
    // Nodes that did not resolve are null in `data`, each with GitHub's error.
    let missing = std::mem::take(&mut *root.missing.lock().unwrap_or_else(|p| p.into_inner()));
    if !missing.is_empty() {
        let errors = answer
            .as_object_mut()
            .map(|a| a.entry("errors").or_insert_with(|| json!([])));
        if let Some(Value::Array(errors)) = errors {
            for (i, id) in missing {
                errors.push(json!({
                    "type": "NOT_FOUND", "path": ["nodes", i],
                    "locations": [{"line": 3, "column": 3}],
                    "message": format!("Could not resolve to a node with the global id of '{id}'"),
                }));
            }
        }
    }
    forge.count("graphql", 200);
    Reply::json(Status::Ok, &answer, headers)
}

/// `2026-12-07T10:00:00Z` for epoch seconds.
pub(crate) fn rfc3339(epoch: u64) -> String {
    world::timestamp(i64::try_from(epoch).unwrap_or(i64::MAX))
}

/// The query root: `rateLimit` and `nodes(ids:)`.
struct Root<'f> {
    forge: &'f Forge,
    rate_limit: Value,
    /// `nodes` entries that did not resolve: (index, id).
    missing: std::sync::Mutex<Vec<(usize, String)>>,
}

impl ObjectValue for Root<'_> {
    fn type_name(&self) -> &str {
        "Query"
    }

    fn resolve_field<'a>(
        &'a self,
        info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        match info.field_name() {
            "rateLimit" => Ok(object(self.rate_limit.clone(), "RateLimit")),
            "search" => {
                let args = info.arguments();
                let query = args.get("query").and_then(JsonValue::as_str).unwrap_or("");
                let first = args.get("first").and_then(JsonValue::as_u64).unwrap_or(10) as usize;
                let after = args.get("after").and_then(JsonValue::as_str);
                self.forge.count("graphql search", 200);
                Ok(object(
                    graphql_activity::search(self.forge, query, first, after),
                    "SearchResultItemConnection",
                ))
            }
            "nodes" => {
                let ids: Vec<String> = info
                    .arguments()
                    .get("ids")
                    .and_then(JsonValue::as_array)
                    .map(|ids| {
                        ids.iter()
                            .filter_map(|v| v.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                // Counted by what the query asks for: items or repositories.
                let items = ids
                    .first()
                    .is_some_and(|id| id.starts_with("PR_") || id.starts_with("I_"));
                let what = if items {
                    "graphql item nodes"
                } else {
                    "graphql repository nodes"
                };
                self.forge.count(what, 200);
                let nodes: Vec<Result<ResolvedValue<'a>, FieldError>> = ids
                    .iter()
                    .enumerate()
                    .map(|(i, id)| match self.node(id) {
                        Some(node) => Ok(object(node, "Repository")),
                        None => {
                            self.missing
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .push((i, id.clone()));
                            Ok(ResolvedValue::null())
                        }
                    })
                    .collect();
                Ok(ResolvedValue::List(Box::new(nodes.into_iter())))
            }
            _ => Err(self.unknown_field_error(info)),
        }
    }
}

impl Root<'_> {
    /// The repository, issue or pull request `node` names.
    fn node(&self, node: &str) -> Option<Value> {
        self.repository(node)
            .or_else(|| graphql_activity::item_by_node(self.forge, node))
    }

    /// The repository node `node` names, as GraphQL shows it; `None` when it does not
    /// resolve (unknown, gone, or vanished by a fault).
    fn repository(&self, node: &str) -> Option<Value> {
        let id = repo_id_of(node)?;
        if self.forge.faults().vanished.contains(&id) {
            return None;
        }
        let day = self.forge.day();
        let (org, n) = self.forge.world().repo_by_id(id, day)?;
        let org = self.forge.find_org_by_id(org.id)?;
        let mut repo = repository(self.forge.world(), &org, n, day);
        repo["releases"] = graphql_activity::releases_of(self.forge, n, id);
        Some(repo)
    }
}

/// One repository as GitHub's GraphQL shows it, from the same world as the REST answers.
fn repository(world: &world::World, org: &world::Org, n: usize, day: u32) -> Value {
    let rest = world.repo(org, n, day);
    let mut languages: Vec<(String, u64)> = world
        .languages(org, n, day)
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default();
    languages.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let open = rest["open_issues_count"].as_u64().unwrap_or(0);
    let pulls = open / 3;
    let id = rest["id"].as_i64().unwrap_or(0);
    let pushed = rest["pushed_at"].clone();
    let release = (id % 3 != 0 && !pushed.is_null()).then(|| {
        json!({"__typename": "Release", "tagName": format!("v{}.{}.0", 1 + id % 4, day % 10),
               "publishedAt": pushed.clone()})
    });
    json!({
        "__typename": "Repository",
        "id": rest["node_id"], "databaseId": id, "name": rest["name"],
        "nameWithOwner": rest["full_name"],
        "languages": {
            "__typename": "LanguageConnection",
            "totalCount": languages.len(),
            "totalSize": languages.iter().map(|(_, b)| b).sum::<u64>(),
            "pageInfo": {"__typename": "PageInfo", "hasNextPage": false, "hasPreviousPage": false},
            "edges": languages.iter().map(|(name, size)| json!({
                "__typename": "LanguageEdge", "size": size,
                "node": {"__typename": "Language", "name": name}
            })).collect::<Vec<_>>(),
        },
        "licenseInfo": rest["license"].as_object().map(|l| json!({
            "__typename": "License", "spdxId": l.get("spdx_id"), "key": l.get("key"), "name": l.get("name")
        })),
        "issues": {"__typename": "IssueConnection", "totalCount": open - pulls},
        "pullRequests": {"__typename": "PullRequestConnection", "totalCount": pulls},
        "latestRelease": release,
        "repositoryTopics": {
            "__typename": "RepositoryTopicConnection",
            "totalCount": rest["topics"].as_array().map_or(0, Vec::len),
            "nodes": rest["topics"].as_array().cloned().unwrap_or_default().into_iter().map(|t| json!({
                "__typename": "RepositoryTopic", "topic": {"__typename": "Topic", "name": t}
            })).collect::<Vec<_>>(),
        },
        "defaultBranchRef": if pushed.is_null() { Value::Null } else { json!({
            "__typename": "Ref", "name": rest["default_branch"],
            "target": {"__typename": "Commit", "committedDate": pushed}
        }) },
    })
}

/// A JSON object as a GraphQL object of `type_name` (or the `__typename` it carries).
pub(crate) fn object<'a>(value: Value, type_name: &str) -> ResolvedValue<'a> {
    let type_name = value["__typename"].as_str().unwrap_or(type_name).to_owned();
    ResolvedValue::Object(Box::new(JsonObject { type_name, value }))
}

/// A world value the executor walks: fields are looked up by name; connections honour
/// `first`.
struct JsonObject {
    type_name: String,
    value: Value,
}

impl ObjectValue for JsonObject {
    fn type_name(&self) -> &str {
        &self.type_name
    }

    fn resolve_field<'a>(
        &'a self,
        info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        let mut value = self
            .value
            .get(info.field_name())
            .cloned()
            .unwrap_or(Value::Null);
        if let Some(first) = info.arguments().get("first").and_then(JsonValue::as_u64) {
            for list in ["edges", "nodes"] {
                if let Some(items) = value.get_mut(list).and_then(Value::as_array_mut) {
                    let more = items.len() as u64 > first;
                    items.truncate(first as usize);
                    if let Some(page) = value.get_mut("pageInfo") {
                        page["hasNextPage"] = json!(more);
                    }
                    break;
                }
            }
        }
        let inner = info.field_definition().ty.inner_named_type().to_string();
        Ok(resolved(value, &inner))
    }
}

fn resolved<'a>(value: Value, type_name: &str) -> ResolvedValue<'a> {
    match value {
        Value::Object(_) => object(value, type_name),
        Value::Array(items) => {
            let type_name = type_name.to_owned();
            ResolvedValue::List(Box::new(
                items
                    .into_iter()
                    .map(move |item| Ok(resolved(item, &type_name))),
            ))
        }
        leaf => ResolvedValue::Leaf(JsonValue::from(leaf)),
    }
}

/// What a GraphQL query spent, and where the points budget stands.
#[derive(Debug, Clone)]
struct Spent {
    pub allowed: bool,
    pub cost: u64,
    pub limit: u64,
    pub used: u64,
    pub remaining: u64,
    pub reset: u64,
}

impl Spent {
    /// GitHub's rate-limit headers for the GraphQL resource.
    fn headers(&self) -> Vec<(String, String)> {
        vec![
            ("x-ratelimit-limit".into(), self.limit.to_string()),
            ("x-ratelimit-remaining".into(), self.remaining.to_string()),
            ("x-ratelimit-used".into(), self.used.to_string()),
            ("x-ratelimit-reset".into(), self.reset.to_string()),
            ("x-ratelimit-resource".into(), "graphql".into()),
        ]
    }
}

impl Forge {
    /// Counts one more GraphQL query; returns its number (from 1).
    fn graphql_request(&self) -> u64 {
        self.graphql_requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1
    }

    /// Spends `cost` GraphQL points when the budget has them.
    fn spend_points(&self, cost: u64) -> Spent {
        let mut budget = self
            .graphql_budget
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let now = epoch_now();
        if now >= budget.reset {
            budget.used = 0;
            budget.reset = now + self.config.rate_window.as_secs();
        }
        let limit = self.config.graphql_points;
        let allowed = budget.used + cost <= limit;
        if allowed {
            budget.used += cost;
        }
        Spent {
            allowed,
            cost,
            limit,
            used: budget.used,
            remaining: limit.saturating_sub(budget.used),
            reset: budget.reset,
        }
    }
}

pub(crate) fn routes() -> Vec<rocket::Route> {
    routes![graphql]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::node_id;

    #[test]
    fn node_ids_of_both_forms_find_their_repository() {
        for id in [1_000_000_123_i64, 1_000_000_124] {
            assert_eq!(repo_id_of(&node_id(id)), Some(id));
        }
        assert!(node_id(3).starts_with("MDEw") && node_id(4).starts_with("R_kgDO"));
        assert_eq!(repo_id_of("R_kgDOzz"), None);
        assert_eq!(
            repo_id_of("MDEwOlJlcG9zaXRvcnk2"),
            None,
            "2 is in the new form"
        );
    }

    #[test]
    fn queries_are_held_to_the_schema() {
        assert!(validate("{ rateLimit { cost remaining } }").is_ok());
        assert!(validate("{ rateLimit { points } }").is_err());
        assert!(validate("{ nodes(ids: [\"a\"]) { ... on Repository { stars } } }").is_err());
    }
}
