//! Saved CSV column mappings, per vendor and name.

use diesel::prelude::*;

use crate::db::schema::order_mappings;
use crate::db::DbConn;
use crate::error::Result;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = order_mappings)]
pub struct MappingRow {
    pub vendor_id: String,
    pub name: String,
    /// JSON object: order field → the vendor's header name.
    pub column_map: String,
    pub date_format: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

pub fn get(conn: &mut DbConn, vendor_id: &str, name: &str) -> Result<Option<MappingRow>> {
    Ok(order_mappings::table.find((vendor_id, name)).select(MappingRow::as_select()).first(conn).optional()?)
}

pub fn list(conn: &mut DbConn, vendor_id: &str) -> Result<Vec<MappingRow>> {
    Ok(order_mappings::table
        .filter(order_mappings::vendor_id.eq(vendor_id))
        .order(order_mappings::name.asc())
        .select(MappingRow::as_select())
        .load(conn)?)
}

pub fn count(conn: &mut DbConn, vendor_id: &str) -> Result<i64> {
    Ok(order_mappings::table.filter(order_mappings::vendor_id.eq(vendor_id)).count().get_result(conn)?)
}

/// Creates or replaces a mapping (keeping its creation time); true if created.
pub fn put(conn: &mut DbConn, row: &MappingRow) -> Result<bool> {
    let existing = get(conn, &row.vendor_id, &row.name)?;
    diesel::delete(order_mappings::table.find((&row.vendor_id, &row.name))).execute(conn)?;
    let row = MappingRow { created_at: existing.as_ref().map_or(row.created_at, |e| e.created_at), ..row.clone() };
    diesel::insert_into(order_mappings::table).values(&row).execute(conn)?;
    Ok(existing.is_none())
}

pub fn delete(conn: &mut DbConn, vendor_id: &str, name: &str) -> Result<bool> {
    Ok(diesel::delete(order_mappings::table.find((vendor_id, name))).execute(conn)? == 1)
}
