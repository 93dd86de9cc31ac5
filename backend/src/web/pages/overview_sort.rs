//! How the front page's organisation table sorts: its columns, the `sort`/`order`
//! parameters, and each line's keys (missing values last whichever the order).

use chrono::{DateTime, Utc};

use crate::web::error::Invalid;
use crate::web::extract::Param;
use crate::web::repos::Order;

/// A column the organisations table sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OrgKey {
    Name,
    Repos,
    Stars,
    Week,
    Month,
    Forks,
    Issues,
    Response,
    Closure,
    BusFactor,
    Vulnerable,
    Scorecard,
    Refreshed,
}

impl OrgKey {
    const ALL: [OrgKey; 13] = [
        OrgKey::Name,
        OrgKey::Repos,
        OrgKey::Stars,
        OrgKey::Week,
        OrgKey::Month,
        OrgKey::Forks,
        OrgKey::Issues,
        OrgKey::Response,
        OrgKey::Closure,
        OrgKey::BusFactor,
        OrgKey::Vulnerable,
        OrgKey::Scorecard,
        OrgKey::Refreshed,
    ];

    pub(super) fn as_str(self) -> &'static str {
        match self {
            OrgKey::Name => "name",
            OrgKey::Repos => "repos",
            OrgKey::Stars => "stars",
            OrgKey::Week => "stars_7d",
            OrgKey::Month => "stars_30d",
            OrgKey::Forks => "forks",
            OrgKey::Issues => "open_issues",
            OrgKey::Response => "first_response",
            OrgKey::Closure => "closure_ratio",
            OrgKey::BusFactor => "bus_factor",
            OrgKey::Vulnerable => "vulnerable",
            OrgKey::Scorecard => "scorecard",
            OrgKey::Refreshed => "refreshed",
        }
    }

    /// Names A→Z, numbers and dates biggest or newest first.
    pub(super) fn natural_order(self) -> Order {
        if self == OrgKey::Name {
            Order::Asc
        } else {
            Order::Desc
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct OrgSort {
    pub key: OrgKey,
    pub order: Order,
}

impl Default for OrgSort {
    fn default() -> Self {
        OrgSort {
            key: OrgKey::Stars,
            order: Order::Desc,
        }
    }
}

impl OrgSort {
    pub(super) fn parse(sort: Param<'_>, order: Param<'_>) -> Result<Self, Invalid> {
        let key = match sort.get("sort")? {
            None => OrgSort::default().key,
            Some(s) => OrgKey::ALL
                .into_iter()
                .find(|k| k.as_str() == s)
                .ok_or_else(|| {
                    let names: Vec<&str> = OrgKey::ALL.iter().map(|k| k.as_str()).collect();
                    Invalid::param(format!(
                        "sort must be one of {}, got `{s}`",
                        names.join(", ")
                    ))
                })?,
        };
        let order = match order.get("order")? {
            None => key.natural_order(),
            Some(o) => o.parse().map_err(Invalid::param)?,
        };
        Ok(OrgSort { key, order })
    }
}

/// What an organisation's line in the table sorts by.
#[derive(Debug, Default)]
pub(super) struct SortKeys {
    pub name: String,
    pub totals: Option<crate::domain::Totals>,
    pub week: Option<i64>,
    pub month: Option<i64>,
    pub refreshed: Option<DateTime<Utc>>,
    /// Median first response in minutes, closure ratio in thousandths, bus factor: the
    /// last 90 days' activity, where it was read.
    pub response_minutes: Option<u64>,
    pub closure_permille: Option<u64>,
    pub bus_factor: Option<u64>,
    /// Vulnerable packages (critical, high) at the last check, where one ran.
    pub serious: Option<(u64, u64)>,
    /// The median OpenSSF Scorecard score of its scored repositories, in tenths.
    pub scorecard_tenths: Option<u64>,
}

impl SortKeys {
    /// Orders by the key, missing values last whichever the order, then by name.
    pub(super) fn compare(&self, other: &SortKeys, sort: OrgSort) -> std::cmp::Ordering {
        fn by<T: Ord>(a: Option<T>, b: Option<T>, order: Order) -> std::cmp::Ordering {
            match (a, b) {
                (Some(a), Some(b)) if order == Order::Asc => a.cmp(&b),
                (Some(a), Some(b)) => b.cmp(&a),
                (a, b) => b.is_some().cmp(&a.is_some()),
            }
        }
        let total = |r: &SortKeys, f: fn(&crate::domain::Totals) -> u64| r.totals.as_ref().map(f);
        let name = || self.name.to_lowercase().cmp(&other.name.to_lowercase());
        let primary = match sort.key {
            OrgKey::Name if sort.order == Order::Asc => name(),
            OrgKey::Name => name().reverse(),
            OrgKey::Repos => by(
                total(self, |t| t.repos),
                total(other, |t| t.repos),
                sort.order,
            ),
            OrgKey::Stars => by(
                total(self, |t| t.stars),
                total(other, |t| t.stars),
                sort.order,
            ),
            OrgKey::Forks => by(
                total(self, |t| t.forks),
                total(other, |t| t.forks),
                sort.order,
            ),
            OrgKey::Issues => by(
                total(self, |t| t.open_issues),
                total(other, |t| t.open_issues),
                sort.order,
            ),
            OrgKey::Response => by(self.response_minutes, other.response_minutes, sort.order),
            OrgKey::Closure => by(self.closure_permille, other.closure_permille, sort.order),
            OrgKey::BusFactor => by(self.bus_factor, other.bus_factor, sort.order),
            OrgKey::Vulnerable => by(self.serious, other.serious, sort.order),
            OrgKey::Scorecard => by(self.scorecard_tenths, other.scorecard_tenths, sort.order),
            OrgKey::Week => by(self.week, other.week, sort.order),
            OrgKey::Month => by(self.month, other.month, sort.order),
            OrgKey::Refreshed => by(self.refreshed, other.refreshed, sort.order),
        };
        primary.then_with(name)
    }
}
