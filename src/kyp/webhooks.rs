//! Live order intake from Shopify and WooCommerce webhooks. A delivery is accepted only
//! with the platform's HMAC-SHA256 signature (base64, over the raw body) under the secret
//! the vendor configured; an unknown vendor, a vendor without the integration and a wrong
//! signature get the same 401. A delivery is applied only if it is newer than what was
//! applied for that platform order (its `updated_at`), inside the import's transaction, so
//! replays and out-of-order deliveries change nothing.

use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use crate::core::Core;
use crate::domain::ids::PathId;
use crate::error::{Error, Result};
use crate::kyp::formats::{self, WebhookOrder};
use crate::kyp::orders::{import_guarded, Guard};
use crate::store;
use crate::store::audit::Entry;
use crate::store::integrations::Integration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Shopify,
    WooCommerce,
}

impl Platform {
    pub fn parse(raw: &str) -> Result<Platform> {
        match raw {
            "shopify" => Ok(Platform::Shopify),
            "woocommerce" => Ok(Platform::WooCommerce),
            _ => Err(Error::not_found("integration platform (shopify or woocommerce)")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Shopify => "shopify",
            Platform::WooCommerce => "woocommerce",
        }
    }

    /// Topics that carry an order to import; others are acknowledged and ignored.
    fn imports(self, topic: &str) -> bool {
        match self {
            Platform::Shopify => matches!(topic, "orders/create" | "orders/updated" | "orders/fulfilled"),
            Platform::WooCommerce => matches!(topic, "order.created" | "order.updated"),
        }
    }
}

fn context(vendor_id: &str, platform: Platform) -> String {
    format!("integration:{vendor_id}:{}", platform.as_str())
}

/// Sets the vendor's signing secret for `platform` (owner or secret key; audited without
/// the secret). Returns whether the integration was new.
pub async fn configure(core: &Core, vendor_id: &str, actor: &str, platform: Platform, secret: &str) -> Result<bool> {
    let len = secret.chars().count();
    if !(16..=256).contains(&len) || !secret.chars().all(|c| c.is_ascii_graphic()) {
        return Err(Error::validation("secret", "must be 16–256 visible ASCII characters"));
    }
    let now = core.now_ms();
    let row = Integration {
        vendor_id: vendor_id.to_owned(),
        platform: platform.as_str().to_owned(),
        secret_sealed: core.sealer.seal(core.random.as_ref(), &context(vendor_id, platform), secret),
        created_at: now,
        updated_at: now,
        last_delivery_at: None,
    };
    let (audit, actor) = (core.audit.clone(), actor.to_owned());
    core.db
        .write(move |conn| {
            let created = store::integrations::put(conn, &row)?;
            let details = json!({ "created": created });
            let entry = Entry { actor: &actor, action: "integration.configured", target: &row.platform, details };
            audit.append(conn, &row.vendor_id, now, entry)?;
            Ok(created)
        })
        .await
}

pub async fn list(core: &Core, vendor_id: &str) -> Result<Vec<Integration>> {
    let vendor_id = vendor_id.to_owned();
    core.db.run(move |conn| store::integrations::list(conn, &vendor_id)).await
}

/// Removes the integration: its webhooks answer 401 from now on.
pub async fn remove(core: &Core, vendor_id: &str, actor: &str, platform: Platform) -> Result<()> {
    let (vendor_id, actor, now) = (vendor_id.to_owned(), actor.to_owned(), core.now_ms());
    let audit = core.audit.clone();
    core.db
        .write(move |conn| {
            if !store::integrations::delete(conn, &vendor_id, platform.as_str())? {
                return Err(Error::not_found("integration"));
            }
            let entry =
                Entry { actor: &actor, action: "integration.removed", target: platform.as_str(), details: json!({}) };
            audit.append(conn, &vendor_id, now, entry)?;
            Ok(())
        })
        .await
}

/// What a delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// The order was created or updated.
    Applied,
    /// Already applied, or older than what was (nothing changed).
    Replayed,
    /// A topic that carries no purchase (or a non-purchase order): acknowledged.
    Ignored,
}

fn unauthorized() -> Error {
    Error::Unauthorized("the webhook signature does not verify for this shop".into())
}

/// Verifies and applies one webhook delivery.
pub async fn receive(
    core: &Core,
    platform: Platform,
    vendor_id: &str,
    signature: Option<&str>,
    topic: Option<&str>,
    body: &[u8],
) -> Result<Delivery> {
    let vendor_id = PathId::parse(vendor_id).map_err(|_| unauthorized())?.as_str().to_owned();
    let signature = signature.ok_or_else(unauthorized)?;
    let lookup = vendor_id.clone();
    let integration = core
        .db
        .run(move |conn| store::integrations::get(conn, &lookup, platform.as_str()))
        .await?
        .ok_or_else(unauthorized)?;
    let secret =
        core.sealer.open(&context(&vendor_id, platform), &integration.secret_sealed).ok_or_else(unauthorized)?;
    use base64::Engine;
    let given = base64::engine::general_purpose::STANDARD.decode(signature.trim()).map_err(|_| unauthorized())?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(body);
    mac.verify_slice(&given).map_err(|_| unauthorized())?;

    let now = core.now_ms();
    let touch_id = vendor_id.clone();
    core.db.write(move |conn| store::integrations::touch(conn, &touch_id, platform.as_str(), now)).await?;
    if !topic.is_some_and(|t| platform.imports(t)) {
        return Ok(Delivery::Ignored);
    }
    let WebhookOrder { platform_id, updated_at, order } = match platform {
        Platform::Shopify => formats::shopify_webhook(body, now)?,
        Platform::WooCommerce => formats::woocommerce_webhook(body, now)?,
    };
    let Some(order) = order else { return Ok(Delivery::Ignored) };
    let (guard_vendor, name) = (vendor_id.clone(), platform.as_str());
    let guard: Guard =
        Box::new(move |conn| store::integrations::advance(conn, &guard_vendor, name, &platform_id, updated_at));
    let actor = format!("webhook:{name}");
    let answer = import_guarded(core, &vendor_id, &actor, vec![order], None, Some(guard)).await?;
    Ok(if answer.replayed { Delivery::Replayed } else { Delivery::Applied })
}
