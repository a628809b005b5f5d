//! Cases for the vendor to follow up (a review of 1 or 2 stars, an NPS detractor) and the
//! resolution loop: `GET /api/v1/cases`, `POST /api/v1/cases/{id}/resolve`.

use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::State;
use crate::domain::ids::PathId;
use crate::error::Result;
use crate::funnel::resolution;
use crate::http::body::Json;
use crate::http::errors::Problem;
use crate::http::extract::{Principal, StaffSession};
use crate::http::ServiceConfig;
use crate::store::cases::Case;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_cases).service(resolve_case);
}

#[derive(Serialize, ToSchema)]
pub struct CaseView {
    pub id: String,
    /// `review` (a review of 1 or 2 stars) or `detractor` (an invited buyer who answered the
    /// NPS question 0–6).
    pub kind: String,
    /// `open` or `resolved`.
    pub state: String,
    /// The review of a `review` case.
    pub review_id: Option<String>,
    /// The NPS answer of a `detractor` case.
    pub score: Option<i32>,
    pub opened_at: String,
    pub resolved_at: Option<String>,
    /// Who resolved it (`staff:{id}`).
    pub resolved_by: Option<String>,
    /// When the author was invited to update the review (once).
    pub update_invited_at: Option<String>,
    /// When the author updated it.
    pub author_updated_at: Option<String>,
}

impl From<Case> for CaseView {
    fn from(c: Case) -> Self {
        let ts = |ms: i64| crate::clock::from_ms(ms).to_rfc3339();
        CaseView {
            id: c.id,
            kind: c.kind,
            state: c.state,
            review_id: c.review_id,
            score: c.score,
            opened_at: ts(c.opened_at),
            resolved_at: c.resolved_at.map(ts),
            resolved_by: c.resolved_by,
            update_invited_at: c.update_invited_at.map(ts),
            author_updated_at: c.author_updated_at.map(ts),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct CasePage {
    pub cases: Vec<CaseView>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
pub struct CaseQuery {
    /// `open` or `resolved`; omit for all.
    #[param(pattern = "^(open|resolved)$")]
    pub state: Option<String>,
    /// `next_cursor` of the previous page (empty = first page).
    #[param(pattern = "^[A-Za-z0-9_-]{0,64}$")]
    pub cursor: Option<String>,
    /// 1–100, default 50.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// The vendor's cases, oldest first (staff or secret key).
#[utoipa::path(tag = "moderation", security(("staff" = []), ("secret_key" = [])), params(CaseQuery), responses((status = 200, body = CasePage), (status = 400, body = Problem), (status = 401, body = Problem), (status = 422, body = Problem)))]
#[get("/api/v1/cases")]
async fn list_cases(state: State, who: Principal, query: web::Query<CaseQuery>) -> Result<HttpResponse> {
    let q = query.into_inner();
    let wanted = q.state.as_deref().map(resolution::parse_state).transpose()?;
    let after = crate::http::id_cursor(q.cursor.as_deref())?;
    let limit = q.limit.unwrap_or(50);
    let rows = resolution::list(&state, who.vendor_id(), wanted, after, limit).await?;
    let next_cursor = crate::domain::paging::next_cursor(&rows, limit, |c| c.id.clone());
    Ok(HttpResponse::Ok().json(CasePage { cases: rows.into_iter().map(CaseView::from).collect(), next_cursor }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    /// Also invite the review's author, once, by e-mail, to update the review (after the
    /// shop's public reply; the earlier version stays in its public history).
    #[serde(default)]
    pub invite_update: bool,
}

/// Marks a case resolved (moderator or owner; audited) and may invite the review's author
/// once to update the review: 404 unknown case, 409 already resolved, author already invited,
/// review not published, no public reply yet, or the author cannot be reached; 422
/// `invite_update` on a detractor case.
#[utoipa::path(tag = "moderation", security(("staff" = [])), params(("id" = String, Path, pattern = "^[A-Za-z0-9._~-]{1,64}$")), request_body = ResolveRequest, responses((status = 200, body = CaseView), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
#[post("/api/v1/cases/{id}/resolve")]
async fn resolve_case(
    state: State,
    session: StaffSession,
    id: web::Path<PathId>,
    body: Json<ResolveRequest>,
) -> Result<HttpResponse> {
    session.require_moderator()?;
    let case =
        resolution::resolve(&state, &session.vendor_id, &session.actor(), id.as_str(), body.invite_update).await?;
    Ok(HttpResponse::Ok().json(CaseView::from(case)))
}
