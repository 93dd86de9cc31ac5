//! GitLab's GraphQL endpoint (`POST /gitlab/api/graphql`). Every query is parsed and
//! validated against the GitLab types orgpulse uses (`schema/gitlab-subset.graphql`,
//! transcribed from GitLab's reference); one outside them gets GitLab's kind of answer
//! (200 with `errors`, no `data`). A valid query is executed over the world:
//! `group(fullPath:)` finds the group as REST does, and its `projects(includeSubgroups:,
//! first:, after:)` pages through the same projects (shared ones not included, as on
//! GitLab) in id order, with `languages { name share }` equal to what
//! `GET /projects/:id/languages` answers.
//!
//! Fault switches ([`Faults`](crate::Faults)): `gitlab_graphql_max_page` answers GitLab's
//! complexity error to a page larger than it (as an instance that prices the query
//! higher would), and `gitlab_graphql_without_languages` answers as a GitLab before 15.6,
//! whose `Project` has no `languages`.

use std::sync::{Arc, OnceLock};

use apollo_compiler::resolvers::{Execution, FieldError, ObjectValue, ResolveInfo, ResolvedValue};
use apollo_compiler::response::JsonValue;
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Schema};
use rocket::http::Status;
use rocket::{post, routes, State};
use serde_json::{json, Value};

use crate::gitlab::{find_group, shares, Group};
use crate::graphql::{object, validated, Request};
use crate::{world, Forge, Reply};

/// The GitLab types orgpulse uses, as the fake knows them.
const SCHEMA: &str = include_str!("../../schema/gitlab-subset.graphql");

/// The schema, parsed and checked once.
pub fn schema() -> &'static Valid<Schema> {
    static PARSED: OnceLock<Valid<Schema>> = OnceLock::new();
    PARSED.get_or_init(|| {
        Schema::parse_and_validate(SCHEMA, "gitlab-subset.graphql")
            .expect("schema/gitlab-subset.graphql is a valid schema")
    })
}

/// Checks `query` against the GitLab types; the errors as text when it is not valid.
pub fn validate(query: &str) -> Result<(), String> {
    ExecutableDocument::parse_and_validate(schema(), query, "query.graphql")
        .map(|_| ())
        .map_err(|errors| errors.to_string())
}

/// GitLab's largest page.
const MAX_PAGE: u64 = 100;

fn errors(message: String) -> Value {
    json!({"errors": [{"message": message}]})
}

#[post("/api/graphql", data = "<body>")]
async fn graphql(forge: &State<Arc<Forge>>, body: &str) -> Reply {
    let fault = crate::delay(forge).await;
    if fault == Some(crate::Fault::ServerError) {
        forge.count("gitlab graphql", 502);
        return Reply::json(
            Status::BadGateway,
            &json!({"message": "502 Bad Gateway"}),
            Vec::new(),
        );
    }
    let Ok(request) = serde_json::from_str::<Request>(body) else {
        forge.count("gitlab graphql", 400);
        return Reply::json(
            Status::BadRequest,
            &errors("Invalid JSON".into()),
            Vec::new(),
        );
    };
    let faults = forge.faults();
    if faults.gitlab_graphql_without_languages && request.query.contains("languages") {
        forge.count("gitlab graphql invalid", 200);
        return Reply::json(
            Status::Ok,
            &errors("Field 'languages' doesn't exist on type 'Project'".into()),
            Vec::new(),
        );
    }
    let document = match validated(schema(), &request.query) {
        Ok(document) => document,
        Err(invalid) => {
            forge.count("gitlab graphql invalid", 200);
            let messages: Vec<Value> = invalid.iter().map(|e| json!({ "message": e })).collect();
            return Reply::json(Status::Ok, &json!({ "errors": messages }), Vec::new());
        }
    };
    let variables = request.variables.unwrap_or_default();
    let first = variables.get("first").and_then(JsonValue::as_u64);
    if let (max @ 1.., Some(first)) = (faults.gitlab_graphql_max_page, first) {
        if first > max {
            forge.count("gitlab graphql complexity", 200);
            // GitLab's own words; the numbers are this fake's pricing (3 a project).
            return Reply::json(
                Status::Ok,
                &errors(format!(
                    "Query has complexity of {}, which exceeds max complexity of {}",
                    first * 3 + 5,
                    max * 3 + 5
                )),
                Vec::new(),
            );
        }
    }
    let execution = Execution::new(schema(), &document).raw_variable_values(&variables);
    let answer = match execution
        .operation_name(request.operation_name.as_deref())
        .map_err(|e| e.message().to_string())
        .and_then(|e| {
            e.execute_sync(&Root { forge })
                .map_err(|e| e.message().to_string())
        }) {
        Ok(response) => serde_json::to_value(&response).unwrap_or_default(),
        Err(message) => errors(message),
    };
    forge.count("gitlab graphql", 200);
    Reply::json(Status::Ok, &answer, Vec::new())
}

/// The query root: `group(fullPath:)`.
struct Root<'f> {
    forge: &'f Forge,
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
            "group" => {
                let path = info
                    .arguments()
                    .get("fullPath")
                    .and_then(JsonValue::as_str)
                    .unwrap_or_default();
                Ok(match find_group(self.forge, path) {
                    Some(group) => ResolvedValue::Object(Box::new(GroupObject {
                        forge: self.forge,
                        group,
                    })),
                    None => ResolvedValue::null(),
                })
            }
            _ => Err(self.unknown_field_error(info)),
        }
    }
}

struct GroupObject<'f> {
    forge: &'f Forge,
    group: Group,
}

impl ObjectValue for GroupObject<'_> {
    fn type_name(&self) -> &str {
        "Group"
    }

    fn resolve_field<'a>(
        &'a self,
        info: &'a ResolveInfo<'a>,
    ) -> Result<ResolvedValue<'a>, FieldError> {
        let args = info.arguments();
        match info.field_name() {
            "id" => Ok(ResolvedValue::leaf(format!(
                "gid://gitlab/Group/{}",
                self.group.org.id + i64::from(self.group.sub)
            ))),
            "fullPath" => Ok(ResolvedValue::leaf(self.group.full_path())),
            "name" => Ok(ResolvedValue::leaf(self.group.org.login.clone())),
            "projects" => {
                let include_subgroups = args
                    .get("includeSubgroups")
                    .and_then(JsonValue::as_bool)
                    .unwrap_or(false);
                let first = args
                    .get("first")
                    .and_then(JsonValue::as_u64)
                    .unwrap_or(MAX_PAGE)
                    .clamp(1, MAX_PAGE) as usize;
                let offset = args
                    .get("after")
                    .and_then(JsonValue::as_str)
                    .and_then(|c| c.strip_prefix("offset:"))
                    .and_then(|n| n.parse::<usize>().ok())
                    .unwrap_or(0);
                Ok(object(
                    self.projects(include_subgroups, first, offset),
                    "ProjectConnection",
                ))
            }
            _ => Err(self.unknown_field_error(info)),
        }
    }
}

impl GroupObject<'_> {
    /// One page of the group's projects as a `ProjectConnection`.
    fn projects(&self, include_subgroups: bool, first: usize, offset: usize) -> Value {
        let forge = self.forge;
        let listing = forge.listing(&self.group.org);
        let mut rows: Vec<(&Value, usize)> = listing
            .iter()
            .map(|r| (r, world::World::index_of(r)))
            .filter(|(_, n)| self.group.holds(*n, include_subgroups))
            .collect();
        rows.sort_by_key(|(r, _)| r["id"].as_i64().unwrap_or_default());
        let end = (offset + first).min(rows.len());
        let nodes: Vec<Value> = rows
            .get(offset.min(end)..end)
            .unwrap_or_default()
            .iter()
            .map(|(repo, n)| {
                let languages: Vec<Value> = shares(forge, &self.group.org, *n)
                    .into_iter()
                    .map(|(name, share)| {
                        json!({"__typename": "RepositoryLanguage", "name": name, "share": share, "color": null})
                    })
                    .collect();
                json!({
                    "__typename": "Project",
                    "id": format!("gid://gitlab/Project/{}", repo["id"]),
                    "fullPath": format!("{}/{}", self.group.full_path(), repo["name"].as_str().unwrap_or_default()),
                    "name": repo["name"], "archived": repo["archived"],
                    "languages": languages,
                })
            })
            .collect();
        let cursor = |at: usize| format!("offset:{at}");
        json!({
            "__typename": "ProjectConnection",
            "count": rows.len(),
            "pageInfo": {
                "__typename": "PageInfo",
                "hasNextPage": end < rows.len(),
                "hasPreviousPage": offset > 0,
                "startCursor": cursor(offset),
                "endCursor": cursor(end),
            },
            "nodes": nodes,
        })
    }
}

pub(crate) fn routes() -> Vec<rocket::Route> {
    routes![graphql]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_held_to_the_gitlab_types() {
        assert!(
            validate("{ group(fullPath: \"a\") { projects(first: 5) { nodes { id } } } }").is_ok()
        );
        assert!(
            validate("{ group(fullPath: \"a\") { projects(first: 5) { nodes { stars } } } }")
                .is_err()
        );
        assert!(validate("{ nodes(ids: []) { id } }").is_err());
    }
}
