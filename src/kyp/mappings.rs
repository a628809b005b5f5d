//! Saved column mappings: any CSV a shop exports, imported by saying which of its columns
//! hold which order field (`PUT /api/v1/orders/mappings/{name}`, then
//! `POST /api/v1/orders?mapping=name`). Columns the mapping does not name are ignored;
//! dates may follow the mapping's own format (e.g. `%d.%m.%Y %H:%M`, read as UTC).

use std::collections::{BTreeMap, HashMap};

use serde_json::json;

use crate::core::Core;
use crate::domain::order::{parse_order, OrderInput, RawItem, RawOrder, MAX_ORDERS_PER_IMPORT};
use crate::error::{Error, Result};
use crate::kyp::input::CsvRows;
use crate::kyp::orders::{differing_field, CSV_COLUMNS};
use crate::store;
use crate::store::audit::Entry;
use crate::store::mappings::MappingRow;

/// Mappings a vendor may keep.
pub const MAX_MAPPINGS: i64 = 50;
const REQUIRED: [&str; 3] = ["order_id", "sku", "purchased_at"];

/// A validated mapping: native column → the vendor's header name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    pub name: String,
    pub columns: BTreeMap<String, String>,
    pub date_format: Option<String>,
}

/// `^[a-z0-9][a-z0-9_-]{0,39}$`.
pub fn check_name(name: &str) -> Result<()> {
    let ok = (1..=40).contains(&name.len())
        && name.bytes().next().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::not_found("mapping (names are 1–40 of a-z 0-9 _ -, starting with a letter or digit)"))
    }
}

impl Mapping {
    pub fn new(name: &str, columns: BTreeMap<String, String>, date_format: Option<String>) -> Result<Mapping> {
        check_name(name)?;
        for (native, header) in &columns {
            if !CSV_COLUMNS.contains(&native.as_str()) {
                return Err(Error::validation(
                    format!("columns.{native}"),
                    format!("is not an order field (fields: {})", CSV_COLUMNS.join(", ")),
                ));
            }
            let len = header.chars().count();
            if !(1..=200).contains(&len) || header.trim() != header || header.chars().any(char::is_control) {
                return Err(Error::validation(
                    format!("columns.{native}"),
                    "must be the header's name: 1–200 characters, no control characters or outer spaces",
                ));
            }
        }
        for required in REQUIRED {
            if !columns.contains_key(required) {
                return Err(Error::validation("columns", format!("must map the required field {required}")));
            }
        }
        if let Some(f) = &date_format {
            let bad = f.is_empty()
                || f.len() > 64
                || f.chars().any(char::is_control)
                || chrono::format::StrftimeItems::new(f).any(|i| matches!(i, chrono::format::Item::Error));
            if bad {
                return Err(Error::validation("date_format", "must be a strftime format such as %d.%m.%Y %H:%M"));
            }
        }
        Ok(Mapping { name: name.to_owned(), columns, date_format })
    }

    fn from_row(row: &MappingRow) -> Result<Mapping> {
        let columns: BTreeMap<String, String> = serde_json::from_str(&row.column_map).map_err(Error::internal)?;
        Ok(Mapping { name: row.name.clone(), columns, date_format: row.date_format.clone() })
    }

    /// The vendor's header that holds the order number.
    pub fn order_column(&self) -> &str {
        self.columns.get("order_id").map(String::as_str).unwrap_or("order_id")
    }

    /// A date in the mapping's format as RFC 3339 (UTC); other text passes on unchanged and
    /// validation names it.
    fn date(&self, raw: String) -> String {
        let Some(format) = &self.date_format else { return raw };
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(&raw, format) {
            return t.and_utc().to_rfc3339();
        }
        if let Ok(d) = chrono::NaiveDate::parse_from_str(&raw, format) {
            return d.format("%Y-%m-%d").to_string();
        }
        raw
    }

    /// Decodes a CSV through the mapping (rows of one order need not be adjacent but must
    /// agree on the order's fields, as in the native format), received at `received_at`
    /// (Unix ms; no order date may lie more than a day after it).
    pub fn decode(&self, body: &[u8], received_at: i64) -> Result<Vec<OrderInput>> {
        self.decode_from(body, received_at)
    }

    /// [`Mapping::decode`] from a stream.
    pub fn decode_from(&self, input: impl std::io::Read, received_at: i64) -> Result<Vec<OrderInput>> {
        let (mut rows, header) = CsvRows::open(input)?;
        let index: HashMap<String, usize> =
            header.iter().enumerate().map(|(i, h)| (String::from_utf8_lossy(h).trim().to_owned(), i)).collect();
        let mut at: HashMap<&str, usize> = HashMap::new();
        for (native, theirs) in &self.columns {
            let i = index.get(theirs).copied().ok_or_else(|| {
                Error::validation("line 1", format!("lacks the column {theirs} (mapped to {native} by {})", self.name))
            })?;
            at.insert(native.as_str(), i);
        }
        let theirs = |native: &str| self.columns.get(native).cloned().unwrap_or_else(|| native.to_owned());
        // (first line, order fields, items with their lines)
        type Rows = Vec<(u64, RawItem)>;
        let mut orders: Vec<(u64, RawOrder, Rows)> = Vec::new();
        let mut by_id: HashMap<String, usize> = HashMap::new();
        let mut record = csv::ByteRecord::new();
        while let Some(line) = rows.next(&mut record)? {
            let get = |native: &str| -> Result<Option<String>> {
                let Some(raw) = at.get(native).and_then(|&i| record.get(i)) else { return Ok(None) };
                let s = std::str::from_utf8(raw)
                    .map_err(|_| {
                        Error::validation(format!("line {line}, column {}", theirs(native)), "is not valid UTF-8")
                    })?
                    .trim();
                Ok((!s.is_empty()).then(|| s.to_owned()))
            };
            let raw = RawOrder {
                order_id: get("order_id")?.unwrap_or_default(),
                email: get("email")?,
                phone: get("phone")?,
                customer_name: get("customer_name")?,
                total: get("total")?,
                currency: get("currency")?,
                purchased_at: get("purchased_at")?.map(|d| self.date(d)),
                delivered_at: get("delivered_at")?.map(|d| self.date(d)),
                status: get("status")?,
                locale: get("locale")?,
            };
            let item = RawItem { sku: get("sku")?.unwrap_or_default(), name: get("item_name")?, price: get("price")? };
            match by_id.get(&raw.order_id) {
                Some(&pos) => {
                    let (first_line, first, items) = &mut orders[pos];
                    if let Some(f) = differing_field(first, &raw) {
                        return Err(Error::validation(
                            format!("line {line}, column {}", theirs(f)),
                            format!("differs from line {first_line}, the first row of this order"),
                        ));
                    }
                    items.push((line, item));
                }
                None => {
                    if orders.len() == MAX_ORDERS_PER_IMPORT {
                        return Err(Error::validation(
                            format!("line {line}"),
                            format!("exceeds {MAX_ORDERS_PER_IMPORT} orders per request"),
                        ));
                    }
                    by_id.insert(raw.order_id.clone(), orders.len());
                    orders.push((line, raw, vec![(line, item)]));
                }
            }
        }
        if orders.is_empty() {
            return Err(Error::validation("line 2", "is missing: the file has a header row but no orders"));
        }
        orders
            .into_iter()
            .map(|(first_line, raw, items)| {
                let lines: Vec<u64> = items.iter().map(|(l, _)| *l).collect();
                let items: Vec<RawItem> = items.into_iter().map(|(_, i)| i).collect();
                parse_order(&raw, &items, received_at, |n, f| format!("items[{n}].{f}")).map_err(|e| match e {
                    Error::Validation { field, detail } => {
                        let (line, native) = match field.strip_prefix("items[") {
                            Some(rest) => {
                                let n = rest.split(']').next().and_then(|n| n.parse::<usize>().ok()).unwrap_or(0);
                                let f = rest.rsplit('.').next().unwrap_or("sku");
                                (lines.get(n).copied().unwrap_or(first_line), if f == "name" { "item_name" } else { f })
                            }
                            None => (first_line, field.as_str()),
                        };
                        Error::validation(format!("line {line}, column {}", theirs(native)), detail)
                    }
                    other => other,
                })
            })
            .collect()
    }
}

/// One of the vendor's mappings (404 if none).
pub async fn get(core: &Core, vendor_id: &str, name: &str) -> Result<Mapping> {
    check_name(name)?;
    let (vendor_id, name) = (vendor_id.to_owned(), name.to_owned());
    let row = core.db.run(move |conn| store::mappings::get(conn, &vendor_id, &name)).await?;
    Mapping::from_row(&row.ok_or_else(|| Error::not_found("mapping"))?)
}

pub async fn list(core: &Core, vendor_id: &str) -> Result<Vec<Mapping>> {
    let vendor_id = vendor_id.to_owned();
    let rows = core.db.run(move |conn| store::mappings::list(conn, &vendor_id)).await?;
    rows.iter().map(Mapping::from_row).collect()
}

/// Creates or replaces a mapping (audited); true if created. At most [`MAX_MAPPINGS`].
pub async fn put(core: &Core, vendor_id: &str, actor: &str, mapping: Mapping) -> Result<bool> {
    let now = core.now_ms();
    let row = MappingRow {
        vendor_id: vendor_id.to_owned(),
        name: mapping.name.clone(),
        column_map: serde_json::to_string(&mapping.columns).map_err(Error::internal)?,
        date_format: mapping.date_format.clone(),
        created_at: now,
        updated_at: now,
    };
    let (audit, actor) = (core.audit.clone(), actor.to_owned());
    core.db
        .write(move |conn| {
            if store::mappings::get(conn, &row.vendor_id, &row.name)?.is_none()
                && store::mappings::count(conn, &row.vendor_id)? >= MAX_MAPPINGS
            {
                return Err(Error::validation(
                    "name",
                    format!("would exceed {MAX_MAPPINGS} mappings: delete one first"),
                ));
            }
            let created = store::mappings::put(conn, &row)?;
            let details = json!({ "created": created, "columns": mapping.columns, "date_format": mapping.date_format });
            audit.append(
                conn,
                &row.vendor_id,
                now,
                Entry { actor: &actor, action: "mapping.saved", target: &row.name, details },
            )?;
            Ok(created)
        })
        .await
}

pub async fn delete(core: &Core, vendor_id: &str, actor: &str, name: &str) -> Result<()> {
    check_name(name)?;
    let (vendor_id, actor, name, now) = (vendor_id.to_owned(), actor.to_owned(), name.to_owned(), core.now_ms());
    let audit = core.audit.clone();
    core.db
        .write(move |conn| {
            if !store::mappings::delete(conn, &vendor_id, &name)? {
                return Err(Error::not_found("mapping"));
            }
            audit.append(
                conn,
                &vendor_id,
                now,
                Entry { actor: &actor, action: "mapping.deleted", target: &name, details: json!({}) },
            )?;
            Ok(())
        })
        .await
}
