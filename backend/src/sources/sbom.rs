//! Reduces an SPDX SBOM (as GitHub's dependency graph exports it) to a list of libraries,
//! using each package's package-URL (`pkg:cargo/serde@1.0.0`).

use std::collections::BTreeSet;

use percent_encoding::percent_decode_str;
use serde::Deserialize;

use crate::domain::Library;

/// GitHub's removed endpoint wrapped the document (`{"sbom": {…}}`); the export that
/// replaced it downloads the SPDX document itself. Both are read.
#[derive(Deserialize)]
#[serde(untagged)]
enum Export {
    Wrapped { sbom: Document },
    Bare(Document),
}

#[derive(Deserialize)]
struct Document {
    #[serde(default, rename = "spdxVersion")]
    spdx_version: Option<String>,
    #[serde(default)]
    packages: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Package {
    #[serde(default)]
    version_info: Option<String>,
    #[serde(default)]
    license_concluded: Option<String>,
    #[serde(default)]
    license_declared: Option<String>,
    #[serde(default)]
    external_refs: Vec<ExternalRef>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExternalRef {
    #[serde(default)]
    reference_type: String,
    #[serde(default)]
    reference_locator: String,
}

/// Parses the export; packages that cannot be read or have no purl are left out.
pub(crate) fn libraries(body: &[u8]) -> Result<Vec<Library>, String> {
    let export: Export = serde_json::from_slice(body).map_err(|e| format!("SBOM: {e}"))?;
    let document = match export {
        Export::Wrapped { sbom } => sbom,
        // Any JSON object would do as a bare document: only one that says it is SPDX is.
        Export::Bare(document) if document.spdx_version.is_some() => document,
        Export::Bare(_) => return Err("SBOM: not an SPDX document".into()),
    };
    let mut found = BTreeSet::new();
    for value in document.packages {
        let Ok(package) = serde_json::from_value::<Package>(value) else {
            continue;
        };
        let Some(purl) = package
            .external_refs
            .iter()
            .find(|r| r.reference_type == "purl")
            .map(|r| r.reference_locator.as_str())
        else {
            continue;
        };
        let Some(mut library) = parse_purl(purl) else {
            continue;
        };
        if library.ecosystem == "github" {
            // The repository itself.
            continue;
        }
        if library.version.is_none() {
            library.version = package.version_info.filter(|v| !v.is_empty());
        }
        library.license = [package.license_concluded, package.license_declared]
            .into_iter()
            .flatten()
            .find(|l| !l.is_empty() && l != "NOASSERTION" && l != "NONE");
        found.insert(library);
    }
    Ok(found.into_iter().collect())
}

/// `pkg:TYPE/NAMESPACE/NAME@VERSION?QUALIFIERS#SUBPATH` → ecosystem, name, version.
fn parse_purl(purl: &str) -> Option<Library> {
    let rest = purl.strip_prefix("pkg:")?.trim_start_matches('/');
    let rest = rest.split('#').next()?;
    let rest = rest.split('?').next()?;
    let (ecosystem, path) = rest.split_once('/')?;
    // The version follows the last `@` of the final segment (`@` in a namespace is %40).
    let last_slash = path.rfind('/').map_or(0, |i| i + 1);
    let (path, version) = match path[last_slash..].rfind('@') {
        Some(at) => (&path[..last_slash + at], Some(&path[last_slash + at + 1..])),
        None => (path, None),
    };
    let name = decode(path.trim_matches('/'));
    if ecosystem.is_empty() || name.is_empty() {
        return None;
    }
    Some(Library {
        ecosystem: ecosystem.to_ascii_lowercase(),
        name,
        version: version.map(decode).filter(|v| !v.is_empty()),
        license: None,
    })
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls() {
        let lib = parse_purl("pkg:cargo/serde@1.0.0").expect("purl");
        assert_eq!(
            (
                lib.ecosystem.as_str(),
                lib.name.as_str(),
                lib.version.as_deref()
            ),
            ("cargo", "serde", Some("1.0.0"))
        );
        let lib = parse_purl("pkg:npm/%40babel/core@7.22.0?x=1#sub").expect("purl");
        assert_eq!(
            (lib.name.as_str(), lib.version.as_deref()),
            ("@babel/core", Some("7.22.0"))
        );
        let lib = parse_purl("pkg:maven/org.slf4j/slf4j-api").expect("purl");
        assert_eq!(
            (lib.name.as_str(), lib.version),
            ("org.slf4j/slf4j-api", None)
        );
        let lib = parse_purl("pkg:githubactions/actions/checkout@4.*.*").expect("purl");
        assert_eq!(
            (lib.ecosystem.as_str(), lib.name.as_str()),
            ("githubactions", "actions/checkout")
        );
        assert!(parse_purl("cargo/serde").is_none());
        assert!(parse_purl("pkg:cargo").is_none());
    }

    #[test]
    fn reads_the_exported_document_itself_and_refuses_other_json() {
        let bare = serde_json::json!({"spdxVersion": "SPDX-2.3", "packages": [
            {"SPDXID": "a", "externalRefs": [
                {"referenceType": "purl", "referenceLocator": "pkg:pypi/django@4.2.1"}]}]});
        let libs = libraries(bare.to_string().as_bytes()).expect("bare");
        assert_eq!(libs.len(), 1);
        assert_eq!(libs[0].name, "django");
        assert!(libraries(br#"{"message":"Not Found"}"#).is_err());
    }

    #[test]
    fn reduces_an_sbom() {
        let body = serde_json::json!({"sbom": {"spdxVersion": "SPDX-2.3", "packages": [
            {"SPDXID": "root", "name": "com.github.o/r", "externalRefs": [
                {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": "pkg:github/o/r@main"}]},
            {"SPDXID": "a", "name": "serde", "versionInfo": "1.0.0", "licenseConcluded": "MIT OR Apache-2.0", "externalRefs": [
                {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": "pkg:cargo/serde@1.0.0"}]},
            {"SPDXID": "b", "name": "left-pad", "versionInfo": "1.3.0", "licenseConcluded": "NOASSERTION", "licenseDeclared": "WTFPL", "externalRefs": [
                {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": "pkg:npm/left-pad"}]},
            {"SPDXID": "c", "name": "no purl"},
            "garbage",
            {"SPDXID": "d", "externalRefs": "not a list"}
        ]}});
        let libs = libraries(body.to_string().as_bytes()).expect("parses");
        assert_eq!(libs.len(), 2, "{libs:?}");
        assert_eq!(libs[0].ecosystem, "cargo");
        assert_eq!(libs[0].license.as_deref(), Some("MIT OR Apache-2.0"));
        assert_eq!(libs[1].name, "left-pad");
        assert_eq!(
            libs[1].version.as_deref(),
            Some("1.3.0"),
            "falls back to versionInfo"
        );
        assert_eq!(libs[1].license.as_deref(), Some("WTFPL"));
        assert!(libraries(b"{\"sbom\":").is_err());
    }
}
