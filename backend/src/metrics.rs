//! Counters and histograms, rendered in Prometheus' text format by the web layer. One
//! [`Metrics`] is made at start-up and handed to the layers that record: the sources count
//! upstream answers, ingest times refresh runs, the web layer counts requests. Tests make
//! their own.
//!
//! The text format is written here directly: the exposition is a few dozen lines, and the
//! client crates (`prometheus`, `prometheus-client`) would change the output
//! (OpenMetrics `# EOF`, `_created` series, other content types) and put a registry and
//! per-label atomics where one mutex over a small map does.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

/// Latency buckets in seconds, from a cached page to a slow upstream call.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];
/// Refresh durations in seconds.
const RUN_BUCKETS: [f64; 9] = [1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0];

#[derive(Debug, Clone, Default)]
struct Histogram {
    /// Cumulative counts per upper bound, in the order of the bounds used.
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, bounds: &[f64], value: f64) {
        if self.counts.is_empty() {
            self.counts = vec![0; bounds.len()];
        }
        for (slot, bound) in self.counts.iter_mut().zip(bounds) {
            if value <= *bound {
                *slot += 1;
            }
        }
        self.sum += value;
        self.count += 1;
    }

    fn render(&self, out: &mut String, name: &str, labels: &str, bounds: &[f64]) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (bound, count) in bounds.iter().zip(&self.counts) {
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {count}");
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}",
            self.count
        );
        let braces = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

/// Requests of one route.
#[derive(Debug, Default)]
struct RouteStats {
    by_status: BTreeMap<(&'static str, u16), u64>,
    latency: Histogram,
}

#[derive(Debug, Default)]
struct Inner {
    /// Keyed by route template; looked up by `&str`, so a request allocates nothing.
    http: HashMap<String, RouteStats>,
    upstream: BTreeMap<String, u64>,
    refresh_duration: Histogram,
    rate_limit_remaining: Option<u64>,
    /// GraphQL points spent, by forge instance.
    graphql_points: BTreeMap<String, u64>,
}

/// The metrics of one application (a server, or a test's own).
#[derive(Debug, Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// One HTTP request served: `route` is the route template (`/orgs/<forge>/<login>`).
    pub(crate) fn http_request(
        &self,
        route: &str,
        method: &'static str,
        status: u16,
        took: Duration,
    ) {
        let mut inner = self.lock();
        if !inner.http.contains_key(route) {
            inner.http.insert(route.to_owned(), RouteStats::default());
        }
        if let Some(stats) = inner.http.get_mut(route) {
            *stats.by_status.entry((method, status)).or_insert(0) += 1;
            stats.latency.observe(&BUCKETS, took.as_secs_f64());
        }
    }

    /// One upstream answer: its status code, or `error` when none came.
    pub(crate) fn upstream_response(&self, status: Option<u16>) {
        let key = status.map_or_else(|| "error".to_owned(), |s| s.to_string());
        *self.lock().upstream.entry(key).or_insert(0) += 1;
    }

    /// The rate-limit budget a forge last reported.
    pub(crate) fn rate_limit_remaining(&self, remaining: u64) {
        self.lock().rate_limit_remaining = Some(remaining);
    }

    /// GraphQL points a query of `forge` cost (its `rateLimit.cost`).
    pub(crate) fn graphql_points(&self, forge: &str, points: u64) {
        *self
            .lock()
            .graphql_points
            .entry(forge.to_owned())
            .or_insert(0) += points;
    }

    /// A refresh run finished after `took`.
    pub(crate) fn refresh_finished(&self, took: Duration) {
        self.lock()
            .refresh_duration
            .observe(&RUN_BUCKETS, took.as_secs_f64());
    }

    /// Everything in Prometheus' text exposition format.
    pub(crate) fn render(&self) -> String {
        let inner = self.lock();
        let mut out = String::new();
        out.push_str(
            "# HELP orgpulse_http_requests_total HTTP requests served, by route and status.\n",
        );
        out.push_str("# TYPE orgpulse_http_requests_total counter\n");
        let mut routes: Vec<(&String, &RouteStats)> = inner.http.iter().collect();
        routes.sort_by_key(|(route, _)| *route);
        for (route, stats) in &routes {
            for ((method, status), count) in &stats.by_status {
                let _ = writeln!(
                    out,
                    "orgpulse_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {count}",
                    escape(route)
                );
            }
        }
        out.push_str(
            "# HELP orgpulse_http_request_duration_seconds Time to answer an HTTP request.\n",
        );
        out.push_str("# TYPE orgpulse_http_request_duration_seconds histogram\n");
        for (route, stats) in &routes {
            let labels = format!("route=\"{}\"", escape(route));
            stats.latency.render(
                &mut out,
                "orgpulse_http_request_duration_seconds",
                &labels,
                &BUCKETS,
            );
        }
        out.push_str("# HELP orgpulse_upstream_requests_total Forge API answers, by status (304 = not modified, free).\n");
        out.push_str("# TYPE orgpulse_upstream_requests_total counter\n");
        for (status, count) in &inner.upstream {
            let _ = writeln!(
                out,
                "orgpulse_upstream_requests_total{{status=\"{status}\"}} {count}"
            );
        }
        out.push_str(
            "# HELP orgpulse_refresh_duration_seconds Wall time of refresh runs in this process.\n",
        );
        out.push_str("# TYPE orgpulse_refresh_duration_seconds histogram\n");
        inner.refresh_duration.render(
            &mut out,
            "orgpulse_refresh_duration_seconds",
            "",
            &RUN_BUCKETS,
        );
        if !inner.graphql_points.is_empty() {
            out.push_str("# HELP orgpulse_graphql_points_total GraphQL rate-limit points spent, by forge (each query's rateLimit.cost).\n");
            out.push_str("# TYPE orgpulse_graphql_points_total counter\n");
            for (forge, points) in &inner.graphql_points {
                let _ = writeln!(
                    out,
                    "orgpulse_graphql_points_total{{forge=\"{}\"}} {points}",
                    escape(forge)
                );
            }
        }
        if let Some(remaining) = inner.rate_limit_remaining {
            out.push_str("# HELP orgpulse_rate_limit_remaining Requests left in the forge's rate-limit window, as last reported.\n");
            out.push_str("# TYPE orgpulse_rate_limit_remaining gauge\n");
            let _ = writeln!(out, "orgpulse_rate_limit_remaining {remaining}");
        }
        out
    }
}

/// Escapes a label value.
pub(crate) fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_histograms() {
        let m = Metrics::default();
        m.http_request(
            "/orgs/<forge>/<login>",
            "GET",
            200,
            Duration::from_millis(3),
        );
        m.http_request(
            "/orgs/<forge>/<login>",
            "GET",
            200,
            Duration::from_millis(30),
        );
        m.upstream_response(Some(304));
        m.upstream_response(None);
        let text = m.render();
        assert!(text.contains(r#"orgpulse_http_requests_total{route="/orgs/<forge>/<login>",method="GET",status="200"} 2"#), "{text}");
        assert!(text.contains(r#"orgpulse_http_request_duration_seconds_bucket{route="/orgs/<forge>/<login>",le="0.005"} 1"#), "{text}");
        assert!(text.contains(r#"orgpulse_http_request_duration_seconds_bucket{route="/orgs/<forge>/<login>",le="0.05"} 2"#), "{text}");
        assert!(text.contains(
            r#"orgpulse_http_request_duration_seconds_count{route="/orgs/<forge>/<login>"} 2"#
        ));
        assert!(text.contains(r#"orgpulse_upstream_requests_total{status="304"} 1"#));
        assert!(text.contains(r#"orgpulse_upstream_requests_total{status="error"} 1"#));
        assert!(text.contains("orgpulse_refresh_duration_seconds_count 0"));
    }
}
