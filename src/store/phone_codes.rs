//! Phone one-time codes and the SMS sent for them.

use diesel::prelude::*;

use crate::db::schema::{phone_codes, sms_sends};
use crate::db::DbConn;
use crate::error::Result;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = phone_codes)]
pub struct PhoneCode {
    pub flow_id: String,
    pub vendor_id: String,
    pub phone_hmac: String,
    pub code_hmac: String,
    pub issued_at: i64,
    pub wrong_tries: i32,
    pub used: bool,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sms_sends)]
pub struct SmsSend {
    pub id: String,
    pub vendor_id: String,
    pub phone_hmac: String,
    pub sent_at: i64,
    /// `queued` (to the gateway), `sent`, `failed`, or `outbox` (development: not sent).
    pub state: String,
    pub error: Option<String>,
    pub outbox_to: Option<String>,
    pub outbox_body: Option<String>,
}

pub fn get(conn: &mut DbConn, flow_id: &str) -> Result<Option<PhoneCode>> {
    Ok(phone_codes::table.find(flow_id).select(PhoneCode::as_select()).first(conn).optional()?)
}

/// The flow's live code, replacing any earlier one.
pub fn put(conn: &mut DbConn, row: &PhoneCode) -> Result<()> {
    diesel::delete(phone_codes::table.find(&row.flow_id)).execute(conn)?;
    diesel::insert_into(phone_codes::table).values(row).execute(conn)?;
    Ok(())
}

pub fn record_try(conn: &mut DbConn, flow_id: &str, wrong_tries: i32, used: bool) -> Result<()> {
    diesel::update(phone_codes::table.find(flow_id))
        .set((phone_codes::wrong_tries.eq(wrong_tries), phone_codes::used.eq(used)))
        .execute(conn)?;
    Ok(())
}

/// When codes were sent to this phone since `since` (the per-phone window, across flows).
pub fn sends_since(conn: &mut DbConn, phone_hmac: &str, since: i64) -> Result<Vec<i64>> {
    Ok(sms_sends::table
        .filter(sms_sends::phone_hmac.eq(phone_hmac).and(sms_sends::sent_at.gt(since)))
        .select(sms_sends::sent_at)
        .load(conn)?)
}

pub fn insert_send(conn: &mut DbConn, row: &SmsSend) -> Result<()> {
    diesel::insert_into(sms_sends::table).values(row).execute(conn)?;
    Ok(())
}

pub fn finish_send(conn: &mut DbConn, id: &str, state: &str, error: Option<&str>) -> Result<()> {
    diesel::update(sms_sends::table.find(id))
        .set((sms_sends::state.eq(state), sms_sends::error.eq(error)))
        .execute(conn)?;
    Ok(())
}

/// The development outbox of a vendor, newest first.
pub fn outbox(conn: &mut DbConn, vendor_id: &str, limit: i64) -> Result<Vec<SmsSend>> {
    Ok(sms_sends::table
        .filter(sms_sends::vendor_id.eq(vendor_id).and(sms_sends::state.eq("outbox")))
        .order(sms_sends::sent_at.desc())
        .limit(limit)
        .select(SmsSend::as_select())
        .load(conn)?)
}
