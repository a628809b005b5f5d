//! Orders (KYP): the native import and the order read, for the vendor's server (secret
//! key) or its back office (staff; importing needs the owner role).
//!
//! The import body has its own limit, [`IMPORT_LIMIT`] (50 MiB), instead of the app-wide
//! 64 KiB: the handler reads `web::Payload` itself, refuses a `Content-Length` above the
//! limit before reading, and stops with 413 as soon as the bytes read exceed it. The body
//! is not collected: its first 64 KiB tell the format, and the decoder (on the blocking
//! pool) parses it as it arrives — CSV record by record, JSON into one array capped at
//! 100,000 orders (the size of the T22 import) — while it is hashed for the
//! `Idempotency-Key`. What is held is the decoded orders, not the body.

use actix_web::http::header;
use actix_web::{delete, get, post, put, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::State;
use crate::domain::order::{IdempotencyKey, OrderInput, OrderRef};
use crate::error::{Error, Result};
use crate::http::body::{Json, Streamed};
use crate::http::errors::Problem;
use crate::http::extract::{Principal, StaffSession};
use crate::http::ServiceConfig;
use crate::kyp::formats::{self, Format};
use crate::kyp::orders::{self as kyp, Idempotency, ImportCounts, OrderIn};

/// Largest import body.
pub const IMPORT_LIMIT: usize = 50 * 1024 * 1024;

/// The first bytes of an import, held to tell its format by.
const FORMAT_HEAD: usize = 64 * 1024;

pub fn routes(cfg: &mut ServiceConfig) {
    // The mapping list comes before the order read, whose `{order_id}` would match it.
    cfg.service(import_orders)
        .service(list_mappings)
        .service(get_mapping)
        .service(put_mapping)
        .service(delete_mapping)
        .service(get_order);
}

/// How the body is written; by default told from the content (a Shopify export by its
/// header row, WooCommerce orders by their fields).
#[derive(Deserialize, IntoParams)]
pub struct ImportQuery {
    /// `native`, `shopify` (text/csv) or `woocommerce` (application/json).
    #[param(pattern = "^(native|shopify|woocommerce)$")]
    pub format: Option<String>,
    /// A saved column mapping's name (text/csv): `PUT /api/v1/orders/mappings/{name}`.
    #[param(pattern = "^[a-z0-9][a-z0-9_-]{0,39}$")]
    pub mapping: Option<String>,
}

/// Imports orders: a Shopify orders export (`text/csv`, as the shop admin exports it),
/// WooCommerce orders (`application/json`, as `GET /wp-json/wc/v3/orders` returns them), a
/// native JSON array of orders, or native CSV (`text/csv`) with a header row
/// `order_id,email,phone,customer_name,sku,item_name,price,total,currency,purchased_at,delivered_at,status,locale`
/// (columns in any order, only `order_id`, `sku` and `purchased_at` required; one row per
/// line item; UTF-8, optional BOM, LF or CRLF). All or nothing: the first bad row or field
/// is a 422 naming its line (CSV) or index (JSON) and column or field (a date more than a
/// day after the import arrives is one). Orders are upserted
/// on `order_id` (a re-import updates status, delivery, total and contacts and replaces the
/// items). With an `Idempotency-Key`, a repeat of the same body gets the stored answer and
/// writes nothing; the same key with another body is a 422. Body limit 50 MiB.
#[utoipa::path(
    tag = "orders",
    security(("secret_key" = []), ("staff" = [])),
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 200, pattern = "^[!-~]{1,200}$"), ImportQuery),
    request_body(content(
        (Vec<OrderIn> = "application/json"),
        (String = "text/csv")
    )),
    responses(
        (status = 200, body = ImportCounts),
        (status = 400, body = Problem),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 404, body = Problem, description = "no mapping of that name"),
        (status = 409, body = Problem),
        (status = 413, body = Problem),
        (status = 415, body = Problem),
        (status = 422, body = Problem)
    )
)]
#[post("/api/v1/orders")]
async fn import_orders(
    state: State,
    principal: Principal,
    req: HttpRequest,
    query: web::Query<ImportQuery>,
    payload: web::Payload,
) -> Result<HttpResponse> {
    if let Principal::Staff(s) = &principal {
        s.require_owner()?;
    }
    let csv = match req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) {
        Some(ct) => {
            let mime = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
            match mime.as_str() {
                "application/json" => false,
                "text/csv" => true,
                _ => return Err(unsupported()),
            }
        }
        None => return Err(unsupported()),
    };
    let idempotency_key =
        req.headers().get("Idempotency-Key").map(|v| IdempotencyKey::parse(v.as_bytes())).transpose()?;
    let body = Streamed::start(&req, payload, IMPORT_LIMIT, FORMAT_HEAD, too_large).await?;
    type Decoder = Box<dyn FnOnce(&mut dyn std::io::Read, i64) -> Result<Vec<OrderInput>> + Send>;
    let decode: Decoder = if let Some(name) = query.mapping.as_deref() {
        if !csv || query.format.is_some() {
            return Err(Error::validation("mapping", "reads a text/csv body, without a format"));
        }
        let mapping = crate::kyp::mappings::get(&state, principal.vendor_id(), name).await?;
        Box::new(move |input, at| mapping.decode_from(input, at))
    } else {
        let format = match query.format.as_deref().map(Format::parse).transpose()? {
            Some(f) => f,
            None if csv => formats::detect_csv(body.head()),
            None if body.is_complete() => formats::detect_json(body.head()),
            None => formats::detect_json_start(body.head()),
        };
        match (format, csv) {
            (Format::Native, true) => Box::new(|input, at| kyp::decode_csv_from(input, at)),
            (Format::Native, false) => Box::new(|input, at| kyp::decode_json_from(input, at)),
            (Format::Shopify, true) => Box::new(|input, at| formats::decode_shopify_from(input, at)),
            (Format::WooCommerce, false) => Box::new(|input, at| formats::decode_woocommerce_from(input, at)),
            (Format::Shopify, false) => return Err(Error::validation("format", "shopify reads a text/csv body")),
            (Format::WooCommerce, true) => {
                return Err(Error::validation("format", "woocommerce reads an application/json body"))
            }
        }
    };
    // Decoding (as the body arrives) and preparing (contact HMACs, sealing, ids) are CPU
    // work: on the blocking pool, not on the worker thread that serves other requests.
    let intake = kyp::intake(&state.core, principal.vendor_id()).await?;
    let (prepared, sha256) = body.decode(move |input| Ok(intake.prepare(decode(input, intake.received_at())?))).await?;
    let idempotency = idempotency_key.map(|key| Idempotency::with_sha256(key, &sha256));
    let answer = kyp::commit(&state, principal.vendor_id(), &principal.actor(), prepared, idempotency, None).await?;
    Ok(import_answer(answer))
}

fn import_answer(answer: kyp::ImportAnswer) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(answer.status).unwrap_or(actix_web::http::StatusCode::OK);
    let mut res = HttpResponse::build(status);
    res.content_type("application/json");
    if answer.replayed {
        res.insert_header(("Idempotent-Replayed", "true"));
    }
    res.body(answer.body)
}

/// Which column of the vendor's CSV holds each order field (its header, as written).
#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MappingColumns {
    #[schema(value_type = String, min_length = 1, max_length = 200, pattern = r"^[^\s\x00-\x1F\x7F](?:[^\x00-\x1F\x7F]*[^\s\x00-\x1F\x7F])?$")]
    pub order_id: String,
    #[schema(value_type = String, min_length = 1, max_length = 200, pattern = r"^[^\s\x00-\x1F\x7F](?:[^\x00-\x1F\x7F]*[^\s\x00-\x1F\x7F])?$")]
    pub sku: String,
    #[schema(value_type = String, min_length = 1, max_length = 200, pattern = r"^[^\s\x00-\x1F\x7F](?:[^\x00-\x1F\x7F]*[^\s\x00-\x1F\x7F])?$")]
    pub purchased_at: String,
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = r"^[^\s\x00-\x1F\x7F](?:[^\x00-\x1F\x7F]*[^\s\x00-\x1F\x7F])?$")]
    pub email: Option<String>,
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = r"^[^\s\x00-\x1F\x7F](?:[^\x00-\x1F\x7F]*[^\s\x00-\x1F\x7F])?$")]
    pub phone: Option<String>,
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = r"^[^\s\x00-\x1F\x7F](?:[^\x00-\x1F\x7F]*[^\s\x00-\x1F\x7F])?$")]
    pub customer_name: Option<String>,
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = r"^[^\s\x00-\x1F\x7F](?:[^\x00-\x1F\x7F]*[^\s\x00-\x1F\x7F])?$")]
    pub item_name: Option<String>,
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = r"^[^\s\x00-\x1F\x7F](?:[^\x00-\x1F\x7F]*[^\s\x00-\x1F\x7F])?$")]
    pub price: Option<String>,
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = r"^[^\s\x00-\x1F\x7F](?:[^\x00-\x1F\x7F]*[^\s\x00-\x1F\x7F])?$")]
    pub total: Option<String>,
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = r"^[^\s\x00-\x1F\x7F](?:[^\x00-\x1F\x7F]*[^\s\x00-\x1F\x7F])?$")]
    pub currency: Option<String>,
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = r"^[^\s\x00-\x1F\x7F](?:[^\x00-\x1F\x7F]*[^\s\x00-\x1F\x7F])?$")]
    pub delivered_at: Option<String>,
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = r"^[^\s\x00-\x1F\x7F](?:[^\x00-\x1F\x7F]*[^\s\x00-\x1F\x7F])?$")]
    pub status: Option<String>,
    #[schema(value_type = Option<String>, min_length = 1, max_length = 200, pattern = r"^[^\s\x00-\x1F\x7F](?:[^\x00-\x1F\x7F]*[^\s\x00-\x1F\x7F])?$")]
    pub locale: Option<String>,
}

impl MappingColumns {
    fn into_map(self) -> std::collections::BTreeMap<String, String> {
        let required = [("order_id", self.order_id), ("sku", self.sku), ("purchased_at", self.purchased_at)];
        let optional = [
            ("email", self.email),
            ("phone", self.phone),
            ("customer_name", self.customer_name),
            ("item_name", self.item_name),
            ("price", self.price),
            ("total", self.total),
            ("currency", self.currency),
            ("delivered_at", self.delivered_at),
            ("status", self.status),
            ("locale", self.locale),
        ];
        required
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .chain(optional.into_iter().filter_map(|(k, v)| v.map(|v| (k.to_owned(), v))))
            .collect()
    }
}

/// A saved column mapping for any CSV export.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MappingBody {
    /// Order field → the header of the column that holds it in the vendor's CSV;
    /// order_id, sku and purchased_at required.
    pub columns: MappingColumns,
    /// How the file writes dates (strftime, e.g. `%d.%m.%Y %H:%M`, read as UTC); absent =
    /// RFC 3339 or `YYYY-MM-DD`.
    #[schema(max_length = 64)]
    pub date_format: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct MappingView {
    pub name: String,
    pub columns: std::collections::BTreeMap<String, String>,
    pub date_format: Option<String>,
}

impl From<crate::kyp::mappings::Mapping> for MappingView {
    fn from(m: crate::kyp::mappings::Mapping) -> Self {
        MappingView { name: m.name, columns: m.columns, date_format: m.date_format }
    }
}

#[derive(Serialize, ToSchema)]
pub struct MappingList {
    pub mappings: Vec<MappingView>,
}

/// The vendor's saved mappings (secret key or any staff role).
#[utoipa::path(tag = "orders", security(("secret_key" = []), ("staff" = [])), responses((status = 200, body = MappingList), (status = 401, body = Problem)))]
#[get("/api/v1/orders/mappings")]
async fn list_mappings(state: State, who: Principal) -> Result<HttpResponse> {
    let rows = crate::kyp::mappings::list(&state, who.vendor_id()).await?;
    Ok(HttpResponse::Ok().json(MappingList { mappings: rows.into_iter().map(MappingView::from).collect() }))
}

/// One saved mapping (secret key or any staff role).
#[utoipa::path(tag = "orders", security(("secret_key" = []), ("staff" = [])), params(("name" = String, Path, pattern = "^[a-z0-9][a-z0-9_-]{0,39}$")), responses((status = 200, body = MappingView), (status = 401, body = Problem), (status = 404, body = Problem)))]
#[get("/api/v1/orders/mappings/{name}")]
async fn get_mapping(state: State, who: Principal, name: web::Path<String>) -> Result<HttpResponse> {
    let mapping = crate::kyp::mappings::get(&state, who.vendor_id(), &name).await?;
    Ok(HttpResponse::Ok().json(MappingView::from(mapping)))
}

/// Creates or replaces a mapping (secret key or owner): 201 when created, 200 when replaced.
#[utoipa::path(tag = "orders", security(("secret_key" = []), ("staff" = [])), params(("name" = String, Path, pattern = "^[a-z0-9][a-z0-9_-]{0,39}$")), request_body = MappingBody, responses((status = 200, body = MappingView), (status = 201, body = MappingView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
#[put("/api/v1/orders/mappings/{name}")]
async fn put_mapping(
    state: State,
    who: Principal,
    name: web::Path<String>,
    body: Json<MappingBody>,
) -> Result<HttpResponse> {
    if let Principal::Staff(s) = &who {
        s.require_owner()?;
    }
    let b = body.into_inner();
    let mapping = crate::kyp::mappings::Mapping::new(&name, b.columns.into_map(), b.date_format)?;
    let created = crate::kyp::mappings::put(&state, who.vendor_id(), &who.actor(), mapping.clone()).await?;
    let mut res = if created { HttpResponse::Created() } else { HttpResponse::Ok() };
    Ok(res.json(MappingView::from(mapping)))
}

/// Deletes a mapping (owner only).
#[utoipa::path(tag = "orders", security(("staff" = [])), params(("name" = String, Path, pattern = "^[a-z0-9][a-z0-9_-]{0,39}$")), responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
#[delete("/api/v1/orders/mappings/{name}")]
async fn delete_mapping(state: State, session: StaffSession, name: web::Path<String>) -> Result<HttpResponse> {
    session.require_owner()?;
    crate::kyp::mappings::delete(&state, &session.vendor_id, &session.actor(), &name).await?;
    Ok(HttpResponse::NoContent().finish())
}

fn unsupported() -> Error {
    Error::UnsupportedMediaType("expected Content-Type: application/json or text/csv".into())
}

fn too_large() -> Error {
    Error::PayloadTooLarge(format!("the import body exceeds {IMPORT_LIMIT} bytes"))
}

#[derive(Serialize, ToSchema)]
pub struct OrderItemView {
    pub sku: String,
    pub name: Option<String>,
    /// In the currency's minor units.
    pub price_minor: Option<i64>,
}

/// An imported order. Contacts are never shown, only whether each kind is on file.
#[derive(Serialize, ToSchema)]
pub struct OrderView {
    pub order_id: String,
    /// `paid`, `fulfilled`, `delivered`, `cancelled` or `refunded`.
    pub status: String,
    pub purchased_at: String,
    pub delivered_at: Option<String>,
    /// In the currency's minor units.
    pub total_minor: Option<i64>,
    pub currency: Option<String>,
    pub locale: Option<String>,
    pub has_email: bool,
    pub has_phone: bool,
    pub has_customer_name: bool,
    pub items: Vec<OrderItemView>,
    /// Reviews bound to this order.
    pub review_ids: Vec<String>,
    pub created_at: String,
    pub updated_at: Option<String>,
}

/// One of the vendor's orders by its order number.
#[utoipa::path(
    tag = "orders",
    security(("secret_key" = []), ("staff" = [])),
    params(("order_id" = String, Path, description = "The vendor's order number", min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9._~!$&'()*+,;=:@-]{1,64}$")),
    responses((status = 200, body = OrderView), (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem))
)]
#[get("/api/v1/orders/{order_id}")]
async fn get_order(state: State, principal: Principal, order_id: web::Path<String>) -> Result<HttpResponse> {
    let order_ref = OrderRef::parse("order_id", &order_id).map_err(Error::into_query_error)?;
    let (order, items, review_ids) = kyp::get(&state, principal.vendor_id(), order_ref).await?;
    let ts = |ms: i64| crate::clock::from_ms(ms).to_rfc3339();
    let view = OrderView {
        order_id: order.order_ref,
        status: order.status,
        purchased_at: ts(order.purchased_at),
        delivered_at: order.delivered_at.map(ts),
        total_minor: order.total_minor,
        currency: order.currency,
        locale: order.locale,
        has_email: order.email_hmac.is_some(),
        has_phone: order.phone_hmac.is_some(),
        has_customer_name: order.customer_name.is_some(),
        items: items
            .into_iter()
            .map(|i| OrderItemView { sku: i.sku, name: i.name, price_minor: i.price_minor })
            .collect(),
        review_ids,
        created_at: ts(order.created_at),
        updated_at: order.updated_at.map(ts),
    };
    Ok(HttpResponse::Ok().json(view))
}
