//! What the web layer keeps in memory: the store's summaries and the rendered answers
//! built from them. Every cached answer carries an `ETag`; a matching `If-None-Match`
//! gets 304.
//!
//! - **Only what changed is dropped.** The store's data version is checked at most once a
//!   second; when it moved, the organisations' change stamps say which ones did, and only
//!   their answers (and the overview's) are dropped ([`Scope`]). Rendered answers also go
//!   stale at each new minute, because they say how long ago things happened.
//! - **Each answer is drawn once per change (single flight).** The first request for a
//!   stale answer renders it; requests arriving meanwhile get the previous copy at once, or
//!   wait for the render when there is none. A render that started before a change is not
//!   taken as fresh. Data loads are single flight too, but nobody is given stale data.
//! - **Renders run off the async workers** (`block_in_place`), so a big page being drawn
//!   never holds up the requests queued behind it on the same worker.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::io::Cursor;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rocket::http::{ContentType, Header, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::{self, Responder, Response};
use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::sync::watch;

use super::WebState;
use crate::domain::OrgId;
use crate::store::{OrgDetail, OrgOverview, Store, StoreError, StoreResult};

/// How often the store is asked whether anything changed.
const CHECK_EVERY: Duration = Duration::from_secs(1);
/// Rendered answers kept at most (each distinct URL is one).
const MAX_RENDERED: usize = 2_000;
/// Organisation details kept at most (unknown names asked for are kept too, as `None`).
const MAX_DETAILS: usize = 1_000;

/// A rendered answer.
#[derive(Debug)]
pub(crate) struct Rendered {
    pub body: Arc<[u8]>,
    pub content_type: ContentType,
    pub etag: String,
    /// Extra headers (e.g. `Content-Disposition` for CSV).
    pub headers: Vec<(&'static str, String)>,
}

impl Rendered {
    pub(crate) fn new(body: impl Into<Vec<u8>>, content_type: ContentType) -> Self {
        let body = body.into();
        let mut hasher = DefaultHasher::new();
        body.hash(&mut hasher);
        Rendered {
            etag: format!("W/\"{:016x}\"", hasher.finish()),
            body: body.into(),
            content_type,
            headers: Vec::new(),
        }
    }

    pub(crate) fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.headers.push((name, value));
        self
    }
}

/// What an answer is drawn from, and so which writes make it stale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scope {
    /// One organisation's stored data: its page and its API answers.
    Org(OrgId),
    /// Every tracked organisation's summary: the overview, the list of organisations.
    Orgs,
    /// Anything else (the runs): stale after every change.
    Any,
}

impl Scope {
    fn touched_by(&self, changed: &HashSet<OrgId>) -> bool {
        match self {
            Scope::Org(org) => changed.contains(org),
            Scope::Orgs => !changed.is_empty(),
            Scope::Any => true,
        }
    }
}

/// One cached value: the last good copy, whether it is still current, and the load under
/// way (if any) that will replace it.
#[derive(Debug)]
struct Slot<V> {
    value: Option<V>,
    fresh: bool,
    scope: Scope,
    /// Moves each time the slot goes stale: a load that began under another generation
    /// finished too late to be current.
    generation: u64,
    flight: Option<Flight>,
}

#[derive(Debug)]
struct Flight {
    id: u64,
    /// Closes when the load ends, however it ends (dropped sender).
    done: watch::Receiver<()>,
}

impl<V> Slot<V> {
    fn new(scope: Scope) -> Self {
        Slot {
            value: None,
            fresh: false,
            scope,
            generation: 0,
            flight: None,
        }
    }

    fn stale(&mut self, keep_copy: bool) {
        self.fresh = false;
        self.generation += 1;
        if !keep_copy {
            self.value = None;
        }
    }
}

type Slots<K, V> = HashMap<K, Slot<V>>;

#[derive(Debug, Default)]
struct Inner {
    version: Option<i64>,
    stamps: HashMap<OrgId, i64>,
    checked_at: Option<Instant>,
    overview: Slots<(), Arc<Vec<OrgOverview>>>,
    details: Slots<OrgId, Arc<Option<OrgDetail>>>,
    rendered: Slots<String, Arc<Rendered>>,
    /// The minute (Unix time / 60) the rendered answers were drawn in.
    rendered_minute: i64,
    next_flight: u64,
}

impl Inner {
    /// Takes in the store's data version and stamps: what belongs to the organisations
    /// whose stamp moved (everything, the first time) goes stale.
    fn observe(&mut self, version: i64, stamps: HashMap<OrgId, i64>) {
        if self.version.is_some() {
            let changed: HashSet<OrgId> = stamps
                .iter()
                .filter(|(org, stamp)| self.stamps.get(*org) != Some(*stamp))
                .map(|(org, _)| org.clone())
                .collect();
            self.invalidate(Some(&changed));
        } else {
            self.invalidate(None);
        }
        self.version = Some(version);
        self.stamps = stamps;
        self.checked_at = Some(Instant::now());
    }

    /// Marks stale whatever the organisations in `changed` (all, when `None`) feed.
    fn invalidate(&mut self, changed: Option<&HashSet<OrgId>>) {
        let touched = |scope: &Scope| changed.is_none_or(|c| scope.touched_by(c));
        // Stale data is never served: drop it, keeping only the slots a load is filling
        // (marked stale, so that load is not taken as current).
        fn drop_data<K, V>(slots: &mut Slots<K, V>, touched: impl Fn(&Scope) -> bool) {
            slots.retain(|_, slot| !touched(&slot.scope) || slot.flight.is_some());
            for slot in slots.values_mut().filter(|s| touched(&s.scope)) {
                slot.stale(false);
            }
        }
        drop_data(&mut self.overview, touched);
        drop_data(&mut self.details, touched);
        for slot in self.rendered.values_mut().filter(|s| touched(&s.scope)) {
            slot.stale(true);
        }
    }
}

/// How a request gets a cached value.
enum Step<V> {
    /// Wait for the load under way, then look again.
    Wait(watch::Receiver<()>),
    /// Load it: this request leads the flight.
    Lead {
        id: u64,
        generation: u64,
        done: watch::Sender<()>,
    },
    Have(V),
}

/// Ends a flight when the leader finishes or is dropped (a client that went away), so
/// waiters never wait for a load nobody is doing.
struct FlightGuard<'a, K: Eq + Hash, V> {
    cache: &'a ViewCache,
    slots: fn(&mut Inner) -> &mut Slots<K, V>,
    key: &'a K,
    id: u64,
    _done: watch::Sender<()>,
}

impl<K: Eq + Hash, V> Drop for FlightGuard<'_, K, V> {
    fn drop(&mut self) {
        let mut inner = self.cache.lock();
        if let Some(slot) = (self.slots)(&mut inner).get_mut(self.key) {
            if slot.flight.as_ref().is_some_and(|f| f.id == self.id) {
                slot.flight = None;
            }
        }
    }
}

/// Runs a render to completion on this thread, telling the runtime to move the other
/// tasks of this worker elsewhere meanwhile. (A current-thread runtime, as in tests, has
/// no other worker to hand them to: there it is awaited as usual.)
async fn off_the_workers<F: Future>(future: F) -> F::Output {
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => {
            tokio::task::block_in_place(|| Handle::current().block_on(future))
        }
        _ => future.await,
    }
}

/// The web layer's cache.
#[derive(Debug, Default)]
pub(crate) struct ViewCache {
    inner: Mutex<Inner>,
}

impl ViewCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Marks stale what changed since the last check, if the store's data version moved.
    async fn sync(&self, store: &dyn Store) -> StoreResult<()> {
        let due = self
            .lock()
            .checked_at
            .is_none_or(|t| t.elapsed() >= CHECK_EVERY);
        if !due {
            return Ok(());
        }
        let version = store.data_version().await?;
        {
            let mut inner = self.lock();
            if inner.version == Some(version) {
                inner.checked_at = Some(Instant::now());
                return Ok(());
            }
        }
        let stamps = store.org_stamps().await?.into_iter().collect();
        self.lock().observe(version, stamps);
        Ok(())
    }

    /// The value in `slots[key]`: the current one, or loaded by `load` in a single flight.
    /// With `stale_ok`, a request that finds a load under way takes the previous copy.
    async fn fetch<K, V, E, F, Fut>(
        &self,
        slots: fn(&mut Inner) -> &mut Slots<K, V>,
        key: &K,
        scope: &Scope,
        stale_ok: bool,
        load: F,
    ) -> Result<V, E>
    where
        K: Eq + Hash + Clone,
        V: Clone,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        let mut load = Some(load);
        loop {
            let step = {
                let mut inner = self.lock();
                let flight_id = inner.next_flight;
                let slot = slots(&mut inner)
                    .entry(key.clone())
                    .or_insert_with(|| Slot::new(scope.clone()));
                match (&slot.value, &slot.flight) {
                    (Some(value), _) if slot.fresh => Step::Have(value.clone()),
                    (Some(value), Some(_)) if stale_ok => Step::Have(value.clone()),
                    (_, Some(flight)) => Step::Wait(flight.done.clone()),
                    (_, None) => {
                        let (done, watch) = watch::channel(());
                        slot.flight = Some(Flight {
                            id: flight_id,
                            done: watch,
                        });
                        let generation = slot.generation;
                        inner.next_flight += 1;
                        Step::Lead {
                            id: flight_id,
                            generation,
                            done,
                        }
                    }
                }
            };
            match step {
                Step::Have(value) => return Ok(value),
                Step::Wait(mut done) => {
                    // Err means the leader is gone: either way, look again.
                    let _ = done.changed().await;
                }
                Step::Lead {
                    id,
                    generation,
                    done,
                } => {
                    let _guard = FlightGuard {
                        cache: self,
                        slots,
                        key,
                        id,
                        _done: done,
                    };
                    let Some(load) = load.take() else {
                        unreachable!("a request leads at most one flight: it returns after it")
                    };
                    let result = load().await;
                    if let Ok(value) = &result {
                        let mut inner = self.lock();
                        if let Some(slot) = slots(&mut inner).get_mut(key) {
                            slot.value = Some(value.clone());
                            slot.fresh = slot.generation == generation;
                        }
                    }
                    return result;
                }
            }
        }
    }

    /// Every tracked organisation's summary.
    pub(crate) async fn overview(&self, store: &dyn Store) -> StoreResult<Arc<Vec<OrgOverview>>> {
        self.sync(store).await?;
        self.fetch(
            |i| &mut i.overview,
            &(),
            &Scope::Orgs,
            false,
            || async { Ok(Arc::new(store.overview().await?)) },
        )
        .await
    }

    /// One organisation's detail; `None` inside when it is unknown.
    pub(crate) async fn detail(
        &self,
        store: &dyn Store,
        org: &OrgId,
    ) -> StoreResult<Arc<Option<OrgDetail>>> {
        self.sync(store).await?;
        {
            let mut inner = self.lock();
            if inner.details.len() >= MAX_DETAILS && !inner.details.contains_key(org) {
                inner.details.retain(|_, slot| slot.flight.is_some());
            }
        }
        let scope = Scope::Org(org.clone());
        self.fetch(
            |i| &mut i.details,
            org,
            &scope,
            false,
            || async { Ok(Arc::new(store.org_detail(org).await?)) },
        )
        .await
    }

    /// The answer cached under `key`, drawn from `scope`, rendered on a miss (off the async
    /// workers). Errors are not cached.
    pub(crate) async fn rendered<F, Fut, E>(
        &self,
        store: &dyn Store,
        key: &str,
        scope: &Scope,
        render: F,
    ) -> Result<Arc<Rendered>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Rendered, E>>,
        E: From<StoreError>,
    {
        self.sync(store).await?;
        let minute = chrono::Utc::now().timestamp() / 60;
        {
            let mut inner = self.lock();
            if inner.rendered_minute != minute {
                for slot in inner.rendered.values_mut() {
                    slot.stale(true);
                }
                inner.rendered_minute = minute;
            }
            if inner.rendered.len() >= MAX_RENDERED && !inner.rendered.contains_key(key) {
                inner.rendered.retain(|_, slot| slot.flight.is_some());
            }
        }
        self.fetch(
            |i| &mut i.rendered,
            &key.to_owned(),
            scope,
            true,
            || async { off_the_workers(async { render().await.map(Arc::new) }).await },
        )
        .await
    }
}

/// The request's `If-None-Match` validators.
#[derive(Debug, Default)]
pub(crate) struct IfNoneMatch(Option<String>);

impl IfNoneMatch {
    fn matches(&self, etag: &str) -> bool {
        let strip = |t: &str| t.trim().trim_start_matches("W/").to_owned();
        self.0.as_deref().is_some_and(|h| {
            h.split(',')
                .any(|t| t.trim() == "*" || strip(t) == strip(etag))
        })
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for IfNoneMatch {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(IfNoneMatch(
            request
                .headers()
                .get_one("If-None-Match")
                .map(str::to_owned),
        ))
    }
}

/// What answering a cacheable `GET` takes: the shared state, the cache key (the request's
/// URL, query included) and the client's validators. Handlers take this one guard and
/// call [`CachedGet::answer`] with the [`Scope`] the answer is drawn from, pages and API
/// alike.
#[derive(Debug)]
pub(crate) struct CachedGet<'r> {
    pub state: &'r WebState,
    key: String,
    validators: IfNoneMatch,
}

impl CachedGet<'_> {
    /// The answer cached for this URL, rendered by `render` on a miss, or a 304 when the
    /// client has it already. Errors are answered as they are, never cached.
    pub(crate) async fn answer<F, Fut, E>(&self, scope: Scope, render: F) -> Result<Conditional, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Rendered, E>>,
        E: From<StoreError>,
    {
        let rendered = self
            .state
            .cache
            .rendered(self.state.store.as_ref(), &self.key, &scope, render)
            .await?;
        Ok(Conditional::new(rendered, &self.validators))
    }

    /// Every tracked organisation's summary, from the cache.
    pub(crate) async fn overview(&self) -> StoreResult<Arc<Vec<OrgOverview>>> {
        self.state.cache.overview(self.state.store.as_ref()).await
    }

    /// One organisation's detail, from the cache; `None` inside when it is unknown.
    pub(crate) async fn detail(&self, org: &OrgId) -> StoreResult<Arc<Option<OrgDetail>>> {
        self.state
            .cache
            .detail(self.state.store.as_ref(), org)
            .await
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for CachedGet<'r> {
    type Error = ();

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let Some(state) = request.rocket().state::<WebState>() else {
            return Outcome::Error((Status::InternalServerError, ()));
        };
        let validators = match IfNoneMatch::from_request(request).await {
            Outcome::Success(v) => v,
            _ => IfNoneMatch::default(),
        };
        Outcome::Success(CachedGet {
            state,
            key: request.uri().to_string(),
            validators,
        })
    }
}

/// A cached answer, or `304 Not Modified` when the client already has it.
#[derive(Debug)]
pub(crate) struct Conditional {
    pub rendered: Arc<Rendered>,
    pub not_modified: bool,
}

impl Conditional {
    pub(crate) fn new(rendered: Arc<Rendered>, validators: &IfNoneMatch) -> Self {
        let not_modified = validators.matches(&rendered.etag);
        Conditional {
            rendered,
            not_modified,
        }
    }
}

impl<'r> Responder<'r, 'static> for Conditional {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let mut response = Response::build();
        response
            .header(Header::new("ETag", self.rendered.etag.clone()))
            // Always revalidate: a 304 is cheap, stale data is not.
            .header(Header::new("Cache-Control", "no-cache"));
        if self.not_modified {
            return response.status(Status::NotModified).ok();
        }
        for (name, value) in &self.rendered.headers {
            response.header(Header::new(*name, value.clone()));
        }
        // One chunk: Rocket's default 4 KiB chunks cost a write each on large pages.
        response
            .header(self.rendered.content_type.clone())
            .max_chunk_size(self.rendered.body.len().max(4096))
            .sized_body(
                self.rendered.body.len(),
                Cursor::new(Arc::clone(&self.rendered.body)),
            )
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::atomic::{AtomicUsize, Ordering};

    fn org(s: &str) -> OrgId {
        s.parse().expect("org id")
    }

    /// Loads "v{n}" after waiting for `gate`, counting loads.
    async fn load(
        loads: &AtomicUsize,
        gate: &tokio::sync::Notify,
    ) -> Result<Arc<Rendered>, StoreError> {
        let n = loads.fetch_add(1, Ordering::SeqCst) + 1;
        gate.notified().await;
        Ok(Arc::new(Rendered::new(format!("v{n}"), ContentType::Plain)))
    }

    fn body(r: &Arc<Rendered>) -> &str {
        std::str::from_utf8(&r.body).expect("utf-8")
    }

    async fn page(
        cache: &ViewCache,
        loads: &AtomicUsize,
        gate: &tokio::sync::Notify,
    ) -> Result<Arc<Rendered>, StoreError> {
        let key = "/page".to_owned();
        cache
            .fetch(
                |i| &mut i.rendered,
                &key,
                &Scope::Any,
                true,
                || load(loads, gate),
            )
            .await
    }

    #[tokio::test]
    async fn one_render_per_change_however_many_ask() {
        let (cache, loads, gate) = (
            ViewCache::default(),
            AtomicUsize::new(0),
            tokio::sync::Notify::new(),
        );
        let asking = futures::future::join_all((0..20).map(|_| page(&cache, &loads, &gate)));
        let release = async {
            tokio::task::yield_now().await;
            gate.notify_waiters();
        };
        let (answers, ()) = tokio::join!(asking, release);
        assert_eq!(
            loads.load(Ordering::SeqCst),
            1,
            "one render for twenty requests"
        );
        assert!(answers
            .iter()
            .all(|a| a.as_ref().is_ok_and(|r| body(r) == "v1")));
    }

    #[tokio::test]
    async fn others_get_the_previous_copy_while_it_is_redrawn() {
        let (cache, loads, gate) = (
            ViewCache::default(),
            AtomicUsize::new(0),
            tokio::sync::Notify::new(),
        );
        gate.notify_one();
        assert_eq!(body(&page(&cache, &loads, &gate).await.expect("v1")), "v1");
        cache.lock().invalidate(None);
        let redraw = page(&cache, &loads, &gate);
        tokio::pin!(redraw);
        // The redraw starts and waits at the gate; meanwhile another request is answered
        // at once with the copy it replaces.
        assert!(futures::poll!(redraw.as_mut()).is_pending());
        let meanwhile = page(&cache, &loads, &gate).await.expect("copy");
        assert_eq!(body(&meanwhile), "v1");
        gate.notify_one();
        assert_eq!(body(&redraw.await.expect("v2")), "v2");
        assert_eq!(
            body(&page(&cache, &loads, &gate).await.expect("fresh")),
            "v2"
        );
        assert_eq!(loads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_render_begun_before_a_change_is_not_taken_as_current() {
        let (cache, loads, gate) = (
            ViewCache::default(),
            AtomicUsize::new(0),
            tokio::sync::Notify::new(),
        );
        let first = page(&cache, &loads, &gate);
        tokio::pin!(first);
        assert!(futures::poll!(first.as_mut()).is_pending());
        cache.lock().invalidate(None);
        gate.notify_one();
        assert_eq!(body(&first.await.expect("v1")), "v1");
        gate.notify_one();
        assert_eq!(
            body(&page(&cache, &loads, &gate).await.expect("v2")),
            "v2",
            "drawn again: v1 may predate the change"
        );
    }

    #[tokio::test]
    async fn a_leader_that_goes_away_frees_its_waiters() {
        let (cache, loads, gate) = (
            ViewCache::default(),
            AtomicUsize::new(0),
            tokio::sync::Notify::new(),
        );
        {
            let abandoned = page(&cache, &loads, &gate);
            tokio::pin!(abandoned);
            assert!(futures::poll!(abandoned.as_mut()).is_pending());
        } // the client went away mid-render
        gate.notify_one();
        let answer = tokio::time::timeout(Duration::from_secs(5), page(&cache, &loads, &gate))
            .await
            .expect("not stuck behind the abandoned render");
        assert_eq!(body(&answer.expect("v2")), "v2");
    }

    #[test]
    fn a_change_stales_only_that_organisation_and_the_summaries() {
        let (a, b) = (org("github:a"), org("github:b"));
        let mut inner = Inner::default();
        inner.observe(1, HashMap::from([(a.clone(), 1), (b.clone(), 1)]));
        for (key, scope) in [
            ("/orgs/github/a", Scope::Org(a.clone())),
            ("/orgs/github/b", Scope::Org(b.clone())),
            ("/", Scope::Orgs),
            ("/runs", Scope::Any),
        ] {
            let mut slot = Slot::new(scope);
            slot.value = Some(Arc::new(Rendered::new(key, ContentType::Plain)));
            slot.fresh = true;
            inner.rendered.insert(key.to_owned(), slot);
        }
        for org in [&a, &b] {
            let mut slot = Slot::new(Scope::Org(org.clone()));
            slot.value = Some(Arc::new(None));
            slot.fresh = true;
            inner.details.insert(org.clone(), slot);
        }
        inner.observe(2, HashMap::from([(a.clone(), 2), (b.clone(), 1)]));
        assert!(
            !inner.details.contains_key(&a) && inner.details[&b].fresh,
            "stale data is dropped, never kept as a copy"
        );
        let fresh = |inner: &Inner, key: &str| inner.rendered[key].fresh;
        assert!(!fresh(&inner, "/orgs/github/a"));
        assert!(fresh(&inner, "/orgs/github/b"), "b did not change");
        assert!(!fresh(&inner, "/") && !fresh(&inner, "/runs"));
        assert!(
            inner.rendered["/orgs/github/a"].value.is_some(),
            "the copy is kept"
        );
        // A run finishing moves the version and no stamp: only the runs go stale.
        for slot in inner.rendered.values_mut() {
            slot.fresh = true;
        }
        inner.observe(3, HashMap::from([(a, 2), (b, 1)]));
        assert!(fresh(&inner, "/orgs/github/a") && fresh(&inner, "/"));
        assert!(!fresh(&inner, "/runs"));
    }

    #[test]
    fn weak_and_strong_validators_match() {
        let etag = Rendered::new("hello", ContentType::Plain).etag;
        assert!(IfNoneMatch(Some(etag.clone())).matches(&etag));
        assert!(IfNoneMatch(Some(etag.trim_start_matches("W/").to_owned())).matches(&etag));
        assert!(IfNoneMatch(Some(format!("\"x\", {etag}"))).matches(&etag));
        assert!(IfNoneMatch(Some("*".into())).matches(&etag));
        assert!(!IfNoneMatch(Some("\"other\"".into())).matches(&etag));
        assert!(!IfNoneMatch(None).matches(&etag));
    }
}
