//! Sorting, filtering and paging an organisation's repositories — the same rules for the
//! page's table and the JSON API. Works on the cached, already-loaded list: an org page
//! with thousands of repositories is sorted in memory in well under a millisecond.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use crate::domain::RepoRecord;

/// Most repositories one page of `/repos` returns.
pub(crate) const MAX_LIMIT: usize = 100;

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

/// A position in a sorted list (keyset): a sort value and the id of the last item shown.
///
/// Written `{id}.{value}`, where the value is `n` (none), `i` and an integer, or `s` and
/// the lower-case hex of a text's UTF-8 bytes — exactly [`Cursor::PATTERN`], which the
/// OpenAPI document declares. Every string of that form is a position the server reads
/// (text that is not UTF-8 is read lossily), so a client may build one as well as keep
/// `next_cursor`; anything else is refused.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cursor {
    value: Value,
    id: i64,
}

/// The longest text (in bytes) a cursor carries; sort texts (names, languages, licences)
/// are far shorter.
const CURSOR_TEXT_BYTES: usize = 1_000;

impl Cursor {
    /// The cursor's form, as a regular expression (for the OpenAPI document).
    pub(crate) const PATTERN: &'static str =
        "^-?[0-9]{1,18}\\.(n|i-?[0-9]{1,18}|s([0-9a-f]{2}){0,1000})$";

    pub(crate) fn after(repo: &RepoRecord, key: SortKey) -> Cursor {
        Cursor {
            value: key.value(repo),
            id: repo.listing.id,
        }
    }

    pub(crate) fn encode(&self) -> String {
        let value = match &self.value {
            Value::Number(n) => format!("i{}", n.as_i64().unwrap_or(i64::MAX)),
            Value::String(text) => {
                let mut end = text.len().min(CURSOR_TEXT_BYTES);
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                let hex: String = text.as_bytes()[..end]
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                format!("s{hex}")
            }
            _ => "n".to_owned(),
        };
        format!("{}.{value}", self.id)
    }

    /// Reads a cursor of the form [`Cursor::PATTERN`] describes; refuses anything else.
    pub(crate) fn decode(text: &str) -> Result<Cursor, String> {
        let invalid = || {
            format!(
                "cursor must look like `{{id}}.n`, `{{id}}.i{{integer}}` or `{{id}}.s{{hex}}` (a `next_cursor`), got `{}`",
                text.chars().take(40).collect::<String>()
            )
        };
        /// An integer of 1–18 digits, optionally negative: always an `i64`.
        fn integer(text: &str) -> Option<i64> {
            let digits = text.strip_prefix('-').unwrap_or(text);
            if digits.is_empty() || digits.len() > 18 || !digits.bytes().all(|b| b.is_ascii_digit())
            {
                return None;
            }
            text.parse().ok()
        }
        let (id, value) = text.split_once('.').ok_or_else(invalid)?;
        let id = integer(id).ok_or_else(invalid)?;
        let value = match value.split_at_checked(1) {
            Some(("n", "")) => Value::Null,
            Some(("i", n)) => Value::from(integer(n).ok_or_else(invalid)?),
            Some(("s", hex))
                if hex.len() % 2 == 0
                    && hex.len() <= 2 * CURSOR_TEXT_BYTES
                    && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) =>
            {
                let bytes: Vec<u8> = (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
                    .collect::<Result<_, _>>()
                    .map_err(|_| invalid())?;
                Value::from(String::from_utf8_lossy(&bytes).into_owned())
            }
            _ => return Err(invalid()),
        };
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
                open_issues: Some(0),
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
                node_id: None,
                open_pull_requests: None,
            },
            languages: None,
            languages_for: None,
            libraries: None,
            libraries_for: None,
            details: None,
            details_for: None,
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
    }

    /// Every string of the documented form is a position; nothing else is.
    #[test]
    fn any_cursor_of_the_documented_form_is_a_position() {
        let names = vec![repo(7, "Zeta", 1, None), repo(9, "\u{e9}t\u{e9}", 1, None)];
        for key in [SortKey::Name, SortKey::Stars, SortKey::Pushed] {
            for repo in &names {
                let cursor = Cursor::after(repo, key);
                assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor), "{key}");
            }
        }
        assert_eq!(
            Cursor::after(&names[0], SortKey::Name).encode(),
            "7.s7a657461"
        );
        assert_eq!(Cursor::after(&names[0], SortKey::Pushed).encode(), "7.n");
        for fine in [
            "0.n",
            "-12.i-5",
            "123456789012345678.i000",
            "5.s",
            "5.sff00",
            "1.s41",
        ] {
            assert!(Cursor::decode(fine).is_ok(), "{fine}");
        }
        // Not UTF-8: read lossily, still a position.
        assert_eq!(
            Cursor::decode("3.sff").map(|c| c.value),
            Ok(Value::from("\u{fffd}"))
        );
        for wrong in [
            "",
            ".n",
            "1",
            "1.",
            "1.x",
            "1.nn",
            "1.i",
            "1.i1.5",
            "1.s0",
            "1.sFF",
            "1.s 0",
            "1234567890123456789.n",
            "1.i1234567890123456789",
            "+1.n",
            "1.i+1",
            "\u{bc}",
            "7b7d",
        ] {
            assert!(Cursor::decode(wrong).is_err(), "{wrong:?}");
        }
        let long = format!("1.s{}", "61".repeat(1_001));
        assert!(Cursor::decode(&long).is_err(), "over 1,000 bytes of text");
        // The pattern the document declares says the same (kept in step by hand: the
        // crate has no regex engine; the contract check holds the server to it).
        assert!(Cursor::PATTERN.contains("{1,18}") && Cursor::PATTERN.contains("{0,1000}"));
    }
}
