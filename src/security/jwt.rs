//! Staff access tokens (RFC 8725): EdDSA only, `kid` from the key ring,
//! `iss/aud/sub/exp/iat` required, time checked against the injected clock with an
//! explicit leeway. `none`, HMAC and RSA tokens are refused before any key is touched.

use std::collections::HashMap;

use ed25519_dalek::pkcs8::DecodePrivateKey;
use jsonwebtoken::{decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::keys::SecretsFile;

pub const ISSUER: &str = "truview";
pub const AUDIENCE: &str = "truview-staff";
/// Invitation links (SECURITY R3): their own audience and `typ`, so a staff token is never
/// an invitation nor the reverse.
pub const INVITATION_AUDIENCE: &str = "truview-invitation";
pub const INVITATION_TYP: &str = "invitation+jwt";

/// An invitation link: one order, one purpose (`review`), expiring.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct InvitationClaims {
    pub iss: String,
    pub aud: String,
    /// Invitation id.
    pub sub: String,
    /// Vendor id.
    pub vid: String,
    /// Order id.
    pub oid: String,
    pub purpose: String,
    pub iat: i64,
    pub exp: i64,
}

trait Times {
    fn iat(&self) -> i64;
    fn exp(&self) -> i64;
}

impl Times for StaffClaims {
    fn iat(&self) -> i64 {
        self.iat
    }
    fn exp(&self) -> i64 {
        self.exp
    }
}

impl Times for InvitationClaims {
    fn iat(&self) -> i64 {
        self.iat
    }
    fn exp(&self) -> i64 {
        self.exp
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StaffClaims {
    pub iss: String,
    pub aud: String,
    /// Staff id.
    pub sub: String,
    /// Vendor id.
    pub vid: String,
    pub role: String,
    /// Session id: the refresh-token family the token was issued with. Checked on every
    /// request, so the access token ends with its session (logout, password change).
    #[serde(default)]
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
}

struct RingKey {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

/// Signing and verification keys by `kid`; the newest live key signs.
pub struct KeyRing {
    keys: HashMap<String, RingKey>,
    active: String,
    leeway_secs: i64,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing").field("active", &self.active).field("keys", &self.keys.len()).finish()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("algorithm not allowed")]
    Algorithm,
    #[error("unknown key")]
    UnknownKey,
    #[error("invalid token")]
    Invalid,
    #[error("token expired")]
    Expired,
    #[error("token issued in the future")]
    NotYetValid,
}

impl KeyRing {
    pub fn from_secrets(secrets: &SecretsFile, leeway_secs: i64) -> anyhow::Result<KeyRing> {
        let mut keys = HashMap::new();
        let mut active: Option<(i64, String)> = None;
        for stored in secrets.jwt_keys.iter().filter(|k| !k.revoked) {
            let signing = ed25519_dalek::SigningKey::from_pkcs8_pem(&stored.private_pem)
                .map_err(|e| anyhow::anyhow!("JWT key {} is not a PKCS#8 Ed25519 key: {e}", stored.kid))?;
            let encoding = EncodingKey::from_ed_pem(stored.private_pem.as_bytes())
                .map_err(|e| anyhow::anyhow!("JWT key {}: {e}", stored.kid))?;
            let decoding = DecodingKey::from_ed_der(signing.verifying_key().as_bytes());
            keys.insert(stored.kid.clone(), RingKey { encoding, decoding });
            if active.as_ref().is_none_or(|(at, _)| stored.created_at >= *at) {
                active = Some((stored.created_at, stored.kid.clone()));
            }
        }
        let (_, active) = active.ok_or_else(|| anyhow::anyhow!("the key file has no live JWT key"))?;
        Ok(KeyRing { keys, active, leeway_secs })
    }

    pub fn active_kid(&self) -> &str {
        &self.active
    }

    pub fn sign(&self, claims: &StaffClaims) -> anyhow::Result<String> {
        self.sign_as(claims, None)
    }

    fn sign_as(&self, claims: &impl Serialize, typ: Option<&str>) -> anyhow::Result<String> {
        let key = &self.keys[&self.active];
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.active.clone());
        if let Some(typ) = typ {
            header.typ = Some(typ.to_owned());
        }
        Ok(encode(&header, claims, &key.encoding)?)
    }

    pub fn sign_invitation(&self, claims: &InvitationClaims) -> anyhow::Result<String> {
        self.sign_as(claims, Some(INVITATION_TYP))
    }

    /// Verifies an invitation link like a staff token, with its own audience and `typ`.
    pub fn verify_invitation(&self, token: &str, now: i64) -> Result<InvitationClaims, TokenError> {
        self.verify_as(token, now, INVITATION_AUDIENCE, Some(INVITATION_TYP))
    }

    /// Verifies signature, algorithm, kid, issuer, audience and times (`now` in seconds).
    pub fn verify(&self, token: &str, now: i64) -> Result<StaffClaims, TokenError> {
        self.verify_as(token, now, AUDIENCE, None)
    }

    fn verify_as<T: serde::de::DeserializeOwned + Times>(
        &self,
        token: &str,
        now: i64,
        audience: &str,
        typ: Option<&str>,
    ) -> Result<T, TokenError> {
        let header = decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::Algorithm);
        }
        // Staff tokens carry the default `JWT`; other kinds must name themselves.
        if header.typ.as_deref().filter(|t| *t != "JWT") != typ {
            return Err(TokenError::Invalid);
        }
        let kid = header.kid.ok_or(TokenError::UnknownKey)?;
        let key = self.keys.get(&kid).ok_or(TokenError::UnknownKey)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[audience]);
        // Times are checked below against the injected clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        let claims = decode::<T>(token, &key.decoding, &validation).map_err(|_| TokenError::Invalid)?.claims;
        if claims.exp() + self.leeway_secs < now {
            return Err(TokenError::Expired);
        }
        if claims.iat() - self.leeway_secs > now {
            return Err(TokenError::NotYetValid);
        }
        Ok(claims)
    }
}
