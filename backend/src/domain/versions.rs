//! Version order per ecosystem, as its own tools order versions, never as strings
//! (`1.10.0` is after `1.9.0`, `2.0.0rc1` before `2.0.0`): SemVer for npm, crates.io,
//! Go, Hex and Pub (`semver`), PEP 440 for PyPI (`pep440_rs`), Maven's
//! ComparableVersion rules for Maven, and for the rest (RubyGems, NuGet, Packagist, …)
//! the order they share: numbers compare as numbers, and a part with letters is a
//! pre-release, before the release it precedes. A version its ecosystem's parser
//! refuses falls back to that shared order, so two versions always compare.

use std::cmp::Ordering;
use std::str::FromStr;

/// Orders versions `a` and `b` of a package of `ecosystem` (a package-URL type: `npm`,
/// `cargo`, `pypi`, `golang`, `maven`, …). OSV's `0` ("every version") is before any.
pub fn compare(ecosystem: &str, a: &str, b: &str) -> Ordering {
    match (a == "0", b == "0") {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Less,
        (false, true) => return Ordering::Greater,
        _ => {}
    }
    let strict = match ecosystem {
        "npm" | "cargo" | "golang" | "hex" | "pub" | "swift" => semver_order(a, b),
        "pypi" => pep440_order(a, b),
        "maven" => Some(maven_order(a, b)),
        _ => None,
    };
    strict.unwrap_or_else(|| shared_order(a, b))
}

fn semver_order(a: &str, b: &str) -> Option<Ordering> {
    let parse = |v: &str| -> Option<semver::Version> {
        let v = v.trim().trim_start_matches(['v', '=']);
        let mut parsed = semver::Version::parse(v).ok().or_else(|| {
            // `1.2` and `1` as npm ranges and Go pseudo-less tags write them.
            let (core, rest) = match v.find(['-', '+']) {
                Some(i) => v.split_at(i),
                None => (v, ""),
            };
            let parts = core.split('.').count();
            if parts >= 3 {
                return None;
            }
            let padded = format!("{core}{}{rest}", ".0".repeat(3 - parts));
            semver::Version::parse(&padded).ok()
        })?;
        // Build metadata (`+incompatible`) has no precedence.
        parsed.build = semver::BuildMetadata::EMPTY;
        Some(parsed)
    };
    Some(parse(a)?.cmp(&parse(b)?))
}

fn pep440_order(a: &str, b: &str) -> Option<Ordering> {
    let a = pep440_rs::Version::from_str(a.trim()).ok()?;
    let b = pep440_rs::Version::from_str(b.trim()).ok()?;
    Some(a.cmp(&b))
}

/// One part of a version as Maven and the shared order split it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Number(u128),
    Text(String),
}

/// Splits at `.`, `-`, `_`, `+` and between digits and letters; lower case.
fn parts(version: &str) -> Vec<Part> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut digits = false;
    let flush = |current: &mut String, out: &mut Vec<Part>, digits: bool| {
        if current.is_empty() {
            return;
        }
        out.push(if digits {
            Part::Number(current.parse().unwrap_or(u128::MAX))
        } else {
            Part::Text(current.to_lowercase())
        });
        current.clear();
    };
    for c in version.trim().chars() {
        if matches!(c, '.' | '-' | '_' | '+') {
            flush(&mut current, &mut out, digits);
            continue;
        }
        let is_digit = c.is_ascii_digit();
        if !current.is_empty() && is_digit != digits {
            flush(&mut current, &mut out, digits);
        }
        digits = is_digit;
        current.push(c);
    }
    flush(&mut current, &mut out, digits);
    out
}

/// The shared order: numbers as numbers; a text part is a pre-release, so it sorts before
/// a number and before the end of the version (`1.0.rc1` < `1.0` < `1.0.1`).
fn shared_order(a: &str, b: &str) -> Ordering {
    let (a, b) = (
        parts(a.trim_start_matches('v')),
        parts(b.trim_start_matches('v')),
    );
    for i in 0..a.len().max(b.len()) {
        let ordering = match (a.get(i), b.get(i)) {
            (Some(Part::Number(x)), Some(Part::Number(y))) => x.cmp(y),
            (Some(Part::Text(x)), Some(Part::Text(y))) => x.cmp(y),
            (Some(Part::Number(_)), Some(Part::Text(_))) => Ordering::Greater,
            (Some(Part::Text(_)), Some(Part::Number(_))) => Ordering::Less,
            (Some(Part::Number(x)), None) => x.cmp(&0),
            (None, Some(Part::Number(y))) => 0.cmp(y),
            (Some(Part::Text(_)), None) => Ordering::Less,
            (None, Some(Part::Text(_))) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    Ordering::Equal
}

/// Maven's qualifier ranks (ComparableVersion): alpha < beta < milestone < rc < snapshot
/// < release < sp < anything else (then by text).
fn maven_rank(text: &str) -> (u8, &str) {
    match text {
        "alpha" | "a" => (0, ""),
        "beta" | "b" => (1, ""),
        "milestone" | "m" => (2, ""),
        "rc" | "cr" => (3, ""),
        "snapshot" => (4, ""),
        "" | "ga" | "final" | "release" => (5, ""),
        "sp" => (6, ""),
        other => (7, other),
    }
}

fn maven_order(a: &str, b: &str) -> Ordering {
    let (a, b) = (parts(a), parts(b));
    for i in 0..a.len().max(b.len()) {
        let ordering = match (a.get(i), b.get(i)) {
            (Some(Part::Number(x)), Some(Part::Number(y))) => x.cmp(y),
            (Some(Part::Text(x)), Some(Part::Text(y))) => maven_rank(x).cmp(&maven_rank(y)),
            (Some(Part::Number(_)), Some(Part::Text(_))) => Ordering::Greater,
            (Some(Part::Text(_)), Some(Part::Number(_))) => Ordering::Less,
            (Some(Part::Number(x)), None) => x.cmp(&0),
            (None, Some(Part::Number(y))) => 0.cmp(y),
            (Some(Part::Text(x)), None) => maven_rank(x).cmp(&maven_rank("")),
            (None, Some(Part::Text(y))) => maven_rank("").cmp(&maven_rank(y)),
            (None, None) => Ordering::Equal,
        };
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(ecosystem: &str, versions: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = versions.iter().map(|s| (*s).to_owned()).collect();
        v.sort_by(|a, b| compare(ecosystem, a, b));
        v
    }

    #[test]
    fn semver_ecosystems_order_numbers_and_prereleases() {
        assert_eq!(
            sorted("npm", &["1.10.0", "1.9.0", "1.10.0-rc.1", "0", "2.0.0"]),
            ["0", "1.9.0", "1.10.0-rc.1", "1.10.0", "2.0.0"]
        );
        assert_eq!(compare("golang", "v0.17.0", "0.9.1"), Ordering::Greater);
        assert_eq!(
            compare("golang", "v2.0.0+incompatible", "2.0.0"),
            Ordering::Equal
        );
        assert_eq!(compare("cargo", "1.2", "1.2.0"), Ordering::Equal);
    }

    #[test]
    fn pypi_follows_pep_440() {
        assert_eq!(
            sorted(
                "pypi",
                &["2.0.0", "2.0.0rc1", "2.0.0.post1", "1.11", "2.0.0a1"]
            ),
            ["1.11", "2.0.0a1", "2.0.0rc1", "2.0.0", "2.0.0.post1"]
        );
        assert_eq!(compare("pypi", "4.2.1", "4.2.10"), Ordering::Less);
    }

    #[test]
    fn maven_follows_comparable_version() {
        assert_eq!(
            sorted(
                "maven",
                &[
                    "2.13.4.2",
                    "2.13.4",
                    "2.13.4-rc1",
                    "2.9.10.8",
                    "2.13.4.Final",
                    "2.13.4-SP1"
                ]
            ),
            [
                "2.9.10.8",
                "2.13.4-rc1",
                "2.13.4",
                "2.13.4.Final",
                "2.13.4-SP1",
                "2.13.4.2"
            ]
        );
        assert_eq!(compare("maven", "2.13.4", "2.13.4.Final"), Ordering::Equal);
        assert_eq!(compare("maven", "1.0", "1.0.0"), Ordering::Equal);
    }

    #[test]
    fn others_share_an_order_with_prereleases_first() {
        assert_eq!(
            sorted("gem", &["7.0.4", "7.0.10", "7.0.4.rc1", "7.0.4.1"]),
            ["7.0.4.rc1", "7.0.4", "7.0.4.1", "7.0.10"]
        );
        // A version semver refuses still compares.
        assert_eq!(compare("npm", "1.0.0.1", "1.0.0.2"), Ordering::Less);
    }
}
