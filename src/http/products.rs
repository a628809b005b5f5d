//! The catalogue: `PUT /api/v1/products/{sku}`, `GET /api/v1/products[/{sku}]`.

use actix_web::{get, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::State;
use crate::catalogue;
use crate::domain::product::{Gtin, PathSku, ProductInput, WebUrl};
use crate::error::{Error, Result};
use crate::http::body::Json;
use crate::http::errors::Problem;
use crate::http::extract::Principal;
use crate::http::text::Line;
use crate::http::ServiceConfig;
use crate::store::products::Product;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_products).service(get_product).service(put_product);
}

/// A product. Every optional field given replaces the stored one; an absent or `null`
/// field clears it (PUT replaces the whole product).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductRequest {
    pub name: Line<1, 200>,
    /// The product page: an absolute http(s) URL.
    #[schema(value_type = Option<String>, max_length = 2048, pattern = "^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:[/?#][!-~]*)?$")]
    pub url: Option<String>,
    /// The product image: an absolute http(s) URL.
    #[schema(value_type = Option<String>, max_length = 2048, pattern = "^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:[/?#][!-~]*)?$")]
    pub image_url: Option<String>,
    pub brand: Option<Line<1, 100>>,
    /// GTIN-8, -12 (UPC), -13 (EAN) or -14: digits only, with a valid modulo-10 check digit.
    #[schema(value_type = Option<String>, pattern = "^(?:[0-9]{8}|[0-9]{12,14})$", example = "4006381333931")]
    pub gtin: Option<String>,
    /// Manufacturer part number.
    pub mpn: Option<Line<1, 70>>,
}

impl ProductRequest {
    fn parse(self) -> Result<ProductInput> {
        let url = |field: &str, v: Option<String>| v.map(|u| WebUrl::parse(field, &u).map(WebUrl::into_string));
        Ok(ProductInput {
            name: self.name.clean("name")?,
            url: url("url", self.url).transpose()?,
            image_url: url("image_url", self.image_url).transpose()?,
            brand: self.brand.map(|b| b.clean("brand")).transpose()?,
            gtin: self.gtin.map(|g| Gtin::parse("gtin", &g).map(Gtin::into_string)).transpose()?,
            mpn: self.mpn.map(|m| m.clean("mpn")).transpose()?,
        })
    }
}

#[derive(Serialize, ToSchema)]
pub struct ProductView {
    pub sku: String,
    pub name: String,
    pub url: Option<String>,
    pub image_url: Option<String>,
    pub brand: Option<String>,
    pub gtin: Option<String>,
    pub mpn: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Product> for ProductView {
    fn from(p: Product) -> Self {
        ProductView {
            sku: p.sku,
            name: p.name,
            url: p.url,
            image_url: p.image_url,
            brand: p.brand,
            gtin: p.gtin,
            mpn: p.mpn,
            created_at: crate::clock::from_ms(p.created_at).to_rfc3339(),
            updated_at: crate::clock::from_ms(p.updated_at).to_rfc3339(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ProductPage {
    pub products: Vec<ProductView>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
pub struct ProductQuery {
    /// `next_cursor` of the previous page (empty = first page).
    #[param(pattern = "^[A-Za-z0-9._:/-]{0,64}$")]
    pub cursor: Option<String>,
    /// 1–100, default 50.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// Creates or replaces a product (the vendor's secret key, or an owner): 201 when created,
/// 200 when replaced.
#[utoipa::path(
    tag = "catalogue",
    security(("secret_key" = []), ("staff" = [])),
    params(("sku" = String, Path, pattern = "^[A-Za-z0-9._:/-]{1,64}$", description = "1–64 letters, digits and - _ . : / (a `/` is sent as `%2F`)")),
    request_body = ProductRequest,
    responses(
        (status = 200, body = ProductView, description = "replaced"),
        (status = 201, body = ProductView, description = "created"),
        (status = 400, body = Problem),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 413, body = Problem),
        (status = 415, body = Problem),
        (status = 422, body = Problem)
    )
)]
#[put("/api/v1/products/{sku}")]
async fn put_product(
    state: State,
    who: Principal,
    sku: web::Path<PathSku>,
    body: Json<ProductRequest>,
) -> Result<HttpResponse> {
    if let Principal::Staff(staff) = &who {
        staff.require_owner()?;
    }
    let input = body.into_inner().parse()?;
    let (product, created) = catalogue::upsert(&state, who.vendor_id(), &who.actor(), sku.into_inner(), input).await?;
    let mut res = if created { HttpResponse::Created() } else { HttpResponse::Ok() };
    Ok(res.json(ProductView::from(product)))
}

/// The vendor's products by SKU (secret key or any staff role).
#[utoipa::path(tag = "catalogue", security(("secret_key" = []), ("staff" = [])), params(ProductQuery), responses((status = 200, body = ProductPage), (status = 400, body = Problem), (status = 401, body = Problem)))]
#[get("/api/v1/products")]
async fn list_products(state: State, who: Principal, query: web::Query<ProductQuery>) -> Result<HttpResponse> {
    let q = query.into_inner();
    let after = q
        .cursor
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(PathSku::parse)
        .transpose()
        .map_err(|_| Error::BadRequest("invalid cursor".into()))?;
    let (rows, next_cursor) =
        catalogue::page(&state, who.vendor_id(), after, q.limit.unwrap_or(catalogue::PAGE_DEFAULT)).await?;
    Ok(HttpResponse::Ok()
        .json(ProductPage { products: rows.into_iter().map(ProductView::from).collect(), next_cursor }))
}

/// One product of the vendor's (secret key or any staff role).
#[utoipa::path(tag = "catalogue", security(("secret_key" = []), ("staff" = [])), params(("sku" = String, Path, pattern = "^[A-Za-z0-9._:/-]{1,64}$", description = "1–64 letters, digits and - _ . : / (a `/` is sent as `%2F`)")), responses((status = 200, body = ProductView), (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem)))]
#[get("/api/v1/products/{sku}")]
async fn get_product(state: State, who: Principal, sku: web::Path<PathSku>) -> Result<HttpResponse> {
    let product = catalogue::get(&state, who.vendor_id(), sku.into_inner()).await?;
    Ok(HttpResponse::Ok().json(ProductView::from(product)))
}
