//! Incentives (SPEC §4.4): the thank-you an invitation offers for any honest review. A
//! review written through such an invitation is marked "incentivised" at once (disclosed in
//! the widget, the API and the feed) and holds a pending grant. Moderation settles it —
//! published, or rejected for anything but spam or abuse: granted (a coupon from the pool,
//! owed while the pool is empty); rejected as spam or abuse: withheld — and the buyer gets
//! the thank-you by e-mail through the job queue. The rating never plays a part.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::clock::{Clock, Random};
use crate::core::Core;
use crate::db::DbConn;
use crate::domain::funnel::{grant_outcome, Incentive, IncentiveKind};
use crate::error::{Error, Result};
use crate::funnel::queue::{job_row_with, JobHandler, NewJob, Ran};
use crate::store;
use crate::store::audit::Entry;
use crate::store::incentives::Grant;
use crate::store::jobs::Job;

pub const INCENTIVE_JOB: &str = "funnel.incentive";
/// Codes per upload at most.
pub const MAX_CODES: usize = 10_000;

pub fn register(core: &Core) {
    core.jobs.register(INCENTIVE_JOB, Arc::new(IncentiveHandler));
}

/// Clock and randomness for rows made inside a transaction.
#[derive(Clone)]
pub struct Makers {
    clock: Arc<dyn Clock>,
    random: Arc<dyn Random>,
}

impl Makers {
    pub fn of(core: &Core) -> Makers {
        Makers { clock: core.clock.clone(), random: core.random.clone() }
    }

    fn mail_job(&self, vendor_id: &str, review_id: &str) -> Job {
        job_row_with(
            self.clock.as_ref(),
            self.random.as_ref(),
            NewJob {
                vendor_id: Some(vendor_id.to_owned()),
                name: INCENTIVE_JOB.into(),
                payload: json!({"review_id": review_id}),
                idempotency_key: Some(format!("incentive:{review_id}")),
                priority: 0,
                run_at: None,
                max_attempts: None,
            },
        )
    }

    fn now(&self) -> i64 {
        self.clock.now_ms()
    }
}

/// What a thank-you is for: the review's order, and the invitation it came through (none
/// for a review written from the shop's widget whose order number and contact matched).
pub struct GrantFor<'a> {
    pub invitation_id: Option<&'a str>,
    pub order_id: &'a str,
}

/// Records the pending grant of a review whose purchase earns the `incentive` the shop
/// offers, marks the review incentivised, and settles it at once if the review was
/// published on arrival. In the caller's transaction. False when the review (or, from the
/// widget, its order) already holds one.
pub fn offer(
    conn: &mut DbConn,
    makers: &Makers,
    review: &store::reviews::Review,
    source: GrantFor<'_>,
    incentive: &Incentive,
) -> Result<bool> {
    let grant = Grant {
        review_id: review.id.clone(),
        vendor_id: review.vendor_id.clone(),
        invitation_id: source.invitation_id.map(str::to_owned),
        order_id: Some(source.order_id.to_owned()),
        kind: incentive.kind.as_str().into(),
        description: incentive.description.trim().to_owned(),
        coupon: None,
        state: "pending".into(),
        created_at: makers.now(),
        decided_at: None,
    };
    if !store::incentives::insert_grant(conn, &grant)? {
        return Ok(false);
    }
    store::reviews::set_incentivised(conn, &review.vendor_id, &review.id)?;
    settle(conn, makers, &review.vendor_id, &review.id, &review.status, review.reject_reason.as_deref())?;
    Ok(true)
}

/// The thank-you for a review written from the shop's widget whose order number and
/// contact matched `order_id`: the shop's incentive, once per order (an order whose
/// invitation was already answered with a rewarded review earns no second one). In the
/// review's transaction; whether it was offered.
pub fn offer_for_matched_order(
    conn: &mut DbConn,
    makers: &Makers,
    review: &store::reviews::Review,
    order_id: &str,
) -> Result<bool> {
    let Some(incentive) = store::funnel::settings(conn, &review.vendor_id)?.incentive else { return Ok(false) };
    if store::incentives::order_has_grant(conn, &review.vendor_id, order_id)? {
        return Ok(false);
    }
    offer(conn, makers, review, GrantFor { invitation_id: None, order_id }, &incentive)
}

/// Settles a review's pending grant after a moderation decision (in the decision's
/// transaction): granted (with a coupon, or owed), withheld, or left pending.
pub fn settle(
    conn: &mut DbConn,
    makers: &Makers,
    vendor_id: &str,
    review_id: &str,
    status: &str,
    reject_reason: Option<&str>,
) -> Result<()> {
    let Some(grant) = store::incentives::grant(conn, vendor_id, review_id)? else { return Ok(()) };
    if grant.state != "pending" {
        return Ok(());
    }
    let now = makers.now();
    match grant_outcome(status, reject_reason) {
        Some("withheld") => {
            store::incentives::settle(conn, review_id, "pending", "withheld", None, now)?;
        }
        Some(_) => {
            if grant.kind == IncentiveKind::Coupon.as_str() {
                match store::incentives::take_coupon(conn, vendor_id, review_id)? {
                    Some(code) => {
                        store::incentives::settle(conn, review_id, "pending", "granted", Some(&code), now)?;
                        store::jobs::enqueue(conn, &makers.mail_job(vendor_id, review_id))?;
                    }
                    None => {
                        store::incentives::settle(conn, review_id, "pending", "owed", None, now)?;
                        tracing::warn!(vendor = %vendor_id, "coupon pool empty: an incentive is owed");
                    }
                }
            } else {
                store::incentives::settle(conn, review_id, "pending", "granted", None, now)?;
                store::jobs::enqueue(conn, &makers.mail_job(vendor_id, review_id))?;
            }
        }
        None => {}
    }
    Ok(())
}

/// The coupon pool and the grants, as the console shows them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PoolReport {
    /// Codes not given yet.
    pub free: i64,
    /// Codes given to reviewers.
    pub given: i64,
    /// Grants per state.
    pub pending: i64,
    pub granted: i64,
    /// Coupons owed to reviewers because the pool ran empty (given as codes arrive).
    pub owed: i64,
    pub withheld: i64,
    /// Fewer free codes than the incentive's `low_pool_threshold` (or any owed).
    pub low: bool,
}

/// The result of an upload.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Added {
    /// New codes in the pool.
    pub added: usize,
    /// Codes that were in the pool already (not added twice).
    pub duplicates: usize,
    /// Owed coupons given from this upload.
    pub given_to_owed: usize,
    pub pool: PoolReport,
}

fn report(conn: &mut DbConn, vendor_id: &str) -> Result<PoolReport> {
    let (free, given) = store::incentives::pool(conn, vendor_id)?;
    let counts = store::incentives::grant_counts(conn, vendor_id)?;
    let count = |s: &str| counts.iter().find(|(state, _)| state == s).map(|(_, n)| *n).unwrap_or(0);
    let threshold = store::funnel::settings(conn, vendor_id)?
        .incentive
        .filter(|i| i.kind == IncentiveKind::Coupon)
        .map(|i| i64::from(i.low_pool_threshold))
        .unwrap_or(0);
    let owed = count("owed");
    Ok(PoolReport {
        free,
        given,
        pending: count("pending"),
        granted: count("granted"),
        owed,
        withheld: count("withheld"),
        low: free < threshold || owed > 0,
    })
}

pub async fn pool(core: &Core, vendor_id: &str) -> Result<PoolReport> {
    let vendor_id = vendor_id.to_owned();
    core.db.run(move |conn| report(conn, &vendor_id)).await
}

/// Adds coupon codes to the pool (each 1–64 letters, digits, `-` or `_`; 1–10,000 per call),
/// gives owed coupons first, and audits the count (never the codes).
pub async fn add_coupons(core: &Core, vendor_id: &str, actor: &str, codes: Vec<String>) -> Result<Added> {
    if codes.is_empty() || codes.len() > MAX_CODES {
        return Err(Error::validation("codes", "must hold 1 to 10000 codes"));
    }
    let mut clean = Vec::with_capacity(codes.len());
    for (i, code) in codes.iter().enumerate() {
        let c = code.trim();
        if c.is_empty() || c.len() > 64 || !c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(Error::validation("codes", format!("code {} must be 1 to 64 letters, digits, - or _", i + 1)));
        }
        clean.push(c.to_owned());
    }
    clean.sort();
    clean.dedup();
    let in_request_dupes = codes.len() - clean.len();
    let (vendor_id, actor, makers, audit) =
        (vendor_id.to_owned(), actor.to_owned(), Makers::of(core), core.audit.clone());
    core.db
        .write(move |conn| {
            let now = makers.now();
            let added = store::incentives::add_coupons(conn, &vendor_id, &clean, now)?;
            let mut given = 0;
            for grant in store::incentives::owed(conn, &vendor_id)? {
                let Some(code) = store::incentives::take_coupon(conn, &vendor_id, &grant.review_id)? else { break };
                store::incentives::settle(conn, &grant.review_id, "owed", "granted", Some(&code), now)?;
                store::jobs::enqueue(conn, &makers.mail_job(&vendor_id, &grant.review_id))?;
                given += 1;
            }
            let details = json!({"added": added, "given_to_owed": given});
            audit.append(
                conn,
                &vendor_id,
                now,
                Entry { actor: &actor, action: "coupons.added", target: &vendor_id, details },
            )?;
            Ok(Added {
                added,
                duplicates: clean.len() - added + in_request_dupes,
                given_to_owed: given,
                pool: report(conn, &vendor_id)?,
            })
        })
        .await
}

/// Sends the buyer the thank-you of a granted incentive (`funnel.incentive` jobs).
pub struct IncentiveHandler;

impl JobHandler for IncentiveHandler {
    fn run<'a>(&'a self, core: &'a Core, job: &'a Job) -> BoxFuture<'a, std::result::Result<Ran, String>> {
        Box::pin(async move { send(core, job).await.map(|()| Ran::Done).map_err(|e| e.cause()) })
    }
}

/// The thank-you message's text.
pub fn thank_you(
    lang: crate::funnel::messages::Lang,
    shop: &str,
    description: &str,
    coupon: Option<&str>,
) -> (String, String) {
    use crate::funnel::messages::Lang;
    match lang {
        Lang::En => (
            format!("Your thank-you from {shop}"),
            format!(
                "Thank you for your review of {shop}.\n\nAs promised for any honest review, good or bad: {description}.\n{}",
                coupon.map(|c| format!("\nYour code: {c}\n")).unwrap_or_default()
            ),
        ),
        Lang::Ru => (
            format!("Благодарность от магазина {shop}"),
            format!(
                "Спасибо за ваш отзыв о магазине {shop}.\n\nКак и обещано за любой честный отзыв, хороший или плохой: {description}.\n{}",
                coupon.map(|c| format!("\nВаш код: {c}\n")).unwrap_or_default()
            ),
        ),
    }
}

async fn send(core: &Core, job: &Job) -> Result<()> {
    let vendor_id = job.vendor_id.clone().ok_or_else(|| Error::internal("an incentive job without a vendor"))?;
    let payload: serde_json::Value = serde_json::from_str(&job.payload).map_err(Error::internal)?;
    let review_id = payload["review_id"].as_str().unwrap_or_default().to_owned();
    let sealer = core.sealer.clone();
    let found = core
        .db
        .run(move |conn| {
            let Some(grant) = store::incentives::grant(conn, &vendor_id, &review_id)? else { return Ok(None) };
            let invitation = match &grant.invitation_id {
                Some(id) => match store::funnel::get(conn, &vendor_id, id)? {
                    Some(inv) => Some(inv),
                    None => return Ok(None),
                },
                None => None,
            };
            let Some(order_id) = invitation.as_ref().map(|i| i.order_id.clone()).or_else(|| grant.order_id.clone())
            else {
                return Ok(None);
            };
            let Ok(order) = store::orders::get(conn, &vendor_id, &order_id) else { return Ok(None) };
            let Some(email) = crate::funnel::invitations::open_email(&sealer, &vendor_id, &order) else {
                return Ok(None);
            };
            let shop = store::vendors::get(conn, &vendor_id)?.name;
            Ok(Some((grant, invitation, order, email, shop)))
        })
        .await?;
    // Erased, or the contact no longer kept: nothing to send.
    let Some((grant, invitation, order, email, shop)) = found else { return Ok(()) };
    let lang = crate::funnel::messages::Lang::of(order.locale.as_deref());
    let (subject, text) = thank_you(lang, &shop, &grant.description, grant.coupon.as_deref());
    let mut mail = crate::notify::mail::Mail::text(&email, &subject, text);
    mail.message_id = Some(format!("<incentive.{}@{}>", grant.review_id, core.mailer.domain()));
    match (invitation, order.email_hmac.as_deref()) {
        (Some(inv), _) => crate::funnel::invitations::send_plain(core, &inv, mail, "incentive_granted").await,
        // From the widget: no invitation, so no funnel step to count; the send is recorded.
        (None, Some(contact)) => {
            crate::funnel::invitations::send_to_buyer(core, &grant.vendor_id, contact, mail, None).await
        }
        (None, None) => Ok(()),
    }
}
