//! The invitation and reminder e-mails, in the buyer's language (en, ru): plain text and
//! HTML from templates embedded in the binary, rendered by minijinja with HTML autoescaping
//! (shop names, buyer names and order numbers are untrusted text).

use std::sync::OnceLock;

use minijinja::{context, Environment};
use serde::{Deserialize, Serialize};

/// The languages messages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Ru,
}

impl Lang {
    /// From an order's locale (`ru`, `ru-RU`, …); English otherwise.
    pub fn of(locale: Option<&str>) -> Lang {
        match locale.map(|l| l.trim().to_ascii_lowercase()) {
            Some(l) if l == "ru" || l.starts_with("ru-") || l.starts_with("ru_") => Lang::Ru,
            _ => Lang::En,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ru => "ru",
        }
    }
}

/// What an invitation or reminder says.
pub struct Invitation<'a> {
    pub lang: Lang,
    /// 0 for the invitation, then the reminder's number.
    pub reminder: u32,
    pub shop: &'a str,
    pub order: &'a str,
    pub name: Option<&'a str>,
    /// The hosted page's link; the stars add `?rating=N`.
    pub page: &'a str,
    pub until_ms: i64,
    pub unsubscribe: &'a str,
    /// The thank-you offered for any honest review, in the shop's words.
    pub incentive: Option<&'a str>,
}

/// A rendered message.
#[derive(Debug)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    /// `None`: a text-only message (a vendor's wording without an HTML part).
    pub html: Option<String>,
}

/// The wording of the invitation and reminder e-mails for one language: minijinja templates
/// for the subject, the text part and the HTML part (autoescaped; `None` = text only). The
/// variables: `shop`, `order`, `name`, `page`, `stars` (each `n`, `label`, `link`),
/// `until`, `unsubscribe`, `incentive`, `reminder` (0 for the invitation), `subject` (in the
/// parts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Custom {
    #[schema(min_length = 1, max_length = 500)]
    pub subject: String,
    #[schema(min_length = 1, max_length = 20000)]
    pub text: String,
    #[schema(max_length = 50000)]
    pub html: Option<String>,
}

const SHIPPED: [(&str, &str); 6] = [
    ("invitation.en.subject", include_str!("templates/invitation.en.subject")),
    ("invitation.en.txt", include_str!("templates/invitation.en.txt")),
    ("invitation.en.html", include_str!("templates/invitation.en.html")),
    ("invitation.ru.subject", include_str!("templates/invitation.ru.subject")),
    ("invitation.ru.txt", include_str!("templates/invitation.ru.txt")),
    ("invitation.ru.html", include_str!("templates/invitation.ru.html")),
];

/// Rendering budget of one message (minijinja fuel): a vendor's template cannot loop forever.
const FUEL: u64 = 200_000;

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in SHIPPED {
            env.add_template(name, source).expect("the embedded mail templates parse");
        }
        env
    })
}

/// The shipped wording for a language, as templates a vendor can start from.
pub fn shipped(lang: Lang) -> Custom {
    let source = |kind: &str| {
        SHIPPED.iter().find(|(n, _)| *n == format!("invitation.{}.{kind}", lang.code())).map(|(_, s)| *s).unwrap_or("")
    };
    Custom { subject: source("subject").into(), text: source("txt").into(), html: Some(source("html").into()) }
}

/// Renders an invitation or reminder in the shipped wording, or in the vendor's own.
pub fn invitation(inv: &Invitation<'_>, custom: Option<&Custom>) -> Result<Rendered, String> {
    let until = crate::clock::from_ms(inv.until_ms);
    let until = match inv.lang {
        Lang::En => until.format("%-d %B %Y").to_string(),
        Lang::Ru => until.format("%d.%m.%Y").to_string(),
    };
    let stars: Vec<_> = (1..=5usize)
        .map(|n| context! { n => n, label => format!("{:<5}", "★".repeat(n)), link => format!("{}?rating={n}", inv.page) })
        .collect();
    let name = inv.name.map(str::trim).filter(|n| !n.is_empty());
    let ctx = context! {
        reminder => inv.reminder, shop => inv.shop, order => inv.order, name => name,
        page => inv.page, until => until, unsubscribe => inv.unsubscribe, stars => stars, incentive => inv.incentive,
    };
    let Some(custom) = custom else {
        let render = |kind: &str, ctx: &minijinja::Value| {
            env()
                .get_template(&format!("invitation.{}.{kind}", inv.lang.code()))
                .and_then(|t| t.render(ctx))
                .map_err(|e| format!("mail template: {e}"))
        };
        let subject = one_line(&render("subject", &ctx)?);
        let ctx = context! { subject => &subject, ..ctx };
        return Ok(Rendered { text: render("txt", &ctx)? + "\n", html: Some(render("html", &ctx)?), subject });
    };
    let mut own = Environment::new();
    own.set_fuel(Some(FUEL));
    let part = |name: &'static str, source: &str, ctx: &minijinja::Value| -> Result<String, String> {
        own.render_named_str(name, source, ctx).map_err(|e| describe(&e))
    };
    let subject = one_line(&part("subject.txt", &custom.subject, &ctx).map_err(|e| format!("subject: {e}"))?);
    let ctx = context! { subject => &subject, ..ctx };
    let text = part("text.txt", &custom.text, &ctx).map_err(|e| format!("text: {e}"))? + "\n";
    let html = match &custom.html {
        Some(h) => Some(part("html.html", h, &ctx).map_err(|e| format!("html: {e}"))?),
        None => None,
    };
    Ok(Rendered { subject, text, html })
}

/// A subject on one line, at most 200 characters.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(200).collect()
}

/// A template error as a vendor can act on it: what and where.
fn describe(e: &minijinja::Error) -> String {
    let what = e.detail().map(|d| format!("{} ({d})", e.kind())).unwrap_or_else(|| e.kind().to_string());
    match e.line() {
        Some(line) => format!("line {line}: {what}"),
        None => what,
    }
}

/// Checks a vendor's wording: it parses and renders within its budget with sample values
/// (a reminder with an incentive), the subject is not empty, and every part carries the
/// review link and the unsubscribe link. Returns (field, detail) for the first problem.
pub fn check(custom: &Custom, lang: Lang) -> Result<Rendered, (&'static str, String)> {
    let lengths = [("subject", custom.subject.chars().count(), 500), ("text", custom.text.chars().count(), 20_000)];
    for (field, len, max) in lengths {
        if len == 0 || len > max {
            return Err((field, format!("must be 1 to {max} characters")));
        }
    }
    if custom.html.as_ref().is_some_and(|h| h.is_empty() || h.chars().count() > 50_000) {
        return Err(("html", "must be 1 to 50000 characters, or null for a text-only message".into()));
    }
    // Control characters (other than line breaks and tabs in the parts) and bidi controls
    // have no place in a message.
    let bidi = |c: char| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}');
    let bad = |s: &str, breaks: bool| {
        s.chars().any(|c| bidi(c) || (c.is_control() && !(breaks && matches!(c, '\n' | '\r' | '\t'))))
    };
    let parts = [
        ("subject", Some(custom.subject.as_str()), false),
        ("text", Some(custom.text.as_str()), true),
        ("html", custom.html.as_deref(), true),
    ];
    for (field, value, breaks) in parts {
        if value.is_some_and(|v| bad(v, breaks)) {
            return Err((field, "must not contain control characters".into()));
        }
    }
    let (page, unsubscribe) = ("https://reviews.example/r/SAMPLE-LINK", "https://reviews.example/u/SAMPLE-OPT-OUT");
    let sample = Invitation {
        lang,
        reminder: 1,
        shop: "Sample Shop",
        order: "1001",
        name: Some("Ann"),
        page,
        until_ms: 1_800_000_000_000,
        unsubscribe,
        incentive: Some("10% off your next order"),
    };
    let rendered = invitation(&sample, Some(custom)).map_err(|e| {
        let field =
            ["subject", "text", "html"].into_iter().find(|f| e.starts_with(&format!("{f}: "))).unwrap_or("text");
        (field, format!("does not render: {}", &e[field.len() + 2..]))
    })?;
    if rendered.subject.is_empty() {
        return Err(("subject", "renders empty".into()));
    }
    let links =
        "must include the review link {{ page }} (or the star links) and the unsubscribe link {{ unsubscribe }}";
    if !rendered.text.contains(page) || !rendered.text.contains(unsubscribe) {
        return Err(("text", links.into()));
    }
    let escaped = |s: &str| s.replace('/', "&#x2f;");
    if let Some(html) = &rendered.html {
        let has = |link: &str| html.contains(link) || html.contains(&escaped(link));
        if !has(page) || !has(unsubscribe) {
            return Err(("html", links.into()));
        }
    }
    Ok(rendered)
}

/// The text of an SMS invitation (or reminder `reminder` > 0): short, with the short link, how
/// to answer by reply, and how to stop.
pub fn sms_invitation(lang: Lang, reminder: u32, shop: &str, order: &str, link: &str) -> String {
    match (lang, reminder) {
        (Lang::En, 0) => format!(
            "{shop}: how was order {order}? Reply with 1-5 and a few words (e.g. \"5 great\") or review at {link} . Reply STOP to opt out."
        ),
        (Lang::En, _) => format!(
            "{shop}: a reminder - how was order {order}? Reply with 1-5 and a few words or review at {link} . Reply STOP to opt out."
        ),
        (Lang::Ru, 0) => format!(
            "{shop}: как вам заказ {order}? Ответьте оценкой 1-5 и парой слов (например, «5 отлично») или оставьте отзыв: {link} . СТОП - отписаться."
        ),
        (Lang::Ru, _) => format!(
            "{shop}: напоминаем - как вам заказ {order}? Ответьте оценкой 1-5 или оставьте отзыв: {link} . СТОП - отписаться."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(lang: Lang, reminder: u32, shop: &str, name: Option<&str>) -> Rendered {
        let mut r = invitation(
            &Invitation {
                lang,
                reminder,
                shop,
                order: "A-1",
                name,
                page: "https://r.example/r/T",
                until_ms: 1_798_761_600_000,
                unsubscribe: "https://r.example/u/U",
                incentive: (reminder == 2).then_some("10% off your next order"),
            },
            None,
        )
        .unwrap();
        r.html = r.html.or(Some(String::new()));
        r
    }

    trait Html {
        fn html(&self) -> &str;
    }

    impl Html for Rendered {
        fn html(&self) -> &str {
            self.html.as_deref().unwrap_or("")
        }
    }

    #[test]
    fn the_text_part_names_the_order_and_lists_five_star_links() {
        let m = sample(Lang::En, 0, "Tea & Co", Some("Ann"));
        assert_eq!(m.subject, "How was your order from Tea & Co?");
        assert!(
            m.text.starts_with("Hello Ann,\n\nThank you for your order A-1 at Tea & Co. How did it go?"),
            "{}",
            m.text
        );
        assert!(m.text.contains("\n★     1: https://r.example/r/T?rating=1\n"), "{}", m.text);
        assert!(m
            .text
            .contains("\n★★★★★ 5: https://r.example/r/T?rating=5\n\nOr write your review at https://r.example/r/T\n"));
        assert!(m.text.contains("The link works until 1 January 2027."), "{}", m.text);
        assert!(m.text.ends_with("No more review requests from Tea & Co: https://r.example/u/U\n"), "{:?}", m.text);
        let reminder = sample(Lang::En, 1, "Tea & Co", None);
        assert_eq!(reminder.subject, "Reminder: how was your order from Tea & Co?");
        assert!(reminder.text.starts_with("Hello there,\n\nA short reminder:"), "{}", reminder.text);
    }

    #[test]
    fn the_html_part_escapes_untrusted_text_and_links_each_star() {
        let m = sample(Lang::En, 0, "<script>alert(1)</script>", Some("<img src=x onerror=alert(1)>"));
        assert!(!m.html().contains("<script>alert"), "{}", m.html());
        assert!(!m.html().contains("<img src=x"), "{}", m.html());
        assert!(m.html().contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"), "{}", m.html());
        assert_eq!(m.html().matches("?rating=").count(), 5);
        assert!(m.html().contains("href=\"https:&#x2f;&#x2f;r.example&#x2f;r&#x2f;T?rating=3\""), "{}", m.html());
    }

    #[test]
    fn russian_buyers_read_russian() {
        assert_eq!(Lang::of(Some("ru-RU")), Lang::Ru);
        assert_eq!(Lang::of(Some("de")), Lang::En);
        assert_eq!(Lang::of(None), Lang::En);
        let m = sample(Lang::Ru, 0, "Чайная", Some("Анна"));
        assert_eq!(m.subject, "Как вам заказ в магазине Чайная?");
        assert!(m.text.starts_with("Здравствуйте, Анна!\n\nСпасибо за заказ A-1 в магазине Чайная."), "{}", m.text);
        assert!(m.text.contains("Ссылка действует до 01.01.2027."), "{}", m.text);
        assert!(m.html().contains("<html lang=\"ru\">"));
        let r = sample(Lang::Ru, 2, "Чайная", None);
        assert!(r.text.starts_with("Здравствуйте!\n\nНапоминаем:"), "{}", r.text);
        assert!(r
            .text
            .contains("В благодарность за любой честный отзыв, хороший или плохой: 10% off your next order."));
        assert!(!m.text.contains("В благодарность"));
    }
}
