//! Syndication (SPEC §11): Google's product-review feed at the vendor's secret URL, the
//! feed's set-up, and the JSON export of published reviews with level and checks.

use actix_web::http::header;
use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::State;
use crate::domain::order::parse_instant;
use crate::error::{Error, Result};
use crate::http::errors::Problem;
use crate::http::extract::{Principal, StaffSession};
use crate::http::ServiceConfig;
use crate::syndication::{self, SyndicatedPage};

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(status).service(rotate).service(disable).service(reviews_json).service(google_feed);
}

const FEED_PATH: &str = "google-product-reviews.xml";

#[derive(Serialize, ToSchema)]
pub struct SyndicationStatus {
    /// Whether the Google feed URL is live (its token is shown only when it is made).
    pub google_feed_enabled: bool,
}

/// Whether the vendor's syndication outputs are on (secret key or any staff role).
#[utoipa::path(tag = "syndication", security(("secret_key" = []), ("staff" = [])), responses((status = 200, body = SyndicationStatus), (status = 401, body = Problem)))]
#[get("/api/v1/syndication")]
async fn status(state: State, who: Principal) -> Result<HttpResponse> {
    let google_feed_enabled = syndication::feed_enabled(&state, who.vendor_id()).await?;
    Ok(HttpResponse::Ok().json(SyndicationStatus { google_feed_enabled }))
}

#[derive(Serialize, ToSchema)]
pub struct FeedSecret {
    /// Paste into Google Merchant Center (Product reviews → Feeds → scheduled fetch).
    /// Shown once: it is the only credential of the feed.
    pub feed_url: String,
}

/// Makes a new secret feed URL (owner only); the previous URL stops working at once.
#[utoipa::path(tag = "syndication", security(("staff" = [])), responses((status = 201, body = FeedSecret), (status = 401, body = Problem), (status = 403, body = Problem)))]
#[post("/api/v1/syndication/google-feed")]
async fn rotate(state: State, session: StaffSession, req: HttpRequest) -> Result<HttpResponse> {
    session.require_owner()?;
    let token = syndication::rotate_feed_token(&state, &session.vendor_id, &session.actor()).await?;
    let feed_url = format!("{}/feeds/{token}/{FEED_PATH}", crate::http::public_base(&state, &req));
    Ok(HttpResponse::Created().insert_header((header::CACHE_CONTROL, "no-store")).json(FeedSecret { feed_url }))
}

/// Turns the Google feed off (owner only): its URL answers 404 from now on.
#[utoipa::path(tag = "syndication", security(("staff" = [])), responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem)))]
#[delete("/api/v1/syndication/google-feed")]
async fn disable(state: State, session: StaffSession) -> Result<HttpResponse> {
    session.require_owner()?;
    syndication::disable_feed(&state, &session.vendor_id, &session.actor()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, IntoParams)]
pub struct SinceQuery {
    /// Only reviews published or changed at or after this instant (RFC 3339 date-time or
    /// `YYYY-MM-DD`); withdrawn reviews are listed too.
    #[param(format = DateTime)]
    pub since: Option<String>,
}

/// An RFC 3339 date-time (any year) or a `YYYY-MM-DD` date, as Unix ms.
fn parse_since(raw: Option<&str>) -> Result<Option<i64>> {
    let Some(raw) = raw else { return Ok(None) };
    let invalid = || Error::BadRequest("since must be an RFC 3339 date-time or a YYYY-MM-DD date".into());
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(raw.trim()) {
        return Ok(Some(t.timestamp_millis()));
    }
    parse_instant("since", raw).map(Some).map_err(|_| invalid())
}

#[derive(Deserialize, IntoParams)]
pub struct ExportQuery {
    /// Only reviews published or changed at or after this instant (RFC 3339 date-time or
    /// `YYYY-MM-DD`); reviews withdrawn since then are listed in `withdrawn`.
    #[param(format = DateTime)]
    pub since: Option<String>,
    /// `next_cursor` of the previous page (empty = first page).
    #[param(pattern = "^[A-Za-z0-9_-]{0,64}$")]
    pub cursor: Option<String>,
    /// 1–500, default 100.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

/// The vendor's published reviews with level and checks, oldest first, for aggregators
/// (secret key or any staff role).
#[utoipa::path(tag = "syndication", security(("secret_key" = []), ("staff" = [])), params(ExportQuery), responses((status = 200, body = SyndicatedPage), (status = 400, body = Problem), (status = 401, body = Problem)))]
#[get("/api/v1/syndication/reviews.json")]
async fn reviews_json(state: State, who: Principal, query: web::Query<ExportQuery>) -> Result<HttpResponse> {
    let q = query.into_inner();
    let since = parse_since(q.since.as_deref())?;
    let after = crate::http::id_cursor(q.cursor.as_deref())?;
    let limit = q.limit.unwrap_or(syndication::PAGE_DEFAULT);
    let page = syndication::reviews_page(&state, who.vendor_id(), since, after, limit).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Google's product-review feed (schema 2.4) at the vendor's secret URL: published product
/// reviews that are not an insider's, with GTIN/MPN/brand/SKU and the verified-purchase and
/// incentivised flags; `since` makes it incremental. The token is the only credential.
#[utoipa::path(
    tag = "syndication",
    params(
        ("feed_token" = String, Path, pattern = "^fd_[A-Za-z0-9_-]{43}$", description = "from POST /api/v1/syndication/google-feed"),
        SinceQuery
    ),
    responses(
        (status = 200, content_type = "application/xml", body = String, description = "the feed; `X-TruView-Truncated: true` when it stopped near Google's 100 MB file limit (fetch the rest with `since`)"),
        (status = 400, body = Problem),
        (status = 404, body = Problem)
    )
)]
#[get("/feeds/{feed_token}/google-product-reviews.xml")]
async fn google_feed(state: State, token: web::Path<String>, query: web::Query<SinceQuery>) -> Result<HttpResponse> {
    let token = token.into_inner();
    let shape = token.len() == 46
        && token.starts_with("fd_")
        && token[3..].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !shape {
        return Err(Error::not_found("feed"));
    }
    let since = parse_since(query.since.as_deref())?;
    let feed = syndication::google_feed(&state, &token, since).await?;
    let mut res = HttpResponse::Ok();
    res.content_type("application/xml; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "private, max-age=300"))
        .insert_header(("X-Robots-Tag", "noindex"))
        .insert_header(("X-TruView-Reviews", feed.reviews.to_string()));
    if feed.truncated {
        res.insert_header(("X-TruView-Truncated", "true"));
    }
    Ok(res.body(feed.xml))
}
