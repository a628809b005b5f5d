//! KYC for buyers: phone one-time codes; and the development SMS outbox for owners.

use actix_web::http::header;
use actix_web::{get, post, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::app::State;
use crate::error::Result;
use crate::http::body::Json;
use crate::http::errors::Problem;
use crate::http::extract::StaffSession;
use crate::http::kyp::MatchView;
use crate::kyc::phone;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(start).service(verify).service(outbox);
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartBody {
    #[schema(min_length = 1, max_length = 200)]
    pub flow_token: String,
    /// A mobile number in international form (`+44 7400 123456`).
    #[schema(max_length = 64, pattern = r"^(?:\+|00)[ ().-]*[1-9](?:[ ().-]*[0-9]){7,14}[ ().-]*$")]
    pub phone: String,
}

#[derive(Serialize, ToSchema)]
pub struct Sent {
    pub sent: bool,
    /// A new code may be asked for after this many seconds.
    pub resend_after_secs: i64,
}

/// Sends a 6-digit code by SMS for the review flow (valid 10 minutes). A number that is not
/// a mobile line is a 422; too soon after the last code, 3 codes to the phone in 10 minutes,
/// or the address's or shop's daily ceiling is a 429 with `Retry-After`.
#[utoipa::path(tag = "public", request_body = StartBody, responses((status = 202, body = Sent), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
#[post("/api/v1/public/kyc/phone/start")]
async fn start(state: State, req: HttpRequest, body: Json<StartBody>) -> Result<HttpResponse> {
    let from = crate::http::public::public_write(&req)?;
    phone::start(&state, &body.flow_token, &body.phone, from).await?;
    Ok(HttpResponse::Accepted()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(Sent { sent: true, resend_after_secs: crate::domain::otp::RESEND_COOLDOWN_MS / 1000 }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    #[schema(min_length = 1, max_length = 200)]
    pub flow_token: String,
    #[schema(max_length = 64, pattern = r"^(?:\+|00)[ ().-]*[1-9](?:[ ().-]*[0-9]){7,14}[ ().-]*$")]
    pub phone: String,
    /// The 6 digits received.
    #[schema(pattern = "^[0-9]{6}$")]
    pub code: String,
}

/// Checks the code: right → the phone is the flow's verified identity (the answer shows
/// the level the review will have); wrong → 422 with the tries left; after 5 wrong tries,
/// past 10 minutes or once used, every code is refused until a new one is sent.
#[utoipa::path(tag = "public", request_body = VerifyBody, responses((status = 200, body = MatchView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
#[post("/api/v1/public/kyc/phone/verify")]
async fn verify(state: State, req: HttpRequest, body: Json<VerifyBody>) -> Result<HttpResponse> {
    let from = crate::http::public::public_write(&req)?;
    let a = phone::verify(&state, &body.flow_token, &body.phone, &body.code, from).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(MatchView { maturity_level: a.level, checks: a.checks }))
}

#[derive(Serialize, ToSchema)]
pub struct OutboxMessage {
    pub to: String,
    pub body: String,
    pub sent_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct Outbox {
    /// Messages not sent because no SMS gateway is configured (development and demo), newest first.
    pub messages: Vec<OutboxMessage>,
}

/// The development outbox (owner only): with no SMS gateway configured, codes are written
/// here instead of being sent. Empty when a gateway is configured.
#[utoipa::path(tag = "vendors", security(("staff" = [])), responses((status = 200, body = Outbox), (status = 401, body = Problem), (status = 403, body = Problem)))]
#[get("/api/v1/dev/outbox")]
async fn outbox(state: State, session: StaffSession) -> Result<HttpResponse> {
    session.require_owner()?;
    let vendor = session.vendor_id.clone();
    let rows = state.db.run(move |conn| crate::store::phone_codes::outbox(conn, &vendor, 50)).await?;
    let messages = rows
        .into_iter()
        .map(|r| OutboxMessage {
            to: r.outbox_to.unwrap_or_default(),
            body: r.outbox_body.unwrap_or_default(),
            sent_at: crate::clock::from_ms(r.sent_at).to_rfc3339(),
        })
        .collect();
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(Outbox { messages }))
}
