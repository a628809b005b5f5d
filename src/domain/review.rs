//! A review's input values, parsed once at the edge: stars, product SKU, locale tag and
//! the browser's voter token. Their constraints are also what the OpenAPI schema states.

use crate::error::{Error, Result};
use crate::security::tokens::sha256_hex;

/// OpenAPI patterns of the values below.
pub const SKU_PATTERN: &str = r"^[A-Za-z0-9\-_.:/]{1,64}$";
pub const LOCALE_PATTERN: &str = "^[A-Za-z0-9]{1,8}(-[A-Za-z0-9]{1,8})*$";
pub const VOTER_TOKEN_PATTERN: &str = "^[!-~]{16,128}$";

/// 1–5 stars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rating(u8);

impl Rating {
    pub fn parse(field: &str, stars: i64) -> Result<Rating> {
        match u8::try_from(stars) {
            Ok(n @ 1..=5) => Ok(Rating(n)),
            _ => Err(Error::validation(field, "must be a whole number of stars from 1 to 5")),
        }
    }

    pub fn get(self) -> i32 {
        i32::from(self.0)
    }
}

/// A product SKU: 1–64 characters of letters, digits and `- _ . : /` (surrounding
/// whitespace is ignored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sku(String);

impl Sku {
    pub fn parse(field: &str, raw: &str) -> Result<Sku> {
        let sku = raw.trim();
        let ok =
            !sku.is_empty() && sku.len() <= 64 && sku.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:/".contains(c));
        if ok {
            Ok(Sku(sku.to_owned()))
        } else {
            Err(Error::validation(field, "must be 1–64 characters of letters, digits and - _ . : /"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// [`Sku::parse`] for callers that keep SKUs as strings (widget reads, queries).
pub fn parse_sku(field: &str, raw: &str) -> Result<String> {
    Sku::parse(field, raw).map(Sku::into_string)
}

/// A BCP 47-shaped language tag such as `en` or `ru-RU`, at most 35 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locale(String);

impl Locale {
    /// Absent or blank means `en`.
    pub fn parse(raw: Option<&str>) -> Result<Locale> {
        let locale = raw.map(str::trim).filter(|l| !l.is_empty()).unwrap_or("en");
        let ok = locale.len() <= 35
            && locale
                .split('-')
                .all(|part| !part.is_empty() && part.len() <= 8 && part.chars().all(|c| c.is_ascii_alphanumeric()));
        if ok {
            Ok(Locale(locale.to_owned()))
        } else {
            Err(Error::validation("locale", "must be a language tag such as en or ru-RU"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// The random token a browser keeps: 16–128 visible ASCII characters. Stored only as a
/// hash bound to the vendor ([`VoterToken::key`]).
#[derive(Clone, PartialEq, Eq)]
pub struct VoterToken(String);

impl std::fmt::Debug for VoterToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VoterToken(..)")
    }
}

impl VoterToken {
    pub fn parse(raw: &str) -> Result<VoterToken> {
        let ok = (16..=128).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(VoterToken(raw.to_owned()))
        } else {
            Err(Error::validation("voter_token", "must be 16–128 visible ASCII characters"))
        }
    }

    /// The vendor-bound hash under which votes and quick ratings are stored.
    pub fn key(&self, vendor_id: &str) -> String {
        sha256_hex(&format!("{vendor_id}\0{}", self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratings_are_one_to_five() {
        assert_eq!(Rating::parse("rating", 1).unwrap().get(), 1);
        assert_eq!(Rating::parse("rating", 5).unwrap().get(), 5);
        for bad in [0, 6, -1, i64::MAX, 256 + 3] {
            assert!(Rating::parse("rating", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn skus_locales_and_tokens() {
        assert_eq!(Sku::parse("sku", " SKU-1/a:b_c.d ").unwrap().as_str(), "SKU-1/a:b_c.d");
        for bad in ["", " ", "with space", "nul\u{0}", &"x".repeat(65)] {
            assert!(Sku::parse("sku", bad).is_err(), "{bad:?}");
        }
        assert_eq!(Locale::parse(None).unwrap().as_str(), "en");
        assert_eq!(Locale::parse(Some("ru-RU")).unwrap().as_str(), "ru-RU");
        for bad in ["en_US", "en--US", "x\u{0}", "abcdefghi"] {
            assert!(Locale::parse(Some(bad)).is_err(), "{bad:?}");
        }
        assert!(VoterToken::parse("browser-token-aaaaaaaa").is_ok());
        for bad in ["short", "sixteen chars ok", "nul\u{0}nul\u{0}nul\u{0}nul\u{0}nul\u{0}", &"x".repeat(129)] {
            assert!(VoterToken::parse(bad).is_err(), "{bad:?}");
        }
        let t = VoterToken::parse("browser-token-aaaaaaaa").unwrap();
        assert_ne!(t.key("v1"), t.key("v2"));
    }
}

/// Daily caps on anonymous public writes from one client address (M6). A rotating
/// `voter_token` is free; an address is not. Generous enough for an office or a family
/// behind one NAT address, far below what moves a ranking.
pub const VOTES_PER_IP_PER_REVIEW_PER_DAY: i64 = 5;
pub const QUICK_RATINGS_PER_IP_PER_VENDOR_PER_DAY: i64 = 20;

const DAY_MS: i64 = 86_400_000;

/// A daily cap: its storage key (hashed: no raw address is stored) and when it lapses,
/// on the service clock (UTC days).
pub fn daily_cap(kind: &str, scope: &str, ip: Option<std::net::IpAddr>, now_ms: i64) -> (String, i64) {
    let day = now_ms.div_euclid(DAY_MS);
    (sha256_hex(&format!("{kind}\0{scope}\0{}\0{day}", super::client::bucket_label(ip))), (day + 1) * DAY_MS)
}

#[cfg(test)]
mod cap_tests {
    use super::*;

    #[test]
    fn caps_are_per_day_and_ipv6_counts_by_64() {
        let a: std::net::IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: std::net::IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        assert_eq!(crate::domain::client::bucket_label(Some(a)), crate::domain::client::bucket_label(Some(b)));
        assert_eq!(daily_cap("vote", "r", Some(a), 10).0, daily_cap("vote", "r", Some(b), DAY_MS - 1).0);
        assert_ne!(daily_cap("vote", "r", Some(a), 10).0, daily_cap("vote", "r", Some(a), DAY_MS).0);
        assert_eq!(daily_cap("vote", "r", None, 10).1, DAY_MS);
    }
}
