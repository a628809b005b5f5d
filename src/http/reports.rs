//! Reports: the vendor maturity level with the plan for the next level.

use actix_web::{get, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::app::State;
use crate::domain::maturity::VendorAssessment;
use crate::error::Result;
use crate::http::errors::Problem;
use crate::http::extract::Principal;
use crate::reviews;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(maturity);
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
