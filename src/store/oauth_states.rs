//! Pending social-login authorizations: one row per redirect to a provider, taken (read
//! and deleted in one step) by the callback, so a state is compared at most once.

use diesel::prelude::*;

use crate::db::schema::oauth_states;
use crate::db::DbConn;
use crate::error::Result;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = oauth_states)]
pub struct OauthState {
    /// SHA-256 of the `state` sent to the provider.
    pub state_hash: String,
    pub flow_id: String,
    pub vendor_id: String,
    pub provider: String,
    /// SHA-256 of the browser-binding cookie set with the redirect.
    pub browser_hash: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub redirect_uri: String,
    pub expires_at: i64,
}

pub fn insert(conn: &mut DbConn, row: &OauthState) -> Result<()> {
    diesel::insert_into(oauth_states::table).values(row).execute(conn)?;
    Ok(())
}

/// Reads and deletes the row of this state: a second callback with it finds nothing.
pub fn take(conn: &mut DbConn, state_hash: &str) -> Result<Option<OauthState>> {
    let row = oauth_states::table.find(state_hash).select(OauthState::as_select()).first(conn).optional()?;
    if row.is_some() {
        let deleted = diesel::delete(oauth_states::table.find(state_hash)).execute(conn)?;
        // Another callback took it between the read and the delete.
        if deleted == 0 {
            return Ok(None);
        }
    }
    Ok(row)
}

/// Deletes authorizations that were never completed (the worker).
pub fn purge_expired(conn: &mut DbConn, now: i64) -> Result<usize> {
    Ok(diesel::delete(oauth_states::table.filter(oauth_states::expires_at.le(now))).execute(conn)?)
}
