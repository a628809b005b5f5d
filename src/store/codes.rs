//! One-time codes (by SMS to a phone, by e-mail to a work address) and every code sent.

use diesel::prelude::*;

use crate::db::schema::{message_sends, one_time_codes};
use crate::db::DbConn;
use crate::error::Result;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = one_time_codes)]
pub struct OneTimeCode {
    pub flow_id: String,
    /// `sms` or `email`.
    pub channel: String,
    pub vendor_id: String,
    /// HMAC of the phone or e-mail the code was sent to.
    pub contact_hmac: String,
    pub code_hmac: String,
    pub issued_at: i64,
    pub wrong_tries: i32,
    pub used: bool,
    /// JSON of what the code proves besides the contact (the company), if anything.
    pub claim: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = message_sends)]
pub struct MessageSend {
    pub id: String,
    pub vendor_id: String,
    pub contact_hmac: String,
    pub sent_at: i64,
    /// `queued` (to the gateway or mail server), `sent`, `failed`, or `outbox`
    /// (development: not sent).
    pub state: String,
    pub error: Option<String>,
    pub outbox_to: Option<String>,
    pub outbox_body: Option<String>,
    pub channel: String,
}

pub fn get(conn: &mut DbConn, flow_id: &str, channel: &str) -> Result<Option<OneTimeCode>> {
    Ok(one_time_codes::table.find((flow_id, channel)).select(OneTimeCode::as_select()).first(conn).optional()?)
}

/// The flow's live code on this channel, replacing any earlier one.
pub fn put(conn: &mut DbConn, row: &OneTimeCode) -> Result<()> {
    diesel::delete(one_time_codes::table.find((&row.flow_id, &row.channel))).execute(conn)?;
    diesel::insert_into(one_time_codes::table).values(row).execute(conn)?;
    Ok(())
}

pub fn record_try(conn: &mut DbConn, flow_id: &str, channel: &str, wrong_tries: i32, used: bool) -> Result<()> {
    diesel::update(one_time_codes::table.find((flow_id, channel)))
        .set((one_time_codes::wrong_tries.eq(wrong_tries), one_time_codes::used.eq(used)))
        .execute(conn)?;
    Ok(())
}

/// When codes were sent to this contact since `since` (the per-contact window, across flows).
pub fn sends_since(conn: &mut DbConn, contact_hmac: &str, since: i64) -> Result<Vec<i64>> {
    Ok(message_sends::table
        .filter(message_sends::contact_hmac.eq(contact_hmac).and(message_sends::sent_at.gt(since)))
        .select(message_sends::sent_at)
        .load(conn)?)
}

pub fn insert_send(conn: &mut DbConn, row: &MessageSend) -> Result<()> {
    diesel::insert_into(message_sends::table).values(row).execute(conn)?;
    Ok(())
}

pub fn finish_send(conn: &mut DbConn, id: &str, state: &str, error: Option<&str>) -> Result<()> {
    diesel::update(message_sends::table.find(id))
        .set((message_sends::state.eq(state), message_sends::error.eq(error)))
        .execute(conn)?;
    Ok(())
}

/// The development outbox of a vendor (both channels), newest first.
pub fn outbox(conn: &mut DbConn, vendor_id: &str, limit: i64) -> Result<Vec<MessageSend>> {
    Ok(message_sends::table
        .filter(message_sends::vendor_id.eq(vendor_id).and(message_sends::state.eq("outbox")))
        .order(message_sends::sent_at.desc())
        .limit(limit)
        .select(MessageSend::as_select())
        .load(conn)?)
}
