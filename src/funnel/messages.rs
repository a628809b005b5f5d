//! The invitation and reminder e-mails, in the buyer's language (en, ru): plain text and
//! HTML from templates embedded in the binary, rendered by minijinja with HTML autoescaping
//! (shop names, buyer names and order numbers are untrusted text).

use std::sync::OnceLock;

use minijinja::{context, Environment};

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

    fn code(self) -> &'static str {
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
    pub html: String,
}

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in [
            ("invitation.en.txt", include_str!("templates/invitation.en.txt")),
            ("invitation.en.html", include_str!("templates/invitation.en.html")),
            ("invitation.ru.txt", include_str!("templates/invitation.ru.txt")),
            ("invitation.ru.html", include_str!("templates/invitation.ru.html")),
        ] {
            env.add_template(name, source).expect("the embedded mail templates parse");
        }
        env
    })
}

fn subject(inv: &Invitation<'_>) -> String {
    match (inv.lang, inv.reminder > 0) {
        (Lang::En, false) => format!("How was your order from {}?", inv.shop),
        (Lang::En, true) => format!("Reminder: how was your order from {}?", inv.shop),
        (Lang::Ru, false) => format!("Как вам заказ в магазине {}?", inv.shop),
        (Lang::Ru, true) => format!("Напоминание: как вам заказ в магазине {}?", inv.shop),
    }
}

/// Renders an invitation or reminder.
pub fn invitation(inv: &Invitation<'_>) -> Result<Rendered, String> {
    let until = crate::clock::from_ms(inv.until_ms);
    let until = match inv.lang {
        Lang::En => until.format("%-d %B %Y").to_string(),
        Lang::Ru => until.format("%d.%m.%Y").to_string(),
    };
    let stars: Vec<_> = (1..=5usize)
        .map(|n| context! { n => n, label => format!("{:<5}", "★".repeat(n)), link => format!("{}?rating={n}", inv.page) })
        .collect();
    let subject = subject(inv);
    let name = inv.name.map(str::trim).filter(|n| !n.is_empty());
    let ctx = context! {
        subject => &subject, reminder => inv.reminder > 0, shop => inv.shop, order => inv.order, name => name,
        page => inv.page, until => until, unsubscribe => inv.unsubscribe, stars => stars, incentive => inv.incentive,
    };
    let render = |kind: &str| {
        env()
            .get_template(&format!("invitation.{}.{kind}", inv.lang.code()))
            .and_then(|t| t.render(&ctx))
            .map_err(|e| format!("mail template: {e}"))
    };
    Ok(Rendered { text: render("txt")? + "\n", html: render("html")?, subject })
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
        invitation(&Invitation {
            lang,
            reminder,
            shop,
            order: "A-1",
            name,
            page: "https://r.example/r/T",
            until_ms: 1_798_761_600_000,
            unsubscribe: "https://r.example/u/U",
            incentive: (reminder == 2).then_some("10% off your next order"),
        })
        .unwrap()
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
        assert!(!m.html.contains("<script>alert"), "{}", m.html);
        assert!(!m.html.contains("<img src=x"), "{}", m.html);
        assert!(m.html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"), "{}", m.html);
        assert_eq!(m.html.matches("?rating=").count(), 5);
        assert!(m.html.contains("href=\"https:&#x2f;&#x2f;r.example&#x2f;r&#x2f;T?rating=3\""), "{}", m.html);
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
        assert!(m.html.contains("<html lang=\"ru\">"));
        let r = sample(Lang::Ru, 2, "Чайная", None);
        assert!(r.text.starts_with("Здравствуйте!\n\nНапоминаем:"), "{}", r.text);
        assert!(r
            .text
            .contains("В благодарность за любой честный отзыв, хороший или плохой: 10% off your next order."));
        assert!(!m.text.contains("В благодарность"));
    }
}
