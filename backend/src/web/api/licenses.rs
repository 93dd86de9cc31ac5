//! Dependency licences: the licence inventory of an organisation (or one repository) from
//! its stored SBOMs, as JSON and CSV.

use serde::Serialize;
use utoipa::ToSchema;

use super::{json_body, known};
use crate::domain::licenses::{self, LicenseRow};
use crate::domain::Library;
use crate::web::cache::{CachedGet, Conditional, Scope};
use crate::web::error::{ApiError, ErrorBody};
use crate::web::extract::OrgPath;
use crate::web::insight;
use crate::web::params::RepoName;

/// The columns of `licenses.csv`.
pub const LICENSES_CSV_COLUMNS: [&str; 6] =
    ["license", "denied", "ecosystem", "name", "version", "repo"];

/// An organisation's (or a repository's) dependency licences.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LicenseInventory {
    pub org: String,
    /// The repository, for one repository's inventory.
    pub repo: Option<String>,
    /// `ORGPULSE_DENIED_LICENSES`, as SPDX ids (lower case).
    pub denied_licenses: Vec<String>,
    /// One entry per licence, most repositories first; `unknown` (no licence, NOASSERTION
    /// or not an SPDX expression) last. A package whose expression names several licences
    /// (`MIT OR Apache-2.0`) is under each.
    pub licenses: Vec<LicenseEntry>,
}

/// One licence and the packages under it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LicenseEntry {
    /// An SPDX id (with `+` or `WITH …` as the expression has them), a `LicenseRef-…`, or
    /// `unknown`.
    pub license: String,
    /// Whether it is one of `ORGPULSE_DENIED_LICENSES`.
    pub denied: bool,
    pub repos: u64,
    pub packages: Vec<LicensedPackage>,
}

/// A package (ecosystem, name, version) and the repositories that depend on it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LicensedPackage {
    pub ecosystem: String,
    pub name: String,
    pub version: Option<String>,
    /// Repository names, sorted.
    pub repos: Vec<String>,
}

/// The licences of the packages the organisation's live repositories depend on (from
/// their stored SBOMs), with the packages and repositories under each.
#[utoipa::path(get, path = "/api/v1/orgs/{forge}/{login}/licenses", tag = "organisations",
    params(OrgPath),
    responses(
        (status = 200, description = "The licence inventory", body = LicenseInventory),
        (status = 404, description = "Unknown organisation", body = ErrorBody)))]
#[rocket::get("/orgs/<_>/<_>/licenses")]
pub(crate) async fn list_licenses(
    get: CachedGet<'_>,
    org: OrgPath,
) -> Result<Conditional, ApiError> {
    let org = org.0;
    get.answer(Scope::Org(org.clone()), || async {
        let detail = known(&get, &org).await?;
        let libraries = get.state.store.org_libraries(&org).await?;
        json_body(&inventory(&get, &detail, &libraries, org.to_string(), None))
    })
    .await
}

/// The same for one repository.
#[utoipa::path(get, path = "/api/v1/orgs/{forge}/{login}/repos/{name}/licenses", tag = "repositories",
    params(OrgPath, RepoName),
    responses(
        (status = 200, description = "The repository's licence inventory", body = LicenseInventory),
        (status = 404, description = "Unknown organisation or repository", body = ErrorBody)))]
#[rocket::get("/orgs/<_>/<_>/repos/<name>/licenses")]
pub(crate) async fn repo_licenses(
    get: CachedGet<'_>,
    org: OrgPath,
    name: &str,
) -> Result<Conditional, ApiError> {
    let org = org.0;
    get.answer(Scope::Org(org.clone()), || async {
        let detail = known(&get, &org).await?;
        let repo = insight::find_repo(&detail, name).ok_or_else(|| {
            ApiError::not_found(format!("{org} has no repository named `{name}`"))
        })?;
        let id = repo.listing.id;
        let libraries: Vec<(i64, Library)> = get
            .state
            .store
            .list_repo_libraries(&org, id)
            .await?
            .into_iter()
            .map(|l| (id, l))
            .collect();
        let view = inventory(
            &get,
            &detail,
            &libraries,
            org.to_string(),
            Some(repo.listing.name.clone()),
        );
        json_body(&view)
    })
    .await
}

/// One row per licence, package and repository, as CSV (RFC 4180, a header row).
#[utoipa::path(get, path = "/api/v1/orgs/{forge}/{login}/licenses.csv", tag = "organisations",
    params(OrgPath),
    responses(
        (status = 200, description = "CSV with a header row: license, denied, ecosystem, name, version, repo", content_type = "text/csv"),
        (status = 404, description = "Unknown organisation", body = ErrorBody)))]
#[rocket::get("/orgs/<_>/<_>/licenses.csv", rank = 1)]
pub(crate) async fn licenses_csv(
    get: CachedGet<'_>,
    org: OrgPath,
) -> Result<Conditional, ApiError> {
    let org = org.0;
    get.answer(Scope::Org(org.clone()), || async {
        let detail = known(&get, &org).await?;
        let libraries = get.state.store.org_libraries(&org).await?;
        let view = inventory(&get, &detail, &libraries, org.to_string(), None);
        let rows = view.licenses.iter().flat_map(|l| {
            l.packages.iter().flat_map(move |p| {
                p.repos.iter().map(move |repo| {
                    [
                        l.license.clone(),
                        l.denied.to_string(),
                        p.ecosystem.clone(),
                        p.name.clone(),
                        p.version.clone().unwrap_or_default(),
                        repo.clone(),
                    ]
                })
            })
        });
        super::csv_answer(
            &LICENSES_CSV_COLUMNS,
            rows,
            &format!("{}-{}-licenses.csv", org.forge(), org.login()),
        )
    })
    .await
}

fn inventory(
    get: &CachedGet<'_>,
    detail: &crate::store::OrgDetail,
    libraries: &[(i64, Library)],
    org: String,
    repo: Option<String>,
) -> LicenseInventory {
    let denied = &get.state.attention.denied_licenses;
    let names = detail.repo_names();
    let entry = |row: LicenseRow| LicenseEntry {
        repos: row.repos().len() as u64,
        license: row.license,
        denied: row.denied,
        packages: row
            .packages
            .into_iter()
            .map(|(p, repos)| {
                let mut repos: Vec<String> = repos.iter().map(|id| names.of(*id)).collect();
                repos.sort();
                LicensedPackage {
                    ecosystem: p.ecosystem,
                    name: p.name,
                    version: p.version,
                    repos,
                }
            })
            .collect(),
    };
    LicenseInventory {
        org,
        repo,
        denied_licenses: denied.ids().map(str::to_owned).collect(),
        licenses: licenses::inventory(libraries, denied)
            .into_iter()
            .map(entry)
            .collect(),
    }
}
