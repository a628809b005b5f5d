//! The hosted review page for reviews that start on the shop's site: `/r/new` opens a
//! flow; its page raises the level with a phone code and the order, then takes the review.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{json, spawn_app};

fn location(res: &reqwest::Response) -> String {
    res.headers()["location"].to_str().unwrap().to_owned()
}

#[actix_web::test]
async fn a_review_started_on_the_shops_site_reaches_verified_buyer_on_the_hosted_page() {
    let app = spawn_app().await;
    let v = app.vendor("Hosted Shop").await;
    let res =
        app.request(Method::PUT, "/api/v1/products/LAMP-1", Some(&v.sk), Some(&json!({"name": "Desk Lamp"}))).await;
    assert!(res.status().is_success());
    let orders = json!([{"order_id": "H-1", "email": "Hana@Mail.Example", "phone": "+44 7400 123455",
        "items": [{"sku": "LAMP-1"}], "purchased_at": "2026-10-01", "delivered_at": "2026-10-03"}]);
    let res = app.client.post(app.url("/api/v1/orders")).bearer_auth(&v.sk).json(&orders).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // The widget's link opens a flow and leads to its page.
    let res = app.get(&format!("/r/new?key={}&sku=LAMP-1", v.pk)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = location(&res);
    assert!(page.starts_with("/r/flow/fl_"), "{page}");
    let html = app.get(&page).await.text().await.unwrap();
    assert!(html.contains("<h1>Review Desk Lamp at Hosted Shop</h1>"), "{html}");
    assert!(
        html.contains("level 1 · Self-declared") && html.contains("Text me a code") && html.contains("Check my order")
    );

    // The order: a wrong contact gets the one answer, the right one verifies the purchase.
    let post = |path: String, form: Vec<(&'static str, String)>| {
        let url = app.url(&path);
        let client = app.client.clone();
        async move { client.post(url).form(&form).send().await.unwrap() }
    };
    let res =
        post(format!("{page}/order"), vec![("order_id", "H-1".into()), ("contact", "other@mail.example".into())]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains(truview::kyp::matching::NO_MATCH));
    let res =
        post(format!("{page}/order"), vec![("order_id", "H-1".into()), ("contact", "hana@mail.example".into())]).await;
    assert_eq!((res.status(), location(&res)), (StatusCode::SEE_OTHER, format!("{page}?skip_nps=true")));
    let html = app.get(&page).await.text().await.unwrap();
    assert!(html.contains("level 3 · Verified purchase") && !html.contains("Check my order"), "{html}");

    // The phone: a wrong code says so; the right one, the order's phone, makes a verified buyer.
    let res = post(format!("{page}/phone"), vec![("phone", "+44 7400 123455".into())]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("<h1>Enter the code</h1>"));
    let code = crate::kyc_phone::outbox_code(&app, &v.id).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let res =
        post(format!("{page}/phone/verify"), vec![("phone", "+44 7400 123455".into()), ("code", wrong.into())]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("role=\"alert\">This code is not the code sent to this phone; 4 tries left."));
    let res = post(format!("{page}/phone/verify"), vec![("phone", "+44 7400 123455".into()), ("code", code)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let html = app.get(&page).await.text().await.unwrap();
    assert!(html.contains("level 5 · Verified buyer") && !html.contains("Text me a code"), "{html}");

    // The review: a name is required; then it is sent at level 5.
    let res = post(page.clone(), vec![("rating", "5".into()), ("title", "Bright".into())]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("role=\"alert\">The name is required: the name shown with your review.</p>"));
    let res =
        post(page.clone(), vec![("rating", "5".into()), ("title", "Bright".into()), ("display_name", "Hana".into())])
            .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert!(res.text().await.unwrap().contains("It will be shown at level 5 (Verified buyer)"));
    let queue = json(app.request(Method::GET, "/api/v1/reviews", Some(&v.sk), None).await, StatusCode::OK).await;
    let review = &queue["reviews"][0];
    assert_eq!((review["sku"].clone(), review["maturity_level"].clone()), (json!("LAMP-1"), json!(5)));
    // The flow is spent: its page says so.
    assert_eq!(app.get(&page).await.status(), StatusCode::CONFLICT);
}

#[actix_web::test]
async fn the_hosted_page_refuses_bad_links_with_a_page_not_an_error() {
    let app = spawn_app().await;
    let v = app.vendor("Hosted Refusals").await;
    // A wrong key makes a wrong link (the buyer signed in to nothing).
    let res = app.get("/r/new?key=pk_unknown").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(res.text().await.unwrap().contains("<p>This link is wrong or no longer works.</p>"));
    let res = app.get(&format!("/r/new?key={}", v.sk)).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "a secret key opens nothing");
    let res = app.get(&format!("/r/new?key={}&sku=bad%20sku", v.pk)).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.get("/r/flow/fl_nothing").await.status(), StatusCode::NOT_FOUND);
    let res = app
        .client
        .post(app.url("/r/flow/fl_nothing/order"))
        .form(&[("order_id", "1"), ("contact", "a@b.example")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // `/r/new` is its own route, not an invitation's `/r/{token}`: only GET.
    let res = app.request(Method::DELETE, "/r/new", None, None).await;
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.headers()["allow"], "GET");
    let res = app.request(Method::DELETE, "/r/some-token", None, None).await;
    assert_eq!(res.headers()["allow"], "GET, POST");
    // A shop-wide review: no product, no product name.
    let res = app.get(&format!("/r/new?key={}", v.pk)).await;
    let html = app.get(&location(&res)).await.text().await.unwrap();
    assert!(html.contains("<h1>Review Hosted Refusals</h1>"), "{html}");
}

/// A `multipart/form-data` body with one file part: (content type, body).
fn multipart(field: &str, filename: &str, content_type: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "tv-test-boundary-7d3a";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n\
         Content-Type: {content_type}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[actix_web::test]
async fn the_widget_flows_page_speaks_russian_takes_a_work_email_and_a_receipt_and_only_the_shop_may_frame_it() {
    let app = spawn_app().await;
    let v = app.vendor("Hosted Lang").await;
    let post = |path: String, form: Vec<(&'static str, String)>| {
        let url = app.url(&path);
        let client = app.client.clone();
        async move { client.post(url).form(&form).send().await.unwrap() }
    };

    // The widget's language comes with the link; an unknown one is refused with a page.
    let res = app.get(&format!("/r/new?key={}&lang=de", v.pk)).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("The language must be en or ru."));
    let res = app.get(&format!("/r/new?key={}&lang=ru", v.pk)).await;
    let page = location(&res);
    let res = app.get(&page).await;
    assert_eq!(res.status(), StatusCode::OK);
    let csp = res.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.ends_with("frame-ancestors https://hosted-lang.example"), "{csp}");
    let html = res.text().await.unwrap();
    assert!(html.starts_with("<!doctype html><html lang=\"ru\">"), "{html}");
    assert!(html.contains("<h1>Отзыв: Hosted Lang</h1>"), "{html}");
    assert!(html.contains("уровень 1 · Назвался сам") && html.contains("<li>✓ Имя указано автором, не проверено</li>"));
    assert!(html.contains("<h2>Подтвердите, что это вы</h2>") && html.contains("<h2>Купили здесь?</h2>"));

    // Work e-mail: a free-mail address shows the page again saying why; a work address gets
    // a code (to the development outbox here), a wrong code says so, the right one verifies.
    let res = post(format!("{page}/company"), vec![("work_email", "jane@gmail.com".into())]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains(
        "role=\"alert\">Рабочий e-mail: gmail.com — бесплатная почта: укажите e-mail на домене компании</p>"
    ));
    let res =
        post(format!("{page}/company"), vec![("work_email", "jane@acme.example".into()), ("size", "huge".into())])
            .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("Размер компании: выберите 1-10, 11-50, 51-250, 251-1000 или 1001+"));
    let form = vec![
        ("work_email", "jane@acme.example".into()),
        ("company", "Acme".into()),
        ("role", "".into()),
        ("size", "11-50".into()),
    ];
    let res = post(format!("{page}/company"), form).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("<h1>Введите код</h1><p>Мы отправили код на jane@acme.example. Он действует 10 минут.</p>"));
    let outbox = json(app.request(Method::GET, "/api/v1/dev/outbox", Some(&v.token), None).await, StatusCode::OK).await;
    assert_eq!(outbox["messages"][0]["to"], "jane@acme.example");
    let code = outbox["messages"][0]["body"].as_str().unwrap()[..6].to_owned();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let res = post(
        format!("{page}/company/verify"),
        vec![("work_email", "jane@acme.example".into()), ("code", wrong.into())],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("role=\"alert\">Код не подошёл: это не тот код, что мы отправили; осталось попыток: 4.</p>"),
        "{html}"
    );
    let res =
        post(format!("{page}/company/verify"), vec![("work_email", "jane@acme.example".into()), ("code", code)]).await;
    assert_eq!((res.status(), location(&res)), (StatusCode::SEE_OTHER, format!("{page}?skip_nps=true")));
    let html = app.get(&page).await.text().await.unwrap();
    assert!(html.contains("<li>✓ Работает в acme.example (рабочий e-mail подтверждён)</li>"), "{html}");
    assert!(!html.contains("Пишете отзыв от имени компании?"));

    // Receipt: not a form upload, a spoofed type and an empty file are refused with the
    // page; a JPEG is taken and the page says the shop will check it.
    let upload = |content_type: String, body: Vec<u8>| {
        let url = app.url(&format!("{page}/receipt"));
        let client = app.client.clone();
        async move { client.post(url).header("content-type", content_type).body(body).send().await.unwrap() }
    };
    let jpeg = crate::receipts::jpeg_with_exif();
    let res = upload("image/jpeg".into(), jpeg.clone()).await;
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let t = res.text().await.unwrap();
    assert!(t.contains("Форма с чеком должна быть отправлена как multipart/form-data."), "{t}");
    let (ct, body) = multipart("file", "receipt.pdf", "application/pdf", &jpeg);
    let res = upload(ct, body).await;
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(res.text().await.unwrap().contains("Файл отправлен как application/pdf, но на самом деле это image/jpeg."));
    // An image of another format (here the smallest GIF) is not a receipt the shop can check.
    let gif = b"GIF87a\x01\x00\x01\x00\x81\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x08\x04\x00\x01\x04\x04\x00;";
    let (ct, body) = multipart("file", "receipt.gif", "image/gif", gif);
    let res = upload(ct, body).await;
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let t = res.text().await.unwrap();
    assert!(t.contains("role=\"alert\">Этот файл не подходит: нужен JPEG, PNG или PDF.</p>"), "{t}");
    let (ct, body) = multipart("other", "receipt.jpg", "image/jpeg", &jpeg);
    let res = upload(ct, body).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("Файл: выберите чек или счёт"));
    let (ct, body) = multipart("file", "big.jpg", "image/jpeg", &vec![0xFF; 5 * 1024 * 1024 + 1]);
    assert_eq!(upload(ct, body).await.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let (ct, body) = multipart("file", "receipt.jpg", "image/jpeg", &jpeg);
    let res = upload(ct, body).await;
    assert_eq!((res.status(), location(&res)), (StatusCode::SEE_OTHER, format!("{page}?skip_nps=true")));
    let html = app.get(&page).await.text().await.unwrap();
    assert!(html.contains("role=\"status\">✓ Чек отправлен: магазин его проверит."), "{html}");
    assert!(!html.contains("Пришлите чек"), "one receipt per flow");
    let pending = json(app.request(Method::GET, "/api/v1/receipts", Some(&v.token), None).await, StatusCode::OK).await;
    assert_eq!(pending["receipts"].as_array().unwrap().len(), 1);
    assert_eq!(pending["receipts"][0]["content_type"], "image/jpeg");

    // The review: Russian thank-you, the review's language is the page's.
    let res = post(page.clone(), vec![("rating", "4".into()), ("display_name", "Яна".into())]).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let html = res.text().await.unwrap();
    assert!(html.contains("<h1>Спасибо за отзыв</h1><p>Он будет показан с уровнем 1 (Назвался сам)"), "{html}");
    let queue = json(app.request(Method::GET, "/api/v1/reviews", Some(&v.sk), None).await, StatusCode::OK).await;
    assert_eq!(queue["reviews"][0]["locale"], "ru");
    // Readers see the verified company: its domain as the check, the rest as the author's words.
    app.publish(&v, queue["reviews"][0]["id"].as_str().unwrap()).await;
    let public = json(app.get(&format!("/api/v1/public/{}/reviews", v.pk)).await, StatusCode::OK).await;
    assert_eq!(
        public["reviews"][0]["company"],
        json!({"domain": "acme.example", "name": "Acme", "role": null, "size": "11-50"})
    );
    let fragment = app.get(&format!("/api/v1/public/{}/reviews.html?lang=ru", v.pk)).await.text().await.unwrap();
    assert!(fragment.contains("<p class=\"tv-company\">Acme · 11-50 сотрудников</p>"), "{fragment}");
    assert!(fragment.contains(">Работает в acme.example (рабочий e-mail подтверждён)</li>"), "{fragment}");

    // Without a language in the link, the browser's preference decides.
    let res = app.get(&format!("/r/new?key={}", v.pk)).await;
    let page = location(&res);
    let res =
        app.client.get(app.url(&page)).header("accept-language", "de-DE, ru;q=0.8, en;q=0.5").send().await.unwrap();
    assert!(res.text().await.unwrap().contains("<h1>Отзыв: Hosted Lang</h1>"));
    let html = app.get(&page).await.text().await.unwrap();
    assert!(html.contains("<h1>Review Hosted Lang</h1>"));
}

#[actix_web::test]
async fn a_shop_that_asks_the_recommendation_question_asks_it_first_on_the_widget_flow() {
    let app = spawn_app().await;
    let v = app.vendor("Hosted Nps").await;
    let settings = json!({"enabled": false, "channels": ["email"], "invite_delay_days": 7, "delay_from": "delivery",
        "link_ttl_days": 30, "cooldown_days": 90, "sender_name": "Hosted Nps", "reminder_delays_days": [],
        "time_zone": "UTC", "quiet_hours": null, "daily_cap": 0, "incentive": null, "nps": true,
        "referral_url": "https://hosted-nps.example/friends",
        "targets": null});
    let res = app.request(Method::PUT, "/api/v1/funnel", Some(&v.token), Some(&settings)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let answer = |page: String, score: &'static str| {
        let url = app.url(&format!("{page}/nps"));
        let client = app.client.clone();
        async move { client.post(url).form(&[("score", score)]).send().await.unwrap() }
    };

    // The question first; the answer leads on to the review, and is not asked again.
    let mut pages = Vec::new();
    for _ in 0..3 {
        pages.push(location(&app.get(&format!("/r/new?key={}", v.pk)).await));
    }
    let html = app.get(&pages[0]).await.text().await.unwrap();
    assert!(html.contains("How likely are you to recommend Hosted Nps to a friend or colleague?"), "{html}");
    assert!(html.contains(&format!("<a href=\"{}?skip_nps=true\">Skip this question</a>", pages[0])));
    let res = answer(pages[0].clone(), "11").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    for (page, score) in [(&pages[0], "10"), (&pages[1], "3")] {
        let res = answer(page.clone(), score).await;
        assert_eq!((res.status(), location(&res)), (StatusCode::SEE_OTHER, format!("{page}?skip_nps=true")));
        assert!(app.get(page).await.text().await.unwrap().contains("<h1>Review Hosted Nps</h1>"));
    }
    // The first answer counts.
    assert_eq!(answer(pages[0].clone(), "0").await.status(), StatusCode::SEE_OTHER);
    // Skipped: the review form, and nothing counted.
    let html = app.get(&format!("{}?skip_nps=true", pages[2])).await.text().await.unwrap();
    assert!(html.contains("<h1>Review Hosted Nps</h1>"));
    // After the review the promoter is offered the shop's referral link; the detractor is not.
    for (page, offered) in [(&pages[0], true), (&pages[1], false)] {
        let res =
            app.client.post(app.url(page)).form(&[("rating", "4"), ("display_name", "Nia")]).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
        let html = res.text().await.unwrap();
        let link = "<a href=\"https://hosted-nps.example/friends\" rel=\"noopener\">pass it on to a friend</a>";
        assert_eq!(html.contains(link), offered, "{html}");
    }
    let nps = json(app.request(Method::GET, "/api/v1/reports/nps", Some(&v.token), None).await, StatusCode::OK).await;
    assert_eq!(
        (nps["responses"].clone(), nps["promoters"].clone(), nps["detractors"].clone(), nps["nps"].clone()),
        (json!(2), json!(1), json!(1), json!(0.0))
    );
}
