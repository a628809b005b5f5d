//! `POST /api/v1/inbound/email`: buyers' replies to invitations, as an inbound-mail service
//! posts them (the raw MIME message as the body). The service authenticates with the shared
//! `mail.inbound_secret` (HTTP Basic password or Bearer token); without one configured every
//! call is refused (401).
//!
//! `POST /api/v1/inbound/sms/{gateway}`: buyers' text replies as the SMS gateway posts them —
//! Twilio's form webhook verified by its `X-Twilio-Signature` (`sms.auth_token`), or any
//! gateway posting `{"from", "text"}` JSON with the Bearer `sms.inbound_secret`.

use actix_web::http::header;
use actix_web::{post, web, HttpRequest, HttpResponse};
use base64::Engine as _;
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::State;
use crate::error::{Error, Result};
use crate::funnel::replies::{self, Outcome};
use crate::http::errors::Problem;
use crate::http::ServiceConfig;

/// A reply is one e-mail: 10 MiB at most (attachments included).
pub const MAX_BYTES: usize = 10 * 1024 * 1024;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(inbound_email).service(inbound_sms);
}

/// A text message is small: 64 KiB at most for the whole webhook body.
pub const MAX_SMS_BYTES: usize = 64 * 1024;

#[derive(Serialize, ToSchema)]
pub struct InboundResult {
    /// `review` (a pending review was recorded), `auto_answered` (no rating found: the buyer
    /// was sent the link), `ignored` (no rating, answered before; or a delivery delay),
    /// `opted_out` (an SMS STOP) or `bounced` (a delivery status notification of a
    /// permanent failure, sent to the invitation's bounce address).
    pub outcome: String,
    pub review_id: Option<String>,
    pub maturity_level: Option<i32>,
}

/// The secret the request carries: a Bearer token, or the password of HTTP Basic.
fn presented(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    if let Some(token) = value.strip_prefix("Bearer ") {
        return Some(token.trim().to_owned());
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(value.strip_prefix("Basic ")?.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    text.split_once(':').map(|(_, password)| password.to_owned())
}

fn too_large() -> Error {
    Error::PayloadTooLarge(format!("an inbound e-mail may be at most {MAX_BYTES} bytes"))
}

/// Takes a buyer's reply to an invitation (raw MIME). 201 with the pending review when the
/// reply starts with a rating; 200 when it does not (the buyer gets the link once); 403 when
/// its DKIM signature does not verify for the sender's domain or the sender is not the
/// invited address; 404 when it is addressed to no invitation (or no `mail.inbound_domain`);
/// 409 when the invitation expired or the order was reviewed already.
#[utoipa::path(tag = "funnel", security(("inbound" = [])), request_body(content((String = "message/rfc822"), (String = "text/plain")), description = "The e-mail as received (RFC 5322)"), responses((status = 200, body = InboundResult), (status = 201, body = InboundResult), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem)))]
#[post("/api/v1/inbound/email")]
async fn inbound_email(state: State, req: HttpRequest, payload: web::Payload) -> Result<HttpResponse> {
    let secret = state.settings.mail.inbound_secret.trim();
    if secret.is_empty() {
        return Err(Error::Unauthorized("inbound e-mail is not set up here (mail.inbound_secret)".into()));
    }
    if !presented(&req).is_some_and(|p| crate::security::hmac::same(&p, secret)) {
        return Err(Error::Unauthorized("the inbound-mail secret is missing or wrong".into()));
    }
    let body = crate::http::body::bytes_up_to(&req, payload, MAX_BYTES, too_large).await?;
    let outcome = replies::inbound_email(&state, &body).await?;
    Ok(result(outcome))
}

fn result(outcome: Outcome) -> HttpResponse {
    let outcome_name = outcome.name().to_owned();
    match outcome {
        Outcome::Review(review) => HttpResponse::Created().json(InboundResult {
            outcome: outcome_name,
            review_id: Some(review.id),
            maturity_level: Some(review.maturity_level),
        }),
        _ => HttpResponse::Ok().json(InboundResult { outcome: outcome_name, review_id: None, maturity_level: None }),
    }
}

/// Twilio's inbound message webhook (form-encoded; other fields are signed too and kept for
/// the signature).
#[derive(serde::Deserialize, ToSchema)]
pub struct TwilioMessage {
    /// The buyer's number, E.164.
    #[serde(rename = "From")]
    #[schema(rename = "From", max_length = 32)]
    pub from: String,
    #[serde(rename = "Body")]
    #[schema(rename = "Body", max_length = 1600)]
    pub body: String,
}

/// What a generic gateway posts (`gateway` = `http`).
#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GatewayMessage {
    /// The buyer's number.
    #[schema(max_length = 32)]
    pub from: String,
    #[schema(max_length = 1600)]
    pub text: String,
}

fn sms_too_large() -> Error {
    Error::PayloadTooLarge(format!("an inbound text message may be at most {MAX_SMS_BYTES} bytes"))
}

fn sms_off() -> Error {
    Error::Unauthorized("inbound SMS is not set up here for this gateway".into())
}

/// Takes a buyer's text reply to an SMS invitation. `STOP` opts the number out; a reply
/// that starts with a rating (`5 great`) becomes a pending review at level 3 ("Answered the
/// invitation by SMS"); anything else gets the link once. Twilio (`twilio`) is answered with
/// empty TwiML and the outcome in `X-Truview-Outcome`; a generic gateway (`http`) with JSON.
/// 401 bad or missing signature or secret (or that gateway not set up), 404 no SMS invitation
/// to the number, 409 the invitation expired or the order was reviewed, 422 no valid number.
#[utoipa::path(tag = "funnel", security(("inbound" = [])), params(("gateway" = String, Path, pattern = "^(twilio|http)$")), request_body(content((TwilioMessage = "application/x-www-form-urlencoded"), (GatewayMessage = "application/json"))), responses((status = 200, body = InboundResult), (status = 201, body = InboundResult), (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 413, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
#[post("/api/v1/inbound/sms/{gateway}")]
async fn inbound_sms(
    state: State,
    req: HttpRequest,
    gateway: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse> {
    let sms = &state.settings.sms;
    match gateway.as_str() {
        "twilio" => {
            let token = sms.auth_token.as_deref().unwrap_or("").trim();
            if sms.gateway != "twilio" || token.is_empty() {
                return Err(sms_off());
            }
            let signature = req
                .headers()
                .get("X-Twilio-Signature")
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| Error::Unauthorized("the X-Twilio-Signature header is missing".into()))?
                .to_owned();
            let body = crate::http::body::bytes_up_to(&req, payload, MAX_SMS_BYTES, sms_too_large).await?;
            let params: Vec<(String, String)> =
                url::form_urlencoded::parse(&body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
            // Twilio signs the URL it called: the service's public URL and this path.
            let url = format!("{}{}", crate::funnel::invitations::link_base(&state), req.uri());
            let expected = crate::notify::sms::twilio_signature(token, &url, &params);
            if !crate::security::hmac::same(&expected, &signature) {
                return Err(Error::Unauthorized("the X-Twilio-Signature does not verify".into()));
            }
            let field = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
            let from = field("From").ok_or_else(|| Error::validation("From", "is missing"))?;
            let text = field("Body").unwrap_or_default();
            let outcome = replies::inbound_sms(&state, &from, &text).await?;
            let name = outcome.name();
            Ok(HttpResponse::Ok()
                .content_type("text/xml; charset=utf-8")
                .insert_header(("X-Truview-Outcome", name))
                .body("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response></Response>"))
        }
        "http" => {
            let secret = sms.inbound_secret.trim();
            if secret.is_empty() {
                return Err(sms_off());
            }
            if !presented(&req).is_some_and(|p| crate::security::hmac::same(&p, secret)) {
                return Err(Error::Unauthorized("the inbound SMS secret is missing or wrong".into()));
            }
            let body = crate::http::body::bytes_up_to(&req, payload, MAX_SMS_BYTES, sms_too_large).await?;
            let message: GatewayMessage = serde_json::from_slice(&body)
                .map_err(|e| Error::validation("body", format!("is not a {{\"from\", \"text\"}} object: {e}")))?;
            Ok(result(replies::inbound_sms(&state, &message.from, &message.text).await?))
        }
        _ => Err(Error::not_found("SMS gateway")),
    }
}
