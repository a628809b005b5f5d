//! A vendor's purchase rules (one row per vendor; none = the defaults).

use diesel::prelude::*;

use crate::db::schema::kyp_rules;
use crate::db::DbConn;
use crate::domain::kyp::Rules;
use crate::domain::order::Currency;
use crate::error::Result;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = kyp_rules)]
pub struct RulesRow {
    pub vendor_id: String,
    pub min_total_minor: Option<i64>,
    pub min_total_currency: Option<String>,
    pub delivered_only: bool,
    pub window_days: Option<i32>,
    pub updated_at: i64,
}

impl RulesRow {
    pub fn rules(&self) -> Rules {
        let currency = self.min_total_currency.as_deref().and_then(|c| Currency::parse("currency", c).ok());
        Rules {
            min_total: self.min_total_minor.zip(currency),
            delivered_only: self.delivered_only,
            window_days: self.window_days,
        }
    }
}

pub fn get(conn: &mut DbConn, vendor_id: &str) -> Result<Option<RulesRow>> {
    Ok(kyp_rules::table.find(vendor_id).select(RulesRow::as_select()).first(conn).optional()?)
}

/// The vendor's rules, or the defaults.
pub fn rules(conn: &mut DbConn, vendor_id: &str) -> Result<Rules> {
    Ok(get(conn, vendor_id)?.map(|r| r.rules()).unwrap_or_default())
}

/// Replaces the vendor's rules.
pub fn put(conn: &mut DbConn, row: &RulesRow) -> Result<()> {
    diesel::delete(kyp_rules::table.find(&row.vendor_id)).execute(conn)?;
    diesel::insert_into(kyp_rules::table).values(row).execute(conn)?;
    Ok(())
}
