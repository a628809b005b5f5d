//! The funnel's rules, pure and on the injected clock: a vendor's settings, when (if ever)
//! an imported order gets its invitation and each reminder, what stops the reminders, and
//! when a message may go out in the vendor's time zone (quiet hours, the daily cap).

use jiff::civil::Time;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

const DAY_MS: i64 = 86_400_000;
/// Reminders per invitation at most.
pub const MAX_REMINDERS: usize = 3;

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
    /// How invitations go out, in order of preference: each order gets one on the first
    /// channel it has a kept contact for (`["email"]`, `["sms"]`, `["email", "sms"]`, …).
    #[schema(min_items = 1, max_items = 2)]
    pub channels: Vec<InviteChannel>,
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
    /// Days after the invitation each reminder goes out: at most 3, increasing, each before
    /// the link expires (`[]` = no reminders). A review, an opt-out, a bounce, a cancelled
    /// or refunded order or the link's expiry stops them.
    #[schema(max_items = 3)]
    pub reminder_delays_days: Vec<u32>,
    /// The vendor's IANA time zone (quiet hours and the daily cap count in it).
    #[schema(max_length = 64, example = "Europe/Berlin")]
    pub time_zone: String,
    /// Local hours when nothing is sent (due messages wait until the end; an end that falls
    /// in a daylight-saving gap moves forward by the gap); `null` = none.
    pub quiet_hours: Option<QuietHours>,
    /// Invitations and reminders sent per local day at most (0 = no cap); the rest wait for
    /// the next day.
    #[schema(minimum = 0, maximum = 1000000)]
    pub daily_cap: u32,
    /// The thank-you offered in invitations for any honest review, whatever its rating
    /// (disclosed on the review as "incentivised"); `null` = none.
    pub incentive: Option<Incentive>,
    /// Ask the NPS question (0–10, "how likely are you to recommend us") on the hosted page
    /// before the review. Every respondent is then asked to review, whatever the score;
    /// detractors (0–6) also open a case for the vendor.
    pub nps: bool,
    /// Where promoters (9–10) are sent to recommend the shop after their review (an http(s)
    /// URL); `null` = no referral link.
    #[schema(
        max_length = 500,
        example = "https://shop.example/refer",
        pattern = "^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:[/?#][!-~]*)?$"
    )]
    pub referral_url: Option<String>,
    /// The shop's goals, tracked by the funnel and NPS reports and read by the vendor
    /// maturity assessment (levels 4 and 5); `null` = none set.
    pub targets: Option<Targets>,
}

/// Goals for the funnel's conversion and the NPS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    /// Percent of invited buyers who review, 1–100.
    #[schema(minimum = 1, maximum = 100)]
    pub conversion_percent: u8,
    /// The NPS aimed at, −100 to 100.
    #[schema(minimum = -100, maximum = 100)]
    pub nps: i16,
}

/// A channel invitations go out on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InviteChannel {
    /// Multipart e-mail with five rating links (SMTP).
    Email,
    /// A short text with a short link, answered by replying with a rating (SMS gateway).
    Sms,
}

impl InviteChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            InviteChannel::Email => "email",
            InviteChannel::Sms => "sms",
        }
    }
}

/// The moments a vendor may prompt a review at once (SPEC §4.2, the TruView model).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    RepeatPurchase,
    SuccessfulUse,
    SocialMention,
    LongSession,
    Referral,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::RepeatPurchase => "repeat_purchase",
            Trigger::SuccessfulUse => "successful_use",
            Trigger::SocialMention => "social_mention",
            Trigger::LongSession => "long_session",
            Trigger::Referral => "referral",
        }
    }
}

/// The kinds of incentive (SPEC §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IncentiveKind {
    /// A code from the pool the vendor uploads (`POST /api/v1/incentives/coupons`).
    Coupon,
    /// A discount on the next purchase, applied by the shop.
    Discount,
    /// An entry into a prize draw.
    PrizeDraw,
    /// A product trial.
    Trial,
}

impl IncentiveKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IncentiveKind::Coupon => "coupon",
            IncentiveKind::Discount => "discount",
            IncentiveKind::PrizeDraw => "prize_draw",
            IncentiveKind::Trial => "trial",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Incentive {
    pub kind: IncentiveKind,
    /// What the buyer gets, in the shop's words ("10% off your next order").
    #[schema(min_length = 1, max_length = 200)]
    pub description: String,
    /// The pool is reported low below this many free coupons.
    #[serde(default = "default_low_pool")]
    #[schema(minimum = 0, maximum = 100000)]
    pub low_pool_threshold: u32,
}

fn default_low_pool() -> u32 {
    20
}

/// What becomes of a pending incentive when its review is moderated: granted when it is
/// published or rejected for anything but spam or abuse, withheld for spam or abuse, still
/// pending otherwise. The rating plays no part (FTC 16 CFR 465).
pub fn grant_outcome(status: &str, reject_reason: Option<&str>) -> Option<&'static str> {
    match (status, reject_reason) {
        ("published", _) => Some("granted"),
        ("rejected", Some("spam" | "abuse")) => Some("withheld"),
        ("rejected", _) => Some("granted"),
        _ => None,
    }
}

/// A local time span with no messages; it may wrap midnight (`21:00`–`08:00`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    /// `HH:MM`, 24-hour.
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$", example = "21:00")]
    pub start: String,
    /// `HH:MM`, 24-hour; not equal to `start`.
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$", example = "08:00")]
    pub end: String,
}

impl QuietHours {
    fn parse(hhmm: &str) -> Option<Time> {
        let (h, m) = hhmm.split_once(':')?;
        if h.len() != 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        Time::new(h.parse().ok()?, m.parse().ok()?, 0, 0).ok()
    }

    fn bounds(&self) -> Option<(Time, Time)> {
        Some((Self::parse(&self.start)?, Self::parse(&self.end)?)).filter(|(s, e)| s != e)
    }
}

impl Default for FunnelSettings {
    fn default() -> Self {
        FunnelSettings {
            enabled: false,
            channels: vec![InviteChannel::Email],
            invite_delay_days: 7,
            delay_from: DelayFrom::Delivery,
            link_ttl_days: 30,
            cooldown_days: 90,
            sender_name: String::new(),
            reminder_delays_days: vec![4, 10],
            time_zone: "UTC".into(),
            quiet_hours: Some(QuietHours { start: "21:00".into(), end: "08:00".into() }),
            daily_cap: 0,
            incentive: None,
            nps: false,
            referral_url: None,
            targets: None,
        }
    }
}

impl FunnelSettings {
    /// The first rule a value breaks, as (field, detail).
    pub fn problem(&self) -> Option<(&'static str, &'static str)> {
        let c = &self.channels;
        if c.is_empty() || c.len() > 2 || (c.len() == 2 && c[0] == c[1]) {
            return Some(("channels", "must list email, sms or both, each once"));
        }
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
        let delays = &self.reminder_delays_days;
        if delays.len() > MAX_REMINDERS || delays.windows(2).any(|w| w[0] >= w[1]) || delays.first() == Some(&0) {
            return Some(("reminder_delays_days", "must hold at most 3 increasing day counts, each at least 1"));
        }
        if delays.last().is_some_and(|d| *d >= self.link_ttl_days) {
            return Some(("reminder_delays_days", "must all fall before the link expires (link_ttl_days)"));
        }
        if self.time_zone.len() > 64 || self.zone().is_none() {
            return Some(("time_zone", "must be an IANA time zone name, e.g. Europe/Berlin"));
        }
        if self.quiet_hours.as_ref().is_some_and(|q| q.bounds().is_none()) {
            return Some(("quiet_hours", "start and end must be different HH:MM times"));
        }
        if self.daily_cap > 1_000_000 {
            return Some(("daily_cap", "must be between 0 and 1000000"));
        }
        if let Some(i) = &self.incentive {
            let len = i.description.trim().chars().count();
            if len == 0 || len > 200 || i.description.chars().any(char::is_control) {
                return Some(("incentive", "description must be 1 to 200 characters, without control characters"));
            }
            if i.low_pool_threshold > 100_000 {
                return Some(("incentive", "low_pool_threshold must be between 0 and 100000"));
            }
        }
        if let Some(t) = &self.targets {
            if !(1..=100).contains(&t.conversion_percent) {
                return Some(("targets", "conversion_percent must be between 1 and 100"));
            }
            if !(-100..=100).contains(&t.nps) {
                return Some(("targets", "nps must be between -100 and 100"));
            }
        }
        if let Some(url) = &self.referral_url {
            // WebUrl: printable ASCII only (url::Url alone would drop a trailing control
            // character while parsing, and the raw value is what is stored and shown).
            let ok = url.len() <= 500
                && crate::domain::product::WebUrl::parse("referral_url", url).is_ok()
                && url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
            if !ok {
                return Some(("referral_url", "must be an http(s) URL of at most 500 characters"));
            }
        }
        None
    }

    /// The vendor's time zone (from the bundled tz database).
    pub fn zone(&self) -> Option<TimeZone> {
        TimeZone::get(&self.time_zone).ok()
    }

    pub fn link_ttl_ms(&self) -> i64 {
        i64::from(self.link_ttl_days) * DAY_MS
    }

    pub fn cooldown_ms(&self) -> i64 {
        i64::from(self.cooldown_days) * DAY_MS
    }
}

/// Where an NPS answer (0–10) puts the buyer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NpsGroup {
    /// 0–6: a follow-up case opens for the vendor.
    Detractor,
    /// 7–8.
    Passive,
    /// 9–10: offered the referral link after the review.
    Promoter,
}

impl NpsGroup {
    pub fn of(score: u8) -> NpsGroup {
        match score {
            0..=6 => NpsGroup::Detractor,
            7..=8 => NpsGroup::Passive,
            _ => NpsGroup::Promoter,
        }
    }
}

/// Counts of NPS answers and the score: % promoters − % detractors, rounded to one decimal
/// (`None` without answers).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, ToSchema)]
pub struct NpsTally {
    pub responses: u64,
    pub promoters: u64,
    pub passives: u64,
    pub detractors: u64,
    /// −100 to 100; `null` without answers.
    pub nps: Option<f64>,
}

impl NpsTally {
    pub fn of(scores: impl IntoIterator<Item = u8>) -> NpsTally {
        let mut t = NpsTally::default();
        for s in scores {
            t.responses += 1;
            match NpsGroup::of(s) {
                NpsGroup::Detractor => t.detractors += 1,
                NpsGroup::Passive => t.passives += 1,
                NpsGroup::Promoter => t.promoters += 1,
            }
        }
        t.nps = (t.responses > 0).then(|| {
            let raw = (t.promoters as f64 - t.detractors as f64) * 100.0 / t.responses as f64;
            (raw * 10.0).round() / 10.0
        });
        t
    }
}

/// What the plan needs to know of an order.
#[derive(Debug, Clone, Copy)]
pub struct OrderFacts<'a> {
    pub status: &'a str,
    pub purchased_at: i64,
    pub delivered_at: Option<i64>,
    /// A raw contact on one of the funnel's channels is still kept (sealed) for sending.
    pub has_contact: bool,
}

/// When the order's invitation goes out (never before `now`), or `None`: funnel off, the
/// order cancelled or refunded, no contact to send to, or not delivered yet.
pub fn invite_at(settings: &FunnelSettings, order: OrderFacts<'_>, now: i64) -> Option<i64> {
    if !settings.enabled || !order.has_contact || matches!(order.status, "cancelled" | "refunded") {
        return None;
    }
    let base = match settings.delay_from {
        DelayFrom::Delivery => order.delivered_at?,
        DelayFrom::Purchase => order.purchased_at,
    };
    Some((base + i64::from(settings.invite_delay_days) * DAY_MS).max(now))
}

/// When reminder `n` (1-based) of an invitation sent at `sent_at` is due, if there is one.
pub fn reminder_at(settings: &FunnelSettings, sent_at: i64, n: u32) -> Option<i64> {
    let delay = settings.reminder_delays_days.get(usize::try_from(n).ok()?.checked_sub(1)?)?;
    Some(sent_at + i64::from(*delay) * DAY_MS)
}

/// Why an invitation gets no (further) reminder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Reviewed,
    OptedOut,
    Bounced,
    /// The order was cancelled or refunded since.
    Cancelled,
    Expired,
}

impl Stop {
    pub fn as_str(self) -> &'static str {
        match self {
            Stop::Reviewed => "reviewed",
            Stop::OptedOut => "opted_out",
            Stop::Bounced => "bounced",
            Stop::Cancelled => "cancelled",
            Stop::Expired => "expired",
        }
    }
}

/// What a reminder needs to know of its invitation.
#[derive(Debug, Clone, Copy)]
pub struct ReminderFacts<'a> {
    /// The invitation's state (`sent`, `opened`, `reviewed`, `bounced`).
    pub state: &'a str,
    pub opted_out: bool,
    pub order_status: &'a str,
    pub expires_at: i64,
}

/// Whether reminders stop, and why (the first reason that holds).
pub fn reminder_stop(facts: ReminderFacts<'_>, now: i64) -> Option<Stop> {
    if facts.state == "reviewed" {
        Some(Stop::Reviewed)
    } else if facts.opted_out {
        Some(Stop::OptedOut)
    } else if facts.state == "bounced" {
        Some(Stop::Bounced)
    } else if matches!(facts.order_status, "cancelled" | "refunded") {
        Some(Stop::Cancelled)
    } else if now >= facts.expires_at {
        Some(Stop::Expired)
    } else {
        None
    }
}

fn zoned(at: i64, tz: &TimeZone) -> Option<jiff::ZonedDateTime> {
    Some(Timestamp::from_millisecond(at).ok()?.to_zoned_datetime(tz.clone()))
}

fn millis(z: &jiff::ZonedDateTime) -> i64 {
    z.timestamp().as_millisecond()
}

/// The first instant at or after `at` outside the quiet hours, in `tz`. A quiet end that
/// falls in a daylight-saving gap moves forward by the gap's length (02:30 → 03:30).
pub fn outside_quiet(at: i64, tz: &TimeZone, quiet: &QuietHours) -> i64 {
    let (Some((start, end)), Some(local)) = (quiet.bounds(), zoned(at, tz)) else { return at };
    let t = local.time();
    let ends_today = if start < end {
        if t < start || t >= end {
            return at;
        }
        true
    } else if t >= start {
        false
    } else if t < end {
        true
    } else {
        return at;
    };
    let day = if ends_today { Some(local.date()) } else { local.date().tomorrow().ok() };
    day.and_then(|d| d.to_datetime(end).to_zoned_datetime(tz.clone()).ok()).map(|z| millis(&z).max(at)).unwrap_or(at)
}

/// The local calendar day of `at` in `tz` (`2026-03-29`): the daily cap's key.
pub fn local_day(at: i64, tz: &TimeZone) -> String {
    zoned(at, tz).map(|z| z.date().to_string()).unwrap_or_default()
}

/// The start of the local day after `at`'s.
pub fn next_local_day(at: i64, tz: &TimeZone) -> i64 {
    zoned(at, tz)
        .and_then(|z| z.tomorrow().ok())
        .and_then(|z| z.start_of_day().ok())
        .map(|z| millis(&z))
        .unwrap_or(at + DAY_MS)
}

/// When a message due at `now` may go out: `None` = now, or the instant it must wait for
/// (the end of the quiet hours). The daily cap is counted by the caller.
pub fn send_slot(settings: &FunnelSettings, now: i64) -> Option<i64> {
    let (tz, quiet) = (settings.zone()?, settings.quiet_hours.as_ref()?);
    Some(outside_quiet(now, &tz, quiet)).filter(|t| *t > now)
}

/// Where a message over the daily cap waits: the next local day, outside the quiet hours.
pub fn after_cap(settings: &FunnelSettings, now: i64) -> i64 {
    let tz = settings.zone().unwrap_or(TimeZone::UTC);
    let next = next_local_day(now, &tz);
    settings.quiet_hours.as_ref().map(|q| outside_quiet(next, &tz, q)).unwrap_or(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    fn at(s: &str) -> i64 {
        s.parse::<Timestamp>().unwrap().as_millisecond()
    }

    fn berlin(quiet: (&str, &str)) -> FunnelSettings {
        FunnelSettings {
            enabled: true,
            time_zone: "Europe/Berlin".into(),
            quiet_hours: Some(QuietHours { start: quiet.0.into(), end: quiet.1.into() }),
            ..Default::default()
        }
    }

    #[test]
    fn nps_groups_and_score() {
        assert_eq!([0, 6, 7, 8, 9, 10].map(NpsGroup::of), {
            use NpsGroup::*;
            [Detractor, Detractor, Passive, Passive, Promoter, Promoter]
        });
        let t = NpsTally::of([10, 9, 9, 8, 0, 6]);
        assert_eq!((t.responses, t.promoters, t.passives, t.detractors), (6, 3, 1, 2));
        assert_eq!(t.nps, Some(16.7));
        assert_eq!(NpsTally::of([0]).nps, Some(-100.0));
        assert_eq!(NpsTally::of([]).nps, None);
    }

    #[test]
    fn the_referral_link_must_be_a_web_url() {
        let with = |u: &str| FunnelSettings { referral_url: Some(u.into()), ..Default::default() }.problem();
        assert_eq!(with("https://shop.example/refer?c=1"), None);
        for bad in [
            "javascript:alert(1)",
            "ftp://shop.example/",
            "shop.example",
            "https://",
            "https://shop.example/\u{0}",
            "https://shop.example/a b",
        ] {
            assert_eq!(with(bad).map(|p| p.0), Some("referral_url"), "{bad}");
        }
        assert_eq!(with(&format!("https://shop.example/{}", "a".repeat(500))).map(|p| p.0), Some("referral_url"));
    }

    #[test]
    fn quiet_hours_hold_messages_until_their_local_end_across_midnight_and_dst() {
        let s = berlin(("21:00", "08:00"));
        // 20:59 local (CET = UTC+1): sends now; 21:00: waits until 08:00 next morning.
        assert_eq!(send_slot(&s, at("2026-01-15T19:59:00Z")), None);
        assert_eq!(send_slot(&s, at("2026-01-15T20:00:00Z")), Some(at("2026-01-16T07:00:00Z")));
        // 03:00 local: waits until 08:00 the same day.
        assert_eq!(send_slot(&s, at("2026-01-16T02:00:00Z")), Some(at("2026-01-16T07:00:00Z")));
        assert_eq!(send_slot(&s, at("2026-01-16T07:00:00Z")), None, "08:00 sharp is allowed");
        // The night clocks go forward (29 March 2026, 02:00 → 03:00): 08:00 CEST is 06:00 UTC.
        assert_eq!(send_slot(&s, at("2026-03-28T22:00:00Z")), Some(at("2026-03-29T06:00:00Z")));
        // The night clocks go back (25 October 2026): 08:00 CET is 07:00 UTC.
        assert_eq!(send_slot(&s, at("2026-10-24T22:00:00Z")), Some(at("2026-10-25T07:00:00Z")));
        // A quiet end inside the spring gap (02:30 does not exist that night): right after it.
        let gap = berlin(("01:00", "02:30"));
        assert_eq!(send_slot(&gap, at("2026-03-29T00:30:00Z")), Some(at("2026-03-29T01:30:00Z")));
        // A span within one day.
        let lunch = berlin(("12:00", "13:30"));
        assert_eq!(send_slot(&lunch, at("2026-06-01T10:15:00Z")), Some(at("2026-06-01T11:30:00Z")));
        assert_eq!(send_slot(&lunch, at("2026-06-01T11:30:00Z")), None);
        assert_eq!(send_slot(&FunnelSettings { quiet_hours: None, ..s }, at("2026-01-15T20:00:00Z")), None);
    }

    #[test]
    fn the_daily_cap_waits_for_the_next_local_day_outside_quiet_hours() {
        let s = berlin(("21:00", "08:00"));
        // 23:30 UTC on 28 March is 00:30 CET on the 29th: the local day is the 29th.
        assert_eq!(local_day(at("2026-03-28T23:30:00Z"), &s.zone().unwrap()), "2026-03-29");
        // Capped at 15:00 local: the next local day starts at 00:00, inside quiet hours → 08:00.
        assert_eq!(after_cap(&s, at("2026-01-15T14:00:00Z")), at("2026-01-16T07:00:00Z"));
        let no_quiet = FunnelSettings { quiet_hours: None, ..s };
        // A 23-hour day: midnight after 29 March is 22:00 UTC.
        assert_eq!(after_cap(&no_quiet, at("2026-03-29T12:00:00Z")), at("2026-03-29T22:00:00Z"));
    }

    #[test]
    fn reminders_follow_their_delays_and_every_stop_condition_stops_them() {
        let s = FunnelSettings { reminder_delays_days: vec![3, 9], ..Default::default() };
        assert_eq!(reminder_at(&s, NOW, 1), Some(NOW + 3 * DAY_MS));
        assert_eq!(reminder_at(&s, NOW, 2), Some(NOW + 9 * DAY_MS));
        assert_eq!(reminder_at(&s, NOW, 3), None);
        assert_eq!(reminder_at(&s, NOW, 0), None);
        let open = ReminderFacts { state: "opened", opted_out: false, order_status: "fulfilled", expires_at: NOW + 1 };
        assert_eq!(reminder_stop(open, NOW), None, "opened but not reviewed: remind");
        assert_eq!(reminder_stop(ReminderFacts { state: "reviewed", ..open }, NOW), Some(Stop::Reviewed));
        assert_eq!(reminder_stop(ReminderFacts { opted_out: true, ..open }, NOW), Some(Stop::OptedOut));
        assert_eq!(reminder_stop(ReminderFacts { state: "bounced", ..open }, NOW), Some(Stop::Bounced));
        assert_eq!(reminder_stop(ReminderFacts { order_status: "refunded", ..open }, NOW), Some(Stop::Cancelled));
        assert_eq!(reminder_stop(ReminderFacts { order_status: "cancelled", ..open }, NOW), Some(Stop::Cancelled));
        assert_eq!(reminder_stop(open, NOW + 1), Some(Stop::Expired));
    }

    #[test]
    fn incentives_depend_on_moderation_never_on_the_rating() {
        assert_eq!(grant_outcome("published", None), Some("granted"));
        assert_eq!(grant_outcome("rejected", Some("off_topic")), Some("granted"));
        assert_eq!(grant_outcome("rejected", Some("spam")), Some("withheld"));
        assert_eq!(grant_outcome("rejected", Some("abuse")), Some("withheld"));
        assert_eq!(grant_outcome("pending", None), None);
        assert_eq!(grant_outcome("flagged", None), None);
        let empty = Incentive { kind: IncentiveKind::Coupon, description: " ".into(), low_pool_threshold: 20 };
        let s = FunnelSettings { incentive: Some(empty), ..Default::default() };
        assert_eq!(s.problem().map(|p| p.0), Some("incentive"));
    }

    #[test]
    fn reminder_and_time_settings_are_checked() {
        let base = FunnelSettings::default();
        let named = |s: FunnelSettings| s.problem().map(|p| p.0);
        assert_eq!(
            named(FunnelSettings { reminder_delays_days: vec![5, 5], ..base.clone() }),
            Some("reminder_delays_days")
        );
        assert_eq!(
            named(FunnelSettings { reminder_delays_days: vec![0], ..base.clone() }),
            Some("reminder_delays_days")
        );
        assert_eq!(
            named(FunnelSettings { reminder_delays_days: vec![1, 2, 3, 4], ..base.clone() }),
            Some("reminder_delays_days")
        );
        assert_eq!(
            FunnelSettings { reminder_delays_days: vec![10], link_ttl_days: 10, ..base.clone() }.problem(),
            Some(("reminder_delays_days", "must all fall before the link expires (link_ttl_days)"))
        );
        assert_eq!(named(FunnelSettings { time_zone: "Mars/Olympus".into(), ..base.clone() }), Some("time_zone"));
        let same = QuietHours { start: "08:00".into(), end: "08:00".into() };
        assert_eq!(named(FunnelSettings { quiet_hours: Some(same), ..base.clone() }), Some("quiet_hours"));
        let bad = QuietHours { start: "24:00".into(), end: "8:00".into() };
        assert_eq!(named(FunnelSettings { quiet_hours: Some(bad), ..base.clone() }), Some("quiet_hours"));
        assert_eq!(named(FunnelSettings { daily_cap: 1_000_001, ..base.clone() }), Some("daily_cap"));
        assert_eq!(FunnelSettings { time_zone: "America/New_York".into(), ..base }.problem(), None);
    }

    fn order(status: &str, delivered: Option<i64>) -> OrderFacts<'_> {
        OrderFacts { status, purchased_at: NOW - 10 * DAY_MS, delivered_at: delivered, has_contact: true }
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
        let no_email = OrderFacts { has_contact: false, ..order("paid", Some(NOW)) };
        assert_eq!(invite_at(&on, no_email, NOW), None);
    }

    #[test]
    fn settings_out_of_range_are_named() {
        let bad = FunnelSettings { link_ttl_days: 0, ..Default::default() };
        assert_eq!(bad.problem(), Some(("link_ttl_days", "must be between 1 and 90")));
        assert_eq!(FunnelSettings::default().problem(), None);
    }
}
