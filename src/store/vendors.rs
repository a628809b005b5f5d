use diesel::prelude::*;

use crate::db::schema::vendors;
use crate::db::DbConn;
use crate::error::Result;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = vendors)]
pub struct Vendor {
    pub id: String,
    pub name: String,
    /// JSON array of origins, e.g. `["https://shop.example"]`.
    pub origins: String,
    pub auto_publish_min_level: Option<i32>,
    pub widget_served_at: Option<i64>,
    pub audit_seq: i64,
    pub audit_head: String,
    pub created_at: i64,
    /// JSON array of the social-login providers the vendor's flow offers; `None`: all.
    pub kyc_providers: Option<String>,
    /// JSON array of ISO 3166 country codes phone codes go to; `None`: every country.
    pub phone_countries: Option<String>,
}

impl Vendor {
    pub fn origin_list(&self) -> Vec<String> {
        serde_json::from_str(&self.origins).unwrap_or_default()
    }

    /// The providers chosen, or `None` for every configured one.
    pub fn provider_choice(&self) -> Option<Vec<String>> {
        self.kyc_providers.as_deref().and_then(|p| serde_json::from_str(p).ok())
    }

    /// The countries chosen, or `None` for every country.
    pub fn phone_country_choice(&self) -> Option<Vec<String>> {
        self.phone_countries.as_ref().map(|_| self.phone_country_list())
    }

    /// The countries phone codes go to (empty: every country).
    pub fn phone_country_list(&self) -> Vec<String> {
        self.phone_countries.as_deref().and_then(|p| serde_json::from_str(p).ok()).unwrap_or_default()
    }
}

/// Sets the vendor's KYC choices (`None` for either: every provider / every country).
pub fn set_kyc_choices(
    conn: &mut DbConn,
    vendor_id: &str,
    providers: Option<&[String]>,
    countries: Option<&[String]>,
) -> Result<()> {
    let json = |list: Option<&[String]>| list.map(|l| serde_json::to_string(l).unwrap_or_else(|_| "[]".into()));
    diesel::update(vendors::table.find(vendor_id))
        .set((vendors::kyc_providers.eq(json(providers)), vendors::phone_countries.eq(json(countries))))
        .execute(conn)?;
    Ok(())
}

pub fn insert(conn: &mut DbConn, vendor: &Vendor) -> Result<()> {
    diesel::insert_into(vendors::table).values(vendor).execute(conn)?;
    Ok(())
}

pub fn get(conn: &mut DbConn, vendor_id: &str) -> Result<Vendor> {
    vendors::table
        .find(vendor_id)
        .select(Vendor::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| crate::Error::not_found("vendor"))
}

pub fn all_ids(conn: &mut DbConn) -> Result<Vec<String>> {
    Ok(vendors::table.select(vendors::id).order(vendors::id).load(conn)?)
}

pub fn count(conn: &mut DbConn) -> Result<i64> {
    Ok(vendors::table.count().get_result(conn)?)
}

pub fn update_settings(
    conn: &mut DbConn,
    vendor_id: &str,
    name: &str,
    origins: &[String],
    auto_publish_min_level: Option<i32>,
) -> Result<()> {
    diesel::update(vendors::table.find(vendor_id))
        .set((
            vendors::name.eq(name),
            vendors::origins.eq(serde_json::to_string(origins).unwrap_or_else(|_| "[]".into())),
            vendors::auto_publish_min_level.eq(auto_publish_min_level),
        ))
        .execute(conn)?;
    Ok(())
}

/// The version of what the vendor's widget shows: moved by the database's triggers with
/// every change to the rows the widget's reads are made of (migration `widget_version`);
/// 0 before the first.
pub fn widget_version(conn: &mut DbConn, vendor_id: &str) -> Result<i64> {
    use crate::db::schema::widget_versions;
    let version = widget_versions::table.find(vendor_id).select(widget_versions::version).first(conn).optional()?;
    Ok(version.unwrap_or(0))
}

/// Whether the "widget served" mark is due (see [`super::mark_is_stale`]).
pub fn widget_mark_is_stale(vendor: &Vendor, now: i64) -> bool {
    super::mark_is_stale(vendor.widget_served_at, now)
}

/// Records that the widget API served this vendor (at most once a minute per vendor).
pub fn mark_widget_served(conn: &mut DbConn, vendor_id: &str, now: i64) -> Result<()> {
    diesel::update(
        vendors::table.find(vendor_id).filter(
            vendors::widget_served_at.is_null().or(vendors::widget_served_at.lt(now - super::MARK_INTERVAL_MS)),
        ),
    )
    .set(vendors::widget_served_at.eq(now))
    .execute(conn)?;
    Ok(())
}

/// Whether any vendor registered this exact origin (CORS preflight).
pub fn origin_registered(conn: &mut DbConn, origin: &str) -> Result<bool> {
    let quoted = serde_json::to_string(origin).unwrap_or_default();
    let candidates: Vec<String> = vendors::table
        .filter(vendors::origins.like(format!("%{quoted}%")))
        .select(vendors::origins)
        .limit(50)
        .load(conn)?;
    // LIKE is only a pre-filter (`_` and `%` in a hostile Origin are wildcards): compare exactly.
    Ok(candidates
        .iter()
        .any(|json| serde_json::from_str::<Vec<String>>(json).unwrap_or_default().iter().any(|o| o == origin)))
}

/// Sets or clears the SHA-256 of the vendor's secret feed token.
pub fn set_feed_token(conn: &mut DbConn, vendor_id: &str, token_hash: Option<&str>) -> Result<()> {
    diesel::update(vendors::table.find(vendor_id)).set(vendors::feed_token_hash.eq(token_hash)).execute(conn)?;
    Ok(())
}

/// The vendor whose feed token has this SHA-256.
pub fn by_feed_token(conn: &mut DbConn, token_hash: &str) -> Result<Option<Vendor>> {
    Ok(vendors::table
        .filter(vendors::feed_token_hash.eq(token_hash))
        .select(Vendor::as_select())
        .first(conn)
        .optional()?)
}

pub fn has_feed(conn: &mut DbConn, vendor_id: &str) -> Result<bool> {
    Ok(vendors::table
        .find(vendor_id)
        .select(vendors::feed_token_hash.is_not_null())
        .first::<bool>(conn)
        .optional()?
        .unwrap_or(false))
}
