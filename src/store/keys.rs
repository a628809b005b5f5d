use diesel::prelude::*;

use crate::db::schema::api_keys;
use crate::db::DbConn;
use crate::error::Result;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys)]
pub struct ApiKey {
    pub id: String,
    pub vendor_id: String,
    /// `publishable` or `secret`.
    pub kind: String,
    pub prefix: String,
    pub key_hash: String,
    pub label: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

pub fn insert(conn: &mut DbConn, key: &ApiKey) -> Result<()> {
    diesel::insert_into(api_keys::table).values(key).execute(conn)?;
    Ok(())
}

/// A live key by the hash of its secret.
pub fn live_by_hash(conn: &mut DbConn, key_hash: &str) -> Result<Option<ApiKey>> {
    Ok(api_keys::table
        .filter(api_keys::key_hash.eq(key_hash).and(api_keys::revoked_at.is_null()))
        .select(ApiKey::as_select())
        .first(conn)
        .optional()?)
}

/// Revoked keys a list shows: the most recently revoked ones.
pub const LISTED_REVOKED: i64 = 100;

/// The vendor's live keys and its [`LISTED_REVOKED`] most recently revoked ones, oldest
/// first: bounded however often keys are rotated.
pub fn list(conn: &mut DbConn, vendor_id: &str) -> Result<Vec<ApiKey>> {
    let mut keys: Vec<ApiKey> = api_keys::table
        .filter(api_keys::vendor_id.eq(vendor_id).and(api_keys::revoked_at.is_null()))
        .select(ApiKey::as_select())
        .load(conn)?;
    keys.extend(
        api_keys::table
            .filter(api_keys::vendor_id.eq(vendor_id).and(api_keys::revoked_at.is_not_null()))
            .order((api_keys::revoked_at.desc(), api_keys::id.desc()))
            .limit(LISTED_REVOKED)
            .select(ApiKey::as_select())
            .load::<ApiKey>(conn)?,
    );
    keys.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(keys)
}

/// How many live keys the vendor holds.
pub fn live_count(conn: &mut DbConn, vendor_id: &str) -> Result<i64> {
    Ok(api_keys::table
        .filter(api_keys::vendor_id.eq(vendor_id).and(api_keys::revoked_at.is_null()))
        .count()
        .get_result(conn)?)
}

/// Revokes a key of this vendor; returns false when it does not exist or was revoked already.
pub fn revoke(conn: &mut DbConn, vendor_id: &str, key_id: &str, now: i64) -> Result<bool> {
    let n = diesel::update(
        api_keys::table
            .filter(api_keys::vendor_id.eq(vendor_id).and(api_keys::id.eq(key_id)).and(api_keys::revoked_at.is_null())),
    )
    .set(api_keys::revoked_at.eq(now))
    .execute(conn)?;
    Ok(n == 1)
}

/// Whether the key's recorded last use is older than a minute.
pub fn use_is_stale(key: &ApiKey, now: i64) -> bool {
    super::mark_is_stale(key.last_used_at, now)
}

/// Records use; the filter keeps concurrent callers to one write per interval.
pub fn touch(conn: &mut DbConn, key_id: &str, now: i64) -> Result<()> {
    diesel::update(
        api_keys::table
            .find(key_id)
            .filter(api_keys::last_used_at.is_null().or(api_keys::last_used_at.lt(now - super::MARK_INTERVAL_MS))),
    )
    .set(api_keys::last_used_at.eq(now))
    .execute(conn)?;
    Ok(())
}
