//! Purchase matching (KYP): a buyer in a review flow gives an order number and the e-mail
//! or phone of that order; the contact is compared as an HMAC in constant time, and a match
//! that the vendor's rules accept binds the flow to the order (review level 3, or 5 with a
//! verified identity that is the order's buyer). "No such order", "wrong contact" and
//! "another shop's order" get one and the same answer; the rules' answers (cancelled, below
//! the minimum, …) come only after the contact matched, so they tell nothing to a stranger.
//! Attempts are limited per flow, per client address and per vendor.

use serde_json::json;

use crate::core::Core;
use crate::domain::kyp::{self, OrderFacts, Rules};
use crate::domain::maturity::{review_level, Assessment, Purchase, PurchaseMethod};
use crate::domain::order::{Currency, OrderRef, OrderStatus};
use crate::domain::review::daily_cap;
use crate::error::{Error, Result};
use crate::reviews::{flow_step, PublicWrite};
use crate::security::hmac::same;
use crate::security::tokens::sha256_hex;
use crate::store;
use crate::store::audit::Entry;
use crate::store::kyp_rules::RulesRow;
use crate::store::vendors::Vendor;

/// Failed matches a flow may make; then it answers 429 until it expires.
pub const FAILURES_PER_FLOW: i64 = 5;
/// Match attempts per client address per vendor per day.
pub const ATTEMPTS_PER_IP_PER_DAY: i64 = 30;
/// Match attempts per vendor per day (all clients).
pub const ATTEMPTS_PER_VENDOR_PER_DAY: i64 = 20_000;

/// The one answer for an order number and contact that do not match an order of the shop.
pub const NO_MATCH: &str = "no order of this shop matches this order number and contact";

/// The buyer's contact, already normalised and hashed with the pepper.
pub enum ContactHmac {
    Email(String),
    Phone(String),
}

pub struct MatchRequest {
    pub flow_token: String,
    pub order_ref: OrderRef,
    pub contact: ContactHmac,
}

enum Outcome {
    Matched(Assessment),
    NoMatch,
}

/// Binds the flow to the order when the contact matches and the rules accept it; returns
/// the vendor (for CORS) and what the review's level would now be.
pub async fn match_order(core: &Core, req: MatchRequest, from: PublicWrite) -> Result<(Vendor, Assessment)> {
    let now = core.now_ms();
    let own = core.own_origin.clone();
    let token_hash = sha256_hex(req.flow_token.trim());
    let (vendor, outcome) = core
        .db
        .write(move |conn| {
            let (flow, vendor) = flow_step(conn, &token_hash, now, true, &from, own.as_ref())?;
            let flow_cap = format!("kyp_match_flow:{}", flow.id);
            if store::reviews::cap_used(conn, &flow_cap, now)? >= FAILURES_PER_FLOW {
                return Err(crate::reviews::over_cap(now, flow.expires_at));
            }
            let (ip_cap, lapses_at) = daily_cap("kyp_match", &vendor.id, from.ip, now);
            let (vendor_cap, _) = daily_cap("kyp_match_vendor", &vendor.id, None, now);
            if !store::reviews::take_cap(conn, &ip_cap, ATTEMPTS_PER_IP_PER_DAY, lapses_at)?
                || !store::reviews::take_cap(conn, &vendor_cap, ATTEMPTS_PER_VENDOR_PER_DAY, lapses_at)?
            {
                return Err(crate::reviews::over_cap(now, lapses_at));
            }
            // Shopify numbers its orders `#1001`, and buyers type `1001` as often as not: the
            // other form is looked up too (always, so timing says nothing either way).
            let typed = req.order_ref.as_str();
            let other_form = typed.strip_prefix('#').map(str::to_owned).unwrap_or_else(|| format!("#{typed}"));
            let order = store::orders::by_ref(conn, &vendor.id, typed)?;
            let other = store::orders::by_ref(conn, &vendor.id, &other_form)?;
            let order = order.or(other);
            // The comparison runs whether or not the order exists (against a value no HMAC
            // equals), so timing does not tell the two apart.
            let stored = |o: &store::orders::Order| match &req.contact {
                ContactHmac::Email(_) => o.email_hmac.clone(),
                ContactHmac::Phone(_) => o.phone_hmac.clone(),
            };
            let given = match &req.contact {
                ContactHmac::Email(h) | ContactHmac::Phone(h) => h.as_str(),
            };
            let on_file = order.as_ref().and_then(|(o, _, _)| stored(o)).unwrap_or_else(|| "-".repeat(given.len()));
            let contact_matches = same(given, &on_file) && order.is_some();
            let Some((order, items, _)) = order.filter(|_| contact_matches) else {
                store::reviews::take_cap(conn, &flow_cap, FAILURES_PER_FLOW, flow.expires_at)?;
                return Ok((vendor, Outcome::NoMatch));
            };
            if let Some(sku) = &flow.sku {
                if !items.iter().any(|i| &i.sku == sku) {
                    return Err(Error::validation(
                        "order_id",
                        "this order does not include the product this review is about",
                    ));
                }
            }
            let rules = store::kyp_rules::rules(conn, &vendor.id)?;
            let facts = OrderFacts {
                status: OrderStatus::parse("status", Some(&order.status))?,
                total_minor: order.total_minor,
                currency: order.currency.as_deref(),
                purchased_at: order.purchased_at,
                delivered_at: order.delivered_at,
            };
            kyp::check(&rules, &facts, now).map_err(|why| Error::validation("order_id", why.message()))?;
            let purchase = Purchase {
                order_id: order.id.clone(),
                method: PurchaseMethod::OrderMatch,
                email_hmac: order.email_hmac.clone(),
                phone_hmac: order.phone_hmac.clone(),
            };
            let mut evidence = flow.evidence();
            evidence.purchase = Some(purchase.clone());
            store::flows::attach_purchase(conn, &flow, purchase)?;
            Ok((vendor, Outcome::Matched(review_level(&evidence))))
        })
        .await?;
    match outcome {
        Outcome::Matched(assessment) => Ok((vendor, assessment)),
        Outcome::NoMatch => Err(Error::validation("order_id", NO_MATCH)),
    }
}

/// The vendor's rules as stored (none = defaults).
pub async fn rules(core: &Core, vendor_id: &str) -> Result<Rules> {
    let vendor_id = vendor_id.to_owned();
    core.db.run(move |conn| store::kyp_rules::rules(conn, &vendor_id)).await
}

/// Replaces the vendor's rules (owner or secret key; audited as `kyp.rules_updated`).
pub async fn put_rules(core: &Core, vendor_id: &str, actor: &str, rules: Rules) -> Result<Rules> {
    if let Some(days) = rules.window_days {
        if !(1..=3650).contains(&days) {
            return Err(Error::validation("window_days", "must be between 1 and 3650, or null"));
        }
    }
    if rules.min_total.is_some_and(|(m, _)| m < 0) {
        return Err(Error::validation("min_total", "must not be negative"));
    }
    let now = core.now_ms();
    let row = RulesRow {
        vendor_id: vendor_id.to_owned(),
        min_total_minor: rules.min_total.map(|(m, _)| m),
        min_total_currency: rules.min_total.map(|(_, c)| c.as_str().to_owned()),
        delivered_only: rules.delivered_only,
        window_days: rules.window_days,
        updated_at: now,
    };
    let (audit, actor) = (core.audit.clone(), actor.to_owned());
    core.db
        .write(move |conn| {
            store::kyp_rules::put(conn, &row)?;
            let details = json!({
                "min_total": row.min_total_minor.zip(row.min_total_currency.as_deref()).and_then(|(m, c)| {
                    Currency::parse("currency", c).ok().map(|c| kyp::format_money(m, c))
                }),
                "delivered_only": row.delivered_only,
                "window_days": row.window_days,
            });
            let entry = Entry { actor: &actor, action: "kyp.rules_updated", target: &row.vendor_id, details };
            audit.append(conn, &row.vendor_id, now, entry)?;
            Ok(row.rules())
        })
        .await
}
