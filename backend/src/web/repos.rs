//! Sorting, filtering and paging an organisation's repositories — the same rules for the
//! page's table and the JSON API. Works on the cached, already-loaded list: an org page
//! with thousands of repositories is sorted in memory in well under a millisecond.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use crate::domain::RepoRecord;

/// What a repository list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SortKey {
    Name,
    Stars,
    Forks,
    OpenIssues,
    Pushed,
    Created,
    Language,
    License,
}

impl SortKey {
    pub(crate) const ALL: [SortKey; 8] = [
        SortKey::Name,
        SortKey::Stars,
        SortKey::Forks,
        SortKey::OpenIssues,
        SortKey::Pushed,
        SortKey::Created,
        SortKey::Language,
        SortKey::License,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SortKey::Name => "name",
            SortKey::Stars => "stars",
            SortKey::Forks => "forks",
            SortKey::OpenIssues => "open_issues",
            SortKey::Pushed => "pushed",
            SortKey::Created => "created",
            SortKey::Language => "language",
            SortKey::License => "license",
        }
    }

    /// The order a click on the column starts with: numbers and dates biggest first.
    pub(crate) fn natural_order(self) -> Order {
        match self {
            SortKey::Name | SortKey::Language | SortKey::License => Order::Asc,
            _ => Order::Desc,
        }
    }

    /// The value sorted on, as JSON (also what a cursor carries).
    fn value(self, repo: &RepoRecord) -> Value {
        let l = &repo.listing;
        match self {
            SortKey::Name => Value::from(l.name.to_lowercase()),
            SortKey::Stars => Value::from(l.stars),
            SortKey::Forks => Value::from(l.forks),
            SortKey::OpenIssues => Value::from(l.open_issues),
            SortKey::Pushed => l
                .activity_at()
                .map_or(Value::Null, |t| Value::from(t.timestamp())),
            SortKey::Created => l
                .created_at
                .map_or(Value::Null, |t| Value::from(t.timestamp())),
            SortKey::Language => l
                .language
                .as_ref()
                .map_or(Value::Null, |s| Value::from(s.to_lowercase())),
            SortKey::License => l
                .license
                .as_ref()
                .map_or(Value::Null, |s| Value::from(s.to_lowercase())),
        }
    }
}

impl fmt::Display for SortKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SortKey {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SortKey::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = SortKey::ALL.iter().map(|k| k.as_str()).collect();
                format!("sort must be one of {}, got `{s}`", names.join(", "))
            })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    Asc,
    Desc,
}

impl Order {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Order::Asc => "asc",
            Order::Desc => "desc",
        }
    }

    pub(crate) fn flipped(self) -> Order {
        match self {
            Order::Asc => Order::Desc,
            Order::Desc => Order::Asc,
        }
    }
}

impl FromStr for Order {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "asc" => Ok(Order::Asc),
            "desc" => Ok(Order::Desc),
            _ => Err(format!("order must be asc or desc, got `{s}`")),
        }
    }
}

/// Which repositories to show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RepoFilter {
    /// Case-insensitive substring of the name, description or a topic.
    pub q: Option<String>,
    /// Exact primary language (case-insensitive).
    pub language: Option<String>,
    pub archived: Option<bool>,
    /// Exact licence (case-insensitive).
    pub license: Option<String>,
}

impl RepoFilter {
    fn matches(&self, repo: &RepoRecord) -> bool {
        let l = &repo.listing;
        if repo.gone_since.is_some() {
            return false;
        }
        if let Some(q) = &self.q {
            let q = q.to_lowercase();
            let hit = l.name.to_lowercase().contains(&q)
                || l.description
                    .as_deref()
                    .is_some_and(|d| d.to_lowercase().contains(&q))
                || l.topics.iter().any(|t| t.to_lowercase().contains(&q));
            if !hit {
                return false;
            }
        }
        let same = |want: &Option<String>, have: &Option<String>| {
            want.as_ref()
                .is_none_or(|w| have.as_ref().is_some_and(|h| h.eq_ignore_ascii_case(w)))
        };
        same(&self.language, &l.language)
            && same(&self.license, &l.license)
            && self.archived.is_none_or(|a| a == l.archived)
    }
}

/// Compares two sort values; absent values sort last whatever the order.
fn compare(a: &Value, b: &Value, order: Order) -> Ordering {
    let ordered = |o: Ordering| if order == Order::Asc { o } else { o.reverse() };
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Greater,
        (_, Value::Null) => Ordering::Less,
        (Value::Number(x), Value::Number(y)) => ordered(
            x.as_f64()
                .unwrap_or(0.0)
                .total_cmp(&y.as_f64().unwrap_or(0.0)),
        ),
        (Value::String(x), Value::String(y)) => ordered(x.cmp(y)),
        _ => Ordering::Equal,
    }
}

/// The repositories `filter` keeps, sorted by `key` then id.
pub(crate) fn select<'a>(
    repos: &'a [RepoRecord],
    filter: &RepoFilter,
    key: SortKey,
    order: Order,
) -> Vec<&'a RepoRecord> {
    let mut keyed: Vec<(Value, &RepoRecord)> = repos
        .iter()
        .filter(|r| filter.matches(r))
        .map(|r| (key.value(r), r))
        .collect();
    keyed.sort_by(|(va, a), (vb, b)| compare(va, vb, order).then(a.listing.id.cmp(&b.listing.id)));
    keyed.into_iter().map(|(_, r)| r).collect()
}

/// A position in a sorted list: the last item's sort value and id, opaque to clients.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cursor {
    value: Value,
    id: i64,
}

impl Cursor {
    pub(crate) fn after(repo: &RepoRecord, key: SortKey) -> Cursor {
        Cursor {
            value: key.value(repo),
            id: repo.listing.id,
        }
    }

    /// Hex of a small JSON array: opaque, URL-safe, and no decoding surprises.
    pub(crate) fn encode(&self) -> String {
        let json = serde_json::json!([self.value, self.id]).to_string();
        json.bytes().map(|b| format!("{b:02x}")).collect()
    }

    pub(crate) fn decode(text: &str) -> Result<Cursor, String> {
        let invalid = || "cursor is not one this API handed out".to_string();
        // Hex is ASCII: anything else would also split a character in the slicing below.
        if !text.is_ascii() || text.len() % 2 != 0 || text.len() > 2048 {
            return Err(invalid());
        }
        let bytes: Vec<u8> = (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16))
            .collect::<Result<_, _>>()
            .map_err(|_| invalid())?;
        let (value, id): (Value, i64) = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
        if !matches!(value, Value::Null | Value::Number(_) | Value::String(_)) {
            return Err(invalid());
        }
        Ok(Cursor { value, id })
    }

    /// Whether `repo` comes after this position in the list's order.
    pub(crate) fn precedes(&self, repo: &RepoRecord, key: SortKey, order: Order) -> bool {
        compare(&self.value, &key.value(repo), order).then(self.id.cmp(&repo.listing.id))
            == Ordering::Less
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{OrgId, RepoListing};

    fn repo(id: i64, name: &str, stars: u64, language: Option<&str>) -> RepoRecord {
        RepoRecord {
            org: "github:a".parse::<OrgId>().expect("id"),
            listing: RepoListing {
                id,
                name: name.into(),
                full_name: format!("a/{name}"),
                description: Some(format!("{name} tool")),
                html_url: None,
                language: language.map(Into::into),
                stars,
                watchers: 0,
                forks: 0,
                open_issues: 0,
                license: None,
                topics: vec!["web".into()],
                archived: id == 3,
                disabled: false,
                fork: false,
                size_kb: 0,
                default_branch: None,
                created_at: None,
                updated_at: None,
                pushed_at: None,
                visibility: None,
            },
            languages: None,
            languages_for: None,
            libraries: None,
            libraries_for: None,
            first_seen: "2026-01-01".parse().expect("date"),
            gone_since: None,
        }
    }

    #[test]
    fn sorts_filters_and_puts_missing_values_last() {
        let repos = vec![
            repo(1, "b", 5, Some("Rust")),
            repo(2, "A", 9, None),
            repo(3, "c", 5, Some("rust")),
        ];
        let names =
            |v: Vec<&RepoRecord>| v.iter().map(|r| r.listing.name.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(select(
                &repos,
                &RepoFilter::default(),
                SortKey::Stars,
                Order::Desc
            )),
            ["A", "b", "c"]
        );
        assert_eq!(
            names(select(
                &repos,
                &RepoFilter::default(),
                SortKey::Name,
                Order::Asc
            )),
            ["A", "b", "c"]
        );
        assert_eq!(
            names(select(
                &repos,
                &RepoFilter::default(),
                SortKey::Language,
                Order::Desc
            )),
            ["b", "c", "A"]
        );
        let rust = RepoFilter {
            language: Some("RUST".into()),
            archived: Some(false),
            ..Default::default()
        };
        assert_eq!(
            names(select(&repos, &rust, SortKey::Name, Order::Asc)),
            ["b"]
        );
        let q = RepoFilter {
            q: Some("A TOOL".into()),
            ..Default::default()
        };
        assert_eq!(names(select(&repos, &q, SortKey::Name, Order::Asc)), ["A"]);
    }

    #[test]
    fn cursors_round_trip_and_resume_after_the_last_item() {
        let repos = vec![
            repo(1, "a", 5, None),
            repo(2, "b", 5, None),
            repo(3, "c", 1, None),
        ];
        let sorted = select(&repos, &RepoFilter::default(), SortKey::Stars, Order::Desc);
        let cursor = Cursor::after(sorted[0], SortKey::Stars);
        let decoded = Cursor::decode(&cursor.encode()).expect("round trip");
        assert_eq!(decoded, cursor);
        let rest: Vec<i64> = sorted
            .iter()
            .filter(|r| decoded.precedes(r, SortKey::Stars, Order::Desc))
            .map(|r| r.listing.id)
            .collect();
        assert_eq!(rest, [2, 3]);
        assert!(Cursor::decode("zz").is_err());
        assert!(
            Cursor::decode("M\u{d6}8\u{d1}").is_err(),
            "not ASCII, no panic"
        );
        assert!(Cursor::decode("7b7d").is_err(), "valid hex, wrong shape");
    }
}
