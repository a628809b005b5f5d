//! Reports: the vendor maturity level with the plan for the next level, and the funnel.

use actix_web::{get, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::State;
use crate::domain::maturity::VendorAssessment;
use crate::error::Result;
use crate::http::errors::Problem;
use crate::http::extract::Principal;
use crate::http::ServiceConfig;
use crate::reviews;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(maturity).service(funnel).service(nps);
}

#[derive(Deserialize, IntoParams)]
pub struct FunnelQuery {
    /// The window in days, ending now: 1–366, default 30.
    #[param(minimum = 1, maximum = 366)]
    pub days: Option<i64>,
}

/// What happened to the vendor's invitations over the window: invited, opened, reminded,
/// reviewed, opted out, bounced — in total and per channel, with the conversion from invited.
#[utoipa::path(tag = "reports", security(("staff" = []), ("secret_key" = [])), params(FunnelQuery), responses((status = 200, body = crate::funnel::report::FunnelReport), (status = 400, body = Problem), (status = 401, body = Problem)))]
#[get("/api/v1/reports/funnel")]
async fn funnel(state: State, who: Principal, query: web::Query<FunnelQuery>) -> Result<HttpResponse> {
    let report = crate::funnel::report::funnel(&state, who.vendor_id(), query.days.unwrap_or(30)).await?;
    Ok(HttpResponse::Ok().json(report))
}

/// The NPS of the pre-survey's answers over the window (% promoters (9–10) − % detractors
/// (0–6)), with the counts, in total and per week.
#[utoipa::path(tag = "reports", security(("staff" = []), ("secret_key" = [])), params(FunnelQuery), responses((status = 200, body = crate::funnel::nps::NpsReport), (status = 400, body = Problem), (status = 401, body = Problem)))]
#[get("/api/v1/reports/nps")]
async fn nps(state: State, who: Principal, query: web::Query<FunnelQuery>) -> Result<HttpResponse> {
    let report = crate::funnel::nps::report(&state, who.vendor_id(), query.days.unwrap_or(30)).await?;
    Ok(HttpResponse::Ok().json(report))
}

#[derive(Serialize, ToSchema)]
pub struct MaturityReport {
    pub window_days: i64,
    #[serde(flatten)]
    pub assessment: VendorAssessment,
}

/// The vendor's maturity level 0–5 (ISO/IEC 15504 style) over the rolling window, the
/// criteria met, and what is missing for the next level.
#[utoipa::path(tag = "reports", security(("staff" = []), ("secret_key" = [])), responses((status = 200, body = MaturityReport), (status = 401, body = Problem)))]
#[get("/api/v1/reports/maturity")]
async fn maturity(state: State, who: Principal) -> Result<HttpResponse> {
    let assessment = reviews::assess_vendor(&state, who.vendor_id()).await?;
    Ok(HttpResponse::Ok().json(MaturityReport { window_days: state.settings.maturity.window_days, assessment }))
}
