//! The GitHub REST routes orgpulse uses: organisations (by login and by id), paginated
//! repository listings whose `link` headers point at `/organizations/{id}/repos`,
//! per-repository languages and SBOMs, and `/rate_limit`.

use super::*;

#[get("/orgs/<login>")]
async fn org(
    forge: &State<Arc<Forge>>,
    login: &str,
    validators: IfNoneMatch,
    authorization: crate::app::Authorization,
) -> Reply {
    forge.installation_token(&authorization);
    let fault = delay(forge).await;
    let day = forge.day();
    let body = forge.find_org(login).map(|o| forge.world.profile(&o, day));
    forge.answer(fault, "org", body, &validators, Vec::new())
}

/// `GET /organizations/{id}`: an organisation by its stable id, under its current login
/// (how a client learns where a renamed organisation went).
#[get("/organizations/<id>", rank = 2)]
async fn org_by_id(forge: &State<Arc<Forge>>, id: i64, validators: IfNoneMatch) -> Reply {
    let fault = delay(forge).await;
    let day = forge.day();
    let body = forge
        .find_org_by_id(id)
        .map(|o| forge.world.profile(&o, day));
    forge.answer(fault, "org", body, &validators, Vec::new())
}

fn page_of(
    fault: Option<Fault>,
    forge: &Forge,
    org: &world::Org,
    per_page: Option<usize>,
    page: Option<usize>,
    base: &str,
    validators: &IfNoneMatch,
) -> Reply {
    let per_page = per_page.unwrap_or(30).clamp(1, 100);
    let page = page.unwrap_or(1).max(1);
    let repos = forge.listing(org);
    let last = repos.len().div_ceil(per_page).max(1);
    let items = forge.mangle(repos.iter().skip((page - 1) * per_page).take(per_page));
    let link_to = |n: usize| {
        format!(
            "<{base}/organizations/{}/repos?per_page={per_page}&type=public&page={n}>",
            org.id
        )
    };
    let mut links = Vec::new();
    if page > 1 {
        links.push(format!("{}; rel=\"prev\"", link_to(page - 1)));
        links.push(format!("{}; rel=\"first\"", link_to(1)));
    }
    if page < last {
        links.push(format!("{}; rel=\"next\"", link_to(page + 1)));
        links.push(format!("{}; rel=\"last\"", link_to(last)));
    }
    let headers = if links.is_empty() {
        Vec::new()
    } else {
        vec![("link".to_owned(), links.join(", "))]
    };
    forge.answer(
        fault,
        "repos",
        Some(Value::Array(items)),
        validators,
        headers,
    )
}

/// The base URL the client used, for absolute `link` targets.
#[derive(Debug)]
pub(crate) struct Base(pub(crate) String);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Base {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let host = request.headers().get_one("host").unwrap_or("127.0.0.1");
        Outcome::Success(Base(format!("http://{host}")))
    }
}

#[get("/orgs/<login>/repos?<per_page>&<page>")]
async fn org_repos(
    forge: &State<Arc<Forge>>,
    login: &str,
    per_page: Option<usize>,
    page: Option<usize>,
    base: Base,
    validators: IfNoneMatch,
) -> Reply {
    let fault = delay(forge).await;
    match forge.find_org(login) {
        Some(org) => page_of(fault, forge, &org, per_page, page, &base.0, &validators),
        None => forge.answer(fault, "repos", None, &validators, Vec::new()),
    }
}

#[get("/organizations/<id>/repos?<per_page>&<page>")]
async fn org_repos_by_id(
    forge: &State<Arc<Forge>>,
    id: i64,
    per_page: Option<usize>,
    page: Option<usize>,
    base: Base,
    validators: IfNoneMatch,
) -> Reply {
    let fault = delay(forge).await;
    match forge.find_org_by_id(id) {
        Some(org) => page_of(fault, forge, &org, per_page, page, &base.0, &validators),
        None => forge.answer(fault, "repos", None, &validators, Vec::new()),
    }
}

/// Where a `/repos/{owner}/{repo}/...` request goes: the repository, a redirect for a
/// name it had before a rename, or nothing.
pub(crate) enum Found {
    Repo(world::Org, usize),
    Moved(i64),
    Missing,
}

pub(crate) fn find_repo(forge: &Forge, owner: &str, repo: &str) -> Found {
    let Some(org) = forge.find_org(owner) else {
        return Found::Missing;
    };
    let day = forge.day();
    if let Some(n) = forge.world.repo_index(&org, repo, day) {
        return Found::Repo(org, n);
    }
    match forge.world.renamed_from(&org, repo, day) {
        Some(id) => Found::Moved(id),
        None => Found::Missing,
    }
}

pub(crate) fn find_repo_by_id(forge: &Forge, id: i64) -> Found {
    let day = forge.day();
    match forge.world.repo_by_id(id, day) {
        Some((org, n)) => match forge.find_org_by_id(org.id) {
            Some(current) => Found::Repo(current, n),
            None => Found::Missing,
        },
        None => Found::Missing,
    }
}

/// A per-repository resource.
#[derive(Debug, Clone, Copy)]
enum Resource {
    Languages,
    Sbom,
}

impl Resource {
    /// Its counter name.
    fn kind(self) -> &'static str {
        match self {
            Resource::Languages => "languages",
            Resource::Sbom => "sbom",
        }
    }

    /// Its path after the repository.
    fn rest(self) -> &'static str {
        match self {
            Resource::Languages => "languages",
            Resource::Sbom => "dependency-graph/sbom",
        }
    }

    fn body(self, world: &World, org: &world::Org, n: usize, day: u32) -> Option<Value> {
        match self {
            Resource::Languages => Some(world.languages(org, n, day)),
            Resource::Sbom => world.sbom(org, n, day),
        }
    }
}

/// Answers `resource` of the repository `find` names, after the configured latency.
async fn per_repo(
    forge: &Forge,
    resource: Resource,
    find: impl FnOnce(&Forge) -> Found,
    base: &Base,
    validators: &IfNoneMatch,
) -> Reply {
    let fault = delay(forge).await;
    let kind = resource.kind();
    match find(forge) {
        Found::Repo(org, n) => {
            let body = resource.body(&forge.world, &org, n, forge.day());
            forge.answer(fault, kind, body, validators, Vec::new())
        }
        Found::Moved(id) => {
            forge.count(kind, 301);
            let location = format!("{}/repositories/{id}/{}", base.0, resource.rest());
            Reply::json(
                Status::MovedPermanently,
                &json!({"message": "Moved Permanently", "url": location}),
                vec![("location".into(), location)],
            )
        }
        Found::Missing => forge.answer(fault, kind, None, validators, Vec::new()),
    }
}

#[get("/repos/<owner>/<repo>/languages")]
async fn languages(
    forge: &State<Arc<Forge>>,
    owner: &str,
    repo: &str,
    base: Base,
    validators: IfNoneMatch,
) -> Reply {
    let find = |f: &Forge| find_repo(f, owner, repo);
    per_repo(forge, Resource::Languages, find, &base, &validators).await
}

#[get("/repositories/<id>/languages")]
async fn languages_by_id(
    forge: &State<Arc<Forge>>,
    id: i64,
    base: Base,
    validators: IfNoneMatch,
) -> Reply {
    let find = |f: &Forge| find_repo_by_id(f, id);
    per_repo(forge, Resource::Languages, find, &base, &validators).await
}

#[get("/repos/<owner>/<repo>/dependency-graph/sbom")]
async fn sbom(
    forge: &State<Arc<Forge>>,
    owner: &str,
    repo: &str,
    base: Base,
    validators: IfNoneMatch,
) -> Reply {
    if !forge.config().legacy_sbom {
        forge.count("sbom", 404);
        return Reply::json(
            Status::NotFound,
            &json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}),
            Vec::new(),
        );
    }
    let find = |f: &Forge| find_repo(f, owner, repo);
    per_repo(forge, Resource::Sbom, find, &base, &validators).await
}

#[get("/repositories/<id>/dependency-graph/sbom")]
async fn sbom_by_id(
    forge: &State<Arc<Forge>>,
    id: i64,
    base: Base,
    validators: IfNoneMatch,
) -> Reply {
    let find = |f: &Forge| find_repo_by_id(f, id);
    per_repo(forge, Resource::Sbom, find, &base, &validators).await
}

#[get("/rate_limit")]
fn rate_limit(forge: &State<Arc<Forge>>) -> Reply {
    let (_, budget) = forge.spend(true);
    let core = json!({"limit": budget.limit, "remaining": budget.remaining, "used": budget.used, "reset": budget.reset});
    Reply::json(
        Status::Ok,
        &json!({"resources": {"core": core}}),
        budget.headers(Flavour::GitHub),
    )
}

/// The GitHub REST routes, mounted at the root.
pub(crate) fn routes() -> Vec<rocket::Route> {
    routes![
        org,
        org_by_id,
        org_repos,
        org_repos_by_id,
        languages,
        languages_by_id,
        sbom,
        sbom_by_id,
        rate_limit
    ]
}
