//! Badges for READMEs and wikis: `/badge/{forge}/{login}/{metric}.svg`, a flat,
//! shields-like SVG of an organisation's stars, repositories, forks or vulnerable
//! packages. Its own colours
//! (white on grey and blue) read the same on light and dark pages. Cached and conditional
//! like every answer (an `ETag`, `304` on a match).

use rocket::http::ContentType;

use super::cache::{CachedGet, Conditional, Rendered, Scope};
use super::charts::{compact, esc};
use super::error::{ApiError, ErrorBody};
use super::extract::OrgPath;
use super::params;
use utoipa::openapi::path::{Parameter, ParameterIn};

/// The metrics a badge shows, by the name its path uses.
pub(crate) const METRICS: [&str; 4] = ["stars", "repos", "forks", "vulnerabilities"];

/// A badge's `{metric}`.
pub(crate) struct BadgeMetric;

impl utoipa::IntoParams for BadgeMetric {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![params::param(
            "metric",
            ParameterIn::Path,
            "`stars.svg`, `repos.svg`, `forks.svg` or `vulnerabilities.svg`",
            params::choice(METRICS.iter().map(|m| format!("{m}.svg"))),
        )]
    }
}

/// A badge of an organisation's latest total of `metric` (`stars.svg`, `repos.svg` or
/// `forks.svg`, from its newest snapshot), or of its vulnerable packages
/// (`vulnerabilities.svg`: how many, and how many critical or high, from the last check).
#[utoipa::path(get, path = "/badge/{forge}/{login}/{metric}", tag = "organisations",
    params(OrgPath, BadgeMetric),
    responses(
        (status = 200, description = "A flat SVG badge", content_type = "image/svg+xml"),
        (status = 404, description = "Unknown organisation or metric", body = ErrorBody),
        (status = 422, description = "A parameter is invalid", body = ErrorBody)))]
#[rocket::get("/badge/<_>/<_>/<metric>")]
pub(crate) async fn badge(
    get: CachedGet<'_>,
    org: OrgPath,
    metric: &str,
) -> Result<Conditional, ApiError> {
    let org = org.0;
    let name = metric
        .strip_suffix(".svg")
        .filter(|m| METRICS.contains(m))
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no badge `{metric}`: there are stars.svg, repos.svg, forks.svg and vulnerabilities.svg"
            ))
        })?
        .to_owned();
    get.answer(Scope::Org(org.clone()), || async {
        let detail = crate::web::api::known(&get, &org).await?;
        if name == "vulnerabilities" {
            let value = match get.state.store.security_state(&org).await? {
                None => "not checked".to_owned(),
                Some(_) => {
                    let findings = get.state.store.findings(&org, None).await?;
                    vulnerable(&crate::domain::vulnerabilities::SeverityCounts::of(
                        &findings,
                    ))
                }
            };
            let svg = flat(&name, &value);
            return Ok(Rendered::new(svg.into_bytes(), ContentType::SVG));
        }
        let totals = detail.history.last().map(|d| &d.totals);
        let value = totals.map(|t| match name.as_str() {
            "stars" => t.stars,
            "repos" => t.repos,
            _ => t.forks,
        });
        let svg = flat(
            &name,
            &value.map_or_else(|| "no data".into(), |v| compact(v as f64)),
        );
        Ok::<_, ApiError>(Rendered::new(svg.into_bytes(), ContentType::SVG))
    })
    .await
}

/// "none", "7", or "7 (2 critical, 1 high)".
fn vulnerable(counts: &crate::domain::vulnerabilities::SeverityCounts) -> String {
    let total = counts.total();
    if total == 0 {
        return "none".into();
    }
    let serious: Vec<String> = [("critical", counts.critical), ("high", counts.high)]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(name, n)| format!("{n} {name}"))
        .collect();
    if serious.is_empty() {
        total.to_string()
    } else {
        format!("{total} ({})", serious.join(", "))
    }
}

/// Text width in Verdana 11 px, close enough for a badge (shields' own approach: an
/// estimate the renderer is told to fit with `textLength`).
fn text_width(text: &str) -> u32 {
    text.chars()
        .map(|c| match c {
            'i' | 'l' | '.' | ',' | ':' | '\'' | ' ' => 4,
            'm' | 'w' | 'M' | 'W' => 10,
            c if c.is_ascii_uppercase() => 8,
            _ => 7,
        })
        .sum()
}

/// A flat badge: `label` on grey, `value` on blue.
fn flat(label: &str, value: &str) -> String {
    let (lw, vw) = (text_width(label) + 10, text_width(value) + 10);
    let total = lw + vw;
    let (label, value) = (esc(label), esc(value));
    let (lt, vt) = ((lw - 10) * 10, (vw - 10) * 10);
    let (lx, vx) = (lw * 5, lw * 10 + vw * 5);
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" aria-label="{label}: {value}"><title>{label}: {value}</title><linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient><clipPath id="r"><rect width="{total}" height="20" rx="3" fill="#fff"/></clipPath><g clip-path="url(#r)"><rect width="{lw}" height="20" fill="#555"/><rect x="{lw}" width="{vw}" height="20" fill="#0969da"/><rect width="{total}" height="20" fill="url(#s)"/></g><g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" text-rendering="geometricPrecision" font-size="110"><text aria-hidden="true" x="{lx}" y="150" fill="#010101" fill-opacity=".3" transform="scale(.1)" textLength="{lt}">{label}</text><text x="{lx}" y="140" transform="scale(.1)" fill="#fff" textLength="{lt}">{label}</text><text aria-hidden="true" x="{vx}" y="150" fill="#010101" fill-opacity=".3" transform="scale(.1)" textLength="{vt}">{value}</text><text x="{vx}" y="140" transform="scale(.1)" fill="#fff" textLength="{vt}">{value}</text></g></svg>"##
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_badge_is_wide_enough_for_its_text_and_escapes_it() {
        let svg = flat("stars", "12.3k");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains(r#"aria-label="stars: 12.3k""#));
        let wide = flat("stars", "1234567890");
        let width = |s: &str| -> u32 {
            let at = s.find("width=\"").expect("width") + 7;
            s[at..]
                .split('"')
                .next()
                .expect("value")
                .parse()
                .expect("number")
        };
        assert!(width(&wide) > width(&svg));
        assert!(flat("a<b", "x&y").contains("a&lt;b: x&amp;y"));
        let counts = |critical, high, low| crate::domain::vulnerabilities::SeverityCounts {
            critical,
            high,
            low,
            ..Default::default()
        };
        assert_eq!(vulnerable(&counts(0, 0, 0)), "none");
        assert_eq!(vulnerable(&counts(0, 0, 3)), "3");
        assert_eq!(vulnerable(&counts(2, 1, 4)), "7 (2 critical, 1 high)");
    }
}
