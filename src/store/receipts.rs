//! Receipt files and the staff's decisions on them.

use diesel::prelude::*;

use crate::db::schema::receipts;
use crate::db::DbConn;
use crate::error::{Error, Result};

/// A receipt without its bytes (what lists and decisions read).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = receipts)]
pub struct Receipt {
    pub id: String,
    pub vendor_id: String,
    pub flow_id: String,
    pub content_type: String,
    pub size: i64,
    pub state: String,
    pub reason: Option<String>,
    pub created_at: i64,
    pub decided_at: Option<i64>,
    pub decided_by: Option<String>,
    pub file_deleted_at: Option<i64>,
}

#[derive(Insertable)]
#[diesel(table_name = receipts)]
pub struct NewReceipt<'a> {
    pub id: &'a str,
    pub vendor_id: &'a str,
    pub flow_id: &'a str,
    pub content_type: &'a str,
    pub size: i64,
    pub file: &'a [u8],
    pub state: &'a str,
    pub created_at: i64,
}

pub fn insert(conn: &mut DbConn, row: &NewReceipt<'_>) -> Result<()> {
    diesel::insert_into(receipts::table).values(row).execute(conn).map_err(|e| match Error::from(e) {
        Error::Conflict(_) => Error::Conflict("a receipt was already sent for this review".into()),
        other => other,
    })?;
    Ok(())
}

pub fn get(conn: &mut DbConn, vendor_id: &str, id: &str) -> Result<Receipt> {
    receipts::table
        .filter(receipts::vendor_id.eq(vendor_id).and(receipts::id.eq(id)))
        .select(Receipt::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("receipt"))
}

pub fn by_flow(conn: &mut DbConn, flow_id: &str) -> Result<Option<Receipt>> {
    Ok(receipts::table.filter(receipts::flow_id.eq(flow_id)).select(Receipt::as_select()).first(conn).optional()?)
}

/// The stored bytes (`None` once deleted).
pub fn file(conn: &mut DbConn, vendor_id: &str, id: &str) -> Result<Option<Vec<u8>>> {
    Ok(receipts::table
        .filter(receipts::vendor_id.eq(vendor_id).and(receipts::id.eq(id)))
        .select(receipts::file)
        .first::<Option<Vec<u8>>>(conn)
        .optional()?
        .flatten())
}

pub fn page(conn: &mut DbConn, vendor_id: &str, state: &str, before: Option<&str>, limit: i64) -> Result<Vec<Receipt>> {
    let mut q = receipts::table.filter(receipts::vendor_id.eq(vendor_id).and(receipts::state.eq(state))).into_boxed();
    if let Some(before) = before {
        q = q.filter(receipts::id.lt(before.to_owned()));
    }
    Ok(q.order(receipts::id.desc()).limit(limit).select(Receipt::as_select()).load(conn)?)
}

/// Records a decision on a pending receipt; false if it was decided meanwhile.
pub fn decide(conn: &mut DbConn, id: &str, state: &str, reason: Option<&str>, by: &str, now: i64) -> Result<bool> {
    let n = diesel::update(receipts::table.filter(receipts::id.eq(id).and(receipts::state.eq("pending"))))
        .set((
            receipts::state.eq(state),
            receipts::reason.eq(reason),
            receipts::decided_at.eq(now),
            receipts::decided_by.eq(by),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Deletes the files of receipts decided before `before` (worker maintenance).
pub fn purge_files(conn: &mut DbConn, before: i64, now: i64) -> Result<usize> {
    Ok(diesel::update(
        receipts::table.filter(receipts::decided_at.lt(before)).filter(receipts::file_deleted_at.is_null()),
    )
    .set((receipts::file.eq(None::<Vec<u8>>), receipts::file_deleted_at.eq(now)))
    .execute(conn)?)
}

/// Deletes the receipts of these flows, file and all (erasure).
pub fn delete_for_flows(conn: &mut DbConn, vendor_id: &str, flow_ids: &[String]) -> Result<usize> {
    if flow_ids.is_empty() {
        return Ok(0);
    }
    Ok(diesel::delete(
        receipts::table.filter(receipts::vendor_id.eq(vendor_id).and(receipts::flow_id.eq_any(flow_ids))),
    )
    .execute(conn)?)
}
