//! What the web layer keeps in memory: the store's summaries and the rendered answers
//! built from them, valid until the store's data version moves (checked at most once a
//! second). Rendered answers also expire at each new minute, because they say how long
//! ago things happened and whether data is still fresh. Every cached answer carries an
//! `ETag`; a matching `If-None-Match` gets 304.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::io::Cursor;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rocket::http::{ContentType, Header, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::{self, Responder, Response};

use super::WebState;
use crate::domain::OrgId;
use crate::store::{OrgDetail, OrgOverview, Store, StoreError, StoreResult};

/// How often the store is asked whether anything changed.
const CHECK_EVERY: Duration = Duration::from_secs(1);
/// Rendered answers kept at most (each distinct URL is one).
const MAX_RENDERED: usize = 2_000;

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

#[derive(Debug, Default)]
struct Inner {
    version: Option<i64>,
    checked_at: Option<Instant>,
    overview: Option<Arc<Vec<OrgOverview>>>,
    details: HashMap<OrgId, Arc<Option<OrgDetail>>>,
    rendered: HashMap<String, Arc<Rendered>>,
    /// The minute (Unix time / 60) the rendered answers were drawn in.
    rendered_minute: i64,
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

    /// Drops everything if the store's data changed since the last check.
    async fn sync(&self, store: &dyn Store) -> StoreResult<()> {
        let due = self
            .lock()
            .checked_at
            .is_none_or(|t| t.elapsed() >= CHECK_EVERY);
        if !due {
            return Ok(());
        }
        let version = store.data_version().await?;
        let mut inner = self.lock();
        if inner.version != Some(version) {
            *inner = Inner {
                version: Some(version),
                ..Inner::default()
            };
        }
        inner.checked_at = Some(Instant::now());
        Ok(())
    }

    /// Every tracked organisation's summary.
    pub(crate) async fn overview(&self, store: &dyn Store) -> StoreResult<Arc<Vec<OrgOverview>>> {
        self.sync(store).await?;
        if let Some(hit) = self.lock().overview.clone() {
            return Ok(hit);
        }
        let loaded = Arc::new(store.overview().await?);
        self.lock().overview = Some(loaded.clone());
        Ok(loaded)
    }

    /// One organisation's detail; `None` inside when it is unknown.
    pub(crate) async fn detail(
        &self,
        store: &dyn Store,
        org: &OrgId,
    ) -> StoreResult<Arc<Option<OrgDetail>>> {
        self.sync(store).await?;
        if let Some(hit) = self.lock().details.get(org).cloned() {
            return Ok(hit);
        }
        let loaded = Arc::new(store.org_detail(org).await?);
        self.lock().details.insert(org.clone(), loaded.clone());
        Ok(loaded)
    }

    /// The answer cached under `key`, rendering it on a miss. Errors are not cached.
    pub(crate) async fn rendered<F, Fut, E>(
        &self,
        store: &dyn Store,
        key: &str,
        render: F,
    ) -> Result<Arc<Rendered>, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Rendered, E>>,
        E: From<StoreError>,
    {
        self.sync(store).await?;
        let minute = chrono::Utc::now().timestamp() / 60;
        {
            let mut inner = self.lock();
            if inner.rendered_minute != minute {
                inner.rendered.clear();
                inner.rendered_minute = minute;
            }
            if let Some(hit) = inner.rendered.get(key).cloned() {
                return Ok(hit);
            }
        }
        let rendered = Arc::new(render().await?);
        let mut inner = self.lock();
        if inner.rendered.len() >= MAX_RENDERED {
            inner.rendered.clear();
        }
        inner.rendered.insert(key.to_owned(), rendered.clone());
        Ok(rendered)
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
/// call [`CachedGet::answer`], pages and API alike.
#[derive(Debug)]
pub(crate) struct CachedGet<'r> {
    pub state: &'r WebState,
    key: String,
    validators: IfNoneMatch,
}

impl CachedGet<'_> {
    /// The answer cached for this URL, rendered by `render` on a miss, or a 304 when the
    /// client has it already. Errors are answered as they are, never cached.
    pub(crate) async fn answer<F, Fut, E>(&self, render: F) -> Result<Conditional, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Rendered, E>>,
        E: From<StoreError>,
    {
        let rendered = self
            .state
            .cache
            .rendered(self.state.store.as_ref(), &self.key, render)
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
