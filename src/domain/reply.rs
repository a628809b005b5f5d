//! Answers by e-mail reply (SPEC §4.5): what part of a reply is new, and whether it starts
//! with a rating. Pure.

/// The new part of a reply: the quoted history (`> …`, "On … wrote:", "-----Original
/// Message-----", a forwarded header block) and the signature (`-- `, "Sent from my …") cut.
pub fn new_part(text: &str) -> String {
    let mut kept = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        let lower = t.to_lowercase();
        let quoted = t.starts_with('>')
            || (lower.starts_with("on ") && lower.ends_with("wrote:"))
            || lower.ends_with("пишет:")
            || lower.ends_with("написал:")
            || lower.ends_with("написала:")
            || lower.starts_with("-----original message-----")
            || (lower.starts_with("from:") && !kept.is_empty())
            || line == "-- "
            || t == "--"
            || lower.starts_with("sent from my ")
            || lower.starts_with("отправлено с ");
        if quoted {
            break;
        }
        kept.push(line);
    }
    kept.join("\n").trim().to_owned()
}

/// A rating 1–5 at the start of a reply — a digit ("5", "4/5", "5 stars", "3 звезды") or
/// one to five stars ("★★★★", "⭐⭐⭐", "****") — and the text after it.
pub fn rating_and_text(reply: &str) -> Option<(u8, String)> {
    let s = reply.trim_start();
    let first = s.chars().next()?;
    let (rating, rest) = if let Some(d) = first.to_digit(10) {
        let after = &s[1..];
        if after.chars().next().is_some_and(|c| c.is_ascii_digit() || c == '.' || c == ',') {
            // "10", "2023", "4.5": not a rating of 1–5.
            if !after.starts_with(". ") && !after.starts_with(", ") && after != "." && after != "," {
                return None;
            }
        }
        let mut rest = after.trim_start();
        for suffix in ["/5", "/ 5", "out of 5", "из 5"] {
            if let Some(r) = rest.strip_prefix(suffix) {
                rest = r.trim_start();
            }
        }
        let lower = rest.to_lowercase();
        for word in ["stars", "star", "звезды", "звезда", "звёзды", "звезд", "звёзд"] {
            if lower.starts_with(word) {
                rest = &rest[word.len()..];
                break;
            }
        }
        (u8::try_from(d).ok()?, rest)
    } else if matches!(first, '★' | '⭐' | '*') {
        let count = s.chars().take_while(|c| *c == first || *c == '\u{fe0f}').filter(|c| *c == first).count();
        let skip: usize = s.chars().take_while(|c| *c == first || *c == '\u{fe0f}').map(char::len_utf8).sum();
        (u8::try_from(count).ok()?, &s[skip..])
    } else {
        return None;
    };
    if !(1..=5).contains(&rating) {
        return None;
    }
    let text =
        rest.trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '-' | '–' | '—' | ':' | ',' | '.' | '!'));
    Some((rating, text.trim_end().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rating_in_digits_or_stars_starts_a_review() {
        assert_eq!(rating_and_text("5 great service"), Some((5, "great service".into())));
        assert_eq!(rating_and_text("  4/5 - quick delivery"), Some((4, "quick delivery".into())));
        assert_eq!(rating_and_text("3 stars. Box was dented"), Some((3, "Box was dented".into())));
        assert_eq!(rating_and_text("2 звезды: долго ехало"), Some((2, "долго ехало".into())));
        assert_eq!(rating_and_text("★★★★ nice"), Some((4, "nice".into())));
        assert_eq!(rating_and_text("⭐⭐⭐"), Some((3, String::new())));
        assert_eq!(rating_and_text("1"), Some((1, String::new())));
        assert_eq!(rating_and_text("5."), Some((5, String::new())));
    }

    #[test]
    fn anything_else_is_not_a_rating() {
        for text in [
            "Hello, where is my refund?",
            "10 out of 10",
            "2023 was a good year",
            "0 stars",
            "6",
            "4.5 stars",
            "★★★★★★",
            "",
        ] {
            assert_eq!(rating_and_text(text), None, "{text}");
        }
    }

    #[test]
    fn quoted_history_and_signatures_are_cut() {
        let reply = "5 lovely kettle\nBoils fast.\n\nOn Tue, 1 Dec 2026 at 10:00, Shop <reviews@shop.example> wrote:\n> How was your order?\n> 1: https://…";
        assert_eq!(new_part(reply), "5 lovely kettle\nBoils fast.");
        assert_eq!(new_part("4 ok\n-- \nAnn Smith\nCEO"), "4 ok");
        assert_eq!(new_part("3\nSent from my iPhone"), "3");
        assert_eq!(new_part("2 плохо\n\n1 декабря 2026 г., Shop <r@shop.example> пишет:\n> Как вам заказ?"), "2 плохо");
        assert_eq!(new_part("5\n-----Original Message-----\nFrom: shop"), "5");
        assert_eq!(new_part("> only quoted"), "");
    }
}
