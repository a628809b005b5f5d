//! The resolution loop (SPEC §7) and the NPS pre-survey (SPEC §4.2, §4.6): cases for
//! negative reviews and detractors, the author's one update after the shop's reply with the
//! earlier version kept in public, the NPS question before the review and its report.

use chrono::SecondsFormat;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, json, spawn_app_with, TestApp, Vendor};

const BASE: &str = "https://reviews.example";

async fn app() -> TestApp {
    spawn_app_with(|s| s.public_url = Some(BASE.into())).await
}

async fn drain(app: &TestApp) -> usize {
    truview::funnel::queue::drain(&app.state, "test-worker").await.unwrap().done
}

fn ago(app: &TestApp, days: i64) -> String {
    (truview::clock::Clock::now(app.clock.as_ref()) - chrono::Duration::days(days))
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Imports one order per (order id, e-mail), invites each now and returns the hosted page
/// paths from the development outbox, in the same order.
async fn invited(app: &TestApp, v: &Vendor, buyers: &[(&str, &str)]) -> Vec<String> {
    let orders: Vec<Value> = buyers
        .iter()
        .map(|(id, email)| {
            json!({"order_id": id, "email": email, "customer_name": "Buyer", "items": [{"sku": "KETTLE", "name": "Kettle"}],
                   "purchased_at": ago(app, 3), "delivered_at": ago(app, 1)})
        })
        .collect();
    let res = app.request(Method::POST, "/api/v1/orders", Some(&v.sk), Some(&json!(orders))).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap());
    for (id, _) in buyers {
        let res = app.request(Method::POST, "/api/v1/invitations", Some(&v.sk), Some(&json!({"order_id": id}))).await;
        json(res, StatusCode::ACCEPTED).await;
    }
    assert_eq!(drain(app).await, buyers.len());
    let outbox = outbox(app, v).await;
    buyers
        .iter()
        .map(|(_, email)| {
            let mail = outbox.iter().find(|(to, _)| to == email).expect("an invitation").1.clone();
            link_after(&mail, "Or write your review at ").trim_start_matches(BASE).to_owned()
        })
        .collect()
}

/// The development outbox, newest first: (to, body).
async fn outbox(app: &TestApp, v: &Vendor) -> Vec<(String, String)> {
    let res = app.request(Method::GET, "/api/v1/dev/outbox", Some(&v.token), None).await;
    let messages = json(res, StatusCode::OK).await["messages"].as_array().unwrap().clone();
    messages.iter().map(|m| (m["to"].as_str().unwrap().to_owned(), m["body"].as_str().unwrap().to_owned())).collect()
}

fn link_after(text: &str, marker: &str) -> String {
    let start = text.find(marker).unwrap_or_else(|| panic!("{marker:?} in {text}")) + marker.len();
    text[start..].split_whitespace().next().unwrap().to_owned()
}

async fn cases(app: &TestApp, v: &Vendor, query: &str) -> Vec<Value> {
    let res = app.request(Method::GET, &format!("/api/v1/cases{query}"), Some(&v.sk), None).await;
    json(res, StatusCode::OK).await["cases"].as_array().unwrap().clone()
}

async fn resolve(app: &TestApp, v: &Vendor, case_id: &str, invite_update: bool) -> reqwest::Response {
    let body = json!({"invite_update": invite_update});
    app.request(Method::POST, &format!("/api/v1/cases/{case_id}/resolve"), Some(&v.token), Some(&body)).await
}

async fn form(app: &TestApp, path: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
    let res = app.client.post(app.url(path)).form(fields).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

async fn public_reviews(app: &TestApp, v: &Vendor) -> Vec<Value> {
    let res = app.get(&format!("/api/v1/public/{}/reviews", v.pk)).await;
    json(res, StatusCode::OK).await["reviews"].as_array().unwrap().clone()
}

#[actix_web::test]
async fn a_negative_review_opens_a_case_and_its_author_may_update_it_once_after_the_shops_reply() {
    let app = app().await;
    let v = app.vendor("Kettle Shop").await;
    let page = invited(&app, &v, &[("R-1", "ann@mail.example")]).await.remove(0);
    let written =
        [("rating", "2"), ("sku", "KETTLE"), ("title", "Leaks"), ("body", "The lid leaks."), ("display_name", "Ann")];
    assert_eq!(form(&app, &page, &written).await.0, StatusCode::CREATED);
    // A good review opens no case.
    app.review(&v, None, 5).await;

    let open = cases(&app, &v, "?state=open").await;
    assert_eq!(open.len(), 1, "{open:?}");
    let case = &open[0];
    assert_eq!((case["kind"].as_str(), case["state"].as_str()), (Some("review"), Some("open")));
    let (case_id, review_id) = (case["id"].as_str().unwrap(), case["review_id"].as_str().unwrap().to_owned());
    assert_eq!(case["update_invited_at"], Value::Null);

    // Inviting the author needs a published review and the shop's public reply first.
    let problem = assert_problem(resolve(&app, &v, case_id, true).await, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(problem["detail"], "only the author of a published review can be invited to update it");
    app.publish(&v, &review_id).await;
    let problem = assert_problem(resolve(&app, &v, case_id, true).await, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(
        problem["detail"],
        "reply publicly first: the author is invited to update the review after the shop's reply"
    );
    let reply = json!({"body": "Sorry! A new lid is on its way."});
    let res =
        app.request(Method::POST, &format!("/api/v1/reviews/{review_id}/reply"), Some(&v.token), Some(&reply)).await;
    json(res, StatusCode::OK).await;
    // Another shop does not see the case.
    let other = app.vendor("Other Shop").await;
    assert_problem(resolve(&app, &other, case_id, true).await, StatusCode::NOT_FOUND, "not-found").await;

    let resolved = json(resolve(&app, &v, case_id, true).await, StatusCode::OK).await;
    assert_eq!(resolved["state"], "resolved");
    assert!(
        resolved["update_invited_at"].is_string() && resolved["resolved_by"].as_str().unwrap().starts_with("staff:")
    );
    let problem = assert_problem(resolve(&app, &v, case_id, true).await, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(problem["detail"], "the author was already invited to update this review (once only)");
    let problem = assert_problem(resolve(&app, &v, case_id, false).await, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(problem["detail"], "this case is already resolved");
    assert_eq!(cases(&app, &v, "?state=open").await.len(), 0);
    assert_eq!(cases(&app, &v, "?state=resolved").await.len(), 1);

    // The author gets one e-mail with the shop's reply and the update link.
    assert_eq!(drain(&app).await, 1);
    let sent = outbox(&app, &v).await;
    assert_eq!(sent.len(), 2, "the invitation and the update invitation");
    let (to, mail) =
        sent.into_iter().find(|(_, m)| m.starts_with("Subject: Kettle Shop answered your review\n")).unwrap();
    assert_eq!(to, "ann@mail.example");
    assert!(mail.contains("Sorry! A new lid is on its way."), "{mail}");
    let update = link_after(&mail, "until 30 days from now:\n").trim_start_matches(BASE).to_owned();
    assert!(update.starts_with("/r/update/"), "{update}");

    let res = app.get(&update).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("<blockquote>Sorry! A new lid is on its way.</blockquote>"), "{html}");
    assert!(html.contains("value=\"2\" required checked") && html.contains("value=\"Leaks\""), "{html}");
    // Bad input changes nothing.
    let (status, _) = form(&app, &update, &[("rating", "9"), ("title", "x"), ("body", "y")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(form(&app, &format!("{update}x"), &[("rating", "4")]).await.0, StatusCode::NOT_FOUND);

    let summary_path = format!("/api/v1/public/{}/summary", v.pk);
    let before = json(app.get(&summary_path).await, StatusCode::OK).await;
    assert_eq!((before["count"].clone(), before["histogram"]["2"].clone()), (json!(1), json!(1)));
    let fixed = [("rating", "4"), ("title", "Fixed quickly"), ("body", "They sent a new lid at once.")];
    let (status, html) = form(&app, &update, &fixed).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("once the shop has checked it"), "{html}");
    // Moderated like any new text: out of the widget until published again.
    let after = json(app.get(&summary_path).await, StatusCode::OK).await;
    assert_eq!(after["count"], 0, "{after}");
    assert!(public_reviews(&app, &v).await.is_empty());
    app.publish(&v, &review_id).await;
    let after = json(app.get(&summary_path).await, StatusCode::OK).await;
    assert_eq!((after["histogram"]["2"].clone(), after["histogram"]["4"].clone()), (json!(0), json!(1)));
    let shown = public_reviews(&app, &v).await;
    let r = &shown[0];
    assert_eq!(
        (r["rating"].clone(), r["title"].clone(), r["updated_after_reply"].clone()),
        (json!(4), json!("Fixed quickly"), json!(true))
    );
    assert_eq!(r["reply"]["body"], "Sorry! A new lid is on its way.");
    let history = r["history"].as_array().unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        (history[0]["rating"].clone(), history[0]["title"].clone(), history[0]["body"].clone()),
        (json!(2), json!("Leaks"), json!("The lid leaks."))
    );
    let staff = json(
        app.request(Method::GET, &format!("/api/v1/reviews/{review_id}"), Some(&v.sk), None).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(staff["history"][0]["rating"], 2);

    // Once only.
    let problem_html = form(&app, &update, &fixed).await;
    assert_eq!(problem_html.0, StatusCode::CONFLICT);
    assert!(problem_html.1.contains("<p>You have already updated this review.</p>"));
    assert_eq!(app.get(&update).await.status(), StatusCode::CONFLICT);
    let case = &cases(&app, &v, "").await[0];
    assert!(case["author_updated_at"].is_string());
}

#[actix_web::test]
async fn the_nps_question_comes_first_never_gates_the_review_and_is_reported() {
    let app = app().await;
    let v = app.vendor("Nps Shop").await;
    let pages = invited(
        &app,
        &v,
        &[
            ("N-1", "pro@mail.example"),
            ("N-2", "det@mail.example"),
            ("N-3", "pas@mail.example"),
            ("N-4", "skip@mail.example"),
        ],
    )
    .await;
    // The question is asked from the moment the shop turns it on, also on links sent before.
    let settings = json!({"nps": true, "referral_url": "https://shop.example/refer?from=review"});
    let res = app.request(Method::PUT, "/api/v1/funnel", Some(&v.token), Some(&settings)).await;
    json(res, StatusCode::OK).await;

    // The question first, with the e-mail's rating carried on.
    let res = app.get(&format!("{}?rating=5", pages[0])).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("How likely are you to recommend Nps Shop to a friend or colleague?"), "{html}");
    assert!(html.contains("name=\"rating\" value=\"5\"") && html.contains("value=\"10\" required"), "{html}");
    assert!(!html.contains("Send review"));

    let no_redirect = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let answer = |page: &str, score: &str| {
        let (client, url) = (no_redirect.clone(), app.url(&format!("{page}/nps")));
        let fields = vec![("score", score.to_owned()), ("rating", "5".to_owned())];
        async move { client.post(url).form(&fields).send().await.unwrap() }
    };
    let res = answer(&pages[0], "10").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let next = res.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(next, format!("{}?skip_nps=true&rating=5", pages[0]));
    let html = app.get(&next).await.text().await.unwrap();
    assert!(html.contains("value=\"5\" required checked") && html.contains("Send review"), "{html}");
    let review = [("rating", "5"), ("sku", "KETTLE"), ("title", "Great"), ("body", "Works."), ("display_name", "Pro")];
    let (status, thanks) = form(&app, &pages[0], &review).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(
        thanks
            .contains("<a href=\"https://shop.example/refer?from=review\" rel=\"noopener\">pass it on to a friend</a>"),
        "{thanks}"
    );

    // A detractor is asked to review all the same, opens a case, and sees no referral link.
    assert_eq!(answer(&pages[1], "3").await.status(), StatusCode::SEE_OTHER);
    let (status, thanks) =
        form(&app, &pages[1], &[("rating", "2"), ("sku", "KETTLE"), ("title", "Meh"), ("body", "Slow.")]).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(!thanks.contains("pass it on"));
    let open = cases(&app, &v, "?state=open").await;
    let mut kinds: Vec<(&str, Value)> =
        open.iter().map(|c| (c["kind"].as_str().unwrap(), c["score"].clone())).collect();
    kinds.sort_by_key(|k| k.0);
    assert_eq!(kinds, vec![("detractor", json!(3)), ("review", Value::Null)]);
    // A detractor case is resolved without an update invitation.
    let detractor = open.iter().find(|c| c["kind"] == "detractor").unwrap()["id"].as_str().unwrap();
    let problem =
        assert_problem(resolve(&app, &v, detractor, true).await, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert_eq!(problem["detail"], "invite_update only the author of a review can be invited to update it");
    assert_eq!(json(resolve(&app, &v, detractor, false).await, StatusCode::OK).await["state"], "resolved");

    // The first answer counts; a bad score is refused; skipping goes straight to the form.
    assert_eq!(answer(&pages[2], "8").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(answer(&pages[2], "0").await.status(), StatusCode::SEE_OTHER);
    let bad = answer(&pages[3], "11").await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let text = bad.text().await.unwrap();
    assert!(text.contains("<p>The recommendation score must be between 0 and 10.</p>"), "{text}");
    let html = app.get(&format!("{}?skip_nps=true", pages[3])).await.text().await.unwrap();
    assert!(html.contains("Send review") && !html.contains("How likely"), "{html}");
    assert_eq!(cases(&app, &v, "?state=open").await.len(), 1, "only the 2-star review's case is open");

    let report =
        json(app.request(Method::GET, "/api/v1/reports/nps?days=7", Some(&v.sk), None).await, StatusCode::OK).await;
    let counts = ["responses", "promoters", "passives", "detractors"].map(|k| report[k].clone());
    assert_eq!(counts, [json!(3), json!(1), json!(1), json!(1)]);
    assert_eq!(report["nps"], json!(0.0));
    assert_eq!(report["weeks"].as_array().unwrap().len(), 1);
    assert_eq!(report["weeks"][0]["responses"], 3);
    let funnel =
        json(app.request(Method::GET, "/api/v1/reports/funnel?days=7", Some(&v.sk), None).await, StatusCode::OK).await;
    assert_eq!(funnel["steps"]["nps_answered"], 3, "{funnel}");
    let other = app.vendor("Quiet Shop").await;
    let empty =
        json(app.request(Method::GET, "/api/v1/reports/nps", Some(&other.sk), None).await, StatusCode::OK).await;
    assert_eq!((empty["responses"].clone(), empty["nps"].clone()), (json!(0), Value::Null));
    assert_problem(
        app.request(Method::GET, "/api/v1/reports/nps?days=0", Some(&v.sk), None).await,
        StatusCode::BAD_REQUEST,
        "bad-request",
    )
    .await;

    // A form without a rating (empty, as forms send "none") is taken too.
    let res = no_redirect
        .post(app.url(&format!("{}/nps", pages[3])))
        .form(&[("score", "9"), ("rating", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"].to_str().unwrap(), format!("{}?skip_nps=true", pages[3]));
    // The vendor maturity assessment reads targets set while the funnel and the question run:
    // 2 of the 4 invited reviewed (50%).
    let maturity = |targets: Value| {
        let (app, v) = (&app, &v);
        async move {
            let settings = json!({"enabled": true, "quiet_hours": null, "nps": true, "targets": targets});
            json(app.request(Method::PUT, "/api/v1/funnel", Some(&v.token), Some(&settings)).await, StatusCode::OK)
                .await;
            let report =
                json(app.request(Method::GET, "/api/v1/reports/maturity", Some(&v.sk), None).await, StatusCode::OK)
                    .await;
            let met = |code: &str| {
                report["criteria"].as_array().unwrap().iter().find(|c| c["code"] == code).unwrap()["met"].clone()
            };
            [met("tracking_targets"), met("conversion_target_met"), met("kyc_enabled")]
        }
    };
    assert_eq!(maturity(Value::Null).await, [json!(false), json!(false), json!(false)]);
    assert_eq!(maturity(json!({"conversion_percent": 50, "nps": 20})).await, [json!(true), json!(true), json!(false)]);
    assert_eq!(maturity(json!({"conversion_percent": 51, "nps": 20})).await, [json!(true), json!(false), json!(false)]);
    let bad = json!({"targets": {"conversion_percent": 0, "nps": 20}});
    let problem = assert_problem(
        app.request(Method::PUT, "/api/v1/funnel", Some(&v.token), Some(&bad)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(problem["detail"], "targets conversion_percent must be between 1 and 100");

    // A shop that does not ask the question does not take answers.
    let res = app.request(Method::PUT, "/api/v1/funnel", Some(&v.token), Some(&json!({"nps": false}))).await;
    json(res, StatusCode::OK).await;
    assert_eq!(answer(&pages[3], "9").await.status(), StatusCode::CONFLICT);
}

#[actix_web::test]
async fn case_lists_and_resolutions_refuse_bad_input() {
    let app = app().await;
    let v = app.vendor("Bad Input Shop").await;
    for (query, status) in [("?state=closed", 400), ("?limit=0", 400), ("?limit=101", 400), ("?cursor=%00", 400)] {
        let res = app.request(Method::GET, &format!("/api/v1/cases{query}"), Some(&v.sk), None).await;
        assert_eq!(res.status().as_u16(), status, "{query}");
    }
    assert_problem(resolve(&app, &v, "no-such-case", false).await, StatusCode::NOT_FOUND, "not-found").await;
    let res = app
        .request(Method::POST, "/api/v1/cases/x/resolve", Some(&v.token), Some(&json!({"invite_update": "yes"})))
        .await;
    assert!(res.status().is_client_error(), "{}", res.status());
    assert_eq!(app.get("/r/update/not-a-token").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        app.request(Method::POST, "/api/v1/cases/x/resolve", None, Some(&json!({}))).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // Moderators resolve; the secret key reads but does not resolve.
    let res = app.request(Method::POST, "/api/v1/cases/x/resolve", Some(&v.sk), Some(&json!({}))).await;
    assert!(matches!(res.status().as_u16(), 401 | 403), "{}", res.status());
}

#[actix_web::test]
async fn a_russian_authors_update_page_and_its_refusals_speak_russian() {
    let app = app().await;
    let v = app.vendor("Kettle Ru").await;
    let order = json!([{"order_id": "RU-7", "email": "olga@mail.example", "customer_name": "Ольга",
        "items": [{"sku": "KETTLE", "name": "Чайник"}], "purchased_at": ago(&app, 3), "delivered_at": ago(&app, 1),
        "locale": "ru-RU"}]);
    let res = app.request(Method::POST, "/api/v1/orders", Some(&v.sk), Some(&order)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.request(Method::POST, "/api/v1/invitations", Some(&v.sk), Some(&json!({"order_id": "RU-7"}))).await;
    json(res, StatusCode::ACCEPTED).await;
    assert_eq!(drain(&app).await, 1);
    let invitation = outbox(&app, &v).await.remove(0).1;
    let page = link_after(&invitation, "/r/");
    let page = format!("/r/{}", page.split(['?', '"', '<', '>']).next().unwrap());
    let written = [("rating", "2"), ("sku", "KETTLE"), ("title", "Течёт"), ("display_name", "Ольга")];
    assert_eq!(form(&app, &page, &written).await.0, StatusCode::CREATED);
    let case = cases(&app, &v, "?state=open").await.remove(0);
    let review_id = case["review_id"].as_str().unwrap().to_owned();
    app.publish(&v, &review_id).await;
    let reply = json!({"body": "Простите! Новая крышка уже в пути."});
    let res =
        app.request(Method::POST, &format!("/api/v1/reviews/{review_id}/reply"), Some(&v.token), Some(&reply)).await;
    json(res, StatusCode::OK).await;
    json(resolve(&app, &v, case["id"].as_str().unwrap(), true).await, StatusCode::OK).await;
    assert_eq!(drain(&app).await, 1);
    let mail = outbox(&app, &v).await.into_iter().find(|(_, m)| m.starts_with("Subject: Магазин Kettle Ru")).unwrap().1;
    let update = link_after(&mail, "в течение 30 дней:\n").trim_start_matches(BASE).to_owned();

    // The review's language, whatever the browser prefers.
    let res = app.client.get(app.url(&update)).header("accept-language", "en").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.starts_with("<!doctype html><html lang=\"ru\">"), "{html}");
    assert!(html.contains("<h1>Изменить отзыв о магазине Kettle Ru</h1><p class=\"note\">Ответ магазина Kettle Ru:</p><blockquote>Простите! Новая крышка уже в пути.</blockquote>"), "{html}");
    assert!(html.contains("<button type=\"submit\">Изменить отзыв</button>"), "{html}");
    let update_form = |rating: &'static str| {
        let (url, client) = (app.url(&update), app.client.clone());
        async move {
            let res = client
                .post(url)
                .header("accept-language", "ru")
                .form(&[("rating", rating), ("title", "Заменили")])
                .send()
                .await
                .unwrap();
            (res.status(), res.text().await.unwrap())
        }
    };
    let (status, html) = update_form("9").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("<p>Оценка: от 1 до 5 звёзд</p>"), "{html}");
    let (status, html) = update_form("4").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<h1>Отзыв изменён</h1><p>Он снова будет показан с пометкой «изменён после ответа магазина», когда магазин его проверит.</p>"), "{html}");
    let (status, html) = update_form("5").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(html.contains("<p>Вы уже обновили этот отзыв.</p>"), "{html}");
}
