//! Vendor sign-up and settings.

use actix_web::{get, patch, post, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::{self, IssuedKey, NewVendor, VendorChanges};
use crate::app::State;
use crate::domain::account::parse_origins;
use crate::domain::contact::Email;
use crate::error::Result;
use crate::http::body::Json;
use crate::http::errors::Problem;
use crate::http::extract::{client_ip, Principal, StaffSession};
use crate::http::text::{origin_strings, Line, OriginUrl, Whole};
use crate::http::ServiceConfig;
use crate::store;
use crate::store::vendors::Vendor;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(signup).service(get_vendor).service(update_vendor).service(me);
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    /// Shop or company name shown with its reviews.
    pub vendor_name: Line<1, 100>,
    /// Website origins allowed to embed the widget, e.g. `https://shop.example`.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub origins: Vec<OriginUrl>,
    #[schema(format = Email, max_length = 254)]
    pub owner_email: String,
    /// 12–128 characters, not a common password.
    #[schema(min_length = 12, max_length = 128)]
    pub owner_password: String,
    pub owner_name: Option<Line<1, 80>>,
}

#[derive(Serialize, ToSchema)]
pub struct VendorView {
    pub id: String,
    pub name: String,
    pub origins: Vec<String>,
    /// Reviews at or above this level are published without moderation; `null` = moderate all.
    pub auto_publish_min_level: Option<i32>,
    /// The social-login providers the shop's review flow offers; `null`: every configured one.
    pub kyc_providers: Option<Vec<String>>,
    /// ISO 3166 countries phone codes are sent to; `null`: every country.
    pub phone_countries: Option<Vec<String>>,
    pub created_at: String,
}

impl From<Vendor> for VendorView {
    fn from(v: Vendor) -> Self {
        VendorView {
            origins: v.origin_list(),
            kyc_providers: v.provider_choice(),
            phone_countries: v.phone_country_choice(),
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

/// Self-service sign-up: a vendor, its owner account and its first keys. Staff e-mails
/// are unique per vendor, so an address already used at another vendor signs up like any
/// other (the answer reveals nothing about other vendors' staff). At most
/// `signups_per_ip_per_day` sign-ups per client IP (429).
#[utoipa::path(
    tag = "vendors",
    responses(
        (status = 201, body = SignupResponse),
        (status = 403, description = "sign-up is turned off", body = Problem),
        (status = 422, body = Problem),
        (status = 429, description = "too many sign-ups from this address today", body = Problem),
    )
)]
#[post("/api/v1/vendors")]
async fn signup(state: State, req: HttpRequest, body: Json<SignupRequest>) -> Result<HttpResponse> {
    let body = body.into_inner();
    let owner_email = Email::parse("owner_email", &body.owner_email)?;
    let input = NewVendor {
        name: body.vendor_name.clean("vendor_name")?,
        origins: parse_origins(&origin_strings(&body.origins))?,
        owner_name: accounts::owner_name(body.owner_name.as_ref().map(Line::raw), &owner_email)?,
        owner_email,
        owner_password: body.owner_password,
    };
    let created = accounts::signup(&state, input, client_ip(&req)).await?;
    // The body carries the secret key: no cache may keep it (L3).
    Ok(HttpResponse::Created().insert_header(("Cache-Control", "no-store")).json(SignupResponse {
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
    pub name: Option<Line<1, 100>>,
    #[schema(max_items = 20)]
    pub origins: Option<Vec<OriginUrl>>,
    /// 0–5, or `null` to moderate every review.
    #[serde(default, deserialize_with = "crate::http::present")]
    #[schema(value_type = Option<i32>, minimum = 0, maximum = 5)]
    pub auto_publish_min_level: Option<Option<Whole>>,
    /// Which configured social-login providers the review flow offers; `null`: all of them.
    #[serde(default, deserialize_with = "crate::http::present")]
    #[schema(value_type = Option<Vec<String>>, max_items = 20, pattern = "^[a-z0-9-]{1,32}$")]
    pub kyc_providers: Option<Option<Vec<String>>>,
    /// ISO 3166 alpha-2 countries phone codes may go to (`["GB", "IE"]`); `null`: all.
    #[serde(default, deserialize_with = "crate::http::present")]
    #[schema(value_type = Option<Vec<String>>, max_items = 250, pattern = "^[A-Z]{2}$")]
    pub phone_countries: Option<Option<Vec<String>>>,
}

/// Changes the vendor's settings (owner only).
#[utoipa::path(tag = "vendors", security(("staff" = [])), request_body = VendorUpdate, responses((status = 200, body = VendorView), (status = 403, body = Problem), (status = 422, body = Problem)))]
#[patch("/api/v1/vendor")]
async fn update_vendor(state: State, session: StaffSession, body: Json<VendorUpdate>) -> Result<HttpResponse> {
    let body = body.into_inner();
    let changes = VendorChanges {
        name: body.name.as_ref().map(|n| n.clean("name")).transpose()?,
        origins: body.origins.as_deref().map(|o| parse_origins(&origin_strings(o))).transpose()?,
        auto_publish_min_level: body
            .auto_publish_min_level
            .map(|level| level.map(|w| i32::try_from(w.0).unwrap_or(i32::MAX))),
        kyc_providers: body.kyc_providers,
        phone_countries: body.phone_countries,
    };
    let vendor = accounts::update_vendor(&state, &session.as_actor(), changes).await?;
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
