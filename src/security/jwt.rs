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
        let key = &self.keys[&self.active];
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.active.clone());
        Ok(encode(&header, claims, &key.encoding)?)
    }

    /// Verifies signature, algorithm, kid, issuer, audience and times (`now` in seconds).
    pub fn verify(&self, token: &str, now: i64) -> Result<StaffClaims, TokenError> {
        let header = decode_header(token).map_err(|_| TokenError::Malformed)?;
        if header.alg != Algorithm::EdDSA {
            return Err(TokenError::Algorithm);
        }
        let kid = header.kid.ok_or(TokenError::UnknownKey)?;
        let key = self.keys.get(&kid).ok_or(TokenError::UnknownKey)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        // Times are checked below against the injected clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        let claims = decode::<StaffClaims>(token, &key.decoding, &validation).map_err(|_| TokenError::Invalid)?.claims;
        if claims.exp + self.leeway_secs < now {
            return Err(TokenError::Expired);
        }
        if claims.iat - self.leeway_secs > now {
            return Err(TokenError::NotYetValid);
        }
        Ok(claims)
    }
}
