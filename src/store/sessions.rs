//! Refresh tokens: stored hashed, rotated on use; reuse of a spent token revokes its family.

use diesel::prelude::*;

use crate::db::schema::refresh_tokens;
use crate::db::DbConn;
use crate::error::Result;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshToken {
    pub id: String,
    pub staff_id: String,
    pub token_hash: String,
    pub family_id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

pub fn insert(conn: &mut DbConn, token: &RefreshToken) -> Result<()> {
    diesel::insert_into(refresh_tokens::table).values(token).execute(conn)?;
    Ok(())
}

pub fn by_hash(conn: &mut DbConn, token_hash: &str) -> Result<Option<RefreshToken>> {
    Ok(refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select(RefreshToken::as_select())
        .first(conn)
        .optional()?)
}

/// Marks a token spent; false if it was spent, revoked or expired (M3: a revoked token can
/// never be spent, whatever the caller read before).
pub fn spend(conn: &mut DbConn, id: &str, now: i64) -> Result<bool> {
    let n = diesel::update(
        refresh_tokens::table.find(id).filter(
            refresh_tokens::used_at
                .is_null()
                .and(refresh_tokens::revoked_at.is_null())
                .and(refresh_tokens::expires_at.gt(now)),
        ),
    )
    .set(refresh_tokens::used_at.eq(now))
    .execute(conn)?;
    Ok(n == 1)
}

/// Whether the session (refresh-token family) `family_id` of `staff_id` is alive: it has
/// a token that was not revoked. Logout, password change, deactivation and reuse detection
/// revoke every token of the family, which ends its access tokens too (M11).
pub fn family_alive(conn: &mut DbConn, staff_id: &str, family_id: &str) -> Result<bool> {
    let alive: i64 = refresh_tokens::table
        .filter(
            refresh_tokens::family_id
                .eq(family_id)
                .and(refresh_tokens::staff_id.eq(staff_id))
                .and(refresh_tokens::revoked_at.is_null()),
        )
        .count()
        .get_result(conn)?;
    Ok(alive > 0)
}

pub fn revoke_family(conn: &mut DbConn, family_id: &str, now: i64) -> Result<()> {
    diesel::update(
        refresh_tokens::table.filter(refresh_tokens::family_id.eq(family_id).and(refresh_tokens::revoked_at.is_null())),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)?;
    Ok(())
}

pub fn revoke_all_for_staff(conn: &mut DbConn, staff_id: &str, now: i64) -> Result<()> {
    diesel::update(
        refresh_tokens::table.filter(refresh_tokens::staff_id.eq(staff_id).and(refresh_tokens::revoked_at.is_null())),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)?;
    Ok(())
}

/// Deletes tokens past expiry (worker maintenance); returns how many.
pub fn purge_expired(conn: &mut DbConn, now: i64) -> Result<usize> {
    Ok(diesel::delete(refresh_tokens::table.filter(refresh_tokens::expires_at.lt(now))).execute(conn)?)
}
