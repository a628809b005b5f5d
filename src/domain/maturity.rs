//! Maturity levels (SPEC §2, §3): one pure function from a review's evidence to its
//! level and the checks shown to readers, and one from a vendor's facts to its level
//! with the plan for the next.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::security::hmac::same;

/// How the author proved who they are (KYC).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Identity {
    /// Social login (OAuth 2.0 / OIDC); `provider` is the configured name, e.g. `google`;
    /// `subject_key` is an HMAC of the (issuer, subject) pair; `label` the provider's name
    /// as readers see it; `email_hmac` only for an e-mail the provider verified.
    Oauth {
        provider: String,
        issuer: String,
        #[serde(default)]
        subject_key: Option<String>,
        #[serde(default)]
        label: Option<String>,
        email_hmac: Option<String>,
    },
    /// One-time code to a phone.
    Phone { phone_hmac: String },
}

impl Identity {
    /// The key one review per identity per product is counted by: the (issuer, subject)
    /// HMAC for a social account, the phone's HMAC for a phone.
    pub fn key(&self) -> Option<String> {
        match self {
            Identity::Oauth { subject_key, .. } => subject_key.as_ref().map(|k| format!("oauth:{k}")),
            Identity::Phone { phone_hmac } => Some(format!("phone:{phone_hmac}")),
        }
    }
}

/// A company the author works at, proven by a one-time code sent to a work e-mail on its
/// domain (free-mail domains never prove one). Name, role and size are the author's words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Company {
    pub domain: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub size: Option<String>,
}

/// How the review was bound to an imported order (KYP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PurchaseMethod {
    /// The invitation link was issued for this order.
    Invitation,
    /// The buyer entered the order id and a contact that matched the order.
    OrderMatch,
    /// The buyer uploaded a receipt or invoice and the shop's staff accepted it (no order
    /// is bound: `order_id` is empty).
    Receipt,
    /// The invited buyer answered the invitation e-mail with a rating, from the invited
    /// address, DKIM-verified.
    Reply,
    /// The invited buyer answered the invitation text message with a rating, from the
    /// invited number (the gateway's signature verified).
    SmsReply,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purchase {
    pub order_id: String,
    pub method: PurchaseMethod,
    /// The order's contacts (HMACs) at the time of matching.
    pub email_hmac: Option<String>,
    pub phone_hmac: Option<String>,
}

/// Everything known about a review's author and purchase.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The author typed a name or e-mail that nobody verified.
    #[serde(default)]
    pub self_declared: bool,
    #[serde(default)]
    pub identity: Option<Identity>,
    #[serde(default)]
    pub purchase: Option<Purchase>,
    /// A company proven by a work e-mail (B2B).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<Company>,
    /// The author's data was erased on request.
    #[serde(default)]
    pub erased: bool,
}

/// Which verification methods a review's evidence used, without the contact HMACs
/// (for the buyer's data export).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Methods {
    /// The author typed a name or e-mail that nobody verified.
    pub self_declared: bool,
    /// `phone`, or `oauth` with the provider name (`oauth:google`); absent if none.
    pub identity: Option<String>,
    /// How the review was bound to an order: `invitation` or `order_match`; absent if none.
    pub purchase: Option<String>,
    /// The author's data was erased on request.
    pub erased: bool,
}

impl Evidence {
    pub fn methods(&self) -> Methods {
        Methods {
            self_declared: self.self_declared,
            identity: self.identity.as_ref().map(|i| match i {
                Identity::Phone { .. } => "phone".to_owned(),
                Identity::Oauth { provider, .. } => format!("oauth:{provider}"),
            }),
            purchase: self.purchase.as_ref().map(|p| {
                match p.method {
                    PurchaseMethod::Invitation => "invitation",
                    PurchaseMethod::OrderMatch => "order_match",
                    PurchaseMethod::Receipt => "receipt",
                    PurchaseMethod::Reply => "reply",
                    PurchaseMethod::SmsReply => "sms_reply",
                }
                .to_owned()
            }),
            erased: self.erased,
        }
    }
}

/// A check shown to readers next to a review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Check {
    /// Stable code, e.g. `identity_phone`, `purchase_invitation`, `verified_buyer`.
    pub code: String,
    /// English label; the widget localises by `code`.
    pub label: String,
}

fn check(code: &str, label: &str) -> Check {
    Check { code: code.into(), label: label.into() }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub level: u8,
    pub checks: Vec<Check>,
}

/// The verified identity is the order's buyer: the OAuth-verified e-mail or the
/// OTP-verified phone equals the order's contact (as HMACs, compared in constant time).
fn is_buyer(identity: &Identity, purchase: &Purchase) -> bool {
    match identity {
        Identity::Oauth { email_hmac: Some(e), .. } => purchase.email_hmac.as_deref().is_some_and(|o| same(e, o)),
        Identity::Oauth { email_hmac: None, .. } => false,
        Identity::Phone { phone_hmac } => purchase.phone_hmac.as_deref().is_some_and(|o| same(phone_hmac, o)),
    }
}

/// SPEC §2: 0 anonymous, 1 self-declared, 2 identity, 3 purchase, 4 both, 5 verified buyer.
pub fn review_level(e: &Evidence) -> Assessment {
    if e.erased {
        return Assessment { level: 0, checks: vec![check("erased", "Author data erased on request")] };
    }
    let mut checks = Vec::new();
    if let Some(identity) = &e.identity {
        checks.push(match identity {
            Identity::Oauth { provider, label, .. } => check(
                &format!("identity_oauth_{provider}"),
                &format!("Identity checked with {}", label.clone().unwrap_or_else(|| provider_label(provider))),
            ),
            Identity::Phone { .. } => check("identity_phone", "Identity checked by phone"),
        });
    }
    if let Some(purchase) = &e.purchase {
        checks.push(match purchase.method {
            PurchaseMethod::Invitation => check("purchase_invitation", "Order matched (invited after purchase)"),
            PurchaseMethod::OrderMatch => check("purchase_order_match", "Order matched (order number and contact)"),
            PurchaseMethod::Receipt => check("purchase_receipt", "Receipt checked by the shop"),
            PurchaseMethod::Reply => check("purchase_reply", "Answered the invitation by e-mail"),
            PurchaseMethod::SmsReply => check("purchase_sms_reply", "Answered the invitation by SMS"),
        });
    }
    if let Some(company) = &e.company {
        checks.push(check("company_work_email", &format!("Works at {} (work e-mail verified)", company.domain)));
    }
    let level = match (&e.identity, &e.purchase) {
        (Some(i), Some(p)) if is_buyer(i, p) => {
            checks.push(check("verified_buyer", "Verified buyer"));
            5
        }
        (Some(_), Some(_)) => 4,
        (None, Some(_)) => 3,
        (Some(_), None) => 2,
        (None, None) if e.self_declared => {
            checks.push(check("self_declared", "Name given by the author, not verified"));
            1
        }
        (None, None) => {
            checks.push(check("anonymous", "Anonymous"));
            0
        }
    };
    Assessment { level, checks }
}

fn provider_label(provider: &str) -> String {
    match provider {
        "google" => "Google".into(),
        "apple" => "Apple".into(),
        "facebook" => "Facebook".into(),
        "linkedin" => "LinkedIn".into(),
        "microsoft" => "Microsoft".into(),
        "vk" => "VK ID".into(),
        "yandex" => "Yandex ID".into(),
        other => other.to_owned(),
    }
}

/// Vendor thresholds (SPEC §3), configurable per deployment under `[maturity]`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct VendorThresholds {
    /// Rolling window in days.
    pub window_days: i64,
    /// Level 2: share of negative (≤2★) published reviews answered publicly.
    pub negative_answered_pct: u32,
    /// Level 3: share of published reviews at level ≥2.
    pub level3_share_identity_pct: u32,
    /// Level 4: share of published reviews at level ≥3.
    pub level4_share_purchase_pct: u32,
    /// Level 5: share of published reviews at level ≥4.
    pub level5_share_verified_pct: u32,
}

impl Default for VendorThresholds {
    fn default() -> Self {
        VendorThresholds {
            window_days: 90,
            negative_answered_pct: 80,
            level3_share_identity_pct: 50,
            level4_share_purchase_pct: 50,
            level5_share_verified_pct: 80,
        }
    }
}

/// What the vendor's data shows over the window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VendorFacts {
    pub published: i64,
    /// Published reviews at level ≥ n, for n = 0..=5.
    pub at_least: [i64; 6],
    pub widget_served: bool,
    pub decisions_recorded: i64,
    pub negative_published: i64,
    pub negative_answered: i64,
    pub funnel_prompt_active: bool,
    pub reminders_active: bool,
    pub kyc_enabled: bool,
    pub orders_imported: i64,
    pub conversion_and_nps_tracked_with_targets: bool,
    pub triggers_configured: bool,
    pub conversion_target_met: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Criterion {
    /// The level this criterion belongs to.
    pub level: u8,
    pub code: &'static str,
    pub met: bool,
    /// What the data shows and what is needed, with the numbers.
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct VendorAssessment {
    pub level: u8,
    /// ISO/IEC 15504 name of the level.
    pub name: &'static str,
    pub criteria: Vec<Criterion>,
    pub next_level: Option<u8>,
    /// The plan: the unmet criteria of the next level.
    pub missing_for_next: Vec<String>,
}

pub const LEVEL_NAMES: [&str; 6] = ["incomplete", "performed", "managed", "established", "predictable", "optimizing"];

fn pct(part: i64, whole: i64) -> u32 {
    if whole <= 0 {
        0
    } else {
        u32::try_from(part * 100 / whole).unwrap_or(100)
    }
}

fn share(level: u8, code: &'static str, facts: &VendorFacts, min_level: usize, need: u32) -> Criterion {
    let have = pct(facts.at_least[min_level], facts.published);
    Criterion {
        level,
        code,
        met: facts.published > 0 && have >= need,
        detail: format!(
            "{have}% of published reviews are level ≥{min_level} ({} of {}); level {level} needs {need}%",
            facts.at_least[min_level], facts.published
        ),
    }
}

fn flag(level: u8, code: &'static str, met: bool, yes: &str, no: &str) -> Criterion {
    Criterion { level, code, met, detail: if met { yes.to_owned() } else { no.to_owned() } }
}

/// SPEC §3: the highest level whose criteria, and all lower ones, are met.
pub fn vendor_level(facts: &VendorFacts, t: &VendorThresholds) -> VendorAssessment {
    let answered = pct(facts.negative_answered, facts.negative_published);
    let criteria = vec![
        flag(
            1,
            "published_review",
            facts.published >= 1,
            &format!("{} published review(s) in the window", facts.published),
            "no published review in the window",
        ),
        flag(
            1,
            "widget_served",
            facts.widget_served,
            "the widget has been served",
            "the widget has not been served yet: embed it on your site",
        ),
        flag(
            2,
            "moderation_in_use",
            facts.decisions_recorded > 0,
            &format!("{} moderation decision(s) recorded", facts.decisions_recorded),
            "no moderation decision recorded: moderate reviews in the console",
        ),
        Criterion {
            level: 2,
            code: "negative_answered",
            met: facts.negative_published == 0 || answered >= t.negative_answered_pct,
            detail: if facts.negative_published == 0 {
                "no negative (≤2★) review published in the window, so none is waiting for an answer".to_owned()
            } else {
                format!(
                    "{answered}% of negative (≤2★) reviews answered publicly ({} of {}); level 2 needs {}%",
                    facts.negative_answered, facts.negative_published, t.negative_answered_pct
                )
            },
        },
        flag(
            2,
            "funnel_prompt",
            facts.funnel_prompt_active,
            "review invitations are active",
            "no review invitation (funnel prompt) is active",
        ),
        flag(
            3,
            "funnel_reminders",
            facts.reminders_active,
            "reminders are active",
            "no reminder is configured in the funnel",
        ),
        flag(
            3,
            "kyc_enabled",
            facts.kyc_enabled,
            "author verification (KYC) is enabled",
            "author verification (social login or phone code) is not enabled",
        ),
        share(3, "share_identity", facts, 2, t.level3_share_identity_pct),
        flag(
            4,
            "orders_imported",
            facts.orders_imported > 0,
            &format!("{} order(s) imported", facts.orders_imported),
            "no orders imported: import orders so purchases can be verified (KYP)",
        ),
        share(4, "share_purchase", facts, 3, t.level4_share_purchase_pct),
        flag(
            4,
            "tracking_targets",
            facts.conversion_and_nps_tracked_with_targets,
            "funnel conversion and NPS are tracked with targets",
            "set targets for funnel conversion and NPS",
        ),
        share(5, "share_verified", facts, 4, t.level5_share_verified_pct),
        flag(
            5,
            "triggers",
            facts.triggers_configured,
            "review triggers are configured",
            "no review trigger is configured",
        ),
        flag(
            5,
            "conversion_target_met",
            facts.conversion_target_met,
            "the conversion target was met in the window",
            "the conversion target was not met in the window",
        ),
    ];
    let mut level = 0u8;
    for candidate in 1..=5u8 {
        if criteria.iter().filter(|c| c.level == candidate).all(|c| c.met) {
            level = candidate;
        } else {
            break;
        }
    }
    let next_level = (level < 5).then_some(level + 1);
    let missing_for_next = next_level
        .map(|n| criteria.iter().filter(|c| c.level == n && !c.met).map(|c| c.detail.clone()).collect())
        .unwrap_or_default();
    VendorAssessment { level, name: LEVEL_NAMES[level as usize], criteria, next_level, missing_for_next }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oauth(email: Option<&str>) -> Identity {
        Identity::Oauth {
            provider: "google".into(),
            issuer: "https://accounts.google.com".into(),
            subject_key: None,
            label: None,
            email_hmac: email.map(Into::into),
        }
    }

    fn purchase(email: Option<&str>, phone: Option<&str>) -> Purchase {
        Purchase {
            order_id: "o1".into(),
            method: PurchaseMethod::Invitation,
            email_hmac: email.map(Into::into),
            phone_hmac: phone.map(Into::into),
        }
    }

    fn codes(a: &Assessment) -> Vec<&str> {
        a.checks.iter().map(|c| c.code.as_str()).collect()
    }

    /// Every combination of evidence, against the SPEC §2 table.
    #[test]
    fn review_level_table() {
        let phone = Identity::Phone { phone_hmac: "p1".into() };
        let cases: Vec<(Evidence, u8, Vec<&str>)> = vec![
            (Evidence::default(), 0, vec!["anonymous"]),
            (Evidence { self_declared: true, ..Default::default() }, 1, vec!["self_declared"]),
            (Evidence { identity: Some(oauth(Some("e1"))), ..Default::default() }, 2, vec!["identity_oauth_google"]),
            (
                Evidence { self_declared: true, identity: Some(phone.clone()), ..Default::default() },
                2,
                vec!["identity_phone"],
            ),
            (
                Evidence { purchase: Some(purchase(Some("e1"), None)), ..Default::default() },
                3,
                vec!["purchase_invitation"],
            ),
            (
                Evidence { self_declared: true, purchase: Some(purchase(None, None)), ..Default::default() },
                3,
                vec!["purchase_invitation"],
            ),
            // Identity and purchase, identity not the buyer's.
            (
                Evidence {
                    identity: Some(oauth(Some("e2"))),
                    purchase: Some(purchase(Some("e1"), None)),
                    ..Default::default()
                },
                4,
                vec!["identity_oauth_google", "purchase_invitation"],
            ),
            (
                Evidence {
                    identity: Some(oauth(None)),
                    purchase: Some(purchase(Some("e1"), None)),
                    ..Default::default()
                },
                4,
                vec!["identity_oauth_google", "purchase_invitation"],
            ),
            (
                Evidence {
                    identity: Some(phone.clone()),
                    purchase: Some(purchase(Some("e1"), None)),
                    ..Default::default()
                },
                4,
                vec!["identity_phone", "purchase_invitation"],
            ),
            (
                Evidence {
                    identity: Some(phone.clone()),
                    purchase: Some(purchase(None, Some("p2"))),
                    ..Default::default()
                },
                4,
                vec!["identity_phone", "purchase_invitation"],
            ),
            // Verified buyer: e-mail or phone matches the order's.
            (
                Evidence {
                    identity: Some(oauth(Some("e1"))),
                    purchase: Some(purchase(Some("e1"), None)),
                    ..Default::default()
                },
                5,
                vec!["identity_oauth_google", "purchase_invitation", "verified_buyer"],
            ),
            (
                Evidence {
                    identity: Some(phone.clone()),
                    purchase: Some(purchase(None, Some("p1"))),
                    ..Default::default()
                },
                5,
                vec!["identity_phone", "purchase_invitation", "verified_buyer"],
            ),
            // A phone identity never matches an e-mail-only order, nor the reverse.
            (
                Evidence {
                    identity: Some(Identity::Phone { phone_hmac: "e1".into() }),
                    purchase: Some(purchase(Some("e1"), None)),
                    ..Default::default()
                },
                4,
                vec!["identity_phone", "purchase_invitation"],
            ),
            // Erasure wins over everything.
            (
                Evidence {
                    erased: true,
                    self_declared: true,
                    identity: Some(oauth(Some("e1"))),
                    purchase: Some(purchase(Some("e1"), None)),
                    company: None,
                },
                0,
                vec!["erased"],
            ),
            // A company proven by a work e-mail is a check of its own; it is no identity.
            (
                Evidence {
                    company: Some(Company { domain: "acme.example".into(), name: None, role: None, size: None }),
                    identity: Some(Identity::Phone { phone_hmac: "p1".into() }),
                    ..Default::default()
                },
                2,
                vec!["identity_phone", "company_work_email"],
            ),
        ];
        for (evidence, level, expected) in cases {
            let a = review_level(&evidence);
            assert_eq!(a.level, level, "{evidence:?}");
            assert_eq!(codes(&a), expected, "{evidence:?}");
        }
        let m = Evidence {
            purchase: Some(Purchase { method: PurchaseMethod::OrderMatch, ..purchase(None, None) }),
            ..Default::default()
        };
        assert_eq!(codes(&review_level(&m)), ["purchase_order_match"]);
    }

    fn facts_at(level: u8) -> VendorFacts {
        let mut f = VendorFacts { published: 10, widget_served: true, ..Default::default() };
        f.at_least = [10, 10, 0, 0, 0, 0];
        if level >= 2 {
            f.decisions_recorded = 3;
            f.negative_published = 5;
            f.negative_answered = 4;
            f.funnel_prompt_active = true;
        }
        if level >= 3 {
            f.reminders_active = true;
            f.kyc_enabled = true;
            f.at_least[2] = 5;
        }
        if level >= 4 {
            f.orders_imported = 100;
            f.at_least[2] = 8;
            f.at_least[3] = 5;
            f.conversion_and_nps_tracked_with_targets = true;
        }
        if level >= 5 {
            f.at_least = [10, 10, 10, 10, 8, 6];
            f.triggers_configured = true;
            f.conversion_target_met = true;
        }
        f
    }

    #[test]
    fn vendor_levels_climb_with_their_criteria() {
        let t = VendorThresholds::default();
        assert_eq!(vendor_level(&VendorFacts::default(), &t).level, 0);
        for level in 1..=5 {
            let a = vendor_level(&facts_at(level), &t);
            assert_eq!(a.level, level, "{a:?}");
            assert_eq!(a.name, LEVEL_NAMES[level as usize]);
        }
        assert_eq!(vendor_level(&facts_at(5), &t).next_level, None);
    }

    #[test]
    fn vendor_plan_names_what_is_missing_with_numbers() {
        let t = VendorThresholds::default();
        let mut f = facts_at(3);
        f.orders_imported = 7;
        f.at_least[3] = 4; // 40%
        let a = vendor_level(&f, &t);
        assert_eq!(a.level, 3);
        assert_eq!(a.next_level, Some(4));
        assert_eq!(
            a.missing_for_next,
            vec![
                "40% of published reviews are level ≥3 (4 of 10); level 4 needs 50%".to_owned(),
                "set targets for funnel conversion and NPS".to_owned(),
            ]
        );
        // A lower gap caps the level even when higher criteria are met.
        let mut f = facts_at(4);
        f.negative_answered = 1;
        let a = vendor_level(&f, &t);
        assert_eq!(a.level, 1);
        assert_eq!(
            a.missing_for_next,
            vec!["20% of negative (≤2★) reviews answered publicly (1 of 5); level 2 needs 80%".to_owned()]
        );
        // No negative review: met, and said so in words rather than "0% (0 of 0)".
        let mut f = facts_at(2);
        f.negative_published = 0;
        f.negative_answered = 0;
        let answered = vendor_level(&f, &t).criteria.into_iter().find(|c| c.code == "negative_answered").unwrap();
        assert!(answered.met);
        assert_eq!(
            answered.detail,
            "no negative (≤2★) review published in the window, so none is waiting for an answer"
        );
    }
}
