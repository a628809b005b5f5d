//! Shop-platform integrations (webhook secrets, sealed) and the newest order update each
//! platform delivered.

use diesel::prelude::*;

use crate::db::schema::{integrations, webhook_orders};
use crate::db::DbConn;
use crate::error::Result;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = integrations)]
pub struct Integration {
    pub vendor_id: String,
    pub platform: String,
    pub secret_sealed: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_delivery_at: Option<i64>,
}

pub fn get(conn: &mut DbConn, vendor_id: &str, platform: &str) -> Result<Option<Integration>> {
    Ok(integrations::table.find((vendor_id, platform)).select(Integration::as_select()).first(conn).optional()?)
}

pub fn list(conn: &mut DbConn, vendor_id: &str) -> Result<Vec<Integration>> {
    Ok(integrations::table
        .filter(integrations::vendor_id.eq(vendor_id))
        .order(integrations::platform.asc())
        .select(Integration::as_select())
        .load(conn)?)
}

/// Creates or replaces the vendor's integration with `platform`; true if created.
pub fn put(conn: &mut DbConn, row: &Integration) -> Result<bool> {
    let existing = get(conn, &row.vendor_id, &row.platform)?;
    diesel::delete(integrations::table.find((&row.vendor_id, &row.platform))).execute(conn)?;
    let row = Integration {
        created_at: existing.as_ref().map_or(row.created_at, |e| e.created_at),
        last_delivery_at: existing.as_ref().and_then(|e| e.last_delivery_at),
        ..row.clone()
    };
    diesel::insert_into(integrations::table).values(&row).execute(conn)?;
    Ok(existing.is_none())
}

pub fn delete(conn: &mut DbConn, vendor_id: &str, platform: &str) -> Result<bool> {
    Ok(diesel::delete(integrations::table.find((vendor_id, platform))).execute(conn)? == 1)
}

pub fn touch(conn: &mut DbConn, vendor_id: &str, platform: &str, now: i64) -> Result<()> {
    diesel::update(integrations::table.find((vendor_id, platform)))
        .set(integrations::last_delivery_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// Records `updated_at` as the newest update of a platform order; false (nothing written)
/// when the stored one is as new or newer — a replayed or out-of-order delivery.
pub fn advance(conn: &mut DbConn, vendor_id: &str, platform: &str, order_id: &str, updated_at: i64) -> Result<bool> {
    let key = (vendor_id, platform, order_id);
    let stored: Option<i64> =
        webhook_orders::table.find(key).select(webhook_orders::updated_at).first(conn).optional()?;
    match stored {
        Some(s) if s >= updated_at => Ok(false),
        Some(_) => {
            let n = diesel::update(webhook_orders::table.find(key).filter(webhook_orders::updated_at.lt(updated_at)))
                .set(webhook_orders::updated_at.eq(updated_at))
                .execute(conn)?;
            Ok(n == 1)
        }
        None => {
            let n = crate::insert_or_ignore!(
                conn,
                webhook_orders::table,
                (
                    webhook_orders::vendor_id.eq(vendor_id),
                    webhook_orders::platform.eq(platform),
                    webhook_orders::platform_order_id.eq(order_id),
                    webhook_orders::updated_at.eq(updated_at),
                )
            )?;
            Ok(n == 1)
        }
    }
}
