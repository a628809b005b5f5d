//! Imported orders (KYP source): pure parsing and validation of one order as the vendor
//! sends it (a JSON object or the CSV rows of one order). Field errors name the field as
//! the caller spelled it; the importer prefixes the line (CSV) or the index (JSON).

use chrono::{DateTime, NaiveDate};

use crate::domain::contact::{Email, Phone};
use crate::domain::review::{Locale, Sku};
use crate::domain::text::{self, Lines};
use crate::error::{Error, Result};

/// Orders in one import request.
pub const MAX_ORDERS_PER_IMPORT: usize = 100_000;
/// Line items of one order.
pub const MAX_ITEMS_PER_ORDER: usize = 1_000;

/// How far an order's dates may lie after the moment the import was received: a
/// date-only value is midnight UTC of the shop's own calendar date, which in UTC+14 is up
/// to 14 hours ahead of the service's clock, and shops' clocks drift. Anything later is a
/// typo or an expected date (a year 2062 purchase would hold its invitation back for
/// decades and open the review window then) and is refused with the field named.
pub const FUTURE_TOLERANCE_MS: i64 = 86_400_000;

/// The vendor's own order number: 1–64 printable ASCII characters (space allowed inside,
/// not at either end).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OrderRef(String);

impl OrderRef {
    pub fn parse(field: &str, raw: &str) -> Result<OrderRef> {
        let ok = !raw.is_empty()
            && raw.len() <= 64
            && raw.bytes().all(|b| (0x20..=0x7e).contains(&b))
            && !raw.starts_with(' ')
            && !raw.ends_with(' ');
        if ok {
            Ok(OrderRef(raw.to_owned()))
        } else {
            Err(Error::validation(field, "must be 1–64 printable ASCII characters without surrounding spaces"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// An `Idempotency-Key` header: 1–200 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &[u8]) -> Result<IdempotencyKey> {
        if (1..=200).contains(&raw.len()) && raw.iter().all(u8::is_ascii_graphic) {
            Ok(IdempotencyKey(String::from_utf8_lossy(raw).into_owned()))
        } else {
            Err(Error::validation("Idempotency-Key", "must be 1–200 visible ASCII characters"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where an order stands. Cancelled and refunded orders are kept (with that status) so a
/// later import can tell them apart from unknown ones; review matching refuses them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    Paid,
    Fulfilled,
    Delivered,
    Cancelled,
    Refunded,
}

impl OrderStatus {
    /// Absent or blank means `paid`.
    pub fn parse(field: &str, raw: Option<&str>) -> Result<OrderStatus> {
        match raw.map(str::trim).filter(|s| !s.is_empty()).unwrap_or("paid") {
            "paid" => Ok(OrderStatus::Paid),
            "fulfilled" => Ok(OrderStatus::Fulfilled),
            "delivered" => Ok(OrderStatus::Delivered),
            "cancelled" => Ok(OrderStatus::Cancelled),
            "refunded" => Ok(OrderStatus::Refunded),
            _ => Err(Error::validation(field, "must be one of paid, fulfilled, delivered, cancelled, refunded")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Paid => "paid",
            OrderStatus::Fulfilled => "fulfilled",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Refunded => "refunded",
        }
    }
}

/// An ISO 4217 alphabetic code (three letters; lower case is upper-cased).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    pub fn parse(field: &str, raw: &str) -> Result<Currency> {
        let code = raw.trim().as_bytes();
        match code {
            [a, b, c] if code.iter().all(u8::is_ascii_alphabetic) => {
                Ok(Currency([a.to_ascii_uppercase(), b.to_ascii_uppercase(), c.to_ascii_uppercase()]))
            }
            _ => Err(Error::validation(field, "must be an ISO 4217 currency code such as EUR")),
        }
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Digits after the decimal point in the currency's minor unit (ISO 4217 table).
    pub fn exponent(&self) -> u32 {
        match self.as_str() {
            "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX" | "UYI" | "VND"
            | "VUV" | "XAF" | "XOF" | "XPF" => 0,
            "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
            "CLF" | "UYW" => 4,
            _ => 2,
        }
    }
}

/// A non-negative decimal amount (`12`, `12.5`, `12.50`) in the currency's minor units.
/// More decimals than the currency has, signs, exponents and thousands separators are
/// refused; so are amounts above 10^15 minor units.
pub fn parse_money(field: &str, raw: &str, currency: Currency) -> Result<i64> {
    let s = raw.trim();
    let invalid = || {
        Error::validation(
            field,
            format!(
                "must be a non-negative decimal amount with at most {} decimals for {}",
                currency.exponent(),
                currency.as_str()
            ),
        )
    };
    if s.starts_with('-') {
        return Err(Error::validation(field, "must not be negative"));
    }
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let exp = currency.exponent() as usize;
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > 15 || !digits(whole) || !digits(frac) || (s.contains('.') && frac.is_empty()) {
        return Err(invalid());
    }
    // Trailing zeros beyond the exponent are harmless (`12.500` EUR).
    let frac = frac.trim_end_matches('0');
    if frac.len() > exp {
        return Err(invalid());
    }
    let mut minor: i64 = whole.parse().map_err(|_| invalid())?;
    for _ in 0..exp {
        minor = minor.checked_mul(10).ok_or_else(invalid)?;
    }
    let mut frac_minor: i64 = 0;
    for i in 0..exp {
        let d = frac.as_bytes().get(i).map(|b| i64::from(b - b'0')).unwrap_or(0);
        frac_minor = frac_minor * 10 + d;
    }
    let minor = minor.checked_add(frac_minor).ok_or_else(invalid)?;
    if minor > 1_000_000_000_000_000 {
        return Err(invalid());
    }
    Ok(minor)
}

/// An instant as Unix milliseconds: RFC 3339 (`2026-11-24T10:00:00Z`, any offset) or a
/// calendar date (`2026-11-24`, midnight UTC). Years 1970–9999.
pub fn parse_instant(field: &str, raw: &str) -> Result<i64> {
    let s = raw.trim();
    let invalid = || Error::validation(field, "must be an RFC 3339 date-time or a YYYY-MM-DD date");
    let ms = if s.len() == 10 {
        let date = NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| invalid())?;
        date.and_hms_opt(0, 0, 0).ok_or_else(invalid)?.and_utc().timestamp_millis()
    } else {
        DateTime::parse_from_rfc3339(s).map_err(|_| invalid())?.timestamp_millis()
    };
    if !(0..=253_402_300_799_999).contains(&ms) {
        return Err(invalid());
    }
    Ok(ms)
}

/// One order's fields as sent, before validation (blank strings mean absent).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawOrder {
    pub order_id: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub customer_name: Option<String>,
    pub total: Option<String>,
    pub currency: Option<String>,
    pub purchased_at: Option<String>,
    pub delivered_at: Option<String>,
    pub status: Option<String>,
    pub locale: Option<String>,
}

/// One line item as sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawItem {
    pub sku: String,
    pub name: Option<String>,
    pub price: Option<String>,
}

/// A validated order; contacts are still plaintext here and become HMACs in the use case.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderInput {
    pub order_ref: OrderRef,
    pub email: Option<Email>,
    pub phone: Option<Phone>,
    pub customer_name: Option<String>,
    pub total_minor: Option<i64>,
    pub currency: Option<Currency>,
    pub purchased_at: i64,
    pub delivered_at: Option<i64>,
    pub status: OrderStatus,
    pub locale: Option<Locale>,
    pub items: Vec<ItemInput>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ItemInput {
    pub sku: Sku,
    pub name: Option<String>,
    pub price_minor: Option<i64>,
}

fn present(raw: &Option<String>) -> Option<&str> {
    raw.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The order-level fields (everything but the items), validated; `received_at` is when the
/// import arrived (Unix ms), which no date may lie more than [`FUTURE_TOLERANCE_MS`] after.
pub fn parse_order_fields(raw: &RawOrder, received_at: i64) -> Result<OrderInput> {
    let order_ref = OrderRef::parse("order_id", &raw.order_id)?;
    let email = present(&raw.email).map(|e| Email::parse("email", e)).transpose()?;
    let phone = present(&raw.phone).map(|p| Phone::parse("phone", p)).transpose()?;
    let customer_name = text::clean_optional("customer_name", raw.customer_name.as_deref(), Lines::Single, 200)?;
    let currency = present(&raw.currency).map(|c| Currency::parse("currency", c)).transpose()?;
    let total_minor = match (present(&raw.total), currency) {
        (Some(t), Some(c)) => Some(parse_money("total", t, c)?),
        (Some(_), None) => return Err(Error::validation("currency", "is required when a total or price is given")),
        (None, _) => None,
    };
    let purchased_at = match present(&raw.purchased_at) {
        Some(p) => parse_instant("purchased_at", p)?,
        None => return Err(Error::validation("purchased_at", "is required")),
    };
    let delivered_at = present(&raw.delivered_at).map(|d| parse_instant("delivered_at", d)).transpose()?;
    for (field, at) in [("purchased_at", Some(purchased_at)), ("delivered_at", delivered_at)] {
        if at.is_some_and(|at| at > received_at.saturating_add(FUTURE_TOLERANCE_MS)) {
            return Err(Error::validation(field, "must not be in the future (more than a day after the import)"));
        }
    }
    if delivered_at.is_some_and(|d| d < purchased_at) {
        return Err(Error::validation("delivered_at", "must not be before purchased_at"));
    }
    let status = OrderStatus::parse("status", raw.status.as_deref())?;
    let locale = match present(&raw.locale) {
        Some(l) => Some(
            Locale::parse(Some(l))
                .map_err(|_| Error::validation("locale", "must be a language tag such as en or ru-RU"))?,
        ),
        None => None,
    };
    Ok(OrderInput {
        order_ref,
        email,
        phone,
        customer_name,
        total_minor,
        currency,
        purchased_at,
        delivered_at,
        status,
        locale,
        items: Vec::new(),
    })
}

/// One line item, validated against the order's currency. `field` maps an item field name
/// to the name used in errors (`sku` → `items[2].sku` for JSON, `sku` for CSV).
pub fn parse_item(raw: &RawItem, currency: Option<Currency>, field: impl Fn(&str) -> String) -> Result<ItemInput> {
    let sku = Sku::parse(&field("sku"), &raw.sku)?;
    let name = text::clean_optional(&field("name"), raw.name.as_deref(), Lines::Single, 200)?;
    let price_minor = match (present(&raw.price), currency) {
        (Some(p), Some(c)) => Some(parse_money(&field("price"), p, c)?),
        (Some(_), None) => return Err(Error::validation("currency", "is required when a total or price is given")),
        (None, _) => None,
    };
    Ok(ItemInput { sku, name, price_minor })
}

/// A whole order: fields and items (at least one, at most [`MAX_ITEMS_PER_ORDER`]).
pub fn parse_order(
    raw: &RawOrder,
    items: &[RawItem],
    received_at: i64,
    item_field: impl Fn(usize, &str) -> String,
) -> Result<OrderInput> {
    let mut order = parse_order_fields(raw, received_at)?;
    if items.is_empty() {
        return Err(Error::validation("items", "must list at least one item"));
    }
    if items.len() > MAX_ITEMS_PER_ORDER {
        return Err(Error::validation("items", format!("must list at most {MAX_ITEMS_PER_ORDER} items")));
    }
    order.items = items
        .iter()
        .enumerate()
        .map(|(i, item)| parse_item(item, order.currency, |f| item_field(i, f)))
        .collect::<Result<_>>()?;
    Ok(order)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur() -> Currency {
        Currency::parse("c", "eur").unwrap()
    }

    #[test]
    fn money_in_minor_units() {
        assert_eq!(parse_money("p", "12", eur()).unwrap(), 1200);
        assert_eq!(parse_money("p", "12.5", eur()).unwrap(), 1250);
        assert_eq!(parse_money("p", " 0.07 ", eur()).unwrap(), 7);
        assert_eq!(parse_money("p", "12.500", eur()).unwrap(), 1250);
        let jpy = Currency::parse("c", "JPY").unwrap();
        assert_eq!(parse_money("p", "1500", jpy).unwrap(), 1500);
        assert!(parse_money("p", "1500.5", jpy).is_err());
        let kwd = Currency::parse("c", "KWD").unwrap();
        assert_eq!(parse_money("p", "1.234", kwd).unwrap(), 1234);
        for bad in ["-1", "1.234", "", ".5", "5.", "1,000", "1e3", "+1", "abc", "9999999999999999"] {
            assert!(parse_money("p", bad, eur()).is_err(), "{bad}");
        }
        assert_eq!(parse_money("p", "-1", eur()).unwrap_err().to_string(), "must not be negative");
    }

    #[test]
    fn currencies_and_statuses() {
        assert_eq!(eur().as_str(), "EUR");
        for bad in ["EU", "EURO", "E1R", "€UR", ""] {
            assert!(Currency::parse("c", bad).is_err(), "{bad}");
        }
        assert_eq!(OrderStatus::parse("s", None).unwrap(), OrderStatus::Paid);
        assert_eq!(OrderStatus::parse("s", Some("refunded")).unwrap(), OrderStatus::Refunded);
        assert!(OrderStatus::parse("s", Some("Paid")).is_err());
    }

    #[test]
    fn instants() {
        assert_eq!(parse_instant("d", "1970-01-02").unwrap(), 86_400_000);
        assert_eq!(parse_instant("d", "1970-01-01T01:00:00+01:00").unwrap(), 0);
        assert_eq!(parse_instant("d", "2026-11-24T10:00:00.5Z").unwrap(), 1_795_514_400_500);
        for bad in ["2026-13-01", "2026-11-24 10:00", "24.11.2026", "1969-12-31", "yesterday", "2026-11-24T10:00:00"] {
            assert!(parse_instant("d", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn order_refs() {
        assert!(OrderRef::parse("o", "#1001 A").is_ok());
        for bad in ["", " 1", "1 ", "a\u{0}", "é", &"x".repeat(65)] {
            assert!(OrderRef::parse("o", bad).is_err(), "{bad:?}");
        }
    }

    /// 2026-11-24T12:00:00Z, when the tests' imports arrive.
    const RECEIVED: i64 = 1_795_521_600_000;

    #[test]
    fn whole_orders() {
        let raw = RawOrder {
            order_id: "A-1".into(),
            email: Some(" Ann@Shop.Example ".into()),
            customer_name: Some("=HYPERLINK(\"x\")".into()),
            total: Some("10".into()),
            currency: Some("EUR".into()),
            purchased_at: Some("2026-11-01".into()),
            ..RawOrder::default()
        };
        let items = [RawItem { sku: "S1".into(), name: None, price: Some("10.00".into()) }];
        let order = parse_order(&raw, &items, RECEIVED, |i, f| format!("items[{i}].{f}")).unwrap();
        assert_eq!(order.email.unwrap().as_str(), "ann@shop.example");
        assert_eq!(order.customer_name.as_deref(), Some("=HYPERLINK(\"x\")"));
        assert_eq!((order.total_minor, order.items[0].price_minor), (Some(1000), Some(1000)));
        assert_eq!(order.status, OrderStatus::Paid);

        let bad = [RawItem { sku: "S1".into(), name: None, price: Some("-1".into()) }];
        match parse_order(&raw, &bad, RECEIVED, |i, f| format!("items[{i}].{f}")).unwrap_err() {
            Error::Validation { field, .. } => assert_eq!(field, "items[0].price"),
            other => panic!("{other:?}"),
        }
        assert!(parse_order(&raw, &[], RECEIVED, |i, f| format!("{i}{f}")).is_err());
        let no_currency = RawOrder { currency: None, ..raw.clone() };
        assert!(parse_order_fields(&no_currency, RECEIVED).is_err());
        let early = RawOrder { delivered_at: Some("2026-10-01".into()), ..raw.clone() };
        assert!(parse_order_fields(&early, RECEIVED).is_err());
    }

    #[test]
    fn dates_more_than_a_day_after_the_import_are_refused() {
        let raw = RawOrder { order_id: "A-1".into(), ..RawOrder::default() };
        let at = |purchased: &str, delivered: Option<&str>| {
            let raw = RawOrder {
                purchased_at: Some(purchased.into()),
                delivered_at: delivered.map(Into::into),
                ..raw.clone()
            };
            parse_order_fields(&raw, RECEIVED).map(|o| (o.purchased_at, o.delivered_at)).map_err(|e| match e {
                Error::Validation { field, detail } => format!("{field}: {detail}"),
                other => panic!("{other:?}"),
            })
        };
        // The shop's calendar date in UTC+14 (midnight UTC tomorrow) and exactly a day ahead pass.
        assert_eq!(at("2026-11-25", None), Ok((1_795_564_800_000, None)));
        assert_eq!(at("2026-11-25T12:00:00Z", None), Ok((RECEIVED + FUTURE_TOLERANCE_MS, None)));
        let late = "must not be in the future (more than a day after the import)";
        assert_eq!(at("2026-11-25T12:00:00.001Z", None), Err(format!("purchased_at: {late}")));
        assert_eq!(at("2062-11-24", None), Err(format!("purchased_at: {late}")));
        assert_eq!(at("2026-11-20", Some("2026-11-26")), Err(format!("delivered_at: {late}")));
        assert_eq!(at("2026-11-20", Some("2026-11-24T13:00:00+01:00")), Ok((1_795_132_800_000, Some(RECEIVED))));
    }
}
