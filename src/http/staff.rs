//! Staff management (owner only for changes).

use actix_web::{get, patch, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts;
use crate::app::State;
use crate::domain::account::Role;
use crate::domain::contact::Email;
use crate::error::Result;
use crate::http::body::Json;
use crate::http::errors::Problem;
use crate::http::extract::StaffSession;
use crate::http::text::Line;
use crate::http::ServiceConfig;
use crate::store;
use crate::store::staff::Staff;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_staff).service(add_staff).service(update_staff);
}

#[derive(Serialize, ToSchema)]
pub struct StaffView {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub active: bool,
    pub created_at: String,
}

impl From<Staff> for StaffView {
    fn from(s: Staff) -> Self {
        StaffView {
            id: s.id,
            email: s.email,
            display_name: s.display_name,
            role: s.role,
            active: s.active,
            created_at: crate::clock::from_ms(s.created_at).to_rfc3339(),
        }
    }
}

/// The vendor's staff.
#[utoipa::path(tag = "staff", security(("staff" = [])), responses((status = 200, body = Vec<StaffView>), (status = 401, body = Problem)))]
#[get("/api/v1/staff")]
async fn list_staff(state: State, session: StaffSession) -> Result<HttpResponse> {
    let members = state.db.run(move |conn| store::staff::list(conn, &session.vendor_id)).await?;
    Ok(HttpResponse::Ok().json(members.into_iter().map(StaffView::from).collect::<Vec<_>>()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaff {
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    pub display_name: Line<1, 80>,
    pub role: Role,
    /// Initial password (12–128 characters); the member changes it after logging in.
    #[schema(min_length = 12, max_length = 128)]
    pub password: String,
}

/// Adds a staff member (owner only). E-mails are unique within a vendor, and a vendor has
/// at most 500 members, deactivated ones included (409 for either).
#[utoipa::path(tag = "staff", security(("staff" = [])), responses((status = 201, body = StaffView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
#[post("/api/v1/staff")]
async fn add_staff(state: State, session: StaffSession, body: Json<NewStaff>) -> Result<HttpResponse> {
    let body = body.into_inner();
    let input = accounts::NewStaff {
        email: Email::parse("email", &body.email)?,
        display_name: body.display_name.clean("display_name")?,
        role: body.role,
        password: body.password,
    };
    let member = accounts::add_staff(&state, &session.as_actor(), input).await?;
    Ok(HttpResponse::Created().json(StaffView::from(member)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffUpdate {
    pub role: Option<Role>,
    /// `false` deactivates: the member's sessions end at once.
    pub active: Option<bool>,
}

/// Changes a member's role or deactivates them (owner only). The last active owner
/// cannot be demoted or deactivated (409).
#[utoipa::path(tag = "staff", security(("staff" = [])), params(("id" = String, Path, pattern = "^[A-Za-z0-9._~-]{1,64}$")), responses((status = 200, body = StaffView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
#[patch("/api/v1/staff/{id}")]
async fn update_staff(
    state: State,
    session: StaffSession,
    id: web::Path<crate::domain::ids::PathId>,
    body: Json<StaffUpdate>,
) -> Result<HttpResponse> {
    let staff_id = id.into_inner().into_string();
    let member = accounts::update_staff(&state, &session.as_actor(), &staff_id, body.role, body.active).await?;
    Ok(HttpResponse::Ok().json(StaffView::from(member)))
}
