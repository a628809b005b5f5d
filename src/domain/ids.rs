//! Ids taken from URLs and cursors. Every id the service issues is a UUID; a path id is
//! accepted only if it is made of URL-unreserved ASCII, so control characters (U+0000,
//! which PostgreSQL refuses in text) and other junk never reach a query (M4).

use serde::Deserialize;

use crate::error::{Error, Result};

/// What a path id may look like (also the OpenAPI `pattern` of `{id}` parameters).
pub const ID_PATTERN: &str = "^[A-Za-z0-9._~-]{1,64}$";

/// An id from a URL path or a cursor: 1–64 characters of `A–Z a–z 0–9 . _ ~ -`.
///
/// Use `web::Path<PathId>` instead of `web::Path<String>` for `{id}` segments: a
/// malformed id is refused by the path extractor with 400 before any handler runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct PathId(String);

impl PathId {
    pub fn parse(raw: &str) -> Result<PathId> {
        let ok = (1..=64).contains(&raw.len())
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'-'));
        if ok {
            Ok(PathId(raw.to_owned()))
        } else {
            Err(Error::BadRequest("invalid id: expected 1–64 characters of letters, digits and . _ ~ -".into()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl TryFrom<String> for PathId {
    type Error = Error;

    fn try_from(raw: String) -> Result<PathId> {
        PathId::parse(&raw)
    }
}

impl std::fmt::Display for PathId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for PathId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_and_unreserved_ids_pass_control_characters_do_not() {
        assert!(PathId::parse("0192f1c2-7b1e-7c3a-9d4e-5f6a7b8c9d0e").is_ok());
        assert!(PathId::parse("rev-behind-the-back").is_ok());
        for bad in ["", "a\u{0}b", "\u{0}", "a b", "a/b", "é", "a\u{7}", &"x".repeat(65)] {
            assert!(PathId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn deserialising_refuses_bad_ids() {
        assert!(serde_json::from_str::<PathId>("\"abc\"").is_ok());
        assert!(serde_json::from_str::<PathId>("\"a\\u0000\"").is_err());
    }
}
