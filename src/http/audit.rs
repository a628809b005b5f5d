//! The vendor's audit log, newest first.

use actix_web::{get, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::State;
use crate::error::{Error, Result};
use crate::http::errors::Problem;
use crate::http::extract::StaffSession;
use crate::http::ServiceConfig;
use crate::store;
use crate::store::audit::AuditRow;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_audit).service(verification);
}

#[derive(Deserialize, IntoParams)]
pub struct AuditQuery {
    /// `next_cursor` of the previous page (empty = first page).
    #[param(pattern = "^[0-9]{0,18}$")]
    pub cursor: Option<String>,
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: String,
    /// `staff:{id}`, `key:{id}`, `signup` or `system`.
    pub actor: String,
    pub action: String,
    pub target: String,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub hash: String,
}

#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub next_cursor: Option<String>,
}

impl From<AuditRow> for AuditEntry {
    fn from(r: AuditRow) -> Self {
        AuditEntry {
            seq: r.seq,
            at: crate::clock::from_ms(r.at).to_rfc3339(),
            actor: r.actor,
            action: r.action,
            target: r.target,
            details: serde_json::from_str(&r.details).unwrap_or(serde_json::Value::Null),
            hash: r.hash,
        }
    }
}

/// Audit entries, newest first (any staff role).
#[utoipa::path(tag = "audit", security(("staff" = [])), params(AuditQuery), responses((status = 200, body = AuditPage), (status = 400, body = Problem), (status = 401, body = Problem)))]
#[get("/api/v1/audit")]
async fn list_audit(state: State, session: StaffSession, query: web::Query<AuditQuery>) -> Result<HttpResponse> {
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Error::BadRequest("limit must be between 1 and 200".into()));
    }
    let before = match query.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(c.parse::<i64>().map_err(|_| Error::BadRequest("invalid cursor".into()))?),
        None => None,
    };
    let rows = state.db.run(move |conn| store::audit::page(conn, &session.vendor_id, before, limit)).await?;
    let next_cursor = crate::domain::paging::next_cursor(&rows, limit, |r| r.seq.to_string());
    Ok(HttpResponse::Ok().json(AuditPage { entries: rows.into_iter().map(AuditEntry::from).collect(), next_cursor }))
}

#[derive(Serialize, ToSchema)]
pub struct AuditVerification {
    /// Every row links to the one before it, carries its keyed hash, and the last is the
    /// recorded head; no row was removed or added outside the chain.
    pub verified: bool,
    /// Rows checked.
    pub rows: i64,
    pub breaks: Vec<AuditBreak>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditBreak {
    /// The row concerned, when there is one.
    pub seq: Option<i64>,
    pub reason: String,
}

/// Checks the vendor's audit chain now (any staff role). Checkpoints kept outside the
/// database are checked by the operator with `truview audit verify`.
#[utoipa::path(tag = "audit", security(("staff" = [])), responses((status = 200, body = AuditVerification), (status = 401, body = Problem)))]
#[get("/api/v1/audit/verification")]
async fn verification(state: State, session: StaffSession) -> Result<HttpResponse> {
    let report = crate::accounts::verify_audit(&state, &session.vendor_id).await?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(AuditVerification {
        verified: report.ok(),
        rows: report.verified.iter().map(|v| v.rows).sum(),
        breaks: report.breaks.into_iter().map(|b| AuditBreak { seq: b.seq, reason: b.reason }).collect(),
    }))
}
