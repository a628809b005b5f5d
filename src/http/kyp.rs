//! Purchase matching for buyers (`POST /api/v1/public/kyp/match`) and the vendor's purchase
//! rules (`GET/PUT /api/v1/kyp/rules`).

use actix_web::{get, post, put, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::State;
use crate::domain::contact::{Email, Phone};
use crate::domain::kyp::{format_money, Rules};
use crate::domain::maturity::Check;
use crate::domain::order::{Currency, OrderRef};
use crate::error::{Error, Result};
use crate::http::body::Json;
use crate::http::errors::Problem;
use crate::http::extract::Principal;
use crate::http::text::Whole;
use crate::http::ServiceConfig;
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
        (None, Some(p)) => ContactHmac::Phone(state.contacts.phone(&Phone::lookup_form("phone", p)?)),
        _ => return Err(Error::validation("email", "give exactly one of email or phone")),
    };
    let from = crate::http::public::public_write(&req)?;
    let request = MatchRequest { flow_token: b.flow_token, order_ref, contact };
    let (_vendor, assessment) = matching::match_order(&state, request, from).await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(MatchView { maturity_level: assessment.level, checks: assessment.checks }))
}

/// An amount in a currency's minor units (cents for EUR, yen for JPY).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Money {
    /// E.g. `2000` for 20.00 EUR.
    #[schema(value_type = i64, minimum = 0, maximum = 1_000_000_000_000_i64)]
    pub amount_minor: Whole,
    /// ISO 4217 code.
    #[schema(pattern = "^[A-Za-z]{3}$")]
    pub currency: String,
}

/// Which imported orders may verify a purchase.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulesBody {
    /// Orders below this total do not verify a purchase; `null` = no minimum.
    pub min_total: Option<Money>,
    /// Only delivered orders (status `delivered` or a delivery date) verify a purchase.
    #[serde(default)]
    pub delivered_only: bool,
    /// Days after delivery (or purchase, without a delivery date) during which a review can
    /// be bound to the order, 1–3650; `null` = no limit.
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 3650)]
    pub window_days: Option<Whole>,
}

/// The rules as stored.
#[derive(Serialize, ToSchema)]
pub struct RulesView {
    pub min_total: Option<MoneyView>,
    pub delivered_only: bool,
    pub window_days: Option<i32>,
}

#[derive(Serialize, ToSchema)]
pub struct MoneyView {
    pub amount_minor: i64,
    pub currency: String,
    /// For people: `20.00 EUR`.
    pub display: String,
}

impl From<Rules> for RulesView {
    fn from(r: Rules) -> Self {
        RulesView {
            min_total: r.min_total.map(|(minor, c)| MoneyView {
                amount_minor: minor,
                currency: c.as_str().to_owned(),
                display: format_money(minor, c),
            }),
            delivered_only: r.delivered_only,
            window_days: r.window_days,
        }
    }
}

/// The vendor's purchase rules (secret key or any staff role).
#[utoipa::path(tag = "catalogue", security(("secret_key" = []), ("staff" = [])), responses((status = 200, body = RulesView), (status = 401, body = Problem)))]
#[get("/api/v1/kyp/rules")]
async fn get_rules(state: State, who: Principal) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(RulesView::from(matching::rules(&state, who.vendor_id()).await?)))
}

/// Replaces the vendor's purchase rules (secret key or owner; audited).
#[utoipa::path(tag = "catalogue", security(("secret_key" = []), ("staff" = [])), request_body = RulesBody, responses((status = 200, body = RulesView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
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
            let minor = Some(m.amount_minor.0)
                .filter(|v| (0..=1_000_000_000_000).contains(v))
                .ok_or_else(|| Error::validation("min_total.amount_minor", "must be between 0 and 10^12"))?;
            Ok::<_, Error>((minor, currency))
        })
        .transpose()?;
    let window_days = b
        .window_days
        .map(|w| {
            i32::try_from(w.0).map_err(|_| Error::validation("window_days", "must be between 1 and 3650, or null"))
        })
        .transpose()?;
    let rules = Rules { min_total, delivered_only: b.delivered_only, window_days };
    let stored = matching::put_rules(&state, who.vendor_id(), &who.actor(), rules).await?;
    Ok(HttpResponse::Ok().json(RulesView::from(stored)))
}
