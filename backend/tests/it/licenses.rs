//! Dependency licences from stored SBOM packages with real-world purls and licence
//! expressions (Maven, npm, PyPI, crates.io, Go): the inventory as JSON and CSV, one
//! repository's, and the attention rule for `ORGPULSE_DENIED_LICENSES`.

use rocket::http::Status;
use rocket::local::asynchronous::Client;

use crate::common::records::{commit, record};
use crate::common::{org, sqlite_store};
use crate::web::{assert_api_error, get, json};
use orgpulse::domain::attention::AttentionRules;
use orgpulse::domain::licenses::DeniedLicenses;
use orgpulse::domain::Library;
use orgpulse::store::RepoLibraries;

fn lib(ecosystem: &str, name: &str, version: &str, license: Option<&str>) -> Library {
    Library {
        ecosystem: ecosystem.into(),
        name: name.into(),
        version: Some(version.into()),
        license: license.map(str::to_owned),
    }
}

#[tokio::test]
async fn the_licence_inventory_and_denied_licences() {
    let (_db, store) = sqlite_store().await;
    let acme = org("github:acme");
    let mut repos = vec![
        record(&acme, 1, 10, "2026-03-01"),
        record(&acme, 2, 20, "2026-03-01"),
        record(&acme, 3, 30, "2026-03-01"),
    ];
    for (r, name) in repos.iter_mut().zip(["web", "api", "tool"]) {
        r.listing.name = name.into();
    }
    let mut c = commit(&acme, "2026-03-10", repos);
    c.libraries = vec![
        RepoLibraries {
            repo_id: 1,
            libraries: vec![
                lib("npm", "react", "18.2.0", Some("MIT")),
                lib("npm", "@babel/core", "7.24.0", Some("MIT")),
                lib(
                    "maven",
                    "org.apache.commons/commons-lang3",
                    "3.14.0",
                    Some("Apache-2.0"),
                ),
            ],
        },
        RepoLibraries {
            repo_id: 2,
            libraries: vec![
                lib("pypi", "django", "4.2.1", Some("BSD-3-Clause")),
                lib("cargo", "serde", "1.0.200", Some("MIT OR Apache-2.0")),
                lib("npm", "react", "18.2.0", Some("MIT")),
                lib(
                    "golang",
                    "github.com/gin-gonic/gin",
                    "1.9.1",
                    Some("NOASSERTION"),
                ),
            ],
        },
        RepoLibraries {
            repo_id: 3,
            libraries: vec![
                lib("pypi", "pyqt5", "5.15.10", Some("GPL-3.0-only")),
                lib("cargo", "either", "1.11.0", Some("MIT OR GPL-3.0-only")),
            ],
        },
    ];
    store.commit_org_refresh(&c).await.expect("commit");

    let services = orgpulse::web::Services {
        attention: AttentionRules {
            denied_licenses: DeniedLicenses::parse("GPL-3.0-only").expect("ids"),
            ..AttentionRules::default()
        },
        ..orgpulse::web::Services::reading(store.clone())
    };
    let client = Client::tracked(
        orgpulse::web::build(services, orgpulse::web::rocket_config()).expect("templates"),
    )
    .await
    .expect("rocket");

    let (status, body) = json(&client, "/api/v1/orgs/github/acme/licenses").await;
    assert_eq!(status, Status::Ok, "{body}");
    assert_eq!(body["denied_licenses"], serde_json::json!(["gpl-3.0-only"]));
    let summary: Vec<(String, u64, usize, bool)> = body["licenses"]
        .as_array()
        .expect("licenses")
        .iter()
        .map(|l| {
            (
                l["license"].as_str().expect("licence").to_owned(),
                l["repos"].as_u64().expect("repos"),
                l["packages"].as_array().expect("packages").len(),
                l["denied"].as_bool().expect("denied"),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("MIT".to_owned(), 3, 4, false),
            ("Apache-2.0".to_owned(), 2, 2, false),
            ("GPL-3.0-only".to_owned(), 1, 2, true),
            ("BSD-3-Clause".to_owned(), 1, 1, false),
            ("unknown".to_owned(), 1, 1, false),
        ],
        "most repositories, then most packages first; NOASSERTION is unknown, last"
    );
    let mit = &body["licenses"][0]["packages"];
    let react = mit
        .as_array()
        .expect("packages")
        .iter()
        .find(|p| p["name"] == "react")
        .expect("react");
    assert_eq!(react["repos"], serde_json::json!(["api", "web"]));

    // One row per licence, package and repository.
    let (status, csv) = get(&client, "/api/v1/orgs/github/acme/licenses.csv").await;
    assert_eq!(status, Status::Ok);
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    assert_eq!(
        reader.headers().expect("header").iter().collect::<Vec<_>>(),
        orgpulse::web::api::LICENSES_CSV_COLUMNS
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    // MIT: react×2, @babel/core, serde, either; Apache: commons, serde; BSD: django;
    // GPL: pyqt5, either; unknown: gin.
    assert_eq!(rows.len(), 11);
    assert!(rows.iter().any(|r| &r[0] == "GPL-3.0-only"
        && &r[1] == "true"
        && &r[3] == "pyqt5"
        && &r[5] == "tool"));

    // One repository's.
    let (status, one) = json(&client, "/api/v1/orgs/github/acme/repos/tool/licenses").await;
    assert_eq!(status, Status::Ok, "{one}");
    assert_eq!(one["repo"], "tool");
    assert_eq!(one["licenses"].as_array().map(Vec::len), Some(2));
    let (status, body) = json(&client, "/api/v1/orgs/github/acme/repos/nope/licenses").await;
    assert_api_error(status, &body, Status::NotFound, "not_found");

    // Only the repository that cannot do without GPL-3.0-only needs attention: `either`
    // (MIT OR GPL-3.0-only) is satisfied by MIT.
    let (status, body) = json(&client, "/api/v1/orgs/github/acme/attention").await;
    assert_eq!(status, Status::Ok, "{body}");
    let denied: Vec<(&str, &str)> = body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| {
            i["reasons"]
                .as_array()
                .is_some_and(|r| r.iter().any(|r| r == "denied_license"))
        })
        .map(|i| {
            (
                i["name"].as_str().unwrap_or(""),
                i["summary"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(denied.len(), 1, "{denied:?}");
    assert_eq!(denied[0].0, "tool");
    assert!(
        denied[0].1.contains("1 dependency under a denied licence"),
        "{denied:?}"
    );
}

#[test]
fn an_unknown_denied_licence_is_a_configuration_error() {
    let err = DeniedLicenses::parse("MIT, GPL-4.0").expect_err("no such licence");
    assert!(err.contains("GPL-4.0"), "{err}");
}
