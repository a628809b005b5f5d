//! Funnel settings, invitations, opt-outs, the daily cap's counters and the funnel's events.

use diesel::prelude::*;

use crate::db::schema::{funnel_daily, funnel_events, funnel_settings, funnel_templates, invitations, opt_outs};
use crate::db::DbConn;
use crate::domain::funnel::FunnelSettings;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = invitations)]
pub struct Invitation {
    pub id: String,
    pub vendor_id: String,
    pub order_id: String,
    pub contact_hmac: String,
    /// `email` (SMS invitations arrive later).
    pub channel: String,
    /// `sending` (decided, e-mail not confirmed yet), `sent`, `opened`, `reviewed` or
    /// `bounced` (the mail server refused the address for good).
    pub state: String,
    pub sent_at: i64,
    pub expires_at: i64,
    pub opened_at: Option<i64>,
    /// Reminders decided so far (a failed send is retried with the same number).
    pub reminders_sent: i32,
    /// Why reminders stopped, if they did.
    pub stopped: Option<String>,
    /// The trigger that prompted it (`repeat_purchase`, …); `None` for the order itself.
    pub prompt: Option<String>,
    /// The NPS pre-survey's answer (0–10), if asked and answered.
    pub nps_score: Option<i32>,
    pub nps_at: Option<i64>,
}

/// One thing that happened in the funnel.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = funnel_events)]
pub struct Event {
    pub id: String,
    pub vendor_id: String,
    pub invitation_id: String,
    /// `invited`, `opened`, `reminded`, `reviewed`, `opted_out` or `bounced`.
    pub kind: String,
    pub channel: String,
    pub at: i64,
    /// The invitation's trigger, if any.
    pub prompt: Option<String>,
}

impl Event {
    pub fn of(id: String, inv: &Invitation, kind: &str, at: i64) -> Event {
        Event {
            id,
            vendor_id: inv.vendor_id.clone(),
            invitation_id: inv.id.clone(),
            kind: kind.into(),
            channel: inv.channel.clone(),
            at,
            prompt: inv.prompt.clone(),
        }
    }
}

/// The vendor's settings, or the defaults (funnel off).
pub fn settings(conn: &mut DbConn, vendor_id: &str) -> Result<FunnelSettings> {
    let json: Option<String> =
        funnel_settings::table.find(vendor_id).select(funnel_settings::settings).first(conn).optional()?;
    Ok(json.and_then(|j| serde_json::from_str(&j).ok()).unwrap_or_default())
}

pub fn put_settings(conn: &mut DbConn, vendor_id: &str, settings: &FunnelSettings, now: i64) -> Result<()> {
    let json = serde_json::to_string(settings).map_err(Error::internal)?;
    diesel::delete(funnel_settings::table.find(vendor_id)).execute(conn)?;
    diesel::insert_into(funnel_settings::table)
        .values((
            funnel_settings::vendor_id.eq(vendor_id),
            funnel_settings::settings.eq(json),
            funnel_settings::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records an invitation; `false` if the order already has one (the job ran before).
pub fn insert(conn: &mut DbConn, row: &Invitation) -> Result<bool> {
    match diesel::insert_into(invitations::table).values(row).execute(conn) {
        Ok(_) => Ok(true),
        Err(e) => match Error::from(e) {
            Error::Conflict(_) => Ok(false),
            other => Err(other),
        },
    }
}

pub fn get(conn: &mut DbConn, vendor_id: &str, id: &str) -> Result<Option<Invitation>> {
    Ok(invitations::table
        .filter(invitations::vendor_id.eq(vendor_id).and(invitations::id.eq(id)))
        .select(Invitation::as_select())
        .first(conn)
        .optional()?)
}

/// An invitation by id alone (the id came with a verified tag: a reply address).
pub fn by_id(conn: &mut DbConn, id: &str) -> Result<Option<Invitation>> {
    Ok(invitations::table.find(id).select(Invitation::as_select()).first(conn).optional()?)
}

/// The vendor's invitations, newest first (ids are time-ordered), before the cursor id,
/// with their orders' numbers.
pub fn page(
    conn: &mut DbConn,
    vendor_id: &str,
    state: Option<&str>,
    channel: Option<&str>,
    before: Option<String>,
    limit: i64,
) -> Result<Vec<(Invitation, String)>> {
    use crate::db::schema::orders;
    let mut q =
        invitations::table.filter(invitations::vendor_id.eq(vendor_id)).select(Invitation::as_select()).into_boxed();
    if let Some(state) = state {
        q = q.filter(invitations::state.eq(state.to_owned()));
    }
    if let Some(channel) = channel {
        q = q.filter(invitations::channel.eq(channel.to_owned()));
    }
    if let Some(id) = before {
        q = q.filter(invitations::id.lt(id));
    }
    let rows: Vec<Invitation> = q.order(invitations::id.desc()).limit(limit).load(conn)?;
    let ids: Vec<&str> = rows.iter().map(|i| i.order_id.as_str()).collect();
    let refs: std::collections::HashMap<String, String> = orders::table
        .filter(orders::vendor_id.eq(vendor_id).and(orders::id.eq_any(ids)))
        .select((orders::id, orders::order_ref))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    Ok(rows
        .into_iter()
        .map(|i| {
            let order_ref = refs.get(&i.order_id).cloned().unwrap_or_default();
            (i, order_ref)
        })
        .collect())
}

/// The vendor's own wording for a language (`en`, `ru`), if any.
pub fn template(conn: &mut DbConn, vendor_id: &str, locale: &str) -> Result<Option<crate::funnel::messages::Custom>> {
    let row: Option<(String, String, Option<String>)> = funnel_templates::table
        .find((vendor_id, locale))
        .select((funnel_templates::subject, funnel_templates::text_body, funnel_templates::html_body))
        .first(conn)
        .optional()?;
    Ok(row.map(|(subject, text, html)| crate::funnel::messages::Custom { subject, text, html }))
}

pub fn put_template(
    conn: &mut DbConn,
    vendor_id: &str,
    locale: &str,
    custom: &crate::funnel::messages::Custom,
    now: i64,
) -> Result<()> {
    diesel::delete(funnel_templates::table.find((vendor_id, locale))).execute(conn)?;
    diesel::insert_into(funnel_templates::table)
        .values((
            funnel_templates::vendor_id.eq(vendor_id),
            funnel_templates::locale.eq(locale),
            funnel_templates::subject.eq(&custom.subject),
            funnel_templates::text_body.eq(&custom.text),
            funnel_templates::html_body.eq(&custom.html),
            funnel_templates::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Removes the vendor's wording for a language; true if there was one.
pub fn delete_template(conn: &mut DbConn, vendor_id: &str, locale: &str) -> Result<bool> {
    Ok(diesel::delete(funnel_templates::table.find((vendor_id, locale))).execute(conn)? == 1)
}

/// The latest SMS invitation to a number (any vendor: buyers answer the one number texts
/// come from).
pub fn latest_sms_to(conn: &mut DbConn, contact_hmac: &str) -> Result<Option<Invitation>> {
    Ok(invitations::table
        .filter(invitations::contact_hmac.eq(contact_hmac).and(invitations::channel.eq("sms")))
        .order((invitations::sent_at.desc(), invitations::id.desc()))
        .select(Invitation::as_select())
        .first(conn)
        .optional()?)
}

/// Whether a trigger prompted an invitation of the vendor since `since`.
pub fn triggered_since(conn: &mut DbConn, vendor_id: &str, since: i64) -> Result<bool> {
    let found: Option<String> = funnel_events::table
        .filter(funnel_events::vendor_id.eq(vendor_id).and(funnel_events::kind.eq("invited")))
        .filter(funnel_events::prompt.is_not_null().and(funnel_events::at.gt(since)))
        .select(funnel_events::id)
        .first(conn)
        .optional()?;
    Ok(found.is_some())
}

/// Whether the invitation has an event of this kind (e.g. one auto-answer only).
pub fn has_event(conn: &mut DbConn, invitation_id: &str, kind: &str) -> Result<bool> {
    let found: Option<String> = funnel_events::table
        .filter(funnel_events::invitation_id.eq(invitation_id).and(funnel_events::kind.eq(kind)))
        .select(funnel_events::id)
        .first(conn)
        .optional()?;
    Ok(found.is_some())
}

pub fn for_order(conn: &mut DbConn, vendor_id: &str, order_id: &str) -> Result<Option<Invitation>> {
    Ok(invitations::table
        .filter(invitations::vendor_id.eq(vendor_id).and(invitations::order_id.eq(order_id)))
        .select(Invitation::as_select())
        .first(conn)
        .optional()?)
}

/// Serialises decisions about one contact until the transaction ends (the cooldown holds
/// when two of the buyer's orders are decided at once). SQLite's write transaction already
/// excludes every other writer; PostgreSQL takes a transaction-scoped advisory lock.
pub fn lock_contact(conn: &mut DbConn, vendor_id: &str, contact_hmac: &str) -> Result<()> {
    if let DbConn::Pg(c) = conn {
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind::<diesel::sql_types::Text, _>(format!("invite:{vendor_id}:{contact_hmac}"))
            .execute(c)?;
    }
    Ok(())
}

/// Whether this contact was invited by the vendor since `since` (the cooldown).
pub fn invited_since(conn: &mut DbConn, vendor_id: &str, contact_hmac: &str, since: i64) -> Result<bool> {
    let found: Option<String> = invitations::table
        .filter(invitations::vendor_id.eq(vendor_id).and(invitations::contact_hmac.eq(contact_hmac)))
        .filter(invitations::sent_at.gt(since))
        .select(invitations::id)
        .first(conn)
        .optional()?;
    Ok(found.is_some())
}

/// An invitation whose e-mail went out (`sending` → `sent`).
/// True if it moved (a second acknowledgement of the same send does not).
pub fn mark_sent(conn: &mut DbConn, id: &str) -> Result<bool> {
    let n = diesel::update(invitations::table.find(id).filter(invitations::state.eq("sending")))
        .set(invitations::state.eq("sent"))
        .execute(conn)?;
    Ok(n == 1)
}

/// Moves an invitation forward (`sent` → `opened` → `reviewed`), never back; true if it
/// moved.
pub fn advance(conn: &mut DbConn, id: &str, state: &str, now: i64) -> Result<bool> {
    let target = invitations::table.find(id);
    let n = if state == "opened" {
        diesel::update(target.filter(invitations::state.eq("sent")))
            .set((invitations::state.eq(state), invitations::opened_at.eq(Some(now))))
            .execute(conn)?
    } else {
        diesel::update(target.filter(invitations::state.ne(state))).set(invitations::state.eq(state)).execute(conn)?
    };
    Ok(n == 1)
}

/// The mail server refused the address for good: no retry, no reminder.
pub fn mark_bounced(conn: &mut DbConn, id: &str) -> Result<()> {
    diesel::update(invitations::table.find(id))
        .set((invitations::state.eq("bounced"), invitations::stopped.eq(Some("bounced"))))
        .execute(conn)?;
    Ok(())
}

/// Records why reminders stopped (the first reason is kept).
pub fn stop(conn: &mut DbConn, id: &str, reason: &str) -> Result<()> {
    diesel::update(invitations::table.find(id).filter(invitations::stopped.is_null()))
        .set(invitations::stopped.eq(Some(reason)))
        .execute(conn)?;
    Ok(())
}

/// Decides reminder `n`: true if it is to be sent (now decided, or decided by an earlier
/// attempt whose send failed), false if a later one was already decided.
pub fn begin_reminder(conn: &mut DbConn, id: &str, n: i32) -> Result<bool> {
    let moved = diesel::update(invitations::table.find(id).filter(invitations::reminders_sent.eq(n - 1)))
        .set(invitations::reminders_sent.eq(n))
        .execute(conn)?;
    if moved == 1 {
        return Ok(true);
    }
    let now_at: Option<i32> = invitations::table.find(id).select(invitations::reminders_sent).first(conn).optional()?;
    Ok(now_at == Some(n))
}

pub fn opted_out(conn: &mut DbConn, vendor_id: &str, contact_hmac: &str) -> Result<bool> {
    let found: Option<i64> =
        opt_outs::table.find((vendor_id, contact_hmac)).select(opt_outs::created_at).first(conn).optional()?;
    Ok(found.is_some())
}

/// Records an opt-out; false if the contact had opted out before.
pub fn opt_out(conn: &mut DbConn, vendor_id: &str, contact_hmac: &str, now: i64) -> Result<bool> {
    let row =
        (opt_outs::vendor_id.eq(vendor_id), opt_outs::contact_hmac.eq(contact_hmac), opt_outs::created_at.eq(now));
    Ok(crate::insert_or_ignore!(conn, opt_outs::table, row)? == 1)
}

/// Takes one of the vendor's `cap` sends for local day `day`; false when none is left.
/// One conditional update: concurrent workers never exceed the cap.
pub fn take_daily_slot(conn: &mut DbConn, vendor_id: &str, day: &str, cap: u32) -> Result<bool> {
    let row = (funnel_daily::vendor_id.eq(vendor_id), funnel_daily::day.eq(day), funnel_daily::sent.eq(0));
    crate::insert_or_ignore!(conn, funnel_daily::table, row)?;
    let cap = i32::try_from(cap).unwrap_or(i32::MAX);
    let n = diesel::update(funnel_daily::table.find((vendor_id, day)).filter(funnel_daily::sent.lt(cap)))
        .set(funnel_daily::sent.eq(funnel_daily::sent + 1))
        .execute(conn)?;
    Ok(n == 1)
}

pub fn record(conn: &mut DbConn, event: &Event) -> Result<()> {
    diesel::insert_into(funnel_events::table).values(event).execute(conn)?;
    Ok(())
}

/// Events per (kind, channel, trigger) in `(from, to]`.
#[allow(clippy::type_complexity)]
pub fn event_counts(
    conn: &mut DbConn,
    vendor_id: &str,
    from: i64,
    to: i64,
) -> Result<Vec<(String, String, Option<String>, i64)>> {
    use diesel::dsl::count_star;
    Ok(funnel_events::table
        .filter(funnel_events::vendor_id.eq(vendor_id).and(funnel_events::at.gt(from)).and(funnel_events::at.le(to)))
        .group_by((funnel_events::kind, funnel_events::channel, funnel_events::prompt))
        .select((funnel_events::kind, funnel_events::channel, funnel_events::prompt, count_star()))
        .load(conn)?)
}

/// Deletes the invitations sent to a contact (erasure).
pub fn delete_for_contact(conn: &mut DbConn, vendor_id: &str, contact_hmac: &str) -> Result<usize> {
    Ok(diesel::delete(
        invitations::table.filter(invitations::vendor_id.eq(vendor_id).and(invitations::contact_hmac.eq(contact_hmac))),
    )
    .execute(conn)?)
}
