//! KYC by phone code — T1 otp_bruteforce, T2 otp_lifecycle, T3 sms_pumping — against the
//! development outbox and a local HTTP server standing in for the SMS gateway.

use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use reqwest::StatusCode;
use serde_json::json;
use truview::config::SmsSettings;

use crate::helpers::{assert_problem, json, spawn_app, spawn_app_with, TestApp};

/// The newest code the outbox holds for the vendor of this app (development: no gateway).
pub async fn outbox_code(app: &TestApp, vendor_id: &str) -> String {
    let vendor = vendor_id.to_owned();
    let rows = app.state.db.run(move |conn| truview::store::codes::outbox(conn, &vendor, 1)).await.unwrap();
    rows[0].outbox_body.as_deref().unwrap()[..6].to_owned()
}

async fn start(app: &TestApp, flow: &str, phone: &str) -> reqwest::Response {
    app.post("/api/v1/public/kyc/phone/start", &json!({"flow_token": flow, "phone": phone})).await
}

async fn verify(app: &TestApp, flow: &str, phone: &str, code: &str) -> reqwest::Response {
    app.post("/api/v1/public/kyc/phone/verify", &json!({"flow_token": flow, "phone": phone, "code": code})).await
}

const PHONE: &str = "+44 7400 123456";

#[actix_web::test]
async fn t1_otp_bruteforce() {
    let app = spawn_app_with(|s| {
        s.otp_sends_per_ip_per_day = 1_000_000;
        s.otp_sends_per_vendor_per_day = 1_000_000;
        // 11,000 requests from one address in seconds: the per-IP request limit is not under test.
        s.rate_limit_per_ip = 1_000_000;
    })
    .await;
    let v = app.vendor("T1 Shop").await;
    let (mut guesses, mut successes, mut flow) = (0, 0, String::new());
    for round in 0..1_667 {
        if round % 100 == 0 {
            flow = app.flow(&v, None).await;
        }
        // A fresh window and cooldown for every code.
        app.clock.advance(chrono::Duration::seconds(601));
        assert_eq!(start(&app, &flow, PHONE).await.status(), StatusCode::ACCEPTED, "round {round}");
        let real: u32 = outbox_code(&app, &v.id).await.parse().unwrap();
        for i in 1..=5u32 {
            let wrong = format!("{:06}", (real + i * 7919) % 1_000_000);
            let res = verify(&app, &flow, PHONE, &wrong).await;
            guesses += 1;
            successes += u32::from(res.status() == StatusCode::OK);
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        }
        // After 5 wrong tries even the right code is refused.
        let res = verify(&app, &flow, PHONE, &format!("{real:06}")).await;
        guesses += 1;
        successes += u32::from(res.status() == StatusCode::OK);
        let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
        assert_eq!(
            problem["detail"],
            json!("code is no longer valid (expired, used or tried too often): ask for a new code")
        );
    }
    assert!(guesses >= 10_000);
    assert_eq!(successes, 0);
    println!("t1_otp_bruteforce: {guesses} guesses across 1667 codes, 0 successes; each code dead after 5 tries");
}

#[actix_web::test]
async fn t2_otp_lifecycle() {
    let app = spawn_app().await;
    let v = app.vendor("T2 Shop").await;
    let flow = app.flow(&v, Some("LAMP")).await;
    assert_eq!(start(&app, &flow, PHONE).await.status(), StatusCode::ACCEPTED);
    let code = outbox_code(&app, &v.id).await;
    // Wrong: 4 tries left, said so.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let problem =
        assert_problem(verify(&app, &flow, PHONE, wrong).await, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert_eq!(problem["detail"], json!("code is not the code sent to this phone; 4 tries left"));
    // Expired after 10 minutes (injected clock).
    app.clock.advance(chrono::Duration::minutes(10));
    assert_problem(verify(&app, &flow, PHONE, &code).await, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    // A new code works once; the same code again is refused; the identity is on the flow.
    assert_eq!(start(&app, &flow, PHONE).await.status(), StatusCode::ACCEPTED);
    let code = outbox_code(&app, &v.id).await;
    let ok = json(verify(&app, &flow, "00447400123456", &code).await, StatusCode::OK).await;
    assert_eq!(
        ok,
        json!({"maturity_level": 2, "checks": [{"code": "identity_phone", "label": "Identity checked by phone"}]})
    );
    assert_problem(verify(&app, &flow, PHONE, &code).await, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    let review = json(app.submit(&flow, 4, json!({})).await, StatusCode::CREATED).await;
    assert_eq!(review["maturity_level"], json!(2));
    // Cross-flow: a code sent for one flow never verifies another.
    app.clock.advance(chrono::Duration::minutes(11));
    let (a, b) = (app.flow(&v, None).await, app.flow(&v, None).await);
    assert_eq!(start(&app, &a, PHONE).await.status(), StatusCode::ACCEPTED);
    let code_a = outbox_code(&app, &v.id).await;
    app.clock.advance(chrono::Duration::seconds(61));
    assert_eq!(start(&app, &b, PHONE).await.status(), StatusCode::ACCEPTED);
    let code_b = outbox_code(&app, &v.id).await;
    if code_a != code_b {
        assert_problem(verify(&app, &b, PHONE, &code_a).await, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    }
    assert_eq!(verify(&app, &b, PHONE, &code_b).await.status(), StatusCode::OK);
    // Another phone with the right code: refused (the code is bound to the phone it was sent to).
    assert_eq!(start(&app, &a, PHONE).await.status(), StatusCode::TOO_MANY_REQUESTS, "cooldown");
    let problem = assert_problem(
        verify(&app, &a, "+44 7400 123457", &code_a).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert!(problem["detail"].as_str().unwrap().contains("tries left"));
    // Bad input.
    for (body, status) in [
        (json!({"flow_token": a, "phone": PHONE, "code": "12345"}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"flow_token": a, "phone": PHONE, "code": "12a456"}), StatusCode::UNPROCESSABLE_ENTITY),
        (json!({"flow_token": "fl_nope", "phone": PHONE, "code": "123456"}), StatusCode::NOT_FOUND),
        (json!({"flow_token": a, "phone": PHONE}), StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        assert_eq!(app.post("/api/v1/public/kyc/phone/verify", &body).await.status(), status, "{body}");
    }
    // The owner sees the development outbox; an analyst does not.
    let token = app.login(&v.email, &v.password).await;
    let outbox =
        json(app.request(reqwest::Method::GET, "/api/v1/dev/outbox", Some(&token), None).await, StatusCode::OK).await;
    assert_eq!(outbox["messages"][0]["to"], json!("+447400123456"));
    assert!(outbox["messages"][0]["body"]
        .as_str()
        .unwrap()
        .ends_with("is your review verification code. It expires in 10 minutes."));
}

/// A stand-in SMS gateway that records every request and answers with the scripted statuses
/// (then 201).
pub struct Gateway {
    pub url: String,
    pub seen: Arc<Mutex<Vec<(String, String, String)>>>,
    pub script: Arc<Mutex<Vec<u16>>>,
}

pub fn gateway() -> Gateway {
    let seen: Arc<Mutex<Vec<(String, String, String)>>> = Arc::default();
    let script: Arc<Mutex<Vec<u16>>> = Arc::default();
    let (s, sc) = (seen.clone(), script.clone());
    let server = HttpServer::new(move || {
        let (s, sc) = (s.clone(), sc.clone());
        App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
            let (s, sc) = (s.clone(), sc.clone());
            async move {
                let auth = req.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                s.lock().unwrap().push((req.uri().to_string(), auth, String::from_utf8_lossy(&body).into_owned()));
                let status = {
                    let mut q = sc.lock().unwrap();
                    if q.is_empty() {
                        201
                    } else {
                        q.remove(0)
                    }
                };
                HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap()).json(json!({"sid": "SM1"}))
            }
        }))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let url = format!("http://{}", server.addrs()[0]);
    actix_web::rt::spawn(server.run());
    Gateway { url, seen, script }
}

#[actix_web::test]
async fn t3_sms_pumping() {
    let gw = gateway();
    let url = gw.url.clone();
    let app = spawn_app_with(move |s| {
        s.sms = SmsSettings {
            gateway: "twilio".into(),
            base_url: Some(url),
            account_sid: Some("AC123".into()),
            auth_token: Some("tok&en".into()),
            from: Some("+15005550006".into()),
            ..Default::default()
        };
        s.otp_sends_per_ip_per_day = 5;
        s.otp_sends_per_vendor_per_day = 1000;
    })
    .await;
    let v = app.vendor("T3 Shop").await;
    let flow = app.flow(&v, None).await;
    let (mut starts, mut refused) = (0, 0);
    // Premium-rate, fixed-line and unassigned numbers get no code and cost nothing.
    for phone in ["+44 909 879 0000", "+44 1234 567890", "+44 9999 999999"] {
        assert_problem(start(&app, &flow, phone).await, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
        starts += 1;
        refused += 1;
    }
    assert_eq!(gw.seen.lock().unwrap().len(), 0);
    // One code: exactly this request.
    assert_eq!(start(&app, &flow, PHONE).await.status(), StatusCode::ACCEPTED);
    starts += 1;
    {
        let seen = gw.seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        let (uri, auth, body) = &seen[0];
        assert_eq!(uri, "/2010-04-01/Accounts/AC123/Messages.json");
        assert_eq!(auth, "Basic QUMxMjM6dG9rJmVu");
        let code = &body[body.len() - "+is+your+review+verification+code.+It+expires+in+10+minutes.".len() - 6..][..6];
        assert!(code.bytes().all(|b| b.is_ascii_digit()), "{body}");
        assert_eq!(body, &format!("To=%2B447400123456&From=%2B15005550006&Body={code}+is+your+review+verification+code.+It+expires+in+10+minutes."));
    }
    // Cooldown, then at most 3 codes to one phone in 10 minutes.
    let res = start(&app, &flow, PHONE).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().get("retry-after").is_some());
    starts += 1;
    refused += 1;
    for _ in 0..2 {
        app.clock.advance(chrono::Duration::seconds(61));
        assert_eq!(start(&app, &flow, PHONE).await.status(), StatusCode::ACCEPTED);
        starts += 1;
    }
    app.clock.advance(chrono::Duration::seconds(61));
    assert_eq!(start(&app, &flow, PHONE).await.status(), StatusCode::TOO_MANY_REQUESTS);
    starts += 1;
    refused += 1;
    // The client address's daily ceiling (5) holds across phones.
    for (n, phone) in ["+44 7400 123401", "+44 7400 123402", "+44 7400 123403"].iter().enumerate() {
        let status = start(&app, &flow, phone).await.status();
        starts += 1;
        if n < 2 {
            assert_eq!(status, StatusCode::ACCEPTED);
        } else {
            assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
            refused += 1;
        }
    }
    let sent = gw.seen.lock().unwrap().len();
    assert_eq!(sent, 5, "nothing sent past the caps");

    // Gateway failures: 5xx and timeouts are retried, a 4xx is not; failures are recorded.
    let app2 = {
        let url = gw.url.clone();
        spawn_app_with(move |s| {
            s.sms = SmsSettings {
                gateway: "twilio".into(),
                base_url: Some(url),
                account_sid: Some("AC9".into()),
                auth_token: Some("t".into()),
                from: Some("+15005550006".into()),
                ..Default::default()
            };
            s.otp_sends_per_vendor_per_day = 2;
        })
        .await
    };
    let w = app2.vendor("T3 Gateway").await;
    let flow2 = app2.flow(&w, None).await;
    *gw.script.lock().unwrap() = vec![503, 500];
    let before = gw.seen.lock().unwrap().len();
    assert_eq!(start(&app2, &flow2, "+44 7400 123410").await.status(), StatusCode::ACCEPTED);
    assert_eq!(gw.seen.lock().unwrap().len() - before, 3, "two 5xx, then delivered");
    *gw.script.lock().unwrap() = vec![400];
    let before = gw.seen.lock().unwrap().len();
    assert_eq!(start(&app2, &flow2, "+44 7400 123411").await.status(), StatusCode::ACCEPTED);
    assert_eq!(gw.seen.lock().unwrap().len() - before, 1, "a 4xx is not retried");
    let states: Vec<(String, Option<String>)> = {
        use diesel::prelude::*;
        use truview::db::schema::message_sends;
        let vendor = w.id.clone();
        app2.state
            .db
            .run(move |conn| {
                Ok(message_sends::table
                    .filter(message_sends::vendor_id.eq(vendor))
                    .order(message_sends::sent_at.asc())
                    .select((message_sends::state, message_sends::error))
                    .load(conn)?)
            })
            .await
            .unwrap()
    };
    assert_eq!(states[0], ("sent".to_owned(), None));
    assert_eq!(states[1].0, "failed");
    assert!(states[1].1.as_deref().unwrap().contains("400"), "{states:?}");
    // The shop's daily ceiling (2) holds.
    assert_eq!(start(&app2, &flow2, "+44 7400 123412").await.status(), StatusCode::TOO_MANY_REQUESTS);
    starts += 3;
    refused += 1;
    println!(
        "t3_sms_pumping: {starts} starts, {} SMS requests, {refused} refused by the number rules and caps",
        gw.seen.lock().unwrap().len()
    );
}

#[actix_web::test]
async fn the_shop_chooses_the_countries_codes_go_to() {
    let app = spawn_app().await;
    let v = app.vendor("Country Shop").await;
    let patch = |body: serde_json::Value| {
        let app = &app;
        let token = v.token.clone();
        async move { app.request(reqwest::Method::PATCH, "/api/v1/vendor", Some(&token), Some(&body)).await }
    };
    let view = json(patch(json!({"phone_countries": ["IE", "GB", "GB"]})).await, StatusCode::OK).await;
    assert_eq!(view["phone_countries"], json!(["GB", "IE"]));
    let flow = app.flow(&v, None).await;
    let problem =
        assert_problem(start(&app, &flow, "+49 151 23456789").await, StatusCode::UNPROCESSABLE_ENTITY, "validation")
            .await;
    assert_eq!(problem["detail"], "phone is in a country this shop does not send codes to");
    assert_eq!(start(&app, &flow, PHONE).await.status(), StatusCode::ACCEPTED);
    // Unknown or lower-case codes are refused; null sends everywhere again.
    for bad in ["XX", "gb", "GBR"] {
        let problem = assert_problem(
            patch(json!({"phone_countries": [bad]})).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
        )
        .await;
        assert_eq!(
            problem["detail"],
            format!("phone_countries names {bad}, which is not an ISO 3166 alpha-2 country code (upper case, e.g. GB)")
        );
    }
    let view = json(patch(json!({"phone_countries": null})).await, StatusCode::OK).await;
    assert_eq!(view["phone_countries"], json!(null));
    let flow = app.flow(&v, None).await;
    assert_eq!(start(&app, &flow, "+49 151 23456789").await.status(), StatusCode::ACCEPTED);
}

#[actix_web::test]
async fn a_generic_http_gateway_gets_exactly_its_template() {
    let gw = gateway();
    let url = gw.url.clone();
    let app = spawn_app_with(move |s| {
        s.sms = SmsSettings {
            gateway: "http".into(),
            url: Some(format!("{url}/v1/send?dest={{to}}")),
            method: Some("POST".into()),
            headers: [("Authorization".to_owned(), "Bearer gw-key".to_owned())].into(),
            body: Some(r#"{"sender": {from}, "message": {text}}"#.into()),
            from: Some("Shop & Co".into()),
            ..Default::default()
        };
    })
    .await;
    let v = app.vendor("Generic GW").await;
    let flow = app.flow(&v, None).await;
    assert_eq!(start(&app, &flow, PHONE).await.status(), StatusCode::ACCEPTED);
    let seen = gw.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    let (uri, auth, body) = &seen[0];
    assert_eq!(uri, "/v1/send?dest=%2B447400123456");
    assert_eq!(auth, "Bearer gw-key");
    let sent: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(sent["sender"], "Shop & Co");
    let text = sent["message"].as_str().unwrap();
    assert!(text.ends_with(" is your review verification code. It expires in 10 minutes."), "{text}");
    assert!(text[..6].bytes().all(|b| b.is_ascii_digit()), "{text}");
}
