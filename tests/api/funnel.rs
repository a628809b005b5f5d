//! The funnel's first steps: settings, an invitation per eligible imported order through
//! the job queue to a real SMTP sink, and the hosted page its links open.

use chrono::SecondsFormat;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, json, spawn_app_with, TestApp, Vendor};
use crate::kyc_company::SmtpSink;

async fn import(app: &TestApp, vendor: &Vendor, orders: &Value) {
    let res = app.client.post(app.url("/api/v1/orders")).bearer_auth(&vendor.sk).json(orders).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap());
}

fn ago(app: &TestApp, days: i64) -> String {
    (truview::clock::Clock::now(app.clock.as_ref()) - chrono::Duration::days(days))
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Runs the worker's queue once; the number of jobs done.
async fn drain(app: &TestApp) -> usize {
    truview::funnel::queue::drain(&app.state, "test-worker").await.unwrap().done
}

/// The message as the buyer reads it: quoted-printable soft breaks and escapes undone.
fn readable(raw: &str) -> String {
    let joined = raw.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

fn link_of(mail: &str) -> String {
    let start = mail.find("Or write your review at ").expect("the page link") + "Or write your review at ".len();
    mail[start..].split_whitespace().next().unwrap().to_owned()
}

#[actix_web::test]
async fn an_imported_order_is_invited_once_and_the_link_takes_a_verified_review() {
    let (sink, port) = SmtpSink::start().await;
    let app = spawn_app_with(move |s| {
        s.mail.smtp_url = format!("smtp://127.0.0.1:{port}");
        s.mail.from = "Reviews <reviews@shop.example>".into();
        s.public_url = Some("https://reviews.example".into());
    })
    .await;
    let v = app.vendor("Funnel Shop").await;

    // Off by default: an import sends nothing.
    let settings = json(app.request(Method::GET, "/api/v1/funnel", Some(&v.sk), None).await, StatusCode::OK).await;
    assert_eq!(settings["enabled"], false);
    assert_eq!(settings["invite_delay_days"], 7);
    let bad = json!({"enabled": true, "link_ttl_days": 0});
    let problem = assert_problem(
        app.request(Method::PUT, "/api/v1/funnel", Some(&v.token), Some(&bad)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(problem["detail"], "link_ttl_days must be between 1 and 90");
    let on = json!({"enabled": true, "invite_delay_days": 7, "delay_from": "delivery", "link_ttl_days": 30, "cooldown_days": 90, "sender_name": "Funnel Shop Team"});
    let res = app.request(Method::PUT, "/api/v1/funnel", Some(&v.token), Some(&on)).await;
    assert_eq!(json(res, StatusCode::OK).await, on);

    let orders = json!([
        {"order_id": "F-1", "email": "Ann@Mail.Example", "customer_name": "Ann", "items": [{"sku": "KETTLE", "name": "Kettle"}],
         "purchased_at": ago(&app, 3), "delivered_at": ago(&app, 1)},
        {"order_id": "F-2", "email": "bob@mail.example", "items": [{"sku": "KETTLE"}],
         "purchased_at": ago(&app, 3), "delivered_at": ago(&app, 1), "status": "cancelled"},
        {"order_id": "F-3", "phone": "+44 7400 123456", "items": [{"sku": "KETTLE"}], "purchased_at": ago(&app, 3), "delivered_at": ago(&app, 1)},
        {"order_id": "F-4", "email": "cy@mail.example", "items": [{"sku": "KETTLE"}], "purchased_at": ago(&app, 3)}
    ]);
    import(&app, &v, &orders).await;
    // Not due yet: 7 days after delivery.
    assert_eq!(drain(&app).await, 0);
    app.clock.advance(chrono::Duration::days(6) + chrono::Duration::minutes(1));
    assert_eq!(drain(&app).await, 1, "only F-1: F-2 cancelled, F-3 has no e-mail, F-4 not delivered");
    let mail: Vec<(String, String)> =
        sink.received.lock().unwrap().iter().map(|(to, data)| (to.clone(), readable(data))).collect();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].0, "ann@mail.example");
    assert!(mail[0].1.contains("From: \"Funnel Shop Team\" <reviews@shop.example>"), "{}", mail[0].1);
    assert!(mail[0].1.contains("Hello Ann,\n\nThank you for your order F-1 at Funnel Shop."), "{}", mail[0].1);
    assert!(mail[0].1.contains("Subject: How was your order from Funnel Shop?"), "{}", mail[0].1);
    let link = link_of(&mail[0].1);
    assert!(link.starts_with("https://reviews.example/r/"), "{link}");
    assert!(mail[0].1.contains(&format!("{link}?rating=5")), "five star links: {}", mail[0].1);

    // Re-importing the order (a delivery update) queues nothing twice and sends nothing more.
    import(&app, &v, &orders).await;
    app.clock.advance(chrono::Duration::days(8));
    drain(&app).await;
    assert_eq!(sink.received.lock().unwrap().len(), 1);

    // The link opens the hosted page with the e-mail's rating preselected.
    let path = link.trim_start_matches("https://reviews.example");
    let res = app.get(&format!("{path}?rating=4")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
    let page = res.text().await.unwrap();
    assert!(page.contains("<h1>Review your order F-1 at Funnel Shop</h1>"), "{page}");
    assert!(page.contains("value=\"4\" required checked"), "{page}");
    assert!(!page.contains("value=\"5\" required checked"));

    // Sending the form records a level-3 review bound to the order.
    let form =
        [("rating", "4"), ("sku", "KETTLE"), ("title", "Boils fast"), ("body", "Quiet too."), ("display_name", "Ann")];
    let res = app.client.post(app.url(path)).form(&form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert!(res.text().await.unwrap().contains("It will be shown at level 3"));
    let queue = json(app.request(Method::GET, "/api/v1/reviews", Some(&v.sk), None).await, StatusCode::OK).await;
    let review = &queue["reviews"][0];
    assert_eq!((review["rating"].clone(), review["maturity_level"].clone()), (json!(4), json!(3)));
    assert_eq!(review["checks"][0]["code"], "purchase_invitation");
    // A second review of the same product through the link: 409.
    let res = app.client.post(app.url(path)).form(&form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("a review for this order and product already exists"));

    // A forged link is unknown; an expired one says so.
    let forged = format!("{}x", path);
    assert_eq!(app.get(&forged).await.status(), StatusCode::NOT_FOUND);
    app.clock.advance(chrono::Duration::days(31));
    let res = app.get(path).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("this invitation has expired: ask the shop for a new one"));
}

#[actix_web::test]
async fn a_buyer_invited_recently_is_not_invited_again_and_the_outbox_keeps_mail_without_smtp() {
    let app = spawn_app_with(|_| {}).await;
    let v = app.vendor("Cooldown Shop").await;
    let on = json!({"enabled": true, "invite_delay_days": 0, "delay_from": "purchase"});
    assert_eq!(app.request(Method::PUT, "/api/v1/funnel", Some(&v.token), Some(&on)).await.status(), StatusCode::OK);
    let order = |id: &str| json!([{"order_id": id, "email": "dana@mail.example", "items": [{"sku": "MUG"}], "purchased_at": ago(&app, 1)}]);
    import(&app, &v, &order("C-1")).await;
    assert_eq!(drain(&app).await, 1);
    app.clock.advance(chrono::Duration::days(30));
    import(&app, &v, &order("C-2")).await;
    drain(&app).await;
    let token = app.login(&v.email, &v.password).await;
    let outbox = json(app.request(Method::GET, "/api/v1/dev/outbox", Some(&token), None).await, StatusCode::OK).await;
    let messages = outbox["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "C-2 falls in the 90-day cooldown: {outbox}");
    assert_eq!(messages[0]["to"], "dana@mail.example");
    assert!(messages[0]["body"].as_str().unwrap().starts_with("Subject: How was your order from Cooldown Shop?"));
    // A staff member who is not the owner cannot change the settings.
    let owner = Vendor { token, ..v.clone() };
    let (_, moderator) = app.add_staff(&owner, "moderator").await;
    let res = app.request(Method::PUT, "/api/v1/funnel", Some(&moderator), Some(&on)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn the_shop_can_invite_one_order_now_whatever_the_settings() {
    let app = spawn_app_with(|_| {}).await;
    let v = app.vendor("Invite Now").await;
    let orders = json!([
        {"order_id": "N-1", "email": "eve@mail.example", "items": [{"sku": "LAMP"}], "purchased_at": ago(&app, 2)},
        {"order_id": "N-2", "email": "fay@mail.example", "items": [{"sku": "LAMP"}], "purchased_at": ago(&app, 2), "status": "refunded"},
        {"order_id": "N-3", "phone": "+44 7400 123456", "items": [{"sku": "LAMP"}], "purchased_at": ago(&app, 2)}
    ]);
    import(&app, &v, &orders).await;
    let invite = |id: &str| {
        let (app, sk) = (&app, v.sk.clone());
        let body = json!({"order_id": id});
        async move { app.request(Method::POST, "/api/v1/invitations", Some(&sk), Some(&body)).await }
    };
    // The funnel is off and N-1 is not delivered: asked for, it goes now.
    let queued = json(invite("N-1").await, StatusCode::ACCEPTED).await;
    assert!(queued["job_id"].is_string());
    assert_eq!(drain(&app).await, 1);
    let outbox = json(app.request(Method::GET, "/api/v1/dev/outbox", Some(&v.token), None).await, StatusCode::OK).await;
    assert_eq!(outbox["messages"][0]["to"], "eve@mail.example");
    // Again: already invited, with the date.
    let problem = assert_problem(invite("N-1").await, StatusCode::CONFLICT, "conflict").await;
    let today = truview::clock::Clock::now(app.clock.as_ref()).format("%Y-%m-%d").to_string();
    assert_eq!(problem["detail"], format!("the buyer of order N-1 was already invited on {today}"));
    let problem = assert_problem(invite("N-2").await, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(problem["detail"], "order N-2 is refunded: it gets no invitation");
    let problem = assert_problem(invite("N-3").await, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert_eq!(
        problem["detail"],
        "order_id has no e-mail address kept to send an invitation to (none imported, or past contact_retention_days)"
    );
    assert_problem(invite("N-404").await, StatusCode::NOT_FOUND, "not-found").await;
    // Another shop's order is unknown here.
    let other = app.vendor("Other Shop").await;
    let res =
        app.request(Method::POST, "/api/v1/invitations", Some(&other.sk), Some(&json!({"order_id": "N-1"}))).await;
    assert_problem(res, StatusCode::NOT_FOUND, "not-found").await;
}
