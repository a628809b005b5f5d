//! The hosted pages' words in English and Russian, and which one a page speaks: the
//! flow's or order's own language first, else the browser's `Accept-Language`.

use crate::domain::maturity::Check;
use crate::funnel::messages::Lang;

/// The language of a hosted page: `own` (the flow's or the order's locale) when it names
/// one we speak, else the first of en/ru the browser prefers (`Accept-Language`, by q),
/// else English.
pub fn choose(own: Option<&str>, accept_language: Option<&str>) -> Lang {
    if let Some(own) = own.filter(|l| !l.trim().is_empty()) {
        return Lang::of(Some(own));
    }
    let mut best: Option<(f32, Lang)> = None;
    for part in accept_language.unwrap_or("").split(',') {
        let mut pieces = part.split(';');
        let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = pieces
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let primary = tag.split(['-', '_']).next().unwrap_or("");
        let lang = match primary {
            "ru" => Lang::Ru,
            "en" => Lang::En,
            _ => continue,
        };
        if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
            best = Some((q, lang));
        }
    }
    best.map_or(Lang::En, |(_, l)| l)
}

/// The language of a hosted page for `req`: `own` (the flow's or order's locale) first,
/// else the browser's `Accept-Language` (see [`choose`]).
pub fn for_request(own: Option<&str>, req: &actix_web::HttpRequest) -> Lang {
    let accept = req.headers().get(actix_web::http::header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok());
    choose(own, accept)
}

/// A review flow's token as the service issues them (URL-safe, at most 200 characters):
/// only such a token is put into a `Location` or a link.
pub fn is_flow_token(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= 200
        && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Everything the hosted review pages say.
pub struct Words {
    pub lang: &'static str,
    pub write_title: &'static str,
    /// "Review {what}" (`what` already markup).
    pub review_of: fn(&str) -> String,
    /// "{product} at {shop}".
    pub at_shop: fn(&str, &str) -> String,
    pub levels: [&'static str; 6],
    pub level: &'static str,
    pub will_show: &'static str,
    pub identity_head: &'static str,
    pub identity_text: &'static str,
    pub sign_in_with: &'static str,
    pub or_phone: &'static str,
    pub phone_label: &'static str,
    pub text_me: &'static str,
    pub order_head: &'static str,
    pub order_text: &'static str,
    pub order_label: &'static str,
    pub contact_label: &'static str,
    pub check_order: &'static str,
    pub receipt_summary: &'static str,
    pub receipt_text: &'static str,
    pub receipt_label: &'static str,
    pub send_receipt: &'static str,
    pub receipt_pending: &'static str,
    pub receipt_refused: &'static str,
    pub company_summary: &'static str,
    pub company_text: &'static str,
    pub work_email_label: &'static str,
    pub company_label: &'static str,
    pub role_label: &'static str,
    pub size_label: &'static str,
    pub size_none: &'static str,
    pub send_code: &'static str,
    pub rating: &'static str,
    pub title: &'static str,
    pub body: &'static str,
    pub name: &'static str,
    pub send_review: &'static str,
    pub code_title: &'static str,
    /// "We texted a code to {phone}." (`phone` already escaped).
    pub code_sent_phone: fn(&str) -> String,
    /// "We e-mailed a code to {address}."
    pub code_sent_email: fn(&str) -> String,
    pub code_expires: &'static str,
    pub code_label: &'static str,
    pub confirm: &'static str,
    pub back: &'static str,
    /// "This code {why}."
    pub bad_code: fn(&str) -> String,
    pub thanks_title: &'static str,
    /// "It will be shown at level {n} ({name}) once the shop has published it."
    pub thanks_text: fn(i32, &str) -> String,
    pub nps_title: &'static str,
    /// "How likely are you to recommend {shop} to a friend or colleague?"
    pub nps_question: fn(&str) -> String,
    pub nps_note: &'static str,
    pub next: &'static str,
    pub skip: &'static str,
    pub problem_title: &'static str,
    pub internal: &'static str,
    /// "Review your order {order} at {shop}" (both escaped).
    pub invite_head: fn(&str, &str) -> String,
    pub product: &'static str,
    pub invite_verified: &'static str,
    /// The incentive offered (`what` escaped).
    pub incentive_note: fn(&str) -> String,
    /// The phone step of an invitation (`masked` escaped).
    pub phone_offer: fn(&str) -> String,
    pub phone_confirmed: &'static str,
    /// "It will be shown at level {n} once the shop has published it."
    pub invite_thanks: fn(i32) -> String,
    /// The incentive on the thank-you page (`what` escaped).
    pub incentive_thanks: fn(&str) -> String,
    /// The referral link for promoters (`url` escaped).
    pub referral: fn(&str) -> String,
    /// "We texted a code to the phone on your order, {masked}."
    pub code_sent_order: fn(&str) -> String,
    pub without_code: &'static str,
}

pub const EN: Words = Words {
    lang: "en",
    write_title: "Write a review",
    review_of: |what| format!("Review {what}"),
    at_shop: |product, shop| format!("{product} at {shop}"),
    levels: ["Anonymous", "Self-declared", "Verified identity", "Verified purchase", "Identity and purchase", "Verified buyer"],
    level: "level",
    will_show: "Your review will show:",
    identity_head: "Confirm it is you",
    identity_text: "Sign in with an account you have, or get a code by text message. Nothing from it is shown.",
    sign_in_with: "Sign in with",
    or_phone: "Or a code to your phone (the number is never shown):",
    phone_label: "Phone number",
    text_me: "Text me a code",
    order_head: "Bought it here?",
    order_text: "Give your order number and the e-mail or phone you ordered with: the review will say the purchase was verified, never show them.",
    order_label: "Order number",
    contact_label: "E-mail or phone of the order",
    check_order: "Check my order",
    receipt_summary: "No order number? Send the receipt or invoice",
    receipt_text: "A photo or scan (JPEG, PNG or PDF, at most 5 MB). Only the shop sees it, to check your purchase; it is deleted after their decision.",
    receipt_label: "Receipt or invoice",
    send_receipt: "Send the receipt",
    receipt_pending: "Receipt sent: the shop will check it. Once they accept it, your review shows the purchase as verified.",
    receipt_refused: "The shop could not accept your receipt.",
    company_summary: "Reviewing for your company?",
    company_text: "Confirm where you work with a code to your work e-mail. The review shows the company's domain, never the address.",
    work_email_label: "Work e-mail",
    company_label: "Company name (optional)",
    role_label: "Your role (optional)",
    size_label: "Company size (optional)",
    size_none: "Not given",
    send_code: "E-mail me a code",
    rating: "Your rating",
    title: "Title",
    body: "Your review",
    name: "Name shown with the review",
    send_review: "Send review",
    code_title: "Enter the code",
    code_sent_phone: |to| format!("We texted a code to {to}."),
    code_sent_email: |to| format!("We e-mailed a code to {to}."),
    code_expires: "It expires in 10 minutes.",
    code_label: "Code",
    confirm: "Confirm",
    back: "Back to the review",
    bad_code: |why| format!("This code {why}."),
    thanks_title: "Thank you for your review",
    thanks_text: |level, name| format!("It will be shown at level {level} ({name}) once the shop has published it."),
    nps_title: "One question first",
    nps_question: |shop| format!("How likely are you to recommend {shop} to a friend or colleague?"),
    nps_note: "0 = not at all likely, 10 = extremely likely. Whatever you answer, you can then write your review.",
    next: "Next",
    skip: "Skip this question",
    problem_title: "We could not take this review",
    internal: "Something went wrong on our side; try again.",
    invite_head: |order, shop| format!("Review your order {order} at {shop}"),
    product: "Product",
    invite_verified: "Your purchase is verified: the review will say so. Your e-mail address is never shown.",
    incentive_note: |what| {
        format!(
            "As a thank-you for any honest review, good or bad: <strong>{what}</strong>. The review will say that it was rewarded."
        )
    },
    phone_offer: |masked| {
        format!(
            "<strong>Show it as a verified buyer's review</strong> (level 5): we text a code to the phone on your order, {masked}."
        )
    },
    phone_confirmed: "Phone confirmed: your review will show as a verified buyer's.",
    invite_thanks: |level| format!("It will be shown at level {level} once the shop has published it."),
    incentive_thanks: |what| {
        format!("Your thank-you ({what}) comes by e-mail once the shop has checked the review, whatever your rating.")
    },
    referral: |url| format!("Glad you would recommend us: <a href=\"{url}\" rel=\"noopener\">pass it on to a friend</a>."),
    code_sent_order: |masked| format!("We texted a code to the phone on your order, {masked}."),
    without_code: "Write the review without it",
};

pub const RU: Words = Words {
    lang: "ru",
    write_title: "Написать отзыв",
    review_of: |what| format!("Отзыв: {what}"),
    at_shop: |product, shop| format!("{product}, магазин {shop}"),
    levels: [
        "Анонимно",
        "Назвался сам",
        "Личность проверена",
        "Покупка проверена",
        "Личность и покупка",
        "Проверенный покупатель",
    ],
    level: "уровень",
    will_show: "Ваш отзыв будет показан так:",
    identity_head: "Подтвердите, что это вы",
    identity_text: "Войдите через свой аккаунт или получите код в SMS. Ничего из этого не показывается.",
    sign_in_with: "Войти через",
    or_phone: "Или код на ваш телефон (номер никогда не показывается):",
    phone_label: "Номер телефона",
    text_me: "Прислать код в SMS",
    order_head: "Купили здесь?",
    order_text: "Укажите номер заказа и e-mail или телефон, с которым вы его оформляли: отзыв покажет, что покупка проверена, но не сами данные.",
    order_label: "Номер заказа",
    contact_label: "E-mail или телефон заказа",
    check_order: "Проверить заказ",
    receipt_summary: "Нет номера заказа? Пришлите чек или счёт",
    receipt_text: "Фото или скан (JPEG, PNG или PDF, не больше 5 МБ). Его видит только магазин, чтобы проверить покупку; после решения он удаляется.",
    receipt_label: "Чек или счёт",
    send_receipt: "Отправить чек",
    receipt_pending: "Чек отправлен: магазин его проверит. Когда он примет чек, отзыв покажет, что покупка проверена.",
    receipt_refused: "Магазин не смог принять ваш чек.",
    company_summary: "Пишете отзыв от имени компании?",
    company_text: "Подтвердите место работы кодом на рабочий e-mail. Отзыв покажет домен компании, но не адрес.",
    work_email_label: "Рабочий e-mail",
    company_label: "Название компании (необязательно)",
    role_label: "Ваша должность (необязательно)",
    size_label: "Размер компании (необязательно)",
    size_none: "Не указан",
    send_code: "Прислать код на e-mail",
    rating: "Ваша оценка",
    title: "Заголовок",
    body: "Ваш отзыв",
    name: "Имя, которое будет показано с отзывом",
    send_review: "Отправить отзыв",
    code_title: "Введите код",
    code_sent_phone: |to| format!("Мы отправили код в SMS на {to}."),
    code_sent_email: |to| format!("Мы отправили код на {to}."),
    code_expires: "Он действует 10 минут.",
    code_label: "Код",
    confirm: "Подтвердить",
    back: "Вернуться к отзыву",
    bad_code: |why| format!("Код не подошёл ({why})."),
    thanks_title: "Спасибо за отзыв",
    thanks_text: |level, name| {
        format!("Он будет показан с уровнем {level} ({name}), когда магазин его опубликует.")
    },
    nps_title: "Сначала один вопрос",
    nps_question: |shop| {
        format!("Насколько вероятно, что вы порекомендуете {shop} другу или коллеге?")
    },
    nps_note: "0 — совсем маловероятно, 10 — очень вероятно. Что бы вы ни ответили, затем можно написать отзыв.",
    next: "Далее",
    skip: "Пропустить вопрос",
    problem_title: "Не удалось принять отзыв",
    internal: "У нас что-то пошло не так; попробуйте ещё раз.",
    invite_head: |order, shop| format!("Отзыв о заказе {order} в магазине {shop}"),
    product: "Товар",
    invite_verified: "Ваша покупка подтверждена: отзыв это покажет. Ваш e-mail никогда не показывается.",
    incentive_note: |what| {
        format!(
            "В благодарность за любой честный отзыв, хороший или плохой: <strong>{what}</strong>. Отзыв покажет, что за него было поощрение."
        )
    },
    phone_offer: |masked| {
        format!(
            "<strong>Покажите отзыв как отзыв проверенного покупателя</strong> (уровень 5): мы пришлём код в SMS на телефон из заказа, {masked}."
        )
    },
    phone_confirmed: "Телефон подтверждён: отзыв будет показан как отзыв проверенного покупателя.",
    invite_thanks: |level| format!("Он будет показан с уровнем {level}, когда магазин его опубликует."),
    incentive_thanks: |what| {
        format!("Ваша благодарность ({what}) придёт по e-mail, когда магазин проверит отзыв, какой бы ни была оценка.")
    },
    referral: |url| format!("Рады, что вы нас рекомендуете: <a href=\"{url}\" rel=\"noopener\">расскажите другу</a>."),
    code_sent_order: |masked| format!("Мы отправили код в SMS на телефон из заказа, {masked}."),
    without_code: "Написать отзыв без этого",
};

pub fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::En => &EN,
        Lang::Ru => &RU,
    }
}

/// A check as the page's language words it (the widget's wording for Russian).
pub fn check_label(check: &Check, lang: Lang) -> String {
    if lang == Lang::En {
        return check.label.clone();
    }
    let code = check.code.as_str();
    if let Some(domain) = check.label.strip_prefix("Works at ").and_then(|l| l.strip_suffix(" (work e-mail verified)"))
    {
        return format!("Работает в {domain} (рабочий e-mail подтверждён)");
    }
    if let Some(who) = check.label.strip_prefix("Identity checked with ") {
        return format!("Личность подтверждена через {who}");
    }
    match code {
        "anonymous" => "Анонимно",
        "self_declared" => "Имя указано автором, не проверено",
        "identity_phone" => "Личность подтверждена по телефону",
        "purchase_invitation" => "Заказ подтверждён (приглашение после покупки)",
        "purchase_order_match" => "Заказ подтверждён (номер заказа и контакт)",
        "purchase_receipt" => "Чек проверен магазином",
        "purchase_reply" => "Ответил на приглашение по e-mail",
        "purchase_sms_reply" => "Ответил на приглашение по SMS",
        "verified_buyer" => "Проверенный покупатель",
        "erased" => "Данные автора удалены по запросу",
        _ => return check.label.clone(),
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flows_own_language_wins_then_the_browsers_preference() {
        assert_eq!(choose(Some("ru-RU"), Some("en")), Lang::Ru);
        assert_eq!(choose(Some("en"), Some("ru")), Lang::En);
        assert_eq!(choose(None, Some("de-DE,ru;q=0.8,en;q=0.5")), Lang::Ru);
        assert_eq!(choose(None, Some("ru;q=0.3, en-GB;q=0.9")), Lang::En);
        assert_eq!(choose(None, Some("ru;q=0")), Lang::En);
        assert_eq!(choose(None, Some("fr, de")), Lang::En);
        assert_eq!(choose(None, None), Lang::En);
        assert_eq!(choose(Some(" "), Some("ru")), Lang::Ru);
    }

    #[test]
    fn checks_read_in_russian_by_code() {
        let c = |code: &str, label: &str| Check { code: code.into(), label: label.into() };
        assert_eq!(
            check_label(&c("identity_phone", "Identity checked by phone"), Lang::Ru),
            "Личность подтверждена по телефону"
        );
        assert_eq!(
            check_label(&c("company_work_email", "Works at acme.example (work e-mail verified)"), Lang::Ru),
            "Работает в acme.example (рабочий e-mail подтверждён)"
        );
        assert_eq!(
            check_label(&c("identity_oauth_google", "Identity checked with Google"), Lang::Ru),
            "Личность подтверждена через Google"
        );
        assert_eq!(check_label(&c("verified_buyer", "Verified buyer"), Lang::En), "Verified buyer");
    }
}
