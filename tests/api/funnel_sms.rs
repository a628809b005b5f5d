//! The funnel by SMS: invitations on the first channel an order has a contact for, a short
//! link to the hosted page, and text replies through the gateway's webhook (Twilio's
//! signature, or a generic gateway's secret) — a rating becomes a review, STOP opts out,
//! anything else gets the link once.

use chrono::SecondsFormat;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use truview::config::SmsSettings;

use crate::helpers::{assert_problem, json, spawn_app_with, TestApp, Vendor};
use crate::kyc_phone::{gateway, Gateway};

const BASE: &str = "https://reviews.example";
const TOKEN: &str = "twilio-auth-token";
const ANN: &str = "+447400123456";
const BEN: &str = "+447400123457";

async fn sms_app(gw: &Gateway, inbound_secret: &str) -> TestApp {
    let (url, secret) = (gw.url.clone(), inbound_secret.to_owned());
    spawn_app_with(move |s| {
        s.public_url = Some(BASE.into());
        s.sms = SmsSettings {
            gateway: "twilio".into(),
            base_url: Some(url),
            account_sid: Some("AC123".into()),
            auth_token: Some(TOKEN.into()),
            from: Some("+15005550006".into()),
            inbound_secret: secret,
            ..Default::default()
        };
    })
    .await
}

fn ago(app: &TestApp, days: i64) -> String {
    (truview::clock::Clock::now(app.clock.as_ref()) - chrono::Duration::days(days))
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

async fn drain(app: &TestApp) -> usize {
    truview::funnel::queue::drain(&app.state, "test-worker").await.unwrap().done
}

async fn invite(app: &TestApp, v: &Vendor, order_id: &str) -> reqwest::Response {
    app.request(Method::POST, "/api/v1/invitations", Some(&v.sk), Some(&json!({"order_id": order_id}))).await
}

/// The texts the gateway was asked to send: (To, Body).
fn texts(gw: &Gateway) -> Vec<(String, String)> {
    gw.seen
        .lock()
        .unwrap()
        .iter()
        .map(|(_, _, body)| {
            let form: std::collections::HashMap<String, String> =
                url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
            (form["To"].clone(), form["Body"].clone())
        })
        .collect()
}

/// Posts a reply as Twilio does, signed with `token`.
async fn twilio_reply(app: &TestApp, from: &str, body: &str, token: &str) -> reqwest::Response {
    let params: Vec<(String, String)> = [("MessageSid", "SM1"), ("From", from), ("To", "+15005550006"), ("Body", body)]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let path = "/api/v1/inbound/sms/twilio";
    let signature = truview::notify::sms::twilio_signature(token, &format!("{BASE}{path}"), &params);
    app.client.post(app.url(path)).header("X-Twilio-Signature", signature).form(&params).send().await.unwrap()
}

fn outcome(res: &reqwest::Response) -> String {
    res.headers().get("x-truview-outcome").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

#[actix_web::test]
async fn sms_invitations_take_rating_replies_and_stop() {
    let gw = gateway();
    let app = sms_app(&gw, "").await;
    let v = app.vendor("Text Shop").await;
    let on = json!({"enabled": true, "channels": ["email", "sms"], "quiet_hours": null, "reminder_delays_days": []});
    json(app.request(Method::PUT, "/api/v1/funnel", Some(&v.token), Some(&on)).await, StatusCode::OK).await;
    let order = |id: &str, email: Option<&str>, phone: Option<&str>| {
        json!({"order_id": id, "email": email, "phone": phone, "customer_name": "Ann Smith", "items": [{"sku": "KETTLE", "name": "Kettle"}],
               "purchased_at": ago(&app, 3), "delivered_at": ago(&app, 1)})
    };
    let orders = json!([
        order("S-1", None, Some(ANN)),
        order("S-2", Some("both@mail.example"), Some("+447400123458")),
        order("S-3", None, Some(BEN)),
        order("S-4", None, Some(BEN)),
        order("S-5", None, None)
    ]);
    let res = app.request(Method::POST, "/api/v1/orders", Some(&v.sk), Some(&orders)).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap());
    for id in ["S-1", "S-2", "S-3"] {
        json(invite(&app, &v, id).await, StatusCode::ACCEPTED).await;
    }
    let problem = assert_problem(invite(&app, &v, "S-5").await, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert_eq!(
        problem["detail"],
        "order_id has no e-mail address or phone number kept to send an invitation to (none imported, or past contact_retention_days)"
    );
    assert_eq!(drain(&app).await, 3);

    // S-1 and S-3 by text (no e-mail); S-2 by e-mail, the first channel it has.
    let mut sent = texts(&gw);
    sent.sort();
    assert_eq!(sent.iter().map(|(to, _)| to.as_str()).collect::<Vec<_>>(), vec![ANN, BEN]);
    let text = &sent[0].1;
    assert!(text.starts_with("Text Shop: how was order S-1? Reply with 1-5 and a few words (e.g. \"5 great\") or review at https://reviews.example/i/"), "{text}");
    assert!(text.ends_with(" . Reply STOP to opt out."), "{text}");
    assert!(text.chars().count() <= 220, "{} characters", text.chars().count());
    let outbox = json(app.request(Method::GET, "/api/v1/dev/outbox", Some(&v.token), None).await, StatusCode::OK).await;
    assert_eq!(outbox["messages"][0]["to"], "both@mail.example");

    // The short link leads to the hosted page; a forged one is unknown.
    let short = text.split_whitespace().find(|w| w.starts_with(BASE)).unwrap().trim_start_matches(BASE).to_owned();
    let no_redirect = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = no_redirect.get(app.url(&short)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(page.starts_with("/r/"), "{page}");
    assert!(app.get(&page).await.text().await.unwrap().contains("Review your order S-1 at Text Shop"));
    assert_eq!(app.get(&format!("{short}0")).await.status(), StatusCode::NOT_FOUND);
    // The tag of the invitation's reply address does not open it: each has its own key.
    let id = short.trim_start_matches("/i/").split('.').next().unwrap();
    let with_reply_tag = format!("/i/{id}.{}", app.state.contacts.reply_tag(id));
    assert_eq!(app.get(&with_reply_tag).await.status(), StatusCode::NOT_FOUND);

    // Twilio's signature is checked over the public URL and every field.
    assert_eq!(twilio_reply(&app, ANN, "5 Great kettle", "wrong-token").await.status(), StatusCode::UNAUTHORIZED);
    let res = app
        .client
        .post(app.url("/api/v1/inbound/sms/twilio"))
        .form(&[("From", ANN), ("Body", "5")])
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    // A number nobody texted: 404.
    assert_problem(twilio_reply(&app, "+447400999999", "5", TOKEN).await, StatusCode::NOT_FOUND, "not-found").await;

    // A rating reply from the invited number becomes a pending level-3 review of the order.
    let res = twilio_reply(&app, ANN, "5 Great kettle, boils fast\n\nSent from my phone", TOKEN).await;
    assert_eq!((res.status(), outcome(&res)), (StatusCode::OK, "review".to_owned()));
    assert!(res.text().await.unwrap().contains("<Response></Response>"));
    let queue = json(app.request(Method::GET, "/api/v1/reviews", Some(&v.sk), None).await, StatusCode::OK).await;
    let review = &queue["reviews"][0];
    assert_eq!(
        (review["rating"].clone(), review["maturity_level"].clone(), review["status"].clone()),
        (json!(5), json!(3), json!("pending"))
    );
    assert_eq!(review["body"], "Great kettle, boils fast");
    assert_eq!(review["author"], "Ann");
    assert_eq!(review["checks"][0], json!({"code": "purchase_sms_reply", "label": "Answered the invitation by SMS"}));
    // The order is reviewed: a second rating is a conflict.
    assert_eq!(twilio_reply(&app, ANN, "4 again", TOKEN).await.status(), StatusCode::CONFLICT);

    // No rating: the link once, then nothing.
    let res = twilio_reply(&app, BEN, "who is this?", TOKEN).await;
    assert_eq!(outcome(&res), "auto_answered");
    let last = texts(&gw).pop().unwrap();
    assert_eq!(last.0, BEN);
    assert!(
        last.1.starts_with(
            "Text Shop: thank you! To review order S-3 by text, start your reply with a rating from 1 to 5"
        ),
        "{}",
        last.1
    );
    assert_eq!(outcome(&twilio_reply(&app, BEN, "hm", TOKEN).await), "ignored");
    assert_eq!(texts(&gw).len(), 3);

    // STOP opts the number out: S-4 (same number) is never texted, even when asked for.
    assert_eq!(outcome(&twilio_reply(&app, BEN, "STOP", TOKEN).await), "opted_out");
    json(invite(&app, &v, "S-4").await, StatusCode::ACCEPTED).await;
    drain(&app).await;
    assert_eq!(texts(&gw).len(), 3, "nothing more was sent after STOP");

    let report =
        json(app.request(Method::GET, "/api/v1/reports/funnel?days=7", Some(&v.sk), None).await, StatusCode::OK).await;
    let sms: &Value = report["by_channel"].as_array().unwrap().iter().find(|c| c["channel"] == "sms").unwrap();
    assert_eq!(
        (sms["invited"].clone(), sms["reviewed"].clone(), sms["opted_out"].clone()),
        (json!(2), json!(1), json!(1))
    );
}

#[actix_web::test]
async fn a_generic_gateway_posts_replies_with_its_secret_and_bad_input_is_refused() {
    let gw = gateway();
    let app = sms_app(&gw, "inbound-sms-secret").await;
    let v = app.vendor("Generic Shop").await;
    let on = json!({"enabled": true, "channels": ["sms"], "quiet_hours": null});
    json(app.request(Method::PUT, "/api/v1/funnel", Some(&v.token), Some(&on)).await, StatusCode::OK).await;
    let orders = json!([{"order_id": "G-1", "email": "g@mail.example", "phone": ANN, "items": [{"sku": "LAMP"}], "purchased_at": ago(&app, 2)}]);
    json(app.request(Method::POST, "/api/v1/orders", Some(&v.sk), Some(&orders)).await, StatusCode::OK).await;
    json(invite(&app, &v, "G-1").await, StatusCode::ACCEPTED).await;
    drain(&app).await;
    assert_eq!(texts(&gw).len(), 1, "sms first: the e-mail is not used");

    let post = |secret: &str, body: Value| {
        let (client, url, secret) = (app.client.clone(), app.url("/api/v1/inbound/sms/http"), secret.to_owned());
        async move { client.post(url).bearer_auth(secret).json(&body).send().await.unwrap() }
    };
    assert_problem(post("wrong", json!({"from": ANN, "text": "4"})).await, StatusCode::UNAUTHORIZED, "unauthorized")
        .await;
    assert_problem(
        post("inbound-sms-secret", json!({"from": "not a number", "text": "4"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_problem(
        post("inbound-sms-secret", json!({"from": ANN})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    let res = post("inbound-sms-secret", json!({"from": "+44 7400 123456", "text": "★★★★ nice lamp"})).await;
    let done = json(res, StatusCode::CREATED).await;
    assert_eq!((done["outcome"].clone(), done["maturity_level"].clone()), (json!("review"), json!(3)));
    let res = app
        .client
        .post(app.url("/api/v1/inbound/sms/nexmo"))
        .bearer_auth("inbound-sms-secret")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::NOT_FOUND, "not-found").await;
    let big = "x".repeat(70 * 1024);
    let res = post("inbound-sms-secret", json!({"from": ANN, "text": big})).await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let bad = json!({"channels": ["sms", "sms"]});
    let problem = assert_problem(
        app.request(Method::PUT, "/api/v1/funnel", Some(&v.token), Some(&bad)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(problem["detail"], "channels must list email, sms or both, each once");
}

#[actix_web::test]
async fn inbound_sms_is_off_without_its_credentials() {
    let app = spawn_app_with(|_| {}).await;
    for gateway in ["twilio", "http"] {
        let res = app
            .client
            .post(app.url(&format!("/api/v1/inbound/sms/{gateway}")))
            .form(&[("From", ANN), ("Body", "5")])
            .send()
            .await
            .unwrap();
        let problem = assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
        assert_eq!(problem["detail"], "inbound SMS is not set up here for this gateway");
    }
}

async fn jobs(app: &TestApp, v: &Vendor, state: &str) -> Vec<Value> {
    let token = app.login(&v.email, &v.password).await;
    let res = app.request(Method::GET, &format!("/api/v1/jobs?state={state}"), Some(&token), None).await;
    json(res, StatusCode::OK).await["jobs"].as_array().unwrap().clone()
}

#[actix_web::test]
async fn t20_a_failing_sms_gateway_backs_off_to_the_dead_letter_and_a_manual_retry_delivers() {
    let gw = gateway();
    let app = sms_app(&gw, "").await;
    let v = app.vendor("Retry Text Shop").await;
    let on = json!({"enabled": true, "channels": ["sms"], "invite_delay_days": 0, "delay_from": "purchase",
                    "reminder_delays_days": [], "quiet_hours": null});
    json(app.request(Method::PUT, "/api/v1/funnel", Some(&v.token), Some(&on)).await, StatusCode::OK).await;
    // Every attempt meets a gateway answering 503 (three tries per attempt).
    *gw.script.lock().unwrap() = vec![503; 24];
    let orders = json!([{"order_id": "T-1", "phone": ANN, "items": [{"sku": "TEA"}], "purchased_at": ago(&app, 1)}]);
    json(app.request(Method::POST, "/api/v1/orders", Some(&v.sk), Some(&orders)).await, StatusCode::OK).await;
    let first = truview::funnel::queue::drain(&app.state, "test-worker").await.unwrap();
    assert_eq!((first.claimed, first.retried), (1, 1));
    let queued = jobs(&app, &v, "queued").await;
    assert_eq!(queued[0]["last_error"], "gateway answered 503 Service Unavailable");
    let run_at: chrono::DateTime<chrono::Utc> = queued[0]["run_at"].as_str().unwrap().parse().unwrap();
    let wait = run_at - truview::clock::Clock::now(app.clock.as_ref());
    assert!(wait >= chrono::Duration::seconds(15) && wait < chrono::Duration::seconds(30), "first backoff {wait}");
    for _ in 2..=8 {
        app.clock.advance(chrono::Duration::hours(6));
        truview::funnel::queue::drain(&app.state, "test-worker").await.unwrap();
    }
    let dead = jobs(&app, &v, "dead").await;
    assert_eq!((dead.len(), dead[0]["attempts"].clone()), (1, json!(8)));
    assert_eq!(gw.seen.lock().unwrap().len(), 24, "three tries per attempt, eight attempts");
    // The gateway is back; staff retry the dead job and the text goes out once.
    let token = app.login(&v.email, &v.password).await;
    let path = format!("/api/v1/jobs/{}/retry", dead[0]["id"].as_str().unwrap());
    assert_eq!(app.request(Method::POST, &path, Some(&token), None).await.status(), StatusCode::OK);
    assert_eq!(drain(&app).await, 1);
    let sent = texts(&gw);
    assert_eq!(sent.len(), 25);
    assert_eq!(sent[24].0, ANN);
    assert!(sent[24].1.starts_with("Retry Text Shop: how was order T-1?"), "{}", sent[24].1);
    assert_eq!(drain(&app).await, 0, "delivered once");
}
