//! Shop-platform integrations: the vendor sets a webhook signing secret per platform and
//! points the platform's order webhooks at `/api/v1/integrations/{platform}/{vendor_id}/orders`.

use actix_web::http::header;
use actix_web::{delete, get, post, put, web, HttpRequest, HttpResponse};
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::State;
use crate::error::{Error, Result};
use crate::http::body::Json;
use crate::http::errors::Problem;
use crate::http::extract::{Principal, StaffSession};
use crate::http::ServiceConfig;
use crate::kyp::webhooks::{self, Delivery, Platform};
use crate::store::integrations::Integration;

/// Webhook bodies are single orders: 1 MiB is plenty.
pub const WEBHOOK_LIMIT: usize = 1024 * 1024;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list).service(configure).service(remove).service(webhook);
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecretBody {
    /// The signing secret the platform shows (Shopify: the app's client secret or the key
    /// shown under Settings → Notifications → Webhooks; WooCommerce: the webhook's Secret).
    /// 16–256 visible ASCII characters; stored sealed, never shown again.
    #[schema(min_length = 16, max_length = 256, pattern = "^[!-~]{16,256}$")]
    pub secret: String,
}

#[derive(Serialize, ToSchema)]
pub struct IntegrationView {
    /// `shopify` or `woocommerce`.
    pub platform: String,
    /// Paste this as the order webhooks' URL in the shop's admin.
    pub webhook_url: String,
    pub configured_at: String,
    pub last_delivery_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct IntegrationList {
    pub integrations: Vec<IntegrationView>,
}

fn view(i: Integration, base: &str) -> IntegrationView {
    IntegrationView {
        webhook_url: format!("{base}/api/v1/integrations/{}/{}/orders", i.platform, i.vendor_id),
        platform: i.platform,
        configured_at: crate::clock::from_ms(i.updated_at).to_rfc3339(),
        last_delivery_at: i.last_delivery_at.map(|t| crate::clock::from_ms(t).to_rfc3339()),
    }
}

/// The vendor's integrations with their webhook URLs (secret key or any staff role).
#[utoipa::path(tag = "orders", security(("secret_key" = []), ("staff" = [])), responses((status = 200, body = IntegrationList), (status = 401, body = Problem)))]
#[get("/api/v1/integrations")]
async fn list(state: State, who: Principal, req: HttpRequest) -> Result<HttpResponse> {
    let base = crate::http::public_base(&state, &req);
    let rows = webhooks::list(&state, who.vendor_id()).await?;
    Ok(HttpResponse::Ok().json(IntegrationList { integrations: rows.into_iter().map(|i| view(i, &base)).collect() }))
}

/// Sets the webhook signing secret for a platform (secret key or owner): 201 when new,
/// 200 when replaced. The answer has the webhook URL to paste into the shop's admin.
#[utoipa::path(tag = "orders", security(("secret_key" = []), ("staff" = [])), params(("platform" = String, Path, pattern = "^(shopify|woocommerce)$")), request_body = SecretBody, responses((status = 200, body = IntegrationView), (status = 201, body = IntegrationView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
#[put("/api/v1/integrations/{platform}")]
async fn configure(
    state: State,
    who: Principal,
    req: HttpRequest,
    platform: web::Path<String>,
    body: Json<SecretBody>,
) -> Result<HttpResponse> {
    if let Principal::Staff(s) = &who {
        s.require_owner()?;
    }
    let platform = Platform::parse(&platform)?;
    let created = webhooks::configure(&state, who.vendor_id(), &who.actor(), platform, &body.secret).await?;
    let rows = webhooks::list(&state, who.vendor_id()).await?;
    let row = rows.into_iter().find(|i| i.platform == platform.as_str()).ok_or_else(|| Error::internal("lost"))?;
    let mut res = if created { HttpResponse::Created() } else { HttpResponse::Ok() };
    Ok(res.json(view(row, &crate::http::public_base(&state, &req))))
}

/// Removes a platform's integration (owner only): its webhooks answer 401 from then on.
#[utoipa::path(tag = "orders", security(("staff" = [])), params(("platform" = String, Path, pattern = "^(shopify|woocommerce)$")), responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
#[delete("/api/v1/integrations/{platform}")]
async fn remove(state: State, session: StaffSession, platform: web::Path<String>) -> Result<HttpResponse> {
    session.require_owner()?;
    let platform = Platform::parse(&platform)?;
    webhooks::remove(&state, &session.vendor_id, &session.actor(), platform).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Serialize, ToSchema)]
pub struct DeliveryView {
    /// `applied` (order created or updated), `replayed` (already applied, or older than
    /// what was) or `ignored` (a topic or order that is not a purchase).
    pub result: &'static str,
}

/// A platform's order webhook (Shopify `orders/create|updated|fulfilled` with
/// `X-Shopify-Hmac-Sha256` and `X-Shopify-Topic`; WooCommerce `order.created|updated` with
/// `X-WC-Webhook-Signature` and `X-WC-Webhook-Topic`). The signature (base64 HMAC-SHA256
/// of the raw body under the vendor's secret) is the only credential: a wrong or missing
/// one, an unknown vendor and a vendor without the integration are all 401. Body ≤ 1 MiB.
#[utoipa::path(
    tag = "orders",
    params(
        ("platform" = String, Path, pattern = "^(shopify|woocommerce)$"),
        ("vendor_id" = String, Path, pattern = "^[A-Za-z0-9._~-]{1,64}$"),
        ("X-Shopify-Hmac-Sha256" = Option<String>, Header, max_length = 200),
        ("X-WC-Webhook-Signature" = Option<String>, Header, max_length = 200)
    ),
    request_body(content = String, content_type = "application/json"),
    responses(
        (status = 200, body = DeliveryView),
        (status = 202, body = DeliveryView),
        (status = 401, body = Problem),
        (status = 404, body = Problem),
        (status = 413, body = Problem),
        (status = 422, body = Problem)
    )
)]
#[post("/api/v1/integrations/{platform}/{vendor_id}/orders")]
async fn webhook(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    mut payload: web::Payload,
) -> Result<HttpResponse> {
    let (platform, vendor_id) = path.into_inner();
    let platform = Platform::parse(&platform)?;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| Error::BadRequest(format!("the request body could not be read: {e}")))?;
        if body.len() + chunk.len() > WEBHOOK_LIMIT {
            return Err(Error::PayloadTooLarge(format!("a webhook body may be at most {WEBHOOK_LIMIT} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    let text = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    // WooCommerce checks a new webhook's URL with an unsigned form post `webhook_id=N`:
    // acknowledged, nothing done.
    let form = text(header::CONTENT_TYPE.as_str()).is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    if platform == Platform::WooCommerce && form && body.starts_with(b"webhook_id=") {
        return Ok(HttpResponse::Ok().json(DeliveryView { result: "ignored" }));
    }
    let (signature, topic) = match platform {
        Platform::Shopify => (text("X-Shopify-Hmac-Sha256"), text("X-Shopify-Topic")),
        Platform::WooCommerce => (text("X-WC-Webhook-Signature"), text("X-WC-Webhook-Topic")),
    };
    let delivery =
        webhooks::receive(&state, platform, &vendor_id, signature.as_deref(), topic.as_deref(), &body).await?;
    Ok(match delivery {
        Delivery::Applied => HttpResponse::Ok().json(DeliveryView { result: "applied" }),
        Delivery::Replayed => HttpResponse::Ok().json(DeliveryView { result: "replayed" }),
        Delivery::Ignored => HttpResponse::Accepted().json(DeliveryView { result: "ignored" }),
    })
}
