//! Vendor sign-up and settings.

use actix_web::{get, patch, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::accounts::{self, IssuedKey, NewVendor};
use crate::app::State;
use crate::domain::account::parse_origins;
use crate::domain::contact::Email;
use crate::domain::text::{clean, Lines};
use crate::error::{Error, Result};
use crate::http::errors::Problem;
use crate::http::extract::{Principal, StaffSession};
use crate::store;
use crate::store::vendors::Vendor;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(signup).service(get_vendor).service(update_vendor).service(me);
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    /// Shop or company name shown with its reviews.
    pub vendor_name: String,
    /// Website origins allowed to embed the widget, e.g. `https://shop.example`.
    #[serde(default)]
    pub origins: Vec<String>,
    pub owner_email: String,
    /// 12–128 characters, not a common password.
    pub owner_password: String,
    pub owner_name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct VendorView {
    pub id: String,
    pub name: String,
    pub origins: Vec<String>,
    /// Reviews at or above this level are published without moderation; `null` = moderate all.
    pub auto_publish_min_level: Option<i32>,
    pub created_at: String,
}

impl From<Vendor> for VendorView {
    fn from(v: Vendor) -> Self {
        VendorView {
            origins: v.origin_list(),
            id: v.id,
            name: v.name,
            auto_publish_min_level: v.auto_publish_min_level,
            created_at: crate::clock::from_ms(v.created_at).to_rfc3339(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct IssuedKeyView {
    pub id: String,
    /// `publishable` or `secret`.
    pub kind: String,
    pub label: String,
    pub prefix: String,
    /// The key itself: shown this once, stored only as a hash.
    pub key: String,
}

impl From<IssuedKey> for IssuedKeyView {
    fn from(k: IssuedKey) -> Self {
        IssuedKeyView { id: k.row.id, kind: k.row.kind, label: k.row.label, prefix: k.row.prefix, key: k.plaintext }
    }
}

#[derive(Serialize, ToSchema)]
pub struct OwnerView {
    pub id: String,
    pub email: String,
    pub role: String,
}

#[derive(Serialize, ToSchema)]
pub struct SignupResponse {
    pub vendor: VendorView,
    pub owner: OwnerView,
    pub publishable_key: IssuedKeyView,
    pub secret_key: IssuedKeyView,
}

/// Self-service sign-up: a vendor, its owner account and its first keys.
#[utoipa::path(
    tag = "vendors",
    responses(
        (status = 201, body = SignupResponse),
        (status = 403, description = "sign-up is turned off", body = Problem),
        (status = 409, description = "the e-mail is taken", body = Problem),
        (status = 422, body = Problem),
    )
)]
#[post("/api/v1/vendors")]
async fn signup(state: State, body: web::Json<SignupRequest>) -> Result<HttpResponse> {
    if !state.settings.signup_enabled {
        return Err(Error::Forbidden("self-service sign-up is turned off on this deployment".into()));
    }
    let body = body.into_inner();
    let owner_email = Email::parse("owner_email", &body.owner_email)?;
    let input = NewVendor {
        name: clean("vendor_name", &body.vendor_name, Lines::Single, 1, 100)?,
        origins: parse_origins(&body.origins)?,
        owner_name: match body.owner_name.as_deref() {
            Some(n) => clean("owner_name", n, Lines::Single, 1, 80)?,
            None => owner_email.as_str().split('@').next().unwrap_or_default().to_owned(),
        },
        owner_email,
        owner_password: body.owner_password,
    };
    let created = accounts::create_vendor(&state, input, "signup").await?;
    Ok(HttpResponse::Created().json(SignupResponse {
        owner: OwnerView { id: created.owner.id, email: created.owner.email, role: created.owner.role },
        vendor: created.vendor.into(),
        publishable_key: created.publishable.into(),
        secret_key: created.secret.into(),
    }))
}

/// The caller's vendor.
#[utoipa::path(tag = "vendors", security(("staff" = []), ("secret_key" = [])), responses((status = 200, body = VendorView), (status = 401, body = Problem)))]
#[get("/api/v1/vendor")]
async fn get_vendor(state: State, who: Principal) -> Result<HttpResponse> {
    let vendor_id = who.vendor_id().to_owned();
    let vendor = state.db.run(move |conn| store::vendors::get(conn, &vendor_id)).await?;
    Ok(HttpResponse::Ok().json(VendorView::from(vendor)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VendorUpdate {
    pub name: Option<String>,
    pub origins: Option<Vec<String>>,
    /// 0–5, or `null` to moderate every review.
    #[serde(default, deserialize_with = "crate::http::present")]
    #[schema(value_type = Option<i32>)]
    pub auto_publish_min_level: Option<Option<i32>>,
}

/// Changes the vendor's settings (owner only).
#[utoipa::path(tag = "vendors", security(("staff" = [])), request_body = VendorUpdate, responses((status = 200, body = VendorView), (status = 403, body = Problem), (status = 422, body = Problem)))]
#[patch("/api/v1/vendor")]
async fn update_vendor(state: State, session: StaffSession, body: web::Json<VendorUpdate>) -> Result<HttpResponse> {
    session.require_owner()?;
    let body = body.into_inner();
    let name = body.name.as_deref().map(|n| clean("name", n, Lines::Single, 1, 100)).transpose()?;
    let origins = body.origins.as_deref().map(parse_origins).transpose()?;
    if let Some(Some(level)) = body.auto_publish_min_level {
        if !(0..=5).contains(&level) {
            return Err(Error::validation("auto_publish_min_level", "must be between 0 and 5, or null"));
        }
    }
    let now = state.clock.now_ms();
    let audit = state.audit.clone();
    let vendor = state
        .db
        .write(move |conn| {
            let current = store::vendors::get(conn, &session.vendor_id)?;
            let name = name.unwrap_or_else(|| current.name.clone());
            let origins = origins.unwrap_or_else(|| current.origin_list());
            let auto = body.auto_publish_min_level.unwrap_or(current.auto_publish_min_level);
            store::vendors::update_settings(conn, &session.vendor_id, &name, &origins, auto)?;
            let details = json!({"name": name, "origins": origins, "auto_publish_min_level": auto});
            session.audit(&audit, conn, now, "vendor.updated", &session.vendor_id, details)?;
            store::vendors::get(conn, &session.vendor_id)
        })
        .await?;
    state.public_cache.forget_vendor(&vendor.id);
    Ok(HttpResponse::Ok().json(VendorView::from(vendor)))
}

#[derive(Serialize, ToSchema)]
pub struct MeView {
    /// `staff` or `secret_key`.
    pub kind: &'static str,
    pub vendor_id: String,
    pub staff_id: Option<String>,
    pub role: Option<String>,
    pub key_id: Option<String>,
}

/// Who the credentials belong to.
#[utoipa::path(tag = "vendors", security(("staff" = []), ("secret_key" = [])), responses((status = 200, body = MeView), (status = 401, body = Problem)))]
#[get("/api/v1/me")]
async fn me(who: Principal) -> HttpResponse {
    HttpResponse::Ok().json(match who {
        Principal::Staff(s) => MeView {
            kind: "staff",
            vendor_id: s.vendor_id,
            staff_id: Some(s.staff_id),
            role: Some(s.role.as_str().into()),
            key_id: None,
        },
        Principal::Secret(k) => {
            MeView { kind: "secret_key", vendor_id: k.vendor_id, staff_id: None, role: None, key_id: Some(k.key_id) }
        }
    })
}
