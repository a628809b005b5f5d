//! The catalogue: a vendor's products by SKU.

use diesel::prelude::*;

use crate::db::schema::products;
use crate::db::DbConn;
use crate::error::Result;

/// `None` is inserted as NULL (the columns' default), so a batch is one statement on SQLite.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = products, treat_none_as_default_value = false)]
pub struct Product {
    pub vendor_id: String,
    pub sku: String,
    pub name: String,
    pub url: Option<String>,
    pub gtin: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub image_url: Option<String>,
    pub brand: Option<String>,
    pub mpn: Option<String>,
}

/// One product of this vendor (a foreign or unknown SKU is `None`).
pub fn get(conn: &mut DbConn, vendor_id: &str, sku: &str) -> Result<Option<Product>> {
    Ok(products::table
        .filter(products::vendor_id.eq(vendor_id).and(products::sku.eq(sku)))
        .select(Product::as_select())
        .first(conn)
        .optional()?)
}

/// Up to `limit` products of this vendor with a SKU after `after`, by SKU (byte order).
pub fn page(conn: &mut DbConn, vendor_id: &str, after: Option<&str>, limit: i64) -> Result<Vec<Product>> {
    let mut query = products::table.filter(products::vendor_id.eq(vendor_id)).into_boxed();
    if let Some(after) = after {
        query = query.filter(products::sku.gt(after.to_owned()));
    }
    Ok(query.order(products::sku.asc()).limit(limit).select(Product::as_select()).load(conn)?)
}

/// Inserts the product unless its (vendor, SKU) exists; true when it was inserted.
/// Race-free on both backends (`INSERT … ON CONFLICT DO NOTHING`).
fn insert_if_missing(conn: &mut DbConn, product: &Product) -> Result<bool> {
    let n = crate::insert_or_ignore!(conn, products::table, product)?;
    Ok(n == 1)
}

/// Creates or replaces the product `row` (vendor, SKU and every field); `created_at` is
/// kept on update. Returns the stored row and whether it was created.
pub fn upsert(conn: &mut DbConn, row: &Product) -> Result<(Product, bool)> {
    let created = insert_if_missing(conn, row)?;
    if !created {
        diesel::update(products::table.filter(products::vendor_id.eq(&row.vendor_id).and(products::sku.eq(&row.sku))))
            .set((
                products::name.eq(&row.name),
                products::url.eq(&row.url),
                products::image_url.eq(&row.image_url),
                products::brand.eq(&row.brand),
                products::gtin.eq(&row.gtin),
                products::mpn.eq(&row.mpn),
                products::updated_at.eq(row.updated_at),
            ))
            .execute(conn)?;
    }
    let stored = get(conn, &row.vendor_id, &row.sku)?.ok_or(diesel::result::Error::NotFound)?;
    Ok((stored, created))
}

/// Makes sure the vendor has a product with this SKU (orders create products implicitly):
/// inserted with `name` (or the SKU as its name) if missing, an existing row never touched.
pub fn ensure(conn: &mut DbConn, vendor_id: &str, sku: &str, name: Option<&str>, now: i64) -> Result<()> {
    ensure_many(conn, vendor_id, &[(sku, name)], now)
}

/// [`ensure`] for many SKUs at once, in batches (an import names up to thousands of
/// products per transaction).
pub fn ensure_many(conn: &mut DbConn, vendor_id: &str, skus: &[(&str, Option<&str>)], now: i64) -> Result<()> {
    for batch in skus.chunks(500) {
        let rows: Vec<Product> = batch
            .iter()
            .map(|(sku, name)| Product {
                vendor_id: vendor_id.to_owned(),
                sku: (*sku).to_owned(),
                name: name.unwrap_or(sku).to_owned(),
                url: None,
                gtin: None,
                created_at: now,
                updated_at: now,
                image_url: None,
                brand: None,
                mpn: None,
            })
            .collect();
        // Backend-specific: the two dialects of "insert unless it exists".
        match conn {
            DbConn::Sqlite(c) => diesel::insert_or_ignore_into(products::table).values(&rows).execute(c)?,
            DbConn::Pg(c) => diesel::insert_into(products::table).values(&rows).on_conflict_do_nothing().execute(c)?,
        };
    }
    Ok(())
}
