//! OSV's offline exports, for networks that cannot reach the API: `ORGPULSE_OSV_DATA_DIR`
//! holds one `all.zip` per ecosystem, as OSV's public bucket publishes them
//! (`PyPI/all.zip`, `npm/all.zip`, `crates.io/all.zip`, …), each file of it one record.
//!
//! A query reads the exports of the ecosystems asked about and keeps only the records that
//! name an asked package; whether a version is affected is decided here as OSV decides it
//! — listed in `versions`, or inside a `SEMVER`/`ECOSYSTEM` range — with the ecosystem's
//! own version order ([`crate::domain::versions`]: SemVer, PEP 440, Maven's), never by
//! comparing strings. A package whose ecosystem has no export is left unanswered, so its
//! last results stay.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::osv::{parse_record, OsvSource, Queried};
use super::{SourceError, Tally};
use crate::domain::versions;
use crate::domain::vulnerabilities::{
    name_key, Advisory, AdvisoryRef, AffectedRange, PackageVersion, RangeEvent,
};

/// The exports under one directory.
#[derive(Debug, Clone)]
pub struct OsvExport {
    dir: PathBuf,
    /// The records the last query kept, by id (what [`OsvSource::advisory`] answers).
    kept: Arc<Mutex<HashMap<String, Advisory>>>,
}

impl OsvExport {
    /// The exports in `dir`; an unreadable directory is a configuration error.
    pub fn open(dir: &Path) -> Result<Self, String> {
        if !dir.is_dir() {
            return Err(format!("{} is not a directory", dir.display()));
        }
        Ok(OsvExport {
            dir: dir.to_owned(),
            kept: Arc::default(),
        })
    }

    fn export_of(&self, ecosystem: &str) -> PathBuf {
        self.dir.join(ecosystem).join("all.zip")
    }
}

/// Whether `version` of a package of `ecosystem` (a package-URL type) is affected by
/// `range`, as OSV evaluates ranges: events in version order, an introduction opening,
/// a fix (or a limit) at or below the version closing, a last-affected below it closing.
pub fn in_range(ecosystem: &str, version: &str, range: &AffectedRange) -> bool {
    let order = |a: &str, b: &str| versions::compare(ecosystem, a, b);
    let mut events: Vec<&RangeEvent> = range.events.iter().collect();
    events.sort_by(|a, b| order(event_version(a), event_version(b)));
    let mut affected = false;
    for event in events {
        match event {
            RangeEvent::Introduced(at) if order(version, at).is_ge() => affected = true,
            RangeEvent::Fixed(at) | RangeEvent::Limit(at) if order(version, at).is_ge() => {
                affected = false;
            }
            RangeEvent::LastAffected(at) if order(version, at).is_gt() => affected = false,
            _ => {}
        }
    }
    affected
}

fn event_version(event: &RangeEvent) -> &str {
    match event {
        RangeEvent::Introduced(v)
        | RangeEvent::Fixed(v)
        | RangeEvent::LastAffected(v)
        | RangeEvent::Limit(v) => v,
    }
}

/// Whether `advisory` affects `package` (withdrawn records affect nothing).
pub fn affects(advisory: &Advisory, package: &PackageVersion) -> bool {
    advisory.withdrawn.is_none()
        && advisory
            .affected
            .iter()
            .filter(|a| package.is(&a.ecosystem, &a.name))
            .any(|a| {
                a.versions.iter().any(|v| v == &package.version)
                    || a.ranges
                        .iter()
                        .any(|r| in_range(&package.ecosystem, &package.version, r))
            })
}

/// Reads `zip`'s records, keeping those `wanted` says name an asked package.
fn scan(zip: &Path, wanted: &dyn Fn(&Advisory) -> bool) -> Result<(Vec<Advisory>, u64), String> {
    let file = std::fs::File::open(zip).map_err(|e| format!("{}: {e}", zip.display()))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| format!("{}: {e}", zip.display()))?;
    let mut kept = Vec::new();
    let mut unreadable = 0;
    let mut body = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| format!("{}: {e}", zip.display()))?;
        let json = entry.name().is_ok_and(|n| n.ends_with(".json"));
        if !entry.is_file() || !json {
            continue;
        }
        body.clear();
        if entry.read_to_end(&mut body).is_err() {
            unreadable += 1;
            continue;
        }
        match parse_record(&body) {
            Ok(advisory) if wanted(&advisory) => kept.push(advisory),
            Ok(_) => {}
            Err(_) => unreadable += 1,
        }
    }
    Ok((kept, unreadable))
}

#[async_trait::async_trait]
impl OsvSource for OsvExport {
    async fn query(&self, packages: &[PackageVersion], _tally: &Tally) -> Queried {
        let this = self.clone();
        let packages = packages.to_vec();
        let scanned = tokio::task::spawn_blocking(move || this.query_blocking(&packages)).await;
        scanned.unwrap_or_else(|e| Queried {
            answered: Vec::new(),
            failed: Some(SourceError::Malformed {
                url: self.dir.display().to_string(),
                detail: format!("the export scan failed: {e}"),
            }),
        })
    }

    async fn advisory(&self, id: &str, _tally: &Tally) -> Result<Option<Advisory>, SourceError> {
        Ok(self
            .kept
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned())
    }
}

impl OsvExport {
    fn query_blocking(&self, packages: &[PackageVersion]) -> Queried {
        let mut by_ecosystem: BTreeMap<&'static str, Vec<&PackageVersion>> = BTreeMap::new();
        for p in packages {
            if let Some(e) = p.osv_ecosystem() {
                by_ecosystem.entry(e).or_default().push(p);
            }
        }
        let mut queried = Queried::default();
        let mut missing = Vec::new();
        let mut kept = HashMap::new();
        for (ecosystem, asked) in by_ecosystem {
            let zip = self.export_of(ecosystem);
            if !zip.is_file() {
                missing.push(ecosystem);
                continue;
            }
            // Records are matched by name key (one hash lookup per entry), not by
            // comparing every asked package with every record.
            let purl_type = asked[0].ecosystem.clone();
            let keys: HashSet<String> = asked.iter().map(|p| p.name_key()).collect();
            let wanted = |a: &Advisory| {
                a.affected.iter().any(|e| {
                    e.ecosystem.split(':').next() == Some(ecosystem)
                        && keys.contains(&name_key(&purl_type, &e.name))
                })
            };
            let (records, unreadable) = match scan(&zip, &wanted) {
                Ok(found) => found,
                Err(e) => {
                    tracing::warn!(error = %e, "OSV export not read");
                    missing.push(ecosystem);
                    continue;
                }
            };
            if unreadable > 0 {
                tracing::warn!(%ecosystem, unreadable, "unreadable records in the OSV export");
            }
            let mut by_name: HashMap<String, Vec<&Advisory>> = HashMap::new();
            for a in &records {
                for e in &a.affected {
                    let list = by_name.entry(name_key(&purl_type, &e.name)).or_default();
                    if !list.iter().any(|b| b.id == a.id) {
                        list.push(a);
                    }
                }
            }
            for p in asked {
                let refs: Vec<AdvisoryRef> = by_name
                    .get(&p.name_key())
                    .into_iter()
                    .flatten()
                    .filter(|a| affects(a, p))
                    .map(|a| AdvisoryRef {
                        id: a.id.clone(),
                        modified: a.modified,
                    })
                    .collect();
                queried.answered.push((p.clone(), Ok(refs)));
            }
            kept.extend(records.into_iter().map(|a| (a.id.clone(), a)));
        }
        *self.kept.lock().unwrap_or_else(|p| p.into_inner()) = kept;
        if !missing.is_empty() {
            queried.failed = Some(SourceError::NotFound {
                url: format!(
                    "{} (no readable all.zip for {})",
                    self.dir.display(),
                    missing.join(", ")
                ),
            });
        }
        queried
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(events: &[(&str, &str)]) -> AffectedRange {
        AffectedRange {
            events: events
                .iter()
                .map(|(k, v)| match *k {
                    "introduced" => RangeEvent::Introduced((*v).into()),
                    "fixed" => RangeEvent::Fixed((*v).into()),
                    "last_affected" => RangeEvent::LastAffected((*v).into()),
                    _ => RangeEvent::Limit((*v).into()),
                })
                .collect(),
        }
    }

    #[test]
    fn ranges_follow_each_ecosystems_version_order() {
        // PyPI: 4.2.10 is after 4.2.9, and a release candidate before its release.
        let django = range(&[("introduced", "4.2"), ("fixed", "4.2.10")]);
        assert!(in_range("pypi", "4.2.9", &django));
        assert!(!in_range("pypi", "4.2.10", &django));
        assert!(!in_range("pypi", "4.2rc1", &django));
        assert!(in_range("pypi", "4.2", &django));
        // npm: SemVer, pre-releases before the release they precede.
        let lodash = range(&[("introduced", "0"), ("fixed", "4.17.21")]);
        assert!(in_range("npm", "4.17.20", &lodash));
        assert!(in_range("npm", "4.17.21-beta.1", &lodash));
        assert!(!in_range("npm", "4.17.21", &lodash));
        // Go modules carry a `v`.
        let net = range(&[("introduced", "0"), ("fixed", "0.17.0")]);
        assert!(in_range("golang", "v0.9.0", &net));
        assert!(!in_range("golang", "v0.17.0", &net));
        // Maven: 2.13.4.1 fixes 2.13.4; 2.13.10 is far after.
        let jackson = range(&[("introduced", "2.13.0"), ("fixed", "2.13.4.1")]);
        assert!(in_range("maven", "2.13.4", &jackson));
        assert!(!in_range("maven", "2.13.10", &jackson));
        // Last affected is affected; after it is not.
        let old = range(&[("introduced", "0"), ("last_affected", "1.2.3")]);
        assert!(in_range("cargo", "1.2.3", &old));
        assert!(!in_range("cargo", "1.2.4", &old));
    }
}
