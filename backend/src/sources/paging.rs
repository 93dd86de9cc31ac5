//! Reading a whole repository listing, page by page, the same way for every forge: pages
//! whose numbers are known up front are fetched concurrently, the rest by following the
//! `next` chain, and a full last page is followed by a look at the one after it when the
//! page count may be out of date.

use std::collections::HashSet;

use url::Url;

use super::http::{HttpClient, Meta, Tally};
use super::{required, Cached, HttpCacheEntry, RepoListing, RepoPage, SourceError, Validators};

/// A listing longer than this many pages is treated as a loop upstream.
pub(crate) const MAX_PAGES: usize = 5_000;

/// An organisation's complete repository listing.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    pub repos: Vec<RepoListing>,
    /// Ids of entries that could not be read: kept as stored, not marked gone.
    pub unreadable_ids: HashSet<i64>,
    /// Entries skipped because they could not be read.
    pub skipped: u64,
    /// Every page was read and every entry had an id: safe to mark missing repos as gone.
    pub complete: bool,
    /// Validators to keep for next time.
    pub cache_entries: Vec<HttpCacheEntry>,
}

/// A forge's listing: where it starts, how its pages are sized and read.
pub(crate) struct Pages<'a, D> {
    pub http: &'a HttpClient,
    /// Validators from earlier runs, sent with each page's request.
    pub cache: &'a Validators,
    pub tally: &'a Tally,
    /// The first page's URL; other pages are it with another `page` parameter.
    pub first: Url,
    /// The most entries a page can hold: when a page was reused from an earlier run (304,
    /// or an identical body) and the last page is this full, the page after it is read
    /// too, in case the listing grew past a page boundary since that run. 0: never.
    pub page_size: usize,
    /// Reads one page's body (and its headers: counts, `next`).
    pub decode: D,
}

impl<D> Pages<'_, D>
where
    D: Fn(&[u8], &Meta<'_>) -> Result<RepoPage, String>,
{
    /// Reads every page.
    pub(crate) async fn read(self) -> Result<Listing, SourceError> {
        let (http, cache, tally, decode) = (self.http, self.cache, self.tally, &self.decode);
        let fetch = |url: Url| async move {
            http.get_cached(&url, cache.get(url.as_str()), tally, &[], decode)
                .await
                .map(required)
        };
        let mut pages: Vec<Cached<RepoPage>> = vec![fetch(self.first.clone()).await?];
        let first = &pages[0].value;
        // The pages between the first and the last, when the first says how many there are.
        let known: Option<Vec<Url>> = if let Some(total) = first.total_pages {
            (total <= MAX_PAGES).then(|| (2..=total).map(|n| with_page(&self.first, n)).collect())
        } else {
            first
                .last
                .as_deref()
                .zip(first.next.as_deref())
                .and_then(|(last, next)| {
                    let last = Url::parse(last).ok()?;
                    let next = Url::parse(next).ok()?;
                    let (from, to) = (page_number(&next)?, page_number(&last)?);
                    (to >= from && to - from < MAX_PAGES)
                        .then(|| (from..=to).map(|n| with_page(&next, n)).collect())
                })
        };
        let counted = first.total_pages.is_some();
        if let Some(urls) = known {
            let fetched = futures::future::try_join_all(urls.into_iter().map(fetch)).await?;
            pages.extend(fetched);
        }
        // Walk on from the last page read: the whole chain without a count, pages that
        // appeared while the known ones were fetched, or past a full last page.
        let mut seen: HashSet<String> = HashSet::new();
        loop {
            let last = pages.last().expect("at least the first page");
            // A page reused from an earlier run carries that run's count and `next`.
            let reused = pages.iter().any(|p| p.not_modified);
            let full = self.page_size > 0
                && last.value.repos.len() + last.value.skipped() as usize >= self.page_size;
            let next = match &last.value.next {
                Some(next) if !counted => next.clone(),
                _ if full && reused => with_page(&self.first, pages.len() + 1).to_string(),
                _ => break,
            };
            if !seen.insert(next.clone()) || pages.len() >= MAX_PAGES {
                return Err(SourceError::Malformed {
                    url: next,
                    detail: "the listing's pages loop".into(),
                });
            }
            let url = Url::parse(&next).map_err(|e| SourceError::Malformed {
                url: next.clone(),
                detail: e.to_string(),
            })?;
            pages.push(fetch(url).await?);
        }
        Ok(assemble(pages))
    }
}

/// Puts pages together: entries that show up twice (a repository created mid-listing
/// shifts the pages) are kept once.
fn assemble(pages: Vec<Cached<RepoPage>>) -> Listing {
    let mut listing = Listing {
        complete: true,
        ..Listing::default()
    };
    let mut ids = HashSet::new();
    for page in pages {
        listing.skipped += page.value.skipped();
        listing.complete &= page.value.unreadable_without_id == 0;
        listing.unreadable_ids.extend(page.value.unreadable_ids);
        listing.cache_entries.extend(page.entry);
        listing
            .repos
            .extend(page.value.repos.into_iter().filter(|r| ids.insert(r.id)));
    }
    listing
}

pub(crate) fn page_number(url: &Url) -> Option<usize> {
    url.query_pairs()
        .find(|(k, _)| k == "page")
        .and_then(|(_, v)| v.parse().ok())
}

/// `url` asking for page `page` (the parameter replaced, or added), the rest unchanged.
pub(crate) fn with_page(url: &Url, page: usize) -> Url {
    let mut found = false;
    let mut pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "page" {
                found = true;
                page.to_string()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    if !found {
        pairs.push(("page".into(), page.to_string()));
    }
    let mut url = url.clone();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_page_numbers_and_keeps_other_parameters() {
        let next = Url::parse(
            "https://api.github.com/organizations/9/repos?per_page=100&type=public&page=2",
        )
        .expect("url");
        assert_eq!(page_number(&next), Some(2));
        assert_eq!(
            with_page(&next, 17).as_str(),
            "https://api.github.com/organizations/9/repos?per_page=100&type=public&page=17"
        );
        let first = Url::parse("http://x/api/v1/orgs/a/repos?limit=50").expect("url");
        assert_eq!(
            with_page(&first, 3).as_str(),
            "http://x/api/v1/orgs/a/repos?limit=50&page=3"
        );
    }
}
