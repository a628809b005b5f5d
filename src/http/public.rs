//! Public endpoints for buyers and the widget: review flows, submission, helpful votes,
//! quick star ratings, summary and review list. Reads carry ETag + Cache-Control and CORS
//! only for the vendor's registered origins.

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::{AppState, State};
use crate::cache::{Cached, Lookup, VersionCheck};
use crate::db::DbConn;
use crate::domain::contact::Email;
use crate::domain::ids::PathId;
use crate::domain::maturity::Check;
use crate::domain::review::{self as review_input, Locale, Rating, Sku, VoterToken};
use crate::error::{Error, Result};
use crate::http::body::Json;
use crate::http::errors::Problem;
use crate::http::extract::{check_key_shape, client_ip, lookup_key, resolve_key};
use crate::http::text::{Line, Paragraph, Whole};
use crate::http::widget_key;
use crate::http::ServiceConfig;
use crate::reviews::{self, PublicWrite, Submission};
use crate::security::ratelimit;
use crate::security::tokens::sha256_hex;
use crate::store;
use crate::store::reviews::{PublicCursor, PublicQuery, Reply, Review, Sort, ALL};
use crate::store::vendors::Vendor;
use std::sync::Arc;

/// The patterns of the widget's reads, as in their `#[get]` below.
pub const WIDGET_READ_ROUTES: [&str; 2] = ["/api/v1/public/{pk}/reviews", "/api/v1/public/{pk}/summary"];

/// One of the widget's reads, recognised from the path alone: by far the most frequent
/// requests, so they are served ahead of the other middleware and the router
/// (`http::widget_reads_first`) and labelled without a walk over the route table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WidgetRead {
    Reviews,
    Summary,
}

impl WidgetRead {
    /// `/api/v1/public/{pk}/reviews` or `…/summary` whose `pk` is made of the characters
    /// keys are made of (anything else, a percent-escape say, is left to the router, which
    /// answers it as before). Returns the read and the `pk` segment.
    pub fn of(path: &str) -> Option<(WidgetRead, &str)> {
        let (pk, what) = path.strip_prefix("/api/v1/public/")?.split_once('/')?;
        let read = match what {
            "reviews" => WidgetRead::Reviews,
            "summary" => WidgetRead::Summary,
            _ => return None,
        };
        let key_chars = !pk.is_empty() && pk.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        key_chars.then_some((read, pk))
    }

    /// Its route pattern.
    pub fn route(self) -> &'static str {
        WIDGET_READ_ROUTES[self as usize]
    }
}

/// The widget's reads (registered first: see `http::routes`).
pub fn widget_reads(cfg: &mut ServiceConfig) {
    cfg.service(list_reviews).service(summary);
}

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(open_flow).service(submit_review).service(helpful).service(quick_rating);
}

/// `OPTIONS` for the public API. On `/api/v1/public/{pk}/…` only the origins of the
/// vendor whose publishable key is in the path are allowed (the key is looked up, no
/// scan of other vendors). `/api/v1/public/flows` and `/api/v1/public/reviews` carry no
/// key in the URL: there an origin some vendor registered is allowed, and the write
/// itself is then refused with 403 unless the origin is its own vendor's.
pub async fn preflight(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let mut res = HttpResponse::NoContent();
    res.insert_header((header::VARY, "Origin"));
    let Some(origin) = origin_of(&req) else { return Ok(res.finish()) };
    let tail = req.match_info().get("tail").unwrap_or_default().to_owned();
    let first = tail.split('/').next().unwrap_or_default().to_owned();
    let own = state.own_origin.as_ref().is_some_and(|o| o.as_str() == origin);
    let allowed = if own {
        true
    } else if first.starts_with("pk_") {
        preflight_origins(&state, first).await.contains(&origin)
    } else if matches!(tail.as_str(), "flows" | "reviews") {
        let needle = origin.clone();
        state.db.run(move |conn| store::vendors::origin_registered(conn, &needle)).await?
    } else {
        false
    };
    if allowed {
        res.insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin))
            .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST"))
            .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, "Content-Type, If-None-Match"))
            .insert_header((header::ACCESS_CONTROL_MAX_AGE, "600"));
    }
    Ok(res.finish())
}

/// The origins of the vendor whose publishable key this is; none for a key of the wrong
/// shape, an unknown or revoked key. (Preflights spend the per-IP budget like every request.)
async fn preflight_origins(state: &AppState, pk: String) -> Vec<String> {
    if check_key_shape(&pk, "publishable").is_err() {
        return Vec::new();
    }
    let found = state
        .db
        .run(move |conn| {
            let Some(key) = store::keys::live_by_hash(conn, &sha256_hex(&pk))?.filter(|k| k.kind == "publishable")
            else {
                return Ok(Vec::new());
            };
            Ok(store::vendors::get(conn, &key.vendor_id)?.origin_list())
        })
        .await;
    found.unwrap_or_default()
}

pub(crate) fn origin_of(req: &HttpRequest) -> Option<String> {
    req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// Where a public write comes from. An `Origin` header that is not visible ASCII cannot
/// be any vendor's origin: it is refused as foreign rather than treated as absent.
pub(crate) fn public_write(req: &HttpRequest) -> Result<PublicWrite> {
    let origin = match req.headers().get(header::ORIGIN) {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .filter(|o| o.bytes().all(|b| b.is_ascii_graphic()))
                .ok_or_else(|| Error::Forbidden("the Origin header is not a registered origin".into()))?
                .to_owned(),
        ),
    };
    Ok(PublicWrite { origin, ip: client_ip(req) })
}

/// Adds CORS headers when the request's origin is one of the vendor's.
pub(crate) fn cors(res: &mut HttpResponse, origin: Option<&str>, origins: &[String]) {
    res.headers_mut().insert(header::VARY, header::HeaderValue::from_static("Origin"));
    if let Some(origin) = origin.filter(|o| origins.iter().any(|a| a == o)) {
        if let Ok(v) = header::HeaderValue::from_str(origin) {
            res.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        }
    }
}

/// Serialises a widget read once: body, strong ETag, and what CORS and revalidation need.
fn to_cached<T: Serialize>(pk: &str, read: &WidgetData<T>) -> Result<Cached> {
    let body = serde_json::to_vec(&read.body).map_err(Error::internal)?;
    let digest = sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(&body));
    Ok(Cached {
        vendor_id: read.vendor.id.clone(),
        pk: Arc::from(pk),
        version: read.version,
        origins: Arc::new(read.vendor.origin_list()),
        etag: web::Bytes::from(format!("\"{}\"", &hex::encode(digest)[..32])),
        body: web::Bytes::from(body),
    })
}

/// The response for a widget read: `304` when the client already has this ETag.
fn widget_response(req: &HttpRequest, cached: &Cached) -> HttpResponse {
    use actix_web::http::StatusCode;
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim().as_bytes() == cached.etag || t.trim() == "*"));
    // Built directly (no builder): the body and the ETag are shared bytes, the rest static.
    let mut res = if matches {
        HttpResponse::new(StatusCode::NOT_MODIFIED)
    } else {
        let mut res = HttpResponse::new(StatusCode::OK).set_body(actix_web::body::BoxBody::new(cached.body.clone()));
        res.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
        res
    };
    if let Ok(etag) = header::HeaderValue::from_maybe_shared(cached.etag.clone()) {
        res.headers_mut().insert(header::ETAG, etag);
    }
    res.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("public, max-age=60"));
    cors(&mut res, origin_of(req).as_deref(), &cached.origins);
    res
}

/// Serves a widget read from the node's cache under `key` (built from the parsed query by
/// `widget_key`): fresh entries at once, stale ones at once while one background task
/// refreshes them (revalidates them by the vendor's widget version, or computes them
/// again), entries past the stale window once a version check confirms them, and misses
/// (and what a check did not confirm) by computing inline.
async fn cached_read<F, Fut>(state: &State, req: &HttpRequest, key: &str, compute: F) -> Result<HttpResponse>
where
    F: FnOnce() -> Fut + 'static,
    Fut: std::future::Future<Output = Result<Cached>> + 'static,
{
    let cache = &state.public_cache;
    match cache.lookup(key, state.clock.as_ref()) {
        Lookup::Fresh(hit) => Ok(widget_response(req, &hit)),
        Lookup::Stale { value, refresh } => {
            if refresh {
                // The refresh runs outside this request: no client's budget pays for it
                // (only the vendor's ceiling does). It waits for its turn among the node's
                // refreshes, so a burst of expiries is worked off a few at a time while
                // the stale values are served.
                let state = state.clone();
                let (vendor_id, pk, key) = (value.vendor_id.clone(), value.pk.clone(), key.to_owned());
                actix_web::rt::spawn(async move {
                    let _turn = state.public_cache.refresh_turn().await;
                    let generation = state.public_cache.generation();
                    let outcome = match revalidation(&state, &pk).await {
                        Ok(check) if state.public_cache.confirm(&key, &check) => return,
                        Ok(_) => compute().await,
                        Err(e) => Err(e),
                    };
                    match outcome {
                        Ok(fresh) => {
                            state.public_cache.note_recomputed();
                            state.public_cache.put(key, fresh, generation, state.clock.as_ref())
                        }
                        // The key was revoked (or the vendor is gone): stop serving what it read.
                        Err(Error::Unauthorized(_) | Error::NotFound(_)) => {
                            state.public_cache.forget_vendor(&vendor_id)
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "widget read refresh failed");
                            state.public_cache.refresh_failed(&key);
                        }
                    }
                });
            }
            Ok(widget_response(req, &value))
        }
        Lookup::Unconfirmed(value) => match revalidation(state, &value.pk).await {
            Ok(check) if cache.confirm(key, &check) => Ok(widget_response(req, &value)),
            Ok(_) => {
                cache.note_recomputed();
                compute_and_store(state, req, key, compute).await
            }
            Err(e @ (Error::Unauthorized(_) | Error::NotFound(_))) => {
                cache.forget_vendor(&value.vendor_id);
                Err(e)
            }
            Err(e) => Err(e),
        },
        Lookup::Miss => compute_and_store(state, req, key, compute).await,
    }
}

/// Computes a widget read on the request, answers with it and stores it under `key`.
async fn compute_and_store<F, Fut>(state: &State, req: &HttpRequest, key: &str, compute: F) -> Result<HttpResponse>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Cached>>,
{
    let generation = state.public_cache.generation();
    let fresh = compute().await?;
    let res = widget_response(req, &fresh);
    state.public_cache.put(key.to_owned(), fresh, generation, state.clock.as_ref());
    Ok(res)
}

/// Whether the vendor's widget changed since a cached read: the key's latest version check
/// when recent enough, else a new one (one point query), remembered for the key's other
/// expired reads.
async fn revalidation(state: &AppState, pk: &Arc<str>) -> Result<VersionCheck> {
    if let Some(check) = state.public_cache.recent_check(pk, state.clock.as_ref()) {
        return Ok(check);
    }
    let check = version_check(state, pk.to_string()).await?;
    state.public_cache.record_check(pk, check.clone(), state.clock.as_ref());
    Ok(check)
}

/// The vendor a publishable key names and its widget version now, for revalidating cached
/// reads; the key is looked up as a read looks it up (an unknown, revoked or expired key
/// is refused alike). No client's budget is spent: no client asked for it.
async fn version_check(state: &AppState, pk: String) -> Result<VersionCheck> {
    check_key_shape(&pk, "publishable")?;
    let at = state.clock.now_ms();
    state
        .db
        .run(move |conn| {
            let key = lookup_key(conn, &pk, "publishable", at)?;
            let version = store::vendors::widget_version(conn, &key.vendor_id)?;
            Ok(VersionCheck { vendor_id: key.vendor_id, version, at })
        })
        .await
}

/// A widget read's data with the vendor it belongs to and that vendor's widget version
/// as it was before the data was read.
pub(crate) struct WidgetData<T> {
    pub vendor: Vendor,
    pub version: i64,
    pub body: T,
}

/// Resolves the publishable key in the path and runs `read` on the same connection (one
/// blocking hop per cache miss); notes that the widget API served this vendor (a maturity
/// criterion). The key's budget (per key and client, under the vendor's ceiling; see
/// `ratelimit::KeyLimits`) is spent right after the lookup, before the read. The vendor's
/// widget version is read before anything the read shows (its origins included), so a
/// write in between leaves the entry marked older than what it holds (computed once
/// more), never the other way.
async fn widget_read<T, F>(state: &AppState, pk: String, read: F) -> Result<WidgetData<T>>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConn, &Vendor) -> Result<T> + Send + 'static,
{
    check_key_shape(&pk, "publishable")?;
    let now = state.clock.now_ms();
    let (limits, client) = (state.limits.keys.clone(), ratelimit::current_client());
    state
        .db
        .run(move |conn| {
            let key = lookup_key(conn, &pk, "publishable", now)?;
            limits.check(&key.id, &key.vendor_id, true, client)?;
            let version = store::vendors::widget_version(conn, &key.vendor_id)?;
            let vendor = store::vendors::get(conn, &key.vendor_id)?;
            if store::vendors::widget_mark_is_stale(&vendor, now) {
                store::vendors::mark_widget_served(conn, &vendor.id, now)?;
            }
            let body = read(conn, &vendor)?;
            Ok(WidgetData { vendor, version, body })
        })
        .await
}

/// Widget reads keep SKUs as strings; the rule is `domain::review::Sku`.
fn parse_sku(field: &str, raw: &str) -> Result<String> {
    // As the schema's pattern says: no surrounding spaces in a query value.
    if raw.trim() != raw {
        return Err(Error::validation(field, "must be 1–64 letters, digits and - _ . : / without spaces"));
    }
    review_input::parse_sku(field, raw)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowRequest {
    /// The vendor's publishable key (`pk_…`).
    #[schema(min_length = 4, max_length = 100, pattern = "^pk_[A-Za-z0-9_-]+$")]
    pub key: String,
    /// Product the review will be about; omit for a whole-shop review.
    #[schema(pattern = r"^[A-Za-z0-9\-_.:/]{1,64}$")]
    pub sku: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct FlowResponse {
    pub flow_id: String,
    /// Secret of this review session: KYC/KYP steps and the submission present it.
    pub flow_token: String,
    pub expires_at: String,
}

/// Starts a buyer's review flow from the widget.
#[utoipa::path(tag = "public", responses((status = 201, body = FlowResponse), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
#[post("/api/v1/public/flows")]
async fn open_flow(state: State, req: HttpRequest, body: Json<FlowRequest>) -> Result<HttpResponse> {
    let body = body.into_inner();
    let sku = body.sku.as_deref().map(|s| Sku::parse("sku", s)).transpose()?.map(Sku::into_string);
    let from = public_write(&req)?;
    let key = resolve_key(&state, body.key.trim(), "publishable").await?;
    let vendor_id = key.vendor_id.clone();
    let vendor = state.db.run(move |conn| store::vendors::get(conn, &vendor_id)).await?;
    let origin = from.origin;
    reviews::check_origin(origin.as_deref(), &vendor.origin_list(), state.own_origin.as_ref())?;
    let (flow, token) = reviews::open_flow(&state, &vendor.id, sku).await?;
    let mut res = HttpResponse::Created().insert_header((header::CACHE_CONTROL, "no-store")).json(FlowResponse {
        flow_id: flow.id,
        flow_token: token,
        expires_at: crate::clock::from_ms(flow.expires_at).to_rfc3339(),
    });
    cors(&mut res, origin.as_deref(), &vendor.origin_list());
    Ok(res)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    #[schema(min_length = 1, max_length = 200)]
    pub flow_token: String,
    /// 1–5 stars.
    #[schema(value_type = i64, minimum = 1, maximum = 5)]
    pub rating: Whole,
    /// 1–120 characters, one line, no control or bidi-override characters.
    pub title: Line<1, 120>,
    /// 1–5000 characters, no control (except newline and tab) or bidi-override characters.
    pub body: Paragraph<1, 5000>,
    /// At most 1000 characters.
    pub pros: Option<Paragraph<0, 1000>>,
    /// At most 1000 characters.
    pub cons: Option<Paragraph<0, 1000>>,
    /// BCP 47 tag, e.g. `en` or `ru-RU`; default `en`.
    #[schema(max_length = 35, pattern = "^[A-Za-z0-9]{1,8}(-[A-Za-z0-9]{1,8})*$")]
    pub locale: Option<String>,
    /// Must match the flow's product, if the flow has one.
    #[schema(pattern = r"^[A-Za-z0-9\-_.:/]{1,64}$")]
    pub sku: Option<String>,
    /// Shown with the review, 1–60 characters, one line.
    pub display_name: Line<1, 60>,
    /// Optional, never shown; stored only as a keyed hash.
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
}

impl TryFrom<ReviewRequest> for Submission {
    type Error = Error;

    fn try_from(b: ReviewRequest) -> Result<Submission> {
        Ok(Submission {
            flow_token: b.flow_token,
            rating: Rating::parse("rating", b.rating.0)?,
            title: b.title.clean("title")?,
            body: b.body.clean("body")?,
            pros: Paragraph::clean_optional(b.pros.as_ref(), "pros")?,
            cons: Paragraph::clean_optional(b.cons.as_ref(), "cons")?,
            locale: Locale::parse(b.locale.as_deref())?,
            sku: b.sku.as_deref().map(|s| Sku::parse("sku", s)).transpose()?,
            display_name: b.display_name.clean("display_name")?,
            email: b.email.as_deref().filter(|e| !e.trim().is_empty()).map(|e| Email::parse("email", e)).transpose()?,
        })
    }
}

#[derive(Serialize, ToSchema)]
pub struct SubmittedReview {
    pub id: String,
    /// `pending` (awaiting moderation) or `published`.
    pub status: String,
    pub maturity_level: i32,
    pub checks: Vec<Check>,
}

/// Submits a review. Text is NFC-normalised; control and bidi-override characters are
/// refused with 422; a second review for the same order and product is 409.
#[utoipa::path(tag = "public", responses((status = 201, body = SubmittedReview), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
#[post("/api/v1/public/reviews")]
async fn submit_review(state: State, req: HttpRequest, body: Json<ReviewRequest>) -> Result<HttpResponse> {
    let submission = Submission::try_from(body.into_inner())?;
    let from = public_write(&req)?;
    let review = reviews::submit(&state, submission, from.origin).await?;
    Ok(HttpResponse::Created().json(SubmittedReview {
        id: review.id,
        status: review.status,
        maturity_level: review.maturity_level,
        checks: serde_json::from_str(&review.checks).unwrap_or_default(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoteRequest {
    /// A random token the browser keeps (16–128 visible ASCII characters): one vote per token.
    #[schema(min_length = 16, max_length = 128, pattern = "^[!-~]{16,128}$")]
    pub voter_token: String,
}

#[derive(Serialize, ToSchema)]
pub struct VoteResponse {
    pub helpful_count: i64,
}

/// Resolves the publishable key of a public write's path (per-key limit applied).
async fn path_vendor(state: &AppState, pk: &str) -> Result<String> {
    Ok(resolve_key(state, pk, "publishable").await?.vendor_id)
}

/// Marks one of the vendor's published reviews helpful (a level-0 signal): one vote per
/// voter token, at most 5 per client address per review per day (then 429); from a
/// browser only on the vendor's own origins (403 otherwise).
#[utoipa::path(tag = "public", params(("pk" = String, Path, max_length = 100, pattern = "^pk_[A-Za-z0-9_-]+$"), ("id" = String, Path, pattern = "^[A-Za-z0-9._~-]{1,64}$")), responses((status = 200, body = VoteResponse), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
#[post("/api/v1/public/{pk}/reviews/{id}/helpful")]
async fn helpful(
    state: State,
    req: HttpRequest,
    path: web::Path<(String, PathId)>,
    body: Json<VoteRequest>,
) -> Result<HttpResponse> {
    let (pk, review_id) = path.into_inner();
    let token = VoterToken::parse(&body.voter_token)?;
    let from = public_write(&req)?;
    let vendor_id = path_vendor(&state, &pk).await?;
    let origin = from.origin.clone();
    let (vendor, count) = reviews::vote_helpful(&state, vendor_id, review_id.into_string(), token, from).await?;
    let mut res = HttpResponse::Ok().json(VoteResponse { helpful_count: count });
    cors(&mut res, origin.as_deref(), &vendor.origin_list());
    Ok(res)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuickRatingRequest {
    #[schema(pattern = r"^[A-Za-z0-9\-_.:/]{1,64}$")]
    pub sku: Option<String>,
    /// 1–5 stars.
    #[schema(value_type = i64, minimum = 1, maximum = 5)]
    pub rating: Whole,
    /// A random token the browser keeps (16–128 visible ASCII characters): one rating per
    /// product per token.
    #[schema(min_length = 16, max_length = 128, pattern = "^[!-~]{16,128}$")]
    pub voter_token: String,
}

/// An anonymous star rating from the widget (level 0); counted apart from reviews. At
/// most 20 per client address per vendor per day (then 429).
#[utoipa::path(tag = "public", params(("pk" = String, Path, max_length = 100, pattern = "^pk_[A-Za-z0-9_-]+$")), responses((status = 201), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
#[post("/api/v1/public/{pk}/ratings")]
async fn quick_rating(
    state: State,
    req: HttpRequest,
    pk: web::Path<String>,
    body: Json<QuickRatingRequest>,
) -> Result<HttpResponse> {
    let b = body.into_inner();
    let rating = Rating::parse("rating", b.rating.0)?;
    let sku = b.sku.as_deref().map(|s| Sku::parse("sku", s)).transpose()?;
    let token = VoterToken::parse(&b.voter_token)?;
    let from = public_write(&req)?;
    let vendor_id = path_vendor(&state, &pk).await?;
    let origin = from.origin.clone();
    let vendor = reviews::quick_rate(&state, vendor_id, sku, rating, token, from).await?;
    let mut res = HttpResponse::Created().finish();
    cors(&mut res, origin.as_deref(), &vendor.origin_list());
    Ok(res)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// Product SKU; omit for the whole vendor.
    #[param(pattern = r"^[A-Za-z0-9\-_.:/]{1,64}$")]
    pub sku: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RatingHistogram {
    #[serde(rename = "1")]
    pub one: i64,
    #[serde(rename = "2")]
    pub two: i64,
    #[serde(rename = "3")]
    pub three: i64,
    #[serde(rename = "4")]
    pub four: i64,
    #[serde(rename = "5")]
    pub five: i64,
}

#[derive(Serialize, ToSchema)]
pub struct LevelCounts {
    #[serde(rename = "0")]
    pub l0: i64,
    #[serde(rename = "1")]
    pub l1: i64,
    #[serde(rename = "2")]
    pub l2: i64,
    #[serde(rename = "3")]
    pub l3: i64,
    #[serde(rename = "4")]
    pub l4: i64,
    #[serde(rename = "5")]
    pub l5: i64,
}

#[derive(Serialize, ToSchema)]
pub struct QuickRatings {
    pub count: i64,
    pub average: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct Summary {
    pub sku: Option<String>,
    /// The catalogue's product for `sku` (for schema.org markup), when it has one.
    pub product: Option<crate::http::products::ProductView>,
    /// Published reviews.
    pub count: i64,
    /// Average stars of published reviews, one decimal.
    pub average: Option<f64>,
    pub histogram: RatingHistogram,
    /// Published reviews per maturity level.
    pub levels: LevelCounts,
    /// Anonymous quick star ratings (level 0), kept apart from reviews.
    pub quick_ratings: QuickRatings,
    /// The vendor's maturity level 0–5.
    pub vendor_level: u8,
}

fn average(count: i64, sum: i64) -> Option<f64> {
    (count > 0).then(|| (sum as f64 / count as f64 * 10.0).round() / 10.0)
}

/// Rating summary for the widget.
#[utoipa::path(tag = "public", params(("pk" = String, Path), SummaryQuery), responses((status = 200, body = Summary), (status = 304), (status = 400, body = Problem), (status = 401, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
#[get("/api/v1/public/{pk}/summary")]
async fn summary(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let pk = req.match_info().query("pk").to_owned();
    widget_read_answer(&state, &req, WidgetRead::Summary, pk).await
}

/// The `{pk}` path segment, refused unless it can be a publishable key.
pub(crate) fn path_pk(req: &HttpRequest) -> Result<String> {
    let pk = req.match_info().get("pk").unwrap_or_default();
    check_key_shape(pk, "publishable")?;
    Ok(pk.to_owned())
}

/// The widget reads' query; parameters they do not know are ignored.
pub(crate) fn parse_query<T: serde::de::DeserializeOwned>(query_string: &str) -> Result<T> {
    web::Query::<T>::from_query(query_string)
        .map(web::Query::into_inner)
        .map_err(|e| Error::BadRequest(format!("invalid query string: {e}")))
}

async fn summary_of(state: &AppState, pk: String, sku: Option<String>) -> Result<Cached> {
    to_cached(&pk.clone(), &summary_data(state, pk, sku).await?)
}

/// The summary a widget shows, with the vendor it belongs to.
pub(crate) async fn summary_data(state: &AppState, pk: String, sku: Option<String>) -> Result<WidgetData<Summary>> {
    let scope = sku.clone();
    let read = widget_read(state, pk, move |conn, vendor| {
        let agg = store::reviews::aggregate(conn, &vendor.id, scope.as_deref().unwrap_or(ALL))?;
        let quick = store::reviews::quick_totals(conn, &vendor.id, scope.as_deref())?;
        let product = match scope.as_deref() {
            Some(sku) => store::products::get(conn, &vendor.id, sku)?,
            None => None,
        };
        Ok((agg, quick, product))
    })
    .await?;
    let WidgetData { vendor, version, body: (agg, (quick_count, quick_sum), product) } = read;
    let vendor_level = reviews::cached_vendor_level(state, &vendor.id).await?;
    let count: i64 = agg.ratings.iter().sum();
    let sum: i64 = agg.ratings.iter().enumerate().map(|(i, c)| (i as i64 + 1) * c).sum();
    let [one, two, three, four, five] = agg.ratings;
    let [l0, l1, l2, l3, l4, l5] = agg.levels;
    let body = Summary {
        sku,
        product: product.map(crate::http::products::ProductView::from),
        count,
        average: average(count, sum),
        histogram: RatingHistogram { one, two, three, four, five },
        levels: LevelCounts { l0: l0 + quick_count, l1, l2, l3, l4, l5 },
        quick_ratings: QuickRatings { count: quick_count, average: average(quick_count, quick_sum) },
        vendor_level,
    };
    Ok(WidgetData { vendor, version, body })
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReviewsQuery {
    #[param(pattern = r"^[A-Za-z0-9\-_.:/]{1,64}$")]
    pub sku: Option<String>,
    /// Only reviews at this maturity level or above (0–5).
    #[param(minimum = 0, maximum = 5)]
    pub min_level: Option<i32>,
    /// `recent` (default), `helpful` or `rating`.
    #[param(pattern = "^(recent|helpful|rating)$")]
    pub sort: Option<String>,
    /// `next_cursor` of the previous page (empty = first page).
    #[param(pattern = "^[A-Za-z0-9_-]{0,400}$")]
    pub cursor: Option<String>,
    /// 1–50, default 20.
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct ReplyView {
    pub body: String,
    pub created_at: String,
    pub updated_at: String,
}

impl From<Reply> for ReplyView {
    fn from(r: Reply) -> Self {
        ReplyView {
            body: r.body,
            created_at: crate::clock::from_ms(r.created_at).to_rfc3339(),
            updated_at: crate::clock::from_ms(r.updated_at).to_rfc3339(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct PublicReview {
    pub id: String,
    /// Product SKU, or `null` for a whole-shop review.
    pub sku: Option<String>,
    pub rating: i32,
    pub title: String,
    pub body: String,
    pub pros: Option<String>,
    pub cons: Option<String>,
    pub locale: String,
    /// The author's display name; empty when erased on request.
    pub author: String,
    pub maturity_level: i32,
    /// What was verified, shown with the review (disclosure of the method).
    pub checks: Vec<Check>,
    /// Written by the vendor's staff or from the vendor's own domain.
    pub insider: bool,
    /// The author received an incentive (given for any honest review).
    pub incentivised: bool,
    pub helpful_count: i64,
    pub published_at: Option<String>,
    pub reply: Option<ReplyView>,
    /// The author changed the review after the vendor's reply (resolution loop); the earlier
    /// versions are in `history`.
    pub updated_after_reply: bool,
    /// Earlier versions the author replaced, oldest first (empty for most reviews).
    pub history: Vec<RevisionView>,
    /// The company the author works at, proven by a work e-mail on `domain` (B2B); `null`
    /// for most reviews.
    pub company: Option<CompanyView>,
}

/// A verified company: the domain is what a code to the author's work e-mail proved; name,
/// role and size are the author's own words.
#[derive(Serialize, ToSchema)]
pub struct CompanyView {
    pub domain: String,
    pub name: Option<String>,
    pub role: Option<String>,
    /// Employees: `1-10`, `11-50`, `51-250`, `251-1000` or `1001+`.
    pub size: Option<String>,
}

/// An earlier version of a review, as its author wrote it.
#[derive(Serialize, ToSchema)]
pub struct RevisionView {
    pub rating: i32,
    pub title: String,
    pub body: String,
    pub written_at: String,
    /// When the author replaced it.
    pub replaced_at: String,
}

impl PublicReview {
    /// Adds the review's earlier versions (from a batch of revisions of several reviews).
    pub fn with_history(mut self, revisions: &[crate::store::cases::Revision]) -> Self {
        let ts = |ms: i64| crate::clock::from_ms(ms).to_rfc3339();
        self.history = revisions
            .iter()
            .filter(|r| r.review_id == self.id)
            .map(|r| RevisionView {
                rating: r.rating,
                title: r.title.clone(),
                body: r.body.clone(),
                written_at: ts(r.written_at),
                replaced_at: ts(r.replaced_at),
            })
            .collect();
        self.updated_after_reply = !self.history.is_empty();
        self
    }

    pub fn new(r: Review, reply: Option<Reply>) -> Self {
        let company = serde_json::from_str::<crate::domain::maturity::Evidence>(&r.evidence)
            .ok()
            .filter(|e| !e.erased && !r.erased)
            .and_then(|e| e.company)
            .map(|c| CompanyView { domain: c.domain, name: c.name, role: c.role, size: c.size });
        PublicReview {
            company,
            sku: (!r.sku.is_empty()).then_some(r.sku),
            checks: serde_json::from_str(&r.checks).unwrap_or_default(),
            id: r.id,
            rating: r.rating,
            title: r.title,
            body: r.body,
            pros: r.pros,
            cons: r.cons,
            locale: r.locale,
            author: r.display_name,
            maturity_level: r.maturity_level,
            insider: r.insider,
            incentivised: r.incentivised,
            helpful_count: r.helpful_count,
            published_at: r.published_at.map(|ms| crate::clock::from_ms(ms).to_rfc3339()),
            reply: reply.map(ReplyView::from),
            updated_after_reply: false,
            history: Vec::new(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ReviewPage {
    pub reviews: Vec<PublicReview>,
    pub next_cursor: Option<String>,
}

fn encode_cursor(c: &PublicCursor) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(c).unwrap_or_default())
}

/// A cursor this service issued: its id part must be an id (no control characters, M4).
fn decode_cursor(raw: &str) -> Result<PublicCursor> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .ok()
        .and_then(|b| serde_json::from_slice::<PublicCursor>(&b).ok())
        .filter(|c| PathId::parse(&c.2).is_ok())
        .ok_or_else(|| Error::BadRequest("invalid cursor".into()))
}

/// Published reviews with their checks and replies, keyset-paginated.
#[utoipa::path(tag = "public", params(("pk" = String, Path), ReviewsQuery), responses((status = 200, body = ReviewPage), (status = 304), (status = 400, body = Problem), (status = 401, body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
#[get("/api/v1/public/{pk}/reviews")]
async fn list_reviews(state: State, req: HttpRequest) -> Result<HttpResponse> {
    let pk = req.match_info().query("pk").to_owned();
    widget_read_answer(&state, &req, WidgetRead::Reviews, pk).await
}

/// A widget read's query, parsed and validated: what a cache miss reads.
#[derive(Clone)]
enum ReadQuery {
    Reviews(PublicQuery),
    Summary { sku: Option<String> },
}

/// A widget read's parsed query and its cache key.
struct ParsedRead {
    key: String,
    query: ReadQuery,
}

/// Widget reads parsed on this worker, keyed by their raw path and query.
const PARSED_READS_PER_WORKER: usize = 4096;

thread_local! {
    /// Parsing is pure, so an entry never goes stale: a repeated read skips the query's
    /// parse and its key's serialisation (a fifth of a cache hit's own CPU in a profile,
    /// `benches/RESULTS.md`). Emptied when it holds [`PARSED_READS_PER_WORKER`] entries,
    /// so distinct query strings cannot grow it; a refused query is not kept.
    static PARSED_READS: std::cell::RefCell<std::collections::HashMap<Box<str>, std::rc::Rc<ParsedRead>>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// The parsed query of a widget read, from this worker's memo or parsed now.
fn parsed_read(req: &HttpRequest, read: WidgetRead, pk: &str) -> Result<std::rc::Rc<ParsedRead>> {
    let raw = req.uri().path_and_query().map_or(req.path(), |pq| pq.as_str());
    if let Some(known) = PARSED_READS.with_borrow(|memo| memo.get(raw).cloned()) {
        return Ok(known);
    }
    let parsed = std::rc::Rc::new(match read {
        WidgetRead::Reviews => {
            let query = parse_reviews_query(parse_query(req.query_string())?)?;
            ParsedRead { key: widget_key::reviews(pk, &query), query: ReadQuery::Reviews(query) }
        }
        WidgetRead::Summary => {
            let query: SummaryQuery = parse_query(req.query_string())?;
            let sku = query.sku.as_deref().map(|s| parse_sku("sku", s)).transpose().map_err(Error::into_query_error)?;
            ParsedRead { key: widget_key::summary(pk, sku.as_deref()), query: ReadQuery::Summary { sku } }
        }
    });
    PARSED_READS.with_borrow_mut(|memo| {
        if memo.len() >= PARSED_READS_PER_WORKER {
            memo.clear();
        }
        memo.insert(raw.into(), parsed.clone());
    });
    Ok(parsed)
}

/// Answers a widget read (ahead of the router or through it: the same code).
pub(crate) async fn widget_read_answer(
    state: &State,
    req: &HttpRequest,
    read: WidgetRead,
    pk: String,
) -> Result<HttpResponse> {
    check_key_shape(&pk, "publishable")?;
    let parsed = parsed_read(req, read, &pk)?;
    let (st, query) = (state.clone(), parsed.clone());
    cached_read(state, req, &parsed.key, move || async move {
        match query.query.clone() {
            ReadQuery::Reviews(q) => page_of(&st, pk, q).await,
            ReadQuery::Summary { sku } => summary_of(&st, pk, sku).await,
        }
    })
    .await
}

pub(crate) fn parse_reviews_query(q: ReviewsQuery) -> Result<PublicQuery> {
    let sort = match q.sort.as_deref().unwrap_or("recent") {
        "recent" => Sort::Recent,
        "helpful" => Sort::Helpful,
        "rating" => Sort::Rating,
        _ => return Err(Error::BadRequest("sort must be recent, helpful or rating".into())),
    };
    let min_level = q.min_level.unwrap_or(0);
    if !(0..=5).contains(&min_level) {
        return Err(Error::BadRequest("min_level must be between 0 and 5".into()));
    }
    let limit = q.limit.unwrap_or(20);
    if !(1..=50).contains(&limit) {
        return Err(Error::BadRequest("limit must be between 1 and 50".into()));
    }
    Ok(PublicQuery {
        sku: q.sku.as_deref().map(|s| parse_sku("sku", s)).transpose().map_err(Error::into_query_error)?,
        min_level,
        sort,
        after: q.cursor.as_deref().filter(|c| !c.is_empty()).map(decode_cursor).transpose()?,
        limit,
    })
}

async fn page_of(state: &AppState, pk: String, query: PublicQuery) -> Result<Cached> {
    to_cached(&pk.clone(), &page_data(state, pk, query).await?)
}

/// A page of published reviews, with the vendor they belong to.
pub(crate) async fn page_data(state: &AppState, pk: String, query: PublicQuery) -> Result<WidgetData<ReviewPage>> {
    let (sort, limit) = (query.sort, query.limit);
    let read = widget_read(state, pk, move |conn, vendor| {
        let rows = store::reviews::public_page(conn, &vendor.id, &query)?;
        let ids: Vec<String> = rows.iter().map(|(r, _)| r.id.clone()).collect();
        Ok((rows, store::cases::revisions_for(conn, &ids)?))
    })
    .await?;
    let WidgetData { vendor, version, body: (rows, revisions) } = read;
    let next_cursor = (rows.len() as i64 == limit).then(|| rows.last()).flatten().map(|(r, _)| {
        let key = match sort {
            Sort::Recent => 0,
            Sort::Helpful => r.helpful_count,
            Sort::Rating => i64::from(r.rating),
        };
        encode_cursor(&PublicCursor(key, r.published_at.unwrap_or(0), r.id.clone()))
    });
    let reviews = rows.into_iter().map(|(r, reply)| PublicReview::new(r, reply).with_history(&revisions));
    Ok(WidgetData { vendor, version, body: ReviewPage { reviews: reviews.collect(), next_cursor } })
}

#[cfg(test)]
mod tests {
    use super::WidgetRead;

    #[test]
    fn widget_reads_are_known_by_their_path_alone() {
        assert_eq!(WidgetRead::of("/api/v1/public/pk_Ab-9_z/reviews"), Some((WidgetRead::Reviews, "pk_Ab-9_z")));
        assert_eq!(WidgetRead::of("/api/v1/public/pk_x/summary"), Some((WidgetRead::Summary, "pk_x")));
        assert_eq!(WidgetRead::Reviews.route(), "/api/v1/public/{pk}/reviews");
        assert_eq!(WidgetRead::Summary.route(), "/api/v1/public/{pk}/summary");
        for other in [
            "/api/v1/public/pk_x/reviews/",
            "/api/v1/public/pk_x/reviews.html",
            "/api/v1/public/pk_x/ratings",
            "/api/v1/public//reviews",
            "/api/v1/public/pk%5Fx/reviews",
            "/api/v1/public/pk_x/reviews/r1/helpful",
            "/api/v1/public/reviews",
            "/api/v1/publicpk_x/reviews",
        ] {
            assert_eq!(WidgetRead::of(other), None, "{other}");
        }
    }
}
