//! Opaque high-entropy tokens (API keys, refresh tokens, flow tokens): shown once,
//! stored as SHA-256, looked up by that hash.

use sha2::{Digest, Sha256};

use crate::clock::Random;

pub fn sha256_hex(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// A new token `{prefix}_{43 base64url chars}` (256 bits).
pub fn new_token(prefix: &str, random: &dyn Random) -> String {
    format!("{prefix}_{}", random.token(32))
}

/// The part of a key shown in listings: prefix plus the first 8 secret characters.
pub fn visible_prefix(token: &str) -> String {
    token.chars().take(token.find('_').map_or(0, |i| i + 1) + 8).collect()
}
