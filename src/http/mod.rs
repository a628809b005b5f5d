//! actix-web: one file per area; handlers stay thin (extract → domain → store → respond).

pub mod audit;
pub mod auth;
pub mod body;
pub mod errors;
pub mod extract;
pub mod keys;
pub mod metrics;
pub mod moderation;
pub mod ops;
pub mod privacy;
pub mod public;
pub mod reports;
pub mod spec;
pub mod staff;
pub mod vendors;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::{web, App, HttpMessage, HttpRequest, HttpResponse};
use tracing_actix_web::TracingLogger;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::OpenApi;
use utoipa::Modify;
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::AppExt;

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
            "publishable_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Truview-Key"))),
        );
    }
}

/// Every route, registered once: actix serves them and utoipa documents them.
pub fn routes(cfg: &mut ServiceConfig) {
    // Routes are tried in this order and dynamic segments cost a regex match each:
    // the widget reads, by far the most frequent requests, come first.
    cfg.configure(public::widget_reads)
        .configure(ops::routes)
        .configure(vendors::routes)
        .configure(auth::routes)
        .configure(staff::routes)
        .configure(keys::routes)
        .configure(audit::routes)
        .configure(public::routes)
        .configure(moderation::routes)
        .configure(reports::routes)
        .configure(privacy::routes);
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
    let (app, _) = App::new()
        .into_utoipa_app()
        .app_data(state)
        .app_data(web::JsonConfig::default().limit(JSON_LIMIT).error_handler(errors::json_error))
        .app_data(web::QueryConfig::default().error_handler(errors::query_error))
        .app_data(web::PathConfig::default().error_handler(errors::path_error))
        .app_data(web::FormConfig::default().limit(JSON_LIMIT).error_handler(errors::form_error))
        .app_data(web::PayloadConfig::default().limit(JSON_LIMIT))
        .configure(routes)
        .split_for_parts();
    app.route("/api/v1/public/{tail:.*}", web::method(Method::OPTIONS).to(public::preflight))
        .default_service(web::to(fallback))
        .wrap(actix_web::middleware::from_fn(client_limits))
        .wrap(actix_web::middleware::from_fn(metrics::track))
        .wrap(
            DefaultHeaders::new()
                .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                .add((header::REFERRER_POLICY, "no-referrer"))
                .add((header::X_FRAME_OPTIONS, "DENY")),
        )
        .wrap(TracingLogger::default())
}

/// Deserialises a field that may be absent (`None`), `null` (`Some(None)`) or a value.
pub fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    serde::Deserialize::deserialize(d).map(Some)
}

/// The client's address as the rate limiter sees it (after trusted-proxy handling).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<std::net::IpAddr>);

/// Resolves the client IP and applies the per-IP limit to the API.
async fn client_limits(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::EitherBody<impl MessageBody>>, actix_web::Error> {
    if let Some(state) = req.app_data::<State>().cloned() {
        let forwarded = req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok());
        let ip = state.limits.client_ip(req.peer_addr().map(|a| a.ip()), forwarded);
        req.extensions_mut().insert(ClientIp(ip));
        if let (Some(ip), true) = (ip, req.path().starts_with("/api/")) {
            if let Err(e) = ratelimit::check(&state.limits.per_ip, &ip) {
                let (req, _) = req.into_parts();
                let res = actix_web::ResponseError::error_response(&e);
                return Ok(ServiceResponse::new(req, res).map_into_right_body());
            }
        }
    }
    Ok(next.call(req).await?.map_into_left_body())
}

/// Trims the node's limiter memory once a minute (per-IP, per-key and login buckets that
/// have refilled are forgotten), so it stays bounded under `serve --no-worker` too.
pub async fn trim_limiters(state: State) {
    let mut interval = tokio::time::interval(std::time::Duration::from_secs(60));
    loop {
        interval.tick().await;
        state.limits.shrink();
        state.login_failures.trim(state.clock.now_ms());
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

    /// Methods allowed on `path`, or `None` if no route matches it.
    pub fn allowed(&self, path: &str) -> Option<Vec<Method>> {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let mut allowed: Option<Vec<Method>> = None;
        for (template, methods) in &self.routes {
            let matches = template.len() == segments.len()
                && template.iter().zip(&segments).all(|(t, s)| (t.starts_with('{') && !s.is_empty()) || t == s);
            if matches {
                allowed.get_or_insert_with(Vec::new).extend(methods.iter().cloned());
            }
        }
        allowed
    }
}

async fn fallback(req: HttpRequest, state: State) -> HttpResponse {
    match state.routes.allowed(req.path()) {
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
