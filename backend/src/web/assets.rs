//! Static assets compiled into the binary: served with a long cache lifetime, because
//! pages link them with a content version (`?v=…`).

use rocket::http::{ContentType, Header};
use rocket::response::Responder;

pub(crate) const CSS: &str = include_str!("../../static/app.css");
pub(crate) const DOCS_JS: &str = include_str!("../../static/docs.js");
pub(crate) const FAVICON: &str = include_str!("../../static/favicon.svg");

#[derive(Responder)]
pub(crate) struct Asset {
    body: &'static str,
    content_type: ContentType,
    cache: Header<'static>,
}

fn asset(body: &'static str, content_type: ContentType) -> Asset {
    Asset {
        body,
        content_type,
        cache: Header::new("Cache-Control", "public, max-age=86400"),
    }
}

#[rocket::get("/app.css")]
pub(crate) fn css() -> Asset {
    asset(CSS, ContentType::CSS)
}

#[rocket::get("/docs.js")]
pub(crate) fn docs_js() -> Asset {
    asset(DOCS_JS, ContentType::JavaScript)
}

#[rocket::get("/favicon.svg")]
pub(crate) fn favicon() -> Asset {
    asset(FAVICON, ContentType::SVG)
}

pub(crate) fn routes() -> Vec<rocket::Route> {
    rocket::routes![css, docs_js, favicon]
}
