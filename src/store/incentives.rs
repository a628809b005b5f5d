//! The coupon pool and incentive grants.

use diesel::prelude::*;

use crate::db::schema::{coupons, incentive_grants};
use crate::db::DbConn;
use crate::error::Result;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = incentive_grants)]
pub struct Grant {
    pub review_id: String,
    pub vendor_id: String,
    /// The invitation the review came through (none: written from the shop's widget).
    pub invitation_id: Option<String>,
    /// The order the thank-you is for.
    pub order_id: Option<String>,
    /// `coupon`, `discount`, `prize_draw` or `trial`.
    pub kind: String,
    pub description: String,
    pub coupon: Option<String>,
    /// `pending` (review not moderated yet), `granted`, `owed` (a coupon, when the pool has
    /// one again) or `withheld` (rejected as spam or abuse).
    pub state: String,
    pub created_at: i64,
    pub decided_at: Option<i64>,
}

/// Adds codes to the pool; the number new (a code already there is not added twice).
pub fn add_coupons(conn: &mut DbConn, vendor_id: &str, codes: &[String], now: i64) -> Result<usize> {
    let mut added = 0;
    for chunk in codes.chunks(200) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|c| (coupons::vendor_id.eq(vendor_id), coupons::code.eq(c), coupons::created_at.eq(now)))
            .collect();
        added += crate::insert_or_ignore!(conn, coupons::table, &rows)?;
    }
    Ok(added)
}

/// Takes a free coupon for a review (the oldest first); `None` when the pool is empty.
pub fn take_coupon(conn: &mut DbConn, vendor_id: &str, review_id: &str) -> Result<Option<String>> {
    for _ in 0..8 {
        let free: Option<String> = coupons::table
            .filter(coupons::vendor_id.eq(vendor_id).and(coupons::review_id.is_null()))
            .order((coupons::created_at.asc(), coupons::code.asc()))
            .select(coupons::code)
            .first(conn)
            .optional()?;
        let Some(code) = free else { return Ok(None) };
        let n = diesel::update(coupons::table.find((vendor_id, &code)).filter(coupons::review_id.is_null()))
            .set(coupons::review_id.eq(Some(review_id)))
            .execute(conn)?;
        if n == 1 {
            return Ok(Some(code));
        }
    }
    Ok(None)
}

/// (free, given) coupons in the vendor's pool.
pub fn pool(conn: &mut DbConn, vendor_id: &str) -> Result<(i64, i64)> {
    let all: i64 = coupons::table.filter(coupons::vendor_id.eq(vendor_id)).count().get_result(conn)?;
    let free: i64 = coupons::table
        .filter(coupons::vendor_id.eq(vendor_id).and(coupons::review_id.is_null()))
        .count()
        .get_result(conn)?;
    Ok((free, all - free))
}

pub fn insert_grant(conn: &mut DbConn, grant: &Grant) -> Result<bool> {
    Ok(crate::insert_or_ignore!(conn, incentive_grants::table, grant)? == 1)
}

/// Whether any review of the order already holds a thank-you.
pub fn order_has_grant(conn: &mut DbConn, vendor_id: &str, order_id: &str) -> Result<bool> {
    let any = incentive_grants::table
        .filter(incentive_grants::vendor_id.eq(vendor_id).and(incentive_grants::order_id.eq(order_id)))
        .select(incentive_grants::review_id)
        .first::<String>(conn)
        .optional()?;
    Ok(any.is_some())
}

pub fn grant(conn: &mut DbConn, vendor_id: &str, review_id: &str) -> Result<Option<Grant>> {
    Ok(incentive_grants::table
        .filter(incentive_grants::vendor_id.eq(vendor_id).and(incentive_grants::review_id.eq(review_id)))
        .select(Grant::as_select())
        .first(conn)
        .optional()?)
}

/// Moves a grant from `from` to `to` (with its coupon); false if it was not in `from`.
pub fn settle(
    conn: &mut DbConn,
    review_id: &str,
    from: &str,
    to: &str,
    coupon: Option<&str>,
    now: i64,
) -> Result<bool> {
    let n = diesel::update(incentive_grants::table.find(review_id).filter(incentive_grants::state.eq(from)))
        .set((
            incentive_grants::state.eq(to),
            incentive_grants::coupon.eq(coupon),
            incentive_grants::decided_at.eq(Some(now)),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// The vendor's coupon grants waiting for the pool, oldest first.
pub fn owed(conn: &mut DbConn, vendor_id: &str) -> Result<Vec<Grant>> {
    Ok(incentive_grants::table
        .filter(incentive_grants::vendor_id.eq(vendor_id).and(incentive_grants::state.eq("owed")))
        .order((incentive_grants::created_at.asc(), incentive_grants::review_id.asc()))
        .select(Grant::as_select())
        .load(conn)?)
}

/// Grants per state.
pub fn grant_counts(conn: &mut DbConn, vendor_id: &str) -> Result<Vec<(String, i64)>> {
    use diesel::dsl::count_star;
    Ok(incentive_grants::table
        .filter(incentive_grants::vendor_id.eq(vendor_id))
        .group_by(incentive_grants::state)
        .select((incentive_grants::state, count_star()))
        .load(conn)?)
}
