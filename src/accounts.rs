//! Account use cases shared by the HTTP API and the CLI: create a vendor with its owner
//! and first keys, issue keys, log in, rotate refresh tokens. Each writes its audit
//! entries in the same transaction as the change.

use serde_json::json;

use crate::core::Core;
use crate::domain::account::Role;
use crate::domain::contact::Email;
use crate::error::{Error, Result};
use crate::security::jwt::{StaffClaims, AUDIENCE, ISSUER};
use crate::security::password;
use crate::security::tokens::{new_token, sha256_hex, visible_prefix};
use crate::store::audit::Entry;
use crate::store::keys::ApiKey;
use crate::store::sessions::RefreshToken;
use crate::store::staff::Staff;
use crate::store::vendors::Vendor;
use crate::store::{self, new_id};

/// Sign-up input, already parsed.
pub struct NewVendor {
    pub name: String,
    pub origins: Vec<String>,
    pub owner_email: Email,
    pub owner_name: String,
    pub owner_password: String,
}

/// A key as issued: the plaintext is shown this once.
#[derive(Debug, Clone)]
pub struct IssuedKey {
    pub row: ApiKey,
    pub plaintext: String,
}

pub struct CreatedVendor {
    pub vendor: Vendor,
    pub owner: Staff,
    pub publishable: IssuedKey,
    pub secret: IssuedKey,
}

/// Hashes a password on the blocking pool (argon2 takes tens of milliseconds).
pub async fn hash_password(password: String) -> Result<String> {
    actix_web::rt::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(|e| Error::internal(format!("hashing task failed: {e}")))?
}

pub fn new_key(core: &Core, vendor_id: &str, kind: &str, label: &str) -> IssuedKey {
    let prefix = if kind == "secret" { "sk" } else { "pk" };
    let plaintext = new_token(prefix, core.random.as_ref());
    let row = ApiKey {
        id: new_id(core.clock.as_ref(), core.random.as_ref()),
        vendor_id: vendor_id.to_owned(),
        kind: kind.to_owned(),
        prefix: visible_prefix(&plaintext),
        key_hash: sha256_hex(&plaintext),
        label: label.to_owned(),
        created_at: core.clock.now_ms(),
        revoked_at: None,
        last_used_at: None,
    };
    IssuedKey { row, plaintext }
}

pub async fn create_vendor(core: &Core, input: NewVendor, actor: &str) -> Result<CreatedVendor> {
    password::check_policy(&input.owner_password, input.owner_email.as_str())?;
    let hash = hash_password(input.owner_password).await?;
    let now = core.clock.now_ms();
    let vendor = Vendor {
        id: new_id(core.clock.as_ref(), core.random.as_ref()),
        name: input.name,
        origins: serde_json::to_string(&input.origins).map_err(Error::internal)?,
        auto_publish_min_level: None,
        widget_served_at: None,
        audit_seq: 0,
        audit_head: String::new(),
        created_at: now,
    };
    let owner = Staff {
        id: new_id(core.clock.as_ref(), core.random.as_ref()),
        vendor_id: vendor.id.clone(),
        email: input.owner_email.as_str().to_owned(),
        display_name: input.owner_name,
        password_hash: hash,
        role: Role::Owner.as_str().into(),
        active: true,
        created_at: now,
        updated_at: now,
    };
    let publishable = new_key(core, &vendor.id, "publishable", "widget");
    let secret = new_key(core, &vendor.id, "secret", "server");
    let created = CreatedVendor { vendor, owner, publishable, secret };
    let rows =
        (created.vendor.clone(), created.owner.clone(), created.publishable.row.clone(), created.secret.row.clone());
    let actor = actor.to_owned();
    let audit = core.audit.clone();
    core.db
        .write(move |conn| {
            let (vendor, owner, pk, sk) = rows;
            store::vendors::insert(conn, &vendor)?;
            store::staff::insert(conn, &owner)?;
            store::keys::insert(conn, &pk)?;
            store::keys::insert(conn, &sk)?;
            let v = vendor.id.as_str();
            let details = json!({"name": vendor.name, "origins": vendor.origin_list()});
            audit.append(conn, v, now, Entry { actor: &actor, action: "vendor.created", target: v, details })?;
            let details = json!({"email": owner.email, "role": owner.role});
            audit.append(conn, v, now, Entry { actor: &actor, action: "staff.created", target: &owner.id, details })?;
            for key in [&pk, &sk] {
                let details = json!({"kind": key.kind, "prefix": key.prefix, "label": key.label});
                audit.append(conn, v, now, Entry { actor: &actor, action: "key.created", target: &key.id, details })?;
            }
            Ok(())
        })
        .await?;
    Ok(created)
}

/// Access and refresh tokens for a staff member.
pub struct Tokens {
    pub access_token: String,
    pub expires_in: i64,
    pub refresh_token: String,
}

fn issue_tokens(core: &Core, member: &Staff, family_id: &str) -> Result<(Tokens, RefreshToken)> {
    let now = core.clock.now();
    let claims = StaffClaims {
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        sub: member.id.clone(),
        vid: member.vendor_id.clone(),
        role: member.role.clone(),
        iat: now.timestamp(),
        exp: now.timestamp() + core.settings.access_token_ttl_secs,
    };
    let access_token = core.keys.sign(&claims).map_err(Error::Internal)?;
    let refresh_token = new_token("rt", core.random.as_ref());
    let row = RefreshToken {
        id: new_id(core.clock.as_ref(), core.random.as_ref()),
        staff_id: member.id.clone(),
        token_hash: sha256_hex(&refresh_token),
        family_id: family_id.to_owned(),
        created_at: now.timestamp_millis(),
        expires_at: now.timestamp_millis() + core.settings.refresh_token_ttl_days * 86_400_000,
        used_at: None,
        revoked_at: None,
    };
    Ok((Tokens { access_token, expires_in: core.settings.access_token_ttl_secs, refresh_token }, row))
}

const BAD_LOGIN: &str = "invalid e-mail or password";

/// Password login. Unknown accounts, inactive accounts and wrong passwords give the same
/// answer after the same work (an argon2 verification either way).
pub async fn login(core: &Core, email: &str, password_attempt: String) -> Result<(Tokens, Staff)> {
    let key = email.trim().to_lowercase();
    let now = core.clock.now_ms();
    core.login_failures.check(&key, now)?;
    let lookup = key.clone();
    let member = core.db.run(move |conn| store::staff::by_email(conn, &lookup)).await?;
    let stored = member.as_ref().map(|m| m.password_hash.clone()).unwrap_or_else(|| password::dummy_hash().to_owned());
    let (verified, attempt) = actix_web::rt::task::spawn_blocking(move || {
        let verified = password::verify(&password_attempt, &stored);
        (verified, password_attempt)
    })
    .await
    .map_err(|e| Error::internal(format!("verification task failed: {e}")))?;
    let member = match member {
        Some(m) if verified.ok && m.active => m,
        _ => {
            core.login_failures.record_failure(&key, now);
            return Err(Error::Unauthorized(BAD_LOGIN.into()));
        }
    };
    core.login_failures.clear(&key);
    let new_hash = if verified.needs_rehash { Some(hash_password(attempt).await?) } else { None };
    let family = new_id(core.clock.as_ref(), core.random.as_ref());
    let (tokens, row) = issue_tokens(core, &member, &family)?;
    let m = member.clone();
    let audit = core.audit.clone();
    core.db
        .write(move |conn| {
            store::sessions::insert(conn, &row)?;
            if let Some(hash) = &new_hash {
                store::staff::set_password_hash(conn, &m.id, hash, now)?;
            }
            let details = json!({"rehashed": new_hash.is_some()});
            audit.append(
                conn,
                &m.vendor_id,
                now,
                Entry { actor: &format!("staff:{}", m.id), action: "staff.login", target: &m.id, details },
            )?;
            Ok(())
        })
        .await?;
    Ok((tokens, member))
}

/// Rotates a refresh token. A token presented twice means it leaked: the whole family
/// (every token descended from that login) is revoked.
pub async fn refresh(core: &Core, presented: &str) -> Result<(Tokens, Staff)> {
    let hash = sha256_hex(presented.trim());
    let now = core.clock.now_ms();
    let found = core
        .db
        .run(move |conn| {
            let Some(token) = store::sessions::by_hash(conn, &hash)? else { return Ok(None) };
            let member = store::staff::by_id(conn, &token.staff_id)?;
            Ok(Some((token, member)))
        })
        .await?;
    let invalid = || Error::Unauthorized("invalid or expired refresh token".into());
    let (token, member) = found.ok_or_else(invalid)?;
    if token.revoked_at.is_some() || token.expires_at <= now || !member.active {
        return Err(invalid());
    }
    let (tokens, row) = issue_tokens(core, &member, &token.family_id)?;
    let rotated = core
        .db
        .write(move |conn| {
            if !store::sessions::spend(conn, &token.id, now)? {
                return Ok(false);
            }
            store::sessions::insert(conn, &row)?;
            Ok(true)
        })
        .await?;
    if !rotated {
        let family = token.family_id.clone();
        let vendor = member.vendor_id.clone();
        let staff_id = member.id.clone();
        let audit = core.audit.clone();
        core.db
            .write(move |conn| {
                store::sessions::revoke_family(conn, &family, now)?;
                let details = json!({"family": family});
                audit.append(
                    conn,
                    &vendor,
                    now,
                    Entry { actor: "system", action: "session.reuse_detected", target: &staff_id, details },
                )?;
                Ok(())
            })
            .await?;
        return Err(invalid());
    }
    Ok((tokens, member))
}
