//! Pagination links (`link: <…>; rel="next"`), as GitHub and Gitea/Forgejo send them.

use url::Url;

/// `link` header relations that pagination uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Links {
    pub next: Option<Url>,
    pub last: Option<Url>,
}

impl Links {
    /// Parses an RFC 8288 `link` header, resolving relative targets against `base`.
    pub(crate) fn parse(header: &str, base: &Url) -> Links {
        let mut links = Links::default();
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let Some(target) = pieces.next().map(str::trim) else {
                continue;
            };
            let Some(target) = target.strip_prefix('<').and_then(|t| t.strip_suffix('>')) else {
                continue;
            };
            let Ok(url) = base.join(target) else { continue };
            for param in pieces {
                let Some((key, value)) = param.split_once('=') else {
                    continue;
                };
                if !key.trim().eq_ignore_ascii_case("rel") {
                    continue;
                }
                for rel in value.trim().trim_matches('"').split_ascii_whitespace() {
                    match rel {
                        "next" => links.next = Some(url.clone()),
                        "last" => links.last = Some(url.clone()),
                        _ => {}
                    }
                }
            }
        }
        links
    }
}
