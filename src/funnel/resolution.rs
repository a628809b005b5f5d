//! Cases and the resolution loop (SPEC §7, §4.6). A review of 1 or 2 stars opens a case when
//! it is written; an NPS detractor opens one when answering. The vendor follows up and
//! resolves the case; for a published review it has answered publicly, it may invite the
//! author once (by e-mail, through the job queue) to update the review. The author may then
//! change rating, title and text on a signed page; the earlier version stays in the review's
//! public history ("updated after the vendor's reply"). The vendor never edits a review.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::json;

use crate::core::Core;
use crate::db::DbConn;
use crate::domain::moderation::{self, Status};
use crate::domain::review::Rating;
use crate::error::{Error, Result};
use crate::funnel::invitations::{bad_link, claims_for, link_base, open_email, send_to_buyer, signed_link};
use crate::funnel::messages::Lang;
use crate::funnel::queue::{job_row, JobHandler, NewJob, Ran};
use crate::store;
use crate::store::audit::Entry;
use crate::store::cases::{Case, OPEN, RESOLVED, REVIEW};
use crate::store::jobs::Job;
use crate::store::reviews::Review;

pub const UPDATE_JOB: &str = "funnel.update_invite";
/// The purpose of the link that lets an author update a review.
const UPDATE: &str = "update";
/// How long the author's update link stays valid.
const UPDATE_TTL_SECS: i64 = 30 * 86_400;
/// Reviews of at most this many stars open a case.
pub const CASE_MAX_RATING: i32 = 2;

pub fn register(core: &Core) {
    core.jobs.register(UPDATE_JOB, Arc::new(UpdateInviteHandler));
}

/// Opens the case of a review of 1 or 2 stars (in the transaction that writes the review).
pub(crate) fn open_for_review(conn: &mut DbConn, id: String, review: &Review, now: i64) -> Result<()> {
    if review.rating > CASE_MAX_RATING {
        return Ok(());
    }
    store::cases::insert(conn, &Case::open(id, &review.vendor_id, REVIEW, (Some(review.id.clone()), None), None, now))
}

/// The vendor's cases (`state` open or resolved; all when `None`), oldest first.
pub async fn list(
    core: &Core,
    vendor_id: &str,
    state: Option<&'static str>,
    after: Option<String>,
    limit: i64,
) -> Result<Vec<Case>> {
    crate::domain::paging::check_limit(limit, 100)?;
    let vendor_id = vendor_id.to_owned();
    core.db.run(move |conn| store::cases::page(conn, &vendor_id, state, after, limit)).await
}

pub fn parse_state(raw: &str) -> Result<&'static str> {
    match raw {
        "open" => Ok(OPEN),
        "resolved" => Ok(RESOLVED),
        _ => Err(Error::BadRequest("state must be open or resolved".into())),
    }
}

/// Resolves a case (moderator or owner, audited) and, when `invite_update`, invites the
/// review's author once to update it: only for a published review of the vendor's that has
/// a public reply and whose author can still be reached (its order's e-mail is kept).
/// Resolving a resolved case only to invite the author is allowed; anything else twice is 409.
pub async fn resolve(core: &Core, vendor_id: &str, actor: &str, case_id: &str, invite_update: bool) -> Result<Case> {
    let (vendor_id, actor, case_id) = (vendor_id.to_owned(), actor.to_owned(), case_id.to_owned());
    let (now, audit, sealer) = (core.now_ms(), core.audit.clone(), core.sealer.clone());
    let job = job_row(
        core,
        NewJob {
            vendor_id: Some(vendor_id.clone()),
            name: UPDATE_JOB.into(),
            payload: json!({"case_id": case_id}),
            idempotency_key: Some(format!("update:{case_id}")),
            priority: 0,
            run_at: None,
            max_attempts: None,
        },
    );
    core.db
        .write(move |conn| {
            let case = store::cases::get(conn, &vendor_id, &case_id)?;
            if invite_update {
                let review_id = case.review_id.clone().filter(|_| case.kind == REVIEW).ok_or_else(|| {
                    Error::validation("invite_update", "only the author of a review can be invited to update it")
                })?;
                if case.update_invited_at.is_some() {
                    return Err(Error::Conflict(
                        "the author was already invited to update this review (once only)".into(),
                    ));
                }
                let review = store::reviews::get(conn, &vendor_id, &review_id)?;
                if review.erased || review.status != Status::Published.as_str() {
                    return Err(Error::Conflict(
                        "only the author of a published review can be invited to update it".into(),
                    ));
                }
                if store::reviews::replies_for(conn, std::slice::from_ref(&review.id))?.is_empty() {
                    return Err(Error::Conflict(
                        "reply publicly first: the author is invited to update the review after the shop's reply"
                            .into(),
                    ));
                }
                let order = match &review.order_id {
                    Some(id) => Some(store::orders::get(conn, &vendor_id, id)?),
                    None => None,
                };
                if order.as_ref().and_then(|o| open_email(&sealer, &vendor_id, o)).is_none() {
                    return Err(Error::Conflict(
                        "the author cannot be reached: the review is not bound to an order whose e-mail is still kept"
                            .into(),
                    ));
                }
                store::cases::mark_update_invited(conn, &case.id, now)?;
                store::jobs::enqueue(conn, &job)?;
            } else if case.state == RESOLVED {
                return Err(Error::Conflict("this case is already resolved".into()));
            }
            store::cases::resolve(conn, &case.id, &actor, now)?;
            let details = json!({"kind": case.kind, "invite_update": invite_update});
            audit.append(
                conn,
                &vendor_id,
                now,
                Entry { actor: &actor, action: "case.resolved", target: &case.id, details },
            )?;
            store::cases::get(conn, &vendor_id, &case.id)
        })
        .await
}

/// Sends the author the link to update their review (`funnel.update_invite` jobs).
pub struct UpdateInviteHandler;

impl JobHandler for UpdateInviteHandler {
    fn run<'a>(&'a self, core: &'a Core, job: &'a Job) -> BoxFuture<'a, std::result::Result<Ran, String>> {
        Box::pin(async move { send_update_invite(core, job).await.map(|()| Ran::Done).map_err(|e| e.cause()) })
    }
}

/// The update invitation's subject and text.
pub fn update_mail(lang: Lang, shop: &str, reply: &str, link: &str) -> (String, String) {
    match lang {
        Lang::En => (
            format!("{shop} answered your review"),
            format!(
                "{shop} has answered your review and considers the matter resolved:\n\n{reply}\n\n\
                 If you wish, you may update your review (rating and text) once, until 30 days from now:\n{link}\n\n\
                 Your earlier review stays visible in its history. You need not do anything."
            ),
        ),
        Lang::Ru => (
            format!("Магазин {shop} ответил на ваш отзыв"),
            format!(
                "Магазин {shop} ответил на ваш отзыв и считает вопрос решённым:\n\n{reply}\n\n\
                 Если хотите, вы можете один раз изменить отзыв (оценку и текст) в течение 30 дней:\n{link}\n\n\
                 Прежний отзыв останется виден в его истории. Делать ничего не обязательно."
            ),
        ),
    }
}

async fn send_update_invite(core: &Core, job: &Job) -> Result<()> {
    let vendor_id = job.vendor_id.clone().ok_or_else(|| Error::internal("an update job without a vendor"))?;
    let payload: serde_json::Value = serde_json::from_str(&job.payload).map_err(Error::internal)?;
    let case_id = payload["case_id"].as_str().unwrap_or_default().to_owned();
    let sealer = core.sealer.clone();
    let found = core
        .db
        .run(move |conn| {
            let case = store::cases::get(conn, &vendor_id, &case_id)?;
            let (Some(review_id), Some(invited_at)) = (case.review_id.clone(), case.update_invited_at) else {
                return Ok(None);
            };
            let review = store::reviews::get(conn, &vendor_id, &review_id)?;
            let Some(order_id) = review.order_id.clone().filter(|_| !review.erased && case.author_updated_at.is_none())
            else {
                return Ok(None);
            };
            let order = store::orders::get(conn, &vendor_id, &order_id)?;
            // Erased or no longer kept since: nothing to send.
            let (Some(email), Some(hmac)) = (open_email(&sealer, &vendor_id, &order), order.email_hmac.clone()) else {
                return Ok(None);
            };
            let reply = store::reviews::replies_for(conn, std::slice::from_ref(&review.id))?;
            let shop = store::vendors::get(conn, &vendor_id)?.name;
            let reply = reply.into_iter().next().map(|r| r.body).unwrap_or_default();
            Ok(Some((case, review, invited_at, email, hmac, order.locale, shop, reply)))
        })
        .await?;
    let Some((case, review, invited_at, email, hmac, locale, shop, reply)) = found else { return Ok(()) };
    let iat = invited_at / 1000;
    let token = signed_link(core, (&case.id, &case.vendor_id, &review.id), UPDATE, iat, iat + UPDATE_TTL_SECS)?;
    let link = format!("{}/r/update/{token}", link_base(core));
    let (subject, text) = update_mail(Lang::of(locale.as_deref()), &shop, &reply, &link);
    let mut mail = crate::notify::mail::Mail::text(&email, &subject, text);
    mail.message_id = Some(format!("<update.{}@{}>", case.id, core.mailer.domain()));
    mail.from_name = Some(shop.clone());
    send_to_buyer(core, &case.vendor_id, &hmac, mail, None).await
}

/// What the author's update page shows.
pub struct UpdatePage {
    pub vendor_name: String,
    pub review: Review,
    pub reply: String,
}

/// The case and review an update link names, checked: 404 for a link that is not one of
/// ours (or an erased review), 409 for an expired link or one already used.
fn linked(conn: &mut DbConn, claims: &crate::security::jwt::InvitationClaims) -> Result<(Case, Review)> {
    let case = store::cases::by_id(conn, &claims.sub)?.ok_or_else(bad_link)?;
    if case.vendor_id != claims.vid || case.review_id.as_deref() != Some(claims.oid.as_str()) {
        return Err(bad_link());
    }
    let review = store::reviews::get(conn, &case.vendor_id, &claims.oid).map_err(|_| bad_link())?;
    if review.erased || case.update_invited_at.is_none() {
        return Err(bad_link());
    }
    if case.author_updated_at.is_some() {
        return Err(Error::Conflict("you have already updated this review".into()));
    }
    Ok((case, review))
}

/// Opens the author's update link.
pub async fn update_page(core: &Core, token: &str) -> Result<UpdatePage> {
    let claims = claims_for(core, token, UPDATE)?;
    core.db
        .run(move |conn| {
            let (_, review) = linked(conn, &claims)?;
            let reply = store::reviews::replies_for(conn, std::slice::from_ref(&review.id))?;
            Ok(UpdatePage {
                vendor_name: store::vendors::get(conn, &review.vendor_id)?.name,
                reply: reply.into_iter().next().map(|r| r.body).unwrap_or_default(),
                review,
            })
        })
        .await
}

/// The author's new version (text already through `domain::text::clean`).
pub struct Revised {
    pub rating: Rating,
    pub title: String,
    pub body: String,
}

/// Applies the author's one update: the earlier version goes to the review's history, the
/// new one is shown "updated after the vendor's reply". It is moderated like any new text:
/// it stays published only where the vendor publishes such reviews at once.
pub async fn update(core: &Core, token: &str, revised: Revised) -> Result<Review> {
    let claims = claims_for(core, token, UPDATE)?;
    let (now, audit) = (core.now_ms(), core.audit.clone());
    let review = core
        .db
        .write(move |conn| {
            let (case, review) = linked(conn, &claims)?;
            if !store::cases::mark_author_updated(conn, &case.id, now)? {
                return Err(Error::Conflict("you have already updated this review".into()));
            }
            let vendor = store::vendors::get(conn, &review.vendor_id)?;
            let published = review.status == Status::Published.as_str();
            if published {
                store::reviews::apply_aggregates(conn, &review, -1)?;
            }
            let rating = revised.rating.get();
            let mut updated = store::cases::revise(conn, &review, rating, &revised.title, &revised.body, now)?;
            if published {
                store::reviews::apply_aggregates(conn, &updated, 1)?;
                let level = u8::try_from(updated.maturity_level).unwrap_or(0);
                let next = moderation::initial_status(level, updated.insider, vendor.auto_publish_min_level);
                if next != Status::Published {
                    updated = store::reviews::set_status(conn, &updated, next, None, now)?;
                }
            }
            let details = json!({"from_rating": review.rating, "to_rating": rating, "status": updated.status});
            let entry = Entry { actor: "buyer", action: "review.updated_by_author", target: &review.id, details };
            audit.append(conn, &review.vendor_id, now, entry)?;
            Ok(updated)
        })
        .await?;
    core.public_cache.forget_vendor(&review.vendor_id);
    Ok(review)
}
