//! Receipt proof: the buyer's upload in a review flow, and the staff's list, file view and
//! decision.

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::State;
use crate::domain::ids::PathId;
use crate::domain::receipt::MAX_BYTES;
use crate::error::{Error, Result};
use crate::http::body::Json;
use crate::http::errors::Problem;
use crate::http::extract::StaffSession;
use crate::http::text::Line;
use crate::http::ServiceConfig;
use crate::kyp::receipts;
use crate::store::receipts::Receipt;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(upload).service(list).service(file).service(decide);
}

#[derive(Serialize, ToSchema)]
pub struct ReceiptView {
    pub id: String,
    /// `pending`, `accepted` or `refused`.
    pub state: String,
    /// `image/jpeg`, `image/png` or `application/pdf` (told from the bytes).
    pub content_type: String,
    /// Bytes stored (image metadata removed).
    pub size: i64,
    pub reason: Option<String>,
    pub created_at: String,
    pub decided_at: Option<String>,
    /// The file is kept until this long after the decision; `null` while it is kept.
    pub file_deleted_at: Option<String>,
}

fn rfc3339(ms: i64) -> String {
    crate::clock::from_ms(ms).to_rfc3339()
}

impl From<Receipt> for ReceiptView {
    fn from(r: Receipt) -> Self {
        ReceiptView {
            id: r.id,
            state: r.state,
            content_type: r.content_type,
            size: r.size,
            reason: r.reason,
            created_at: rfc3339(r.created_at),
            decided_at: r.decided_at.map(rfc3339),
            file_deleted_at: r.file_deleted_at.map(rfc3339),
        }
    }
}

/// The buyer's receipt or invoice for a review flow: the raw file as the body (JPEG, PNG or
/// PDF, at most 5 MB; the type is told from the bytes, and a Content-Type that says
/// otherwise is refused with 415), the flow's token in `X-Truview-Flow`. Image metadata
/// (EXIF, text chunks) is removed before it is stored. One receipt per flow (409).
#[utoipa::path(
    tag = "public",
    params(("X-Truview-Flow" = String, Header, min_length = 1, max_length = 200, description = "the review flow's token")),
    request_body(content(
        (Vec<u8> = "image/jpeg"),
        (Vec<u8> = "image/png"),
        (Vec<u8> = "application/pdf")
    )),
    responses(
        (status = 201, body = ReceiptView),
        (status = 400, body = Problem),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 409, body = Problem),
        (status = 413, body = Problem),
        (status = 415, body = Problem),
        (status = 422, body = Problem)
    )
)]
#[post("/api/v1/public/kyp/receipt")]
async fn upload(state: State, req: HttpRequest, payload: web::Payload) -> Result<HttpResponse> {
    let token =
        req.headers().get("X-Truview-Flow").and_then(|v| v.to_str().ok()).map(str::to_owned).ok_or_else(|| {
            Error::BadRequest("the X-Truview-Flow header (the review flow's token) is required".into())
        })?;
    let declared = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = crate::http::body::bytes_up_to(&req, payload, MAX_BYTES, too_large).await?;
    let from = crate::http::public::public_write(&req)?;
    let receipt = receipts::upload(&state, &token, declared.as_deref(), &body, from).await?;
    Ok(HttpResponse::Created().insert_header((header::CACHE_CONTROL, "no-store")).json(ReceiptView::from(receipt)))
}

fn too_large() -> Error {
    Error::PayloadTooLarge(format!("a receipt may be at most {MAX_BYTES} bytes"))
}

#[derive(Serialize, ToSchema)]
pub struct ReceiptPage {
    pub receipts: Vec<ReceiptView>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
pub struct ReceiptQuery {
    /// Default `pending` (the ones to check).
    #[param(pattern = "^(pending|accepted|refused)$")]
    pub state: Option<String>,
    /// `next_cursor` of the previous page (empty = first page).
    #[param(pattern = "^[A-Za-z0-9_-]{0,64}$")]
    pub cursor: Option<String>,
    /// 1–100, default 50.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// Receipts to check (owners and moderators), newest first.
#[utoipa::path(tag = "moderation", security(("staff" = [])), params(ReceiptQuery), responses((status = 200, body = ReceiptPage), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)))]
#[get("/api/v1/receipts")]
async fn list(state: State, session: StaffSession, query: web::Query<ReceiptQuery>) -> Result<HttpResponse> {
    session.require_moderator()?;
    let q = query.into_inner();
    let wanted = match q.state.as_deref().unwrap_or("pending") {
        "pending" => "pending",
        "accepted" => "accepted",
        "refused" => "refused",
        _ => return Err(Error::BadRequest("state must be pending, accepted or refused".into())),
    };
    let before = crate::http::id_cursor(q.cursor.as_deref())?;
    let (rows, next_cursor) =
        receipts::list(&state, &session.vendor_id, wanted, before, q.limit.unwrap_or(receipts::PAGE_DEFAULT)).await?;
    Ok(HttpResponse::Ok()
        .json(ReceiptPage { receipts: rows.into_iter().map(ReceiptView::from).collect(), next_cursor }))
}

/// The receipt's file (owners and moderators), as an attachment that no browser runs: the
/// stored type, `nosniff`, and a sandboxing CSP. 404 once deleted after its retention.
#[utoipa::path(tag = "moderation", security(("staff" = [])), params(("id" = String, Path, pattern = "^[A-Za-z0-9._~-]{1,64}$")), responses((status = 200, description = "the file", content_type = "application/octet-stream"), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
#[get("/api/v1/receipts/{id}/file")]
async fn file(state: State, session: StaffSession, id: web::Path<PathId>) -> Result<HttpResponse> {
    session.require_moderator()?;
    let (meta, bytes) = receipts::file(&state, &session.vendor_id, id.as_str()).await?;
    let ext = match meta.content_type.as_str() {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        _ => "pdf",
    };
    Ok(HttpResponse::Ok()
        .content_type(meta.content_type.as_str())
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"receipt-{}.{ext}\"", meta.id)))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CONTENT_SECURITY_POLICY, "sandbox; default-src 'none'"))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(bytes))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// `true` accepts the receipt as proof of purchase (review level 3).
    pub accept: bool,
    /// Why (shown to no reader; kept with the decision).
    pub reason: Option<Line<1, 200>>,
}

/// Accepts or refuses a pending receipt (owners and moderators; audited). Accepted: the
/// review gets the check "Receipt checked by the shop" (level 3), now or when submitted.
#[utoipa::path(tag = "moderation", security(("staff" = [])), params(("id" = String, Path, pattern = "^[A-Za-z0-9._~-]{1,64}$")), request_body = DecisionBody, responses((status = 200, body = ReceiptView), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
#[post("/api/v1/receipts/{id}/decision")]
async fn decide(
    state: State,
    session: StaffSession,
    id: web::Path<PathId>,
    body: Json<DecisionBody>,
) -> Result<HttpResponse> {
    session.require_moderator()?;
    let b = body.into_inner();
    let reason = b.reason.as_ref().map(|r| r.clean("reason")).transpose()?;
    let receipt = receipts::decide(&state, &session.vendor_id, &session.actor(), id.as_str(), b.accept, reason).await?;
    Ok(HttpResponse::Ok().json(ReceiptView::from(receipt)))
}
