//! The tera templates, compiled into the binary and parsed once at start-up.

use rocket::http::Status;
use serde::Serialize;
use tera::{Context, Tera};

/// Changes whenever the stylesheet does, so browsers never keep a stale one.
pub(crate) fn asset_version() -> &'static str {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSION.get_or_init(|| {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        super::assets::CSS.hash(&mut h);
        format!("{:08x}", h.finish() as u32)
    })
}

fn escape(text: &str) -> String {
    super::charts::esc(text)
}

/// The page templates.
#[derive(Debug)]
pub(crate) struct Templates {
    tera: Tera,
}

impl Templates {
    pub(crate) fn load() -> Result<Self, tera::Error> {
        let mut tera = Tera::default();
        tera.add_raw_templates(vec![
            ("base.html", include_str!("../../templates/base.html")),
            ("index.html", include_str!("../../templates/index.html")),
            ("kpis.html", include_str!("../../templates/kpis.html")),
            (
                "activity.html",
                include_str!("../../templates/activity.html"),
            ),
            (
                "security.html",
                include_str!("../../templates/security.html"),
            ),
            ("org.html", include_str!("../../templates/org.html")),
            ("repo.html", include_str!("../../templates/repo.html")),
            ("changes.html", include_str!("../../templates/changes.html")),
            ("runs.html", include_str!("../../templates/runs.html")),
            ("error.html", include_str!("../../templates/error.html")),
            ("docs.html", include_str!("../../templates/docs.html")),
        ])?;
        // Tera's default also escapes `/`, which only makes URLs unreadable.
        tera.set_escape_fn(escape);
        Ok(Templates { tera })
    }

    /// Renders `name` with `data` plus what every page shows (`nav` names the section).
    pub(crate) fn render(
        &self,
        name: &str,
        nav: &str,
        data: &impl Serialize,
    ) -> Result<String, tera::Error> {
        let mut context = Context::from_serialize(data)?;
        context.insert("nav", nav);
        context.insert("asset_version", asset_version());
        context.insert("version", env!("CARGO_PKG_VERSION"));
        context.insert(
            "generated_at",
            &chrono::Utc::now().format("%Y-%m-%d %H:%M").to_string(),
        );
        self.tera.render(name, &context)
    }

    pub(crate) fn error_page(
        &self,
        status: Status,
        title: &str,
        message: &str,
    ) -> Result<String, tera::Error> {
        /// What `error.html` shows.
        #[derive(serde::Serialize)]
        struct ErrorPage<'a> {
            status: u16,
            title: &'a str,
            message: &'a str,
        }
        self.render(
            "error.html",
            "",
            &ErrorPage {
                status: status.code,
                title,
                message,
            },
        )
    }
}
