//! The funnel's rules, pure and on the injected clock: a vendor's settings, and when (if
//! ever) an imported order gets its invitation.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

const DAY_MS: i64 = 86_400_000;

/// What the invitation delay counts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum DelayFrom {
    /// The order's delivery (an undelivered order waits for its delivery update).
    #[default]
    Delivery,
    Purchase,
}

/// A vendor's funnel settings (`GET/PUT /api/v1/funnel`). Off until the vendor turns it on:
/// importing orders never e-mails buyers by surprise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct FunnelSettings {
    /// Send invitations for imported orders.
    pub enabled: bool,
    /// Days after delivery (or purchase) the invitation goes out, 0–90.
    #[schema(minimum = 0, maximum = 90)]
    pub invite_delay_days: u32,
    pub delay_from: DelayFrom,
    /// Days an invitation link stays valid, 1–90.
    #[schema(minimum = 1, maximum = 90)]
    pub link_ttl_days: u32,
    /// A buyer invited in the last N days (any order) is not invited again, 0–365.
    #[schema(minimum = 0, maximum = 365)]
    pub cooldown_days: u32,
    /// The name invitations come from; the shop's name if empty.
    #[schema(max_length = 100)]
    pub sender_name: String,
}

impl Default for FunnelSettings {
    fn default() -> Self {
        FunnelSettings {
            enabled: false,
            invite_delay_days: 7,
            delay_from: DelayFrom::Delivery,
            link_ttl_days: 30,
            cooldown_days: 90,
            sender_name: String::new(),
        }
    }
}

impl FunnelSettings {
    /// The first rule a value breaks, as (field, detail).
    pub fn problem(&self) -> Option<(&'static str, &'static str)> {
        if self.invite_delay_days > 90 {
            return Some(("invite_delay_days", "must be between 0 and 90"));
        }
        if !(1..=90).contains(&self.link_ttl_days) {
            return Some(("link_ttl_days", "must be between 1 and 90"));
        }
        if self.cooldown_days > 365 {
            return Some(("cooldown_days", "must be between 0 and 365"));
        }
        if self.sender_name.chars().count() > 100 || self.sender_name.chars().any(|c| c.is_control()) {
            return Some(("sender_name", "must be at most 100 characters, without control characters"));
        }
        None
    }

    pub fn link_ttl_ms(&self) -> i64 {
        i64::from(self.link_ttl_days) * DAY_MS
    }

    pub fn cooldown_ms(&self) -> i64 {
        i64::from(self.cooldown_days) * DAY_MS
    }
}

/// What the plan needs to know of an order.
#[derive(Debug, Clone, Copy)]
pub struct OrderFacts<'a> {
    pub status: &'a str,
    pub purchased_at: i64,
    pub delivered_at: Option<i64>,
    /// The raw e-mail is still kept (sealed) for sending.
    pub has_email: bool,
}

/// When the order's invitation goes out (never before `now`), or `None`: funnel off, the
/// order cancelled or refunded, no e-mail to send to, or not delivered yet.
pub fn invite_at(settings: &FunnelSettings, order: OrderFacts<'_>, now: i64) -> Option<i64> {
    if !settings.enabled || !order.has_email || matches!(order.status, "cancelled" | "refunded") {
        return None;
    }
    let base = match settings.delay_from {
        DelayFrom::Delivery => order.delivered_at?,
        DelayFrom::Purchase => order.purchased_at,
    };
    Some((base + i64::from(settings.invite_delay_days) * DAY_MS).max(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    fn order(status: &str, delivered: Option<i64>) -> OrderFacts<'_> {
        OrderFacts { status, purchased_at: NOW - 10 * DAY_MS, delivered_at: delivered, has_email: true }
    }

    #[test]
    fn invitations_wait_for_delivery_plus_the_delay_and_never_go_back_in_time() {
        let on = FunnelSettings { enabled: true, ..Default::default() };
        assert_eq!(invite_at(&on, order("paid", Some(NOW - DAY_MS)), NOW), Some(NOW + 6 * DAY_MS));
        assert_eq!(invite_at(&on, order("paid", None), NOW), None, "undelivered: wait for the update");
        assert_eq!(invite_at(&on, order("fulfilled", Some(NOW - 30 * DAY_MS)), NOW), Some(NOW), "late import: now");
        let from_purchase = FunnelSettings { delay_from: DelayFrom::Purchase, invite_delay_days: 14, ..on.clone() };
        assert_eq!(invite_at(&from_purchase, order("paid", None), NOW), Some(NOW + 4 * DAY_MS));
    }

    #[test]
    fn no_invitation_when_off_cancelled_refunded_or_without_an_email() {
        let on = FunnelSettings { enabled: true, ..Default::default() };
        assert_eq!(invite_at(&FunnelSettings::default(), order("paid", Some(NOW)), NOW), None);
        assert_eq!(invite_at(&on, order("cancelled", Some(NOW)), NOW), None);
        assert_eq!(invite_at(&on, order("refunded", Some(NOW)), NOW), None);
        let no_email = OrderFacts { has_email: false, ..order("paid", Some(NOW)) };
        assert_eq!(invite_at(&on, no_email, NOW), None);
    }

    #[test]
    fn settings_out_of_range_are_named() {
        let bad = FunnelSettings { link_ttl_days: 0, ..Default::default() };
        assert_eq!(bad.problem(), Some(("link_ttl_days", "must be between 1 and 90")));
        assert_eq!(FunnelSettings::default().problem(), None);
    }
}
