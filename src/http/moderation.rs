//! Moderation: the review queue, decisions, public replies, CSV export.

use actix_web::http::header;
use actix_web::{get, post, web, HttpResponse};
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::State;
use crate::domain::ids::PathId;
use crate::domain::maturity::Check;
use crate::domain::moderation::{Action, RejectReason, Status};
use crate::error::{Error, Result};
use crate::http::body::Json;
use crate::http::errors::Problem;
use crate::http::extract::{Principal, StaffSession};
use crate::http::public::{PublicReview, ReplyView};
use crate::http::text::Paragraph;
use crate::http::ServiceConfig;
use crate::reviews;
use crate::store;
use crate::store::reviews::{Reply, Review};

pub fn routes(cfg: &mut ServiceConfig) {
    // export.csv before {id}, so the literal path wins.
    cfg.service(export_csv).service(list).service(get_one).service(decision).service(post_reply);
}

/// A review as staff see it: what readers see, plus moderation state.
#[derive(Serialize, ToSchema)]
pub struct StaffReview {
    #[serde(flatten)]
    pub review: PublicReview,
    pub status: String,
    pub reject_reason: Option<String>,
    /// The imported order this review is bound to (KYP), if any.
    pub order_id: Option<String>,
    /// The author's data was erased on request.
    pub erased: bool,
    pub created_at: String,
    pub decided_at: Option<String>,
}

impl StaffReview {
    pub fn new(r: Review, reply: Option<Reply>) -> Self {
        Self::with_history(r, reply, &[])
    }

    pub fn with_history(r: Review, reply: Option<Reply>, revisions: &[store::cases::Revision]) -> Self {
        let ts = |ms: i64| crate::clock::from_ms(ms).to_rfc3339();
        StaffReview {
            status: r.status.clone(),
            reject_reason: r.reject_reason.clone(),
            order_id: r.order_id.clone(),
            erased: r.erased,
            created_at: ts(r.created_at),
            decided_at: r.decided_at.map(ts),
            review: PublicReview::new(r, reply).with_history(revisions),
        }
    }
}

impl From<Review> for StaffReview {
    fn from(r: Review) -> Self {
        StaffReview::new(r, None)
    }
}

#[derive(Deserialize, IntoParams)]
pub struct QueueQuery {
    /// pending, published, rejected or flagged; omit for all.
    #[param(pattern = "^(pending|published|rejected|flagged)$")]
    pub status: Option<String>,
    /// `next_cursor` of the previous page (empty = first page).
    #[param(pattern = "^[A-Za-z0-9_-]{0,200}$")]
    pub cursor: Option<String>,
    /// 1–100, default 50.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct StaffReviewPage {
    pub reviews: Vec<StaffReview>,
    pub next_cursor: Option<String>,
}

fn encode_cursor(created: i64, id: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{created}:{id}"))
}

fn decode_cursor(raw: &str) -> Result<(i64, String)> {
    let bad = || Error::BadRequest("invalid cursor".into());
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
    let text = String::from_utf8(text).map_err(|_| bad())?;
    let (created, id) = text.split_once(':').ok_or_else(bad)?;
    // The id part is an id this service issued: no control characters reach a query (M4).
    let id = PathId::parse(id).map_err(|_| bad())?;
    Ok((created.parse().map_err(|_| bad())?, id.into_string()))
}

/// The moderation queue, newest first (staff or secret key).
#[utoipa::path(tag = "moderation", security(("staff" = []), ("secret_key" = [])), params(QueueQuery), responses((status = 200, body = StaffReviewPage), (status = 400, body = Problem), (status = 401, body = Problem)))]
#[get("/api/v1/reviews")]
async fn list(state: State, who: Principal, query: web::Query<QueueQuery>) -> Result<HttpResponse> {
    let q = query.into_inner();
    let status = q.status.as_deref().map(Status::parse).transpose()?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(Error::BadRequest("limit must be between 1 and 100".into()));
    }
    let after = q.cursor.as_deref().filter(|c| !c.is_empty()).map(decode_cursor).transpose()?;
    let vendor_id = who.vendor_id().to_owned();
    let rows = state
        .db
        .run(move |conn| {
            let rows = store::reviews::staff_page(conn, &vendor_id, status, after, limit)?;
            let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
            Ok((store::reviews::with_replies(conn, rows)?, store::cases::revisions_for(conn, &ids)?))
        })
        .await?;
    let (rows, revisions) = rows;
    let next_cursor = crate::domain::paging::next_cursor(&rows, limit, |(r, _)| encode_cursor(r.created_at, &r.id));
    let reviews = rows.into_iter().map(|(r, reply)| StaffReview::with_history(r, reply, &revisions));
    Ok(HttpResponse::Ok().json(StaffReviewPage { reviews: reviews.collect(), next_cursor }))
}

/// One review of the vendor's.
#[utoipa::path(tag = "moderation", security(("staff" = []), ("secret_key" = [])), params(("id" = String, Path, pattern = "^[A-Za-z0-9._~-]{1,64}$")), responses((status = 200, body = StaffReview), (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem)))]
#[get("/api/v1/reviews/{id}")]
async fn get_one(state: State, who: Principal, id: web::Path<PathId>) -> Result<HttpResponse> {
    let (review, reply, revisions) =
        reviews::staff_view(&state, who.vendor_id().to_owned(), id.into_inner().into_string()).await?;
    Ok(HttpResponse::Ok().json(StaffReview::with_history(review, reply, &revisions)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    pub action: Action,
    /// Required to reject, from the fixed list; only given when rejecting.
    pub reason: Option<RejectReason>,
}

/// Documented as what `domain::moderation::decide` accepts: `reject` with a reason from
/// the fixed list, or `publish`/`flag` without one.
impl utoipa::PartialSchema for DecisionRequest {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        let action = |names: &[&str]| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(names.iter().map(|n| serde_json::Value::from(*n))))
        };
        let reject = ObjectBuilder::new()
            .property("action", action(&["reject"]))
            .property("reason", <RejectReason as utoipa::PartialSchema>::schema())
            .required("action")
            .required("reason")
            .additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::FreeForm(false)))
            .description(Some("Reject, with a reason from the fixed list."));
        let other = ObjectBuilder::new()
            .property("action", action(&["publish", "flag"]))
            .property("reason", ObjectBuilder::new().schema_type(Type::Null))
            .required("action")
            .additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::FreeForm(false)))
            .description(Some("Publish or flag: no reason."));
        OneOfBuilder::new().item(reject).item(other).into()
    }
}

impl ToSchema for DecisionRequest {}

/// Publishes, rejects (with a reason from the fixed list) or flags a review. The same
/// rules apply to every rating.
#[utoipa::path(tag = "moderation", security(("staff" = [])), params(("id" = String, Path, pattern = "^[A-Za-z0-9._~-]{1,64}$")), responses((status = 200, body = StaffReview), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
#[post("/api/v1/reviews/{id}/decision")]
async fn decision(
    state: State,
    session: StaffSession,
    id: web::Path<PathId>,
    body: Json<DecisionRequest>,
) -> Result<HttpResponse> {
    session.require_moderator()?;
    let (body, review_id) = (body.into_inner(), id.into_inner().into_string());
    reviews::decide(&state, session.vendor_id.clone(), review_id.clone(), session.actor(), body.action, body.reason)
        .await?;
    // The whole review as `GET` shows it (the console redraws its card from this).
    let (review, reply, revisions) = reviews::staff_view(&state, session.vendor_id.clone(), review_id).await?;
    Ok(HttpResponse::Ok().json(StaffReview::with_history(review, reply, &revisions)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyRequest {
    /// The vendor's public answer, 1–2000 characters.
    pub body: Paragraph<1, 2000>,
}

/// Creates or replaces the vendor's public reply to a review.
#[utoipa::path(tag = "moderation", security(("staff" = [])), params(("id" = String, Path, pattern = "^[A-Za-z0-9._~-]{1,64}$")), responses((status = 200, body = ReplyView), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
#[post("/api/v1/reviews/{id}/reply")]
async fn post_reply(
    state: State,
    session: StaffSession,
    id: web::Path<PathId>,
    body: Json<ReplyRequest>,
) -> Result<HttpResponse> {
    session.require_moderator()?;
    let text = body.body.clean("body")?;
    let reply = reviews::reply(
        &state,
        session.vendor_id.clone(),
        id.into_inner().into_string(),
        session.staff_id.clone(),
        text,
    )
    .await?;
    Ok(HttpResponse::Ok().json(ReplyView::from(reply)))
}

/// Neutralises spreadsheet formulas (R8, OWASP CSV injection): a cell starting with
/// `=`, `+`, `-`, `@`, tab or carriage return is prefixed with `'`.
pub fn csv_cell(value: &str) -> String {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}"),
        _ => value.to_owned(),
    }
}

const CSV_HEADER: [&str; 18] = [
    "id",
    "created_at",
    "published_at",
    "status",
    "reject_reason",
    "sku",
    "rating",
    "title",
    "body",
    "pros",
    "cons",
    "locale",
    "author",
    "maturity_level",
    "checks",
    "insider",
    "incentivised",
    "helpful_count",
];

fn csv_row(r: &Review) -> Vec<String> {
    let ts = |ms: i64| crate::clock::from_ms(ms).to_rfc3339();
    let checks: Vec<Check> = serde_json::from_str(&r.checks).unwrap_or_default();
    [
        r.id.clone(),
        ts(r.created_at),
        r.published_at.map(ts).unwrap_or_default(),
        r.status.clone(),
        r.reject_reason.clone().unwrap_or_default(),
        r.sku.clone(),
        r.rating.to_string(),
        r.title.clone(),
        r.body.clone(),
        r.pros.clone().unwrap_or_default(),
        r.cons.clone().unwrap_or_default(),
        r.locale.clone(),
        r.display_name.clone(),
        r.maturity_level.to_string(),
        checks.iter().map(|c| c.code.as_str()).collect::<Vec<_>>().join(" "),
        r.insider.to_string(),
        r.incentivised.to_string(),
        r.helpful_count.to_string(),
    ]
    .iter()
    .map(|v| csv_cell(v))
    .collect()
}

/// All the vendor's reviews as CSV, streamed in pages (staff or secret key).
#[utoipa::path(tag = "moderation", security(("staff" = []), ("secret_key" = [])), responses((status = 200, content_type = "text/csv", body = String), (status = 401, body = Problem)))]
#[get("/api/v1/reviews/export.csv")]
async fn export_csv(state: State, who: Principal) -> Result<HttpResponse> {
    let (tx, rx) = tokio::sync::mpsc::channel::<std::result::Result<web::Bytes, Error>>(4);
    let vendor_id = who.vendor_id().to_owned();
    let db = state.db.clone();
    actix_web::rt::spawn(async move {
        let mut after: Option<(i64, String)> = None;
        let mut first = true;
        loop {
            let (vendor, cursor) = (vendor_id.clone(), after.clone());
            let page = db.run(move |conn| store::reviews::export_page(conn, &vendor, cursor, 500)).await;
            let rows = match page {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::error!(error = %e, "CSV export failed mid-stream");
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            };
            let mut writer = csv::Writer::from_writer(Vec::new());
            if first {
                let _ = writer.write_record(CSV_HEADER);
                first = false;
            }
            for r in &rows {
                let _ = writer.write_record(csv_row(r));
            }
            let chunk = writer.into_inner().unwrap_or_default();
            if !chunk.is_empty() && tx.send(Ok(web::Bytes::from(chunk))).await.is_err() {
                return;
            }
            match rows.last() {
                Some(last) if rows.len() == 500 => after = Some((last.created_at, last.id.clone())),
                _ => return,
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, "attachment; filename=\"reviews.csv\""))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .streaming(stream))
}

#[cfg(test)]
mod tests {
    use super::csv_cell;

    #[test]
    fn formula_cells_are_neutralised() {
        for (raw, safe) in [
            ("=1+1", "'=1+1"),
            ("+cmd", "'+cmd"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "'\rx"),
            ("fine", "fine"),
            ("", ""),
        ] {
            assert_eq!(csv_cell(raw), safe);
        }
    }
}
