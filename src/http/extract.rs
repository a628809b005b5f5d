//! Request extractors: who is calling. Staff sessions (JWT), secret keys (`sk_…`) and
//! publishable keys (`pk_…`); each carries the vendor id every store query is scoped by.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest};

use crate::accounts::Actor;
use crate::app::{AppState, State};
use crate::db::DbConn;
use crate::domain::account::Role;
use crate::error::{Error, Result};
use crate::http::ClientIp;
use crate::security::ratelimit;
use crate::security::tokens::sha256_hex;
use crate::store;

/// A logged-in staff member, re-read from the database on every request so that a
/// deactivation or role change takes effect at once.
#[derive(Debug, Clone)]
pub struct StaffSession {
    pub staff_id: String,
    pub vendor_id: String,
    pub role: Role,
    pub email: String,
    /// The token's `sid`: the refresh-token family it lives and dies with.
    pub session_id: String,
}

impl StaffSession {
    pub fn require_owner(&self) -> Result<()> {
        if self.role == Role::Owner {
            Ok(())
        } else {
            Err(Error::Forbidden("this action requires the owner role".into()))
        }
    }

    pub fn require_moderator(&self) -> Result<()> {
        if self.role.can_moderate() {
            Ok(())
        } else {
            Err(Error::Forbidden("this action requires the owner or moderator role".into()))
        }
    }

    pub fn actor(&self) -> String {
        format!("staff:{}", self.staff_id)
    }

    /// The member as the account use cases take them.
    pub fn as_actor(&self) -> Actor {
        Actor {
            vendor_id: self.vendor_id.clone(),
            staff_id: self.staff_id.clone(),
            role: self.role,
            email: self.email.clone(),
            session_id: self.session_id.clone(),
        }
    }
}

/// A vendor's server calling with its secret key.
#[derive(Debug, Clone)]
pub struct SecretKey {
    pub key_id: String,
    pub vendor_id: String,
}

/// Either a staff session or a secret key: for reads a vendor's back office may make too.
#[derive(Debug, Clone)]
pub enum Principal {
    Staff(StaffSession),
    Secret(SecretKey),
}

impl Principal {
    pub fn vendor_id(&self) -> &str {
        match self {
            Principal::Staff(s) => &s.vendor_id,
            Principal::Secret(k) => &k.vendor_id,
        }
    }

    pub fn actor(&self) -> String {
        match self {
            Principal::Staff(s) => s.actor(),
            Principal::Secret(k) => format!("key:{}", k.key_id),
        }
    }
}

fn bearer(req: &HttpRequest) -> Result<String> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| Error::Unauthorized("missing Authorization: Bearer credentials".into()))?;
    let value = value.to_str().map_err(|_| Error::Unauthorized("malformed Authorization header".into()))?;
    let (scheme, token) =
        value.split_once(' ').ok_or_else(|| Error::Unauthorized("malformed Authorization header".into()))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(Error::Unauthorized("expected Authorization: Bearer <token>".into()));
    }
    Ok(token.trim().to_owned())
}

fn state(req: &HttpRequest) -> Result<State> {
    req.app_data::<State>().cloned().ok_or_else(|| Error::internal("application state missing"))
}

pub fn client_ip(req: &HttpRequest) -> Option<std::net::IpAddr> {
    req.extensions().get::<ClientIp>().and_then(|c| c.0)
}

async fn staff_from_token(state: State, token: String) -> Result<StaffSession> {
    if token.starts_with("sk_") || token.starts_with("pk_") {
        return Err(Error::Unauthorized("this endpoint needs a staff session token, not an API key".into()));
    }
    let claims = state
        .keys
        .verify(&token, state.clock.now().timestamp())
        .map_err(|e| Error::Unauthorized(format!("invalid session token: {e}")))?;
    let (vendor_id, staff_id, sid) = (claims.vid, claims.sub, claims.sid);
    // M11: the token lives only as long as its session (refresh-token family).
    if sid.is_empty() || sid.len() > 64 {
        return Err(Error::Unauthorized("the session token names no session".into()));
    }
    let session_id = sid.clone();
    let member = state
        .db
        .run(move |conn| {
            let Some(member) = store::staff::get(conn, &vendor_id, &staff_id).map(Some).or_else(not_found_as_none)?
            else {
                return Ok(None);
            };
            Ok(store::sessions::family_alive(conn, &member.id, &sid)?.then_some(member))
        })
        .await?
        .ok_or_else(|| Error::Unauthorized("the session has ended".into()))?;
    if !member.active {
        return Err(Error::Unauthorized("the session's account is not active".into()));
    }
    Ok(StaffSession {
        role: Role::parse(&member.role).map_err(|_| Error::internal("stored role is invalid"))?,
        staff_id: member.id,
        vendor_id: member.vendor_id,
        email: member.email,
        session_id,
    })
}

fn not_found_as_none<T>(e: Error) -> Result<Option<T>> {
    match e {
        Error::NotFound(_) => Ok(None),
        other => Err(other),
    }
}

/// Refuses a token that cannot be a key of `kind`, before any database work.
pub fn check_key_shape(token: &str, kind: &str) -> Result<()> {
    let expected_prefix = if kind == "secret" { "sk_" } else { "pk_" };
    if !token.starts_with(expected_prefix) || token.len() > 100 {
        return Err(Error::Unauthorized(format!("expected a {kind} key ({expected_prefix}…)")));
    }
    Ok(())
}

/// Looks up a live key of `kind` by its plaintext and records its use; runs inside a
/// database closure so callers can do more work on the same connection.
pub fn lookup_key(conn: &mut DbConn, token: &str, kind: &str, now: i64) -> Result<store::keys::ApiKey> {
    check_key_shape(token, kind)?;
    let key = store::keys::live_by_hash(conn, &sha256_hex(token))?
        .filter(|k| k.kind == kind)
        .ok_or_else(|| Error::Unauthorized(format!("unknown or revoked {kind} key")))?;
    // Write only when the recorded use is stale: an UPDATE takes SQLite's write lock even
    // when it matches nothing.
    if store::keys::use_is_stale(&key, now) {
        store::keys::touch(conn, &key.id, now)?;
    }
    Ok(key)
}

/// Resolves a live API key of the given kind; applies the per-key rate limit.
pub async fn resolve_key(state: &AppState, token: &str, kind: &'static str) -> Result<store::keys::ApiKey> {
    check_key_shape(token, kind)?;
    let token = token.to_owned();
    let now = state.clock.now_ms();
    let key = state.db.run(move |conn| lookup_key(conn, &token, kind, now)).await?;
    state.limits.keys.check(&key.id, &key.vendor_id, kind == "publishable", ratelimit::current_client())?;
    Ok(key)
}

async fn secret_from_token(state: State, token: String) -> Result<SecretKey> {
    let key = resolve_key(&state, &token, "secret").await?;
    Ok(SecretKey { key_id: key.id, vendor_id: key.vendor_id })
}

type Fut<T> = Pin<Box<dyn Future<Output = std::result::Result<T, actix_web::Error>>>>;

/// The shared shape of the three extractors: read the bearer token, then resolve it.
fn from_bearer<T, F, R>(req: &HttpRequest, resolve: F) -> Fut<T>
where
    T: 'static,
    F: FnOnce(State, String) -> R + 'static,
    R: Future<Output = Result<T>> + 'static,
{
    let parts = state(req).and_then(|s| bearer(req).map(|t| (s, t)));
    Box::pin(async move {
        let (state, token) = parts?;
        Ok(resolve(state, token).await?)
    })
}

impl FromRequest for StaffSession {
    type Error = actix_web::Error;
    type Future = Fut<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        from_bearer(req, staff_from_token)
    }
}

impl FromRequest for SecretKey {
    type Error = actix_web::Error;
    type Future = Fut<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        from_bearer(req, secret_from_token)
    }
}

impl FromRequest for Principal {
    type Error = actix_web::Error;
    type Future = Fut<Self>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        from_bearer(req, |state, token| async move {
            if token.starts_with("sk_") {
                Ok(Principal::Secret(secret_from_token(state, token).await?))
            } else if token.starts_with("pk_") {
                Err(Error::Unauthorized(
                    "a publishable key (pk_…) only reads the public widget API: use a secret key (sk_…) or a staff \
                     session token here"
                        .into(),
                ))
            } else {
                Ok(Principal::Staff(staff_from_token(state, token).await?))
            }
        })
    }
}
