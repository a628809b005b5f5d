//! Prometheus metrics: requests and latency by route and status, pool in use, the
//! widget-read cache's size and the rate limiters' memory.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpResponse};
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};
use tracing_actix_web::RequestId;

use crate::app::{AppState, State};
use crate::http::public::WIDGET_READ_ROUTES;

pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    pool_in_use: IntGauge,
    pool_open: IntGauge,
    cache_bytes: IntGauge,
    cache_entries: IntGauge,
    /// Expired widget reads by how they were refreshed: `unchanged` (confirmed by the
    /// vendor's widget version) or `recomputed`.
    cache_refreshes: IntCounterVec,
    limiter_keys: IntGauge,
    /// The series of the widget reads (`GET` of each of `WIDGET_READ_ROUTES`, answered 200
    /// or 304), resolved once on first use: the most frequent requests skip the label
    /// lookup (three strings hashed under a lock, twice per request).
    widget_reads: [std::sync::OnceLock<(IntCounter, Histogram)>; 2 * WIDGET_READ_ROUTES.len()],
}

impl Metrics {
    pub fn new() -> anyhow::Result<Metrics> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("truview_http_requests_total", "HTTP requests by method, route and status"),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "truview_http_request_duration_seconds",
                "HTTP request latency by method, route and status",
            )
            .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5]),
            &["method", "route", "status"],
        )?;
        let pool_in_use = IntGauge::new("truview_db_pool_connections_in_use", "Database connections handed out")?;
        let pool_open = IntGauge::new("truview_db_pool_connections_open", "Database connections open")?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(pool_in_use.clone()))?;
        let cache_bytes = IntGauge::new("truview_public_cache_bytes", "Bytes held by the widget-read cache")?;
        let cache_entries = IntGauge::new("truview_public_cache_entries", "Entries in the widget-read cache")?;
        let cache_refreshes = IntCounterVec::new(
            Opts::new("truview_public_cache_refreshes_total", "Expired widget reads refreshed, by outcome"),
            &["outcome"],
        )?;
        registry.register(Box::new(cache_refreshes.clone()))?;
        let limiter_keys = IntGauge::new("truview_rate_limiter_keys", "Buckets held by the node's rate limiters")?;
        registry.register(Box::new(pool_open.clone()))?;
        registry.register(Box::new(cache_bytes.clone()))?;
        registry.register(Box::new(cache_entries.clone()))?;
        registry.register(Box::new(limiter_keys.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            latency,
            pool_in_use,
            pool_open,
            cache_bytes,
            cache_entries,
            cache_refreshes,
            limiter_keys,
            widget_reads: Default::default(),
        })
    }

    /// Counts one request and records how long it took.
    pub(crate) fn observe(&self, method: &Method, route: Option<&str>, status: StatusCode, seconds: f64) {
        let labels = [method.as_str(), route.unwrap_or("unmatched"), status.as_str()];
        let read = (method == Method::GET).then(|| WIDGET_READ_ROUTES.iter().position(|r| Some(*r) == route)).flatten();
        let slot = match (read, status) {
            (Some(read), StatusCode::OK) => Some(2 * read),
            (Some(read), StatusCode::NOT_MODIFIED) => Some(2 * read + 1),
            _ => None,
        };
        match slot {
            Some(slot) => {
                let (count, latency) = self.widget_reads[slot].get_or_init(|| {
                    (self.requests.with_label_values(&labels), self.latency.with_label_values(&labels))
                });
                count.inc();
                latency.observe(seconds);
            }
            None => {
                self.requests.with_label_values(&labels).inc();
                self.latency.with_label_values(&labels).observe(seconds);
            }
        }
    }

    pub fn render(&self, state: &AppState) -> String {
        let (in_use, open) = state.db.state();
        self.pool_in_use.set(i64::from(in_use));
        self.pool_open.set(i64::from(open));
        self.cache_bytes.set(i64::try_from(state.public_cache.bytes()).unwrap_or(i64::MAX));
        self.cache_entries.set(i64::try_from(state.public_cache.len()).unwrap_or(i64::MAX));
        let refreshes = state.public_cache.refresh_counts();
        for (outcome, total) in [("unchanged", refreshes.unchanged), ("recomputed", refreshes.recomputed)] {
            let counter = self.cache_refreshes.with_label_values(&[outcome]);
            counter.inc_by(total.saturating_sub(counter.get()));
        }
        self.limiter_keys.set(i64::try_from(state.limits.tracked()).unwrap_or(i64::MAX));
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(error = %e, "cannot encode metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

/// Counts and times every request under its route pattern (not its raw path, which would
/// let callers create unbounded label values), and echoes the request id.
pub async fn track(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let start = Instant::now();
    let method = req.method().clone();
    // Formatted on the stack: no `to_string` and no second copy for the header value.
    let request_id = req.extensions().get::<RequestId>().map(|id| **id);
    let state = req.app_data::<State>().cloned();
    let mut res = next.call(req).await?;
    let route = crate::http::route_pattern(res.request());
    if let Some(state) = state {
        state.metrics.observe(&method, route.as_deref(), res.status(), start.elapsed().as_secs_f64());
    }
    if let Some(id) = request_id {
        set_request_id(res.headers_mut(), &id);
    }
    Ok(res)
}

/// Echoes the request id (formatted on the stack: no `to_string`, no second copy).
pub fn set_request_id(headers: &mut actix_web::http::header::HeaderMap, id: &uuid::Uuid) {
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    if let Ok(value) = HeaderValue::from_bytes(id.hyphenated().encode_lower(&mut buf).as_bytes()) {
        headers.insert(HeaderName::from_static("x-request-id"), value);
    }
}

pub async fn render(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(state.metrics.render(&state))
}
