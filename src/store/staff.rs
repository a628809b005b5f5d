use diesel::prelude::*;

use crate::db::schema::staff;
use crate::db::DbConn;
use crate::error::Result;

#[derive(Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = staff)]
pub struct Staff {
    pub id: String,
    pub vendor_id: String,
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: String,
    pub active: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Debug leaves the password hash out (L3).
impl std::fmt::Debug for Staff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Staff")
            .field("id", &self.id)
            .field("vendor_id", &self.vendor_id)
            .field("email", &self.email)
            .field("display_name", &self.display_name)
            .field("password_hash", &"<redacted>")
            .field("role", &self.role)
            .field("active", &self.active)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

pub fn insert(conn: &mut DbConn, member: &Staff) -> Result<()> {
    diesel::insert_into(staff::table).values(member).execute(conn).map_err(|e| match crate::Error::from(e) {
        crate::Error::Conflict(_) => {
            crate::Error::Conflict("this vendor already has a staff account with this e-mail".into())
        }
        other => other,
    })?;
    Ok(())
}

/// Login lookup: e-mails are unique per vendor (M10), so an address may have accounts at
/// several vendors; these, oldest first (at most `limit`), or the one at `vendor_id`.
pub fn by_email(conn: &mut DbConn, email: &str, vendor_id: Option<&str>, limit: i64) -> Result<Vec<Staff>> {
    let mut query = staff::table.filter(staff::email.eq(email)).into_boxed();
    if let Some(vendor_id) = vendor_id {
        query = query.filter(staff::vendor_id.eq(vendor_id));
    }
    Ok(query.order((staff::created_at.asc(), staff::id.asc())).limit(limit).select(Staff::as_select()).load(conn)?)
}

pub fn get(conn: &mut DbConn, vendor_id: &str, staff_id: &str) -> Result<Staff> {
    staff::table
        .filter(staff::vendor_id.eq(vendor_id).and(staff::id.eq(staff_id)))
        .select(Staff::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| crate::Error::not_found("staff member"))
}

pub fn list(conn: &mut DbConn, vendor_id: &str) -> Result<Vec<Staff>> {
    Ok(staff::table
        .filter(staff::vendor_id.eq(vendor_id))
        .order(staff::created_at.asc())
        .select(Staff::as_select())
        .load(conn)?)
}

/// How many members (active or not) the vendor has.
pub fn count(conn: &mut DbConn, vendor_id: &str) -> Result<i64> {
    Ok(staff::table.filter(staff::vendor_id.eq(vendor_id)).count().get_result(conn)?)
}

pub fn active_owner_count(conn: &mut DbConn, vendor_id: &str) -> Result<i64> {
    Ok(staff::table
        .filter(staff::vendor_id.eq(vendor_id).and(staff::role.eq("owner")).and(staff::active.eq(true)))
        .count()
        .get_result(conn)?)
}

pub fn emails(conn: &mut DbConn, vendor_id: &str) -> Result<Vec<String>> {
    Ok(staff::table.filter(staff::vendor_id.eq(vendor_id)).select(staff::email).load(conn)?)
}

pub fn update_role_active(
    conn: &mut DbConn,
    vendor_id: &str,
    staff_id: &str,
    role: &str,
    active: bool,
    now: i64,
) -> Result<()> {
    diesel::update(staff::table.filter(staff::vendor_id.eq(vendor_id).and(staff::id.eq(staff_id))))
        .set((staff::role.eq(role), staff::active.eq(active), staff::updated_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

pub fn set_password_hash(conn: &mut DbConn, staff_id: &str, hash: &str, now: i64) -> Result<()> {
    diesel::update(staff::table.find(staff_id))
        .set((staff::password_hash.eq(hash), staff::updated_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

pub fn by_id(conn: &mut DbConn, staff_id: &str) -> Result<Staff> {
    staff::table
        .find(staff_id)
        .select(Staff::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| crate::Error::not_found("staff member"))
}
