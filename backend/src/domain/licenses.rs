//! Dependency licences: the SPDX expression each package of the stored SBOMs carries,
//! parsed with the `spdx` crate (leniently: SBOM generators write `Apache 2.0`, `MIT/X11`
//! and lower-case operators), and an organisation's inventory of them — licence →
//! packages → repositories. A package counts under every licence its expression names
//! (`MIT OR Apache-2.0` is under both); one without a usable expression is under
//! `unknown`.
//!
//! A package's licence is *denied* when its expression cannot be satisfied without a
//! licence of `ORGPULSE_DENIED_LICENSES` (as cargo-deny judges): `MIT OR GPL-3.0-only`
//! with GPL-3.0-only denied is not, MIT satisfies it; `MIT AND GPL-3.0-only` is.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use spdx::{Expression, LicenseItem, ParseMode};

use super::Library;

/// The inventory's name for packages whose licence is missing, `NOASSERTION`, `NONE`, or
/// not an SPDX expression.
pub const UNKNOWN: &str = "unknown";

/// The licences `ORGPULSE_DENIED_LICENSES` names, as SPDX ids (`GPL-3.0-only`,
/// `LicenseRef-…`); compared case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeniedLicenses(BTreeSet<String>);

impl DeniedLicenses {
    /// From a comma list; each item must be an SPDX licence id (deprecated ones and
    /// `LicenseRef-` ids included), so a typo is a configuration error, not a rule that
    /// never matches.
    pub fn parse(list: &str) -> Result<DeniedLicenses, String> {
        let mut ids = BTreeSet::new();
        for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let id = if let Some(id) = spdx::license_id(item) {
                id.name.to_owned()
            } else if item.starts_with("LicenseRef-") {
                item.to_owned()
            } else {
                return Err(format!("`{item}` is not an SPDX licence id"));
            };
            ids.insert(id.to_ascii_lowercase());
        }
        Ok(DeniedLicenses(ids))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The ids, lower case, sorted.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    fn denies(&self, license: &LicenseItem) -> bool {
        let name = match license {
            LicenseItem::Spdx { id, .. } => id.name.to_owned(),
            LicenseItem::Other(r) => format!("LicenseRef-{}", r.lic_ref),
        };
        self.0.contains(&name.to_ascii_lowercase())
    }
}

/// A package's licence as its SBOM gives it.
#[derive(Debug)]
pub enum PackageLicense {
    Expression(Box<Expression>),
    /// Missing, `NOASSERTION`/`NONE`, or not an SPDX expression (the text, if any).
    Unknown(Option<String>),
}

impl PackageLicense {
    pub fn parse(text: Option<&str>) -> PackageLicense {
        let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
            return PackageLicense::Unknown(None);
        };
        if text.eq_ignore_ascii_case("NOASSERTION") || text.eq_ignore_ascii_case("NONE") {
            return PackageLicense::Unknown(None);
        }
        match Expression::parse_mode(text, ParseMode::LAX) {
            Ok(expression) => PackageLicense::Expression(Box::new(expression)),
            Err(_) => PackageLicense::Unknown(Some(text.to_owned())),
        }
    }

    /// The licences the expression names, each once, in its order; `[unknown]` without one.
    pub fn licenses(&self) -> Vec<String> {
        match self {
            PackageLicense::Expression(e) => {
                let mut seen = BTreeSet::new();
                e.requirements()
                    .map(|r| r.req.license.to_string())
                    .filter(|l| seen.insert(l.clone()))
                    .collect()
            }
            PackageLicense::Unknown(_) => vec![UNKNOWN.to_owned()],
        }
    }

    /// Whether every way of satisfying it needs a denied licence.
    pub fn is_denied(&self, denied: &DeniedLicenses) -> bool {
        match self {
            PackageLicense::Expression(e) => {
                !denied.is_empty() && !e.evaluate(|req| !denied.denies(&req.license))
            }
            PackageLicense::Unknown(_) => false,
        }
    }
}

/// A package as the inventory lists it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Package {
    pub ecosystem: String,
    pub name: String,
    pub version: Option<String>,
}

/// One licence of the inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenseRow {
    /// An SPDX id (with `+` or `WITH` where the expression has them), a `LicenseRef-`, or
    /// [`UNKNOWN`].
    pub license: String,
    /// Whether it is one of the denied licences.
    pub denied: bool,
    /// The packages under it, each with the repositories (ids) that depend on it.
    pub packages: BTreeMap<Package, BTreeSet<i64>>,
}

impl LicenseRow {
    /// The repositories depending on any of its packages.
    pub fn repos(&self) -> BTreeSet<i64> {
        self.packages.values().flatten().copied().collect()
    }
}

/// The inventory of `libraries` (repository id, library): one row per licence, most
/// repositories first, then most packages, then by name; `unknown` last.
pub fn inventory(libraries: &[(i64, Library)], denied: &DeniedLicenses) -> Vec<LicenseRow> {
    let mut rows: BTreeMap<String, LicenseRow> = BTreeMap::new();
    for (repo, library) in libraries {
        let parsed = PackageLicense::parse(library.license.as_deref());
        let package = Package {
            ecosystem: library.ecosystem.clone(),
            name: library.name.clone(),
            version: library.version.clone(),
        };
        let requirements: Vec<(String, bool)> = match &parsed {
            PackageLicense::Expression(e) => {
                let mut seen = BTreeSet::new();
                e.requirements()
                    .filter(|r| seen.insert(r.req.to_string()))
                    .map(|r| (r.req.to_string(), denied.denies(&r.req.license)))
                    .collect()
            }
            PackageLicense::Unknown(_) => vec![(UNKNOWN.to_owned(), false)],
        };
        for (license, is_denied) in requirements {
            rows.entry(license.clone())
                .or_insert_with(|| LicenseRow {
                    license,
                    denied: is_denied,
                    packages: BTreeMap::new(),
                })
                .packages
                .entry(package.clone())
                .or_default()
                .insert(*repo);
        }
    }
    let mut rows: Vec<LicenseRow> = rows.into_values().collect();
    rows.sort_by(|a, b| {
        (a.license == UNKNOWN)
            .cmp(&(b.license == UNKNOWN))
            .then(b.repos().len().cmp(&a.repos().len()))
            .then(b.packages.len().cmp(&a.packages.len()))
            .then_with(|| a.license.cmp(&b.license))
    });
    rows
}

/// Per repository: its packages whose licence is denied.
pub fn denied_by_repo(
    libraries: &[(i64, Library)],
    denied: &DeniedLicenses,
) -> BTreeMap<i64, Vec<Package>> {
    let mut found: BTreeMap<i64, Vec<Package>> = BTreeMap::new();
    if denied.is_empty() {
        return found;
    }
    for (repo, library) in libraries {
        if PackageLicense::parse(library.license.as_deref()).is_denied(denied) {
            found.entry(*repo).or_default().push(Package {
                ecosystem: library.ecosystem.clone(),
                name: library.name.clone(),
                version: library.version.clone(),
            });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lib(name: &str, license: Option<&str>) -> Library {
        Library {
            ecosystem: "npm".into(),
            name: name.into(),
            version: Some("1.0.0".into()),
            license: license.map(str::to_owned),
        }
    }

    #[test]
    fn expressions_are_parsed_not_split() {
        let names = |t: &str| PackageLicense::parse(Some(t)).licenses();
        assert_eq!(names("MIT OR Apache-2.0"), ["MIT", "Apache-2.0"]);
        assert_eq!(
            names("(MIT AND BSD-3-Clause) OR MIT"),
            ["MIT", "BSD-3-Clause"]
        );
        assert_eq!(names("Apache-2.0 WITH LLVM-exception"), ["Apache-2.0"]);
        assert_eq!(
            names("MIT/Apache-2.0"),
            ["MIT", "Apache-2.0"],
            "lax: / is OR"
        );
        assert_eq!(names("GPL-2.0+"), ["GPL-2.0-or-later"], "the current id");
        for unknown in ["NOASSERTION", "", "  ", "Some Custom Licence v2"] {
            assert_eq!(names(unknown), [UNKNOWN], "{unknown:?}");
        }
        assert_eq!(PackageLicense::parse(None).licenses(), [UNKNOWN]);
    }

    #[test]
    fn a_licence_is_denied_only_when_no_alternative_avoids_it() {
        let denied = DeniedLicenses::parse("GPL-3.0-only, AGPL-3.0-only").expect("ids");
        let is = |t: &str| PackageLicense::parse(Some(t)).is_denied(&denied);
        assert!(is("GPL-3.0-only"));
        assert!(is("MIT AND AGPL-3.0-only"));
        assert!(!is("MIT OR GPL-3.0-only"), "MIT satisfies it");
        assert!(!is("MIT"));
        assert!(!PackageLicense::parse(Some("NOASSERTION")).is_denied(&denied));
        assert!(DeniedLicenses::parse("GPL-3.0-only, Nope-1.0").is_err());
        assert!(DeniedLicenses::parse("LicenseRef-Proprietary").is_ok());
        assert!(!PackageLicense::parse(Some("GPL-3.0-only")).is_denied(&DeniedLicenses::default()));
    }

    #[test]
    fn the_inventory_lists_each_licence_with_its_packages_and_repositories() {
        let denied = DeniedLicenses::parse("GPL-3.0-only").expect("ids");
        let libraries = vec![
            (1, lib("a", Some("MIT"))),
            (2, lib("a", Some("MIT"))),
            (2, lib("b", Some("MIT OR Apache-2.0"))),
            (3, lib("c", Some("GPL-3.0-only"))),
            (3, lib("d", None)),
        ];
        let rows = inventory(&libraries, &denied);
        let summary: Vec<(&str, usize, usize, bool)> = rows
            .iter()
            .map(|r| {
                (
                    r.license.as_str(),
                    r.packages.len(),
                    r.repos().len(),
                    r.denied,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("MIT", 2, 2, false),
                ("Apache-2.0", 1, 1, false),
                ("GPL-3.0-only", 1, 1, true),
                ("unknown", 1, 1, false),
            ]
        );
        let by_repo = denied_by_repo(&libraries, &denied);
        assert_eq!(by_repo.keys().copied().collect::<Vec<_>>(), [3]);
        assert_eq!(by_repo[&3][0].name, "c");
    }
}
