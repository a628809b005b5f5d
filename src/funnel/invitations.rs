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
use crate::domain::funnel::{invite_at, FunnelSettings, OrderFacts};
use crate::domain::maturity::{Purchase, PurchaseMethod};
use crate::domain::review::{Locale, Rating, Sku};
use crate::error::{Error, Result};
use crate::funnel::queue::{job_row, JobHandler, NewJob};
use crate::reviews::Submission;
use crate::security::jwt::{InvitationClaims, INVITATION_AUDIENCE, ISSUER};
use crate::store;
use crate::store::audit::Entry;
use crate::store::codes::MessageSend;
use crate::store::funnel::Invitation;
use crate::store::jobs::Job;
use crate::store::orders::Order;

pub const INVITE_JOB: &str = "funnel.invite";

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

/// The invitation jobs for imported orders under the vendor's settings (queued in the
/// import's transaction; a second import of an order queues nothing twice).
pub fn jobs_for(core: &Core, vendor_id: &str, settings: &FunnelSettings, orders: &[Order]) -> Vec<Job> {
    let now = core.now_ms();
    orders
        .iter()
        .filter_map(|o| {
            let at = invite_at(settings, facts_of(o), now)?;
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

fn facts_of(o: &Order) -> OrderFacts<'_> {
    OrderFacts {
        status: &o.status,
        purchased_at: o.purchased_at,
        delivered_at: o.delivered_at,
        has_email: o.email_sealed.is_some(),
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
            let order = store::orders::ids_by_ref(conn, &vendor_id, std::slice::from_ref(&order_ref))?
                .pop()
                .map(|(_, id)| store::orders::get(conn, &vendor_id, &id))
                .transpose()?
                .ok_or_else(|| Error::not_found("order"))?;
            if matches!(order.status.as_str(), "cancelled" | "refunded") {
                return Err(Error::Conflict(format!("order {order_ref} is {}: it gets no invitation", order.status)));
            }
            if order.email_sealed.is_none() {
                return Err(Error::validation(
                    "order_id",
                    "has no e-mail address kept to send an invitation to (none imported, or past contact_retention_days)",
                ));
            }
            if let Some(sent) = store::funnel::for_order(conn, &vendor_id, &order.id)? {
                let when = crate::clock::from_ms(sent.sent_at).format("%Y-%m-%d");
                return Err(Error::Conflict(format!("the buyer of order {order_ref} was already invited on {when}")));
            }
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

/// Runs `funnel.invite` jobs.
pub struct InviteHandler;

impl JobHandler for InviteHandler {
    fn run<'a>(&'a self, core: &'a Core, job: &'a Job) -> BoxFuture<'a, std::result::Result<(), String>> {
        Box::pin(async move { send_invitation(core, job).await.map_err(|e| e.to_string()) })
    }
}

pub fn register(core: &Core) {
    core.jobs.register(INVITE_JOB, Arc::new(InviteHandler));
}

/// What an invitation needs once it is decided to send it.
struct Ready {
    invitation: Invitation,
    order: Order,
    email: String,
    vendor_name: String,
    sender_name: String,
}

/// Decides (in one transaction) whether the order is still to be invited — funnel on, order
/// not cancelled, e-mail still kept, no invitation yet, buyer not invited within the
/// cooldown — and records the invitation as `sending`. A job retried after a failed send
/// finds it `sending` and sends the same invitation again.
async fn send_invitation(core: &Core, job: &Job) -> Result<()> {
    let vendor_id = job.vendor_id.clone().ok_or_else(|| Error::internal("an invitation job without a vendor"))?;
    let payload: serde_json::Value = serde_json::from_str(&job.payload).map_err(Error::internal)?;
    let order_ref = payload["order_ref"].as_str().unwrap_or_default().to_owned();
    // Asked for by the shop (`POST /api/v1/invitations`): now, funnel on or off, cooldown or not.
    let manual = payload["manual"].as_bool().unwrap_or(false);
    let now = core.now_ms();
    let (id, sealer) = (core.new_id(), core.sealer.clone());
    let ready = core
        .db
        .write(move |conn| {
            let mut settings = store::funnel::settings(conn, &vendor_id)?;
            if manual {
                settings.enabled = true;
                settings.invite_delay_days = 0;
                settings.cooldown_days = 0;
            }
            let Some(order_id) =
                store::orders::ids_by_ref(conn, &vendor_id, std::slice::from_ref(&order_ref))?.pop().map(|(_, id)| id)
            else {
                return Ok(None);
            };
            let order = store::orders::get(conn, &vendor_id, &order_id)?;
            let mut facts = facts_of(&order);
            if manual {
                facts.delivered_at = Some(facts.delivered_at.unwrap_or(facts.purchased_at));
            }
            if invite_at(&settings, facts, now).is_none() {
                return Ok(None);
            }
            let context = crate::kyp::orders::contact_context(&vendor_id, &order.order_ref);
            let Some(email) = order.email_sealed.as_deref().and_then(|s| sealer.open(&context, s)) else {
                return Ok(None);
            };
            let contact_hmac = order.email_hmac.clone().unwrap_or_default();
            let invitation = match store::funnel::for_order(conn, &vendor_id, &order.id)? {
                Some(existing) if existing.state == "sending" => existing,
                Some(_) => return Ok(None),
                None => {
                    if store::funnel::invited_since(conn, &vendor_id, &contact_hmac, now - settings.cooldown_ms())? {
                        return Ok(None);
                    }
                    let row = Invitation {
                        id,
                        vendor_id: vendor_id.clone(),
                        order_id: order.id.clone(),
                        contact_hmac,
                        channel: "email".into(),
                        state: "sending".into(),
                        sent_at: now,
                        expires_at: now + settings.link_ttl_ms(),
                        opened_at: None,
                    };
                    if !store::funnel::insert(conn, &row)? {
                        // Another run recorded it first: that one sends.
                        return Ok(None);
                    }
                    row
                }
            };
            let vendor = store::vendors::get(conn, &vendor_id)?;
            let sender_name = if settings.sender_name.is_empty() { vendor.name.clone() } else { settings.sender_name };
            Ok(Some(Ready { invitation, order, email, vendor_name: vendor.name, sender_name }))
        })
        .await?;
    let Some(ready) = ready else { return Ok(()) };
    deliver(core, &ready).await?;
    let id = ready.invitation.id.clone();
    core.db.write(move |conn| store::funnel::mark_sent(conn, &id)).await
}

/// The base of links sent to buyers.
fn link_base(core: &Core) -> String {
    match &core.settings.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("http://{}", core.settings.bind),
    }
}

fn link_token(core: &Core, inv: &Invitation) -> Result<String> {
    let claims = InvitationClaims {
        iss: ISSUER.into(),
        aud: INVITATION_AUDIENCE.into(),
        sub: inv.id.clone(),
        vid: inv.vendor_id.clone(),
        oid: inv.order_id.clone(),
        purpose: "review".into(),
        iat: inv.sent_at / 1000,
        exp: inv.expires_at / 1000,
    };
    core.keys.sign_invitation(&claims).map_err(Error::internal)
}

/// The invitation e-mail's text: a rating link per star and the page link.
pub fn message(base: &str, token: &str, vendor: &str, order_ref: &str, name: Option<&str>, until: &str) -> String {
    let page = format!("{base}/r/{token}");
    let stars: Vec<String> = (1..=5).map(|n| format!("{:<5} {n}: {page}?rating={n}", "★".repeat(n))).collect();
    format!(
        "Hello {name},\n\nThank you for your order {order_ref} at {vendor}. How did it go? Choose a rating:\n\n{stars}\n\n\
         Or write your review at {page}\nThe link works until {until}. Nothing is published until you send your review; \
         it will show that your purchase was verified, never your e-mail address.\n",
        name = name.filter(|n| !n.trim().is_empty()).unwrap_or("there"),
        stars = stars.join("\n"),
    )
}

async fn deliver(core: &Core, ready: &Ready) -> Result<()> {
    let token = link_token(core, &ready.invitation)?;
    let until = crate::clock::from_ms(ready.invitation.expires_at).format("%-d %B %Y").to_string();
    let text = message(
        &link_base(core),
        &token,
        &ready.vendor_name,
        &ready.order.order_ref,
        ready.order.customer_name.as_deref(),
        &until,
    );
    let subject = format!("How was your order from {}?", ready.vendor_name);
    let outbox = core.settings.mail.smtp_url.trim().is_empty();
    let row = MessageSend {
        id: core.new_id(),
        vendor_id: ready.invitation.vendor_id.clone(),
        contact_hmac: ready.invitation.contact_hmac.clone(),
        sent_at: core.now_ms(),
        state: if outbox { "outbox" } else { "sent" }.into(),
        error: None,
        outbox_to: outbox.then(|| ready.email.clone()),
        outbox_body: outbox.then(|| format!("Subject: {subject}\n\n{text}")),
        channel: "email".into(),
    };
    if !outbox {
        let transport = crate::notify::mail::transport(&core.settings.mail).map_err(Error::internal)?;
        let transport = transport.ok_or_else(|| Error::internal("no SMTP transport"))?;
        let mut from = crate::notify::mail::sender(&core.settings.mail).map_err(Error::internal)?;
        from.name = Some(ready.sender_name.clone());
        let mail = crate::notify::mail::Mail { to: &ready.email, subject: &subject, text };
        // A failure fails the job: the queue retries it with backoff, then dead-letters it.
        crate::notify::mail::send(&transport, &from, mail).await.map_err(Error::Unavailable)?;
    }
    core.db.write(move |conn| store::codes::insert_send(conn, &row)).await
}

/// An invitation link, checked: the invitation, its vendor's name and the order's items.
pub struct Opened {
    pub invitation: Invitation,
    pub vendor_name: String,
    pub order_ref: String,
    /// (sku, name) of the order's line items.
    pub items: Vec<(String, Option<String>)>,
}

fn bad_link() -> Error {
    Error::not_found("invitation")
}

/// Opens an invitation link (marks it opened); 404 for a link that is not one of ours,
/// 409 for an expired one.
pub async fn open(core: &Core, token: &str) -> Result<Opened> {
    let now = core.now_ms();
    let claims = match core.keys.verify_invitation(token.trim(), now / 1000) {
        Ok(c) => c,
        Err(crate::security::jwt::TokenError::Expired) => {
            return Err(Error::Conflict("this invitation has expired: ask the shop for a new one".into()))
        }
        Err(_) => return Err(bad_link()),
    };
    core.db
        .write(move |conn| {
            let invitation = store::funnel::get(conn, &claims.vid, &claims.sub)?.ok_or_else(bad_link)?;
            if invitation.order_id != claims.oid || claims.purpose != "review" {
                return Err(bad_link());
            }
            store::funnel::advance(conn, &invitation.id, "opened", now)?;
            let vendor = store::vendors::get(conn, &invitation.vendor_id)?;
            // Through the contact: an erased buyer's orders no longer open.
            let records = store::orders::by_contact(conn, &invitation.vendor_id, &invitation.contact_hmac)?;
            let (order, items) = records.into_iter().find(|(o, _)| o.id == invitation.order_id).ok_or_else(bad_link)?;
            Ok(Opened {
                vendor_name: vendor.name,
                order_ref: order.order_ref,
                items: items.into_iter().map(|i| (i.sku, i.name)).collect(),
                invitation,
            })
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

/// Submits the buyer's review through the invitation: a flow bound to the order (level 3,
/// "invited after purchase"), then the usual submission rules (one review per order and
/// product: a second is a 409).
pub async fn review(core: &Core, token: &str, written: Written) -> Result<crate::store::reviews::Review> {
    let opened = open(core, token).await?;
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
            let purchase = Purchase {
                order_id: order.id,
                method: PurchaseMethod::Invitation,
                email_hmac: order.email_hmac,
                phone_hmac: order.phone_hmac,
            };
            store::flows::attach_purchase(conn, &flow, purchase)
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
    let (id, now) = (inv.id.clone(), core.now_ms());
    core.db.write(move |conn| store::funnel::advance(conn, &id, "reviewed", now)).await?;
    Ok(review)
}
