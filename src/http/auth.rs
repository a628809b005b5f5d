//! Staff login, token refresh, logout and password change.

use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{post, put, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts::{self, Tokens};
use crate::app::State;
use crate::error::{Error, Result};
use crate::http::body::Json;
use crate::http::errors::Problem;
use crate::http::extract::{client_ip, StaffSession};
use crate::http::ServiceConfig;
use crate::security::password;
use crate::security::ratelimit;
use crate::store::staff::Staff;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(login).service(refresh).service(logout).service(change_password);
}

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    #[schema(max_length = 254)]
    pub email: String,
    #[schema(max_length = 1024)]
    pub password: String,
    /// The vendor to log in to, for an e-mail address that is staff at several vendors
    /// (e-mails are unique per vendor). Without it, the oldest account whose password
    /// matches is used.
    #[serde(default)]
    #[schema(max_length = 64)]
    pub vendor_id: Option<String>,
    /// Browsers (the console): keep the refresh token in an HttpOnly, SameSite=Strict
    /// cookie limited to `/api/v1/auth` instead of returning it, so page scripts never
    /// see it. Refresh and logout then take it from the cookie (same-origin calls only).
    #[serde(default)]
    pub cookie: bool,
}

#[derive(Serialize, ToSchema)]
pub struct SessionStaff {
    pub id: String,
    pub vendor_id: String,
    pub email: String,
    pub role: String,
}

#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    /// Short-lived EdDSA JWT: send as `Authorization: Bearer …`.
    pub access_token: String,
    /// `Bearer`
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Exchange at `/api/v1/auth/refresh`; single use, rotated each time. Absent when the
    /// session keeps it in the HttpOnly cookie (`cookie: true` at login).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub staff: SessionStaff,
}

/// Where a session's refresh token travels: in the JSON body (API clients) or only in an
/// HttpOnly cookie (browsers).
#[derive(Clone, Copy, PartialEq)]
enum Carrier {
    Body,
    Cookie { secure: bool, max_age_days: i64 },
}

/// The refresh cookie: HttpOnly, SameSite=Strict, sent only to the auth endpoints.
const REFRESH_COOKIE: &str = "tv_refresh";
const REFRESH_COOKIE_PATH: &str = "/api/v1/auth";

fn refresh_cookie(value: String, secure: bool, max_age_days: i64) -> Cookie<'static> {
    Cookie::build(REFRESH_COOKIE, value)
        .path(REFRESH_COOKIE_PATH)
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .max_age(CookieDuration::days(max_age_days))
        .finish()
}

fn token_response(tokens: Tokens, member: Staff, carrier: Carrier) -> HttpResponse {
    let mut res = HttpResponse::Ok();
    res.insert_header(("Cache-Control", "no-store"));
    let refresh_token = match carrier {
        Carrier::Body => Some(tokens.refresh_token),
        Carrier::Cookie { secure, max_age_days } => {
            res.cookie(refresh_cookie(tokens.refresh_token, secure, max_age_days));
            None
        }
    };
    res.json(TokenResponse {
        access_token: tokens.access_token,
        token_type: "Bearer",
        expires_in: tokens.expires_in,
        refresh_token,
        staff: SessionStaff { id: member.id, vendor_id: member.vendor_id, email: member.email, role: member.role },
    })
}

fn cookie_carrier(state: &State, req: &HttpRequest) -> Carrier {
    let secure = crate::http::public_base(state, req).starts_with("https://");
    Carrier::Cookie { secure, max_age_days: state.settings.refresh_token_ttl_days }
}

/// The refresh token a call presents, if any: the body's, else the cookie's — and a cookie
/// is taken only from a same-origin call (`Origin` is this service), on top of SameSite=Strict.
fn presented(state: &State, req: &HttpRequest, body: &RefreshRequest) -> Result<Option<(String, Carrier)>> {
    if let Some(token) = &body.refresh_token {
        return Ok(Some((presented_token(token)?.to_owned(), Carrier::Body)));
    }
    let Some(cookie) = req.cookie(REFRESH_COOKIE) else {
        return Ok(None);
    };
    let origin = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok());
    if origin != Some(crate::http::public_base(state, req).as_str()) {
        return Err(Error::Forbidden("the refresh cookie is accepted only from this service's own pages".into()));
    }
    Ok(Some((presented_token(cookie.value())?.to_owned(), cookie_carrier(state, req))))
}

/// Logs a staff member in. Unknown e-mail and wrong password give the same 401; five
/// failures per account in 15 minutes lock it (429).
#[utoipa::path(
    tag = "auth",
    responses((status = 200, body = TokenResponse), (status = 401, body = Problem), (status = 429, body = Problem))
)]
#[post("/api/v1/auth/login")]
async fn login(state: State, req: HttpRequest, body: Json<LoginRequest>) -> Result<HttpResponse> {
    if let Some(ip) = client_ip(&req) {
        ratelimit::check(&state.limits.login_ip, &ip)?;
    }
    let body = body.into_inner();
    if body.email.len() > 254 || body.password.len() > 4 * password::MAX_LEN {
        return Err(Error::Unauthorized("invalid e-mail or password".into()));
    }
    let carrier = if body.cookie { cookie_carrier(&state, &req) } else { Carrier::Body };
    let (tokens, member) = accounts::login(&state, &body.email, body.password, body.vendor_id.as_deref()).await?;
    Ok(token_response(tokens, member, carrier))
}

#[derive(Deserialize, ToSchema)]
pub struct RefreshRequest {
    /// The refresh token; absent when the session keeps it in the HttpOnly cookie.
    #[serde(default)]
    #[schema(max_length = 200, pattern = "^\\s*[!-~]*\\s*$", nullable = false)]
    pub refresh_token: Option<String>,
}

/// Exchanges a refresh token for new tokens (the old one is spent). A cookie session
/// gets its new refresh token as a cookie again; the cookie is read only from the
/// service's own pages (403 otherwise).
#[utoipa::path(tag = "auth", responses((status = 200, body = TokenResponse), (status = 401, body = Problem), (status = 403, body = Problem)))]
#[post("/api/v1/auth/refresh")]
async fn refresh(state: State, req: HttpRequest, body: Json<RefreshRequest>) -> Result<HttpResponse> {
    let (token, carrier) = presented(&state, &req, &body)?.ok_or_else(|| {
        Error::Unauthorized("no refresh token: send refresh_token, or log in with cookie: true".into())
    })?;
    let (tokens, member) = accounts::refresh(&state, &token).await?;
    Ok(token_response(tokens, member, carrier))
}

/// Ends the session: the refresh token's family is revoked, and the session's access
/// tokens stop working at once. The refresh token is optional: without one (none in the
/// body, no cookie) the session of the access token ends all the same.
#[utoipa::path(tag = "auth", security(("staff" = [])), request_body = RefreshRequest, responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem)))]
#[post("/api/v1/auth/logout")]
async fn logout(
    state: State,
    req: HttpRequest,
    session: StaffSession,
    body: Json<RefreshRequest>,
) -> Result<HttpResponse> {
    let presented = presented(&state, &req, &body)?;
    accounts::logout(&state, &session.as_actor(), presented.as_ref().map(|(token, _)| token.as_str())).await?;
    let mut res = HttpResponse::NoContent();
    if let Some((_, Carrier::Cookie { secure, .. })) = presented {
        res.cookie(refresh_cookie(String::new(), secure, 0));
    }
    Ok(res.finish())
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordChange {
    #[schema(min_length = 1, max_length = 1024)]
    pub current_password: String,
    /// 12–128 characters, not a common password, not containing the e-mail.
    #[schema(min_length = 12, max_length = 128)]
    pub new_password: String,
}

/// Changes the caller's password. Every session of the member ends, this one included
/// (log in again with the new password). A wrong `current_password` is a 403; guesses count against
/// the account's login lockout (429).
#[utoipa::path(tag = "auth", security(("staff" = [])), responses((status = 204), (status = 401, body = Problem), (status = 403, description = "`current_password` is not correct", body = Problem), (status = 422, body = Problem), (status = 429, body = Problem)))]
#[put("/api/v1/auth/password")]
async fn change_password(state: State, session: StaffSession, body: Json<PasswordChange>) -> Result<HttpResponse> {
    let body = body.into_inner();
    accounts::change_password(&state, &session.as_actor(), body.current_password, body.new_password).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A refresh token as presented: issued tokens are short visible ASCII, so a longer value
/// or one with other characters is malformed input (422) — refused before it can act
/// (a logout with a malformed token must not end anything).
fn presented_token(raw: &str) -> Result<&str> {
    let raw = raw.trim();
    if raw.len() > 200 || !raw.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::validation("refresh_token", "is not a refresh token"));
    }
    Ok(raw)
}
