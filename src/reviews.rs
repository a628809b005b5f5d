//! Review use cases shared by the HTTP handlers: open a flow, submit, moderate, reply,
//! erase and export a buyer, assess the vendor. Policy comes from `domain`, rows from `store`.

use serde_json::json;

use crate::core::Core;
use crate::domain::account::{is_insider, Origin};
use crate::domain::contact::{Email, Phone};
use crate::domain::maturity::{self, review_level, Evidence, Identity, PurchaseMethod, VendorAssessment, VendorFacts};
use crate::domain::moderation::{self, Action, RejectReason, Status};
use crate::domain::review::{self as input, daily_cap, Locale, Rating, Sku, VoterToken};
use crate::error::{Error, Result};
use crate::security::tokens::{new_token, sha256_hex};
use crate::store::audit::Entry;
use crate::store::flows::Flow;
use crate::store::orders::{Order, OrderItem};
use crate::store::reviews::{Reply, Review};
use crate::store::vendors::Vendor;
use crate::store::{self, new_id};

/// A validated review submission (built from the request by `TryFrom` at the edge; the
/// text fields have been through `domain::text::clean`).
pub struct Submission {
    pub flow_token: String,
    pub rating: Rating,
    pub title: String,
    pub body: String,
    pub pros: Option<String>,
    pub cons: Option<String>,
    pub locale: Locale,
    pub sku: Option<Sku>,
    pub display_name: String,
    pub email: Option<Email>,
}

/// Where an anonymous public write comes from: the browser's Origin (absent for
/// server-side callers) and the client address the daily caps count.
#[derive(Debug, Clone, Default)]
pub struct PublicWrite {
    pub origin: Option<String>,
    pub ip: Option<std::net::IpAddr>,
}

/// Opens a review flow for a vendor (`sku` already checked with `Sku::parse`); returns it
/// with its plaintext token.
pub async fn open_flow(core: &Core, vendor_id: &str, sku: Option<String>) -> Result<(Flow, String)> {
    open_flow_in(core, vendor_id, sku, None).await
}

/// Opens a review flow whose pages speak `locale` (`en`, `ru`; none: the browser's).
pub async fn open_flow_in(
    core: &Core,
    vendor_id: &str,
    sku: Option<String>,
    locale: Option<&str>,
) -> Result<(Flow, String)> {
    let token = new_token("fl", core.random.as_ref());
    let now = core.clock.now_ms();
    let flow = Flow {
        id: new_id(core.clock.as_ref(), core.random.as_ref()),
        vendor_id: vendor_id.to_owned(),
        token_hash: sha256_hex(&token),
        sku,
        order_id: None,
        evidence: "{}".into(),
        created_at: now,
        expires_at: now + core.settings.flow_ttl_minutes * 60_000,
        completed_at: None,
        locale: locale.map(str::to_owned),
        nps_score: None,
        nps_at: None,
    };
    let row = flow.clone();
    core.db.write(move |conn| store::flows::insert(conn, &row)).await?;
    Ok((flow, token))
}

/// Submits a review through its flow. Exactly one review per (vendor, order, product)
/// exists whatever the concurrency: the UNIQUE constraint decides, the loser gets 409.
pub async fn submit(core: &Core, s: Submission, origin: Option<String>) -> Result<Review> {
    let hash = sha256_hex(s.flow_token.trim());
    let now = core.clock.now_ms();
    let email_hmac = s.email.as_ref().map(|e| core.contacts.email(e.as_str()));
    let id = new_id(core.clock.as_ref(), core.random.as_ref());
    let case_id = core.new_id();
    let public_origin = core.own_origin.clone();
    let makers = crate::funnel::incentives::Makers::of(core);
    let (sealer, contacts) = (core.sealer.clone(), core.contacts.clone());
    core.db
        .write(move |conn| {
            let flow = store::flows::by_token_hash(conn, &hash)?.ok_or_else(|| Error::not_found("review flow"))?;
            if flow.expires_at <= now {
                return Err(Error::Conflict("this review flow has expired: start a new review".into()));
            }
            let vendor = store::vendors::get(conn, &flow.vendor_id)?;
            check_origin(origin.as_deref(), &vendor.origin_list(), public_origin.as_ref())?;
            let sku = match (&flow.sku, s.sku) {
                (Some(flow_sku), Some(given)) if flow_sku != given.as_str() => {
                    return Err(Error::Conflict(
                        "sku does not match the product this review flow was opened for".into(),
                    ))
                }
                (Some(flow_sku), _) => flow_sku.clone(),
                (None, given) => given.map(Sku::into_string).unwrap_or_default(),
            };
            let mut evidence = flow.evidence();
            evidence.self_declared = true;
            // An order cancelled or refunded since it was matched no longer backs a review.
            let mut backing_order = None;
            if let Some(p) = evidence.purchase.as_ref().filter(|p| p.method != PurchaseMethod::Receipt) {
                let order = store::orders::get(conn, &vendor.id, &p.order_id).ok();
                match order {
                    Some(o) if !matches!(o.status.as_str(), "cancelled" | "refunded") => backing_order = Some(o),
                    _ => evidence.purchase = None,
                }
            }
            let identity_key = evidence.identity.as_ref().and_then(Identity::key);
            if let Some(key) = &identity_key {
                if store::reviews::identity_has_review(conn, &vendor.id, &sku, key)? {
                    return Err(Error::Conflict(
                        if sku.is_empty() {
                            "you have already reviewed this shop with this identity"
                        } else {
                            "you have already reviewed this product with this identity"
                        }
                        .into(),
                    ));
                }
            }
            let assessment = review_level(&evidence);
            let sites: Vec<String> = vendor
                .origin_list()
                .iter()
                .filter_map(|o| Origin::parse(o).ok())
                .map(|o| o.site_domain().to_owned())
                .collect();
            let staff_emails = store::staff::emails(conn, &vendor.id)?;
            // The author's own e-mail, and the e-mail on the order behind the review (an
            // employee's order, or a staff member's, matched or invited), both count.
            let order_is_insiders = backing_order.as_ref().is_some_and(|o| {
                let plain = crate::funnel::invitations::open_email(&sealer, &vendor.id, o);
                plain.as_deref().is_some_and(|e| is_insider(Some(e), &sites, &staff_emails))
                    || o.email_hmac.as_ref().is_some_and(|h| staff_emails.iter().any(|e| &contacts.email(e) == h))
            });
            let insider = order_is_insiders || is_insider(s.email.as_ref().map(Email::as_str), &sites, &staff_emails);
            let status = moderation::initial_status(assessment.level, insider, vendor.auto_publish_min_level);
            if !store::flows::complete(conn, &flow.id, now)? {
                return Err(Error::Conflict("this review flow has already been used for a review".into()));
            }
            let matched_order = evidence
                .purchase
                .as_ref()
                .filter(|p| p.method == PurchaseMethod::OrderMatch)
                .map(|p| p.order_id.clone());
            let mut review = Review {
                id,
                vendor_id: vendor.id.clone(),
                flow_id: Some(flow.id.clone()),
                order_id: flow.order_id.clone(),
                sku,
                rating: s.rating.get(),
                title: s.title,
                body: s.body,
                pros: s.pros,
                cons: s.cons,
                locale: s.locale.into_string(),
                display_name: s.display_name,
                author_email_hmac: email_hmac,
                author_phone_hmac: match &evidence.identity {
                    Some(crate::domain::maturity::Identity::Phone { phone_hmac }) => Some(phone_hmac.clone()),
                    _ => None,
                },
                evidence: serde_json::to_string(&evidence).map_err(Error::internal)?,
                maturity_level: i32::from(assessment.level),
                checks: serde_json::to_string(&assessment.checks).map_err(Error::internal)?,
                insider,
                incentivised: false,
                status: status.as_str().into(),
                reject_reason: None,
                helpful_count: 0,
                erased: false,
                created_at: now,
                published_at: (status == Status::Published).then_some(now),
                decided_at: None,
                identity_key,
            };
            store::reviews::insert(conn, &review)?;
            // A review of 1 or 2 stars opens a case for the vendor to follow up.
            crate::funnel::resolution::open_for_review(conn, case_id, &review, now)?;
            // Written from the widget by the buyer of a matched order: the shop's thank-you,
            // as an invitation would have offered it (whatever the rating).
            if let Some(order_id) = matched_order {
                review.incentivised =
                    crate::funnel::incentives::offer_for_matched_order(conn, &makers, &review, &order_id)?;
            }
            Ok(review)
        })
        .await
        .inspect(|review| core.public_cache.forget_vendor(&review.vendor_id))
}

/// A review flow as the hosted page shows it.
pub struct FlowView {
    pub vendor_name: String,
    /// The shop's registered origins (the pages may be framed by these only).
    pub origins: Vec<String>,
    pub sku: Option<String>,
    /// The catalogue's name of the flow's product.
    pub product: Option<String>,
    /// The language the flow was opened in (none: the browser's).
    pub locale: Option<String>,
    /// What the review would show now (the author's name counted as given).
    pub assessment: crate::domain::maturity::Assessment,
    pub has_identity: bool,
    pub has_purchase: bool,
    pub has_company: bool,
    /// The state of the receipt sent in this flow (`pending`, `accepted`, `refused`).
    pub receipt: Option<String>,
    /// The social-login providers the shop offers, as (name, label).
    pub providers: Vec<(String, String)>,
    /// The shop asks the recommendation question and it is not answered yet.
    pub ask_nps: bool,
    /// What the shop gives the buyer of a matched order for any honest review (in its words).
    pub incentive: Option<String>,
    /// The shop's referral link, for a promoter (answered 9 or 10) to pass on after the review.
    pub referral_url: Option<String>,
}

/// The flow behind `token` (404 unknown, 409 expired or already used).
pub async fn flow_view(core: &Core, token: &str) -> Result<FlowView> {
    let hash = sha256_hex(token.trim());
    let now = core.clock.now_ms();
    let (vendor, view) = core
        .db
        .run(move |conn| {
            let from = PublicWrite { origin: None, ip: None };
            let (flow, vendor) = flow_step(conn, &hash, now, true, &from, None)?;
            let product = match &flow.sku {
                Some(sku) => store::products::get(conn, &vendor.id, sku)?.map(|p| p.name),
                None => None,
            };
            let receipt = store::receipts::by_flow(conn, &flow.id)?.map(|r| r.state);
            let settings = store::funnel::settings(conn, &vendor.id)?;
            let promoter = flow.nps_score.is_some_and(|s| s >= 9);
            let mut evidence = flow.evidence();
            evidence.self_declared = true;
            let view = FlowView {
                vendor_name: vendor.name.clone(),
                origins: vendor.origin_list(),
                sku: flow.sku.clone(),
                product,
                locale: flow.locale.clone(),
                assessment: crate::domain::maturity::review_level(&evidence),
                has_identity: evidence.identity.is_some(),
                has_purchase: evidence.purchase.is_some(),
                has_company: evidence.company.is_some(),
                receipt,
                providers: Vec::new(),
                ask_nps: settings.nps && flow.nps_score.is_none() && flow.order_id.is_none(),
                referral_url: settings.referral_url.filter(|_| promoter),
                incentive: settings.incentive.map(|i| i.description.trim().to_owned()),
            };
            Ok((vendor, view))
        })
        .await?;
    let providers = core.oauth.offered(vendor.provider_choice());
    Ok(FlowView { providers: providers.into_iter().map(|p| (p.name.clone(), p.label.clone())).collect(), ..view })
}

/// Records the answer to the recommendation question (NPS 0–10) asked on the hosted page
/// of a flow that started on the shop's site. The first answer counts; it is counted in
/// the shop's NPS report. (Nobody can be contacted about a site visitor's answer, so no
/// case is opened; a review of 1 or 2 stars opens one as always.)
pub async fn flow_nps(core: &Core, token: &str, score: u8) -> Result<()> {
    if score > 10 {
        return Err(Error::validation("score", "must be between 0 and 10"));
    }
    let hash = sha256_hex(token.trim());
    let now = core.clock.now_ms();
    core.db
        .write(move |conn| {
            let from = PublicWrite { origin: None, ip: None };
            let (flow, vendor) = flow_step(conn, &hash, now, true, &from, None)?;
            if !store::funnel::settings(conn, &vendor.id)?.nps {
                return Err(Error::Conflict("this shop does not ask the recommendation question".into()));
            }
            store::flows::answer_nps(conn, &flow.id, i32::from(score), now)?;
            Ok(())
        })
        .await
}

/// Writes from a browser must come from one of the vendor's origins (or the service's own).
/// A buyer's step in a review flow (purchase matching, receipts, phone codes): the flow by
/// its token (404), not expired and, when `unused`, not yet used for a review (409), with
/// its vendor, the browser's origin checked against the vendor's (403).
pub fn flow_step(
    conn: &mut crate::db::DbConn,
    token_hash: &str,
    now: i64,
    unused: bool,
    from: &PublicWrite,
    own: Option<&Origin>,
) -> Result<(Flow, Vendor)> {
    let flow = store::flows::by_token_hash(conn, token_hash)?.ok_or_else(|| Error::not_found("review flow"))?;
    if flow.expires_at <= now {
        return Err(Error::Conflict("this review flow has expired: start a new review".into()));
    }
    if unused && flow.completed_at.is_some() {
        return Err(Error::Conflict("this review flow has already been used for a review".into()));
    }
    let vendor = store::vendors::get(conn, &flow.vendor_id)?;
    check_origin(from.origin.as_deref(), &vendor.origin_list(), own)?;
    Ok((flow, vendor))
}

pub fn check_origin(origin: Option<&str>, allowed: &[String], own: Option<&Origin>) -> Result<()> {
    match origin {
        None => Ok(()),
        Some(o) if allowed.iter().any(|a| a == o) || own.is_some_and(|own| own.as_str() == o) => Ok(()),
        Some(o) => Err(Error::Forbidden(format!("origin {o} is not registered for this vendor"))),
    }
}

/// The refusal of a request past a cap that lapses at `lapses_at` (Retry-After: until then).
pub(crate) fn over_cap(now: i64, lapses_at: i64) -> Error {
    let wait = u64::try_from(lapses_at - now).unwrap_or(0);
    Error::RateLimited { retry_after: std::time::Duration::from_millis(wait) }
}

/// Marks one of the vendor's published reviews helpful (a level-0 signal): the browser's
/// origin must be the vendor's (or the service's own), one vote per voter token, and at
/// most [`input::VOTES_PER_IP_PER_REVIEW_PER_DAY`] votes per client address per review
/// per day. Returns the vendor (for CORS) and the new count.
pub async fn vote_helpful(
    core: &Core,
    vendor_id: String,
    review_id: String,
    token: VoterToken,
    from: PublicWrite,
) -> Result<(Vendor, i64)> {
    let now = core.now_ms();
    let own = core.own_origin.clone();
    core.db
        .write(move |conn| {
            let vendor = store::vendors::get(conn, &vendor_id)?;
            check_origin(from.origin.as_deref(), &vendor.origin_list(), own.as_ref())?;
            let review = store::reviews::get_published(conn, &vendor.id, &review_id)?;
            let (cap, lapses_at) = daily_cap("helpful", &review.id, from.ip, now);
            if !store::reviews::take_cap(conn, &cap, input::VOTES_PER_IP_PER_REVIEW_PER_DAY, lapses_at)? {
                return Err(over_cap(now, lapses_at));
            }
            let count = store::reviews::add_vote(conn, &review.id, &token.key(&vendor.id), now)?;
            Ok((vendor, count))
        })
        .await
        .inspect(|(vendor, _)| core.public_cache.forget_vendor(&vendor.id))
}

/// An anonymous star rating from the widget (level 0): same origin rule as other public
/// writes, one per product per voter token, and at most
/// [`input::QUICK_RATINGS_PER_IP_PER_VENDOR_PER_DAY`] per client address per vendor per day.
pub async fn quick_rate(
    core: &Core,
    vendor_id: String,
    sku: Option<Sku>,
    rating: Rating,
    token: VoterToken,
    from: PublicWrite,
) -> Result<Vendor> {
    let now = core.now_ms();
    let own = core.own_origin.clone();
    let id = core.new_id();
    core.db
        .write(move |conn| {
            let vendor = store::vendors::get(conn, &vendor_id)?;
            check_origin(from.origin.as_deref(), &vendor.origin_list(), own.as_ref())?;
            let (cap, lapses_at) = daily_cap("quick_rating", &vendor.id, from.ip, now);
            if !store::reviews::take_cap(conn, &cap, input::QUICK_RATINGS_PER_IP_PER_VENDOR_PER_DAY, lapses_at)? {
                return Err(over_cap(now, lapses_at));
            }
            let sku = sku.map(Sku::into_string).unwrap_or_default();
            let key = token.key(&vendor.id);
            store::reviews::add_quick_rating(conn, &id, &vendor.id, &sku, rating.get(), &key, now)?;
            Ok(vendor)
        })
        .await
        .inspect(|vendor| core.public_cache.forget_vendor(&vendor.id))
}

/// One of the vendor's reviews as staff see it: with the shop's reply and the earlier
/// versions of an updated review (404 for another vendor's).
pub async fn staff_view(
    core: &Core,
    vendor_id: String,
    review_id: String,
) -> Result<(Review, Option<store::reviews::Reply>, Vec<store::cases::Revision>)> {
    core.db
        .run(move |conn| {
            let review = store::reviews::get(conn, &vendor_id, &review_id)?;
            let ids = std::slice::from_ref(&review.id);
            let reply = store::reviews::replies_for(conn, ids)?.into_iter().next();
            let revisions = store::cases::revisions_for(conn, ids)?;
            Ok((review, reply, revisions))
        })
        .await
}

/// Applies a moderation decision; the rating plays no part in it (R7, FTC 16 CFR 465).
pub async fn decide(
    core: &Core,
    vendor_id: String,
    review_id: String,
    actor: String,
    action: Action,
    reason: Option<RejectReason>,
) -> Result<Review> {
    let now = core.clock.now_ms();
    let audit = core.audit.clone();
    let makers = crate::funnel::incentives::Makers::of(core);
    core.db
        .write(move |conn| {
            let review = store::reviews::get(conn, &vendor_id, &review_id)?;
            let current = Status::parse(&review.status)?;
            let next = moderation::decide(current, action, reason)?;
            let updated = store::reviews::set_status(conn, &review, next, reason.map(RejectReason::as_str), now)?;
            // An incentive waiting for this decision is granted or withheld (never by rating).
            crate::funnel::incentives::settle(
                conn,
                &makers,
                &vendor_id,
                &review_id,
                next.as_str(),
                reason.map(RejectReason::as_str),
            )?;
            let details =
                json!({"from": current.as_str(), "to": next.as_str(), "reason": reason.map(RejectReason::as_str)});
            audit.append(
                conn,
                &vendor_id,
                now,
                Entry { actor: &actor, action: "review.decision", target: &review_id, details },
            )?;
            Ok(updated)
        })
        .await
        .inspect(|review| core.public_cache.forget_vendor(&review.vendor_id))
}

pub async fn reply(core: &Core, vendor_id: String, review_id: String, staff_id: String, body: String) -> Result<Reply> {
    let now = core.clock.now_ms();
    let audit = core.audit.clone();
    core.db
        .write(move |conn| {
            store::reviews::get(conn, &vendor_id, &review_id)?;
            let reply = store::reviews::upsert_reply(
                conn,
                &Reply {
                    review_id: review_id.clone(),
                    vendor_id: vendor_id.clone(),
                    staff_id: staff_id.clone(),
                    body,
                    created_at: now,
                    updated_at: now,
                },
            )?;
            let details = json!({"length": reply.body.chars().count()});
            audit.append(
                conn,
                &vendor_id,
                now,
                Entry { actor: &format!("staff:{staff_id}"), action: "review.reply", target: &review_id, details },
            )?;
            Ok(reply)
        })
        .await
        .inspect(|reply| core.public_cache.forget_vendor(&reply.vendor_id))
}

/// A buyer named by e-mail or phone, as the HMAC the database knows them by.
pub fn contact_hmac(core: &Core, email: Option<&str>, phone: Option<&str>) -> Result<String> {
    match (email, phone) {
        (Some(e), None) => Ok(core.contacts.email(Email::parse("email", e)?.as_str())),
        (None, Some(p)) => Ok(core.contacts.phone(&Phone::lookup_form("phone", p)?)),
        _ => Err(Error::validation("email", "give exactly one of email or phone")),
    }
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Erasure {
    pub reviews_deidentified: usize,
    pub orders_cleared: usize,
    pub flows_deleted: usize,
}

/// Erases a buyer: order contacts deleted, reviews de-identified (level recomputed to 0,
/// shown as "erased"), open flows deleted, one audit entry without the contact.
pub async fn erase(core: &Core, vendor_id: String, actor: String, hmac: String) -> Result<Erasure> {
    let now = core.clock.now_ms();
    let vendor_key = vendor_id.clone();
    let audit = core.audit.clone();
    let result = core
        .db
        .write(move |conn| {
            let orders = store::orders::by_contact(conn, &vendor_id, &hmac)?;
            let order_ids: Vec<String> = orders.iter().map(|(o, _)| o.id.clone()).collect();
            let reviews = store::reviews::by_contact(conn, &vendor_id, &hmac, &order_ids)?;
            let erased = Evidence { erased: true, ..Default::default() };
            let assessment = review_level(&erased);
            let evidence_json = serde_json::to_string(&erased).map_err(Error::internal)?;
            let checks_json = serde_json::to_string(&assessment.checks).map_err(Error::internal)?;
            for review in &reviews {
                store::reviews::deidentify(
                    conn,
                    review,
                    &evidence_json,
                    &checks_json,
                    i32::from(assessment.level),
                    now,
                )?;
            }
            let flow_ids: Vec<String> = reviews.iter().filter_map(|r| r.flow_id.clone()).collect();
            store::receipts::delete_for_flows(conn, &vendor_id, &flow_ids)?;
            let orders_cleared = store::orders::clear_contacts(conn, &vendor_id, &order_ids)?;
            // Invitations to the buyer go too (their links stop working).
            store::funnel::delete_for_contact(conn, &vendor_id, &hmac)?;
            // Flows whose evidence names the contact, and flows bound to the buyer's
            // orders whatever contact they carry (M12b).
            let flows_deleted = store::flows::delete_mentioning(conn, &vendor_id, &hmac)?
                + store::flows::delete_for_orders(conn, &vendor_id, &order_ids)?;
            let out = Erasure { reviews_deidentified: reviews.len(), orders_cleared, flows_deleted };
            let details = serde_json::to_value(&out).map_err(Error::internal)?;
            audit.append(
                conn,
                &vendor_id,
                now,
                Entry { actor: &actor, action: "privacy.erased", target: "buyer", details },
            )?;
            Ok(out)
        })
        .await?;
    core.vendor_levels.forget(&vendor_key);
    core.public_cache.forget_vendor(&vendor_key);
    Ok(result)
}

/// Everything stored about one buyer (a data-subject access request): their orders with
/// items, and their reviews with the vendor's replies.
pub struct BuyerData {
    pub orders: Vec<(Order, Vec<OrderItem>)>,
    pub reviews: Vec<(Review, Option<Reply>)>,
    /// Earlier versions of those reviews the buyer replaced.
    pub revisions: Vec<store::cases::Revision>,
}

/// Exports a buyer's data in one read transaction with one audit entry (without the contact).
pub async fn export(core: &Core, vendor_id: String, actor: String, hmac: String) -> Result<BuyerData> {
    let now = core.now_ms();
    let audit = core.audit.clone();
    core.db
        .write(move |conn| {
            let orders = store::orders::by_contact(conn, &vendor_id, &hmac)?;
            let ids: Vec<String> = orders.iter().map(|(o, _)| o.id.clone()).collect();
            let reviews = store::reviews::by_contact(conn, &vendor_id, &hmac, &ids)?;
            let review_ids: Vec<String> = reviews.iter().map(|r| r.id.clone()).collect();
            let revisions = store::cases::revisions_for(conn, &review_ids)?;
            let reviews = store::reviews::with_replies(conn, reviews)?;
            let details = json!({"orders": orders.len(), "reviews": reviews.len()});
            audit.append(
                conn,
                &vendor_id,
                now,
                Entry { actor: &actor, action: "privacy.exported", target: "buyer", details },
            )?;
            Ok(BuyerData { orders, reviews, revisions })
        })
        .await
}

/// The vendor's maturity over the configured window.
pub async fn assess_vendor(core: &Core, vendor_id: &str) -> Result<VendorAssessment> {
    let thresholds = core.settings.maturity.clone();
    let now = core.clock.now_ms();
    let since = now - thresholds.window_days * 86_400_000;
    let vendor_id = vendor_id.to_owned();
    let offered: Vec<String> = core.oauth.offered(None).into_iter().map(|p| p.name.clone()).collect();
    let sms_gateway = !core.settings.sms.gateway.is_empty();
    let facts = core
        .db
        .run(move |conn| {
            let vendor = store::vendors::get(conn, &vendor_id)?;
            let funnel = store::funnel::settings(conn, &vendor_id)?;
            let (published, at_least, negative, answered) = store::reviews::window_facts(conn, &vendor_id, since)?;
            // Reviewed per invited over the window, in percent.
            let (mut invited, mut reviewed) = (0i64, 0i64);
            for (kind, _, _, n) in store::funnel::event_counts(conn, &vendor_id, since, now)? {
                match kind.as_str() {
                    "invited" => invited += n,
                    "reviewed" => reviewed += n,
                    _ => {}
                }
            }
            let targets = funnel.targets.clone().filter(|_| funnel.enabled && funnel.nps);
            Ok(VendorFacts {
                published,
                at_least,
                widget_served: vendor.widget_served_at.is_some(),
                decisions_recorded: store::audit::count_action_since(conn, &vendor_id, "review.decision", since)?,
                negative_published: negative,
                negative_answered: answered,
                orders_imported: store::orders::count(conn, &vendor_id)?,
                // The funnel as the vendor runs it: invitations on, reminders among them, and
                // a trigger that prompted an invitation within the window.
                funnel_prompt_active: funnel.enabled,
                reminders_active: funnel.enabled && !funnel.reminder_delays_days.is_empty(),
                triggers_configured: store::funnel::triggered_since(conn, &vendor_id, since)?,
                // Authors can prove who they are: a social login the shop offers, or phone
                // codes through a configured SMS gateway.
                kyc_enabled: sms_gateway
                    || vendor
                        .provider_choice()
                        .map_or(!offered.is_empty(), |chosen| offered.iter().any(|p| chosen.contains(p))),
                // Targets set while the funnel and the NPS question run.
                conversion_and_nps_tracked_with_targets: targets.is_some(),
                conversion_target_met: targets
                    .is_some_and(|t| invited > 0 && reviewed * 100 >= i64::from(t.conversion_percent) * invited),
            })
        })
        .await?;
    Ok(maturity::vendor_level(&facts, &thresholds))
}

/// The vendor's level for the public summary, from the per-node cache when recent.
pub async fn cached_vendor_level(core: &Core, vendor_id: &str) -> Result<u8> {
    let now = core.now_ms();
    if let Some(level) = core.vendor_levels.get(vendor_id, now) {
        return Ok(level);
    }
    let level = assess_vendor(core, vendor_id).await?.level;
    core.vendor_levels.put(vendor_id, level, now);
    Ok(level)
}
