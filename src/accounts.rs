//! Account use cases shared by the HTTP API and the CLI: sign-up, staff, keys, vendor
//! settings, log in, refresh, log out, password change. Each write owns its transaction
//! and writes its audit entries in it; authorisation rules that need the database (the
//! actor still an owner, the last-owner rule) are checked inside that transaction.

use std::net::IpAddr;

use serde_json::json;

use crate::core::Core;
use crate::db;
use crate::domain::account::{owner_change_allowed, KeyKind, Role, Standing};
use crate::domain::contact::Email;
use crate::domain::text::{clean, Lines};
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

/// Who performs an account action: a logged-in staff member, as the HTTP layer resolved
/// them. Use cases take this value instead of an extractor that writes.
#[derive(Debug, Clone)]
pub struct Actor {
    pub vendor_id: String,
    pub staff_id: String,
    pub role: Role,
    pub email: String,
    /// The session (refresh-token family) the request's access token belongs to.
    pub session_id: String,
}

impl Actor {
    /// The audit log's actor label.
    pub fn label(&self) -> String {
        format!("staff:{}", self.staff_id)
    }

    pub fn require_owner(&self) -> Result<()> {
        if self.role == Role::Owner {
            Ok(())
        } else {
            Err(Error::Forbidden("this action requires the owner role".into()))
        }
    }

    /// Inside a write transaction: the actor is still an active owner (a concurrent
    /// demotion may have committed since the request was authenticated). The member's
    /// rows are locked first, so a demotion cannot commit between this check and the write.
    pub(crate) fn still_owner(&self, conn: &mut db::DbConn) -> Result<()> {
        db::lock_staff_row(conn, &self.staff_id)?;
        let me = store::staff::get(conn, &self.vendor_id, &self.staff_id)?;
        if me.active && me.role == Role::Owner.as_str() {
            Ok(())
        } else {
            Err(Error::Forbidden("this action requires the owner role".into()))
        }
    }
}

/// Sign-up input, already parsed.
pub struct NewVendor {
    pub name: String,
    pub origins: Vec<String>,
    pub owner_email: Email,
    pub owner_name: String,
    pub owner_password: String,
}

/// A key as issued: the plaintext is shown this once.
#[derive(Clone)]
pub struct IssuedKey {
    pub row: ApiKey,
    pub plaintext: String,
}

/// Debug never shows the key itself (L3).
impl std::fmt::Debug for IssuedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedKey").field("row", &self.row).field("plaintext", &"<redacted>").finish()
    }
}

#[derive(Debug)]
pub struct CreatedVendor {
    pub vendor: Vendor,
    pub owner: Staff,
    pub publishable: IssuedKey,
    pub secret: IssuedKey,
}

/// The owner's display name: as given (cleaned like every name), or else the e-mail's
/// local part, cleaned too (L6), or "Owner" when that is not a usable name.
pub fn owner_name(given: Option<&str>, email: &Email) -> Result<String> {
    match given {
        Some(name) => clean("owner_name", name, Lines::Single, 1, 80),
        None => {
            let local = email.as_str().split('@').next().unwrap_or_default();
            Ok(clean("owner_name", local, Lines::Single, 1, 80).unwrap_or_else(|_| "Owner".into()))
        }
    }
}

pub fn new_key(core: &Core, vendor_id: &str, kind: KeyKind, label: &str) -> IssuedKey {
    let plaintext = new_token(kind.prefix(), core.random.as_ref());
    let row = ApiKey {
        id: new_id(core.clock.as_ref(), core.random.as_ref()),
        vendor_id: vendor_id.to_owned(),
        kind: kind.as_str().to_owned(),
        prefix: visible_prefix(&plaintext),
        key_hash: sha256_hex(&plaintext),
        label: label.to_owned(),
        created_at: core.clock.now_ms(),
        revoked_at: None,
        last_used_at: None,
    };
    IssuedKey { row, plaintext }
}

/// Self-service sign-up (`POST /api/v1/vendors`): refused when turned off, capped per
/// client IP and day before any argon2 work (M2).
pub async fn signup(core: &Core, input: NewVendor, client_ip: Option<IpAddr>) -> Result<CreatedVendor> {
    if !core.settings.signup_enabled {
        return Err(Error::Forbidden("self-service sign-up is turned off on this deployment".into()));
    }
    password::check_policy(&input.owner_password, input.owner_email.as_str())?;
    // Per client bucket: an IPv6 client is counted by its /64, as every per-IP limit is.
    core.signups.take(&crate::domain::client::bucket_label(client_ip), core.clock.now_ms())?;
    create_vendor(core, input, "signup").await
}

pub async fn create_vendor(core: &Core, input: NewVendor, actor: &str) -> Result<CreatedVendor> {
    password::check_policy(&input.owner_password, input.owner_email.as_str())?;
    let hash = core.passwords.hash(input.owner_password).await?;
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
        kyc_providers: None,
        phone_countries: None,
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
    let publishable = new_key(core, &vendor.id, KeyKind::Publishable, "widget");
    let secret = new_key(core, &vendor.id, KeyKind::Secret, "server");
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

/// The access token of a session (`sid` = the refresh-token family, checked on every
/// request so that the token dies with the session, M11).
fn access_token(core: &Core, member: &Staff, family_id: &str) -> Result<String> {
    let now = core.clock.now().timestamp();
    let claims = StaffClaims {
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        sub: member.id.clone(),
        vid: member.vendor_id.clone(),
        role: member.role.clone(),
        sid: family_id.to_owned(),
        iat: now,
        exp: now + core.settings.access_token_ttl_secs,
    };
    core.keys.sign(&claims).map_err(Error::Internal)
}

/// A new refresh token of `family_id` for `staff_id`: (plaintext, row).
fn refresh_row(core: &Core, staff_id: &str, family_id: &str) -> (String, RefreshToken) {
    let now = core.clock.now_ms();
    let plaintext = new_token("rt", core.random.as_ref());
    let row = RefreshToken {
        id: new_id(core.clock.as_ref(), core.random.as_ref()),
        staff_id: staff_id.to_owned(),
        token_hash: sha256_hex(&plaintext),
        family_id: family_id.to_owned(),
        created_at: now,
        expires_at: now + core.settings.refresh_token_ttl_days * 86_400_000,
        used_at: None,
        revoked_at: None,
    };
    (plaintext, row)
}

const BAD_LOGIN: &str = "invalid e-mail or password";

/// How many accounts one e-mail address may log into without naming the vendor.
const LOGIN_CANDIDATES: i64 = 5;

/// Whether `raw` can be a vendor id (ids are UUIDs); anything else matches no vendor
/// and is never sent to the database (a NUL would be a 500 on PostgreSQL).
fn plausible_id(raw: &str) -> bool {
    !raw.is_empty() && raw.len() <= 64 && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Password login. Unknown accounts, inactive accounts and wrong passwords give the same
/// answer after the same work (an argon2 verification either way). A verification slot is
/// reserved before the verification (M5), so concurrent guesses cannot exceed the lockout.
///
/// Staff e-mails are unique per vendor (M10), so one address may have accounts at several
/// vendors: `vendor_id` picks one; without it the attempt is verified against each of the
/// address's accounts (oldest first, at most five), concurrently, and the oldest active
/// account whose password matches is logged in.
pub async fn login(
    core: &Core,
    email: &str,
    password_attempt: String,
    vendor_id: Option<&str>,
) -> Result<(Tokens, Staff)> {
    let key = email.trim().to_lowercase();
    let now = core.clock.now_ms();
    let attempt = core.login_failures.begin(&key, now)?;
    // M4/L6: an address with control or format characters cannot be an account's.
    let email = Email::parse("email", &key).ok();
    let vendor = match vendor_id {
        Some(v) if !plausible_id(v) => None,
        other => Some(other.map(str::to_owned)),
    };
    let candidates = match (email, vendor) {
        (Some(email), Some(vendor)) => {
            core.db
                .run(move |conn| store::staff::by_email(conn, email.as_str(), vendor.as_deref(), LOGIN_CANDIDATES))
                .await?
        }
        _ => Vec::new(),
    };
    let checks = if candidates.is_empty() {
        vec![core.passwords.verify(password_attempt.clone(), None)]
    } else {
        candidates
            .iter()
            .map(|m| core.passwords.verify(password_attempt.clone(), Some(m.password_hash.clone())))
            .collect()
    };
    let verdicts = futures_util::future::join_all(checks).await.into_iter().collect::<Result<Vec<_>>>()?;
    let matched = candidates.into_iter().zip(verdicts).find(|(m, v)| v.ok && m.active);
    let Some((member, verified)) = matched else {
        attempt.failed(now);
        return Err(Error::Unauthorized(BAD_LOGIN.into()));
    };
    attempt.succeeded();
    let new_hash = if verified.needs_rehash { Some(core.passwords.hash(password_attempt).await?) } else { None };
    let family = new_id(core.clock.as_ref(), core.random.as_ref());
    let (refresh_token, row) = refresh_row(core, &member.id, &family);
    let access_token = access_token(core, &member, &family)?;
    let m = member.clone();
    let audit = core.audit.clone();
    core.db
        .write(move |conn| {
            // The password was checked outside this transaction: a password change or a
            // deactivation that committed since then must win (it revokes every session,
            // and this one must not be created after it).
            db::lock_staff_row(conn, &m.id)?;
            let now_member = store::staff::by_id(conn, &m.id)?;
            if !now_member.active || now_member.password_hash != m.password_hash {
                return Err(Error::Unauthorized(BAD_LOGIN.into()));
            }
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
    Ok((Tokens { access_token, expires_in: core.settings.access_token_ttl_secs, refresh_token }, member))
}

enum Rotation {
    Rotated(Staff, String),
    Invalid,
}

/// Rotates a refresh token. A token presented twice means it leaked: the whole family
/// (every token descended from that login) is revoked.
///
/// M3: the read, the checks, the spend and the new token happen in one write transaction
/// that first locks the member's row (`FOR UPDATE` on PostgreSQL; SQLite's write
/// transaction is exclusive), the same lock logout, password change and deactivation take,
/// so a revocation either lands before (the refresh fails) or after (it revokes the new
/// token too).
pub async fn refresh(core: &Core, presented: &str) -> Result<(Tokens, Staff)> {
    let hash = sha256_hex(presented.trim());
    let now = core.clock.now_ms();
    // The new token is made up front; the transaction fills in whose it is.
    let (refresh_token, template) = refresh_row(core, "", "");
    let audit = core.audit.clone();
    let outcome = core
        .db
        .write(move |conn| {
            let Some(token) = store::sessions::by_hash(conn, &hash)? else { return Ok(Rotation::Invalid) };
            db::lock_staff_row(conn, &token.staff_id)?;
            // Read again under the lock: a logout that committed meanwhile is seen now.
            let Some(token) = store::sessions::by_hash(conn, &hash)? else { return Ok(Rotation::Invalid) };
            let member = store::staff::by_id(conn, &token.staff_id)?;
            if token.revoked_at.is_some() || token.expires_at <= now || !member.active {
                return Ok(Rotation::Invalid);
            }
            if token.used_at.is_some() {
                store::sessions::revoke_family(conn, &token.family_id, now)?;
                let details = json!({"family": token.family_id});
                audit.append(
                    conn,
                    &member.vendor_id,
                    now,
                    Entry { actor: "system", action: "session.reuse_detected", target: &member.id, details },
                )?;
                return Ok(Rotation::Invalid);
            }
            if !store::sessions::spend(conn, &token.id, now)? {
                return Ok(Rotation::Invalid);
            }
            let row = RefreshToken { staff_id: member.id.clone(), family_id: token.family_id.clone(), ..template };
            store::sessions::insert(conn, &row)?;
            Ok(Rotation::Rotated(member, token.family_id))
        })
        .await?;
    match outcome {
        Rotation::Rotated(member, family) => {
            let access_token = access_token(core, &member, &family)?;
            Ok((Tokens { access_token, expires_in: core.settings.access_token_ttl_secs, refresh_token }, member))
        }
        Rotation::Invalid => Err(Error::Unauthorized("invalid or expired refresh token".into())),
    }
}

/// Ends the session: the family of the access token the request came with is revoked, and
/// the presented refresh token's family too (if any, and if it is the actor's); every access
/// token carrying either `sid` stops working at once.
pub async fn logout(core: &Core, actor: &Actor, refresh_token: Option<&str>) -> Result<()> {
    let hash = refresh_token.map(|token| sha256_hex(token.trim()));
    let now = core.clock.now_ms();
    let actor = actor.clone();
    let audit = core.audit.clone();
    core.db
        .write(move |conn| {
            db::lock_staff_row(conn, &actor.staff_id)?;
            store::sessions::revoke_family(conn, &actor.session_id, now)?;
            if let Some(hash) = &hash {
                if let Some(token) = store::sessions::by_hash(conn, hash)?.filter(|t| t.staff_id == actor.staff_id) {
                    store::sessions::revoke_family(conn, &token.family_id, now)?;
                }
            }
            let entry =
                Entry { actor: &actor.label(), action: "staff.logout", target: &actor.staff_id, details: json!({}) };
            audit.append(conn, &actor.vendor_id, now, entry)?;
            Ok(())
        })
        .await
}

/// Changes the actor's password. `current_password` guesses count against the same
/// per-account lockout as logins (M2). Every session of the member ends, this one
/// included: refresh tokens are revoked, and access tokens die with their family (M11).
pub async fn change_password(core: &Core, actor: &Actor, current: String, new: String) -> Result<()> {
    password::check_policy(&new, &actor.email)?;
    let now = core.clock.now_ms();
    let attempt = core.login_failures.begin(&actor.email, now)?;
    let (vendor_id, staff_id) = (actor.vendor_id.clone(), actor.staff_id.clone());
    let member = core.db.run(move |conn| store::staff::get(conn, &vendor_id, &staff_id)).await?;
    if !core.passwords.verify(current, Some(member.password_hash)).await?.ok {
        attempt.failed(now);
        return Err(Error::Forbidden("current_password is not correct".into()));
    }
    attempt.succeeded();
    let hash = core.passwords.hash(new).await?;
    let actor = actor.clone();
    let audit = core.audit.clone();
    core.db
        .write(move |conn| {
            db::lock_staff_row(conn, &actor.staff_id)?;
            store::staff::set_password_hash(conn, &actor.staff_id, &hash, now)?;
            store::sessions::revoke_all_for_staff(conn, &actor.staff_id, now)?;
            let entry = Entry {
                actor: &actor.label(),
                action: "staff.password_changed",
                target: &actor.staff_id,
                details: json!({}),
            };
            audit.append(conn, &actor.vendor_id, now, entry)?;
            Ok(())
        })
        .await
}

/// A new staff member, already parsed.
pub struct NewStaff {
    pub email: Email,
    pub display_name: String,
    pub role: Role,
    pub password: String,
}

/// Staff members (active or not) a vendor may have: the list is served whole.
pub const MAX_STAFF: i64 = 500;

/// Live keys a vendor may hold at once (integrations rotate by creating one and revoking
/// another); revoked keys are kept for the record (see `store::keys::list`).
pub const MAX_LIVE_KEYS: i64 = 50;

/// Adds a staff member (owner only). E-mails are unique within the vendor; at most
/// [`MAX_STAFF`] members.
pub async fn add_staff(core: &Core, actor: &Actor, input: NewStaff) -> Result<Staff> {
    actor.require_owner()?;
    password::check_policy(&input.password, input.email.as_str())?;
    let hash = core.passwords.hash(input.password).await?;
    let now = core.clock.now_ms();
    let member = Staff {
        id: new_id(core.clock.as_ref(), core.random.as_ref()),
        vendor_id: actor.vendor_id.clone(),
        email: input.email.as_str().to_owned(),
        display_name: input.display_name,
        password_hash: hash,
        role: input.role.as_str().into(),
        active: true,
        created_at: now,
        updated_at: now,
    };
    let row = member.clone();
    let actor = actor.clone();
    let audit = core.audit.clone();
    core.db
        .write(move |conn| {
            // Counted under the vendor's lock: two additions cannot both take the last place.
            db::lock_vendor_row(conn, &actor.vendor_id)?;
            actor.still_owner(conn)?;
            if store::staff::count(conn, &actor.vendor_id)? >= MAX_STAFF {
                return Err(Error::Conflict(format!(
                    "a vendor has at most {MAX_STAFF} staff members: deactivated members count too"
                )));
            }
            store::staff::insert(conn, &row)?;
            let details = json!({"email": row.email, "role": row.role});
            audit.append(
                conn,
                &actor.vendor_id,
                now,
                Entry { actor: &actor.label(), action: "staff.created", target: &row.id, details },
            )?;
            Ok(())
        })
        .await?;
    Ok(member)
}

/// Changes a member's role or deactivates them (owner only). The last active owner
/// cannot be demoted or deactivated (M9): the vendor row is locked first (`FOR UPDATE` on
/// PostgreSQL), so two owners demoting each other run one after the other, and the count
/// is taken again after the update.
pub async fn update_staff(
    core: &Core,
    actor: &Actor,
    staff_id: &str,
    role: Option<Role>,
    active: Option<bool>,
) -> Result<Staff> {
    actor.require_owner()?;
    let now = core.clock.now_ms();
    let actor = actor.clone();
    let staff_id = staff_id.to_owned();
    let audit = core.audit.clone();
    core.db
        .write(move |conn| {
            db::lock_vendor_row(conn, &actor.vendor_id)?;
            actor.still_owner(conn)?;
            let current = store::staff::get(conn, &actor.vendor_id, &staff_id)?;
            let current_role = Role::parse(&current.role).map_err(|_| Error::internal("stored role is invalid"))?;
            let was = Standing { role: current_role, active: current.active };
            let next = Standing { role: role.unwrap_or(current_role), active: active.unwrap_or(current.active) };
            owner_change_allowed(was, next, store::staff::active_owner_count(conn, &actor.vendor_id)?)?;
            store::staff::update_role_active(conn, &actor.vendor_id, &staff_id, next.role.as_str(), next.active, now)?;
            if store::staff::active_owner_count(conn, &actor.vendor_id)? < 1 {
                return Err(Error::Conflict("the vendor must keep at least one active owner".into()));
            }
            if !next.active {
                db::lock_staff_row(conn, &staff_id)?;
                store::sessions::revoke_all_for_staff(conn, &staff_id, now)?;
            }
            let details = json!({
                "role": next.role.as_str(), "active": next.active,
                "previous_role": current.role, "was_active": current.active,
            });
            let entry = Entry { actor: &actor.label(), action: "staff.updated", target: &staff_id, details };
            audit.append(conn, &actor.vendor_id, now, entry)?;
            store::staff::get(conn, &actor.vendor_id, &staff_id)
        })
        .await
}

/// Creates a key (owner only; at most [`MAX_LIVE_KEYS`] live); the returned plaintext is
/// shown once.
pub async fn create_key(core: &Core, actor: &Actor, kind: KeyKind, label: &str) -> Result<IssuedKey> {
    actor.require_owner()?;
    let issued = new_key(core, &actor.vendor_id, kind, label);
    let row = issued.row.clone();
    let now = core.clock.now_ms();
    let actor = actor.clone();
    let audit = core.audit.clone();
    core.db
        .write(move |conn| {
            db::lock_vendor_row(conn, &actor.vendor_id)?;
            actor.still_owner(conn)?;
            if store::keys::live_count(conn, &actor.vendor_id)? >= MAX_LIVE_KEYS {
                return Err(Error::Conflict(format!(
                    "a vendor holds at most {MAX_LIVE_KEYS} live keys: revoke one first"
                )));
            }
            store::keys::insert(conn, &row)?;
            let details = json!({"kind": row.kind, "prefix": row.prefix, "label": row.label});
            let entry = Entry { actor: &actor.label(), action: "key.created", target: &row.id, details };
            audit.append(conn, &actor.vendor_id, now, entry)?;
            Ok(())
        })
        .await?;
    Ok(issued)
}

/// Revokes a key at once (owner only); the node's widget cache forgets the vendor.
pub async fn revoke_key(core: &Core, actor: &Actor, key_id: &str) -> Result<()> {
    actor.require_owner()?;
    let now = core.clock.now_ms();
    let key_id = key_id.to_owned();
    let who = actor.clone();
    let audit = core.audit.clone();
    core.db
        .write(move |conn| {
            who.still_owner(conn)?;
            if !store::keys::revoke(conn, &who.vendor_id, &key_id, now)? {
                return Err(Error::not_found("live key"));
            }
            let entry = Entry { actor: &who.label(), action: "key.revoked", target: &key_id, details: json!({}) };
            audit.append(conn, &who.vendor_id, now, entry)?;
            Ok(())
        })
        .await?;
    // A revoked publishable key must stop reading at once on this node.
    core.public_cache.forget_vendor(&actor.vendor_id);
    Ok(())
}

/// Vendor settings to change, already parsed (`None` = keep).
pub struct VendorChanges {
    pub name: Option<String>,
    pub origins: Option<Vec<String>>,
    /// `Some(None)` clears the level.
    pub auto_publish_min_level: Option<Option<i32>>,
    /// `Some(None)`: every configured provider.
    pub kyc_providers: Option<Option<Vec<String>>>,
    /// `Some(None)`: every country.
    pub phone_countries: Option<Option<Vec<String>>>,
}

/// The vendor's KYC choices, checked: configured providers, ISO 3166 countries; no
/// duplicates kept.
fn check_kyc_choices(core: &Core, changes: &mut VendorChanges) -> Result<()> {
    if let Some(Some(list)) = &mut changes.kyc_providers {
        let configured = core.oauth.names();
        if list.len() > 20 {
            return Err(Error::validation("kyc_providers", "may name at most 20 providers"));
        }
        if let Some(unknown) = list.iter().find(|p| !configured.contains(p)) {
            return Err(Error::validation(
                "kyc_providers",
                format!("names {unknown}, which is not a configured sign-in provider"),
            ));
        }
        list.sort();
        list.dedup();
    }
    if let Some(Some(list)) = &mut changes.phone_countries {
        if list.len() > 250 {
            return Err(Error::validation("phone_countries", "may name at most 250 countries"));
        }
        if let Some(bad) = list.iter().find(|c| !crate::domain::contact::is_plan_country(c)) {
            return Err(Error::validation(
                "phone_countries",
                format!("names {bad}, which is not an ISO 3166 alpha-2 country code (upper case, e.g. GB)"),
            ));
        }
        list.sort();
        list.dedup();
    }
    Ok(())
}

/// Changes the vendor's settings (owner only).
pub async fn update_vendor(core: &Core, actor: &Actor, mut changes: VendorChanges) -> Result<Vendor> {
    actor.require_owner()?;
    check_kyc_choices(core, &mut changes)?;
    if let Some(Some(level)) = changes.auto_publish_min_level {
        if !(0..=5).contains(&level) {
            return Err(Error::validation("auto_publish_min_level", "must be between 0 and 5, or null"));
        }
    }
    let now = core.clock.now_ms();
    let who = actor.clone();
    let audit = core.audit.clone();
    let vendor = core
        .db
        .write(move |conn| {
            who.still_owner(conn)?;
            let current = store::vendors::get(conn, &who.vendor_id)?;
            let name = changes.name.unwrap_or_else(|| current.name.clone());
            let origins = changes.origins.unwrap_or_else(|| current.origin_list());
            let auto = changes.auto_publish_min_level.unwrap_or(current.auto_publish_min_level);
            store::vendors::update_settings(conn, &who.vendor_id, &name, &origins, auto)?;
            let providers = changes.kyc_providers.unwrap_or_else(|| current.provider_choice());
            let countries = changes.phone_countries.unwrap_or_else(|| current.phone_country_choice());
            store::vendors::set_kyc_choices(conn, &who.vendor_id, providers.as_deref(), countries.as_deref())?;
            let details = json!({
                "name": name,
                "origins": origins,
                "auto_publish_min_level": auto,
                "kyc_providers": providers,
                "phone_countries": countries,
            });
            let entry = Entry { actor: &who.label(), action: "vendor.updated", target: &who.vendor_id, details };
            audit.append(conn, &who.vendor_id, now, entry)?;
            store::vendors::get(conn, &who.vendor_id)
        })
        .await?;
    core.public_cache.forget_vendor(&vendor.id);
    Ok(vendor)
}

/// The vendor's audit chain, checked in one read snapshot.
pub async fn verify_audit(core: &Core, vendor_id: &str) -> Result<crate::store::audit::Report> {
    let (audit, vendor) = (core.audit.clone(), vendor_id.to_owned());
    core.db.run(move |conn| crate::db::read_snapshot(conn, |conn| audit.verify_vendor(conn, &vendor))).await
}
