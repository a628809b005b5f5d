//! Native order import (`POST /api/v1/orders`, JSON array or CSV) and the order read.
//!
//! Decoding is strict and stops at the first bad row or field, naming the CSV line or the
//! JSON index and the column or field. An import writes all or nothing in one transaction:
//! upsert on (vendor, order number), items replaced, one audit entry, and the stored answer
//! of its `Idempotency-Key`. Contacts are kept only as HMACs.

use std::collections::HashMap;
use std::io::Read;

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::core::Core;
use crate::domain::order::{
    parse_item, parse_order, parse_order_fields, IdempotencyKey, OrderInput, OrderRef, RawItem, RawOrder,
    MAX_ORDERS_PER_IMPORT,
};
use crate::error::{Error, Result};
use crate::kyp::input;
use crate::store;
use crate::store::audit::Entry;
use crate::store::orders::{IdempotentAnswer, Order, OrderItem};

/// An amount: a decimal string (`"19.90"`) or a JSON number (`19.9`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Amount {
    Text(String),
    #[schema(value_type = f64)]
    Number(serde_json::Number),
}

impl Amount {
    fn into_string(self) -> String {
        match self {
            Amount::Text(s) => s,
            Amount::Number(n) => n.to_string(),
        }
    }
}

/// One line item of an imported order.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemIn {
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9_.:/-]{1,64}$")]
    pub sku: String,
    #[schema(
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F\\u200B-\\u200F\\u2028-\\u202E\\u2060-\\u206F\\uFEFF]*$"
    )]
    pub name: Option<String>,
    /// Non-negative decimal amount in `currency` (needs `currency`).
    pub price: Option<Amount>,
}

/// One imported order. Contacts are hashed (HMAC) before they are stored.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderIn {
    /// The vendor's order number: 1–64 printable ASCII characters.
    #[schema(min_length = 1, max_length = 64, pattern = "^[!-~]([ -~]{0,62}[!-~])?$")]
    pub order_id: String,
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    /// International form (`+` country code).
    /// An empty string means none.
    #[schema(max_length = 64, pattern = r"^(|(?:\+|00)[ ().-]*[1-9](?:[ ().-]*[0-9]){7,14}[ ().-]*)$")]
    pub phone: Option<String>,
    #[schema(
        max_length = 200,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F\\u200B-\\u200F\\u2028-\\u202E\\u2060-\\u206F\\uFEFF]*$"
    )]
    pub customer_name: Option<String>,
    #[schema(min_items = 1, max_items = 1000)]
    pub items: Vec<ItemIn>,
    pub total: Option<Amount>,
    /// ISO 4217 code (required with `total` or a `price`).
    #[schema(pattern = "^[A-Za-z]{3}$")]
    pub currency: Option<String>,
    /// RFC 3339 date-time (a plain `YYYY-MM-DD` date, midnight UTC, is accepted too), at
    /// most a day after the import arrives.
    #[schema(format = DateTime)]
    pub purchased_at: String,
    /// RFC 3339 date-time (or `YYYY-MM-DD`), not before `purchased_at` and at most a day
    /// after the import arrives.
    #[schema(format = DateTime)]
    pub delivered_at: Option<String>,
    /// `paid` (default), `fulfilled`, `delivered`, `cancelled` or `refunded`.
    #[schema(pattern = "^(paid|fulfilled|delivered|cancelled|refunded)$")]
    pub status: Option<String>,
    #[schema(max_length = 35)]
    pub locale: Option<String>,
}

/// An import's answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImportCounts {
    pub created: u64,
    pub updated: u64,
    pub orders: u64,
}

/// serde's message without the caller's input: a missing field names our own field,
/// anything else (which could quote the input) is summarised.
fn shape_error(message: &str) -> String {
    match message.strip_prefix("missing field `").and_then(|m| m.split_once('`')) {
        Some((field, _)) => format!("lacks the required field {field}"),
        None if message.starts_with("unknown field") => "has a field that is not part of an order".into(),
        None => "does not match the order shape (see the OpenAPI schema)".into(),
    }
}

/// Prefixes a validation error's field with where it was found.
fn at(prefix: impl FnOnce(&str) -> String, e: Error) -> Error {
    match e {
        Error::Validation { field, detail } => Error::Validation { field: prefix(&field), detail },
        other => other,
    }
}

/// Decodes a JSON array of orders received at `received_at` (Unix ms; no order date may
/// lie more than a day after it).
pub fn decode_json(body: &[u8], received_at: i64) -> Result<Vec<OrderInput>> {
    decode_json_from(body, received_at)
}

/// [`decode_json`] from a stream.
pub fn decode_json_from(input: impl Read, received_at: i64) -> Result<Vec<OrderInput>> {
    let value = input::json_value(input, "is empty: expected a JSON array of orders")?;
    let serde_json::Value::Array(values) = value else {
        return Err(Error::validation("body", "must be a JSON array of orders"));
    };
    if values.is_empty() {
        return Err(Error::validation("body", "must list at least one order"));
    }
    if values.len() > MAX_ORDERS_PER_IMPORT {
        return Err(Error::validation("body", format!("must list at most {MAX_ORDERS_PER_IMPORT} orders per request")));
    }
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(values.len());
    let mut out = Vec::with_capacity(values.len());
    for (i, value) in values.into_iter().enumerate() {
        let where_ = |f: &str| format!("index {i}, field {f}");
        if !value.is_object() {
            return Err(Error::validation(format!("index {i}"), "must be a JSON object"));
        }
        let order: OrderIn = serde_json::from_value(value)
            .map_err(|e| Error::validation(format!("index {i}"), shape_error(&e.to_string())))?;
        let raw = RawOrder {
            order_id: order.order_id,
            email: order.email,
            phone: order.phone,
            customer_name: order.customer_name,
            total: order.total.map(Amount::into_string),
            currency: order.currency,
            purchased_at: Some(order.purchased_at),
            delivered_at: order.delivered_at,
            status: order.status,
            locale: order.locale,
        };
        let items: Vec<RawItem> = order
            .items
            .into_iter()
            .map(|it| RawItem { sku: it.sku, name: it.name, price: it.price.map(Amount::into_string) })
            .collect();
        let parsed =
            parse_order(&raw, &items, received_at, |n, f| format!("items[{n}].{f}")).map_err(|e| at(where_, e))?;
        if let Some(first) = seen.insert(parsed.order_ref.as_str().to_owned(), i) {
            return Err(Error::validation(where_("order_id"), format!("repeats the order at index {first}")));
        }
        out.push(parsed);
    }
    Ok(out)
}

/// The CSV columns, one row per line item.
pub const CSV_COLUMNS: [&str; 13] = [
    "order_id",
    "email",
    "phone",
    "customer_name",
    "sku",
    "item_name",
    "price",
    "total",
    "currency",
    "purchased_at",
    "delivered_at",
    "status",
    "locale",
];
const CSV_REQUIRED: [&str; 3] = ["order_id", "sku", "purchased_at"];

/// Decodes CSV with a header row (UTF-8, optional BOM, LF or CRLF line ends). Rows of one
/// order need not be adjacent but must agree on every order field. `received_at` as for
/// [`decode_json`].
pub fn decode_csv(body: &[u8], received_at: i64) -> Result<Vec<OrderInput>> {
    decode_csv_from(body, received_at)
}

/// [`decode_csv`] from a stream: only the rows being read are held, besides the orders.
pub fn decode_csv_from(input: impl Read, received_at: i64) -> Result<Vec<OrderInput>> {
    let (mut rows, header) = input::CsvRows::open(input)?;
    // column index → position in CSV_COLUMNS
    let mut columns: Vec<usize> = Vec::with_capacity(header.len());
    for (n, name) in header.iter().enumerate() {
        let field = format!("line 1, column {}", n + 1);
        let name = std::str::from_utf8(name).map_err(|_| Error::validation(&field, "is not valid UTF-8"))?.trim();
        let Some(known) = CSV_COLUMNS.iter().position(|c| *c == name) else {
            return Err(Error::validation(field, format!("is not a known column (known: {})", CSV_COLUMNS.join(", "))));
        };
        if columns.contains(&known) {
            return Err(Error::validation(field, format!("repeats the column {name}")));
        }
        columns.push(known);
    }
    for required in CSV_REQUIRED {
        if !columns.iter().any(|&c| CSV_COLUMNS[c] == required) {
            return Err(Error::validation("line 1", format!("lacks the required column {required}")));
        }
    }

    // Orders in first-seen order; each remembers its first line and raw fields.
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut orders: Vec<(u64, RawOrder, OrderInput)> = Vec::new();
    let mut lines = 0u64;
    let mut record = csv::ByteRecord::new();
    while let Some(line) = rows.next(&mut record)? {
        lines += 1;
        if record.len() != columns.len() {
            return Err(Error::validation(
                format!("line {line}"),
                format!("has {} fields, the header has {}", record.len(), columns.len()),
            ));
        }
        let mut values: [Option<String>; 13] = Default::default();
        for (n, raw) in record.iter().enumerate() {
            let col = columns[n];
            let text = std::str::from_utf8(raw).map_err(|_| {
                Error::validation(format!("line {line}, column {}", CSV_COLUMNS[col]), "is not valid UTF-8")
            })?;
            let text = text.trim();
            if !text.is_empty() {
                values[col] = Some(text.to_owned());
            }
        }
        let [order_id, email, phone, customer_name, sku, item_name, price, total, currency, purchased_at, delivered_at, status, locale] =
            values;
        let raw = RawOrder {
            order_id: order_id.unwrap_or_default(),
            email,
            phone,
            customer_name,
            total,
            currency,
            purchased_at,
            delivered_at,
            status,
            locale,
        };
        let item = RawItem { sku: sku.unwrap_or_default(), name: item_name, price };
        let where_ = |f: &str| format!("line {line}, column {f}");
        let pos = match index.get(&raw.order_id) {
            Some(&pos) => {
                let (first_line, first, _) = &orders[pos];
                if let Some(f) = differing_field(first, &raw) {
                    return Err(Error::validation(
                        where_(f),
                        format!("differs from line {first_line}, the first row of this order"),
                    ));
                }
                pos
            }
            None => {
                let parsed = parse_order_fields(&raw, received_at).map_err(|e| at(where_, e))?;
                if orders.len() == MAX_ORDERS_PER_IMPORT {
                    return Err(Error::validation(
                        format!("line {line}"),
                        format!("exceeds {MAX_ORDERS_PER_IMPORT} orders per request"),
                    ));
                }
                index.insert(raw.order_id.clone(), orders.len());
                orders.push((line, raw, parsed));
                orders.len() - 1
            }
        };
        let order = &mut orders[pos].2;
        if order.items.len() == crate::domain::order::MAX_ITEMS_PER_ORDER {
            return Err(Error::validation(where_("sku"), "exceeds the items one order may list"));
        }
        let rename = |f: &str| if f == "name" { "item_name".to_owned() } else { f.to_owned() };
        let parsed = parse_item(&item, order.currency, rename).map_err(|e| at(where_, e))?;
        order.items.push(parsed);
    }
    if lines == 0 {
        return Err(Error::validation("line 2", "is missing: the file has a header row but no orders"));
    }
    Ok(orders.into_iter().map(|(_, _, o)| o).collect())
}

/// The first order field in which two rows of one order disagree.
pub(crate) fn differing_field(a: &RawOrder, b: &RawOrder) -> Option<&'static str> {
    let pairs = [
        ("email", &a.email, &b.email),
        ("phone", &a.phone, &b.phone),
        ("customer_name", &a.customer_name, &b.customer_name),
        ("total", &a.total, &b.total),
        ("currency", &a.currency, &b.currency),
        ("purchased_at", &a.purchased_at, &b.purchased_at),
        ("delivered_at", &a.delivered_at, &b.delivered_at),
        ("status", &a.status, &b.status),
        ("locale", &a.locale, &b.locale),
    ];
    pairs.into_iter().find(|(_, x, y)| x != y).map(|(f, _, _)| f)
}

/// An `Idempotency-Key` and the SHA-256 of the request body it was sent with.
pub struct Idempotency {
    pub key: IdempotencyKey,
    pub request_sha256: String,
}

impl Idempotency {
    pub fn new(key: IdempotencyKey, body: &[u8]) -> Idempotency {
        use sha2::{Digest, Sha256};
        Idempotency::with_sha256(key, &Sha256::digest(body).into())
    }

    /// The key of a body whose SHA-256 was taken as it was read.
    pub fn with_sha256(key: IdempotencyKey, sha256: &[u8; 32]) -> Idempotency {
        Idempotency { key, request_sha256: hex::encode(sha256) }
    }
}

/// What to answer: the status and JSON body (fresh, or stored under the idempotency key).
#[derive(Debug, Clone)]
pub struct ImportAnswer {
    pub status: u16,
    pub body: String,
    pub replayed: bool,
}

/// What a sealed raw contact of an order is bound to (it opens only for that order).
pub fn contact_context(vendor_id: &str, order_ref: &str) -> String {
    format!("order-contact:{vendor_id}:{order_ref}")
}

/// Runs first inside an import's transaction; `false` skips the import (a webhook delivery
/// older than what was applied).
pub type Guard = Box<dyn FnOnce(&mut crate::db::DbConn) -> Result<bool> + Send>;

/// Imports orders for a vendor: all or nothing, in one write transaction.
pub async fn import(
    core: &Core,
    vendor_id: &str,
    actor: &str,
    orders: Vec<OrderInput>,
    idempotency: Option<Idempotency>,
) -> Result<ImportAnswer> {
    import_guarded(core, vendor_id, actor, orders, idempotency, None).await
}

/// [`import`] behind a [`Guard`]; a refused guard answers `replayed` with nothing written.
pub async fn import_guarded(
    core: &Core,
    vendor_id: &str,
    actor: &str,
    orders: Vec<OrderInput>,
    idempotency: Option<Idempotency>,
    guard: Option<Guard>,
) -> Result<ImportAnswer> {
    let funnel = crate::funnel::invitations::settings(core, vendor_id).await?;
    let prepared = prepare(core, vendor_id, &funnel, orders);
    commit(core, vendor_id, actor, prepared, idempotency, guard).await
}

/// A request's import whose orders are decoded and prepared off the async worker threads
/// (`POST /api/v1/orders` streams its body into a decoder on the blocking pool, which
/// prepares what it decoded there too), then written by [`commit`].
pub struct Intake {
    core: std::sync::Arc<Core>,
    vendor_id: String,
    funnel: crate::domain::funnel::FunnelSettings,
    received_at: i64,
}

/// Starts an import for `vendor_id`: reads the vendor's funnel settings and notes when the
/// import arrived.
pub async fn intake(core: &std::sync::Arc<Core>, vendor_id: &str) -> Result<Intake> {
    let received_at = core.now_ms();
    let funnel = crate::funnel::invitations::settings(core, vendor_id).await?;
    Ok(Intake { core: core.clone(), vendor_id: vendor_id.to_owned(), funnel, received_at })
}

impl Intake {
    /// When the import arrived (Unix ms): what the decoders check order dates against.
    pub fn received_at(&self) -> i64 {
        self.received_at
    }

    /// [`prepare`]s decoded orders (CPU work: run it on the blocking pool).
    pub fn prepare(&self, orders: Vec<OrderInput>) -> Prepared {
        prepare(&self.core, &self.vendor_id, &self.funnel, orders)
    }
}

/// Orders ready to be written: contacts hashed (and sealed while invitations need them),
/// ids drawn, invitations decided. Preparing is CPU work outside any transaction, so a
/// big import prepares its next chunk while the last one is being written.
pub struct Prepared {
    rows: Vec<(Order, Vec<OrderItem>)>,
    invitations: Vec<crate::store::jobs::Job>,
    now: i64,
}

/// Prepares decoded orders for [`commit`] under the vendor's funnel settings.
pub fn prepare(
    core: &Core,
    vendor_id: &str,
    funnel: &crate::domain::funnel::FunnelSettings,
    orders: Vec<OrderInput>,
) -> Prepared {
    let now = core.now_ms();
    let keep_raw = core.settings.contact_retention_days > 0;
    let mut rows = Vec::with_capacity(orders.len());
    for order in orders {
        let id = core.new_id();
        let items: Vec<OrderItem> = order
            .items
            .into_iter()
            .map(|it| OrderItem {
                id: core.new_id(),
                order_id: id.clone(),
                sku: it.sku.into_string(),
                name: it.name,
                price_minor: it.price_minor,
            })
            .collect();
        let context = contact_context(vendor_id, order.order_ref.as_str());
        let seal = |raw: &str| core.sealer.seal(core.random.as_ref(), &context, raw);
        let row = Order {
            id,
            vendor_id: vendor_id.to_owned(),
            order_ref: order.order_ref.into_string(),
            email_hmac: order.email.as_ref().map(|e| core.contacts.email(e.as_str())),
            phone_hmac: order.phone.as_ref().map(|p| core.contacts.phone(p.as_str())),
            customer_name: order.customer_name,
            total_minor: order.total_minor,
            currency: order.currency.map(|c| c.as_str().to_owned()),
            purchased_at: order.purchased_at,
            delivered_at: order.delivered_at,
            locale: order.locale.map(|l| l.into_string()),
            created_at: now,
            status: order.status.as_str().to_owned(),
            updated_at: None,
            email_sealed: order.email.as_ref().filter(|_| keep_raw).map(|e| seal(e.as_str())),
            phone_sealed: order.phone.as_ref().filter(|_| keep_raw).map(|p| seal(p.as_str())),
            contacts_expire_at: (keep_raw && (order.email.is_some() || order.phone.is_some()))
                .then(|| now + core.settings.contact_retention_days * 86_400_000),
        };
        rows.push((row, items));
    }
    // Invitations are queued in the import's transaction (their idempotency keys keep a
    // re-imported order from being invited twice).
    let invitations = crate::funnel::invitations::jobs_for(core, vendor_id, funnel, rows.iter().map(|(o, _)| o));
    Prepared { rows, invitations, now }
}

/// Writes prepared orders: all or nothing, in one write transaction. The returned task
/// runs on the database's blocking pool from the moment this is called (not when it is
/// first awaited), so the caller can prepare the next chunk meanwhile. Once the orders are
/// committed, the tables' statistics are refreshed if they have fallen far behind
/// ([`store::orders::refresh_statistics`]).
pub fn commit(
    core: &Core,
    vendor_id: &str,
    actor: &str,
    prepared: Prepared,
    idempotency: Option<Idempotency>,
    guard: Option<Guard>,
) -> impl std::future::Future<Output = Result<ImportAnswer>> + Send + 'static {
    let Prepared { rows, invitations, now } = prepared;
    let vendor_id = vendor_id.to_owned();
    let actor = actor.to_owned();
    let audit = core.audit.clone();
    let db = core.db.clone();
    let write = core.db.spawn_write(move |conn| {
        if let Some(idem) = &idempotency {
            if let Some(stored) = store::orders::idempotent_answer(conn, &vendor_id, idem.key.as_str())? {
                if stored.request_sha256 != idem.request_sha256 {
                    return Err(Error::validation("Idempotency-Key", "was already used with a different request body"));
                }
                let status = u16::try_from(stored.response_status).unwrap_or(200);
                return Ok(ImportAnswer { status, body: stored.response_body, replayed: true });
            }
        }
        if let Some(guard) = guard {
            if !guard(conn)? {
                let body = serde_json::to_string(&ImportCounts { created: 0, updated: 0, orders: 0 })
                    .map_err(Error::internal)?;
                return Ok(ImportAnswer { status: 200, body, replayed: true });
            }
        }
        let refs: Vec<String> = rows.iter().map(|(r, _)| r.order_ref.clone()).collect();
        let existing: HashMap<String, String> =
            store::orders::ids_by_ref(conn, &vendor_id, &refs)?.into_iter().collect();
        let mut created = Vec::new();
        let mut updated_ids = Vec::new();
        let mut all_items = Vec::new();
        for (mut row, mut items) in rows {
            match existing.get(&row.order_ref) {
                Some(id) => {
                    row.id = id.clone();
                    row.updated_at = Some(now);
                    store::orders::update_imported(conn, id, &row)?;
                    for item in &mut items {
                        item.order_id = id.clone();
                    }
                    updated_ids.push(row.id);
                }
                None => created.push(row),
            }
            all_items.append(&mut items);
        }
        store::orders::delete_items(conn, &updated_ids)?;
        store::orders::insert_imported(conn, &created)?;
        store::orders::insert_items(conn, &all_items)?;
        // Products are created implicitly (named after the first line item that names
        // them); an existing product is never overwritten by an import.
        let mut products: std::collections::BTreeMap<&str, Option<&str>> = Default::default();
        for item in &all_items {
            let name = products.entry(item.sku.as_str()).or_default();
            if name.is_none() {
                *name = item.name.as_deref();
            }
        }
        let products: Vec<(&str, Option<&str>)> = products.into_iter().collect();
        store::products::ensure_many(conn, &vendor_id, &products, now)?;
        store::jobs::enqueue_many(conn, &invitations)?;
        let counts = ImportCounts {
            created: created.len() as u64,
            updated: updated_ids.len() as u64,
            orders: (created.len() + updated_ids.len()) as u64,
        };
        audit.append(
            conn,
            &vendor_id,
            now,
            Entry {
                actor: &actor,
                action: "orders.imported",
                target: "orders",
                details: json!({
                    "created": counts.created,
                    "updated": counts.updated,
                    "orders": counts.orders,
                    "items": all_items.len(),
                }),
            },
        )?;
        let body = serde_json::to_string(&counts).map_err(Error::internal)?;
        if let Some(idem) = idempotency {
            store::orders::store_answer(
                conn,
                &IdempotentAnswer {
                    vendor_id: vendor_id.clone(),
                    key: idem.key.as_str().to_owned(),
                    request_sha256: idem.request_sha256,
                    response_status: 200,
                    response_body: body.clone(),
                    created_at: now,
                },
            )?;
        }
        Ok(ImportAnswer { status: 200, body, replayed: false })
    });
    async move {
        let answer = write.await?;
        // Only PostgreSQL plans from statistics that can fall behind (SQLite needs none).
        if !answer.replayed && db.backend() == crate::db::Backend::Postgres {
            // The orders are in: a failure here is logged, not answered.
            if let Err(e) = db.run(store::orders::refresh_statistics).await {
                tracing::warn!(error = %e, "could not refresh the order tables' statistics");
            }
        }
        Ok(answer)
    }
}

/// One of the vendor's orders with its items and the ids of the reviews bound to it.
pub async fn get(core: &Core, vendor_id: &str, order_ref: OrderRef) -> Result<store::orders::OrderRecord> {
    let vendor_id = vendor_id.to_owned();
    core.db
        .run(move |conn| store::orders::by_ref(conn, &vendor_id, order_ref.as_str()))
        .await?
        .ok_or_else(|| Error::not_found("order"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crlf_files_report_physical_lines() {
        let body = b"order_id,sku,purchased_at\r\nA,s1,2026-01-01\r\nB,s2,2026-13-01\r\n";
        match decode_csv(body, 1_795_521_600_000) {
            Err(Error::Validation { field, .. }) => assert_eq!(field, "line 3, column purchased_at"),
            other => panic!("{other:?}"),
        }
        let lf = b"order_id,sku,purchased_at\nA,s1,2026-01-01\nB,s2,2026-13-01\n";
        match decode_csv(lf, 1_795_521_600_000) {
            Err(Error::Validation { field, .. }) => assert_eq!(field, "line 3, column purchased_at"),
            other => panic!("{other:?}"),
        }
    }
}
