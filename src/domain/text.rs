//! User text: NFC-normalised, trimmed, length-limited; control and bidi-override
//! characters refused (they hide or reorder what readers see).

use unicode_normalization::UnicodeNormalization;

use crate::error::{Error, Result};

/// Whether newlines are allowed (bodies) or not (names, titles).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    Single,
    Multi,
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Validates and normalises one text field; `min` and `max` count characters after NFC.
pub fn clean(field: &str, raw: &str, lines: Lines, min: usize, max: usize) -> Result<String> {
    let normalised: String = raw.nfc().collect::<String>().replace("\r\n", "\n");
    for c in normalised.chars() {
        if is_bidi_control(c) {
            return Err(Error::validation(field, "contains bidirectional control characters"));
        }
        let allowed_whitespace = lines == Lines::Multi && (c == '\n' || c == '\t');
        if c.is_control() && !allowed_whitespace {
            return Err(Error::validation(field, "contains control characters"));
        }
    }
    let trimmed = normalised.trim();
    let count = trimmed.chars().count();
    if count < min {
        return Err(Error::validation(
            field,
            if min == 1 { "must not be empty".to_owned() } else { format!("must be at least {min} characters") },
        ));
    }
    if count > max {
        return Err(Error::validation(field, format!("must be at most {max} characters")));
    }
    Ok(trimmed.to_owned())
}

/// Like [`clean`], for optional fields: `None` and blank both mean absent.
pub fn clean_optional(field: &str, raw: Option<&str>, lines: Lines, max: usize) -> Result<Option<String>> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => clean(field, s, lines, 1, max).map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_to_nfc_and_trims() {
        assert_eq!(clean("t", " Cafe\u{301} ", Lines::Single, 1, 10).unwrap(), "Café");
        assert_eq!(clean("t", "a\r\nb", Lines::Multi, 1, 10).unwrap(), "a\nb");
    }

    #[test]
    fn refuses_controls_bidi_and_bad_lengths() {
        assert!(clean("t", "a\u{202E}b", Lines::Multi, 1, 10).is_err());
        assert!(clean("t", "a\u{2066}b", Lines::Multi, 1, 10).is_err());
        assert!(clean("t", "a\u{0007}b", Lines::Multi, 1, 10).is_err());
        assert!(clean("t", "a\u{0000}b", Lines::Multi, 1, 10).is_err());
        assert!(clean("t", "a\nb", Lines::Single, 1, 10).is_err());
        assert!(clean("t", "   ", Lines::Single, 1, 10).is_err());
        assert!(clean("t", "abcdefghijk", Lines::Single, 1, 10).is_err());
        assert_eq!(clean_optional("t", Some("  "), Lines::Single, 5).unwrap(), None);
    }
}
