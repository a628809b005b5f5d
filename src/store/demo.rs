//! The demo shop's page settings.

use diesel::prelude::*;

use crate::db::schema::demo_site;
use crate::db::DbConn;
use crate::error::Result;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = demo_site)]
pub struct DemoSite {
    pub vendor_id: String,
    pub publishable_key: String,
    pub sku: String,
    pub created_at: i64,
}

pub fn put(conn: &mut DbConn, row: &DemoSite) -> Result<()> {
    diesel::delete(demo_site::table).execute(conn)?;
    diesel::insert_into(demo_site::table).values(row).execute(conn)?;
    Ok(())
}

pub fn get(conn: &mut DbConn) -> Result<Option<DemoSite>> {
    Ok(demo_site::table.select(DemoSite::as_select()).order(demo_site::created_at.desc()).first(conn).optional()?)
}
