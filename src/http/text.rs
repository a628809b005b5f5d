//! Request-body field types that carry their own rules, so the OpenAPI document and the
//! check cannot drift: `Line<MIN, MAX>` (one line) and `Paragraph<MIN, MAX>` (newlines and
//! tabs allowed) are documented with their lengths and a pattern that excludes what
//! `domain::text::clean` refuses, and `.clean(field)` applies `clean` with the same
//! numbers. `Whole` is an integer that also accepts `3.0` (JSON Schema calls it an integer).

use std::borrow::Cow;

use serde::{Deserialize, Deserializer};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::RefOr;

use crate::domain::text::{clean, clean_optional, Lines};
use crate::error::Result;

/// Characters `clean` refuses on one line: C0/C1 controls, bidi controls, line and
/// paragraph separators, zero-width characters.
const SINGLE_LINE_REFUSED: &str =
    r"\u0000-\u001F\u007F-\u009F\u061C\u200B-\u200F\u2028-\u202E\u2060\u2066-\u2069\uFEFF";
/// Characters `clean` refuses in multi-line text: controls but tab and newline (a carriage
/// return only before a newline), and bidi controls.
const MULTI_LINE_REFUSED: &str = r"\u0000-\u0008\u000B-\u001F\u007F-\u009F\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069";

fn single_line_pattern(required: bool) -> String {
    let x = SINGLE_LINE_REFUSED;
    if required {
        format!(r"^[^{x}]*[^{x}\s][^{x}]*$")
    } else {
        format!(r"^[^{x}]*$")
    }
}

fn multi_line_pattern(required: bool) -> String {
    let x = MULTI_LINE_REFUSED;
    let any = format!(r"(?:[^{x}\r]|\r\n)");
    if required {
        format!(r"^{any}*[^{x}\s]{any}*$")
    } else {
        format!(r"^{any}*$")
    }
}

fn text_schema(min: usize, max: usize, pattern: String, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(min))
        .max_length(Some(max))
        .pattern(Some(pattern))
        .description(Some(description))
        .into()
}

/// One line of text, `MIN`–`MAX` characters after trimming and NFC normalisation.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct Line<const MIN: usize, const MAX: usize>(String);

/// The length the schema states (`maxLength`, in code points) holds for the text as sent,
/// before trimming and line-end normalisation shorten it.
fn within_schema_length(field: &str, raw: &str, max: usize) -> Result<()> {
    if raw.chars().count() > max {
        return Err(crate::error::Error::validation(field, format!("must be at most {max} characters")));
    }
    Ok(())
}

impl<const MIN: usize, const MAX: usize> Line<MIN, MAX> {
    pub fn clean(&self, field: &str) -> Result<String> {
        within_schema_length(field, &self.0, MAX)?;
        clean(field, &self.0, Lines::Single, MIN, MAX)
    }

    /// For optional fields: blank means absent.
    pub fn clean_optional(value: Option<&Self>, field: &str) -> Result<Option<String>> {
        if let Some(v) = value {
            within_schema_length(field, &v.0, MAX)?;
        }
        clean_optional(field, value.map(|v| v.0.as_str()), Lines::Single, MAX)
    }

    pub fn raw(&self) -> &str {
        &self.0
    }
}

impl<const MIN: usize, const MAX: usize> utoipa::PartialSchema for Line<MIN, MAX> {
    fn schema() -> RefOr<Schema> {
        text_schema(
            MIN,
            MAX,
            single_line_pattern(MIN > 0),
            "One line: no control, bidi-control, line-separator or zero-width characters.",
        )
    }
}

impl<const MIN: usize, const MAX: usize> utoipa::ToSchema for Line<MIN, MAX> {
    fn name() -> Cow<'static, str> {
        Cow::Owned(format!("Line{MIN}to{MAX}"))
    }
}

/// Text with newlines and tabs, `MIN`–`MAX` characters after trimming and NFC.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct Paragraph<const MIN: usize, const MAX: usize>(String);

impl<const MIN: usize, const MAX: usize> Paragraph<MIN, MAX> {
    pub fn clean(&self, field: &str) -> Result<String> {
        within_schema_length(field, &self.0, MAX)?;
        clean(field, &self.0, Lines::Multi, MIN, MAX)
    }

    /// For optional fields: blank means absent.
    pub fn clean_optional(value: Option<&Self>, field: &str) -> Result<Option<String>> {
        if let Some(v) = value {
            within_schema_length(field, &v.0, MAX)?;
        }
        clean_optional(field, value.map(|v| v.0.as_str()), Lines::Multi, MAX)
    }
}

impl<const MIN: usize, const MAX: usize> utoipa::PartialSchema for Paragraph<MIN, MAX> {
    fn schema() -> RefOr<Schema> {
        text_schema(
            MIN,
            MAX,
            multi_line_pattern(MIN > 0),
            "Text: newlines and tabs allowed; no other control or bidi-control characters.",
        )
    }
}

impl<const MIN: usize, const MAX: usize> utoipa::ToSchema for Paragraph<MIN, MAX> {
    fn name() -> Cow<'static, str> {
        Cow::Owned(format!("Paragraph{MIN}to{MAX}"))
    }
}

/// A website origin as a vendor registers it (`scheme://host[:port]`, https or http); the
/// pattern mirrors what `domain::account::Origin::parse` accepts.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct OriginUrl(pub String);

const ORIGIN_PATTERN: &str = r"^[Hh][Tt][Tt][Pp][Ss]?://(?:(?:[A-Za-z0-9-]+\.)*[A-Za-z][A-Za-z0-9-]*|(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9]))(?::(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?/?$";

impl utoipa::PartialSchema for OriginUrl {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .max_length(Some(300))
            .pattern(Some(ORIGIN_PATTERN))
            .description(Some("An origin: scheme://host[:port], e.g. https://shop.example"))
            .into()
    }
}

impl utoipa::ToSchema for OriginUrl {}

/// The strings of a list of origins, for `domain::account::parse_origins`.
pub fn origin_strings(origins: &[OriginUrl]) -> Vec<String> {
    origins.iter().map(|o| o.0.clone()).collect()
}

/// A whole number given as a JSON number: `3` and `3.0` alike; `3.5` is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Whole(pub i64);

impl<'de> Deserialize<'de> for Whole {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Whole, D::Error> {
        let n = serde_json::Number::deserialize(d)?;
        if let Some(i) = n.as_i64() {
            return Ok(Whole(i));
        }
        match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Whole(f as i64)),
            _ => Err(serde::de::Error::custom("expected a whole number")),
        }
    }
}

impl utoipa::PartialSchema for Whole {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .into()
    }
}

impl utoipa::ToSchema for Whole {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_clean_with_their_own_limits() {
        let ok: Line<1, 5> = serde_json::from_str(r#"" abc ""#).unwrap();
        assert_eq!(ok.clean("f").unwrap(), "abc");
        let long: Line<1, 5> = serde_json::from_str(r#""abcdef""#).unwrap();
        assert_eq!(long.clean("f").unwrap_err().to_string(), "must be at most 5 characters");
        let two: Line<1, 5> = serde_json::from_str(r#""a\u2028b""#).unwrap();
        assert!(two.clean("f").is_err());
        let para: Paragraph<1, 10> = serde_json::from_str(r#""a\r\nb\tc""#).unwrap();
        assert_eq!(para.clean("f").unwrap(), "a\nb\tc");
    }

    #[test]
    fn whole_numbers_accept_integral_floats_only() {
        assert_eq!(serde_json::from_str::<Whole>("3").unwrap(), Whole(3));
        assert_eq!(serde_json::from_str::<Whole>("3.0").unwrap(), Whole(3));
        assert!(serde_json::from_str::<Whole>("3.5").is_err());
        assert!(serde_json::from_str::<Whole>("\"3\"").is_err());
    }
}
