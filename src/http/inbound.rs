//! `POST /api/v1/inbound/email`: buyers' replies to invitations, as an inbound-mail service
//! posts them (the raw MIME message as the body). The service authenticates with the shared
//! `mail.inbound_secret` (HTTP Basic password or Bearer token); without one configured every
//! call is refused (401).

use actix_web::http::header;
use actix_web::{post, web, HttpRequest, HttpResponse};
use base64::Engine as _;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::app::State;
use crate::error::{Error, Result};
use crate::funnel::replies::{self, Outcome};
use crate::http::errors::Problem;

/// A reply is one e-mail: 10 MiB at most (attachments included).
pub const MAX_BYTES: usize = 10 * 1024 * 1024;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(inbound_email);
}

#[derive(Serialize, ToSchema)]
pub struct InboundResult {
    /// `review` (a pending review was recorded), `auto_answered` (no rating found: the buyer
    /// was sent the link) or `ignored` (no rating, answered before).
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
    Ok(match outcome {
        Outcome::Review(review) => HttpResponse::Created().json(InboundResult {
            outcome: "review".into(),
            review_id: Some(review.id),
            maturity_level: Some(review.maturity_level),
        }),
        Outcome::AutoAnswered => HttpResponse::Ok().json(InboundResult {
            outcome: "auto_answered".into(),
            review_id: None,
            maturity_level: None,
        }),
        Outcome::Ignored => {
            HttpResponse::Ok().json(InboundResult { outcome: "ignored".into(), review_id: None, maturity_level: None })
        }
    })
}
