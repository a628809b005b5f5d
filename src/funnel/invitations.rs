//! Invitations (SPEC §4.2): every eligible imported order gets one e-mail, at the time the
//! funnel settings say, through the job queue. The e-mail carries five rating links and a
//! link to the hosted page, each a signed, expiring JWT for that one order and purpose
//! (its own audience and `typ`); opening it starts a review flow that already holds the
//! purchase evidence ("Order matched (invited after purchase)", level 3).

use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde_json::json;

use crate::accounts::Actor;
use crate::core::Core;
use crate::domain::contact::Email;
use crate::domain::funnel::{
    after_cap, invite_at, local_day, reminder_at, reminder_stop, send_slot, FunnelSettings, InviteChannel, OrderFacts,
    ReminderFacts, Stop,
};
use crate::domain::maturity::{Purchase, PurchaseMethod};
use crate::domain::review::{Locale, Rating, Sku};
use crate::error::{Error, Result};
use crate::funnel::messages;
use crate::funnel::queue::{job_row, JobHandler, NewJob, Ran};
use crate::reviews::Submission;
use crate::security::jwt::{InvitationClaims, INVITATION_AUDIENCE, ISSUER};
use crate::store;
use crate::store::audit::Entry;
use crate::store::codes::MessageSend;
use crate::store::funnel::Invitation;
use crate::store::jobs::Job;
use crate::store::orders::Order;

pub const INVITE_JOB: &str = "funnel.invite";
pub const REMIND_JOB: &str = "funnel.remind";

pub async fn settings(core: &Core, vendor_id: &str) -> Result<FunnelSettings> {
    let vendor_id = vendor_id.to_owned();
    core.db.run(move |conn| store::funnel::settings(conn, &vendor_id)).await
}

/// Replaces the vendor's funnel settings (owner only, audited).
pub async fn put_settings(core: &Core, actor: &Actor, settings: FunnelSettings) -> Result<FunnelSettings> {
    actor.require_owner()?;
    if let Some((field, detail)) = settings.problem() {
        return Err(Error::validation(field, detail));
    }
    let (who, audit, now) = (actor.clone(), core.audit.clone(), core.now_ms());
    let saved = settings.clone();
    core.db
        .write(move |conn| {
            who.still_owner(conn)?;
            store::funnel::put_settings(conn, &who.vendor_id, &saved, now)?;
            let details = serde_json::to_value(&saved).map_err(Error::internal)?;
            let entry = Entry { actor: &who.label(), action: "funnel.updated", target: &who.vendor_id, details };
            audit.append(conn, &who.vendor_id, now, entry)
        })
        .await?;
    Ok(settings)
}

/// The wording of the invitation e-mails per language: the vendor's own where set, else the
/// shipped templates (`custom` says which).
pub async fn templates(core: &Core, vendor_id: &str) -> Result<Vec<(messages::Lang, bool, messages::Custom)>> {
    let vendor_id = vendor_id.to_owned();
    core.db
        .run(move |conn| {
            let mut out = Vec::new();
            for lang in [messages::Lang::En, messages::Lang::Ru] {
                out.push(match store::funnel::template(conn, &vendor_id, lang.code())? {
                    Some(own) => (lang, true, own),
                    None => (lang, false, messages::shipped(lang)),
                });
            }
            Ok(out)
        })
        .await
}

/// Sets the vendor's wording for a language (owner only, audited): 422 when a template does
/// not parse or render, or a part lacks the review or unsubscribe link. Returns a sample
/// rendering.
pub async fn put_template(
    core: &Core,
    actor: &Actor,
    lang: messages::Lang,
    custom: messages::Custom,
) -> Result<messages::Rendered> {
    actor.require_owner()?;
    let sample = messages::check(&custom, lang).map_err(|(field, detail)| Error::validation(field, detail))?;
    let (who, audit, now) = (actor.clone(), core.audit.clone(), core.now_ms());
    core.db
        .write(move |conn| {
            who.still_owner(conn)?;
            store::funnel::put_template(conn, &who.vendor_id, lang.code(), &custom, now)?;
            let details = json!({"locale": lang.code(), "html": custom.html.is_some()});
            let entry = Entry { actor: &who.label(), action: "funnel.template_set", target: &who.vendor_id, details };
            audit.append(conn, &who.vendor_id, now, entry)
        })
        .await?;
    Ok(sample)
}

/// Goes back to the shipped wording for a language (owner only, audited); 404 if the vendor
/// had none of its own.
pub async fn delete_template(core: &Core, actor: &Actor, lang: messages::Lang) -> Result<()> {
    actor.require_owner()?;
    let (who, audit, now) = (actor.clone(), core.audit.clone(), core.now_ms());
    core.db
        .write(move |conn| {
            who.still_owner(conn)?;
            if !store::funnel::delete_template(conn, &who.vendor_id, lang.code())? {
                return Err(Error::not_found("template of the shop's own"));
            }
            let details = json!({"locale": lang.code()});
            let entry =
                Entry { actor: &who.label(), action: "funnel.template_removed", target: &who.vendor_id, details };
            audit.append(conn, &who.vendor_id, now, entry).map(|_| ())
        })
        .await
}

/// The invitation jobs for imported orders under the vendor's settings (queued in the
/// import's transaction; a second import of an order queues nothing twice).
pub fn jobs_for<'a>(
    core: &Core,
    vendor_id: &str,
    settings: &FunnelSettings,
    orders: impl IntoIterator<Item = &'a Order>,
) -> Vec<Job> {
    let now = core.now_ms();
    orders
        .into_iter()
        .filter_map(|o| {
            let at = invite_at(settings, facts_of(o, &settings.channels), now)?;
            Some(job_row(
                core,
                NewJob {
                    vendor_id: Some(vendor_id.to_owned()),
                    name: INVITE_JOB.into(),
                    payload: json!({"order_ref": o.order_ref}),
                    idempotency_key: Some(format!("invite:{vendor_id}:{}", o.order_ref)),
                    priority: 0,
                    run_at: Some(at),
                    max_attempts: None,
                },
            ))
        })
        .collect()
}

fn facts_of<'a>(o: &'a Order, channels: &[InviteChannel]) -> OrderFacts<'a> {
    OrderFacts {
        status: &o.status,
        purchased_at: o.purchased_at,
        delivered_at: o.delivered_at,
        has_contact: kept_channel(o, channels).is_some(),
    }
}

/// Queues an invitation for one order now, at the shop's request (funnel on or off,
/// delivered or not, cooldown or not): 404 no such order, 409 cancelled/refunded or
/// already invited, 422 no e-mail kept for it. Audited as `invitation.requested`.
pub async fn invite_now(core: &Core, vendor_id: &str, actor: &str, order_ref: &str) -> Result<Job> {
    let job = job_row(
        core,
        NewJob {
            vendor_id: Some(vendor_id.to_owned()),
            name: INVITE_JOB.into(),
            payload: json!({"order_ref": order_ref, "manual": true}),
            idempotency_key: Some(format!("invite-now:{vendor_id}:{order_ref}")),
            priority: 1,
            run_at: None,
            max_attempts: None,
        },
    );
    let (vendor_id, actor, order_ref) = (vendor_id.to_owned(), actor.to_owned(), order_ref.to_owned());
    let (audit, now) = (core.audit.clone(), core.now_ms());
    core.db
        .write(move |conn| {
            let order = order_by_ref(conn, &vendor_id, &order_ref)?;
            let channels = store::funnel::settings(conn, &vendor_id)?.channels;
            invitable(conn, &vendor_id, &order, &channels)?;
            if !store::jobs::enqueue(conn, &job)? {
                return Err(Error::Conflict(format!("an invitation for order {order_ref} is already queued")));
            }
            let details = json!({"order_id": order_ref, "job_id": job.id});
            let entry = Entry { actor: &actor, action: "invitation.requested", target: &order.id, details };
            audit.append(conn, &vendor_id, now, entry)?;
            Ok(job)
        })
        .await
}

/// The vendor's invitations, newest first: `state` (`sending`, `sent`, `opened`,
/// `reviewed`, `bounced`) and `channel` (`email`, `sms`) filter; 400 for other values.
pub async fn list(
    core: &Core,
    vendor_id: &str,
    state: Option<String>,
    channel: Option<String>,
    before: Option<String>,
    limit: i64,
) -> Result<Vec<(Invitation, String)>> {
    crate::domain::paging::check_limit(limit, 100)?;
    if state.as_deref().is_some_and(|s| !matches!(s, "sending" | "sent" | "opened" | "reviewed" | "bounced")) {
        return Err(Error::BadRequest("state must be sending, sent, opened, reviewed or bounced".into()));
    }
    if channel.as_deref().is_some_and(|c| !matches!(c, "email" | "sms")) {
        return Err(Error::BadRequest("channel must be email or sms".into()));
    }
    let vendor_id = vendor_id.to_owned();
    core.db
        .run(move |conn| store::funnel::page(conn, &vendor_id, state.as_deref(), channel.as_deref(), before, limit))
        .await
}

/// An order by its number (404 if the vendor has none).
fn order_by_ref(conn: &mut crate::db::DbConn, vendor_id: &str, order_ref: &str) -> Result<Order> {
    store::orders::ids_by_ref(conn, vendor_id, &[order_ref.to_owned()])?
        .pop()
        .map(|(_, id)| store::orders::get(conn, vendor_id, &id))
        .transpose()?
        .ok_or_else(|| Error::not_found("order"))
}

/// Whether the shop may ask for an invitation for the order now: 409 cancelled, refunded or
/// already invited, 422 no contact kept on the funnel's channels.
fn invitable(conn: &mut crate::db::DbConn, vendor_id: &str, order: &Order, channels: &[InviteChannel]) -> Result<()> {
    let order_ref = &order.order_ref;
    if matches!(order.status.as_str(), "cancelled" | "refunded") {
        return Err(Error::Conflict(format!("order {order_ref} is {}: it gets no invitation", order.status)));
    }
    if kept_channel(order, channels).is_none() {
        let what = match channels {
            [InviteChannel::Email] => "e-mail address",
            [InviteChannel::Sms] => "phone number",
            _ => "e-mail address or phone number",
        };
        return Err(Error::validation(
            "order_id",
            format!("has no {what} kept to send an invitation to (none imported, or past contact_retention_days)"),
        ));
    }
    if let Some(sent) = store::funnel::for_order(conn, vendor_id, &order.id)? {
        let when = crate::clock::from_ms(sent.sent_at).format("%Y-%m-%d");
        return Err(Error::Conflict(format!("the buyer of order {order_ref} was already invited on {when}")));
    }
    Ok(())
}

/// Whom a trigger is about: one order, or a customer (their latest order that can still be
/// invited).
pub enum TriggerTarget {
    Order(String),
    /// The HMAC of the customer's e-mail.
    Customer(String),
}

/// Prompts a review at once at a trigger moment (SPEC §4.2): queues the invitation for the
/// order now, under the vendor's rules (funnel on, cooldown, opt-out, quiet hours, daily
/// cap). 404 no such order (or no order of the customer left to invite about), 409 funnel
/// off, order cancelled or refunded, already invited or queued, buyer opted out or invited
/// within the cooldown; 422 no e-mail kept. Audited as `invitation.triggered`.
pub async fn trigger(
    core: &Core,
    vendor_id: &str,
    actor: &str,
    kind: crate::domain::funnel::Trigger,
    target: TriggerTarget,
) -> Result<(Job, String)> {
    let (vendor_id, actor) = (vendor_id.to_owned(), actor.to_owned());
    let (audit, now, clock, random) = (core.audit.clone(), core.now_ms(), core.clock.clone(), core.random.clone());
    core.db
        .write(move |conn| {
            let settings = store::funnel::settings(conn, &vendor_id)?;
            if !settings.enabled {
                return Err(Error::Conflict(
                    "the funnel is off: turn it on (PUT /api/v1/funnel), or invite one order now (POST /api/v1/invitations)"
                        .into(),
                ));
            }
            let order = match &target {
                TriggerTarget::Order(order_ref) => order_by_ref(conn, &vendor_id, order_ref)?,
                TriggerTarget::Customer(hmac) => {
                    let orders = store::orders::by_contact(conn, &vendor_id, hmac)?;
                    if orders.is_empty() {
                        return Err(Error::not_found("order of this customer"));
                    }
                    let mut candidates = Vec::new();
                    for (order, _) in orders {
                        let open = !matches!(order.status.as_str(), "cancelled" | "refunded")
                            && kept_channel(&order, &settings.channels).is_some()
                            && store::funnel::for_order(conn, &vendor_id, &order.id)?.is_none();
                        if open {
                            candidates.push(order);
                        }
                    }
                    candidates.into_iter().max_by_key(|o| o.purchased_at).ok_or_else(|| {
                        Error::Conflict(
                            "no order of this customer can be invited now: each is cancelled, refunded, without a \
                             kept contact, or already invited"
                                .into(),
                        )
                    })?
                }
            };
            let order_ref = order.order_ref.clone();
            invitable(conn, &vendor_id, &order, &settings.channels)?;
            let contact = kept_channel(&order, &settings.channels).and_then(|c| hmac_on(&order, c)).unwrap_or_default();
            if opted_out_any(conn, &vendor_id, &order)? {
                return Err(Error::Conflict(format!("the buyer of order {order_ref} opted out of review requests")));
            }
            if store::funnel::invited_since(conn, &vendor_id, &contact, now - settings.cooldown_ms())? {
                return Err(Error::Conflict(format!(
                    "the buyer of order {order_ref} was invited within the last {} days (cooldown_days)",
                    settings.cooldown_days
                )));
            }
            let job = crate::funnel::queue::job_row_with(
                clock.as_ref(),
                random.as_ref(),
                NewJob {
                    vendor_id: Some(vendor_id.clone()),
                    name: INVITE_JOB.into(),
                    payload: json!({"order_ref": order_ref, "trigger": kind.as_str()}),
                    idempotency_key: Some(format!("trigger:{vendor_id}:{order_ref}")),
                    priority: 1,
                    run_at: None,
                    max_attempts: None,
                },
            );
            if !store::jobs::enqueue(conn, &job)? {
                return Err(Error::Conflict(format!("an invitation for order {order_ref} is already queued")));
            }
            let details = json!({"order_id": order_ref, "trigger": kind.as_str(), "job_id": job.id});
            let entry = Entry { actor: &actor, action: "invitation.triggered", target: &order.id, details };
            audit.append(conn, &vendor_id, now, entry)?;
            Ok((job, order_ref))
        })
        .await
}

/// Runs `funnel.invite` jobs.
pub struct InviteHandler;

impl JobHandler for InviteHandler {
    fn run<'a>(&'a self, core: &'a Core, job: &'a Job) -> BoxFuture<'a, std::result::Result<Ran, String>> {
        Box::pin(async move { send_invitation(core, job).await.map_err(|e| e.cause()) })
    }
}

/// Runs `funnel.remind` jobs.
pub struct RemindHandler;

impl JobHandler for RemindHandler {
    fn run<'a>(&'a self, core: &'a Core, job: &'a Job) -> BoxFuture<'a, std::result::Result<Ran, String>> {
        Box::pin(async move { send_reminder(core, job).await.map_err(|e| e.cause()) })
    }
}

pub fn register(core: &Core) {
    core.jobs.register(INVITE_JOB, Arc::new(InviteHandler));
    core.jobs.register(REMIND_JOB, Arc::new(RemindHandler));
}

/// What a message needs once it is decided to send it.
struct Ready {
    invitation: Invitation,
    order: Order,
    /// The e-mail address or phone number, by the invitation's channel.
    to: String,
    vendor_name: String,
    sender_name: String,
    settings: FunnelSettings,
    /// 0 for the invitation, else the reminder's number.
    reminder: u32,
    /// The vendor's own wording for the order's language, if any.
    custom: Option<messages::Custom>,
}

/// What the deciding transaction found.
enum Decision {
    Send(Box<Ready>),
    /// Not now: quiet hours or the daily cap.
    Later(i64),
    /// Nothing to send (any more).
    Skip,
}

/// Whether a message may go out now: `Some(at)` = wait (quiet hours first, then the daily
/// cap, whose slot is taken here when there is one).
fn hold(conn: &mut crate::db::DbConn, vendor_id: &str, settings: &FunnelSettings, now: i64) -> Result<Option<i64>> {
    if let Some(at) = send_slot(settings, now) {
        return Ok(Some(at));
    }
    if settings.daily_cap > 0 {
        let day = local_day(now, &settings.zone().unwrap_or(jiff::tz::TimeZone::UTC));
        if !store::funnel::take_daily_slot(conn, vendor_id, &day, settings.daily_cap)? {
            return Ok(Some(after_cap(settings, now)));
        }
    }
    Ok(None)
}

/// The order's e-mail, unsealed, while it is kept.
pub(crate) fn open_email(
    core_sealer: &crate::security::seal::Sealer,
    vendor_id: &str,
    order: &Order,
) -> Option<String> {
    let context = crate::kyp::orders::contact_context(vendor_id, &order.order_ref);
    order.email_sealed.as_deref().and_then(|s| core_sealer.open(&context, s))
}

/// The order's phone number, unsealed, while it is kept.
fn open_phone(sealer: &crate::security::seal::Sealer, vendor_id: &str, order: &Order) -> Option<String> {
    let context = crate::kyp::orders::contact_context(vendor_id, &order.order_ref);
    order.phone_sealed.as_deref().and_then(|s| sealer.open(&context, s))
}

/// The order's contact on `channel` (`email` or `sms`), unsealed, while it is kept.
pub(crate) fn open_contact(
    sealer: &crate::security::seal::Sealer,
    vendor_id: &str,
    order: &Order,
    channel: &str,
) -> Option<String> {
    if channel == InviteChannel::Sms.as_str() {
        open_phone(sealer, vendor_id, order)
    } else {
        open_email(sealer, vendor_id, order)
    }
}

/// The first of `channels` the order has a contact kept for.
fn kept_channel(order: &Order, channels: &[InviteChannel]) -> Option<InviteChannel> {
    channels.iter().copied().find(|c| match c {
        InviteChannel::Email => order.email_sealed.is_some(),
        InviteChannel::Sms => order.phone_sealed.is_some(),
    })
}

/// The HMAC of the order's contact on `channel`.
fn hmac_on(order: &Order, channel: InviteChannel) -> Option<String> {
    match channel {
        InviteChannel::Email => order.email_hmac.clone(),
        InviteChannel::Sms => order.phone_hmac.clone(),
    }
}

/// Whether the buyer opted out under any contact of the order (an unsubscribe by e-mail
/// also stops text messages, and the reverse).
fn opted_out_any(conn: &mut crate::db::DbConn, vendor_id: &str, order: &Order) -> Result<bool> {
    for hmac in [&order.email_hmac, &order.phone_hmac].into_iter().flatten() {
        if store::funnel::opted_out(conn, vendor_id, hmac)? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn event(core: &Core, inv: &Invitation, kind: &str, at: i64) -> store::funnel::Event {
    store::funnel::Event::of(core.new_id(), inv, kind, at)
}

/// Decides (in one transaction) whether the order is still to be invited — funnel on, order
/// not cancelled, e-mail still kept, buyer not opted out, no invitation yet, buyer not
/// invited within the cooldown, outside quiet hours and within the daily cap — and records
/// the invitation as `sending`. A job retried after a failed send finds it `sending` and
/// sends the same invitation again.
async fn send_invitation(core: &Core, job: &Job) -> Result<Ran> {
    let vendor_id = job.vendor_id.clone().ok_or_else(|| Error::internal("an invitation job without a vendor"))?;
    let payload: serde_json::Value = serde_json::from_str(&job.payload).map_err(Error::internal)?;
    let order_ref = payload["order_ref"].as_str().unwrap_or_default().to_owned();
    // Asked for by the shop (`POST /api/v1/invitations`): now, funnel on or off, cooldown,
    // quiet hours and cap or not.
    let manual = payload["manual"].as_bool().unwrap_or(false);
    // Prompted at a trigger moment (`POST /api/v1/triggers`): now, under the vendor's rules.
    let prompt = payload["trigger"].as_str().map(str::to_owned);
    let now = core.now_ms();
    let (id, sealer) = (core.new_id(), core.sealer.clone());
    let decision = core
        .db
        .write(move |conn| {
            let mut settings = store::funnel::settings(conn, &vendor_id)?;
            let saved = settings.clone();
            if manual {
                settings.enabled = true;
                settings.cooldown_days = 0;
                settings.quiet_hours = None;
                settings.daily_cap = 0;
            }
            if manual || prompt.is_some() {
                settings.invite_delay_days = 0;
            }
            let Some(order_id) =
                store::orders::ids_by_ref(conn, &vendor_id, std::slice::from_ref(&order_ref))?.pop().map(|(_, id)| id)
            else {
                return Ok(Decision::Skip);
            };
            let order = store::orders::get(conn, &vendor_id, &order_id)?;
            let mut facts = facts_of(&order, &settings.channels);
            if manual || prompt.is_some() {
                facts.delivered_at = Some(facts.delivered_at.unwrap_or(facts.purchased_at));
            }
            if invite_at(&settings, facts, now).is_none() {
                return Ok(Decision::Skip);
            }
            let Some(channel) = kept_channel(&order, &settings.channels) else { return Ok(Decision::Skip) };
            let Some(mut to) = open_contact(&sealer, &vendor_id, &order, channel.as_str()) else {
                return Ok(Decision::Skip);
            };
            let contact_hmac = hmac_on(&order, channel).unwrap_or_default();
            store::funnel::lock_contact(conn, &vendor_id, &contact_hmac)?;
            if opted_out_any(conn, &vendor_id, &order)? {
                return Ok(Decision::Skip);
            }
            let invitation = match store::funnel::for_order(conn, &vendor_id, &order.id)? {
                Some(existing) if existing.state == "sending" => {
                    if let Some(at) = send_slot(&settings, now) {
                        return Ok(Decision::Later(at));
                    }
                    // A retry goes where the first attempt went.
                    match open_contact(&sealer, &vendor_id, &order, &existing.channel) {
                        Some(same) => to = same,
                        None => return Ok(Decision::Skip),
                    }
                    existing
                }
                Some(_) => return Ok(Decision::Skip),
                None => {
                    if store::funnel::invited_since(conn, &vendor_id, &contact_hmac, now - settings.cooldown_ms())? {
                        return Ok(Decision::Skip);
                    }
                    if let Some(at) = hold(conn, &vendor_id, &settings, now)? {
                        return Ok(Decision::Later(at));
                    }
                    let row = Invitation {
                        id,
                        vendor_id: vendor_id.clone(),
                        order_id: order.id.clone(),
                        contact_hmac,
                        channel: channel.as_str().into(),
                        state: "sending".into(),
                        sent_at: now,
                        expires_at: now + settings.link_ttl_ms(),
                        opened_at: None,
                        reminders_sent: 0,
                        stopped: None,
                        prompt: prompt.clone(),
                        nps_score: None,
                        nps_at: None,
                    };
                    if !store::funnel::insert(conn, &row)? {
                        // Another run recorded it first: that one sends.
                        return Ok(Decision::Skip);
                    }
                    row
                }
            };
            let vendor = store::vendors::get(conn, &vendor_id)?;
            let sender_name =
                if saved.sender_name.is_empty() { vendor.name.clone() } else { saved.sender_name.clone() };
            let custom = store::funnel::template(conn, &vendor_id, messages::Lang::of(order.locale.as_deref()).code())?;
            let ready = Ready {
                invitation,
                order,
                to,
                vendor_name: vendor.name,
                sender_name,
                settings: saved,
                reminder: 0,
                custom,
            };
            Ok(Decision::Send(Box::new(ready)))
        })
        .await?;
    send_decided(core, decision).await
}

/// Sends what the deciding transaction chose (a hard bounce ends the invitation instead),
/// then records it and queues the next reminder in one transaction.
async fn send_decided(core: &Core, decision: Decision) -> Result<Ran> {
    let ready = match decision {
        Decision::Send(ready) => ready,
        Decision::Later(at) => return Ok(Ran::Later(at)),
        Decision::Skip => return Ok(Ran::Done),
    };
    if bounced(core, &ready, deliver(core, &ready).await?).await? {
        return Ok(Ran::Done);
    }
    let inv = ready.invitation.clone();
    let first = ready.reminder == 0;
    let sent = event(core, &inv, if first { "invited" } else { "reminded" }, core.now_ms());
    let next = reminder_job(core, &ready.settings, &inv, ready.reminder + 1);
    core.db
        .write(move |conn| {
            // The invitation counts once, however often a failed send was retried.
            if !first || store::funnel::mark_sent(conn, &inv.id)? {
                store::funnel::record(conn, &sent)?;
            }
            if let Some(job) = next {
                store::jobs::enqueue(conn, &job)?;
            }
            Ok(())
        })
        .await?;
    Ok(Ran::Done)
}

/// The job for reminder `n` of an invitation, if the settings ask for one.
fn reminder_job(core: &Core, settings: &FunnelSettings, inv: &Invitation, n: u32) -> Option<Job> {
    if !settings.enabled {
        return None;
    }
    let at = reminder_at(settings, inv.sent_at, n)?;
    Some(job_row(
        core,
        NewJob {
            vendor_id: Some(inv.vendor_id.clone()),
            name: REMIND_JOB.into(),
            payload: json!({"invitation_id": inv.id, "n": n}),
            idempotency_key: Some(format!("remind:{}:{n}", inv.id)),
            priority: 0,
            run_at: Some(at),
            max_attempts: None,
        },
    ))
}

/// Sends reminder `n` unless something stopped the reminders (recorded on the invitation:
/// a review, an opt-out, a bounce, a cancelled or refunded order, the link's expiry, the
/// funnel turned off), and queues the next one.
async fn send_reminder(core: &Core, job: &Job) -> Result<Ran> {
    let vendor_id = job.vendor_id.clone().ok_or_else(|| Error::internal("a reminder job without a vendor"))?;
    let payload: serde_json::Value = serde_json::from_str(&job.payload).map_err(Error::internal)?;
    let invitation_id = payload["invitation_id"].as_str().unwrap_or_default().to_owned();
    let n = payload["n"].as_u64().and_then(|n| u32::try_from(n).ok()).unwrap_or(0);
    let now = core.now_ms();
    let sealer = core.sealer.clone();
    let decision = core
        .db
        .write(move |conn| {
            // Erased since: nothing to remind.
            let Some(invitation) = store::funnel::get(conn, &vendor_id, &invitation_id)? else {
                return Ok(Decision::Skip);
            };
            let settings = store::funnel::settings(conn, &vendor_id)?;
            let order = store::orders::get(conn, &vendor_id, &invitation.order_id)?;
            // A review of the order written any other way (a match in the widget) counts too.
            let reviewed = store::reviews::exists_for_order(conn, &vendor_id, &order.id)?;
            let facts = ReminderFacts {
                state: if reviewed { "reviewed" } else { &invitation.state },
                opted_out: store::funnel::opted_out(conn, &vendor_id, &invitation.contact_hmac)?,
                order_status: &order.status,
                expires_at: invitation.expires_at,
            };
            let stop = reminder_stop(facts, now).map(Stop::as_str).or_else(|| {
                if !settings.enabled {
                    Some("funnel_off")
                } else if reminder_at(&settings, invitation.sent_at, n).is_none() {
                    Some("settings_changed")
                } else {
                    None
                }
            });
            let to = open_contact(&sealer, &vendor_id, &order, &invitation.channel);
            let stop = stop.or(to.is_none().then_some("contact_purged"));
            if let Some(reason) = stop {
                store::funnel::stop(conn, &invitation.id, reason)?;
                return Ok(Decision::Skip);
            }
            if i64::from(invitation.reminders_sent) < i64::from(n) {
                if let Some(at) = hold(conn, &vendor_id, &settings, now)? {
                    return Ok(Decision::Later(at));
                }
            } else if let Some(at) = send_slot(&settings, now) {
                return Ok(Decision::Later(at));
            }
            if !store::funnel::begin_reminder(conn, &invitation.id, i32::try_from(n).unwrap_or(i32::MAX))? {
                return Ok(Decision::Skip);
            }
            let vendor = store::vendors::get(conn, &vendor_id)?;
            let sender_name =
                if settings.sender_name.is_empty() { vendor.name.clone() } else { settings.sender_name.clone() };
            let to = to.unwrap_or_default();
            let custom = store::funnel::template(conn, &vendor_id, messages::Lang::of(order.locale.as_deref()).code())?;
            Ok(Decision::Send(Box::new(Ready {
                custom,
                invitation,
                order,
                to,
                vendor_name: vendor.name,
                sender_name,
                settings,
                reminder: n,
            })))
        })
        .await?;
    send_decided(core, decision).await
}

/// A hard bounce (the server refused the address for good) ends the invitation: recorded,
/// never retried, no reminders. True if it bounced.
async fn bounced(core: &Core, ready: &Ready, sent: Option<String>) -> Result<bool> {
    let Some(error) = sent else { return Ok(false) };
    tracing::warn!(invitation = %ready.invitation.id, vendor = %ready.invitation.vendor_id, %error, "invitation bounced");
    let bounce = event(core, &ready.invitation, "bounced", core.now_ms());
    let id = ready.invitation.id.clone();
    core.db
        .write(move |conn| {
            store::funnel::mark_bounced(conn, &id)?;
            store::funnel::record(conn, &bounce)
        })
        .await?;
    Ok(true)
}

/// Sends a plain message about an invitation to the buyer (or files it in the development
/// outbox), then records the send and the funnel event `kind`. A send failure is an error
/// (a job retries it).
pub(crate) async fn send_plain(
    core: &Core,
    inv: &Invitation,
    mail: crate::notify::mail::Mail<'_>,
    kind: &str,
) -> Result<()> {
    let event = event(core, inv, kind, core.now_ms());
    send_to_buyer(core, &inv.vendor_id, &inv.contact_hmac, mail, Some(event)).await
}

/// Sends a message to a buyer known by `contact_hmac` (or files it in the development
/// outbox), then records the send, and `event` if given, in one transaction.
pub(crate) async fn send_to_buyer(
    core: &Core,
    vendor_id: &str,
    contact_hmac: &str,
    mail: crate::notify::mail::Mail<'_>,
    event: Option<store::funnel::Event>,
) -> Result<()> {
    let outbox = core.mailer.is_outbox();
    let (to, body) = (mail.to.to_owned(), format!("Subject: {}\n\n{}", mail.subject, mail.text));
    if !outbox {
        core.mailer.send(mail).await.map_err(|e| Error::Unavailable(e.message))?;
    }
    let row = sent_row(core, (vendor_id, contact_hmac), "email", outbox.then_some((to, body)));
    core.db
        .write(move |conn| {
            store::codes::insert_send(conn, &row)?;
            event.map_or(Ok(()), |e| store::funnel::record(conn, &e))
        })
        .await
}

/// The record of a message sent on `channel` to a buyer — or, with `outbox` = (to, body),
/// filed in the development outbox instead.
fn sent_row(
    core: &Core,
    (vendor_id, contact_hmac): (&str, &str),
    channel: &str,
    outbox: Option<(String, String)>,
) -> MessageSend {
    let filed = outbox.is_some();
    let (to, body) = outbox.unzip();
    MessageSend {
        id: core.new_id(),
        vendor_id: vendor_id.to_owned(),
        contact_hmac: contact_hmac.to_owned(),
        sent_at: core.now_ms(),
        state: if filed { "outbox" } else { "sent" }.into(),
        error: None,
        outbox_to: to,
        outbox_body: body,
        channel: channel.into(),
    }
}

/// The base of links sent to buyers.
pub(crate) fn link_base(core: &Core) -> String {
    match &core.settings.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("http://{}", core.settings.bind),
    }
}

/// Unsubscribe links keep working long after the review link expired.
const UNSUBSCRIBE_TTL_SECS: i64 = 3 * 365 * 86_400;

pub(crate) fn link_token(core: &Core, inv: &Invitation, purpose: &str) -> Result<String> {
    let exp = if purpose == UNSUBSCRIBE { inv.sent_at / 1000 + UNSUBSCRIBE_TTL_SECS } else { inv.expires_at / 1000 };
    signed_link(core, (&inv.id, &inv.vendor_id, &inv.order_id), purpose, inv.sent_at / 1000, exp)
}

/// A signed link to a buyer for one purpose: `subject` = (the thing's id, its vendor, the
/// id it is bound to), valid from `iat` until `exp` (seconds).
pub(crate) fn signed_link(
    core: &Core,
    (sub, vid, oid): (&str, &str, &str),
    purpose: &str,
    iat: i64,
    exp: i64,
) -> Result<String> {
    let claims = InvitationClaims {
        iss: ISSUER.into(),
        aud: INVITATION_AUDIENCE.into(),
        sub: sub.into(),
        vid: vid.into(),
        oid: oid.into(),
        purpose: purpose.into(),
        iat,
        exp,
    };
    core.keys.sign_invitation(&claims).map_err(Error::internal)
}

pub(crate) const REVIEW: &str = "review";
const UNSUBSCRIBE: &str = "unsubscribe";

/// Sends (or, without SMTP, files in the outbox) the invitation or reminder. `Ok(Some(why))`
/// is a hard bounce; a transient failure is an error (the queue retries it).
async fn deliver(core: &Core, ready: &Ready) -> Result<Option<String>> {
    if ready.invitation.channel == InviteChannel::Sms.as_str() {
        return deliver_sms(core, ready).await;
    }
    let base = link_base(core);
    let page = format!("{base}/r/{}", link_token(core, &ready.invitation, REVIEW)?);
    let unsubscribe = format!("{base}/u/{}", link_token(core, &ready.invitation, UNSUBSCRIBE)?);
    let rendered = messages::invitation(
        &messages::Invitation {
            lang: messages::Lang::of(ready.order.locale.as_deref()),
            reminder: ready.reminder,
            shop: &ready.vendor_name,
            order: &ready.order.order_ref,
            name: ready.order.customer_name.as_deref(),
            page: &page,
            until_ms: ready.invitation.expires_at,
            unsubscribe: &unsubscribe,
            incentive: ready.settings.incentive.as_ref().map(|i| i.description.trim()),
        },
        ready.custom.as_ref(),
    )
    .map_err(Error::internal)?;
    let outbox = core.mailer.is_outbox();
    let mut row = MessageSend {
        id: core.new_id(),
        vendor_id: ready.invitation.vendor_id.clone(),
        contact_hmac: ready.invitation.contact_hmac.clone(),
        sent_at: core.now_ms(),
        state: if outbox { "outbox" } else { "sent" }.into(),
        error: None,
        outbox_to: outbox.then(|| ready.to.clone()),
        outbox_body: outbox.then(|| format!("Subject: {}\n\n{}", rendered.subject, rendered.text)),
        channel: "email".into(),
    };
    let mut bounce = None;
    if !outbox {
        let mail = crate::notify::mail::Mail {
            to: &ready.to,
            subject: &rendered.subject,
            text: rendered.text,
            html: rendered.html,
            from_name: Some(ready.sender_name.clone()),
            message_id: Some(format!("<{}.{}@{}>", ready.invitation.id, ready.reminder, core.mailer.domain())),
            headers: [
                ("List-Unsubscribe", Some(format!("<{unsubscribe}>"))),
                ("List-Unsubscribe-Post", Some("List-Unsubscribe=One-Click".into())),
                ("Reply-To", crate::funnel::replies::reply_address(core, &ready.invitation.id)),
            ]
            .into_iter()
            .filter_map(|(name, value)| Some((name, value?)))
            .collect(),
            envelope_from: crate::funnel::replies::bounce_address(core, &ready.invitation.id),
        };
        match core.mailer.send(mail).await {
            Ok(()) => {}
            Err(e) if e.permanent => {
                (row.state, row.error) = ("bounced".into(), Some(e.message.clone()));
                bounce = Some(e.message);
            }
            // A failure fails the job: the queue retries it with backoff, then dead-letters it.
            Err(e) => return Err(Error::Unavailable(e.message)),
        }
    }
    core.db.write(move |conn| store::codes::insert_send(conn, &row)).await?;
    Ok(bounce)
}

/// The short link a text message carries: `{base}/i/{invitation id}.{tag}` (the tag a keyed
/// HMAC of the id), which redirects to the hosted page.
pub(crate) fn short_link(core: &Core, inv: &Invitation) -> String {
    format!("{}/i/{}.{}", link_base(core), inv.id, core.contacts.short_link_tag(&inv.id))
}

/// Sends (or, without a gateway, files in the outbox) the invitation or reminder by SMS. A
/// failure is an error (the queue retries it).
async fn deliver_sms(core: &Core, ready: &Ready) -> Result<Option<String>> {
    let text = messages::sms_invitation(
        messages::Lang::of(ready.order.locale.as_deref()),
        ready.reminder,
        &ready.sender_name,
        &ready.order.order_ref,
        &short_link(core, &ready.invitation),
    );
    send_sms(core, &ready.invitation.vendor_id, &ready.invitation.contact_hmac, &ready.to, &text).await?;
    Ok(None)
}

/// Sends one text message to a buyer through the configured gateway (or files it in the
/// development outbox) and records the send.
pub(crate) async fn send_sms(core: &Core, vendor_id: &str, contact_hmac: &str, to: &str, text: &str) -> Result<()> {
    let outbox = core.settings.sms.gateway.is_empty();
    if !outbox {
        match crate::notify::sms::request_for(&core.settings.sms, to, text) {
            Ok(Some(req)) => crate::notify::sms::send(&core.http, &req).await.map_err(Error::Unavailable)?,
            Ok(None) => {}
            Err(e) => return Err(Error::Unavailable(e)),
        }
    }
    let row = sent_row(core, (vendor_id, contact_hmac), "sms", outbox.then(|| (to.to_owned(), text.to_owned())));
    core.db.write(move |conn| store::codes::insert_send(conn, &row)).await
}

/// Where a text message's short link leads: the hosted page of its invitation (404 for a
/// link that is not one of ours).
pub async fn short_target(core: &Core, short: &str) -> Result<String> {
    let (id, tag) = short.trim().split_once('.').ok_or_else(bad_link)?;
    if !crate::security::hmac::same(&core.contacts.short_link_tag(id), tag) {
        return Err(bad_link());
    }
    let id = id.to_owned();
    let inv = core.db.run(move |conn| store::funnel::by_id(conn, &id)).await?.ok_or_else(bad_link)?;
    Ok(format!("/r/{}", link_token(core, &inv, REVIEW)?))
}

/// An invitation link, checked: the invitation, its vendor's name and the order's items.
pub struct Opened {
    pub invitation: Invitation,
    pub vendor_name: String,
    /// The shop's registered origins (the pages may be framed by these only).
    pub origins: Vec<String>,
    pub order_ref: String,
    /// (sku, name) of the order's line items.
    pub items: Vec<(String, Option<String>)>,
    pub customer_name: Option<String>,
    pub locale: Option<String>,
    /// The thank-you offered for any honest review.
    pub incentive: Option<crate::domain::funnel::Incentive>,
    /// The NPS question is still to be asked (the vendor asks it; not answered yet).
    pub ask_nps: bool,
    /// The vendor's referral link, offered to promoters after their review.
    pub referral_url: Option<String>,
}

pub(crate) fn bad_link() -> Error {
    Error::not_found("invitation")
}

/// Checks a link's token for `purpose`: the claims, 404 for a link that is not one of ours,
/// 409 for an expired one.
pub(crate) fn claims_for(core: &Core, token: &str, purpose: &str) -> Result<InvitationClaims> {
    match core.keys.verify_invitation(token.trim(), core.now_ms() / 1000) {
        Ok(c) if c.purpose == purpose => Ok(c),
        Ok(_) => Err(bad_link()),
        Err(crate::security::jwt::TokenError::Expired) => {
            Err(Error::Conflict("this invitation has expired: ask the shop for a new one".into()))
        }
        Err(_) => Err(bad_link()),
    }
}

/// Opens an invitation link (marks it opened); 404 for a link that is not one of ours,
/// 409 for an expired one.
pub async fn open(core: &Core, token: &str) -> Result<Opened> {
    let now = core.now_ms();
    let claims = claims_for(core, token, REVIEW)?;
    let opened_event = core.new_id();
    core.db
        .write(move |conn| {
            let invitation = store::funnel::get(conn, &claims.vid, &claims.sub)?.ok_or_else(bad_link)?;
            if invitation.order_id != claims.oid {
                return Err(bad_link());
            }
            opened(conn, invitation, opened_event, now)
        })
        .await
}

/// The invitation as its page shows it (its order still reachable through the buyer's
/// contact: an erased buyer's orders no longer open), marked opened.
pub(crate) fn opened(
    conn: &mut crate::db::DbConn,
    invitation: Invitation,
    event_id: String,
    now: i64,
) -> Result<Opened> {
    let vendor = store::vendors::get(conn, &invitation.vendor_id)?;
    let records = store::orders::by_contact(conn, &invitation.vendor_id, &invitation.contact_hmac)?;
    let (order, items) = records.into_iter().find(|(o, _)| o.id == invitation.order_id).ok_or_else(bad_link)?;
    if store::funnel::advance(conn, &invitation.id, "opened", now)? {
        let e = store::funnel::Event::of(event_id, &invitation, "opened", now);
        store::funnel::record(conn, &e)?;
    }
    let settings = store::funnel::settings(conn, &invitation.vendor_id)?;
    // An item the shop sent without a name is shown by the catalogue's name, if any.
    let items = items
        .into_iter()
        .map(|i| {
            let name = match i.name {
                Some(name) => Some(name),
                None => store::products::get(conn, &invitation.vendor_id, &i.sku)?.map(|p| p.name),
            };
            Ok((i.sku, name))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Opened {
        origins: vendor.origin_list(),
        vendor_name: vendor.name,
        order_ref: order.order_ref,
        customer_name: order.customer_name,
        locale: order.locale,
        items,
        incentive: settings.incentive,
        ask_nps: settings.nps && invitation.nps_score.is_none(),
        referral_url: settings.referral_url,
        invitation,
    })
}

/// What an unsubscribe link names.
pub struct OptOut {
    pub vendor_name: String,
    /// The buyer had opted out before.
    pub already: bool,
    /// The order's language (`en`, `ru-RU`, …), which the page speaks.
    pub locale: Option<String>,
}

/// The language of the order an invitation is for (none once the order is gone).
fn order_locale(conn: &mut crate::db::DbConn, invitation: &Invitation) -> Option<String> {
    store::orders::get(conn, &invitation.vendor_id, &invitation.order_id).ok().and_then(|o| o.locale)
}

/// Reads an unsubscribe link (nothing changes: link checkers open links too).
pub async fn opt_out_page(core: &Core, token: &str) -> Result<OptOut> {
    let claims = claims_for(core, token, UNSUBSCRIBE)?;
    core.db
        .run(move |conn| {
            let invitation = store::funnel::get(conn, &claims.vid, &claims.sub)?.ok_or_else(bad_link)?;
            let already = store::funnel::opted_out(conn, &invitation.vendor_id, &invitation.contact_hmac)?;
            let locale = order_locale(conn, &invitation);
            Ok(OptOut { vendor_name: store::vendors::get(conn, &invitation.vendor_id)?.name, already, locale })
        })
        .await
}

/// Opts the invited buyer out of the vendor's invitations and reminders (the page's button,
/// or a mail client's RFC 8058 one-click POST); doing it twice changes nothing.
pub async fn opt_out(core: &Core, token: &str) -> Result<OptOut> {
    let claims = claims_for(core, token, UNSUBSCRIBE)?;
    let (now, event_id) = (core.now_ms(), core.new_id());
    core.db
        .write(move |conn| {
            let invitation = store::funnel::get(conn, &claims.vid, &claims.sub)?.ok_or_else(bad_link)?;
            let fresh = store::funnel::opt_out(conn, &invitation.vendor_id, &invitation.contact_hmac, now)?;
            if fresh {
                store::funnel::stop(conn, &invitation.id, Stop::OptedOut.as_str())?;
                let e = store::funnel::Event::of(event_id, &invitation, "opted_out", now);
                store::funnel::record(conn, &e)?;
            }
            let locale = order_locale(conn, &invitation);
            Ok(OptOut { vendor_name: store::vendors::get(conn, &invitation.vendor_id)?.name, already: !fresh, locale })
        })
        .await
}

/// What the buyer wrote on the hosted page.
pub struct Written {
    pub rating: Rating,
    pub sku: Option<Sku>,
    pub title: String,
    pub body: String,
    pub display_name: String,
    pub locale: Locale,
}

/// A review written on the hosted page, with what the thank-you page offers.
pub struct Reviewed {
    pub review: crate::store::reviews::Review,
    pub incentive: Option<crate::domain::funnel::Incentive>,
    /// The vendor's referral link, for a promoter (NPS 9–10).
    pub referral_url: Option<String>,
}

/// Submits the buyer's review through the invitation: a flow bound to the order (level 3,
/// "invited after purchase"), then the usual submission rules (one review per order and
/// product: a second is a 409).
pub async fn review(core: &Core, token: &str, written: Written, phone_check: Option<&str>) -> Result<Reviewed> {
    let opened = open(core, token).await?;
    // The phone step's identity (a code to the order's phone), when the buyer took it.
    let identity = match phone_check {
        Some(flow_token) => crate::funnel::phone_step::identity_flow(core, &opened, flow_token)
            .await?
            .evidence()
            .identity
            .map(Some)
            .ok_or_else(|| {
                Error::Conflict(
                    "the phone code was not confirmed: enter the code, or send the review without it".into(),
                )
            })?,
        None => None,
    };
    let (review, incentive) = review_for(core, &opened, written, PurchaseMethod::Invitation, identity).await?;
    let promoter = opened
        .invitation
        .nps_score
        .and_then(|s| u8::try_from(s).ok())
        .is_some_and(|s| crate::domain::funnel::NpsGroup::of(s) == crate::domain::funnel::NpsGroup::Promoter);
    Ok(Reviewed { review, incentive, referral_url: opened.referral_url.filter(|_| promoter) })
}

/// A review bound to an opened invitation's order, with the evidence `method` names (the
/// link, or a reply from the invited address); the invitation becomes `reviewed` and the
/// offered incentive is recorded.
pub(crate) async fn review_for(
    core: &Core,
    opened: &Opened,
    written: Written,
    method: PurchaseMethod,
    identity: Option<crate::domain::maturity::Identity>,
) -> Result<(crate::store::reviews::Review, Option<crate::domain::funnel::Incentive>)> {
    let sku = written.sku.map(Sku::into_string);
    if let Some(s) = &sku {
        if !opened.items.iter().any(|(item, _)| item == s) {
            return Err(Error::validation("sku", "is not a product of this order"));
        }
    }
    let inv = opened.invitation.clone();
    let (flow, flow_token) = crate::reviews::open_flow(core, &inv.vendor_id, sku.clone()).await?;
    let (vendor_id, order_id) = (inv.vendor_id.clone(), inv.order_id.clone());
    core.db
        .write(move |conn| {
            let order = store::orders::get(conn, &vendor_id, &order_id)?;
            let purchase =
                Purchase { order_id: order.id, method, email_hmac: order.email_hmac, phone_hmac: order.phone_hmac };
            store::flows::attach_purchase(conn, &flow, purchase)?;
            if let Some(identity) = identity {
                let flow = store::flows::get(conn, &flow.id)?.ok_or_else(|| Error::not_found("review flow"))?;
                store::flows::attach_identity(conn, &flow, identity)?;
            }
            Ok(())
        })
        .await?;
    let submission = Submission {
        flow_token,
        rating: written.rating,
        title: written.title,
        body: written.body,
        pros: None,
        cons: None,
        locale: written.locale,
        sku: None,
        display_name: written.display_name,
        email: None::<Email>,
    };
    let review = crate::reviews::submit(core, submission, None).await?;
    let reviewed = event(core, &inv, "reviewed", core.now_ms());
    let (makers, written, order_id) =
        (crate::funnel::incentives::Makers::of(core), review.clone(), inv.order_id.clone());
    let incentive = core
        .db
        .write(move |conn| {
            if store::funnel::advance(conn, &reviewed.invitation_id, "reviewed", reviewed.at)? {
                store::funnel::record(conn, &reviewed)?;
            }
            // The thank-you the invitation offered, for any review whatever its rating.
            let incentive = store::funnel::settings(conn, &written.vendor_id)?.incentive;
            if let Some(offered) = &incentive {
                let source = crate::funnel::incentives::GrantFor {
                    invitation_id: Some(&reviewed.invitation_id),
                    order_id: &order_id,
                };
                crate::funnel::incentives::offer(conn, &makers, &written, source, offered)?;
            }
            Ok(incentive)
        })
        .await?;
    core.public_cache.forget_vendor(&review.vendor_id);
    let incentivised = incentive.is_some();
    Ok((crate::store::reviews::Review { incentivised, ..review }, incentive))
}
