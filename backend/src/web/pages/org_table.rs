//! The organisation page's repository table: its parameters (filter, sort, page, and the
//! chart range and movers window every link keeps), the page of rows they select, and
//! what the template shows of it.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::domain::feed::path_segment;
use crate::domain::{ForgeKind, RepoDay, RepoListing, RepoRecord};
use crate::store::OrgDetail;
use crate::web::charts::{self, thousands};
use crate::web::error::Invalid;
use crate::web::extract::{bounded, RepoQuery, Selection};
use crate::web::insight::{self, DEFAULT_WINDOW};
use crate::web::range::Range;
use crate::web::repos::{self, Order, RepoFilter, SortKey};

/// Repositories per page of the table.
pub(super) const PAGE_SIZE: usize = 50;

/// One page of the repository table.
pub(super) struct TablePage<'a> {
    pub rows: Vec<&'a RepoRecord>,
    pub total: usize,
    pub page: usize,
    pub pages: usize,
    pub start: usize,
}

/// The page's parameters, validated: the repository table's, and the charts' range and
/// the movers' window, which every link on the page keeps.
#[derive(Debug, Clone)]
pub(super) struct TableParams {
    pub filter: RepoFilter,
    pub sort: SortKey,
    pub order: Order,
    pub page: usize,
    pub range: Range,
    pub movers: u32,
}

impl TableParams {
    pub(super) fn parse(query: &RepoQuery<'_>) -> Result<Self, Invalid> {
        let Selection {
            filter,
            sort,
            order,
        } = query.selection()?;
        Ok(TableParams {
            filter,
            sort,
            order,
            page: bounded("page", query.page, 1, 1, None)?,
            range: Range::parse(query.range)?,
            movers: DEFAULT_WINDOW,
        })
    }

    /// The repositories of the page asked for (the last one when asked past the end).
    pub(super) fn page_of<'a>(&self, detail: &'a OrgDetail) -> TablePage<'a> {
        let selected = repos::select(&detail.repos, &self.filter, self.sort, self.order);
        let total = selected.len();
        let pages = total.div_ceil(PAGE_SIZE).max(1);
        let page = self.page.min(pages);
        let start = (page - 1) * PAGE_SIZE;
        TablePage {
            rows: selected.into_iter().skip(start).take(PAGE_SIZE).collect(),
            total,
            page,
            pages,
            start,
        }
    }

    pub(super) fn url(&self, base: &str, sort: SortKey, order: Order, page: usize) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("q", &self.filter.q),
            ("language", &self.filter.language),
            ("license", &self.filter.license),
        ] {
            if let Some(v) = v {
                query.append_pair(k, v);
            }
        }
        if let Some(a) = self.filter.archived {
            query.append_pair("archived", if a { "true" } else { "false" });
        }
        // The default order (most stars first) stays out of the address.
        if (sort, order) != (SortKey::Stars, SortKey::Stars.natural_order()) {
            query
                .append_pair("sort", sort.as_str())
                .append_pair("order", order.as_str());
        }
        if page > 1 {
            query.append_pair("page", &page.to_string());
        }
        if let Some((k, v)) = self.range.query() {
            query.append_pair(k, v);
        }
        if self.movers != DEFAULT_WINDOW {
            query.append_pair("movers", &self.movers.to_string());
        }
        match query.finish() {
            q if q.is_empty() => base.to_owned(),
            q => format!("{base}?{q}"),
        }
    }

    /// The same page (table, range, movers) with another chart range.
    pub(super) fn with_range(&self, base: &str, range: Range) -> String {
        TableParams {
            range,
            ..self.clone()
        }
        .url(base, self.sort, self.order, self.page)
    }

    /// The same page with another movers window, at the movers.
    pub(super) fn with_movers(&self, base: &str, movers: u32) -> String {
        let url = TableParams {
            movers,
            ..self.clone()
        }
        .url(base, self.sort, self.order, self.page);
        format!("{url}#movers")
    }
}

/// What `org.html` shows of the table.
#[derive(Debug, Serialize)]
pub(super) struct RepoTable {
    rows: Vec<TableRow>,
    total: usize,
    from: usize,
    to: usize,
    page: usize,
    pages: usize,
    prev_url: Option<String>,
    next_url: Option<String>,
    headers: Vec<Header>,
    sort: &'static str,
    order: &'static str,
    /// What the filter form keeps besides its own fields.
    keep: BTreeMap<&'static str, String>,
    filtered: bool,
    filters: Filters,
    /// The distinct languages and licences of the live repositories, for the form.
    languages: Vec<String>,
    licenses: Vec<String>,
}

#[derive(Debug, Serialize)]
struct TableRow {
    name: String,
    html_url: Option<String>,
    description: Option<String>,
    url: String,
    /// An inline SVG of the stars over the last days.
    spark: String,
    language: String,
    stars: String,
    forks: String,
    /// The forge's open count (labelled by kind in the header); `?` when it did not say.
    open_issues: String,
    pushed: String,
    license: String,
    archived: bool,
}

/// A column heading: a link that sorts by it, where it sorts.
#[derive(Debug, Serialize)]
struct Header {
    label: String,
    url: Option<String>,
    /// `ascending` or `descending` on the sorted column.
    sort: Option<&'static str>,
    num: bool,
}

#[derive(Debug, Serialize)]
struct Filters {
    q: String,
    language: String,
    license: String,
    archived: String,
}

impl TableParams {
    /// The table of `detail` as the page shows it, `sparklines` by repository id.
    pub(super) fn context(
        &self,
        detail: &OrgDetail,
        kind: Option<ForgeKind>,
        sparklines: &HashMap<i64, Vec<RepoDay>>,
        base_url: &str,
    ) -> RepoTable {
        let TablePage {
            rows,
            total,
            page,
            pages,
            start,
        } = self.page_of(detail);
        let rows = rows
            .iter()
            .map(|r| {
                let l = &r.listing;
                let spark: Vec<Option<u64>> = sparklines
                    .get(&l.id)
                    .map(|days| days.iter().map(|d| d.counts.map(|c| c.stars)).collect())
                    .unwrap_or_default();
                TableRow {
                    name: l.name.clone(),
                    html_url: l.html_url.clone(),
                    description: l.description.clone(),
                    url: format!("{base_url}/repos/{}", path_segment(&l.name)),
                    spark: charts::sparkline(
                        &spark,
                        &format!(
                            "Stars of {} over the last {} days",
                            l.name,
                            insight::SPARKLINE_DAYS
                        ),
                    ),
                    language: l.language.clone().unwrap_or_default(),
                    stars: thousands(l.stars),
                    forks: thousands(l.forks),
                    open_issues: l.open_issues.map_or_else(|| "?".to_owned(), thousands),
                    pushed: l
                        .activity_at()
                        .map(|t| t.format("%Y-%m-%d").to_string())
                        .unwrap_or_else(|| "never".into()),
                    license: l.license.clone().unwrap_or_default(),
                    archived: l.archived,
                }
            })
            .collect();
        let kind = kind.unwrap_or(ForgeKind::GitHub);
        // GitHub reports pushes; GitLab and Gitea/Forgejo only activity or updates.
        let activity_label = super::capitalised(kind.activity_label());
        let columns = [
            ("Name", SortKey::Name, false),
            ("Language", SortKey::Language, false),
            ("Stars", SortKey::Stars, true),
            ("Forks", SortKey::Forks, true),
            (kind.open_issues_label(), SortKey::OpenIssues, true),
            (activity_label.as_str(), SortKey::Pushed, false),
            ("Licence", SortKey::License, false),
        ];
        let plain = |label: &str| Header {
            label: label.to_owned(),
            url: None,
            sort: None,
            num: false,
        };
        let mut headers: Vec<Header> = columns
            .iter()
            .map(|(label, key, num)| {
                let active = *key == self.sort;
                let order = if active {
                    self.order.flipped()
                } else {
                    key.natural_order()
                };
                Header {
                    label: (*label).to_owned(),
                    url: Some(self.url(base_url, *key, order, 1)),
                    sort: active.then_some(if self.order == Order::Asc {
                        "ascending"
                    } else {
                        "descending"
                    }),
                    num: *num,
                }
            })
            .collect();
        headers.insert(3, plain("Last 30 days"));
        headers.push(plain("Archived"));
        let live: Vec<&RepoListing> = detail
            .repos
            .iter()
            .filter(|r| r.gone_since.is_none())
            .map(|r| &r.listing)
            .collect();
        let distinct = |f: &dyn Fn(&RepoListing) -> Option<String>| {
            let mut v: Vec<String> = live.iter().filter_map(|l| f(l)).collect();
            v.sort_by_key(|s| s.to_lowercase());
            v.dedup();
            v
        };
        RepoTable {
            rows,
            total,
            from: start + 1,
            to: (start + PAGE_SIZE).min(total),
            page,
            pages,
            prev_url: (page > 1).then(|| self.url(base_url, self.sort, self.order, page - 1)),
            next_url: (page < pages).then(|| self.url(base_url, self.sort, self.order, page + 1)),
            headers,
            sort: self.sort.as_str(),
            order: self.order.as_str(),
            keep: self
                .range
                .query()
                .into_iter()
                .map(|(k, v)| (k, v.to_owned()))
                .chain((self.movers != DEFAULT_WINDOW).then(|| ("movers", self.movers.to_string())))
                .collect(),
            filtered: self.filter != RepoFilter::default(),
            filters: Filters {
                q: self.filter.q.clone().unwrap_or_default(),
                language: self.filter.language.clone().unwrap_or_default(),
                license: self.filter.license.clone().unwrap_or_default(),
                archived: self
                    .filter
                    .archived
                    .map(|a| a.to_string())
                    .unwrap_or_default(),
            },
            languages: distinct(&|l| l.language.clone()),
            licenses: distinct(&|l| l.license.clone()),
        }
    }
}
