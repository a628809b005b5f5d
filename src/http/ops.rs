//! Operations: liveness, readiness, metrics, the OpenAPI document.

use actix_web::{get, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::State;
use crate::db;
use crate::error::{Error, Result};
use crate::http::ServiceConfig;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(health).service(ready).service(metrics).service(openapi_json);
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`
    pub status: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct Ready {
    /// `ready`
    pub status: &'static str,
    /// `sqlite` or `postgresql`.
    pub backend: &'static str,
}

/// Liveness: the process answers.
#[utoipa::path(tag = "ops", responses((status = 200, body = Health)))]
#[get("/health")]
async fn health() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// Readiness: the database answers and its migrations are current.
#[utoipa::path(tag = "ops", responses((status = 200, body = Ready), (status = 503, body = crate::http::errors::Problem)))]
#[get("/ready")]
async fn ready(state: State) -> Result<HttpResponse> {
    if state.draining.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(Error::Unavailable("shutting down: this node is draining".into()));
    }
    // The cause is logged, never echoed: it can name hosts, users and schema details.
    let current = state.db.run(|conn| db::migrations_current(conn).map_err(Error::internal)).await.map_err(|e| {
        tracing::warn!(error = %e, "readiness check failed");
        Error::Unavailable("database not ready".into())
    })?;
    if !current {
        return Err(Error::Unavailable("database migrations are pending; run `truview migrate`".into()));
    }
    Ok(HttpResponse::Ok().json(Ready { status: "ready", backend: state.db.backend().name() }))
}

/// Prometheus text exposition.
#[utoipa::path(tag = "ops", responses((status = 200, content_type = "text/plain", body = String)))]
#[get("/metrics")]
async fn metrics(state: State) -> HttpResponse {
    crate::http::metrics::render(state).await
}

/// This API's OpenAPI 3.1 document.
#[utoipa::path(tag = "ops", responses((status = 200, content_type = "application/json", body = Object)))]
#[get("/api-spec/openapi.json")]
async fn openapi_json(state: State) -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(state.openapi_json().to_owned())
}
