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

/// Unicode general category Cf (format characters: soft hyphen, zero-width and bidi
/// marks, word joiner, BOM, tags…). They are invisible, so they can hide or disguise text.
pub fn is_format_char(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{0600}'..='\u{0605}' | '\u{061C}' | '\u{06DD}' | '\u{070F}' | '\u{0890}'..='\u{0891}'
        | '\u{08E2}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}' | '\u{110BD}' | '\u{110CD}'
        | '\u{13430}'..='\u{1343F}' | '\u{1BCA0}'..='\u{1BCA3}' | '\u{1D173}'..='\u{1D17A}' | '\u{E0001}'
        | '\u{E0020}'..='\u{E007F}')
}

/// Zero-width characters that let two names look identical (L6); refused in single-line
/// fields. (U+200D stays allowed in bodies: emoji sequences need it.)
fn is_zero_width(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
}

/// Validates and normalises one text field; `min` and `max` count characters after NFC.
pub fn clean(field: &str, raw: &str, lines: Lines, min: usize, max: usize) -> Result<String> {
    let normalised: String = raw.nfc().collect::<String>().replace("\r\n", "\n");
    for c in normalised.chars() {
        if is_bidi_control(c) {
            return Err(Error::validation(field, "contains bidirectional control characters"));
        }
        if lines == Lines::Single && matches!(c, '\u{2028}' | '\u{2029}') {
            return Err(Error::validation(field, "must be a single line"));
        }
        if lines == Lines::Single && is_zero_width(c) {
            return Err(Error::validation(field, "contains zero-width characters"));
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

    #[test]
    fn l6_single_line_fields_refuse_line_separators_and_zero_width() {
        for bad in ["a\u{2028}b", "a\u{2029}b", "Ad\u{200B}min", "a\u{200C}b", "a\u{200D}b", "a\u{2060}b", "\u{FEFF}ab"]
        {
            assert!(clean("name", bad, Lines::Single, 1, 80).is_err(), "{bad:?}");
        }
        assert_eq!(
            clean("body", "\u{1F469}\u{200D}\u{1F4BB}", Lines::Multi, 1, 80).unwrap(),
            "\u{1F469}\u{200D}\u{1F4BB}"
        );
        assert!(is_format_char('\u{202E}') && is_format_char('\u{00AD}') && is_format_char('\u{E0041}'));
        assert!(!is_format_char('a') && !is_format_char('\u{00E9}'));
    }
}
