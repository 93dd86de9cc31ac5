//! Activity on Gitea/Forgejo, through the real pipeline against fakeforge's issues,
//! pull requests, comments and releases (bots, a deleted account, authors answering
//! themselves, late first responses): what is stored equals the fake's own items, an
//! unchanged day costs two requests, the next day picks up only what moved, and the
//! figures equal an independent computation from the fake's items.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use fakeforge::activity::{self as fake, Item};
use orgpulse::domain::activity::{ActivityFigures, BotRules, Window};
use orgpulse::domain::{EventKind, ForgeKind, RunStatus};
use orgpulse::ingest::{ActivityOptions, Clock, ForgeAccess, IngestContext};
use orgpulse::store::Store;

use crate::common::*;

const DAY: u32 = 30;

async fn forge() -> fakeforge::Running {
    fakeforge::start(fakeforge::ForgeConfig {
        world: fakeforge::WorldConfig {
            orgs: 1,
            repos: 30,
            seed: 41,
            changed_per_day: 0.05,
        },
        day: DAY,
        rate_limit: 1_000_000,
        ..fakeforge::ForgeConfig::default()
    })
    .await
    .expect("fakeforge starts")
}

fn time(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).expect("time")
}

/// A forge kind under test: where fakeforge serves it and what its requests are called.
struct Subject {
    /// The forge's name in organisation ids.
    name: &'static str,
    kind: ForgeKind,
    /// Its API root under fakeforge's URL.
    api: &'static str,
    /// The listing counters an unchanged day costs, one request each.
    listings: &'static [&'static str],
    /// Reading comments (first responses), and releases.
    comments: &'static str,
    /// Whether this forge's comments are read from the sync's start only (Gitea's
    /// per-repository `since`), so items opened earlier may miss an earlier response.
    comments_since_start: bool,
    /// Whether comments come with the listing (GitHub's search), so that only items whose
    /// first comments hold no response have theirs read apart.
    comments_listed: bool,
    releases: &'static str,
    /// The login this forge shows for a world author.
    login: fn(Option<&str>) -> Option<String>,
}

const FORGEJO: Subject = Subject {
    name: "codeberg",
    kind: ForgeKind::Forgejo,
    api: "/forgejo/api/v1",
    listings: &["forgejo issues search 200"],
    comments: "forgejo comments 200",
    comments_since_start: true,
    comments_listed: false,
    releases: "forgejo releases 200",
    login: |a| a.map(str::to_owned),
};

const GITLAB: Subject = Subject {
    name: "gitlab",
    kind: ForgeKind::GitLab,
    api: "/gitlab/api/v4",
    listings: &["gitlab merge requests 200", "gitlab issues 200"],
    comments: "gitlab notes 200",
    comments_since_start: false,
    comments_listed: false,
    releases: "gitlab releases 200",
    login: |a| a.map(|a| fakeforge::gitlab_activity::login(Some(a)).to_owned()),
};

const GITHUB: Subject = Subject {
    name: "github",
    kind: ForgeKind::GitHub,
    api: "",
    // One search per kind: GraphQL has no separate counter per kind.
    listings: &["graphql search 200"],
    comments: "graphql item nodes 200",
    comments_since_start: false,
    comments_listed: true,
    releases: "graphql repository nodes 200",
    login: |a| a.map(str::to_owned),
};

fn ctx(
    subject: &Subject,
    store: Arc<dyn Store>,
    forge: &fakeforge::Running,
    day: u32,
) -> IngestContext {
    let mut ctx = context_at(store, &forge.url);
    ctx.forges = vec![ForgeAccess::new(
        subject.name,
        subject.kind,
        &format!("{}{}", forge.url, subject.api),
    )];
    // GitHub's activity is read over GraphQL, which needs a token.
    ctx.forges[0].token = Some(orgpulse::domain::Secret::new("ghp_orgpulse_test"));
    ctx.clock = Clock::fixed(time(fake::now(forge.forge.world(), day)));
    ctx.activity = ActivityOptions {
        enabled: true,
        days: 90,
        bots: BotRules::default(),
    };
    ctx
}

fn counter(forge: &fakeforge::Running, key: &str) -> u64 {
    forge.forge.counters().get(key).copied().unwrap_or(0)
}

/// Everything, for reading back all stored items.
fn all_time() -> Window {
    Window {
        from: "2000-01-01".parse().expect("day"),
        to: "2100-01-01".parse().expect("day"),
    }
}

#[tokio::test]
async fn forgejo_activity_is_stored_as_the_forge_has_it_and_read_incrementally() {
    activity_through_the_pipeline(&FORGEJO).await;
}

#[tokio::test]
async fn gitlab_activity_is_stored_as_the_forge_has_it_and_read_incrementally() {
    activity_through_the_pipeline(&GITLAB).await;
}

#[tokio::test]
async fn github_activity_is_stored_as_the_forge_has_it_and_read_incrementally() {
    activity_through_the_pipeline(&GITHUB).await;
}

/// What is stored equals the fake's items, an unchanged day costs one listing per kind,
/// a later day reads what moved, and the API, CSV and page serve figures equal to an
/// independent computation.
async fn activity_through_the_pipeline(subject: &Subject) {
    let forge = forge().await;
    let world = forge.forge.world().clone();
    let org_world = world.orgs[0].clone();
    let id = format!("{}:{}", subject.name, org_world.login);
    let (_db, store) = sqlite_store().await;
    let ctx = |store: Arc<dyn Store>, forge: &fakeforge::Running, day: u32| {
        self::ctx(subject, store, forge, day)
    };

    let first = refresh(&ctx(store.clone(), &forge, DAY), &[&id]).await;
    assert_eq!(first.status, RunStatus::Succeeded, "{:?}", first.outcomes);
    let since = fake::now(&world, DAY) - 90 * 86_400;
    let truth: Vec<Item> = fake::items(&world, &org_world, DAY)
        .into_iter()
        .filter(|i| i.updated() >= since)
        .collect();
    assert!(truth.len() > 20, "{} items", truth.len());
    let stored: BTreeMap<i64, _> = store
        .activity_items(&org(&id), all_time(), None)
        .await
        .expect("items")
        .into_iter()
        .map(|i| (i.id, i))
        .collect();
    assert_eq!(
        stored.keys().copied().collect::<Vec<_>>(),
        {
            let mut ids: Vec<i64> = truth.iter().map(|i| i.id).collect();
            ids.sort_unstable();
            ids
        },
        "every item updated in the last 90 days, once"
    );
    let mut answered = 0;
    for t in &truth {
        let s = &stored[&t.id];
        assert_eq!(s.author, (subject.login)(t.author), "{}", t.id);
        assert_eq!(s.author_bot, t.author.is_some_and(|a| a.ends_with("[bot]")));
        assert_eq!(s.created_at, time(t.created));
        assert_eq!(s.closed_at, t.closed.map(time), "{}", t.id);
        assert_eq!(s.merged_at, t.merged.map(time), "{}", t.id);
        assert_eq!(s.repo_id, t.repo_id);
        // Comments are read from the sync's start: exact for items created since then.
        if t.created >= since || !subject.comments_since_start {
            assert_eq!(
                s.first_response_at,
                t.first_response().map(time),
                "{}",
                t.id
            );
            answered += usize::from(t.first_response().is_some());
        }
    }
    assert!(answered > 5, "{answered} answered items");
    assert!(
        truth.iter().any(|t| t.author.is_none())
            && truth.iter().any(|t| t.author == Some("renovate[bot]")),
        "the world has deleted authors and bots"
    );
    let releases = store.releases(&org(&id), None).await.expect("releases");
    assert!(!releases.is_empty());

    if subject.comments_listed {
        assert!(
            counter(&forge, subject.comments) > 0,
            "the comments of items whose first page held no response"
        );
    }

    // The same day again: one search per kind, nothing else for activity.
    forge.forge.reset_counters();
    let again = refresh(&ctx(store.clone(), &forge, DAY), &[&id]).await;
    assert_eq!(again.status, RunStatus::Succeeded, "{:?}", again.outcomes);
    for listing in subject.listings {
        assert_eq!(
            counter(&forge, listing),
            2 / subject.listings.len() as u64,
            "{listing}"
        );
    }
    assert_eq!(counter(&forge, subject.comments), 0);
    // Releases only of repositories active within the sync's overlap (the hour before
    // the last sync, which here is this very moment).
    let overlap = time(fake::now(&world, DAY) - 3_600);
    let recently_active = store
        .list_repos(&org(&id))
        .await
        .expect("repos")
        .iter()
        .filter(|r| r.listing.activity_at().is_some_and(|at| at >= overlap))
        .count() as u64;
    assert!(
        counter(&forge, subject.releases) <= recently_active,
        "{} release reads, {recently_active} repositories active in the overlap",
        counter(&forge, subject.releases)
    );

    // Days later: what moved since is read, and the stored items follow the forge.
    let later = DAY + 6;
    forge.forge.set_day(later);
    forge.forge.reset_counters();
    let next = refresh(&ctx(store.clone(), &forge, later), &[&id]).await;
    assert_eq!(next.status, RunStatus::Succeeded, "{:?}", next.outcomes);
    assert!(
        subject.comments_listed || counter(&forge, subject.comments) > 0,
        "active repositories' comments"
    );
    let now_truth: HashMap<i64, Item> = fake::items(&world, &org_world, later)
        .into_iter()
        .map(|i| (i.id, i))
        .collect();
    for s in store
        .activity_items(&org(&id), all_time(), None)
        .await
        .expect("items")
    {
        let t = &now_truth[&s.id];
        assert_eq!(
            (s.closed_at, s.merged_at),
            (t.closed.map(time), t.merged.map(time)),
            "{}",
            s.id
        );
        if t.created >= since || !subject.comments_since_start {
            assert_eq!(
                s.first_response_at,
                t.first_response().map(time),
                "{}",
                s.id
            );
        }
    }

    // The figures of the last 30 days equal those computed from the fake's own items.
    let window = Window::ending(time(fake::now(&world, later)).date_naive(), 30);
    let items = store
        .activity_items(&org(&id), window, None)
        .await
        .expect("items");
    let first = store
        .first_items(&org(&id), &orgpulse::domain::activity::authors(&items))
        .await
        .expect("first items");
    let releases = store.releases(&org(&id), None).await.expect("releases");
    let figures = ActivityFigures::of(window, &items, &first, &releases);
    let independent = independent_figures(window, now_truth.values(), &world, &org_world, later);
    assert_eq!(figures.counts.pulls_opened, independent.pulls_opened);
    assert_eq!(figures.counts.pulls_merged, independent.pulls_merged);
    assert_eq!(figures.counts.issues_opened, independent.issues_opened);
    assert_eq!(figures.first_response.answered, independent.answered);
    assert_eq!(figures.first_response.waiting, independent.waiting);
    assert_eq!(
        figures.first_response.median_hours,
        independent.median_response
    );
    assert_eq!(figures.contributors, independent.contributors);
    assert_eq!(figures.releases, independent.releases);

    // The API serves the same figures, with the window before for comparison.
    let client = crate::web::client(store.clone()).await;
    let base = format!("/api/v1/orgs/{}/{}", subject.name, org_world.login);
    let uri = format!("{base}/activity?from={}&to={}", window.from, window.to);
    let (status, body) = crate::web::json(&client, &uri).await;
    assert_eq!(status, rocket::http::Status::Ok, "{body}");
    assert_eq!(body["available"], true);
    let current = &body["current"];
    assert_eq!(current["counts"]["pulls_opened"], independent.pulls_opened);
    assert_eq!(current["counts"]["pulls_merged"], independent.pulls_merged);
    assert_eq!(current["first_response"]["waiting"], independent.waiting);
    assert_eq!(
        current["first_response"]["median_hours"].as_f64(),
        independent.median_response
    );
    assert_eq!(current["contributors"], independent.contributors);
    assert_eq!(body["previous"]["window"]["to"], window.from.to_string());
    assert!(current["weeks"].as_array().is_some_and(|w| w.len() >= 4));
    // One repository's share, and refusals.
    let repo = &items[0];
    let name = store
        .list_repos(&org(&id))
        .await
        .expect("repos")
        .into_iter()
        .find(|r| r.listing.id == repo.repo_id)
        .expect("its repository")
        .listing
        .name
        .replace('/', "%2F");
    let (status, one) = crate::web::json(
        &client,
        &format!(
            "{base}/repos/{name}/activity?from={}&to={}",
            window.from, window.to
        ),
    )
    .await;
    assert_eq!(status, rocket::http::Status::Ok, "{one}");
    let mine = items
        .iter()
        .filter(|i| i.repo_id == repo.repo_id && window_holds(window, i.created_at))
        .count();
    assert_eq!(
        one["current"]["counts"]["pulls_opened"]
            .as_u64()
            .unwrap_or(0)
            + one["current"]["counts"]["issues_opened"]
                .as_u64()
                .unwrap_or(0),
        mine as u64
    );
    // The repository's page has the same section, its share only.
    let (status, html) = crate::web::get(
        &client,
        &format!(
            "/orgs/{}/{}/repos/{name}?range=90d",
            subject.name, org_world.login
        ),
    )
    .await;
    assert_eq!(status, rocket::http::Status::Ok);
    let section = &html[html.find("id=\"activity\"").expect("an activity section")..];
    assert!(
        section.contains("of this repository") && section.contains("Pull requests per week"),
        "{section}"
    );
    assert!(section.contains(&format!("{base}/repos/{name}/activity")));
    for bad in ["from=soon", "to=", "to=2026-13-01"] {
        let (status, body) = crate::web::json(&client, &format!("{base}/activity?{bad}")).await;
        crate::web::assert_api_error(
            status,
            &body,
            rocket::http::Status::UnprocessableEntity,
            "invalid_parameter",
        );
    }
    // One row per item as CSV, pull requests and issues apart.
    let range = format!("from={}&to={}", window.from, window.to);
    for (file, pull) in [("pulls.csv", true), ("issues.csv", false)] {
        let (status, csv) = crate::web::get(&client, &format!("{base}/{file}?{range}")).await;
        assert_eq!(status, rocket::http::Status::Ok, "{file}");
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        assert_eq!(
            reader.headers().expect("header").iter().collect::<Vec<_>>(),
            orgpulse::web::api::ITEM_CSV_COLUMNS
        );
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
        let wanted: Vec<&orgpulse::domain::activity::ActivityItem> = items
            .iter()
            .filter(|i| (i.kind == orgpulse::domain::activity::ItemKind::PullRequest) == pull)
            .collect();
        assert_eq!(rows.len(), wanted.len(), "{file}");
        let first = wanted[0];
        let row = rows
            .iter()
            .find(|r| r[0] == first.id.to_string())
            .expect("its row");
        assert_eq!(&row[3], first.author.as_deref().unwrap_or(""));
        assert_eq!(&row[5], first.state.as_str());
        assert_eq!(row[9].is_empty(), first.first_response_at.is_none());
    }
    // The window's contributors, as the figures count them.
    let (status, people) = crate::web::json(&client, &format!("{base}/contributors?{range}")).await;
    assert_eq!(status, rocket::http::Status::Ok, "{people}");
    let listed = people["items"].as_array().expect("items");
    assert_eq!(listed.len() as u64, independent.contributors);
    assert!(listed
        .iter()
        .all(|c| !c["login"].as_str().unwrap_or("").ends_with("[bot]")));
    let opened: u64 = listed
        .iter()
        .map(|c| c["pulls_opened"].as_u64().unwrap_or(0) + c["issues_opened"].as_u64().unwrap_or(0))
        .sum();
    let human_created = items
        .iter()
        .filter(|i| i.contributor().is_some() && window_holds(window, i.created_at))
        .count() as u64;
    assert_eq!(opened, human_created);
    assert_eq!(
        listed.iter().filter(|c| c["new"] == true).count() as u64,
        figures.new_contributors
    );
    // Needs attention: repositories with open items that got no first response within
    // ORGPULSE_RESPONSE_DAYS (14) of being opened, as of the listing.
    let (status, attention) = crate::web::json(&client, &format!("{base}/attention")).await;
    assert_eq!(status, rocket::http::Status::Ok, "{attention}");
    assert_eq!(attention["response_days"], 14);
    let flagged: std::collections::BTreeSet<i64> = attention["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| {
            i["reasons"]
                .as_array()
                .is_some_and(|r| r.iter().any(|r| r == "waiting_for_response"))
        })
        .filter_map(|i| i["id"].as_i64())
        .collect();
    let stored_ids: std::collections::HashSet<i64> = store
        .activity_items(&org(&id), all_time(), None)
        .await
        .expect("items")
        .iter()
        .map(|i| i.id)
        .collect();
    let cutoff = fake::now(&world, later) - 14 * 86_400;
    let waiting = |t: &&Item| {
        stored_ids.contains(&t.id)
            && t.closed.is_none()
            && t.first_response().is_none()
            && t.created < cutoff
    };
    let truly: std::collections::BTreeSet<i64> = now_truth
        .values()
        .filter(waiting)
        .map(|t| t.repo_id)
        .collect();
    assert!(!truly.is_empty(), "the world has items left unanswered");
    if subject.comments_since_start {
        // Items opened before the first sync's start may have been answered before it,
        // out of this forge's comment reads: at least every truly waiting one is flagged.
        assert!(truly.is_subset(&flagged), "{truly:?} ⊄ {flagged:?}");
    } else {
        assert_eq!(flagged, truly);
    }

    // Every pair of dates is answered: backwards is empty, too long is cut.
    let (status, empty) = crate::web::json(
        &client,
        &format!("{base}/activity?from=2026-03-10&to=2026-03-01"),
    )
    .await;
    assert_eq!(status, rocket::http::Status::Ok, "{empty}");
    assert_eq!(empty["current"]["window"]["to"], "2026-03-10");
    assert_eq!(empty["current"]["counts"]["pulls_opened"], 0);
    let (status, cut) = crate::web::json(
        &client,
        &format!("{base}/activity?from=2000-01-01&to=2026-01-01"),
    )
    .await;
    assert_eq!(status, rocket::http::Status::Ok, "{cut}");
    assert_eq!(cut["current"]["window"]["from"], "2015-12-25");
    // The organisation's page shows the section.
    let (status, html) = crate::web::get(
        &client,
        &format!("/orgs/{}/{}?range=90d", subject.name, org_world.login),
    )
    .await;
    assert_eq!(status, rocket::http::Status::Ok);
    let section = &html[html.find("id=\"activity\"").expect("an activity section")..];
    let section = &section[..section.find("</section>").expect("its end")];
    assert!(section.contains("Pull requests per week"), "{section}");
    assert!(section.contains("First response, median"));
    assert!(!section.contains("Not available"));
    let (status, body) = crate::web::json(&client, "/api/v1/orgs/github/nobody/activity").await;
    crate::web::assert_api_error(status, &body, rocket::http::Status::NotFound, "not_found");
}

fn window_holds(window: Window, at: DateTime<Utc>) -> bool {
    window.from <= at.date_naive() && at.date_naive() < window.to
}

/// An organisation whose forge gives no activity says so: not available, not zero.
#[tokio::test]
async fn an_organisation_without_activity_says_it_is_not_available() {
    let (_db, store) = sqlite_store().await;
    let acme = org("github:acme");
    store
        .add_tracked_org(&acme, at("2026-03-01"))
        .await
        .expect("track");
    store
        .commit_org_refresh(&crate::common::records::commit(
            &acme,
            "2026-03-01",
            vec![crate::common::records::record(&acme, 1, 5, "2026-03-01")],
        ))
        .await
        .expect("commit");
    let client = crate::web::client(store).await;
    let (status, body) = crate::web::json(&client, "/api/v1/orgs/github/acme/activity").await;
    assert_eq!(status, rocket::http::Status::Ok, "{body}");
    assert_eq!(body["available"], false);
    assert_eq!(body["synced_until"], serde_json::Value::Null);
    assert_eq!(body["current"]["closure_ratio"], serde_json::Value::Null);
    let (_, html) = crate::web::get(&client, "/orgs/github/acme").await;
    assert!(html.contains("id=\"activity\""), "{html}");
    assert!(
        html.contains("Not available: activity"),
        "says why, not zeros"
    );
}

#[derive(Debug, Default)]
struct Independent {
    pulls_opened: u64,
    pulls_merged: u64,
    issues_opened: u64,
    answered: u64,
    waiting: u64,
    median_response: Option<f64>,
    contributors: u64,
    releases: u64,
}

/// The figures from the fake's items, straight from the definitions.
fn independent_figures<'a>(
    window: Window,
    items: impl Iterator<Item = &'a Item>,
    world: &fakeforge::World,
    org_world: &fakeforge::world::Org,
    day: u32,
) -> Independent {
    let start = window
        .from
        .and_hms_opt(0, 0, 0)
        .expect("time")
        .and_utc()
        .timestamp();
    let end = window
        .to
        .and_hms_opt(0, 0, 0)
        .expect("time")
        .and_utc()
        .timestamp();
    let inside = |t: i64| start <= t && t < end;
    let mut f = Independent::default();
    let mut responses = Vec::new();
    let mut people = std::collections::BTreeSet::new();
    for i in items {
        if inside(i.created) {
            if i.pull {
                f.pulls_opened += 1;
            } else {
                f.issues_opened += 1;
            }
            match i.first_response() {
                Some(at) => responses.push((at - i.created) as f64 / 3600.0),
                None => f.waiting += 1,
            }
            if let Some(a) = i.author.filter(|a| !a.ends_with("[bot]")) {
                people.insert(a);
            }
        }
        if i.merged.is_some_and(inside) {
            f.pulls_merged += 1;
        }
    }
    f.answered = responses.len() as u64;
    responses.sort_by(f64::total_cmp);
    let n = responses.len();
    f.median_response = (n > 0).then(|| {
        if n % 2 == 1 {
            responses[n / 2]
        } else {
            (responses[n / 2 - 1] + responses[n / 2]) / 2.0
        }
    });
    f.contributors = people.len() as u64;
    f.releases = fake::releases(world, org_world, day)
        .iter()
        .filter(|r| inside(r.published))
        .count() as u64;
    f
}

/// GitHub's search pages only to its first 1,000 results: an organisation with more items
/// of a kind in the span is read in time slices, every item once, in about one request
/// per 100 items.
#[tokio::test]
async fn github_search_is_sliced_below_its_thousand_result_cap() {
    let forge = fakeforge::start(fakeforge::ForgeConfig {
        world: fakeforge::WorldConfig {
            orgs: 1,
            repos: 480,
            seed: 41,
            changed_per_day: 0.05,
        },
        life: fakeforge::Life {
            active_repos: 480,
            ..fakeforge::Life::default()
        },
        day: DAY,
        rate_limit: 1_000_000,
        graphql_points: 1_000_000,
        ..fakeforge::ForgeConfig::default()
    })
    .await
    .expect("fakeforge starts");
    let world = forge.forge.world().clone();
    let org_world = world.orgs[0].clone();
    let id = format!("github:{}", org_world.login);
    let (_db, store) = sqlite_store().await;
    let run = refresh(&ctx(&GITHUB, store.clone(), &forge, DAY), &[&id]).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.outcomes);

    let since = fake::now(&world, DAY) - 90 * 86_400;
    let truth: Vec<Item> = fake::items(&world, &org_world, DAY)
        .into_iter()
        .filter(|i| i.updated() >= since)
        .collect();
    let pulls = truth.iter().filter(|i| i.pull).count();
    assert!(
        pulls > 1_000,
        "{pulls} pull requests: more than one search reaches"
    );
    let mut stored: Vec<i64> = store
        .activity_items(&org(&id), all_time(), None)
        .await
        .expect("items")
        .iter()
        .map(|i| i.id)
        .collect();
    stored.sort_unstable();
    let mut wanted: Vec<i64> = truth.iter().map(|i| i.id).collect();
    wanted.sort_unstable();
    assert_eq!(stored, wanted, "every item, once");
    let searches = counter(&forge, "graphql search 200");
    let pages = pulls.div_ceil(100) + (truth.len() - pulls).div_ceil(100);
    // One probe per kind that is cut, and a short last page per slice.
    assert!(
        searches as f64 <= 1.2 * pages as f64 + 4.0,
        "{searches} searches for {} items ({pages} full pages)",
        truth.len()
    );
}

/// A later sync records a release it had not seen and a contributor's first item as
/// events; the first sync is the starting point and records neither.
#[tokio::test]
async fn releases_and_newcomers_are_news_after_the_first_sync() {
    let forge = forge().await;
    let world = forge.forge.world().clone();
    let org_world = world.orgs[0].clone();
    let id = format!("codeberg:{}", org_world.login);
    let (_db, store) = sqlite_store().await;
    let early = 10;
    forge.forge.set_day(early);
    let run = refresh(&ctx(&FORGEJO, store.clone(), &forge, early), &[&id]).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.outcomes);
    let news = |events: Vec<orgpulse::domain::StoredEvent>, kind: EventKind| {
        let mut found: Vec<(Option<i64>, String)> = events
            .into_iter()
            .filter(|e| e.event.kind == kind)
            .map(|e| (e.event.repo_id, e.event.to.unwrap_or_default()))
            .collect();
        found.sort();
        found
    };
    let all = orgpulse::store::EventQuery::latest(10_000);
    let first = store.list_events(&all).await.expect("events");
    assert!(news(first.clone(), EventKind::ReleasePublished).is_empty());
    assert!(news(first, EventKind::NewContributor).is_empty());

    forge.forge.set_day(DAY);
    let run = refresh(&ctx(&FORGEJO, store.clone(), &forge, DAY), &[&id]).await;
    assert_eq!(run.status, RunStatus::Succeeded, "{:?}", run.outcomes);
    let events = store.list_events(&all).await.expect("events");

    // Independently: releases published between the syncs; people whose first item is
    // among those the second sync read, unknown to the first.
    let then = fake::now(&world, early);
    let mut released: Vec<(Option<i64>, String)> = fake::releases(&world, &org_world, DAY)
        .into_iter()
        .filter(|r| r.published > then)
        .map(|r| (Some(r.repo_id), r.tag))
        .collect();
    released.sort();
    assert!(!released.is_empty(), "the world releases between the syncs");
    assert_eq!(news(events.clone(), EventKind::ReleasePublished), released);
    let human = |i: &Item| i.author.filter(|a| !a.ends_with("[bot]"));
    let known: std::collections::BTreeSet<&str> = fake::items(&world, &org_world, early)
        .iter()
        .filter(|i| i.updated() >= then - 90 * 86_400)
        .filter_map(human)
        .collect();
    let mut newcomers: Vec<&str> = fake::items(&world, &org_world, DAY)
        .iter()
        .filter(|i| i.updated() >= then - 3_600)
        .filter_map(human)
        .filter(|a| !known.contains(a))
        .collect();
    newcomers.sort_unstable();
    newcomers.dedup();
    assert!(!newcomers.is_empty(), "the world has newcomers");
    let recorded: Vec<String> = news(events, EventKind::NewContributor)
        .into_iter()
        .map(|(_, login)| login)
        .collect();
    assert_eq!(recorded, newcomers);
}
