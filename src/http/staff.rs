//! Staff management (owner only for changes).

use actix_web::{get, patch, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::accounts;
use crate::app::State;
use crate::domain::account::Role;
use crate::domain::contact::Email;
use crate::domain::text::{clean, Lines};
use crate::error::{Error, Result};
use crate::http::errors::Problem;
use crate::http::extract::StaffSession;
use crate::security::password;
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
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// Initial password (12–128 characters); the member changes it after logging in.
    pub password: String,
}

/// Adds a staff member (owner only).
#[utoipa::path(tag = "staff", security(("staff" = [])), responses((status = 201, body = StaffView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
#[post("/api/v1/staff")]
async fn add_staff(state: State, session: StaffSession, body: web::Json<NewStaff>) -> Result<HttpResponse> {
    session.require_owner()?;
    let body = body.into_inner();
    let email = Email::parse("email", &body.email)?;
    let display_name = clean("display_name", &body.display_name, Lines::Single, 1, 80)?;
    password::check_policy(&body.password, email.as_str())?;
    let hash = accounts::hash_password(body.password).await?;
    let now = state.clock.now_ms();
    let member = Staff {
        id: store::new_id(state.clock.as_ref(), state.random.as_ref()),
        vendor_id: session.vendor_id.clone(),
        email: email.as_str().to_owned(),
        display_name,
        password_hash: hash,
        role: body.role.as_str().into(),
        active: true,
        created_at: now,
        updated_at: now,
    };
    let row = member.clone();
    let audit = state.audit.clone();
    state
        .db
        .write(move |conn| {
            store::staff::insert(conn, &row)?;
            let details = json!({"email": row.email, "role": row.role});
            session.audit(&audit, conn, now, "staff.created", &row.id, details)?;
            Ok(())
        })
        .await?;
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
/// cannot be demoted or deactivated.
#[utoipa::path(tag = "staff", security(("staff" = [])), params(("id" = String, Path)), responses((status = 200, body = StaffView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
#[patch("/api/v1/staff/{id}")]
async fn update_staff(
    state: State,
    session: StaffSession,
    id: web::Path<String>,
    body: web::Json<StaffUpdate>,
) -> Result<HttpResponse> {
    session.require_owner()?;
    let body = body.into_inner();
    let staff_id = id.into_inner();
    let now = state.clock.now_ms();
    let audit = state.audit.clone();
    let member = state
        .db
        .write(move |conn| {
            let current = store::staff::get(conn, &session.vendor_id, &staff_id)?;
            let role = body.role.map(Role::as_str).unwrap_or(current.role.as_str()).to_owned();
            let active = body.active.unwrap_or(current.active);
            let was_active_owner = current.active && current.role == "owner";
            let stays_active_owner = active && role == "owner";
            if was_active_owner
                && !stays_active_owner
                && store::staff::active_owner_count(conn, &session.vendor_id)? <= 1
            {
                return Err(Error::Conflict("the vendor must keep at least one active owner".into()));
            }
            store::staff::update_role_active(conn, &session.vendor_id, &staff_id, &role, active, now)?;
            if !active {
                store::sessions::revoke_all_for_staff(conn, &staff_id, now)?;
            }
            let details =
                json!({"role": role, "active": active, "previous_role": current.role, "was_active": current.active});
            session.audit(&audit, conn, now, "staff.updated", &staff_id, details)?;
            store::staff::get(conn, &session.vendor_id, &staff_id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(StaffView::from(member)))
}
