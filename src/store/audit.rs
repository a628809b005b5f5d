//! Append-only, hash-chained audit log, one chain per vendor.
//!
//! `hash = SHA-256(prev_hash ‖ canonical row)`; the vendor row holds the chain's last
//! sequence number and hash, so an edited, deleted or truncated row is detected. Rows are
//! appended in the same transaction as the action they record; the `UPDATE` of the vendor
//! row serialises appends on PostgreSQL (row lock) and SQLite (write lock) alike.

use diesel::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::db::schema::{audit_log, vendors};
use crate::db::DbConn;
use crate::error::Result;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = audit_log)]
pub struct AuditRow {
    pub vendor_id: String,
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

/// What an action records.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub details: serde_json::Value,
}

/// The bytes hashed for a row: every field but the hash, in a fixed order.
fn canonical(row: &AuditRow) -> String {
    serde_json::json!([row.vendor_id, row.seq, row.at, row.actor, row.action, row.target, row.details]).to_string()
}

fn chain_hash(prev_hash: &str, row: &AuditRow) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(canonical(row).as_bytes());
    hex::encode(h.finalize())
}

/// The handle use cases append through (cloned into their write closures).
#[derive(Clone, Default)]
pub struct AuditLog {}

impl AuditLog {
    pub fn new() -> AuditLog {
        AuditLog {}
    }

    /// Appends one entry; call inside the action's write transaction.
    pub fn append(&self, conn: &mut DbConn, vendor_id: &str, at: i64, entry: Entry<'_>) -> Result<i64> {
        append(conn, vendor_id, at, entry)
    }
}

/// Appends one entry; call inside the action's write transaction.
fn append(conn: &mut DbConn, vendor_id: &str, at: i64, entry: Entry<'_>) -> Result<i64> {
    // Taking the vendor row's write lock first serialises concurrent appenders.
    diesel::update(vendors::table.find(vendor_id)).set(vendors::audit_seq.eq(vendors::audit_seq + 1)).execute(conn)?;
    let (seq, prev_hash): (i64, String) =
        vendors::table.find(vendor_id).select((vendors::audit_seq, vendors::audit_head)).first(conn)?;
    let mut row = AuditRow {
        vendor_id: vendor_id.to_owned(),
        seq,
        at,
        actor: entry.actor.to_owned(),
        action: entry.action.to_owned(),
        target: entry.target.to_owned(),
        details: entry.details.to_string(),
        prev_hash: prev_hash.clone(),
        hash: String::new(),
    };
    row.hash = chain_hash(&prev_hash, &row);
    diesel::insert_into(audit_log::table).values(&row).execute(conn)?;
    diesel::update(vendors::table.find(vendor_id)).set(vendors::audit_head.eq(&row.hash)).execute(conn)?;
    Ok(seq)
}

/// Newest first, keyset-paginated by `seq`.
pub fn page(conn: &mut DbConn, vendor_id: &str, before_seq: Option<i64>, limit: i64) -> Result<Vec<AuditRow>> {
    let mut q = audit_log::table.filter(audit_log::vendor_id.eq(vendor_id)).into_boxed();
    if let Some(before) = before_seq {
        q = q.filter(audit_log::seq.lt(before));
    }
    Ok(q.order(audit_log::seq.desc()).limit(limit).select(AuditRow::as_select()).load(conn)?)
}

/// The first place a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    pub vendor_id: String,
    pub seq: i64,
    pub reason: String,
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "vendor {} audit row {}: {}", self.vendor_id, self.seq, self.reason)
    }
}

/// Verifies one vendor's chain; returns the first break, or the number of rows checked.
pub fn verify_vendor(conn: &mut DbConn, vendor_id: &str) -> Result<std::result::Result<i64, ChainBreak>> {
    let broken =
        |seq: i64, reason: &str| ChainBreak { vendor_id: vendor_id.to_owned(), seq, reason: reason.to_owned() };
    let (last_seq, head): (i64, String) =
        vendors::table.find(vendor_id).select((vendors::audit_seq, vendors::audit_head)).first(conn)?;
    let mut expected_seq = 1i64;
    let mut prev_hash = String::new();
    let mut after: i64 = 0;
    loop {
        let rows: Vec<AuditRow> = audit_log::table
            .filter(audit_log::vendor_id.eq(vendor_id).and(audit_log::seq.gt(after)))
            .order(audit_log::seq.asc())
            .limit(1000)
            .select(AuditRow::as_select())
            .load(conn)?;
        if rows.is_empty() {
            break;
        }
        for row in &rows {
            if row.seq != expected_seq {
                return Ok(Err(broken(expected_seq, "missing (deleted)")));
            }
            if row.prev_hash != prev_hash {
                return Ok(Err(broken(row.seq, "previous-hash link altered")));
            }
            if chain_hash(&prev_hash, row) != row.hash {
                return Ok(Err(broken(row.seq, "contents altered")));
            }
            prev_hash = row.hash.clone();
            expected_seq += 1;
            after = row.seq;
        }
    }
    if expected_seq - 1 < last_seq {
        return Ok(Err(broken(expected_seq, "missing (deleted from the end of the chain)")));
    }
    if prev_hash != head {
        return Ok(Err(broken(last_seq, "chain head does not match the last row")));
    }
    Ok(Ok(last_seq))
}

/// Verifies every vendor's chain.
pub fn verify_all(conn: &mut DbConn) -> Result<Vec<(String, std::result::Result<i64, ChainBreak>)>> {
    let mut out = Vec::new();
    for vendor_id in crate::store::vendors::all_ids(conn)? {
        let outcome = verify_vendor(conn, &vendor_id)?;
        out.push((vendor_id, outcome));
    }
    Ok(out)
}

/// How many entries of this action the vendor's log has since `since`.
pub fn count_action_since(conn: &mut DbConn, vendor_id: &str, action: &str, since: i64) -> Result<i64> {
    Ok(audit_log::table
        .filter(audit_log::vendor_id.eq(vendor_id).and(audit_log::action.eq(action)).and(audit_log::at.ge(since)))
        .count()
        .get_result(conn)?)
}
