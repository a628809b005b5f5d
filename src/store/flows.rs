//! Review flows: a buyer's review session holding the evidence collected so far
//! (KYC identity, KYP order) until it expires or a review is submitted.

use diesel::prelude::*;

use crate::db::schema::flows;
use crate::db::DbConn;
use crate::domain::maturity::{Evidence, Identity, Purchase};
use crate::error::{Error, Result};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = flows)]
pub struct Flow {
    pub id: String,
    pub vendor_id: String,
    pub token_hash: String,
    pub sku: Option<String>,
    pub order_id: Option<String>,
    /// JSON of [`Evidence`].
    pub evidence: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub completed_at: Option<i64>,
    /// The language its pages speak (`en`, `ru`); none: the browser's.
    pub locale: Option<String>,
    /// The NPS answer (0–10) and when it was given.
    pub nps_score: Option<i32>,
    pub nps_at: Option<i64>,
}

impl Flow {
    pub fn evidence(&self) -> Evidence {
        serde_json::from_str(&self.evidence).unwrap_or_default()
    }
}

pub fn insert(conn: &mut DbConn, flow: &Flow) -> Result<()> {
    diesel::insert_into(flows::table).values(flow).execute(conn)?;
    Ok(())
}

pub fn by_token_hash(conn: &mut DbConn, token_hash: &str) -> Result<Option<Flow>> {
    Ok(flows::table.filter(flows::token_hash.eq(token_hash)).select(Flow::as_select()).first(conn).optional()?)
}

fn set_evidence(conn: &mut DbConn, flow_id: &str, evidence: &Evidence, order_id: Option<&str>) -> Result<()> {
    let json = serde_json::to_string(evidence).map_err(Error::internal)?;
    let n = match order_id {
        Some(order) => diesel::update(flows::table.find(flow_id).filter(flows::completed_at.is_null()))
            .set((flows::evidence.eq(json), flows::order_id.eq(order)))
            .execute(conn)?,
        None => diesel::update(flows::table.find(flow_id).filter(flows::completed_at.is_null()))
            .set(flows::evidence.eq(json))
            .execute(conn)?,
    };
    if n == 0 {
        return Err(Error::Conflict("the review flow is already completed".into()));
    }
    Ok(())
}

/// Records a verified identity (KYC) on an open flow.
pub fn attach_identity(conn: &mut DbConn, flow: &Flow, identity: Identity) -> Result<()> {
    let mut evidence = flow.evidence();
    evidence.identity = Some(identity);
    set_evidence(conn, &flow.id, &evidence, None)
}

/// Binds an open flow to an imported order (KYP).
pub fn attach_purchase(conn: &mut DbConn, flow: &Flow, purchase: Purchase) -> Result<()> {
    let mut evidence = flow.evidence();
    let order_id = purchase.order_id.clone();
    evidence.purchase = Some(purchase);
    set_evidence(conn, &flow.id, &evidence, Some(&order_id))
}

/// Records a company proven by a work e-mail.
pub fn attach_company(conn: &mut DbConn, flow: &Flow, company: crate::domain::maturity::Company) -> Result<()> {
    let mut evidence = flow.evidence();
    evidence.company = Some(company);
    set_evidence(conn, &flow.id, &evidence, None)
}

/// Records a purchase proven by an accepted receipt (no order is bound).
pub fn attach_receipt(conn: &mut DbConn, flow: &Flow, purchase: Purchase) -> Result<()> {
    let mut evidence = flow.evidence();
    evidence.purchase = Some(purchase);
    set_evidence(conn, &flow.id, &evidence, None)
}

pub fn get(conn: &mut DbConn, flow_id: &str) -> Result<Option<Flow>> {
    Ok(flows::table.find(flow_id).select(Flow::as_select()).first(conn).optional()?)
}

/// Marks the flow used; false if another request completed it first.
pub fn complete(conn: &mut DbConn, flow_id: &str, now: i64) -> Result<bool> {
    let n = diesel::update(flows::table.find(flow_id).filter(flows::completed_at.is_null()))
        .set(flows::completed_at.eq(now))
        .execute(conn)?;
    Ok(n == 1)
}

/// Deletes flows past expiry (worker maintenance).
pub fn purge_expired(conn: &mut DbConn, now: i64) -> Result<usize> {
    Ok(diesel::delete(flows::table.filter(flows::expires_at.lt(now))).execute(conn)?)
}

/// Deletes a vendor's flows whose evidence mentions this contact HMAC (erasure).
pub fn delete_mentioning(conn: &mut DbConn, vendor_id: &str, contact_hmac: &str) -> Result<usize> {
    Ok(diesel::delete(
        flows::table.filter(flows::vendor_id.eq(vendor_id).and(flows::evidence.like(format!("%{contact_hmac}%")))),
    )
    .execute(conn)?)
}

/// Deletes a vendor's flows bound to these orders (erasure: a flow may carry only the
/// order's other contact, or none, and still link the buyer to the order).
pub fn delete_for_orders(conn: &mut DbConn, vendor_id: &str, order_ids: &[String]) -> Result<usize> {
    if order_ids.is_empty() {
        return Ok(0);
    }
    Ok(diesel::delete(flows::table.filter(flows::vendor_id.eq(vendor_id).and(flows::order_id.eq_any(order_ids))))
        .execute(conn)?)
}

/// Records a flow's NPS answer; the first answer counts (false: it was answered before).
pub fn answer_nps(conn: &mut DbConn, flow_id: &str, score: i32, now: i64) -> Result<bool> {
    let n = diesel::update(flows::table.find(flow_id).filter(flows::nps_score.is_null()))
        .set((flows::nps_score.eq(Some(score)), flows::nps_at.eq(Some(now))))
        .execute(conn)?;
    Ok(n == 1)
}
