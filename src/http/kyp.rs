//! Purchase matching for buyers (`POST /api/v1/public/kyp/match`) and the vendor's purchase
//! rules (`GET/PUT /api/v1/kyp/rules`).

use actix_web::{get, post, put, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::app::State;
use crate::domain::contact::{Email, Phone};
use crate::domain::kyp::{format_money, Rules};
use crate::domain::maturity::Check;
use crate::domain::order::{parse_money, Currency, OrderRef};
use crate::error::{Error, Result};
use crate::http::body::Json;
use crate::http::errors::Problem;
use crate::http::extract::Principal;
use crate::kyp::matching::{self, ContactHmac, MatchRequest};

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(match_order).service(get_rules).service(put_rules);
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchBody {
    /// The review flow's token.
    #[schema(min_length = 1, max_length = 200)]
    pub flow_token: String,
    /// The order number as the shop shows it (1–64 printable ASCII characters).
    #[schema(min_length = 1, max_length = 64, pattern = "^[!-~]([ -~]{0,62}[!-~])?$")]
    pub order_id: String,
    /// The e-mail the order was placed with (give this or `phone`).
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    /// The phone the order was placed with, international form (give this or `email`).
    #[schema(max_length = 64, pattern = r"^(?:\+|00)[ ().-]*[1-9](?:[ ().-]*[0-9]){7,14}[ ().-]*$")]
    pub phone: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MatchView {
    /// The level the review will have with this purchase (and the flow's other evidence).
    pub maturity_level: u8,
    /// What was verified, in words.
    pub checks: Vec<Check>,
}

/// Binds a review flow to one of the shop's orders: the order number and the order's
/// e-mail or phone. An order number and contact that match no order of this shop get one
/// answer (422, the same whatever the reason); an order the shop's rules exclude gets its
/// own 422 only once the contact matched. At most 5 failed tries per flow, 30 tries per
/// client address per day (429).
#[utoipa::path(tag = "public", request_body = MatchBody, responses((status = 200, body = MatchView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
#[post("/api/v1/public/kyp/match")]
async fn match_order(state: State, req: HttpRequest, body: Json<MatchBody>) -> Result<HttpResponse> {
    let b = body.into_inner();
    let order_ref = OrderRef::parse("order_id", &b.order_id)?;
    let contact = match (b.email.as_deref(), b.phone.as_deref()) {
        (Some(e), None) => ContactHmac::Email(state.contacts.email(Email::parse("email", e)?.as_str())),
        (None, Some(p)) => ContactHmac::Phone(state.contacts.phone(Phone::parse("phone", p)?.as_str())),
        _ => return Err(Error::validation("email", "give exactly one of email or phone")),
    };
    let from = crate::http::public::public_write(&req)?;
    let request = MatchRequest { flow_token: b.flow_token, order_ref, contact };
    let (_vendor, assessment) = matching::match_order(&state, request, from).await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(MatchView { maturity_level: assessment.level, checks: assessment.checks }))
}

/// An amount in a currency.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Money {
    /// Non-negative decimal, e.g. `"20.00"`.
    #[schema(max_length = 24, pattern = r"^[0-9]{1,15}(\.[0-9]{1,4})?$")]
    pub amount: String,
    /// ISO 4217 code.
    #[schema(pattern = "^[A-Za-z]{3}$")]
    pub currency: String,
}

/// Which imported orders may verify a purchase.
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulesBody {
    /// Orders below this total do not verify a purchase; `null` = no minimum.
    pub min_total: Option<Money>,
    /// Only delivered orders (status `delivered` or a delivery date) verify a purchase.
    #[serde(default)]
    pub delivered_only: bool,
    /// Days after delivery (or purchase, without a delivery date) during which a review can
    /// be bound to the order, 1–3650; `null` = no limit.
    #[schema(minimum = 1, maximum = 3650)]
    pub window_days: Option<i32>,
}

impl From<Rules> for RulesBody {
    fn from(r: Rules) -> Self {
        RulesBody {
            min_total: r.min_total.map(|(minor, c)| {
                let text = format_money(minor, c);
                let amount = text.split(' ').next().unwrap_or_default().to_owned();
                Money { amount, currency: c.as_str().to_owned() }
            }),
            delivered_only: r.delivered_only,
            window_days: r.window_days,
        }
    }
}

/// The vendor's purchase rules (secret key or any staff role).
#[utoipa::path(tag = "catalogue", security(("secret_key" = []), ("staff" = [])), responses((status = 200, body = RulesBody), (status = 401, body = Problem)))]
#[get("/api/v1/kyp/rules")]
async fn get_rules(state: State, who: Principal) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(RulesBody::from(matching::rules(&state, who.vendor_id()).await?)))
}

/// Replaces the vendor's purchase rules (secret key or owner; audited).
#[utoipa::path(tag = "catalogue", security(("secret_key" = []), ("staff" = [])), request_body = RulesBody, responses((status = 200, body = RulesBody), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
#[put("/api/v1/kyp/rules")]
async fn put_rules(state: State, who: Principal, body: Json<RulesBody>) -> Result<HttpResponse> {
    if let Principal::Staff(staff) = &who {
        staff.require_owner()?;
    }
    let b = body.into_inner();
    let min_total = b
        .min_total
        .map(|m| {
            let currency = Currency::parse("min_total.currency", &m.currency)?;
            Ok::<_, Error>((parse_money("min_total.amount", &m.amount, currency)?, currency))
        })
        .transpose()?;
    let rules = Rules { min_total, delivered_only: b.delivered_only, window_days: b.window_days };
    let stored = matching::put_rules(&state, who.vendor_id(), &who.actor(), rules).await?;
    Ok(HttpResponse::Ok().json(RulesBody::from(stored)))
}
