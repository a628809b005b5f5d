//! API keys: `pk_…` publishable (widget) and `sk_…` secret (server). Shown once, stored hashed.

use actix_web::{delete, get, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::accounts;
use crate::app::State;
use crate::domain::account::KeyKind;
use crate::error::Result;
use crate::http::body::Json;
use crate::http::errors::Problem;
use crate::http::extract::StaffSession;
use crate::http::text::Line;
use crate::http::vendors::IssuedKeyView;
use crate::http::ServiceConfig;
use crate::store;
use crate::store::keys::ApiKey;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_keys).service(create_key).service(revoke_key);
}

#[derive(Serialize, ToSchema)]
pub struct KeyView {
    pub id: String,
    pub kind: String,
    pub label: String,
    /// The visible start of the key, to tell keys apart.
    pub prefix: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl From<ApiKey> for KeyView {
    fn from(k: ApiKey) -> Self {
        let ts = |ms: i64| crate::clock::from_ms(ms).to_rfc3339();
        KeyView {
            id: k.id,
            kind: k.kind,
            label: k.label,
            prefix: k.prefix,
            created_at: ts(k.created_at),
            last_used_at: k.last_used_at.map(ts),
            revoked_at: k.revoked_at.map(ts),
        }
    }
}

/// The vendor's keys (owner only): every live one (at most 50) and the 100 most recently
/// revoked, oldest first; secrets are never shown again.
#[utoipa::path(tag = "keys", security(("staff" = [])), responses((status = 200, body = Vec<KeyView>), (status = 403, body = Problem)))]
#[get("/api/v1/keys")]
async fn list_keys(state: State, session: StaffSession) -> Result<HttpResponse> {
    session.require_owner()?;
    let keys = state.db.run(move |conn| store::keys::list(conn, &session.vendor_id)).await?;
    Ok(HttpResponse::Ok().json(keys.into_iter().map(KeyView::from).collect::<Vec<_>>()))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    pub kind: KeyKind,
    pub label: Line<1, 60>,
}

/// Creates a key (owner only); the response is the only time the key is shown. A vendor
/// holds at most 50 live keys (409 past that: revoke one first).
#[utoipa::path(tag = "keys", security(("staff" = [])), responses((status = 201, body = IssuedKeyView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
#[post("/api/v1/keys")]
async fn create_key(state: State, session: StaffSession, body: Json<NewKey>) -> Result<HttpResponse> {
    let label = body.label.clean("label")?;
    let issued = accounts::create_key(&state, &session.as_actor(), body.kind, &label).await?;
    Ok(HttpResponse::Created().insert_header(("Cache-Control", "no-store")).json(IssuedKeyView::from(issued)))
}

/// Revokes a key at once (owner only).
#[utoipa::path(tag = "keys", security(("staff" = [])), params(("id" = String, Path, pattern = "^[A-Za-z0-9._~-]{1,64}$")), responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
#[delete("/api/v1/keys/{id}")]
async fn revoke_key(
    state: State,
    session: StaffSession,
    id: web::Path<crate::domain::ids::PathId>,
) -> Result<HttpResponse> {
    let key_id = id.into_inner().into_string();
    accounts::revoke_key(&state, &session.as_actor(), &key_id).await?;
    Ok(HttpResponse::NoContent().finish())
}
