//! Orders as shops export them, imported without reshaping (SPEC §6): Shopify's orders
//! export CSV and WooCommerce's REST API orders JSON. Each becomes the same `RawOrder` /
//! `RawItem` the native formats produce and goes through the same validation, with errors
//! naming the file's line (CSV) or array index (JSON) and the shop's own column or field.
//!
//! What the shops' data means here:
//! - Shopify: `Name` (`#1001`) is the order number; order fields are on the first row of an
//!   order only; `Financial Status` `refunded`/`voided` → refunded, a `Cancelled at` →
//!   cancelled (neither backs a review); `Fulfillment Status` `fulfilled` → fulfilled, with
//!   `Fulfilled at` as its delivery date (the export has none of its own);
//!   `Phone`, else `Billing Phone`, else `Shipping Phone`; a line item without `Lineitem
//!   sku` gets a SKU made from its name (`name:desk-lamp`), so reviews of it still group.
//! - WooCommerce: `number` is the order number; `completed` → delivered (at
//!   `date_completed_gmt`), `processing`/`on-hold` → paid, `cancelled`, `refunded`;
//!   `pending`, `failed`, `checkout-draft` and `trash` orders are not purchases and are
//!   skipped; `billing.email`/`billing.phone`; item price = `price` (per unit).
//! - A phone a shop stored without its country code cannot be put in international form:
//!   it is left out (the e-mail still matches) rather than failing the whole export.

use std::collections::HashMap;

use serde::Deserialize;

use crate::domain::contact::Phone;
use crate::domain::order::{parse_order, OrderInput, RawItem, RawOrder, MAX_ORDERS_PER_IMPORT};
use crate::error::{Error, Result};
use crate::kyp::input::{self, CsvRows};

/// The formats `POST /api/v1/orders` and `truview orders import` take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Native,
    Shopify,
    WooCommerce,
}

impl Format {
    pub fn parse(raw: &str) -> Result<Format> {
        match raw {
            "native" => Ok(Format::Native),
            "shopify" => Ok(Format::Shopify),
            "woocommerce" => Ok(Format::WooCommerce),
            _ => Err(Error::BadRequest("format must be native, shopify or woocommerce".into())),
        }
    }
}

fn strip_bom(body: &[u8]) -> &[u8] {
    body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body)
}

/// Tells a CSV export by its header row: Shopify's has `Name` and `Lineitem name`.
pub fn detect_csv(body: &[u8]) -> Format {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(strip_bom(body));
    let mut header = csv::ByteRecord::new();
    if reader.read_byte_record(&mut header).unwrap_or(false) {
        let names: Vec<&[u8]> = header.iter().map(|h| h.trim_ascii()).collect();
        if names.contains(&&b"Name"[..]) && names.contains(&&b"Lineitem name"[..]) {
            return Format::Shopify;
        }
    }
    Format::Native
}

/// Tells a JSON array of WooCommerce orders (objects with `number` and `line_items`).
pub fn detect_json(body: &[u8]) -> Format {
    #[derive(Deserialize)]
    struct Probe {
        number: Option<serde_json::Value>,
        line_items: Option<serde_json::Value>,
    }
    let first = serde_json::Deserializer::from_slice(strip_bom(body)).into_iter::<serde_json::Value>().next();
    match first {
        Some(Ok(serde_json::Value::Array(items))) => match items.first() {
            Some(v) => match serde_json::from_value::<Probe>(v.clone()) {
                Ok(Probe { number: Some(_), line_items: Some(_) }) => Format::WooCommerce,
                _ => Format::Native,
            },
            None => Format::Native,
        },
        _ => Format::Native,
    }
}

/// Tells WooCommerce orders from the first bytes of a big JSON file (`"number"` and
/// `"line_items"` in the first order).
pub fn detect_json_start(head: &[u8]) -> Format {
    let text = String::from_utf8_lossy(head);
    let first = text.split("},{").next().unwrap_or_default();
    if first.contains("\"number\"") && text.contains("\"line_items\"") {
        Format::WooCommerce
    } else {
        Format::Native
    }
}

/// The name of the column an error names, for Shopify's fields.
fn shopify_column(field: &str) -> &'static str {
    match field {
        "order_id" => "Name",
        "email" => "Email",
        "phone" => "Phone",
        "customer_name" => "Billing Name",
        "total" => "Total",
        "currency" => "Currency",
        "purchased_at" => "Created at",
        "status" => "Financial Status",
        "sku" => "Lineitem sku",
        "name" => "Lineitem name",
        "price" => "Lineitem price",
        _ => "Name",
    }
}

/// Rewrites a validation error's field through `column`, prefixed with where it is.
fn located(e: Error, at: &str, column: impl Fn(&str) -> String) -> Error {
    match e {
        Error::Validation { field, detail } => {
            let leaf = field.rsplit(['.', ' ']).next().unwrap_or(&field).trim_end_matches(']');
            Error::validation(format!("{at}, column {}", column(leaf)), detail)
        }
        other => other,
    }
}

/// A SKU for a line item the shop gave none: `name:` and the name's letters and digits.
pub fn sku_from_name(name: &str) -> Option<String> {
    let mut slug = String::new();
    for c in name.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    (!slug.is_empty()).then(|| format!("name:{}", &slug[..slug.len().min(59)]).trim_end_matches('-').to_owned())
}

/// A phone in international form, or nothing (see the module comment).
fn usable_phone(raw: Option<&str>) -> Option<String> {
    raw.map(str::trim)
        .filter(|p| !p.is_empty())
        .and_then(|p| Phone::parse("phone", p).ok())
        .map(|p| p.as_str().to_owned())
}

/// Shopify's `2024-03-05 14:02:11 +0100` as RFC 3339 (other forms are passed on, and
/// refused by validation with the column named).
fn shopify_instant(raw: &str) -> String {
    chrono::DateTime::parse_from_str(raw.trim(), "%Y-%m-%d %H:%M:%S %z")
        .map(|t| t.to_rfc3339())
        .unwrap_or_else(|_| raw.trim().to_owned())
}

/// Decodes a Shopify orders export (columns by header name; unknown columns ignored)
/// received at `received_at` (Unix ms; no order date may lie more than a day after it).
pub fn decode_shopify(body: &[u8], received_at: i64) -> Result<Vec<OrderInput>> {
    decode_shopify_from(body, received_at)
}

/// [`decode_shopify`] from a stream.
pub fn decode_shopify_from(input: impl std::io::Read, received_at: i64) -> Result<Vec<OrderInput>> {
    let (mut rows, header) = CsvRows::open(input)?;
    let index: HashMap<String, usize> =
        header.iter().enumerate().map(|(i, h)| (String::from_utf8_lossy(h).trim().to_owned(), i)).collect();
    let col = |name: &str| index.get(name).copied();
    for required in ["Name", "Lineitem name", "Created at"] {
        if col(required).is_none() {
            return Err(Error::validation("line 1", format!("lacks Shopify's column {required}")));
        }
    }
    struct Pending {
        line: u64,
        raw: RawOrder,
        items: Vec<(u64, RawItem)>,
    }
    let mut orders: Vec<Pending> = Vec::new();
    let mut by_name: HashMap<String, usize> = HashMap::new();
    let mut record = csv::ByteRecord::new();
    while let Some(line) = rows.next(&mut record)? {
        let text = |name: &str| -> Result<Option<String>> {
            match col(name).and_then(|i| record.get(i)) {
                None => Ok(None),
                Some(raw) => {
                    let s = std::str::from_utf8(raw)
                        .map_err(|_| Error::validation(format!("line {line}, column {name}"), "is not valid UTF-8"))?
                        .trim();
                    Ok((!s.is_empty()).then(|| s.to_owned()))
                }
            }
        };
        let name = text("Name")?.ok_or_else(|| Error::validation(format!("line {line}, column Name"), "is empty"))?;
        let pos = match by_name.get(&name) {
            Some(&pos) => pos,
            None => {
                let financial = text("Financial Status")?.unwrap_or_default().to_ascii_lowercase();
                let status = if text("Cancelled at")?.is_some() {
                    "cancelled"
                } else if matches!(financial.as_str(), "refunded" | "voided") {
                    "refunded"
                } else if text("Fulfillment Status")?.is_some_and(|f| f.eq_ignore_ascii_case("fulfilled")) {
                    "fulfilled"
                } else {
                    "paid"
                };
                let phone = usable_phone(text("Phone")?.as_deref())
                    .or(usable_phone(text("Billing Phone")?.as_deref()))
                    .or(usable_phone(text("Shipping Phone")?.as_deref()));
                let raw = RawOrder {
                    order_id: name.clone(),
                    email: text("Email")?,
                    phone,
                    customer_name: text("Billing Name")?,
                    total: text("Total")?,
                    currency: text("Currency")?,
                    purchased_at: text("Created at")?.map(|t| shopify_instant(&t)),
                    // The export has no delivery date: fulfilment (shipping) stands for it, so
                    // the funnel's delay and the "delivered only" rule count from there.
                    delivered_at: text("Fulfilled at")?.map(|t| shopify_instant(&t)),
                    status: Some(status.into()),
                    locale: None,
                };
                if orders.len() == MAX_ORDERS_PER_IMPORT {
                    return Err(Error::validation(
                        format!("line {line}"),
                        format!("exceeds {MAX_ORDERS_PER_IMPORT} orders per request"),
                    ));
                }
                by_name.insert(name, orders.len());
                orders.push(Pending { line, raw, items: Vec::new() });
                orders.len() - 1
            }
        };
        let item_name = text("Lineitem name")?;
        let sku = match text("Lineitem sku")? {
            Some(s) => s,
            None => item_name.as_deref().and_then(sku_from_name).ok_or_else(|| {
                Error::validation(format!("line {line}, column Lineitem sku"), "is empty and so is Lineitem name")
            })?,
        };
        orders[pos].items.push((line, RawItem { sku, name: item_name, price: text("Lineitem price")? }));
    }
    if orders.is_empty() {
        return Err(Error::validation("line 2", "is missing: the file has a header row but no orders"));
    }
    orders
        .into_iter()
        .map(|o| {
            let lines: Vec<u64> = o.items.iter().map(|(l, _)| *l).collect();
            let items: Vec<RawItem> = o.items.into_iter().map(|(_, i)| i).collect();
            parse_order(&o.raw, &items, received_at, |n, f| format!("items[{n}].{f}")).map_err(|e| {
                // An item's error names the item's own line; an order field's, the order's first line.
                let line = match &e {
                    Error::Validation { field, .. } if field.starts_with("items[") => field[6..]
                        .split(']')
                        .next()
                        .and_then(|n| n.parse::<usize>().ok())
                        .and_then(|n| lines.get(n).copied())
                        .unwrap_or(o.line),
                    _ => o.line,
                };
                located(e, &format!("line {line}"), |f| shopify_column(f).to_owned())
            })
        })
        .collect()
}

#[derive(Deserialize)]
struct WooBilling {
    email: Option<String>,
    phone: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
}

#[derive(Deserialize)]
struct WooItem {
    sku: Option<String>,
    name: Option<String>,
    price: Option<serde_json::Value>,
    total: Option<String>,
    quantity: Option<i64>,
}

#[derive(Deserialize)]
struct WooOrder {
    number: serde_json::Value,
    status: String,
    currency: Option<String>,
    total: Option<String>,
    date_created_gmt: Option<String>,
    date_completed_gmt: Option<String>,
    billing: Option<WooBilling>,
    #[serde(default)]
    line_items: Vec<WooItem>,
}

/// WooCommerce's `…_gmt` instants have no offset: they are UTC.
fn woo_instant(raw: Option<String>) -> Option<String> {
    raw.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).map(|t| if t.len() == 19 { format!("{t}Z") } else { t })
}

/// A JSON number or string as the decimal text validation reads.
fn amount(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        _ => None,
    }
}

/// Decodes WooCommerce orders as `GET /wp-json/wc/v3/orders` returns them (a JSON array;
/// fields other than the ones named in the module comment are ignored), received at
/// `received_at` as for [`decode_shopify`].
pub fn decode_woocommerce(body: &[u8], received_at: i64) -> Result<Vec<OrderInput>> {
    decode_woocommerce_from(body, received_at)
}

/// [`decode_woocommerce`] from a stream.
pub fn decode_woocommerce_from(input: impl std::io::Read, received_at: i64) -> Result<Vec<OrderInput>> {
    let serde_json::Value::Array(values) = input::json_value(input, "is empty: expected a JSON array of orders")?
    else {
        return Err(Error::validation("body", "must be a JSON array of WooCommerce orders"));
    };
    if values.len() > MAX_ORDERS_PER_IMPORT {
        return Err(Error::validation("body", format!("must list at most {MAX_ORDERS_PER_IMPORT} orders per request")));
    }
    let mut out = Vec::with_capacity(values.len());
    for (i, value) in values.into_iter().enumerate() {
        let at = format!("index {i}");
        let order: WooOrder = serde_json::from_value(value)
            .map_err(|_| Error::validation(&at, "is not a WooCommerce order (number, status, line_items)"))?;
        let status = match order.status.as_str() {
            "completed" => "delivered",
            "processing" | "on-hold" => "paid",
            "cancelled" => "cancelled",
            "refunded" => "refunded",
            "pending" | "failed" | "checkout-draft" | "trash" => continue,
            other => {
                return Err(Error::validation(
                    format!("{at}, field status"),
                    format!("is not a WooCommerce order status: {other}"),
                ))
            }
        };
        let number = match &order.number {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => String::new(),
        };
        let billing =
            order.billing.unwrap_or(WooBilling { email: None, phone: None, first_name: None, last_name: None });
        let name = [billing.first_name.as_deref(), billing.last_name.as_deref()]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let raw = RawOrder {
            order_id: number,
            email: billing.email,
            phone: usable_phone(billing.phone.as_deref()),
            customer_name: (!name.is_empty()).then_some(name),
            total: order.total,
            currency: order.currency,
            purchased_at: woo_instant(order.date_created_gmt),
            delivered_at: if status == "delivered" { woo_instant(order.date_completed_gmt) } else { None },
            status: Some(status.into()),
            locale: None,
        };
        let mut items = Vec::with_capacity(order.line_items.len());
        for (n, item) in order.line_items.into_iter().enumerate() {
            let sku = match item.sku.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                Some(s) => s.to_owned(),
                None => item.name.as_deref().and_then(sku_from_name).ok_or_else(|| {
                    Error::validation(format!("{at}, field line_items[{n}].sku"), "is empty and so is the name")
                })?,
            };
            let price = item.price.as_ref().and_then(amount).or_else(|| {
                // Without a unit price: the line total over the quantity, when it divides.
                let total = item.total.as_deref()?.trim().parse::<f64>().ok()?;
                let qty = item.quantity.filter(|q| *q > 0)? as f64;
                Some(format!("{:.2}", total / qty))
            });
            items.push(RawItem { sku, name: item.name, price });
        }
        let parsed =
            parse_order(&raw, &items, received_at, |n, f| format!("line_items[{n}].{f}")).map_err(|e| match e {
                Error::Validation { field, detail } => Error::validation(format!("{at}, field {field}"), detail),
                other => other,
            })?;
        out.push(parsed);
    }
    if out.is_empty() {
        return Err(Error::validation(
            "body",
            "lists no order that is a purchase (pending, failed and draft orders are skipped)",
        ));
    }
    Ok(out)
}

/// A platform order as a webhook delivers it: the platform's own id, when it was last
/// updated (Unix ms), and the order (`None` when it is not a purchase, e.g. a pending
/// WooCommerce order).
pub struct WebhookOrder {
    pub platform_id: String,
    pub updated_at: i64,
    pub order: Option<OrderInput>,
}

fn json_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn webhook_instant(field: &str, raw: Option<String>) -> Result<i64> {
    let raw = raw.ok_or_else(|| Error::validation(field, "is missing"))?;
    crate::domain::order::parse_instant(field, &raw)
}

/// A Shopify order webhook (`orders/create`, `orders/updated`, `orders/fulfilled`) body.
pub fn shopify_webhook(body: &[u8], received_at: i64) -> Result<WebhookOrder> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| Error::validation("body", "is not a Shopify order (JSON)"))?;
    let get = |path: &[&str]| -> Option<String> {
        let mut cur = &v;
        for key in path {
            cur = cur.get(key)?;
        }
        json_text(cur)
    };
    let platform_id = get(&["id"]).ok_or_else(|| Error::validation("id", "is missing"))?;
    let updated_at = webhook_instant("updated_at", get(&["updated_at"]).or_else(|| get(&["created_at"])))?;
    let financial = get(&["financial_status"]).unwrap_or_default().to_ascii_lowercase();
    let delivered = v
        .get("fulfillments")
        .and_then(|f| f.as_array())
        .into_iter()
        .flatten()
        .find(|f| f.get("shipment_status").and_then(json_text).as_deref() == Some("delivered"))
        .and_then(|f| f.get("updated_at").and_then(json_text));
    let status = if get(&["cancelled_at"]).is_some() {
        "cancelled"
    } else if matches!(financial.as_str(), "refunded" | "voided") {
        "refunded"
    } else if delivered.is_some() {
        "delivered"
    } else if get(&["fulfillment_status"]).is_some_and(|f| f == "fulfilled") {
        "fulfilled"
    } else {
        "paid"
    };
    let customer_name = get(&["billing_address", "name"]).or_else(|| {
        let name = [get(&["customer", "first_name"]), get(&["customer", "last_name"])]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        (!name.is_empty()).then_some(name)
    });
    let raw = RawOrder {
        order_id: get(&["name"]).ok_or_else(|| Error::validation("name", "is missing"))?,
        email: get(&["email"]).or_else(|| get(&["customer", "email"])),
        phone: usable_phone(get(&["phone"]).as_deref())
            .or(usable_phone(get(&["billing_address", "phone"]).as_deref()))
            .or(usable_phone(get(&["shipping_address", "phone"]).as_deref()))
            .or(usable_phone(get(&["customer", "phone"]).as_deref())),
        customer_name,
        total: get(&["total_price"]),
        currency: get(&["currency"]),
        purchased_at: get(&["created_at"]),
        delivered_at: delivered,
        status: Some(status.into()),
        locale: None,
    };
    let mut items = Vec::new();
    for (n, item) in v.get("line_items").and_then(|l| l.as_array()).into_iter().flatten().enumerate() {
        let name = item.get("name").and_then(json_text).or_else(|| item.get("title").and_then(json_text));
        let sku = match item.get("sku").and_then(json_text) {
            Some(s) => s,
            None => name
                .as_deref()
                .and_then(sku_from_name)
                .ok_or_else(|| Error::validation(format!("line_items[{n}].sku"), "is empty and so is the name"))?,
        };
        items.push(RawItem { sku, name, price: item.get("price").and_then(json_text) });
    }
    let order = parse_order(&raw, &items, received_at, |n, f| format!("line_items[{n}].{f}"))?;
    Ok(WebhookOrder { platform_id, updated_at, order: Some(order) })
}

/// A WooCommerce order webhook (`order.created`, `order.updated`) body: the order as the
/// REST API shows it.
pub fn woocommerce_webhook(body: &[u8], received_at: i64) -> Result<WebhookOrder> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| Error::validation("body", "is not a WooCommerce order (JSON)"))?;
    let platform_id = v.get("id").and_then(json_text).ok_or_else(|| Error::validation("id", "is missing"))?;
    let modified =
        v.get("date_modified_gmt").and_then(json_text).or_else(|| v.get("date_created_gmt").and_then(json_text));
    let updated_at = webhook_instant("date_modified_gmt", woo_instant(modified))?;
    let mut array = b"[".to_vec();
    array.extend_from_slice(body);
    array.push(b']');
    let order = match decode_woocommerce(&array, received_at) {
        Ok(mut orders) => orders.pop(),
        // Pending, failed and draft orders are not purchases: nothing to import.
        Err(Error::Validation { field, .. }) if field == "body" => None,
        Err(Error::Validation { field, detail }) => {
            return Err(Error::Validation { field: field.trim_start_matches("index 0, ").to_owned(), detail })
        }
        Err(other) => return Err(other),
    };
    Ok(WebhookOrder { platform_id, updated_at, order })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skus_from_names() {
        assert_eq!(sku_from_name("Desk Lamp (Large) — Oak").as_deref(), Some("name:desk-lamp-large-oak"));
        assert_eq!(sku_from_name("  ***  "), None);
        assert_eq!(sku_from_name(&"x".repeat(100)).unwrap().len(), 64);
    }

    #[test]
    fn detection() {
        assert_eq!(detect_csv(b"Name,Email,Lineitem name,Created at\n"), Format::Shopify);
        assert_eq!(detect_csv(b"\xEF\xBB\xBFName,Lineitem name\r\n"), Format::Shopify);
        assert_eq!(detect_csv(b"order_id,sku,purchased_at\n"), Format::Native);
        assert_eq!(detect_json(br#"[{"number":"1","line_items":[]}]"#), Format::WooCommerce);
        assert_eq!(detect_json(br#"[{"order_id":"1","items":[]}]"#), Format::Native);
        assert_eq!(detect_json(b"{"), Format::Native);
    }

    #[test]
    fn shopify_dates() {
        assert_eq!(shopify_instant("2024-03-05 14:02:11 +0100"), "2024-03-05T14:02:11+01:00");
        assert_eq!(shopify_instant("yesterday"), "yesterday");
    }
}
