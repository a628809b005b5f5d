//! The catalogue (KYP): a vendor's products by SKU, written by the vendor's server (secret
//! key) or an owner, read by the server and any staff role. Orders create products
//! implicitly through `store::products::ensure`.

use serde_json::json;

use crate::core::Core;
use crate::domain::product::{PathSku, ProductInput};
use crate::error::{Error, Result};
use crate::store;
use crate::store::audit::Entry;
use crate::store::products::Product;

/// Page sizes of `GET /api/v1/products`.
pub const PAGE_MAX: i64 = 100;
pub const PAGE_DEFAULT: i64 = 50;

/// Creates or replaces the vendor's product `sku` (absent optional fields become empty);
/// audited as `product.upserted`. Returns the stored product and whether it was created.
pub async fn upsert(
    core: &Core,
    vendor_id: &str,
    actor: &str,
    sku: PathSku,
    input: ProductInput,
) -> Result<(Product, bool)> {
    let now = core.clock.now_ms();
    let row = Product {
        vendor_id: vendor_id.to_owned(),
        sku: sku.into_string(),
        name: input.name,
        url: input.url,
        gtin: input.gtin,
        created_at: now,
        updated_at: now,
        image_url: input.image_url,
        brand: input.brand,
        mpn: input.mpn,
    };
    let actor = actor.to_owned();
    let audit = core.audit.clone();
    core.db
        .write(move |conn| {
            let (stored, created) = store::products::upsert(conn, &row)?;
            let details = json!({
                "created": created,
                "name": stored.name,
                "gtin": stored.gtin,
                "brand": stored.brand,
                "mpn": stored.mpn,
            });
            audit.append(
                conn,
                &stored.vendor_id,
                now,
                Entry { actor: &actor, action: "product.upserted", target: &stored.sku, details },
            )?;
            Ok((stored, created))
        })
        .await
}

/// One product of the vendor; another vendor's SKU is not found.
pub async fn get(core: &Core, vendor_id: &str, sku: PathSku) -> Result<Product> {
    let vendor_id = vendor_id.to_owned();
    let found = core.db.run(move |conn| store::products::get(conn, &vendor_id, sku.as_str())).await?;
    found.ok_or_else(|| Error::not_found("product"))
}

/// A page of the vendor's products by SKU, after the SKU `after`, and the cursor of the
/// next page (`None` on the last).
pub async fn page(
    core: &Core,
    vendor_id: &str,
    after: Option<PathSku>,
    limit: i64,
) -> Result<(Vec<Product>, Option<String>)> {
    crate::domain::paging::check_limit(limit, PAGE_MAX)?;
    let vendor_id = vendor_id.to_owned();
    let rows = core
        .db
        .run(move |conn| store::products::page(conn, &vendor_id, after.as_ref().map(PathSku::as_str), limit))
        .await?;
    let next = crate::domain::paging::next_cursor(&rows, limit, |p| p.sku.clone());
    Ok((rows, next))
}
