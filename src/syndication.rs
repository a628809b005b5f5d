//! Syndication (SPEC §11): the vendor's reviews beyond its own site, with their level and
//! checks. Google's product-review feed at a secret URL (published product reviews, no
//! insider ones) and a JSON export for other aggregators; both carry only what the
//! vendor's own page shows.

use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::core::Core;
use crate::domain::feed::{self, FeedProduct, FeedReview, Publisher};
use crate::domain::maturity::{Check, Evidence, PurchaseMethod};
use crate::error::{Error, Result};
use crate::security::tokens::{new_token, sha256_hex};
use crate::store;
use crate::store::audit::Entry;
use crate::store::reviews::{Review, Syndicated, SyndicationQuery};

/// Rows read per query while a feed is built.
const BATCH: i64 = 1000;
/// Google refuses a feed file over 100 MB; a feed stops before that and says so.
pub const FEED_MAX_BYTES: usize = 95 * 1024 * 1024;
/// Page sizes of the JSON export.
pub const PAGE_MAX: i64 = 500;
pub const PAGE_DEFAULT: i64 = 100;

/// A new secret feed token (the old one stops working); shown once, stored as SHA-256.
pub async fn rotate_feed_token(core: &Core, vendor_id: &str, actor: &str) -> Result<String> {
    let token = new_token("fd", core.random.as_ref());
    let (vendor_id, actor, hash) = (vendor_id.to_owned(), actor.to_owned(), sha256_hex(&token));
    let (audit, now) = (core.audit.clone(), core.clock.now_ms());
    core.db
        .write(move |conn| {
            store::vendors::set_feed_token(conn, &vendor_id, Some(&hash))?;
            let details = json!({});
            audit.append(
                conn,
                &vendor_id,
                now,
                Entry { actor: &actor, action: "feed.rotated", target: "google", details },
            )?;
            Ok(())
        })
        .await?;
    Ok(token)
}

/// Turns the feed off: its URL answers 404 from now on.
pub async fn disable_feed(core: &Core, vendor_id: &str, actor: &str) -> Result<()> {
    let (vendor_id, actor) = (vendor_id.to_owned(), actor.to_owned());
    let (audit, now) = (core.audit.clone(), core.clock.now_ms());
    core.db
        .write(move |conn| {
            store::vendors::set_feed_token(conn, &vendor_id, None)?;
            let details = json!({});
            audit.append(
                conn,
                &vendor_id,
                now,
                Entry { actor: &actor, action: "feed.disabled", target: "google", details },
            )?;
            Ok(())
        })
        .await
}

pub async fn feed_enabled(core: &Core, vendor_id: &str) -> Result<bool> {
    let vendor_id = vendor_id.to_owned();
    core.db.run(move |conn| store::vendors::has_feed(conn, &vendor_id)).await
}

/// The feed document and whether it stopped at [`FEED_MAX_BYTES`] (fetch the rest with `since`).
pub struct GoogleFeed {
    pub xml: String,
    pub reviews: usize,
    pub truncated: bool,
}

fn invited(review: &Review) -> bool {
    serde_json::from_str::<Evidence>(&review.evidence)
        .ok()
        .and_then(|e| e.purchase)
        .is_some_and(|p| p.method == PurchaseMethod::Invitation)
}

/// The page that shows a review: its product's page, else the vendor's first origin.
fn landing(product: Option<&store::products::Product>, origins: &[String]) -> String {
    product.and_then(|p| p.url.clone()).or_else(|| origins.first().cloned()).unwrap_or_default()
}

fn feed_review((review, product, _reply): &Syndicated, origins: &[String]) -> FeedReview {
    let url = landing(product.as_ref(), origins);
    FeedReview {
        id: review.id.clone(),
        reviewer: review.display_name.clone(),
        written_at: review.created_at,
        title: review.title.clone(),
        content: review.body.clone(),
        pros: review.pros.clone(),
        cons: review.cons.clone(),
        review_url: url.clone(),
        rating: review.rating,
        locale: review.locale.clone(),
        product: FeedProduct {
            sku: review.sku.clone(),
            name: product.as_ref().map(|p| p.name.clone()),
            url,
            gtin: product.as_ref().and_then(|p| p.gtin.clone()),
            mpn: product.as_ref().and_then(|p| p.mpn.clone()),
            brand: product.as_ref().and_then(|p| p.brand.clone()),
        },
        verified_purchase: review.maturity_level >= 3,
        incentivised: review.incentivised,
        invited: invited(review),
    }
}

/// Google's product-review feed of the vendor whose secret token this is (404 otherwise):
/// every published product review that is not an insider's, or with `since` those
/// published or changed since then plus the ids of reviews withdrawn since.
pub async fn google_feed(core: &Core, token: &str, since: Option<i64>) -> Result<GoogleFeed> {
    let hash = sha256_hex(token);
    core.db
        .run(move |conn| {
            let vendor = store::vendors::by_feed_token(conn, &hash)?.ok_or_else(|| Error::not_found("feed"))?;
            let origins = vendor.origin_list();
            let mut items = Vec::new();
            let (mut bytes, mut truncated, mut after) = (0usize, false, None);
            loop {
                let q = SyndicationQuery { since, after: after.clone(), limit: BATCH, google: true };
                let rows = store::reviews::syndicated_page(conn, &vendor.id, &q)?;
                let full = rows.len() as i64 == BATCH;
                after = rows.last().map(|(r, _, _)| r.id.clone());
                for row in &rows {
                    let item = feed_review(row, &origins);
                    // A generous bound on the item's XML size (escaping at most sextuples).
                    bytes += 1024 + 6 * (item.title.len() + item.content.len() + item.reviewer.len());
                    if bytes > FEED_MAX_BYTES {
                        truncated = true;
                        break;
                    }
                    items.push(item);
                }
                if truncated || !full {
                    break;
                }
            }
            let deleted = match since {
                Some(since) => store::reviews::withdrawn_since(conn, &vendor.id, since, true)?,
                None => Vec::new(),
            };
            let xml = feed::google_product_reviews(&Publisher { name: &vendor.name, favicon: None }, &items, &deleted);
            let reviews = items.iter().filter(|r| feed::is_complete(r)).count();
            Ok(GoogleFeed { xml, reviews, truncated })
        })
        .await
}

/// A product's identifiers as syndicated.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyndicatedProduct {
    pub sku: String,
    pub name: Option<String>,
    pub url: Option<String>,
    pub gtin: Option<String>,
    pub mpn: Option<String>,
    pub brand: Option<String>,
}

/// A published review with everything a reader of the vendor's page sees.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyndicatedReview {
    pub id: String,
    /// `null` for a whole-shop review.
    pub product: Option<SyndicatedProduct>,
    pub rating: i32,
    pub title: String,
    pub body: String,
    pub pros: Option<String>,
    pub cons: Option<String>,
    pub locale: String,
    /// Empty when the author's data was erased on request.
    pub author: String,
    /// Review maturity level 0–5 (SPEC §2).
    pub maturity_level: i32,
    /// What was verified, in words.
    pub checks: Vec<Check>,
    /// Bound to an order the shop imported (level 3 or more).
    pub verified_purchase: bool,
    pub incentivised: bool,
    pub insider: bool,
    pub written_at: String,
    pub published_at: Option<String>,
    pub reply: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SyndicatedPage {
    pub reviews: Vec<SyndicatedReview>,
    /// Withdrawn since `since` (only with `since`, on the first page).
    pub withdrawn: Vec<String>,
    pub next_cursor: Option<String>,
}

fn rfc3339(ms: i64) -> String {
    crate::clock::from_ms(ms).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn syndicated((review, product, reply): Syndicated) -> SyndicatedReview {
    SyndicatedReview {
        product: (!review.sku.is_empty()).then(|| SyndicatedProduct {
            sku: review.sku.clone(),
            name: product.as_ref().map(|p| p.name.clone()),
            url: product.as_ref().and_then(|p| p.url.clone()),
            gtin: product.as_ref().and_then(|p| p.gtin.clone()),
            mpn: product.as_ref().and_then(|p| p.mpn.clone()),
            brand: product.as_ref().and_then(|p| p.brand.clone()),
        }),
        checks: serde_json::from_str(&review.checks).unwrap_or_default(),
        verified_purchase: review.maturity_level >= 3,
        written_at: rfc3339(review.created_at),
        published_at: review.published_at.map(rfc3339),
        reply: reply.map(|r| r.body),
        id: review.id,
        rating: review.rating,
        title: review.title,
        body: review.body,
        pros: review.pros,
        cons: review.cons,
        locale: review.locale,
        author: review.display_name,
        maturity_level: review.maturity_level,
        incentivised: review.incentivised,
        insider: review.insider,
    }
}

/// A page of the vendor's published reviews (all of them, whole-shop and insider ones
/// flagged as on the widget), oldest first, optionally only those published or changed
/// since an instant. `after` is a review id from the previous page's cursor.
pub async fn reviews_page(
    core: &Core,
    vendor_id: &str,
    since: Option<i64>,
    after: Option<String>,
    limit: i64,
) -> Result<SyndicatedPage> {
    crate::domain::paging::check_limit(limit, PAGE_MAX)?;
    let vendor_id = vendor_id.to_owned();
    core.db
        .run(move |conn| {
            let first_page = after.is_none();
            let q = SyndicationQuery { since, after, limit, google: false };
            let rows = store::reviews::syndicated_page(conn, &vendor_id, &q)?;
            let next_cursor = crate::domain::paging::next_cursor(&rows, limit, |(r, _, _)| r.id.clone());
            let withdrawn = match since {
                Some(since) if first_page => store::reviews::withdrawn_since(conn, &vendor_id, since, false)?,
                _ => Vec::new(),
            };
            Ok(SyndicatedPage { reviews: rows.into_iter().map(syndicated).collect(), withdrawn, next_cursor })
        })
        .await
}
