//! The vendor's purchase rules (SPEC §6): which imported orders may back a review. Pure:
//! the caller passes the order's facts and the instant.

use crate::domain::order::{Currency, OrderStatus};

const DAY_MS: i64 = 86_400_000;

/// A vendor's rules; the default accepts every order that was not cancelled or refunded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    /// Minimum order total, in minor units of `min_total_currency`.
    pub min_total: Option<(i64, Currency)>,
    /// Only orders the shop marked delivered (or gave a delivery date).
    pub delivered_only: bool,
    /// Days after delivery (or purchase, if no delivery date) during which a review may be
    /// bound to the order.
    pub window_days: Option<i32>,
}

/// What the rules look at.
#[derive(Debug, Clone, Copy)]
pub struct OrderFacts<'a> {
    pub status: OrderStatus,
    pub total_minor: Option<i64>,
    pub currency: Option<&'a str>,
    pub purchased_at: i64,
    pub delivered_at: Option<i64>,
}

/// Why an order may not back a review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ineligible {
    Cancelled,
    Refunded,
    BelowMinimum { minimum: String },
    NotDelivered,
    OutsideWindow { days: i32 },
}

impl Ineligible {
    /// What the buyer is told (only after they proved the order is theirs).
    pub fn message(&self) -> String {
        match self {
            Ineligible::Cancelled => "this order was cancelled, so it cannot verify a review".into(),
            Ineligible::Refunded => "this order was refunded, so it cannot verify a review".into(),
            Ineligible::BelowMinimum { minimum } => {
                format!("this shop verifies reviews for orders of at least {minimum}")
            }
            Ineligible::NotDelivered => {
                "this shop verifies reviews once the order is delivered; try again after delivery".into()
            }
            Ineligible::OutsideWindow { days } => {
                format!("this shop verifies reviews within {days} days of delivery, and that time has passed")
            }
        }
    }
}

/// `1999` minor units of EUR → `19.99 EUR`.
pub fn format_money(minor: i64, currency: Currency) -> String {
    let exp = currency.exponent();
    if exp == 0 {
        return format!("{minor} {}", currency.as_str());
    }
    let unit = 10i64.pow(exp);
    format!("{}.{:0width$} {}", minor / unit, minor % unit, currency.as_str(), width = exp as usize)
}

/// Whether the order may back a review now.
pub fn check(rules: &Rules, order: &OrderFacts<'_>, now: i64) -> Result<(), Ineligible> {
    match order.status {
        OrderStatus::Cancelled => return Err(Ineligible::Cancelled),
        OrderStatus::Refunded => return Err(Ineligible::Refunded),
        _ => {}
    }
    if let Some((min, currency)) = rules.min_total {
        let same_currency = order.currency.is_some_and(|c| c.eq_ignore_ascii_case(currency.as_str()));
        if !(same_currency && order.total_minor.is_some_and(|t| t >= min)) {
            return Err(Ineligible::BelowMinimum { minimum: format_money(min, currency) });
        }
    }
    let delivered = order.delivered_at.is_some() || order.status == OrderStatus::Delivered;
    if rules.delivered_only && !delivered {
        return Err(Ineligible::NotDelivered);
    }
    if let Some(days) = rules.window_days {
        let from = order.delivered_at.unwrap_or(order.purchased_at);
        if now > from.saturating_add(i64::from(days) * DAY_MS) {
            return Err(Ineligible::OutsideWindow { days });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur() -> Currency {
        Currency::parse("c", "EUR").unwrap()
    }

    fn order(status: OrderStatus, total: Option<i64>, delivered_at: Option<i64>) -> OrderFacts<'static> {
        OrderFacts { status, total_minor: total, currency: Some("EUR"), purchased_at: 0, delivered_at }
    }

    #[test]
    fn every_rule_over_its_cases() {
        let none = Rules::default();
        let all = Rules { min_total: Some((2000, eur())), delivered_only: true, window_days: Some(30) };
        let day = DAY_MS;
        let cases: Vec<(&Rules, OrderFacts<'_>, i64, Result<(), Ineligible>)> = vec![
            (&none, order(OrderStatus::Paid, None, None), 400 * day, Ok(())),
            (&none, order(OrderStatus::Cancelled, Some(5000), Some(day)), day, Err(Ineligible::Cancelled)),
            (&none, order(OrderStatus::Refunded, Some(5000), Some(day)), day, Err(Ineligible::Refunded)),
            (&all, order(OrderStatus::Delivered, Some(2000), Some(day)), 31 * day, Ok(())),
            (
                &all,
                order(OrderStatus::Delivered, Some(1999), Some(day)),
                2 * day,
                Err(Ineligible::BelowMinimum { minimum: "20.00 EUR".into() }),
            ),
            (
                &all,
                order(OrderStatus::Delivered, None, Some(day)),
                2 * day,
                Err(Ineligible::BelowMinimum { minimum: "20.00 EUR".into() }),
            ),
            (
                &all,
                OrderFacts { currency: Some("USD"), ..order(OrderStatus::Delivered, Some(9999), Some(day)) },
                2 * day,
                Err(Ineligible::BelowMinimum { minimum: "20.00 EUR".into() }),
            ),
            (&all, order(OrderStatus::Paid, Some(5000), None), 2 * day, Err(Ineligible::NotDelivered)),
            (&all, order(OrderStatus::Fulfilled, Some(5000), None), 2 * day, Err(Ineligible::NotDelivered)),
            (&all, order(OrderStatus::Delivered, Some(5000), None), 30 * day, Ok(())),
            (
                &all,
                order(OrderStatus::Delivered, Some(5000), None),
                30 * day + 1,
                Err(Ineligible::OutsideWindow { days: 30 }),
            ),
            (&all, order(OrderStatus::Paid, Some(5000), Some(10 * day)), 40 * day, Ok(())),
            (
                &all,
                order(OrderStatus::Paid, Some(5000), Some(10 * day)),
                40 * day + 1,
                Err(Ineligible::OutsideWindow { days: 30 }),
            ),
        ];
        for (n, (rules, facts, now, expected)) in cases.into_iter().enumerate() {
            assert_eq!(check(rules, &facts, now), expected, "case {n}");
        }
    }

    #[test]
    fn money_in_words() {
        assert_eq!(format_money(2000, eur()), "20.00 EUR");
        assert_eq!(format_money(5, eur()), "0.05 EUR");
        assert_eq!(format_money(1500, Currency::parse("c", "JPY").unwrap()), "1500 JPY");
        assert_eq!(format_money(1234, Currency::parse("c", "KWD").unwrap()), "1.234 KWD");
    }
}
