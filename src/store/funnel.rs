//! Funnel settings and invitations.

use diesel::prelude::*;

use crate::db::schema::{funnel_settings, invitations};
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
    /// `sending` (decided, e-mail not confirmed yet), `sent`, `opened` or `reviewed`.
    pub state: String,
    pub sent_at: i64,
    pub expires_at: i64,
    pub opened_at: Option<i64>,
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

pub fn for_order(conn: &mut DbConn, vendor_id: &str, order_id: &str) -> Result<Option<Invitation>> {
    Ok(invitations::table
        .filter(invitations::vendor_id.eq(vendor_id).and(invitations::order_id.eq(order_id)))
        .select(Invitation::as_select())
        .first(conn)
        .optional()?)
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
pub fn mark_sent(conn: &mut DbConn, id: &str) -> Result<()> {
    diesel::update(invitations::table.find(id).filter(invitations::state.eq("sending")))
        .set(invitations::state.eq("sent"))
        .execute(conn)?;
    Ok(())
}

/// Moves an invitation forward (`sent` → `opened` → `reviewed`), never back.
pub fn advance(conn: &mut DbConn, id: &str, state: &str, now: i64) -> Result<()> {
    let target = invitations::table.find(id);
    if state == "opened" {
        diesel::update(target.filter(invitations::state.eq("sent")))
            .set((invitations::state.eq(state), invitations::opened_at.eq(Some(now))))
            .execute(conn)?;
    } else {
        diesel::update(target.filter(invitations::state.ne(state))).set(invitations::state.eq(state)).execute(conn)?;
    }
    Ok(())
}

/// Deletes the invitations sent to a contact (erasure).
pub fn delete_for_contact(conn: &mut DbConn, vendor_id: &str, contact_hmac: &str) -> Result<usize> {
    Ok(diesel::delete(
        invitations::table.filter(invitations::vendor_id.eq(vendor_id).and(invitations::contact_hmac.eq(contact_hmac))),
    )
    .execute(conn)?)
}
