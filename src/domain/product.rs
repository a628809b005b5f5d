//! Catalogue rules: a product's SKU in a URL path, its GTIN (with check digit) and its
//! web addresses. Pure: no I/O.

use serde::Deserialize;

use crate::domain::review::Sku;
use crate::error::{Error, Result};

/// The OpenAPI `pattern` of a `{sku}` path parameter and of a product cursor's SKU part.
pub const SKU_PATTERN: &str = "^[A-Za-z0-9._:/-]{1,64}$";

/// A SKU taken from a URL path: exactly the SKU rule ([`Sku::parse`]), with no trimming
/// (a path segment that is not a SKU as written is refused, 400).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct PathSku(String);

impl PathSku {
    pub fn parse(raw: &str) -> Result<PathSku> {
        let bad = || Error::BadRequest("invalid sku: expected 1–64 characters of letters, digits and - _ . : /".into());
        let sku = Sku::parse("sku", raw).map_err(|_| bad())?;
        if sku.as_str() != raw {
            return Err(bad());
        }
        Ok(PathSku(sku.into_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl TryFrom<String> for PathSku {
    type Error = Error;

    fn try_from(raw: String) -> Result<PathSku> {
        PathSku::parse(&raw)
    }
}

/// The OpenAPI `pattern` of a GTIN (the check digit is checked too, which no pattern can say).
pub const GTIN_PATTERN: &str = "^(?:[0-9]{8}|[0-9]{12,14})$";

/// A Global Trade Item Number: GTIN-8, -12 (UPC-A), -13 (EAN) or -14, digits only, with a
/// valid modulo-10 check digit. Kept as given (leading zeros included), without spaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gtin(String);

impl Gtin {
    pub fn parse(field: &str, raw: &str) -> Result<Gtin> {
        let digits = raw.trim();
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::validation(field, "must contain digits only"));
        }
        if !matches!(digits.len(), 8 | 12 | 13 | 14) {
            return Err(Error::validation(field, "must have 8, 12, 13 or 14 digits"));
        }
        let (body, check) = digits.split_at(digits.len() - 1);
        if check_digit(body) != check.as_bytes()[0] - b'0' {
            return Err(Error::validation(field, "has a wrong check digit"));
        }
        Ok(Gtin(digits.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// The GS1 modulo-10 check digit of `body` (ASCII digits): weights 3, 1, 3, … from the right.
fn check_digit(body: &str) -> u8 {
    let sum: u32 =
        body.bytes().rev().enumerate().map(|(i, b)| u32::from(b - b'0') * if i % 2 == 0 { 3 } else { 1 }).sum();
    ((10 - sum % 10) % 10) as u8
}

/// The OpenAPI `pattern` of a product or image URL; [`WebUrl::parse`] accepts exactly this.
pub const URL_PATTERN: &str = "^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:[/?#][!-~]*)?$";
pub const URL_MAX: usize = 2048;

/// An absolute http(s) URL of at most 2048 characters: a host of letters, digits, dots
/// and hyphens, an optional port, then printable ASCII (no spaces or control characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebUrl(String);

impl WebUrl {
    pub fn parse(field: &str, raw: &str) -> Result<WebUrl> {
        let bad = || Error::validation(field, "must be an absolute http or https URL of at most 2048 characters");
        if raw.len() > URL_MAX {
            return Err(bad());
        }
        let lower = raw.get(..8).unwrap_or(raw).to_ascii_lowercase();
        let rest = if lower.starts_with("https://") {
            &raw[8..]
        } else if lower.starts_with("http://") {
            &raw[7..]
        } else {
            return Err(bad());
        };
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let (host, port) = match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        let host_ok = !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        let port_ok = port.is_none_or(|p| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
        let tail_ok = tail.bytes().all(|b| (b'!'..=b'~').contains(&b));
        if host_ok && port_ok && tail_ok {
            Ok(WebUrl(raw.to_owned()))
        } else {
            Err(bad())
        }
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A product as the catalogue stores it, every field checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductInput {
    pub name: String,
    pub url: Option<String>,
    pub image_url: Option<String>,
    pub brand: Option<String>,
    pub gtin: Option<String>,
    pub mpn: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gtins_need_their_check_digit() {
        for ok in ["4006381333931", "012345678905", "96385074", "00012345600012", " 96385074 "] {
            assert_eq!(Gtin::parse("gtin", ok).unwrap().as_str(), ok.trim(), "{ok}");
        }
        for (bad, why) in [
            ("4006381333932", "has a wrong check digit"),
            ("012345678900", "has a wrong check digit"),
            ("96385075", "has a wrong check digit"),
            ("00012345600013", "has a wrong check digit"),
            ("40063813339A1", "must contain digits only"),
            ("4006-381333931", "must contain digits only"),
            ("", "must have 8, 12, 13 or 14 digits"),
            ("1234567", "must have 8, 12, 13 or 14 digits"),
            ("12345678901", "must have 8, 12, 13 or 14 digits"),
            ("123456789012345", "must have 8, 12, 13 or 14 digits"),
            ("٤٠٠٦٣٨١٣٣٣٩٣١", "must contain digits only"),
        ] {
            assert_eq!(Gtin::parse("gtin", bad).unwrap_err().to_string(), why, "{bad}");
        }
    }

    #[test]
    fn urls_are_absolute_http() {
        for ok in [
            "https://shop.example/p/1?x=1#top",
            "HTTP://shop.example",
            "http://127.0.0.1:8080/a",
            "https://cdn.example/i.png",
        ] {
            assert!(WebUrl::parse("url", ok).is_ok(), "{ok}");
        }
        let long = format!("https://shop.example/{}", "a".repeat(2048));
        for bad in [
            "",
            "shop.example",
            "ftp://shop.example",
            "javascript:alert(1)",
            "https://",
            "https://shop example/",
            "https://shop.example/a b",
            "https://shop.example/\u{0}",
            "https://shop.example:123456/",
            "https://user@shop.example/",
            "https://shop.example/é",
            &long,
        ] {
            assert!(WebUrl::parse("url", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn path_skus_are_taken_as_written() {
        assert_eq!(PathSku::parse("SKU-1/a:b_c.d").unwrap().as_str(), "SKU-1/a:b_c.d");
        for bad in ["", " SKU", "SKU ", "a b", "nul\u{0}", "{sku}", &"x".repeat(65)] {
            assert!(PathSku::parse(bad).is_err(), "{bad:?}");
        }
    }
}
