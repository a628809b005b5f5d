//! Privacy requests (owner only): erase a buyer, export a buyer's data. Both take the
//! buyer's contact in a JSON body, never in the URL (which proxies and logs record).

use actix_web::{post, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::State;
use crate::domain::maturity::{Evidence, Methods};
use crate::error::{Error, Result};
use crate::http::body::Json;
use crate::http::errors::Problem;
use crate::http::extract::StaffSession;
use crate::http::moderation::StaffReview;
use crate::http::ServiceConfig;
use crate::reviews::{self, Erasure};

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(erase).service(export);
}

/// A buyer, named by exactly one of `email` or `phone` (`oneOf` in the schema; both, or
/// neither, is 422).
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum BuyerContact {
    /// By e-mail.
    Email(ByEmail),
    /// By phone.
    Phone(ByPhone),
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ByEmail {
    /// The buyer's e-mail.
    #[schema(format = Email, max_length = 254)]
    pub email: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ByPhone {
    /// The buyer's phone in international form, e.g. `+44 7400 123123`.
    #[schema(max_length = 64, pattern = r"^(?:\+|00)[ ().-]*[1-9](?:[ ().-]*[0-9]){7,14}[ ().-]*$")]
    pub phone: String,
}

impl BuyerContact {
    fn hmac(&self, state: &State) -> Result<String> {
        match self {
            BuyerContact::Email(b) => reviews::contact_hmac(state, Some(&b.email), None),
            BuyerContact::Phone(b) => reviews::contact_hmac(state, None, Some(&b.phone)),
        }
    }
}

/// Erases a buyer: contacts deleted, reviews de-identified and shown as erased (level 0),
/// the buyer's flows deleted (also those bound to the buyer's orders).
#[utoipa::path(tag = "privacy", security(("staff" = [])), request_body = BuyerContact, responses((status = 200, body = Erasure), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
#[post("/api/v1/privacy/erase")]
async fn erase(state: State, session: StaffSession, body: Json<BuyerContact>) -> Result<HttpResponse> {
    session.require_owner()?;
    let hmac = body.hmac(&state)?;
    let result = reviews::erase(&state, session.vendor_id.clone(), session.actor(), hmac).await?;
    Ok(HttpResponse::Ok().json(result))
}

#[derive(Serialize, ToSchema)]
pub struct ExportedItem {
    pub sku: String,
    pub name: Option<String>,
    pub price_minor: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct ExportedOrder {
    pub order_id: String,
    pub customer_name: Option<String>,
    pub total_minor: Option<i64>,
    pub currency: Option<String>,
    pub purchased_at: String,
    pub delivered_at: Option<String>,
    pub items: Vec<ExportedItem>,
}

/// One of the buyer's reviews, with the vendor's reply (in `reply`) and the verification
/// methods its evidence used.
#[derive(Serialize, ToSchema)]
pub struct ExportedReview {
    #[serde(flatten)]
    pub review: StaffReview,
    pub verification: Methods,
}

#[derive(Serialize, ToSchema)]
pub struct BuyerExport {
    pub orders: Vec<ExportedOrder>,
    pub reviews: Vec<ExportedReview>,
}

/// Everything stored about one buyer, as JSON (a data-subject access request): orders
/// with items, reviews with the vendor's replies and their verification methods.
#[utoipa::path(tag = "privacy", security(("staff" = [])), request_body = BuyerContact, responses((status = 200, body = BuyerExport), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
#[post("/api/v1/privacy/export")]
async fn export(state: State, session: StaffSession, body: Json<BuyerContact>) -> Result<HttpResponse> {
    session.require_owner()?;
    let hmac = body.hmac(&state)?;
    let data =
        reviews::export(&state, session.vendor_id.clone(), session.actor(), hmac).await.map_err(|e| match e {
            Error::NotFound(_) => Error::not_found("buyer"),
            other => other,
        })?;
    let ts = |ms: i64| crate::clock::from_ms(ms).to_rfc3339();
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(BuyerExport {
        orders: data
            .orders
            .into_iter()
            .map(|(o, items)| ExportedOrder {
                order_id: o.order_ref,
                customer_name: o.customer_name,
                total_minor: o.total_minor,
                currency: o.currency,
                purchased_at: ts(o.purchased_at),
                delivered_at: o.delivered_at.map(ts),
                items: items
                    .into_iter()
                    .map(|i| ExportedItem { sku: i.sku, name: i.name, price_minor: i.price_minor })
                    .collect(),
            })
            .collect(),
        reviews: data
            .reviews
            .into_iter()
            .map(|(r, reply)| {
                let verification = serde_json::from_str::<Evidence>(&r.evidence).unwrap_or_default().methods();
                ExportedReview { review: StaffReview::with_history(r, reply, &data.revisions), verification }
            })
            .collect(),
    }))
}
