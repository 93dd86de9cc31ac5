//! The GitLab flavour, under `/gitlab/api/v4`: the world's organisations as groups, each
//! with one subgroup (`{group}/libs`) holding every fifth project, answered the way
//! gitlab.com answers (FORGE-APIS.md):
//!
//! - `GET /groups/:id` by numeric id or URL-encoded full path; a renamed group's old path
//!   answers 404, its id still works.
//! - `GET /groups/:id/projects`: offset pages (`per_page` default 20, capped at 100) in id
//!   order, `x-page`/`x-per-page`/`x-next-page` (present but empty on the last page), and
//!   `x-total`/`x-total-pages`/`rel="last"` only up to 10,000 rows. Subgroups only with
//!   `include_subgroups=true`; unless `with_shared=false`, a project shared into the group
//!   from another group comes back too (the pitfall real clients fall into).
//! - Entries as GitLab writes them: `star_count`, `last_activity_at` (no `pushed_at`),
//!   millisecond timestamps, `open_issues_count` and `archived` missing on some, and a
//!   volatile `container_expiration_policy.next_run_at` that changes daily on a tenth of
//!   them, so a new day's ETag changes although nothing a user sees did.
//! - Weak ETags and 304s, which cost a request like any other answer; `RateLimit-*`
//!   headers; `429 Retry later` with or without `Retry-After`.
//! - `GET /projects/:id/languages` as percentages; `GET /projects/:id/dependencies` is
//!   403, as on gitlab.com without the Ultimate tier.
//! - `POST /gitlab/api/graphql`: a group's projects with their languages
//!   ([`gitlab_graphql`](crate::gitlab_graphql)).
//! - Merge requests, issues, notes and releases: [`gitlab_activity`](crate::gitlab_activity).

use std::sync::Arc;

use rocket::http::Status;
use rocket::{get, routes, FromForm, Route, State};
use serde_json::{json, Value};

use crate::{
    delay, find_repo_by_id, world, Base, Fault, Flavour, Forge, Found, IfNoneMatch, Reply,
};

/// Where the flavour is mounted.
pub(crate) const ROOT: &str = "/gitlab/api/v4";

/// Above this many rows GitLab stops counting: no `x-total`, `x-total-pages`, `rel="last"`.
const COUNTED_ROWS: usize = 10_000;

pub(crate) fn routes() -> Vec<Route> {
    routes![group, projects, languages, dependencies]
}

/// A group: an organisation of the world, or its `libs` subgroup.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub org: world::Org,
    pub sub: bool,
}

impl Group {
    fn id(&self) -> i64 {
        self.org.id + i64::from(self.sub)
    }

    pub(crate) fn full_path(&self) -> String {
        if self.sub {
            format!("{}/libs", self.org.login)
        } else {
            self.org.login.clone()
        }
    }

    fn json(&self, forge: &Forge) -> Value {
        let profile = forge.world().profile(&self.org, forge.day());
        let full_path = self.full_path();
        let (name, path) = if self.sub {
            ("Libraries".to_owned(), "libs".to_owned())
        } else {
            (
                profile["name"].as_str().unwrap_or_default().to_owned(),
                self.org.login.clone(),
            )
        };
        json!({
            "id": self.id(), "web_url": format!("https://gitlab.com/groups/{full_path}"),
            "name": name, "path": path, "description": profile["description"],
            "visibility": "public", "share_with_group_lock": false,
            "require_two_factor_authentication": false, "project_creation_level": "developer",
            "subgroup_creation_level": "maintainer", "lfs_enabled": true,
            "avatar_url": null, "request_access_enabled": true, "full_name": name,
            "full_path": full_path, "created_at": millis(&profile["created_at"]),
            "parent_id": if self.sub { json!(self.org.id) } else { Value::Null },
        })
    }

    /// Whether project `n` of the organisation belongs here.
    pub(crate) fn holds(&self, n: usize, include_subgroups: bool) -> bool {
        let in_sub = n % 5 == 2;
        if self.sub {
            in_sub
        } else {
            include_subgroups || !in_sub
        }
    }
}

/// `id` (numeric, or a full path with `/` sent as `%2F`) as the group it names now.
pub(crate) fn find_group(forge: &Forge, id: &str) -> Option<Group> {
    if let Ok(id) = id.parse::<i64>() {
        let (org, sub) = match forge.find_org_by_id(id) {
            Some(org) => (org, false),
            None => (forge.find_org_by_id(id - 1)?, true),
        };
        return Some(Group { org, sub });
    }
    let path = id.replace("%2F", "/").replace("%2f", "/");
    let (top, sub) = match path.split_once('/') {
        Some((top, "libs")) => (top, true),
        Some(_) => return None,
        None => (path.as_str(), false),
    };
    Some(Group {
        org: forge.find_org(top)?,
        sub,
    })
}

/// GitHub's `2025-01-01T00:00:00Z` as GitLab writes it: `2025-01-01T00:00:00.000Z`.
fn millis(time: &Value) -> Value {
    match time.as_str() {
        Some(t) => json!(t.replace('Z', ".000Z")),
        None => Value::Null,
    }
}

/// The world's repository `repo` (GitHub-shaped, `n` of `org`) as a GitLab project entry.
fn project(repo: &Value, org: &world::Org, n: usize, day: u32) -> Value {
    let group = Group {
        org: org.clone(),
        sub: n % 5 == 2,
    };
    let namespace = group.full_path();
    let name = repo["name"].as_str().unwrap_or_default();
    let id = repo["id"].as_i64().unwrap_or_default();
    let size = repo["size"].as_u64().unwrap_or(0);
    let activity = if repo["pushed_at"].is_null() {
        &repo["updated_at"]
    } else {
        &repo["pushed_at"]
    };
    // The cleanup policy's next run moves daily on a tenth of the projects.
    let next_run = if id % 10 == 0 {
        format!("2025-01-{:02}T04:10:00.000Z", 1 + day % 28)
    } else {
        "2025-01-01T04:10:00.000Z".to_owned()
    };
    let topics = repo.get("topics").cloned().unwrap_or_else(|| json!([]));
    let mut p = json!({
        "id": id, "description": repo["description"], "name": name,
        "name_with_namespace": format!("{} / {name}", namespace.replace('/', " / ")),
        "path": name, "path_with_namespace": format!("{namespace}/{name}"),
        "created_at": millis(&repo["created_at"]), "default_branch": repo["default_branch"],
        "tag_list": topics, "topics": topics,
        "ssh_url_to_repo": format!("git@gitlab.com:{namespace}/{name}.git"),
        "http_url_to_repo": format!("https://gitlab.com/{namespace}/{name}.git"),
        "web_url": format!("https://gitlab.com/{namespace}/{name}"),
        "readme_url": null, "forks_count": repo["forks_count"], "avatar_url": null,
        "star_count": repo["stargazers_count"], "last_activity_at": millis(activity),
        "namespace": {
            "id": group.id(), "name": namespace.rsplit('/').next(), "path": namespace.rsplit('/').next(),
            "kind": "group", "full_path": namespace,
            "parent_id": if group.sub { json!(org.id) } else { Value::Null },
            "avatar_url": null, "web_url": format!("https://gitlab.com/groups/{namespace}")
        },
        "container_registry_image_prefix": format!("registry.gitlab.com/{namespace}/{name}"),
        "packages_enabled": true, "empty_repo": size == 0, "archived": repo["archived"],
        "visibility": "public", "issues_enabled": true,
        "open_issues_count": repo["open_issues_count"],
        "container_expiration_policy": {
            "cadence": "1d", "enabled": false, "keep_n": 10, "older_than": "90d",
            "name_regex": ".*", "name_regex_keep": null, "next_run_at": next_run
        }
    });
    if let Some(p) = p.as_object_mut() {
        if repo["fork"] == true {
            p.insert(
                "forked_from_project".into(),
                json!({"id": 1, "path_with_namespace": "upstream/origin"}),
            );
        }
        if repo.get("visibility").is_none() {
            // The issues feature is off here: GitLab leaves the count out.
            p.remove("open_issues_count");
            p.insert("issues_enabled".into(), json!(false));
        }
    }
    p
}

#[get("/groups/<id>")]
async fn group(forge: &State<Arc<Forge>>, id: &str, validators: IfNoneMatch) -> Reply {
    let fault = delay(forge).await;
    let body = find_group(forge, id).map(|g| g.json(forge));
    forge.answer_as(
        Flavour::GitLab,
        fault,
        "group",
        body,
        &validators,
        Vec::new(),
    )
}

/// The query a projects request came with, for its `link` URLs.
struct ProjectsQuery<'a> {
    include_subgroups: bool,
    with_shared: bool,
    order_by: Option<&'a str>,
    sort: Option<&'a str>,
    per_page: usize,
}

impl ProjectsQuery<'_> {
    /// A page's URL with the parameters in GitLab's (alphabetical) order.
    fn url(&self, base: &str, group: i64, page: usize) -> String {
        let mut pairs = vec![format!("id={group}")];
        if self.include_subgroups {
            pairs.push("include_subgroups=true".into());
        }
        if let Some(o) = self.order_by {
            pairs.push(format!("order_by={o}"));
        }
        pairs.push(format!("page={page}"));
        pairs.push(format!("per_page={}", self.per_page));
        if let Some(s) = self.sort {
            pairs.push(format!("sort={s}"));
        }
        pairs.push(format!("with_shared={}", self.with_shared));
        format!("{base}{ROOT}/groups/{group}/projects?{}", pairs.join("&"))
    }
}

/// The parameters of `GET /groups/:id/projects` the fake honours (others are ignored).
#[derive(Debug, FromForm)]
struct ProjectsParams<'r> {
    include_subgroups: Option<bool>,
    with_shared: Option<bool>,
    order_by: Option<&'r str>,
    sort: Option<&'r str>,
    per_page: Option<usize>,
    page: Option<usize>,
}

#[get("/groups/<id>/projects?<params..>")]
async fn projects(
    forge: &State<Arc<Forge>>,
    id: &str,
    params: ProjectsParams<'_>,
    base: Base,
    validators: IfNoneMatch,
) -> Reply {
    let ProjectsParams {
        include_subgroups,
        with_shared,
        order_by,
        sort,
        per_page,
        page,
    } = params;
    let fault = delay(forge).await;
    let Some(group) = find_group(forge, id) else {
        return forge.answer_as(
            Flavour::GitLab,
            fault,
            "projects",
            None,
            &validators,
            Vec::new(),
        );
    };
    let query = ProjectsQuery {
        include_subgroups: include_subgroups.unwrap_or(false),
        with_shared: with_shared.unwrap_or(true),
        order_by,
        sort,
        per_page: per_page.unwrap_or(20).clamp(1, 100),
    };
    let day = forge.day();
    let repos = forge.listing(&group.org);
    let mut rows: Vec<(&Value, world::Org, usize)> = repos
        .iter()
        .map(|r| (r, world::World::index_of(r)))
        .filter(|(_, n)| group.holds(*n, query.include_subgroups))
        .map(|(r, n)| (r, group.org.clone(), n))
        .collect();
    // Shared into the group from the next organisation, unless asked not to.
    let shared_from = forge
        .world()
        .orgs
        .get((group.org.index + 1) % forge.world().orgs.len())
        .and_then(|o| forge.find_org(&o.login))
        .filter(|o| o.index != group.org.index);
    let shared = shared_from.map(|o| (forge.listing(&o), o));
    if query.with_shared {
        if let Some((listing, org)) = &shared {
            if let Some(first) = listing.first() {
                rows.push((first, org.clone(), world::World::index_of(first)));
            }
        }
    }
    let page = page.unwrap_or(1).max(1);
    let pages = rows.len().div_ceil(query.per_page).max(1);
    let chunk: Vec<Value> = rows
        .iter()
        .skip((page - 1) * query.per_page)
        .take(query.per_page)
        .map(|(repo, org, n)| project(repo, org, *n, day))
        .collect();
    let items = forge.mangle(chunk.iter());
    let counted = rows.len() <= COUNTED_ROWS;
    let mut headers = vec![
        ("x-page".to_owned(), page.to_string()),
        ("x-per-page".to_owned(), query.per_page.to_string()),
        (
            "x-next-page".to_owned(),
            if page < pages {
                (page + 1).to_string()
            } else {
                String::new()
            },
        ),
        (
            "x-prev-page".to_owned(),
            if page > 1 {
                (page - 1).to_string()
            } else {
                String::new()
            },
        ),
    ];
    let mut links = Vec::new();
    if page > 1 {
        links.push(format!(
            "<{}>; rel=\"prev\"",
            query.url(&base.0, group.id(), page - 1)
        ));
    }
    if page < pages {
        links.push(format!(
            "<{}>; rel=\"next\"",
            query.url(&base.0, group.id(), page + 1)
        ));
    }
    links.push(format!(
        "<{}>; rel=\"first\"",
        query.url(&base.0, group.id(), 1)
    ));
    if counted {
        links.push(format!(
            "<{}>; rel=\"last\"",
            query.url(&base.0, group.id(), pages)
        ));
        headers.push(("x-total".into(), rows.len().to_string()));
        headers.push(("x-total-pages".into(), pages.to_string()));
    }
    headers.push(("link".into(), links.join(", ")));
    forge.answer_as(
        Flavour::GitLab,
        fault,
        "projects",
        Some(Value::Array(items)),
        &validators,
        headers,
    )
}

/// The project's languages as percentages of its code, two decimals, as GitLab sends them.
#[get("/projects/<id>/languages")]
async fn languages(forge: &State<Arc<Forge>>, id: i64, validators: IfNoneMatch) -> Reply {
    let fault = delay(forge).await;
    let body = match find_repo_by_id(forge, id) {
        Found::Repo(org, n) => Some(Value::Object(
            shares(forge, &org, n)
                .into_iter()
                .map(|(k, v)| (k, json!(v)))
                .collect(),
        )),
        Found::Moved(_) | Found::Missing => None,
    };
    forge.answer_as(
        Flavour::GitLab,
        fault,
        "languages",
        body,
        &validators,
        Vec::new(),
    )
}

/// Project `n`'s languages as percentages of its code, two decimals: what REST and
/// GraphQL both answer.
pub(crate) fn shares(forge: &Forge, org: &world::Org, n: usize) -> Vec<(String, f64)> {
    let bytes = forge.world().languages(org, n, forge.day());
    let map = bytes.as_object().cloned().unwrap_or_default();
    let total: u64 = map.values().filter_map(Value::as_u64).sum();
    map.into_iter()
        .filter_map(|(k, v)| {
            let share = v.as_u64()? as f64 * 100.0 / total.max(1) as f64;
            Some((k, (share * 100.0).round() / 100.0))
        })
        .collect()
}

/// gitlab.com without the Ultimate tier (or without the Developer role): 403.
#[get("/projects/<_>/dependencies")]
async fn dependencies(forge: &State<Arc<Forge>>) -> Reply {
    let fault = delay(forge).await;
    if matches!(fault, Some(Fault::ServerError | Fault::Secondary(_))) {
        return forge.answer_as(
            Flavour::GitLab,
            fault,
            "dependencies",
            None,
            &IfNoneMatch(None),
            Vec::new(),
        );
    }
    forge.refuse(Flavour::GitLab, "dependencies", Status::Forbidden)
}
