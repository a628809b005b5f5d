//! Contacts, parsed once at the edge.

use crate::error::{Error, Result};

/// A normalised e-mail address (trimmed, lower-cased).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, raw: &str) -> Result<Email> {
        let email = raw.trim().to_lowercase();
        let invalid = || Error::validation(field, "is not a valid e-mail address");
        // L6: control characters (NUL would also be a 500 on PostgreSQL), whitespace and
        // invisible format characters (bidi overrides, zero-width) are refused.
        let hidden = |c: char| c.is_whitespace() || c.is_control() || crate::domain::text::is_format_char(c);
        if email.is_empty() || email.len() > 254 || email.chars().any(hidden) {
            return Err(invalid());
        }
        let (local, domain) = email.rsplit_once('@').ok_or_else(invalid)?;
        if local.is_empty() || local.len() > 64 || local.contains('@') {
            return Err(invalid());
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 || labels.iter().any(|l| l.is_empty() || l.starts_with('-') || l.ends_with('-')) {
            return Err(invalid());
        }
        Ok(Email(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
    }
}

/// A phone number in E.164 form (`+` and 8–15 digits), from common written forms.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    pub fn parse(field: &str, raw: &str) -> Result<Phone> {
        let trimmed = raw.trim();
        let invalid = || Error::validation(field, "is not a phone number in international form (+ country code)");
        // Written forms may carry separators, but not without bound.
        if trimmed.chars().count() > 64 {
            return Err(invalid());
        }
        let rest = trimmed.strip_prefix('+').or_else(|| trimmed.strip_prefix("00")).ok_or_else(invalid)?;
        let mut digits = String::new();
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err(invalid()),
            }
        }
        if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
            return Err(invalid());
        }
        Ok(Phone(format!("+{digits}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(Email::parse("e", "  Ann@Shop.Example ").unwrap().as_str(), "ann@shop.example");
        assert_eq!(Email::parse("e", "ann@shop.example").unwrap().domain(), "shop.example");
        for bad in
            ["", "ann", "ann@", "@shop.example", "ann@shop", "a b@shop.example", "ann@-x.example", "ann@shop..example"]
        {
            assert!(Email::parse("e", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn l6_emails_refuse_control_and_format_characters() {
        for bad in [
            "a\u{0000}@b.example",
            "ann\u{202E}@shop.example",
            "an\u{200B}n@shop.example",
            "ann@shop\u{2066}.example",
            "ann\u{00AD}@shop.example",
            "a\u{0007}@b.example",
        ] {
            assert!(Email::parse("e", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn phones() {
        assert_eq!(Phone::parse("p", "+44 20 7946-0958").unwrap().as_str(), "+442079460958");
        assert_eq!(Phone::parse("p", "0049 (30) 1234567").unwrap().as_str(), "+49301234567");
        for bad in ["", "2079460958", "+12", "+0123456789", "+44 20 7946 0958 ext 1", "+4420794609581234"] {
            assert!(Phone::parse("p", bad).is_err(), "{bad}");
        }
    }
}
