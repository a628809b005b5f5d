//! Privacy requests (owner only): erase a buyer, export a buyer's data.

use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::app::State;
use crate::error::{Error, Result};
use crate::http::errors::Problem;
use crate::http::extract::StaffSession;
use crate::http::moderation::StaffReview;
use crate::reviews::{self, Erasure};
use crate::store;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(erase).service(export);
}

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct BuyerRef {
    /// The buyer's e-mail (give this or `phone`).
    pub email: Option<String>,
    /// The buyer's phone in international form (give this or `email`).
    pub phone: Option<String>,
}

/// Erases a buyer: contacts deleted, reviews de-identified and shown as erased (level 0).
#[utoipa::path(tag = "privacy", security(("staff" = [])), request_body = BuyerRef, responses((status = 200, body = Erasure), (status = 403, body = Problem), (status = 422, body = Problem)))]
#[post("/api/v1/privacy/erase")]
async fn erase(state: State, session: StaffSession, body: web::Json<BuyerRef>) -> Result<HttpResponse> {
    session.require_owner()?;
    let hmac = reviews::contact_hmac(&state, body.email.as_deref(), body.phone.as_deref())?;
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

#[derive(Serialize, ToSchema)]
pub struct BuyerExport {
    pub orders: Vec<ExportedOrder>,
    pub reviews: Vec<StaffReview>,
}

/// Everything stored about one buyer, as JSON (a data-subject access request).
#[utoipa::path(tag = "privacy", security(("staff" = [])), params(BuyerRef), responses((status = 200, body = BuyerExport), (status = 403, body = Problem), (status = 422, body = Problem)))]
#[get("/api/v1/privacy/export")]
async fn export(state: State, session: StaffSession, query: web::Query<BuyerRef>) -> Result<HttpResponse> {
    session.require_owner()?;
    let hmac = reviews::contact_hmac(&state, query.email.as_deref(), query.phone.as_deref())?;
    let now = state.clock.now_ms();
    let ts = |ms: i64| crate::clock::from_ms(ms).to_rfc3339();
    let audit = state.audit.clone();
    let (orders, reviews) = state
        .db
        .write(move |conn| {
            let orders = store::orders::by_contact(conn, &session.vendor_id, &hmac)?;
            let ids: Vec<String> = orders.iter().map(|(o, _)| o.id.clone()).collect();
            let reviews = store::reviews::by_contact(conn, &session.vendor_id, &hmac, &ids)?;
            let details = json!({"orders": orders.len(), "reviews": reviews.len()});
            session.audit(&audit, conn, now, "privacy.exported", "buyer", details)?;
            Ok((orders, reviews))
        })
        .await
        .map_err(|e| match e {
            Error::NotFound(_) => Error::not_found("buyer"),
            other => other,
        })?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(BuyerExport {
        orders: orders
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
        reviews: reviews.into_iter().map(StaffReview::from).collect(),
    }))
}
