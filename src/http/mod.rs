//! actix-web: one file per area; handlers stay thin (extract → domain → store → respond).

pub mod assets;
pub mod audit;
pub mod auth;
pub mod body;
pub mod cases;
pub mod console;
pub mod demo;
pub mod errors;
pub mod extract;
pub mod fragment;
pub mod funnel;
pub mod hosted;
pub mod html;
pub mod inbound;
pub mod integrations;
pub mod jobs;
pub mod keys;
pub mod kyc;
pub mod kyp;
pub mod metrics;
pub mod moderation;
pub mod ops;
pub mod orders;
pub mod page_words;
pub mod privacy;
pub mod products;
pub mod public;
pub mod receipts;
pub mod reports;
pub mod spec;
pub mod staff;
pub mod syndication;
pub mod text;
pub mod vendors;
pub mod widget;
pub mod widget_key;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::{web, App, HttpMessage, HttpRequest, HttpResponse};
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder, TracingLogger};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::OpenApi;
use utoipa::Modify;

use crate::app::State;
use crate::error::Error;
use crate::security::ratelimit;
use errors::Problem;

/// JSON bodies are limited to 64 KiB (R8).
pub const JSON_LIMIT: usize = 64 * 1024;

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "TruView API",
        description = "Verified customer reviews: review flows, maturity levels 0–5, moderation, public widget reads.\n\nErrors are RFC 9457 `application/problem+json`.",
        version = "1.0.0"
    ),
    modifiers(&SecuritySchemes),
    components(schemas(Problem))
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, api: &mut OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "staff",
            SecurityScheme::Http(Http::builder().scheme(HttpAuthScheme::Bearer).bearer_format("JWT").build()),
        );
        components.add_security_scheme(
            "secret_key",
            SecurityScheme::Http(Http::builder().scheme(HttpAuthScheme::Bearer).bearer_format("sk_…").build()),
        );
        components.add_security_scheme(
            "inbound",
            SecurityScheme::Http(Http::builder().scheme(HttpAuthScheme::Basic).description(Some("The inbound-mail service: any user, `mail.inbound_secret` as the password (or as a Bearer token).")).build()),
        );
        components.add_security_scheme(
            "publishable_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Truview-Key"))),
        );
    }
}

/// Where routes are registered: with their OpenAPI documentation (the served document and
/// `truview openapi`, built once), or as plain actix services (each server worker's app:
/// documenting every route again per worker ran every handler's OpenAPI code at start-up,
/// which kept that code resident for nothing).
pub enum ServiceConfig<'a, 's> {
    Documented(&'a mut utoipa_actix_web::service_config::ServiceConfig<'s>),
    Plain(&'a mut web::ServiceConfig),
}

impl ServiceConfig<'_, '_> {
    pub fn service<F>(&mut self, factory: F) -> &mut Self
    where
        F: actix_web::dev::HttpServiceFactory + utoipa_actix_web::OpenApiFactory + 'static,
    {
        match self {
            ServiceConfig::Documented(cfg) => {
                cfg.service(factory);
            }
            ServiceConfig::Plain(cfg) => {
                cfg.service(factory);
            }
        }
        self
    }

    pub fn configure(&mut self, f: impl FnOnce(&mut Self)) -> &mut Self {
        f(self);
        self
    }
}

/// Every route, registered once: actix serves them and utoipa documents them.
pub fn routes(cfg: &mut ServiceConfig) {
    // Routes are tried in this order and dynamic segments cost a regex match each:
    // the widget reads, by far the most frequent requests, come first.
    cfg.configure(public::widget_reads)
        .configure(fragment::routes)
        .configure(ops::routes)
        .configure(vendors::routes)
        .configure(auth::routes)
        .configure(staff::routes)
        .configure(keys::routes)
        .configure(audit::routes)
        .configure(public::routes)
        .configure(moderation::routes)
        .configure(cases::routes)
        .configure(reports::routes)
        .configure(privacy::routes)
        .configure(products::routes)
        .configure(orders::routes)
        .configure(syndication::routes)
        .configure(jobs::routes)
        .configure(kyp::routes)
        .configure(integrations::routes)
        .configure(receipts::routes)
        .configure(widget::routes)
        .configure(demo::routes)
        .configure(console::routes)
        .configure(kyc::routes)
        // Before the invitation pages: `/r/new` is not an invitation's `/r/{token}`.
        .configure(hosted::routes)
        .configure(funnel::routes)
        .configure(inbound::routes);
}

/// The whole application for one worker.
pub fn app(
    state: State,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(state)
        .app_data(web::JsonConfig::default().limit(JSON_LIMIT).error_handler(errors::json_error))
        .app_data(web::QueryConfig::default().error_handler(errors::query_error))
        .app_data(web::PathConfig::default().error_handler(errors::path_error))
        .app_data(web::FormConfig::default().limit(JSON_LIMIT).error_handler(errors::form_error))
        .app_data(web::PayloadConfig::default().limit(JSON_LIMIT))
        .configure(|cfg| routes(&mut ServiceConfig::Plain(cfg)))
        .route("/api/v1/public/{tail:.*}", web::method(Method::OPTIONS).to(public::preflight))
        .default_service(web::to(fallback))
        .wrap(actix_web::middleware::from_fn(client_limits))
        .wrap(actix_web::middleware::from_fn(metrics::track))
        .wrap(SECURITY_HEADERS.into_iter().fold(DefaultHeaders::new(), |headers, h| headers.add(h)))
        .wrap(TracingLogger::<ClientSpan>::new())
        .wrap(actix_web::middleware::from_fn(widget_reads_first))
}

/// Headers every response carries (R5) unless its handler set them.
const SECURITY_HEADERS: [(header::HeaderName, &str); 3] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::X_FRAME_OPTIONS, "DENY"),
];

/// Middleware, outermost: a `GET` of a widget read, by far the most frequent request, is
/// answered here by the same code as its route, doing inline what the layers inside do
/// for every other request: request id and span (as `TracingLogger`), per-IP limit and
/// client scope (`client_limits`), metrics and the request id header (`metrics::track`),
/// security headers. It skips their boxed futures and extension writes and the router's
/// regex capture and method guard (P1: `benches/RESULTS.md`).
async fn widget_reads_first(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::EitherBody<impl MessageBody>>, actix_web::Error> {
    use tracing::Instrument;
    let read = if req.method() == Method::GET { public::WidgetRead::of(req.path()) } else { None };
    let (Some((read, pk)), Some(state)) = (read, req.app_data::<State>()) else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let started = std::time::Instant::now();
    let (pk, state) = (pk.to_owned(), state.clone());
    let request_id = uuid::Uuid::new_v4();
    let span = request_span(&req, Some(request_id));
    let ip = client_ip(&req);
    let (req, _) = req.into_parts();
    let answer = async {
        if let Some(ip) = ip {
            ratelimit::check(&state.limits.per_ip, &ip)?;
        }
        ratelimit::serving(ip, public::widget_read_answer(&state, &req, read, pk)).await
    }
    .instrument(span.clone())
    .await;
    let mut res = match answer {
        Ok(res) => ServiceResponse::new(req, res),
        Err(e) => ServiceResponse::from_err(e, req),
    };
    let headers = res.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        if !headers.contains_key(&name) {
            headers.insert(name, header::HeaderValue::from_static(value));
        }
    }
    metrics::set_request_id(headers, &request_id);
    state.metrics.observe(&Method::GET, Some(read.route()), res.status(), started.elapsed().as_secs_f64());
    if let Some(e) = res.response().error() {
        span.in_scope(|| log_error(e.as_response_error(), res.status()));
    }
    let outcome = Ok(res);
    ClientSpan::on_request_end(span, &outcome);
    Ok(outcome?.map_into_right_body())
}

/// As `TracingLogger` logs a request that ended in an error.
fn log_error(e: &dyn actix_web::ResponseError, status: StatusCode) {
    let prefix = "Error encountered while processing the incoming HTTP request";
    if status.is_client_error() {
        tracing::warn!("{prefix}: {e:?}");
    } else {
        tracing::error!("{prefix}: {e:?}");
    }
}

/// A request's route pattern once walked out of the route table (see `route_pattern`).
#[derive(Clone)]
struct RoutePattern(Option<String>);

/// The route a request is counted and logged under: the first registered pattern its path
/// matches (whatever the method), `None` when none does. A widget read is known from its
/// path ([`public::WidgetRead::of`]); any other path is walked over the route table (a
/// regex match per route tried) once per request: the request span and the metrics both
/// ask, so the answer is kept in the request's extensions. So it must not be called while
/// they are borrowed (as `connection_info()`'s guard borrows them).
pub fn route_pattern(req: &actix_web::HttpRequest) -> Option<std::borrow::Cow<'static, str>> {
    if let Some((read, _)) = public::WidgetRead::of(req.path()) {
        return Some(read.route().into());
    }
    if let Some(known) = req.extensions().get::<RoutePattern>() {
        return known.0.clone().map(Into::into);
    }
    let pattern = req.match_pattern();
    req.extensions_mut().insert(RoutePattern(pattern.clone()));
    pattern.map(Into::into)
}

/// Deserialises a field that may be absent (`None`), `null` (`Some(None)`) or a value.
pub fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    serde::Deserialize::deserialize(d).map(Some)
}

/// The client's address as the rate limiter sees it (after trusted-proxy handling); the
/// same value is logged as `http.client_ip`.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<std::net::IpAddr>);

/// `X-Forwarded-For` lines read (the right-most ones); more would mean more proxies than any
/// deployment chains.
const MAX_FORWARDED_LINES: usize = 8;

/// The request's client (trusted-proxy aware), computed once per request and kept in its
/// extensions: the root span, the limiter and the handlers all see the same value.
pub fn client_ip_of(req: &ServiceRequest) -> Option<std::net::IpAddr> {
    if let Some(known) = req.extensions().get::<ClientIp>() {
        return known.0;
    }
    let ip = client_ip(req);
    req.extensions_mut().insert(ClientIp(ip));
    ip
}

/// The request's client (trusted-proxy aware), computed afresh.
fn client_ip(req: &ServiceRequest) -> Option<std::net::IpAddr> {
    match req.app_data::<State>() {
        Some(state) if state.limits.trusts_some_proxy() => {
            // All lines, read as one list from the right (`get_all` only iterates forwards,
            // so the last `MAX_FORWARDED_LINES` are buffered on the stack). A line that is
            // not UTF-8 is read lossily rather than skipped, so it cannot hide the proxy's.
            let all = req.headers().get_all(header::X_FORWARDED_FOR);
            let skip = all.count().saturating_sub(MAX_FORWARDED_LINES);
            let mut buf: [std::borrow::Cow<'_, str>; MAX_FORWARDED_LINES] = Default::default();
            let mut len = 0;
            for line in req.headers().get_all(header::X_FORWARDED_FOR).skip(skip) {
                buf[len] = String::from_utf8_lossy(line.as_bytes());
                len += 1;
            }
            state.limits.client_ip(req.peer_addr().map(|a| a.ip()), buf[..len].iter().map(|l| l.as_ref()))
        }
        Some(state) => state.limits.client_ip(req.peer_addr().map(|a| a.ip()), std::iter::empty()),
        None => req.peer_addr().map(|a| a.ip()),
    }
}

/// Applies the per-IP limit to every path but `/health` (decided on the raw path, so no
/// spelling of a limited path can reach its handler unlimited: `/%61pi/…` is limited like
/// `/api/…`), and records the client for the key limits further in.
async fn client_limits(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::EitherBody<impl MessageBody>>, actix_web::Error> {
    let ip = client_ip_of(&req);
    if let (Some(ip), Some(state), false) = (ip, req.app_data::<State>(), req.path() == "/health") {
        if let Err(e) = ratelimit::check(&state.limits.per_ip, &ip) {
            let (req, _) = req.into_parts();
            let res = actix_web::ResponseError::error_response(&e);
            return Ok(ServiceResponse::new(req, res).map_into_right_body());
        }
    }
    Ok(ratelimit::serving(ip, next.call(req)).await?.map_into_left_body())
}

/// The service's public base URL for links it hands out: the configured `public_url`, else
/// the origin this request reached.
pub fn public_base(state: &State, req: &actix_web::HttpRequest) -> String {
    match &state.settings.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => {
            let info = req.connection_info();
            format!("{}://{}", info.scheme(), info.host())
        }
    }
}

/// A list's `cursor` that is an id (`next_cursor` of the previous page): empty or absent
/// means the first page; anything that is not an id is a 400.
pub fn id_cursor(raw: Option<&str>) -> crate::error::Result<Option<String>> {
    match raw.filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(c) if c.len() <= 64 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') => {
            Ok(Some(c.to_owned()))
        }
        Some(_) => Err(crate::error::Error::BadRequest("invalid cursor".into())),
    }
}

/// The request target as logged: a path that carries a secret (a feed URL's token) is
/// logged as its route, and query values are dropped (flow tokens, codes), keeping names.
fn loggable_target(uri: &actix_web::http::Uri) -> String {
    let path = uri.path();
    let path = if path.starts_with("/feeds/") { "/feeds/{feed_token}/…" } else { path };
    match uri.query() {
        None => path.to_owned(),
        Some(q) => {
            let names: Vec<&str> = q.split('&').map(|pair| pair.split('=').next().unwrap_or("")).collect();
            format!("{path}?{}", names.join("=…&") + "=…")
        }
    }
}

/// What the root span records of a request, computed only for an enabled span.
struct SpanFields {
    method: String,
    route: String,
    scheme: String,
    host: String,
    client_ip: String,
    user_agent: String,
    request_id: String,
}

impl SpanFields {
    fn of(request: &ServiceRequest, request_id: Option<uuid::Uuid>) -> SpanFields {
        let client = client_ip_of(request);
        // Before `connection_info()`, whose guard borrows the extensions `route_pattern` writes.
        let route = route_pattern(request.request()).unwrap_or(std::borrow::Cow::Borrowed("default")).into_owned();
        let conn = request.connection_info();
        SpanFields {
            method: request.method().as_str().to_owned(),
            route,
            scheme: conn.scheme().to_owned(),
            host: conn.host().to_owned(),
            client_ip: client.map(|ip| ip.to_string()).unwrap_or_default(),
            user_agent: request
                .headers()
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned(),
            request_id: request_id.map(|id| id.to_string()).unwrap_or_default(),
        }
    }
}

/// The root span of every request: tracing-actix-web's fields, but `http.client_ip` is the
/// client the limiter uses (trusted-proxy aware), not the left-most `X-Forwarded-For` entry
/// that `realip_remote_addr()` would believe from anyone.
pub struct ClientSpan;

impl RootSpanBuilder for ClientSpan {
    fn on_request_start(request: &ServiceRequest) -> tracing::Span {
        // Read before the span: its fields write the extensions this borrows.
        let request_id = request.extensions().get::<RequestId>().map(|id| **id);
        request_span(request, request_id)
    }

    fn on_request_end<B: MessageBody>(span: tracing::Span, outcome: &Result<ServiceResponse<B>, actix_web::Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// A request's root span (see [`ClientSpan`]).
fn request_span(request: &ServiceRequest, request_id: Option<uuid::Uuid>) -> tracing::Span {
    // The macro evaluates field values only when the span is enabled: at a level that
    // drops it, a request pays for none of them (the route alone is a regex walk over
    // the route table, as routing has not happened yet).
    let fields = std::cell::OnceCell::new();
    let f = || fields.get_or_init(|| SpanFields::of(request, request_id));
    tracing::info_span!(
        "HTTP request",
        http.method = %f().method,
        http.route = %f().route,
        http.flavor = ?request.version(),
        http.scheme = %f().scheme,
        http.host = %f().host,
        http.client_ip = %f().client_ip,
        http.user_agent = %f().user_agent,
        http.target = %loggable_target(request.uri()),
        http.status_code = tracing::field::Empty,
        otel.name = %format!("{} {}", f().method, f().route),
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
        trace_id = tracing::field::Empty,
        request_id = %f().request_id,
        exception.message = tracing::field::Empty,
        exception.details = tracing::field::Empty,
    )
}

/// Trims the node's limiter memory every `interval` (per-IP, per-key and login buckets
/// that have refilled are forgotten), so it stays bounded under `serve --no-worker` too,
/// releases the phone numbering plan when no phone number came in for a whole interval,
/// and hands freed heap memory back to the kernel ([`crate::memory::release_freed`]).
/// Holds only a weak reference: it ends once the application state is gone.
pub async fn trim_limiters(state: std::sync::Weak<crate::app::AppState>, interval: std::time::Duration) {
    let mut ticks = tokio::time::interval(interval);
    loop {
        ticks.tick().await;
        let Some(state) = state.upgrade() else { return };
        let remaining = state.limits.trim();
        state.login_failures.trim(state.clock.now_ms());
        state.signups.trim(state.clock.now_ms());
        let plan_released = crate::domain::contact::release_unused_plan();
        crate::memory::release_freed();
        tracing::debug!(remaining, plan_released, "limiter memory trimmed");
    }
}

/// Known path templates and their methods, taken from the OpenAPI document, so an
/// unknown path answers 404 and a known path with the wrong method 405 + `Allow`.
#[derive(Debug, Default)]
pub struct RouteTable {
    routes: Vec<(Vec<String>, Vec<Method>)>,
}

impl RouteTable {
    pub fn from_openapi(api: &OpenApi) -> RouteTable {
        let routes = api
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let segments = path.trim_start_matches('/').split('/').map(str::to_owned).collect();
                let mut methods = Vec::new();
                let ops = [
                    (Method::GET, item.get.is_some()),
                    (Method::POST, item.post.is_some()),
                    (Method::PUT, item.put.is_some()),
                    (Method::PATCH, item.patch.is_some()),
                    (Method::DELETE, item.delete.is_some()),
                ];
                for (method, present) in ops {
                    if present {
                        methods.push(method);
                    }
                }
                (segments, methods)
            })
            .collect();
        RouteTable { routes }
    }

    /// Methods allowed on `path`, or `None` if no route matches it. Where several
    /// templates match, the most specific (most literal segments) decides, as routing
    /// does: `/r/new` is not `/r/{token}`.
    pub fn allowed(&self, path: &str) -> Option<Vec<Method>> {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let mut best: Option<(usize, Vec<Method>)> = None;
        for (template, methods) in &self.routes {
            let matches = template.len() == segments.len()
                && template.iter().zip(&segments).all(|(t, s)| (t.starts_with('{') && !s.is_empty()) || t == s);
            if !matches {
                continue;
            }
            let literal = template.iter().filter(|t| !t.starts_with('{')).count();
            match &mut best {
                Some((most, found)) if *most == literal => {
                    found.extend(methods.iter().filter(|m| !found.contains(m)).cloned().collect::<Vec<_>>())
                }
                Some((most, _)) if *most > literal => {}
                _ => best = Some((literal, methods.clone())),
            }
        }
        best.map(|(_, methods)| methods)
    }
}

async fn fallback(req: HttpRequest, state: State) -> HttpResponse {
    match state.routes().allowed(req.path()) {
        Some(methods) if !methods.contains(req.method()) => {
            let allow = methods.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
            let mut res = Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                format!("{} is not allowed here; allowed: {allow}", req.method()),
            )
            .response();
            if let Ok(v) = header::HeaderValue::from_str(&allow) {
                res.headers_mut().insert(header::ALLOW, v);
            }
            res
        }
        _ => actix_web::ResponseError::error_response(&Error::NotFound(format!("route {}", req.path()))),
    }
}
