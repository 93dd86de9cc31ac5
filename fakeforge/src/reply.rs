//! How the fake answers: a JSON body with a forge's headers, the request's validators,
//! and the latency and faults each request may get.

use super::*;

/// An answer with GitHub's headers.
#[derive(Debug)]
pub struct Reply {
    pub(crate) status: Status,
    pub(crate) body: String,
    pub(crate) headers: Vec<(String, String)>,
}

impl Reply {
    pub(crate) fn json(status: Status, body: &Value, headers: Vec<(String, String)>) -> Self {
        Reply {
            status,
            body: body.to_string(),
            headers,
        }
    }

    pub(crate) fn text(status: Status, body: &str, mut headers: Vec<(String, String)>) -> Self {
        headers.push(("content-type".into(), "text/plain; charset=utf-8".into()));
        Reply {
            status,
            body: body.to_owned(),
            headers,
        }
    }

    /// A redirect to `location` (`status` 301 or 307).
    pub(crate) fn redirect(status: Status, location: String) -> Self {
        Reply {
            status,
            body: String::new(),
            headers: vec![("location".into(), location)],
        }
    }
}

impl<'r> Responder<'r, 'static> for Reply {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let mut response = Response::build();
        response.status(self.status);
        if self.status != Status::NotModified {
            response.header(Header::new(
                "content-type",
                "application/json; charset=utf-8",
            ));
            response.sized_body(self.body.len(), Cursor::new(self.body));
        }
        for (name, value) in self.headers {
            // Replaces a header of the same name: a flavour's own content type wins.
            response.header(Header::new(name, value));
        }
        response.ok()
    }
}

/// The request's `If-None-Match`.
#[derive(Debug)]
pub struct IfNoneMatch(pub(crate) Option<String>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for IfNoneMatch {
    type Error = std::convert::Infallible;

    async fn from_request(request: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        Outcome::Success(IfNoneMatch(
            request
                .headers()
                .get_one("if-none-match")
                .map(str::to_owned),
        ))
    }
}

/// Waits the configured latency (or a stall) and says which fault this request gets.
pub(crate) async fn delay(forge: &Forge) -> Option<Fault> {
    let n = forge
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let f = forge.faults();
    let roll = (world::mix_public(n ^ 0x5eed) >> 11) as f64 / (1u64 << 53) as f64;
    let fault = if roll < f.server_error {
        Some(Fault::ServerError)
    } else if roll < f.server_error + f.stall {
        Some(Fault::Stall)
    } else if roll < f.server_error + f.stall + f.truncate {
        Some(Fault::Truncate)
    } else if roll < f.server_error + f.stall + f.truncate + f.secondary {
        Some(Fault::Secondary(n.is_multiple_of(2)))
    } else {
        None
    };
    if fault == Some(Fault::Stall) {
        forge.count_fault("stall");
        tokio::time::sleep(f.stall_for).await;
    }
    if !forge.config.latency.is_zero() {
        tokio::time::sleep(forge.config.latency).await;
    }
    fault
}
