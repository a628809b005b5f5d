//! The hosted pages' words in English and Russian, and which one a page speaks: the
//! flow's or order's own language first, else the browser's `Accept-Language`.

use crate::domain::maturity::Check;
use crate::error::Error;
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
    /// The heading of an unsubscribe link that does not work.
    pub unsubscribe_problem: &'static str,
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
    pub update_title: &'static str,
    /// "Update your review of {shop}" (escaped).
    pub update_head: fn(&str) -> String,
    /// "{shop} answered:" (escaped).
    pub shop_answered: fn(&str) -> String,
    pub update_note: &'static str,
    pub update_button: &'static str,
    pub updated_title: &'static str,
    pub updated_published: &'static str,
    pub updated_pending: &'static str,
    pub unsubscribe_title: &'static str,
    /// "No more review requests from {shop}?" (escaped).
    pub unsubscribe_head: fn(&str) -> String,
    /// What unsubscribing stops (`shop` escaped).
    pub unsubscribe_note: fn(&str) -> String,
    pub unsubscribe_button: &'static str,
    pub unsubscribed_title: &'static str,
    /// "{shop} sends you no more review requests." (escaped).
    pub unsubscribed_text: fn(&str) -> String,
    /// The thank-you a widget flow's buyer earns with a matched order (`what` escaped).
    pub order_incentive: fn(&str) -> String,
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
    unsubscribe_problem: "We could not unsubscribe you",
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
    update_title: "Update your review",
    update_head: |shop| format!("Update your review of {shop}"),
    shop_answered: |shop| format!("{shop} answered:"),
    update_note: "You may change your rating and text once. Your earlier review stays visible in its history (\"updated after the shop's reply\"). You need not change anything.",
    update_button: "Update review",
    updated_title: "Your review is updated",
    updated_published: "It is shown with the note \"updated after the shop's reply\", the earlier version in its history.",
    updated_pending: "It will be shown again, with the note \"updated after the shop's reply\", once the shop has checked it.",
    unsubscribe_title: "Unsubscribe",
    unsubscribe_head: |shop| format!("No more review requests from {shop}?"),
    unsubscribe_note: |shop| format!("You will get no further invitations or reminders to review orders from {shop}."),
    unsubscribe_button: "Unsubscribe",
    unsubscribed_title: "You are unsubscribed",
    unsubscribed_text: |shop| format!("{shop} sends you no more review requests."),
    order_incentive: |what| {
        format!(
            "With your order confirmed, the shop thanks you for any honest review, good or bad: <strong>{what}</strong>. The review will say that it was rewarded."
        )
    },
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
    bad_code: |why| format!("Код не подошёл: {}.", reason_ru(why)),
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
    unsubscribe_problem: "Не удалось отписаться",
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
    update_title: "Изменить отзыв",
    update_head: |shop| format!("Изменить отзыв о магазине {shop}"),
    shop_answered: |shop| format!("Ответ магазина {shop}:"),
    update_note: "Оценку и текст можно изменить один раз. Прежний отзыв останется виден в истории («изменён после ответа магазина»). Менять ничего не обязательно.",
    update_button: "Изменить отзыв",
    updated_title: "Отзыв изменён",
    updated_published: "Он показан с пометкой «изменён после ответа магазина», прежний вариант — в истории.",
    updated_pending: "Он снова будет показан с пометкой «изменён после ответа магазина», когда магазин его проверит.",
    unsubscribe_title: "Отписаться",
    unsubscribe_head: |shop| format!("Больше не получать просьбы об отзыве от {shop}?"),
    unsubscribe_note: |shop| format!("Вы больше не получите приглашений и напоминаний оставить отзыв о заказах в {shop}."),
    unsubscribe_button: "Отписаться",
    unsubscribed_title: "Вы отписались",
    unsubscribed_text: |shop| format!("{shop} больше не будет присылать вам просьбы об отзыве."),
    order_incentive: |what| {
        format!(
            "Если заказ подтверждён, магазин благодарит за любой честный отзыв, хороший или плохой: <strong>{what}</strong>. Отзыв покажет, что за него было поощрение."
        )
    },
};

/// What a hosted page tells the buyer about `e` in English: a sentence naming the field as
/// the form labels it ("The name is required: …", "Order number: no order …"), never the
/// API's field identifier; a link that is wrong or gone, a rate limit, a file too large and
/// an unavailable service in plain words like the Russian page. (An internal error's text
/// is never shown: callers answer `Words::internal` for it.)
pub fn detail_en(e: &Error) -> String {
    match e {
        Error::Validation { field, detail } => {
            let noun = field_en(field);
            let continues = ["is ", "must ", "was ", "has ", "does ", "cannot ", "or "];
            if continues.iter().any(|w| detail.starts_with(w)) {
                sentence(&format!("the {noun} {detail}"))
            } else {
                sentence(&format!("{noun}: {detail}"))
            }
        }
        Error::RateLimited { retry_after } => {
            let minutes = retry_after.as_secs().div_ceil(60).max(1);
            format!("Too many attempts. Try again in {minutes} min.")
        }
        Error::NotFound(_) => "This link is wrong or no longer works.".into(),
        Error::PayloadTooLarge(_) => "The file is too large: at most 5 MB.".into(),
        Error::Unavailable(_) => "The service is unavailable right now; try again a little later.".into(),
        Error::Unauthorized(_) => "Signing in did not work: please start again.".into(),
        Error::UnsupportedMediaType(m) | Error::Conflict(m) | Error::Forbidden(m) | Error::BadRequest(m) => sentence(m),
        Error::Internal(_) => EN.internal.into(),
    }
}

/// `text` with a capital first letter and a full stop.
fn sentence(text: &str) -> String {
    let mut chars = text.trim().chars();
    let Some(first) = chars.next() else { return String::new() };
    let mut out: String = first.to_uppercase().chain(chars).collect();
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// A form field as the English page names it.
fn field_en(field: &str) -> String {
    match field {
        "rating" => "rating",
        "title" => "title",
        "body" => "review text",
        "display_name" | "author_name" | "name" => "name",
        "phone" => "phone number",
        "code" => "code",
        "order_id" => "order number",
        "contact" => "order's e-mail or phone",
        "work_email" => "work e-mail",
        "email" => "e-mail address",
        "company" => "company name",
        "role" => "role",
        "size" => "company size",
        "file" => "file",
        "score" => "recommendation score",
        "locale" | "lang" => "language",
        "sku" => "product",
        other => return other.replace('_', " "),
    }
    .to_owned()
}

/// What a hosted page tells the buyer about `e` in Russian: the field by the form's own
/// label and the reason in words, for every error a buyer's page can meet; anything not
/// known here gets a plain sentence by kind rather than English text. (An internal error's
/// text is never shown: callers answer `Words::internal` for it.)
pub fn detail_ru(e: &Error) -> String {
    match e {
        Error::Validation { field, detail } => format!("{}: {}", field_ru(field), reason_ru(detail)),
        Error::RateLimited { retry_after } => {
            let minutes = retry_after.as_secs().div_ceil(60).max(1);
            format!("Слишком много попыток. Попробуйте снова через {minutes} мин.")
        }
        Error::NotFound(_) => "Ссылка неверна или больше не действует.".into(),
        Error::PayloadTooLarge(_) => "Файл слишком большой: не больше 5 МБ.".into(),
        Error::UnsupportedMediaType(m) => {
            known_ru(m).unwrap_or_else(|| "Этот файл не подходит: нужен JPEG, PNG или PDF.".into())
        }
        Error::Unavailable(_) => "Сервис сейчас недоступен; попробуйте немного позже.".into(),
        Error::Conflict(m) | Error::Forbidden(m) | Error::BadRequest(m) => known_ru(m).unwrap_or_else(|| {
            match e {
                Error::Conflict(_) => "Это уже сделано или больше невозможно.",
                Error::Forbidden(_) => "Это действие здесь не разрешено.",
                _ => "Запрос не удалось прочитать: проверьте введённые данные.",
            }
            .into()
        }),
        Error::Unauthorized(_) => "Вход не удался: начните заново.".into(),
        Error::Internal(_) => RU.internal.into(),
    }
}

/// A form field as the Russian page labels it.
fn field_ru(field: &str) -> &str {
    match field {
        "rating" => "Оценка",
        "title" => "Заголовок",
        "body" => "Текст отзыва",
        "display_name" | "author_name" | "name" => "Имя",
        "phone" => "Номер телефона",
        "code" => "Код",
        "order_id" => "Номер заказа",
        "contact" => "E-mail или телефон заказа",
        "work_email" => "Рабочий e-mail",
        "email" => "E-mail",
        "company" => "Название компании",
        "role" => "Должность",
        "size" => "Размер компании",
        "file" => "Файл",
        "score" => "Оценка рекомендации",
        "locale" | "lang" => "Язык",
        "sku" => "Товар",
        other => other,
    }
}

/// A validation reason in Russian (the English reasons the buyer's steps give).
fn reason_ru(detail: &str) -> String {
    if let Some(n) = detail.strip_prefix("must be at most ").and_then(|d| d.strip_suffix(" characters")) {
        return format!("не длиннее {n} символов");
    }
    if let Some(n) = detail.strip_prefix("must be at least ").and_then(|d| d.strip_suffix(" characters")) {
        return format!("не короче {n} символов");
    }
    if let Some(domain) = detail
        .strip_prefix("is at ")
        .and_then(|d| d.strip_suffix(", a free-mail provider: give your e-mail at the company"))
    {
        return format!("{domain} — бесплатная почта: укажите e-mail на домене компании");
    }
    if let Some(left) = detail
        .strip_prefix("is not the code sent to ")
        .and_then(|d| d.split_once("; "))
        .and_then(|(_, rest)| rest.strip_suffix(" tries left"))
    {
        return format!("это не тот код, что мы отправили; осталось попыток: {left}");
    }
    if detail.starts_with("must be 1-10, 11-50") {
        return "выберите 1-10, 11-50, 51-250, 251-1000 или 1001+".into();
    }
    if let Some(kind) = detail.strip_prefix("is not a well-formed ").and_then(|d| d.strip_suffix(" file")) {
        return format!("файл повреждён или это не {kind}");
    }
    if let Some(m) = known_ru(detail) {
        return m;
    }
    let fixed = match detail {
        d if d.starts_with("is required") || d == "is missing" || d == "must not be empty" || d == "is empty" => {
            "обязательно"
        }
        "must be a single line" => "должно быть одной строкой",
        "contains control characters"
        | "contains zero-width characters"
        | "contains bidirectional control characters" => "содержит недопустимые невидимые символы",
        d if d.starts_with("must be the 6 digits") => "6 цифр из сообщения",
        d if d.starts_with("is no longer valid") => {
            "больше не действует (истёк, уже использован или введён неверно слишком много раз): запросите новый"
        }
        "is not a phone number in international form (+ country code)" => {
            "нужен номер в международном формате (+ код страны)"
        }
        "cannot receive a code by SMS: give a mobile number" => "на этот номер нельзя отправить SMS: укажите мобильный",
        "is in a country this shop does not send codes to" => "магазин не отправляет коды в эту страну",
        "is not a valid e-mail address" => "это не адрес e-mail",
        "must be a whole number of stars from 1 to 5" => "от 1 до 5 звёзд",
        "must be between 0 and 10" => "от 0 до 10",
        "give exactly one of email or phone" => "укажите либо e-mail, либо телефон",
        _ => "значение не подходит",
    };
    fixed.into()
}

/// The known buyer-facing sentences (conflicts, order matching) in Russian.
fn known_ru(m: &str) -> Option<String> {
    if let Some(min) = m.strip_prefix("this shop verifies reviews for orders of at least ") {
        return Some(format!("магазин подтверждает отзывы о заказах от {min}"));
    }
    if let Some(days) = m
        .strip_prefix("this shop verifies reviews within ")
        .and_then(|d| d.strip_suffix(" days of delivery, and that time has passed"))
    {
        return Some(format!("магазин подтверждает отзывы в течение {days} дн. после доставки, и этот срок прошёл"));
    }
    if let Some((sent, content)) =
        m.strip_prefix("the file was sent as ").and_then(|d| d.split_once(" but its content is "))
    {
        return Some(format!("Файл отправлен как {sent}, но на самом деле это {content}."));
    }
    if let Some(state) = m.strip_prefix("this receipt was already ") {
        let state = match state {
            "accepted" => "принят",
            "refused" => "отклонён",
            _ => "рассмотрен",
        };
        return Some(format!("Этот чек уже {state}."));
    }
    let fixed = match m {
        crate::kyp::matching::NO_MATCH => "ни один заказ этого магазина не совпадает с этим номером и контактом",
        "this order was cancelled, so it cannot verify a review" => "заказ отменён, поэтому он не подтверждает отзыв",
        "this order was refunded, so it cannot verify a review" => {
            "за заказ вернули деньги, поэтому он не подтверждает отзыв"
        }
        "this shop verifies reviews once the order is delivered; try again after delivery" => {
            "магазин подтверждает отзывы после доставки заказа; попробуйте после доставки"
        }
        "this review flow has already been used for a review" => "По этой ссылке отзыв уже отправлен.",
        "this review flow has expired: start a new review" => "Время на этот отзыв истекло: начните новый.",
        "this invitation has expired" | "this invitation has expired: ask the shop for a new one" => {
            "Срок приглашения истёк: попросите магазин прислать новое."
        }
        "this order has no phone number to send a code to" => "В заказе нет телефона, на который можно отправить код.",
        "this review is already bound to a purchase" => "Этот отзыв уже связан с покупкой.",
        "this shop does not ask the recommendation question" => "Этот магазин не задаёт вопрос о рекомендации.",
        "you have already updated this review" => "Вы уже обновили этот отзыв.",
        "is required: choose the receipt or invoice" => "выберите чек или счёт",
        "is required: the name shown with your review" => "укажите имя, которое будет показано с отзывом",
        "the receipt form must be sent as multipart/form-data" => {
            "Форма с чеком должна быть отправлена как multipart/form-data."
        }
        _ => return None,
    };
    Some(fixed.into())
}

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
    fn errors_read_in_russian_with_the_fields_label() {
        use std::time::Duration;
        let v = |f: &str, d: &str| detail_ru(&Error::validation(f, d));
        assert_eq!(v("title", "must be at most 120 characters"), "Заголовок: не длиннее 120 символов");
        assert_eq!(
            v("display_name", "is required: the name shown with your review"),
            "Имя: укажите имя, которое будет показано с отзывом"
        );
        assert_eq!(v("title", "must not be empty"), "Заголовок: обязательно");
        assert_eq!(
            v("order_id", crate::kyp::matching::NO_MATCH),
            "Номер заказа: ни один заказ этого магазина не совпадает с этим номером и контактом"
        );
        assert_eq!(
            v("order_id", "this shop verifies reviews within 30 days of delivery, and that time has passed"),
            "Номер заказа: магазин подтверждает отзывы в течение 30 дн. после доставки, и этот срок прошёл"
        );
        assert_eq!(
            v("file", "is not a well-formed application/pdf file"),
            "Файл: файл повреждён или это не application/pdf"
        );
        assert_eq!(v("phone", "something new"), "Номер телефона: значение не подходит");
        assert_eq!(
            detail_ru(&Error::RateLimited { retry_after: Duration::from_secs(61) }),
            "Слишком много попыток. Попробуйте снова через 2 мин."
        );
        assert_eq!(
            detail_ru(&Error::Conflict("this review flow has already been used for a review".into())),
            "По этой ссылке отзыв уже отправлен."
        );
        assert_eq!(detail_ru(&Error::Conflict("an unknown sentence".into())), "Это уже сделано или больше невозможно.");
        assert_eq!(detail_ru(&Error::not_found("flow")), "Ссылка неверна или больше не действует.");
    }

    #[test]
    fn errors_read_in_english_as_sentences_with_the_fields_name() {
        use std::time::Duration;
        let v = |f: &str, d: &str| detail_en(&Error::validation(f, d));
        assert_eq!(
            v("display_name", "is required: the name shown with your review"),
            "The name is required: the name shown with your review."
        );
        assert_eq!(v("title", "must be at most 120 characters"), "The title must be at most 120 characters.");
        assert_eq!(v("file", "is empty"), "The file is empty.");
        assert_eq!(v("score", "must be between 0 and 10"), "The recommendation score must be between 0 and 10.");
        assert_eq!(
            v("order_id", crate::kyp::matching::NO_MATCH),
            "Order number: no order of this shop matches this order number and contact."
        );
        assert_eq!(v("some_field", "is odd"), "The some field is odd.");
        assert_eq!(
            detail_en(&Error::UnsupportedMediaType(
                "a receipt must be a JPEG, PNG or PDF file (the content is none of these)".into()
            )),
            "A receipt must be a JPEG, PNG or PDF file (the content is none of these)."
        );
        assert_eq!(
            detail_en(&Error::Conflict("this invitation has expired: ask the shop for a new one".into())),
            "This invitation has expired: ask the shop for a new one."
        );
        assert_eq!(
            detail_en(&Error::RateLimited { retry_after: Duration::from_secs(61) }),
            "Too many attempts. Try again in 2 min."
        );
        assert_eq!(detail_en(&Error::not_found("flow")), "This link is wrong or no longer works.");
        assert_eq!(
            detail_en(&Error::PayloadTooLarge("a receipt may be at most 5242880 bytes".into())),
            "The file is too large: at most 5 MB."
        );
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
