//! The job queue as the console shows it: `GET /api/v1/jobs?state=dead` and
//! `POST /api/v1/jobs/{id}/retry` (owner). Payloads are not shown: they may hold contacts.

use actix_web::{get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::State;
use crate::domain::ids::PathId;
use crate::error::{Error, Result};
use crate::funnel::queue;
use crate::http::errors::Problem;
use crate::http::extract::StaffSession;
use crate::http::ServiceConfig;
use crate::store::jobs::{self, Job};

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_jobs).service(retry_job);
}

#[derive(Serialize, ToSchema)]
pub struct JobView {
    pub id: String,
    /// What the job does, e.g. `funnel.invite`.
    pub name: String,
    /// `queued`, `running`, `done` or `dead`.
    pub state: String,
    pub attempts: i32,
    pub max_attempts: i32,
    /// When it runs (next) or ran.
    pub run_at: String,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

fn rfc3339(ms: i64) -> String {
    crate::clock::from_ms(ms).to_rfc3339()
}

impl From<Job> for JobView {
    fn from(j: Job) -> Self {
        JobView {
            id: j.id,
            name: j.name,
            state: j.state,
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            run_at: rfc3339(j.run_at),
            last_error: j.last_error,
            created_at: rfc3339(j.created_at),
            updated_at: rfc3339(j.updated_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct JobPage {
    pub jobs: Vec<JobView>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
pub struct JobQuery {
    /// Default `dead` (the dead-letter list).
    #[param(pattern = "^(queued|running|done|dead)$")]
    pub state: Option<String>,
    /// `next_cursor` of the previous page (empty = first page).
    #[param(pattern = "^[A-Za-z0-9_-]{0,64}$")]
    pub cursor: Option<String>,
    /// 1–100, default 50.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// The vendor's jobs in one state, newest first (owner only).
#[utoipa::path(tag = "jobs", security(("staff" = [])), params(JobQuery), responses((status = 200, body = JobPage), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)))]
#[get("/api/v1/jobs")]
async fn list_jobs(state: State, session: StaffSession, query: web::Query<JobQuery>) -> Result<HttpResponse> {
    session.require_owner()?;
    let q = query.into_inner();
    let wanted = match q.state.as_deref().unwrap_or("dead") {
        "queued" => jobs::QUEUED,
        "running" => jobs::RUNNING,
        "done" => jobs::DONE,
        "dead" => jobs::DEAD,
        _ => return Err(Error::BadRequest("state must be queued, running, done or dead".into())),
    };
    let before = crate::http::id_cursor(q.cursor.as_deref())?;
    let limit = q.limit.unwrap_or(queue::PAGE_DEFAULT);
    let (rows, next_cursor) = queue::list(&state, &session.vendor_id, wanted, before, limit).await?;
    Ok(HttpResponse::Ok().json(JobPage { jobs: rows.into_iter().map(JobView::from).collect(), next_cursor }))
}

/// Puts a dead job back in the queue with fresh attempts (owner only; audited).
#[utoipa::path(tag = "jobs", security(("staff" = [])), params(("id" = String, Path, pattern = "^[A-Za-z0-9._~-]{1,64}$")), responses((status = 200, body = JobView), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
#[post("/api/v1/jobs/{id}/retry")]
async fn retry_job(state: State, session: StaffSession, id: web::Path<PathId>) -> Result<HttpResponse> {
    session.require_owner()?;
    let job = queue::retry(&state, &session.vendor_id, &session.actor(), id.as_str()).await?;
    Ok(HttpResponse::Ok().json(JobView::from(job)))
}
