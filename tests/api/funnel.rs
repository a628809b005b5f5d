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
    assert_eq!(settings["reminder_delays_days"], json!([4, 10]));
    assert_eq!(settings["quiet_hours"], json!({"start": "21:00", "end": "08:00"}));
    assert_eq!((settings["time_zone"].clone(), settings["daily_cap"].clone()), (json!("UTC"), json!(0)));
    let bad = json!({"enabled": true, "link_ttl_days": 0});
    let problem = assert_problem(
        app.request(Method::PUT, "/api/v1/funnel", Some(&v.token), Some(&bad)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(problem["detail"], "link_ttl_days must be between 1 and 90");
    let on = json!({"enabled": true, "channels": ["email"], "invite_delay_days": 7, "delay_from": "delivery", "link_ttl_days": 30, "cooldown_days": 90,
        "sender_name": "Funnel Shop Team", "reminder_delays_days": [], "time_zone": "UTC", "quiet_hours": null, "daily_cap": 0,
        "incentive": null, "nps": false, "referral_url": null, "targets": null});
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
    assert!(res.text().await.unwrap().contains("A review for this order and product already exists."));

    // A forged link is unknown; an expired one says so.
    let forged = format!("{}x", path);
    assert_eq!(app.get(&forged).await.status(), StatusCode::NOT_FOUND);
    app.clock.advance(chrono::Duration::days(31));
    let res = app.get(path).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("<p>This invitation has expired: ask the shop for a new one.</p>"));
}

#[actix_web::test]
async fn a_buyer_invited_recently_is_not_invited_again_and_the_outbox_keeps_mail_without_smtp() {
    let app = spawn_app_with(|_| {}).await;
    let v = app.vendor("Cooldown Shop").await;
    let on = json!({"enabled": true, "invite_delay_days": 0, "delay_from": "purchase", "reminder_delays_days": [], "quiet_hours": null});
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

/// The messages the sink received, as buyers read them.
fn inbox(sink: &SmtpSink) -> Vec<(String, String)> {
    sink.received.lock().unwrap().iter().map(|(to, data)| (to.clone(), readable(data))).collect()
}

fn header<'a>(mail: &'a str, name: &str) -> Option<&'a str> {
    mail.lines().find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(": ")))
}

async fn smtp_app(port: u16) -> TestApp {
    spawn_app_with(move |s| {
        s.mail.smtp_url = format!("smtp://127.0.0.1:{port}");
        s.mail.from = "Reviews <reviews@shop.example>".into();
        s.public_url = Some("https://reviews.example".into());
    })
    .await
}

async fn put_funnel(app: &TestApp, v: &Vendor, settings: Value) {
    let res = app.request(Method::PUT, "/api/v1/funnel", Some(&v.token), Some(&settings)).await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.text().await.unwrap());
}

fn buyer_order(app: &TestApp, id: &str, email: &str) -> Value {
    json!({"order_id": id, "email": email, "customer_name": "Buyer", "items": [{"sku": "TEA"}], "purchased_at": ago(app, 1)})
}

#[actix_web::test]
async fn reminders_go_out_on_schedule_until_a_review_an_opt_out_or_a_refund_stops_them() {
    let (sink, port) = SmtpSink::start().await;
    let app = smtp_app(port).await;
    let v = app.vendor("Reminder Shop").await;
    put_funnel(
        &app,
        &v,
        json!({"enabled": true, "invite_delay_days": 0, "delay_from": "purchase", "link_ttl_days": 14,
        "reminder_delays_days": [3, 7], "quiet_hours": null}),
    )
    .await;
    let orders = json!([
        buyer_order(&app, "R-1", "ann@mail.example"),
        buyer_order(&app, "R-2", "bob@mail.example"),
        buyer_order(&app, "R-3", "cy@mail.example"),
        buyer_order(&app, "R-4", "dan@mail.example")
    ]);
    import(&app, &v, &orders).await;
    assert_eq!(drain(&app).await, 4);
    let mail = inbox(&sink);
    let to: Vec<&str> = mail.iter().map(|(to, _)| to.as_str()).collect();
    assert_eq!(to.len(), 4);
    let of = |who: &str| mail.iter().find(|(to, _)| to == who).unwrap().1.clone();
    let dan = of("dan@mail.example");
    // Multipart text + HTML, a stable Message-ID and RFC 8058 one-click unsubscribe.
    assert!(dan.contains("Content-Type: multipart/alternative"), "{dan}");
    assert!(dan.contains("Content-Type: text/html"), "{dan}");
    assert!(header(&dan, "Message-ID").is_some_and(|id| id.ends_with(".0@shop.example>")), "{dan}");
    assert_eq!(header(&dan, "List-Unsubscribe-Post"), Some("List-Unsubscribe=One-Click"));
    let unsubscribe = header(&dan, "List-Unsubscribe").unwrap().trim_matches(['<', '>']).to_owned();
    assert!(unsubscribe.starts_with("https://reviews.example/u/"), "{unsubscribe}");
    assert!(dan.contains(&format!("No more review requests from Reminder Shop: {unsubscribe}")));

    // Ann reviews through her link; R-3 is refunded; Dan unsubscribes with one click (and
    // opening the link alone changes nothing).
    let ann = link_of(&of("ann@mail.example"));
    let path = ann.trim_start_matches("https://reviews.example");
    let res = app.client.post(app.url(path)).form(&[("rating", "2"), ("sku", "TEA")]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let mut refunded = buyer_order(&app, "R-3", "cy@mail.example");
    refunded["status"] = json!("refunded");
    import(&app, &v, &json!([refunded])).await;
    let dan_link = unsubscribe.trim_start_matches("https://reviews.example");
    let page = app.get(dan_link).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("<h1>No more review requests from Reminder Shop?</h1>"));
    let res = app.client.post(app.url(dan_link)).form(&[("List-Unsubscribe", "One-Click")]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("<h1>You are unsubscribed</h1>"));
    let again = app.get(dan_link).await.text().await.unwrap();
    assert!(again.contains("Reminder Shop sends you no more review requests."), "{again}");
    let wrong = app.get("/u/not-a-token").await;
    assert_eq!(wrong.status(), StatusCode::NOT_FOUND);
    assert!(wrong
        .text()
        .await
        .unwrap()
        .contains("<h1>We could not unsubscribe you</h1><p>This link is wrong or no longer works.</p>"));

    // Day 3: only Bob is reminded; day 7: Bob again; then nothing more.
    app.clock.advance(chrono::Duration::days(3) + chrono::Duration::minutes(1));
    drain(&app).await;
    let mail = inbox(&sink);
    assert_eq!(mail.len(), 5, "one reminder");
    assert_eq!(mail[4].0, "bob@mail.example");
    assert_eq!(header(&mail[4].1, "Subject"), Some("Reminder: how was your order from Reminder Shop?"));
    assert!(mail[4].1.contains("Hello Buyer,\n\nA short reminder: we would still like to hear how your order R-2"));
    assert!(header(&mail[4].1, "Message-ID").is_some_and(|id| id.ends_with(".1@shop.example>")));
    app.clock.advance(chrono::Duration::days(4));
    drain(&app).await;
    app.clock.advance(chrono::Duration::days(30));
    drain(&app).await;
    let mail = inbox(&sink);
    assert_eq!(mail.len(), 6, "a second reminder, then none");
    assert_eq!(mail[5].0, "bob@mail.example");

    let token = app.login(&v.email, &v.password).await;
    let report =
        json(app.request(Method::GET, "/api/v1/reports/funnel?days=60", Some(&token), None).await, StatusCode::OK)
            .await;
    assert_eq!(
        report["steps"],
        json!({"invited": 4, "opened": 1, "nps_answered": 0, "reminded": 2, "reviewed": 1, "incentive_granted": 0, "opted_out": 1, "bounced": 0})
    );
    assert_eq!(report["conversion"]["reviewed"], json!(0.25));
    assert_eq!(report["by_channel"][0]["channel"], "email");
    assert_eq!(report["by_channel"][0]["invited"], 4);
    let problem = assert_problem(
        app.request(Method::GET, "/api/v1/reports/funnel?days=400", Some(&token), None).await,
        StatusCode::BAD_REQUEST,
        "bad-request",
    )
    .await;
    assert_eq!(problem["detail"], "days must be between 1 and 366");
    // Dan stays unsubscribed: a new order of his gets no invitation.
    import(&app, &v, &json!([buyer_order(&app, "R-5", "dan@mail.example")])).await;
    drain(&app).await;
    assert_eq!(inbox(&sink).len(), 6);
}

/// The vendor's jobs in one state (as the owner sees them, signed in afresh: the clock moves).
async fn jobs(app: &TestApp, v: &Vendor, state: &str) -> Value {
    let token = app.login(&v.email, &v.password).await;
    let path = format!("/api/v1/jobs?state={state}");
    json(app.request(Method::GET, &path, Some(&token), None).await, StatusCode::OK).await["jobs"].clone()
}

async fn run_times(app: &TestApp, v: &Vendor) -> Vec<String> {
    let queued = jobs(app, v, "queued").await;
    queued.as_array().unwrap().iter().map(|j| j["run_at"].as_str().unwrap().to_owned()).collect()
}

fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
    s.parse().unwrap()
}

#[actix_web::test]
async fn quiet_hours_and_the_daily_cap_hold_invitations_in_the_vendor_time_zone_across_dst() {
    let (sink, port) = SmtpSink::start().await;
    let app = smtp_app(port).await;
    // Saturday 27 March 2027, 21:30 in Berlin (CET); clocks go forward that night.
    app.clock.set(at("2027-03-27T20:30:00Z"));
    let v = app.vendor("Night Shop").await;
    put_funnel(
        &app,
        &v,
        json!({"enabled": true, "invite_delay_days": 0, "delay_from": "purchase", "reminder_delays_days": [],
        "time_zone": "Europe/Berlin", "quiet_hours": {"start": "21:00", "end": "08:00"}, "daily_cap": 2}),
    )
    .await;
    let orders = json!([
        buyer_order(&app, "Q-1", "a@mail.example"),
        buyer_order(&app, "Q-2", "b@mail.example"),
        buyer_order(&app, "Q-3", "c@mail.example")
    ]);
    import(&app, &v, &orders).await;
    let report = truview::funnel::queue::drain(&app.state, "test-worker").await.unwrap();
    assert_eq!((report.done, report.deferred), (0, 3), "quiet hours: nothing sent at 21:30");
    // 08:00 Sunday is CEST (UTC+2) after the switch: 06:00 UTC.
    assert_eq!(run_times(&app, &v).await, vec!["2027-03-28T06:00:00+00:00"; 3]);
    app.clock.set(at("2027-03-28T05:59:00Z"));
    assert_eq!(drain(&app).await, 0);
    app.clock.set(at("2027-03-28T06:00:00Z"));
    assert_eq!(drain(&app).await, 2, "the daily cap");
    assert_eq!(inbox(&sink).len(), 2);
    // The third waits for Monday, then for the end of Monday's quiet hours: 08:00 CEST.
    assert_eq!(run_times(&app, &v).await, vec!["2027-03-29T06:00:00+00:00"]);
    app.clock.set(at("2027-03-29T06:00:00Z"));
    assert_eq!(drain(&app).await, 1);
    assert_eq!(inbox(&sink).len(), 3);
}

#[actix_web::test]
async fn a_failing_mail_server_backs_off_to_the_dead_letter_and_a_manual_retry_delivers() {
    let (sink, port) = SmtpSink::start().await;
    let app = smtp_app(port).await;
    let v = app.vendor("Retry Shop").await;
    put_funnel(
        &app,
        &v,
        json!({"enabled": true, "invite_delay_days": 0, "delay_from": "purchase", "reminder_delays_days": [2],
        "quiet_hours": null}),
    )
    .await;
    *sink.refuse.lock().unwrap() = Some("451 4.3.0 try again later");
    import(&app, &v, &json!([buyer_order(&app, "T-1", "tess@mail.example")])).await;
    let first = truview::funnel::queue::drain(&app.state, "test-worker").await.unwrap();
    assert_eq!((first.claimed, first.retried), (1, 1));
    let queued = jobs(&app, &v, "queued").await;
    let run_at: chrono::DateTime<chrono::Utc> = queued[0]["run_at"].as_str().unwrap().parse().unwrap();
    let wait = run_at - truview::clock::Clock::now(app.clock.as_ref());
    assert!(wait >= chrono::Duration::seconds(15) && wait < chrono::Duration::seconds(30), "first backoff {wait}");
    assert_eq!(queued[0]["last_error"], "SMTP: transient error (451): 4.3.0 try again later");
    // Seven more failures, each after its backoff: dead.
    for _ in 2..=8 {
        app.clock.advance(chrono::Duration::hours(6));
        truview::funnel::queue::drain(&app.state, "test-worker").await.unwrap();
    }
    let dead = jobs(&app, &v, "dead").await;
    assert_eq!(dead.as_array().unwrap().len(), 1);
    assert_eq!((dead[0]["name"].clone(), dead[0]["attempts"].clone()), (json!("funnel.invite"), json!(8)));
    assert!(sink.received.lock().unwrap().is_empty());
    // The server is back; staff retry the dead job and the invitation is delivered once.
    *sink.refuse.lock().unwrap() = None;
    let token = app.login(&v.email, &v.password).await;
    let path = format!("/api/v1/jobs/{}/retry", dead[0]["id"].as_str().unwrap());
    assert_eq!(app.request(Method::POST, &path, Some(&token), None).await.status(), StatusCode::OK);
    assert_eq!(drain(&app).await, 1);
    assert_eq!(inbox(&sink).iter().map(|(to, _)| to.as_str()).collect::<Vec<_>>(), vec!["tess@mail.example"]);

    // A hard bounce (550) is not retried and stops the reminders.
    *sink.refuse.lock().unwrap() = Some("550 5.1.1 no such user");
    import(&app, &v, &json!([buyer_order(&app, "T-2", "gone@mail.example")])).await;
    let run = truview::funnel::queue::drain(&app.state, "test-worker").await.unwrap();
    assert_eq!((run.done, run.retried, run.dead), (1, 0, 0));
    *sink.refuse.lock().unwrap() = None;
    app.clock.advance(chrono::Duration::days(3));
    drain(&app).await;
    let mail = inbox(&sink);
    assert_eq!(mail.len(), 2, "Tess's reminder only");
    assert_eq!(mail[1].0, "tess@mail.example");
    let token = app.login(&v.email, &v.password).await;
    let report =
        json(app.request(Method::GET, "/api/v1/reports/funnel", Some(&token), None).await, StatusCode::OK).await;
    assert_eq!((report["steps"]["invited"].clone(), report["steps"]["bounced"].clone()), (json!(1), json!(1)));
}

/// Writes a review through the invitation e-mail sent to `to`.
async fn review_by_mail(app: &TestApp, sink: &SmtpSink, to: &str, rating: &str, title: &str) {
    let mail = inbox(sink).into_iter().find(|(who, m)| who == to && m.contains("Or write your review at")).unwrap().1;
    let link = link_of(&mail);
    let path = link.trim_start_matches("https://reviews.example");
    let form = [("rating", rating), ("title", title), ("body", "Honest words.")];
    let res = app.client.post(app.url(path)).form(&form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let page = res.text().await.unwrap();
    assert!(page.contains("Your thank-you (10% off your next order) comes by e-mail once the shop has checked the review, whatever your rating."), "{page}");
}

#[actix_web::test]
async fn a_widget_review_whose_order_matched_earns_the_thank_you_once_per_order() {
    let (sink, port) = SmtpSink::start().await;
    let app = smtp_app(port).await;
    let v = app.vendor("Widget Thanks").await;
    // No invitations: the buyer comes from the shop's own page.
    put_funnel(
        &app,
        &v,
        json!({"enabled": false, "reminder_delays_days": [], "quiet_hours": null,
        "incentive": {"kind": "coupon", "description": "10% off your next order", "low_pool_threshold": 2}}),
    )
    .await;
    let res = app
        .request(Method::POST, "/api/v1/incentives/coupons", Some(&v.sk), Some(&json!({"codes": ["W-C1", "W-C2"]})))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    import(&app, &v, &json!([buyer_order(&app, "W-1", "wanda@mail.example")])).await;
    assert_eq!(drain(&app).await, 0, "no invitation while the funnel is off");

    let flow = |sku: &'static str| {
        let app = &app;
        let pk = v.pk.clone();
        async move {
            let res = app.get(&format!("/r/new?key={pk}{sku}")).await;
            assert_eq!(res.status(), StatusCode::SEE_OTHER);
            res.headers()["location"].to_str().unwrap().to_owned()
        }
    };
    let post = |path: String, form: Vec<(&'static str, &'static str)>| {
        let (url, client) = (app.url(&path), app.client.clone());
        async move { client.post(url).form(&form).send().await.unwrap() }
    };
    let offer = "With your order confirmed, the shop thanks you for any honest review, good or bad: <strong>10% off your next order</strong>.";
    let promised = "As a thank-you for any honest review, good or bad: <strong>10% off your next order</strong>.";
    let thanked = "Your thank-you (10% off your next order) comes by e-mail once the shop has checked the review, whatever your rating.";

    // The order step says what a matched order earns; once matched, the form says it too.
    let page = flow("&sku=TEA").await;
    let html = app.get(&page).await.text().await.unwrap();
    assert!(html.contains(offer), "{html}");
    let res = post(format!("{page}/order"), vec![("order_id", "W-1"), ("contact", "wanda@mail.example")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let html = app.get(&page).await.text().await.unwrap();
    assert!(html.contains(promised) && !html.contains(offer), "{html}");
    // One star: the same thank-you.
    let res = post(page.clone(), vec![("rating", "1"), ("title", "Bitter"), ("display_name", "Wanda")]).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert!(res.text().await.unwrap().contains(thanked));

    // A second review of the same order (the shop as a whole): no second thank-you.
    let shop_page = flow("").await;
    let res = post(format!("{shop_page}/order"), vec![("order_id", "W-1"), ("contact", "wanda@mail.example")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = post(shop_page, vec![("rating", "5"), ("display_name", "Wanda")]).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert!(!res.text().await.unwrap().contains("Your thank-you"));
    // Without a matched order: none either.
    let res = post(flow("&sku=TEA").await, vec![("rating", "4"), ("display_name", "Walter")]).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert!(!res.text().await.unwrap().contains("Your thank-you"));

    let queue =
        json(app.request(Method::GET, "/api/v1/reviews?status=pending", Some(&v.sk), None).await, StatusCode::OK).await;
    let mut seen: Vec<(i64, bool)> = queue["reviews"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["rating"].as_i64().unwrap(), r["incentivised"].as_bool().unwrap()))
        .collect();
    seen.sort();
    assert_eq!(seen, [(1, true), (4, false), (5, false)]);
    let one = queue["reviews"].as_array().unwrap().iter().find(|r| r["rating"] == 1).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.decide(&v, &one, json!({"action": "publish"})).await.status(), StatusCode::OK);
    let pool =
        json(app.request(Method::GET, "/api/v1/incentives/coupons", Some(&v.sk), None).await, StatusCode::OK).await;
    assert_eq!(pool, json!({"free": 1, "given": 1, "pending": 0, "granted": 1, "owed": 0, "withheld": 0, "low": true}));
    assert_eq!(drain(&app).await, 1, "the thank-you e-mail");
    let mail = inbox(&sink);
    assert_eq!(mail.len(), 1);
    assert_eq!(
        (mail[0].0.as_str(), header(&mail[0].1, "Subject")),
        ("wanda@mail.example", Some("Your thank-you from Widget Thanks"))
    );
    assert!(mail[0].1.contains("Your code: W-C1"), "{}", mail[0].1);
}

#[actix_web::test]
async fn t16_the_incentive_is_the_same_for_one_and_five_stars_and_withheld_only_for_spam() {
    let (sink, port) = SmtpSink::start().await;
    let app = smtp_app(port).await;
    let v = app.vendor("Thanks Shop").await;
    put_funnel(&app, &v, json!({"enabled": true, "invite_delay_days": 0, "delay_from": "purchase", "reminder_delays_days": [],
        "quiet_hours": null, "incentive": {"kind": "coupon", "description": "10% off your next order", "low_pool_threshold": 2}})).await;
    let upload = |codes: Value| {
        let (app, sk) = (&app, v.sk.clone());
        async move {
            app.request(Method::POST, "/api/v1/incentives/coupons", Some(&sk), Some(&json!({"codes": codes}))).await
        }
    };
    let added = json(upload(json!(["C-1", "C-2", "C-3", "C-1"])).await, StatusCode::OK).await;
    assert_eq!((added["added"].clone(), added["duplicates"].clone()), (json!(3), json!(1)));
    assert_eq!(added["pool"]["free"], 3);
    let problem =
        assert_problem(upload(json!(["ok", "bad code"])).await, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
    assert_eq!(problem["detail"], "codes code 2 must be 1 to 64 letters, digits, - or _");

    let buyers =
        ["one@mail.example", "five@mail.example", "spam@mail.example", "late@mail.example", "fifth@mail.example"];
    let orders: Vec<Value> = buyers.iter().enumerate().map(|(i, b)| buyer_order(&app, &format!("I-{i}"), b)).collect();
    import(&app, &v, &json!(orders)).await;
    assert_eq!(drain(&app).await, 5);
    let invitation = inbox(&sink)[0].1.clone();
    assert!(
        invitation.contains("As a thank-you for any honest review, good or bad: 10% off your next order."),
        "{invitation}"
    );
    for (to, rating, title) in [
        (buyers[0], "1", "one"),
        (buyers[1], "5", "five"),
        (buyers[2], "5", "spam"),
        (buyers[3], "3", "late"),
        (buyers[4], "4", "fifth"),
    ] {
        review_by_mail(&app, &sink, to, rating, title).await;
    }
    let pool =
        json(app.request(Method::GET, "/api/v1/incentives/coupons", Some(&v.sk), None).await, StatusCode::OK).await;
    assert_eq!(
        pool,
        json!({"free": 3, "given": 0, "pending": 5, "granted": 0, "owed": 0, "withheld": 0, "low": false})
    );

    let queue =
        json(app.request(Method::GET, "/api/v1/reviews?status=pending", Some(&v.sk), None).await, StatusCode::OK).await;
    let id_of = |title: &str| {
        queue["reviews"].as_array().unwrap().iter().find(|r| r["title"] == title).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    for r in queue["reviews"].as_array().unwrap() {
        assert_eq!(r["incentivised"], true, "disclosed from the start: {r}");
    }
    // Decided in this order: 1★ and 5★ published, spam rejected as spam, 3★ published, the
    // last one rejected as off-topic (still rewarded: only spam and abuse lose it).
    for (title, body) in [
        ("one", json!({"action": "publish"})),
        ("five", json!({"action": "publish"})),
        ("spam", json!({"action": "reject", "reason": "spam"})),
        ("late", json!({"action": "publish"})),
        ("fifth", json!({"action": "reject", "reason": "off_topic"})),
    ] {
        assert_eq!(app.decide(&v, &id_of(title), body).await.status(), StatusCode::OK);
    }
    let pool =
        json(app.request(Method::GET, "/api/v1/incentives/coupons", Some(&v.sk), None).await, StatusCode::OK).await;
    assert_eq!(pool, json!({"free": 0, "given": 3, "pending": 0, "granted": 3, "owed": 1, "withheld": 1, "low": true}));
    // The pool is refilled: the owed coupon is given first.
    let added = json(upload(json!(["C-4", "C-5"])).await, StatusCode::OK).await;
    assert_eq!((added["added"].clone(), added["given_to_owed"].clone()), (json!(2), json!(1)));
    assert_eq!(
        added["pool"],
        json!({"free": 1, "given": 4, "pending": 0, "granted": 4, "owed": 0, "withheld": 1, "low": true})
    );

    assert_eq!(drain(&app).await, 4, "four thank-you e-mails");
    let thanks: Vec<(String, String)> = inbox(&sink)
        .into_iter()
        .filter(|(_, m)| header(m, "Subject") == Some("Your thank-you from Thanks Shop"))
        .collect();
    let code_of = |to: &str| {
        let m = &thanks.iter().find(|(who, _)| who == to).unwrap().1;
        m.lines().find_map(|l| l.strip_prefix("Your code: ")).unwrap().to_owned()
    };
    assert_eq!(thanks.len(), 4);
    assert_eq!(
        [code_of(buyers[0]), code_of(buyers[1]), code_of(buyers[3]), code_of(buyers[4])],
        ["C-1", "C-2", "C-3", "C-4"].map(String::from)
    );
    assert!(!thanks.iter().any(|(to, _)| to == buyers[2]), "withheld for spam");
    let body = |to: &str| {
        let m = &thanks.iter().find(|(who, _)| who == to).unwrap().1;
        m[m.find("Thank you for your review").unwrap()..].to_owned()
    };
    assert_eq!(body(buyers[0]).replace("C-1", "C-2"), body(buyers[1]), "1★ and 5★ get the same thank-you");
    let token = app.login(&v.email, &v.password).await;
    let report =
        json(app.request(Method::GET, "/api/v1/reports/funnel", Some(&token), None).await, StatusCode::OK).await;
    assert_eq!(
        (report["steps"]["reviewed"].clone(), report["steps"]["incentive_granted"].clone()),
        (json!(5), json!(4))
    );
    // The widget shows the published ones as incentivised.
    let public = json(app.get(&format!("/api/v1/public/{}/reviews", v.pk)).await, StatusCode::OK).await;
    let shown = public["reviews"].as_array().unwrap();
    assert_eq!(shown.len(), 3, "one, five and late are published: {public}");
    assert!(shown.iter().all(|r| r["incentivised"] == true), "{public}");
}

#[actix_web::test]
async fn triggers_prompt_a_review_at_once_under_the_funnel_rules_and_the_report_counts_them() {
    let (sink, port) = SmtpSink::start().await;
    let app = smtp_app(port).await;
    let v = app.vendor("Trigger Shop").await;
    let trigger = |body: Value| {
        let (app, sk) = (&app, v.sk.clone());
        async move { app.request(Method::POST, "/api/v1/triggers", Some(&sk), Some(&body)).await }
    };
    let orders = json!([
        {"order_id": "G-1", "email": "gil@mail.example", "items": [{"sku": "PEN"}], "purchased_at": ago(&app, 20)},
        {"order_id": "G-2", "email": "gil@mail.example", "items": [{"sku": "INK"}], "purchased_at": ago(&app, 2)},
        {"order_id": "G-3", "email": "hal@mail.example", "items": [{"sku": "PEN"}], "purchased_at": ago(&app, 2), "status": "cancelled"},
        {"order_id": "G-4", "phone": "+44 7400 123456", "items": [{"sku": "PEN"}], "purchased_at": ago(&app, 2)}
    ]);
    import(&app, &v, &orders).await;
    let problem = assert_problem(
        trigger(json!({"trigger": "successful_use", "order_id": "G-1"})).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    assert_eq!(
        problem["detail"],
        "the funnel is off: turn it on (PUT /api/v1/funnel), or invite one order now (POST /api/v1/invitations)"
    );
    // On, with a long delay after delivery: the import alone sends nothing soon.
    put_funnel(
        &app,
        &v,
        json!({"enabled": true, "invite_delay_days": 30, "reminder_delays_days": [], "quiet_hours": null}),
    )
    .await;
    // A customer's trigger invites about their latest order that can be invited.
    let queued =
        json(trigger(json!({"trigger": "repeat_purchase", "email": "Gil@Mail.Example"})).await, StatusCode::ACCEPTED)
            .await;
    assert_eq!(queued["order_id"], "G-2");
    assert_eq!(drain(&app).await, 1);
    let mail = inbox(&sink);
    assert_eq!(mail.len(), 1);
    assert!(mail[0].1.contains("Thank you for your order G-2 at Trigger Shop."), "{}", mail[0].1);
    // Gil was just invited: the cooldown refuses another trigger for G-1.
    let problem = assert_problem(
        trigger(json!({"trigger": "referral", "order_id": "G-1"})).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    assert_eq!(problem["detail"], "the buyer of order G-1 was invited within the last 90 days (cooldown_days)");
    let problem = assert_problem(
        trigger(json!({"trigger": "referral", "order_id": "G-2"})).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    let today = truview::clock::Clock::now(app.clock.as_ref()).format("%Y-%m-%d").to_string();
    assert_eq!(problem["detail"], format!("the buyer of order G-2 was already invited on {today}"));
    let problem = assert_problem(
        trigger(json!({"trigger": "long_session", "order_id": "G-3"})).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    assert_eq!(problem["detail"], "order G-3 is cancelled: it gets no invitation");
    let problem = assert_problem(
        trigger(json!({"trigger": "long_session", "order_id": "G-4"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(
        problem["detail"],
        "order_id has no e-mail address kept to send an invitation to (none imported, or past contact_retention_days)"
    );
    assert_problem(
        trigger(json!({"trigger": "social_mention", "order_id": "G-404"})).await,
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    let problem = assert_problem(
        trigger(json!({"trigger": "social_mention", "email": "nobody@mail.example"})).await,
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    assert_eq!(problem["detail"], "order of this customer not found");
    // Hal has an order, but none that can be invited (G-3 was cancelled).
    let problem = assert_problem(
        trigger(json!({"trigger": "social_mention", "email": "hal@mail.example"})).await,
        StatusCode::CONFLICT,
        "conflict",
    )
    .await;
    assert_eq!(
        problem["detail"],
        "no order of this customer can be invited now: each is cancelled, refunded, without a kept contact, or already invited"
    );
    for bad in [
        json!({"trigger": "social_mention"}),
        json!({"trigger": "social_mention", "order_id": "G-1", "email": "gil@mail.example"}),
    ] {
        let problem = assert_problem(trigger(bad).await, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
        assert_eq!(problem["detail"], "order_id or email must be given, not both");
    }
    let problem = assert_problem(
        trigger(json!({"trigger": "birthday", "order_id": "G-1"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(
        problem["detail"],
        "trigger does not match the expected shape: unknown variant …, expected one of repeat_purchase, successful_use, social_mention, long_session, referral"
    );
    // Another shop's order is unknown here.
    let other = app.vendor("Other Trigger Shop").await;
    put_funnel(&app, &other, json!({"enabled": true})).await;
    let res = app
        .request(
            Method::POST,
            "/api/v1/triggers",
            Some(&other.sk),
            Some(&json!({"trigger": "referral", "order_id": "G-1"})),
        )
        .await;
    assert_problem(res, StatusCode::NOT_FOUND, "not-found").await;

    let report =
        json(app.request(Method::GET, "/api/v1/reports/funnel", Some(&v.sk), None).await, StatusCode::OK).await;
    assert_eq!(report["by_trigger"][0]["trigger"], "repeat_purchase");
    assert_eq!(report["by_trigger"][0]["invited"], 1);
    // The vendor maturity report reads the funnel: invitations on, no reminders, a trigger.
    let maturity =
        json(app.request(Method::GET, "/api/v1/reports/maturity", Some(&v.sk), None).await, StatusCode::OK).await;
    let met = |code: &str| {
        maturity["criteria"].as_array().unwrap().iter().find(|c| c["code"] == code).unwrap()["met"].clone()
    };
    assert_eq!(
        (met("funnel_prompt"), met("funnel_reminders"), met("triggers")),
        (json!(true), json!(false), json!(true))
    );
}

/// An app sending through the sink at `port` that takes replies and bounces at
/// `reply.reviews.example` (DKIM key of `mail.example` pinned).
async fn inbound_app(port: u16) -> TestApp {
    spawn_app_with(move |s| {
        s.mail.smtp_url = format!("smtp://127.0.0.1:{port}");
        s.mail.from = "Reviews <reviews@shop.example>".into();
        s.mail.inbound_domain = "reply.reviews.example".into();
        s.mail.inbound_secret = "inbound-secret-0123".into();
        s.mail.dkim_records.insert("s1._domainkey.mail.example".into(), dkim_key().1);
        s.public_url = Some("https://reviews.example".into());
    })
    .await
}

/// A sender's DKIM key (Ed25519, selector `s1` of `mail.example`): the signer, and the
/// DNS record the app is given pinned.
fn dkim_key() -> (mail_auth::common::crypto::Ed25519Key, String) {
    use base64::Engine as _;
    let seed = [7u8; 32];
    let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key().to_bytes();
    let key = mail_auth::common::crypto::Ed25519Key::from_seed_and_public_key(&seed, &public).unwrap();
    (key, format!("v=DKIM1; k=ed25519; p={}", base64::engine::general_purpose::STANDARD.encode(public)))
}

/// A reply as the buyer's mail server sends it: DKIM-signed by mail.example when `sign`.
fn reply_mail(from: &str, to: &str, body: &str, sign: bool) -> String {
    use mail_auth::common::headers::HeaderWriter as _;
    let raw = format!(
        "From: Buyer <{from}>\r\nTo: {to}\r\nSubject: Re: How was your order?\r\nMessage-ID: <{}@mail.example>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
        body.len()
    );
    if !sign {
        return raw;
    }
    let signature = mail_auth::dkim::DkimSigner::from_key(dkim_key().0)
        .domain("mail.example")
        .selector("s1")
        .headers(["From", "To", "Subject", "Message-ID"])
        .sign(raw.as_bytes())
        .unwrap();
    format!("{}{raw}", signature.to_header())
}

#[actix_web::test]
async fn a_dkim_signed_reply_from_the_invited_address_becomes_a_verified_review() {
    let (sink, port) = SmtpSink::start().await;
    let app = inbound_app(port).await;
    let v = app.vendor("Reply Shop").await;
    put_funnel(
        &app,
        &v,
        json!({"enabled": true, "invite_delay_days": 0, "delay_from": "purchase", "reminder_delays_days": [],
        "quiet_hours": null}),
    )
    .await;
    let orders = json!([
        {"order_id": "M-1", "email": "ann@mail.example", "customer_name": "Ann Smith", "items": [{"sku": "KETTLE"}], "purchased_at": ago(&app, 2)},
        {"order_id": "M-2", "email": "bob@mail.example", "items": [{"sku": "KETTLE"}, {"sku": "MUG"}], "purchased_at": ago(&app, 2)}
    ]);
    import(&app, &v, &orders).await;
    assert_eq!(drain(&app).await, 2);
    let reply_to = |who: &str| {
        let mail = inbox(&sink).into_iter().find(|(to, _)| to == who).unwrap().1;
        header(&mail, "Reply-To").unwrap().to_owned()
    };
    let (ann, bob) = (reply_to("ann@mail.example"), reply_to("bob@mail.example"));
    assert!(ann.starts_with("<reply+") && ann.ends_with("@reply.reviews.example>"), "{ann}");
    let post = |raw: String, secret: Option<&'static str>| {
        let app = &app;
        async move {
            let mut req =
                app.client.post(app.url("/api/v1/inbound/email")).header("Content-Type", "message/rfc822").body(raw);
            if let Some(s) = secret {
                req = req.basic_auth("mailgun", Some(s));
            }
            req.send().await.unwrap()
        }
    };
    let quoted = "5 Great kettle, boils fast.\r\n\r\nOn Tue, 1 Dec 2026, Reply Shop <reviews@shop.example> wrote:\r\n> How was your order?";
    let good = reply_mail("ann@mail.example", &ann, quoted, true);
    assert_eq!(post(good.clone(), None).await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(post(good.clone(), Some("wrong")).await.status(), StatusCode::UNAUTHORIZED);
    let taken = json(post(good.clone(), Some("inbound-secret-0123")).await, StatusCode::CREATED).await;
    assert_eq!((taken["outcome"].clone(), taken["maturity_level"].clone()), (json!("review"), json!(3)));
    let path = format!("/api/v1/reviews/{}", taken["review_id"].as_str().unwrap());
    let review = json(app.request(Method::GET, &path, Some(&v.sk), None).await, StatusCode::OK).await;
    assert_eq!(review["rating"], 5);
    assert_eq!(review["body"], "Great kettle, boils fast.");
    assert_eq!((review["author"].clone(), review["sku"].clone()), (json!("Ann"), json!("KETTLE")));
    assert_eq!(review["status"], "pending");
    assert_eq!(review["checks"], json!([{"code": "purchase_reply", "label": "Answered the invitation by e-mail"}]));
    // The same reply again: the order's product is reviewed already.
    assert_problem(post(good, Some("inbound-secret-0123")).await, StatusCode::CONFLICT, "conflict").await;

    // A tampered body, an unsigned reply and another sender are refused; nothing recorded.
    let mut tampered = reply_mail("bob@mail.example", &bob, "5 fine", true);
    tampered = tampered.replace("5 fine", "1 awful");
    let unsigned = reply_mail("bob@mail.example", &bob, "1 awful", false);
    for raw in [tampered, unsigned] {
        let problem =
            assert_problem(post(raw, Some("inbound-secret-0123")).await, StatusCode::FORBIDDEN, "forbidden").await;
        assert_eq!(problem["detail"], "the reply's DKIM signature does not verify for mail.example");
    }
    let eve = reply_mail("eve@mail.example", &bob, "1 awful", true);
    let problem =
        assert_problem(post(eve, Some("inbound-secret-0123")).await, StatusCode::FORBIDDEN, "forbidden").await;
    assert_eq!(problem["detail"], "the reply does not come from the invited address");
    let forged = bob.replacen(".", ".0", 1);
    let res = post(reply_mail("bob@mail.example", &forged, "5 ok", true), Some("inbound-secret-0123")).await;
    assert_problem(res, StatusCode::NOT_FOUND, "not-found").await;
    let res = post("not an e-mail".into(), Some("inbound-secret-0123")).await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;

    // No rating: one polite answer with the link, then silence.
    let before = inbox(&sink).len();
    let question = reply_mail("bob@mail.example", &bob, "Where is my refund?", true);
    let answered = json(post(question.clone(), Some("inbound-secret-0123")).await, StatusCode::OK).await;
    assert_eq!(answered["outcome"], "auto_answered");
    let mail = inbox(&sink);
    assert_eq!(mail.len(), before + 1);
    assert_eq!(mail[before].0, "bob@mail.example");
    assert_eq!(header(&mail[before].1, "Subject"), Some("Your reply to Reply Shop"));
    assert!(mail[before].1.contains("reply with a rating from 1 to 5 first, for example \"5 great service\". Or write your review here: https://reviews.example/r/"), "{}", mail[before].1);
    let again = json(post(question, Some("inbound-secret-0123")).await, StatusCode::OK).await;
    assert_eq!(again["outcome"], "ignored");
    assert_eq!(inbox(&sink).len(), before + 1);
    // Bob's rated reply (two products: a review of the shop) is taken.
    let rated = json(
        post(reply_mail("bob@mail.example", &bob, "★★★★ quick", true), Some("inbound-secret-0123")).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(rated["outcome"], "review");
}

#[actix_web::test]
async fn the_inbound_endpoint_is_off_without_a_secret() {
    let app = spawn_app_with(|_| {}).await;
    let res = app
        .client
        .post(app.url("/api/v1/inbound/email"))
        .basic_auth("any", Some(""))
        .body("From: a@b.example\r\n\r\n5")
        .send()
        .await
        .unwrap();
    let problem = assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_eq!(problem["detail"], "inbound e-mail is not set up here (mail.inbound_secret)");
}

#[actix_web::test]
async fn vendor_templates_word_the_invitations_and_bad_ones_are_refused_with_the_line() {
    let (sink, port) = SmtpSink::start().await;
    let app = smtp_app(port).await;
    let v = app.vendor("Wording Shop").await;
    let shipped =
        json(app.request(Method::GET, "/api/v1/funnel/templates", Some(&v.sk), None).await, StatusCode::OK).await;
    assert_eq!(shipped["templates"][0]["locale"], "en");
    assert_eq!(shipped["templates"][0]["custom"], false);
    assert!(shipped["templates"][0]["text"].as_str().unwrap().contains("{{ unsubscribe }}"));
    assert_eq!(shipped["templates"][1]["locale"], "ru");

    let put = |body: Value| {
        let (app, token) = (&app, v.token.clone());
        async move { app.request(Method::PUT, "/api/v1/funnel/templates/en", Some(&token), Some(&body)).await }
    };
    let refused = [
        (json!({"subject": "Hi {{ shop", "text": "{{ page }} {{ unsubscribe }}", "html": null}), "subject does not render: line 1: syntax error (unexpected end of input, expected end of variable block)"),
        (json!({"subject": "Hi", "text": "Review: {{ page }}", "html": null}), "text must include the review link {{ page }} (or the star links) and the unsubscribe link {{ unsubscribe }}"),
        (json!({"subject": "Hi", "text": "{{ page }} {{ unsubscribe }}", "html": "<a href=\"{{ page }}\">x</a>"}), "html must include the review link {{ page }} (or the star links) and the unsubscribe link {{ unsubscribe }}"),
        (json!({"subject": "Hi\u{0003}", "text": "{{ page }} {{ unsubscribe }}", "html": null}), "subject must not contain control characters"),
        (json!({"subject": "Hi", "text": "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}{{ page }} {{ unsubscribe }}", "html": null}), "text does not render: line 1: engine ran out of fuel"),
    ];
    for (body, detail) in refused {
        let problem = assert_problem(put(body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation").await;
        assert_eq!(problem["detail"], detail);
    }
    // A moderator may not change the wording.
    let (_, moderator) = app.add_staff(&v, "moderator").await;
    let body = json!({"subject": "x", "text": "{{ page }} {{ unsubscribe }}", "html": null});
    let res = app.request(Method::PUT, "/api/v1/funnel/templates/en", Some(&moderator), Some(&body)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = app.request(Method::PUT, "/api/v1/funnel/templates/de", Some(&v.token), Some(&body)).await;
    assert_problem(res, StatusCode::NOT_FOUND, "not-found").await;

    let own = json!({
        "subject": "{% if reminder %}Still curious{% else %}Tell us{% endif %}: order {{ order }}",
        "text": "Hi {{ name or 'friend' }}! Rate order {{ order }}: {{ page }}\nStop: {{ unsubscribe }}",
        "html": "<p>Hi {{ name }}</p><a href=\"{{ page }}\">Rate</a> <a href=\"{{ unsubscribe }}\">Stop</a>"
    });
    let saved = json(put(own.clone()).await, StatusCode::OK).await;
    assert_eq!(saved["sample_subject"], "Still curious: order 1001");
    assert_eq!(saved["sample_text"], "Hi Ann! Rate order 1001: https://reviews.example/r/SAMPLE-LINK\nStop: https://reviews.example/u/SAMPLE-OPT-OUT\n");
    let listed =
        json(app.request(Method::GET, "/api/v1/funnel/templates", Some(&v.sk), None).await, StatusCode::OK).await;
    assert_eq!(
        (listed["templates"][0]["custom"].clone(), listed["templates"][0]["subject"].clone()),
        (json!(true), own["subject"].clone())
    );

    // The next invitation uses it, with the buyer's (escaped) name in the HTML part.
    put_funnel(&app, &v, json!({"enabled": true, "invite_delay_days": 0, "delay_from": "purchase", "reminder_delays_days": [], "quiet_hours": null})).await;
    let order = json!([{"order_id": "W-1", "email": "wes@mail.example", "customer_name": "<b>Wes</b>", "items": [{"sku": "TEA"}], "purchased_at": ago(&app, 1)}]);
    import(&app, &v, &order).await;
    assert_eq!(drain(&app).await, 1);
    let mail = inbox(&sink).pop().unwrap().1;
    assert_eq!(header(&mail, "Subject"), Some("Tell us: order W-1"));
    assert!(mail.contains("Hi <b>Wes</b>! Rate order W-1: https://reviews.example/r/"), "{mail}");
    assert!(mail.contains("<p>Hi &lt;b&gt;Wes&lt;&#x2f;b&gt;</p>"), "{mail}");
    assert!(mail.contains("List-Unsubscribe: <https://reviews.example/u/"), "{mail}");

    // Back to the shipped wording.
    let del = || app.request(Method::DELETE, "/api/v1/funnel/templates/en", Some(&v.token), None);
    assert_eq!(del().await.status(), StatusCode::NO_CONTENT);
    assert_problem(del().await, StatusCode::NOT_FOUND, "not-found").await;
    let other = json!([{"order_id": "W-2", "email": "wes2@mail.example", "items": [{"sku": "TEA"}], "purchased_at": ago(&app, 1)}]);
    import(&app, &v, &other).await;
    assert_eq!(drain(&app).await, 1);
    let mail = inbox(&sink).pop().unwrap().1;
    assert_eq!(header(&mail, "Subject"), Some("How was your order from Wording Shop?"));
}

/// A delivery status notification as a receiving mail server sends it (RFC 3464).
fn dsn(to: &str, action: &str, status: &str) -> String {
    format!(
        "From: Mail Delivery Subsystem <mailer-daemon@mx.mail.example>\r\nTo: {to}\r\nSubject: Delivery Status Notification\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\
         --b1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.mail.example\r\n\r\n\
         Final-Recipient: rfc822; ann@mail.example\r\nAction: {action}\r\nStatus: {status}\r\n--b1--\r\n"
    )
}

#[actix_web::test]
async fn a_bounce_notification_to_the_envelope_sender_stops_the_reminders() {
    let (sink, port) = SmtpSink::start().await;
    let app = inbound_app(port).await;
    let v = app.vendor("Bounce Shop").await;
    put_funnel(
        &app,
        &v,
        json!({"enabled": true, "invite_delay_days": 0, "delay_from": "purchase", "reminder_delays_days": [3],
        "quiet_hours": null}),
    )
    .await;
    import(&app, &v, &json!([buyer_order(&app, "B-1", "ann@mail.example")])).await;
    assert_eq!(drain(&app).await, 1);
    // The envelope sender is the invitation's own bounce address.
    let sender = sink.senders.lock().unwrap()[0].clone();
    assert!(sender.starts_with("bounce+") && sender.ends_with("@reply.reviews.example"), "{sender}");
    assert_eq!(header(&inbox(&sink)[0].1, "From"), Some("\"Bounce Shop\" <reviews@shop.example>"));

    let post = |raw: String| {
        let app = &app;
        async move {
            let req = app.client.post(app.url("/api/v1/inbound/email")).basic_auth("mx", Some("inbound-secret-0123"));
            req.header("Content-Type", "message/rfc822").body(raw).send().await.unwrap()
        }
    };
    // A forged tag is unknown; a delay is not a bounce.
    let (local, domain) = sender.split_once('@').unwrap();
    let forged = format!("{}x@{domain}", &local[..local.len() - 1]);
    assert_problem(post(dsn(&forged, "failed", "5.1.1")).await, StatusCode::NOT_FOUND, "not-found").await;
    assert_eq!(json(post(dsn(&sender, "delayed", "4.4.7")).await, StatusCode::OK).await["outcome"], "ignored");
    // A permanent failure bounces the invitation: no reminder goes out.
    assert_eq!(json(post(dsn(&sender, "failed", "5.1.1")).await, StatusCode::OK).await["outcome"], "bounced");
    app.clock.advance(chrono::Duration::days(4));
    drain(&app).await;
    assert_eq!(inbox(&sink).len(), 1, "no reminder after the bounce");
    let token = app.login(&v.email, &v.password).await;
    let report =
        json(app.request(Method::GET, "/api/v1/reports/funnel", Some(&token), None).await, StatusCode::OK).await;
    assert_eq!((report["steps"]["invited"].clone(), report["steps"]["bounced"].clone()), (json!(1), json!(1)));
    let list = json(app.request(Method::GET, "/api/v1/invitations", Some(&token), None).await, StatusCode::OK).await;
    assert_eq!(
        (list["invitations"][0]["state"].clone(), list["invitations"][0]["stopped"].clone()),
        (json!("bounced"), json!("bounced"))
    );
}

/// The invitation page's phone step: a code to the phone on the order turns the review
/// into a verified buyer's (level 5); a wrong code says so, and a check of another
/// invitation is not taken.
#[actix_web::test]
async fn the_invitation_page_confirms_the_buyers_phone_for_a_verified_buyer_review() {
    let (sink, port) = SmtpSink::start().await;
    let app = spawn_app_with(move |s| {
        s.mail.smtp_url = format!("smtp://127.0.0.1:{port}");
        s.public_url = Some("https://reviews.example".into());
        s.demo = true; // codes go to the development outbox
    })
    .await;
    let v = app.vendor("Phone Step Shop").await;
    let orders = json!([
        {"order_id": "P-1", "email": "pia@mail.example", "phone": "+44 7400 123488", "items": [{"sku": "LAMP"}],
         "purchased_at": ago(&app, 3), "delivered_at": ago(&app, 1)},
        {"order_id": "P-2", "email": "quin@mail.example", "items": [{"sku": "LAMP"}],
         "purchased_at": ago(&app, 3), "delivered_at": ago(&app, 1)}
    ]);
    import(&app, &v, &orders).await;
    for order in ["P-1", "P-2"] {
        let res =
            app.request(Method::POST, "/api/v1/invitations", Some(&v.sk), Some(&json!({"order_id": order}))).await;
        assert!(res.status().is_success(), "{}", res.status());
    }
    assert_eq!(drain(&app).await, 2);
    let mail = inbox(&sink);
    let path_of = |to: &str| {
        let m = &mail.iter().find(|(t, _)| t == to).unwrap().1;
        link_of(m).trim_start_matches("https://reviews.example").to_owned()
    };
    let (path, other) = (path_of("pia@mail.example"), path_of("quin@mail.example"));

    // The item came without a name: the page names it as the catalogue does.
    let product = json!({"name": "Oak Lamp"});
    let put = app.request(Method::PUT, "/api/v1/products/LAMP", Some(&v.sk), Some(&product)).await;
    assert!(put.status().is_success(), "{}", put.status());
    // Offered where the order has a phone, not where it has none.
    let page = app.get(&format!("{path}?rating=5")).await.text().await.unwrap();
    assert!(page.contains("<p>Oak Lamp</p>"), "{page}");
    assert!(page.contains("we text a code to the phone on your order, •••• 88."), "{page}");
    let none = app.get(&format!("{other}?rating=5")).await.text().await.unwrap();
    assert!(!none.contains("Text me a code"), "{none}");
    let res = app.client.post(app.url(&format!("{other}/phone"))).form(&[("rating", "5")]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);

    // "Text me a code": the code page carries the check.
    let res = app.client.post(app.url(&format!("{path}/phone"))).form(&[("rating", "5")]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert!(page.contains("<h1>Enter the code</h1>") && page.contains("•••• 88"), "{page}");
    let at = page.find("name=\"phone_check\" value=\"").unwrap() + "name=\"phone_check\" value=\"".len();
    let check = page[at..at + page[at..].find('"').unwrap()].to_owned();
    let code = crate::kyc_phone::outbox_code(&app, &v.id).await;

    // A wrong code: the page again, saying why (422).
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let form = [("phone_check", check.as_str()), ("code", wrong), ("rating", "5")];
    let res = app.client.post(app.url(&format!("{path}/phone/verify"))).form(&form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("<p class=\"error\" role=\"alert\">This code is not the code sent to this phone; 4 tries left."),
        "{page}"
    );
    // The check belongs to its invitation: another invitation's page does not take it.
    let form = [("phone_check", check.as_str()), ("code", code.as_str()), ("rating", "5")];
    let res = app.client.post(app.url(&format!("{other}/phone/verify"))).form(&form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // The right code: the review form, phone confirmed, the rating kept.
    let res = app.client.post(app.url(&format!("{path}/phone/verify"))).form(&form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    assert!(page.contains("✓ Phone confirmed") && page.contains("value=\"5\" required checked"), "{page}");
    let other_form = [("rating", "4"), ("phone_check", check.as_str())];
    let res = app.client.post(app.url(&other)).form(&other_form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND, "another invitation's review cannot use the check");

    // Sent with the check: a verified buyer's review, level 5.
    let res =
        app.client.post(app.url(&path)).form(&[("rating", "5"), ("phone_check", check.as_str())]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert!(res.text().await.unwrap().contains("It will be shown at level 5"));
    let queue = json(app.request(Method::GET, "/api/v1/reviews", Some(&v.sk), None).await, StatusCode::OK).await;
    let review = queue["reviews"].as_array().unwrap().iter().find(|r| r["rating"] == 5).unwrap().clone();
    assert_eq!(review["maturity_level"], json!(5));
    let codes: Vec<&str> = review["checks"].as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["identity_phone", "purchase_invitation", "verified_buyer"]);
}

#[actix_web::test]
async fn an_invitation_for_a_russian_order_opens_a_russian_page_that_only_the_shop_may_frame() {
    let app = spawn_app_with(|_| {}).await;
    let v = app.vendor("Russian Page").await;
    let orders = json!([{"order_id": "RU-1", "email": "ivan@mail.example", "items": [{"sku": "LAMP", "name": "Лампа"}],
        "purchased_at": ago(&app, 2), "locale": "ru-RU"}]);
    import(&app, &v, &orders).await;
    let res = app.request(Method::POST, "/api/v1/invitations", Some(&v.sk), Some(&json!({"order_id": "RU-1"}))).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    assert_eq!(drain(&app).await, 1);
    let outbox = json(app.request(Method::GET, "/api/v1/dev/outbox", Some(&v.token), None).await, StatusCode::OK).await;
    let mail = readable(outbox["messages"][0]["body"].as_str().unwrap());
    // The base: the e-mail (the text part) links to the hosted page, here on the test's server.
    let start = mail.find("/r/").expect("a link to the hosted page");
    let path: String = mail[start..].chars().take_while(|c| !c.is_whitespace() && !"\"<?".contains(*c)).collect();
    let page = app.url(&path);
    let res = app.client.get(&page).header("accept-language", "en").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["content-security-policy"],
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; frame-ancestors https://russian-page.example"
    );
    let html = res.text().await.unwrap();
    assert!(html.starts_with("<!doctype html><html lang=\"ru\">"), "the order's language wins over the browser's");
    assert!(html.contains("<h1>Отзыв о заказе RU-1 в магазине Russian Page</h1><p>Лампа</p>"), "{html}");
    // The product goes with the review form (the page's last form), so a browser sends it.
    let form = &html[html.rfind("<form").unwrap()..];
    assert!(form.contains("<input type=\"hidden\" name=\"sku\" value=\"LAMP\">"), "{form}");
    // A refusal is told in the page's language too, the field by its label.
    let long = "д".repeat(121);
    let res = app.client.post(&page).form(&[("rating", "5"), ("title", long.as_str())]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused = res.text().await.unwrap();
    assert!(refused.starts_with("<!doctype html><html lang=\"ru\">"), "{refused}");
    assert!(refused.contains("<p>Заголовок: не длиннее 120 символов</p>"), "{refused}");
    let res =
        app.client.post(&page).form(&[("sku", "LAMP"), ("rating", "5"), ("title", "Отлично")]).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("<h1>Спасибо за отзыв</h1><p>Он будет показан с уровнем 3, когда магазин его опубликует.</p>"));
    let queue = json(app.request(Method::GET, "/api/v1/reviews", Some(&v.sk), None).await, StatusCode::OK).await;
    assert_eq!(
        (
            queue["reviews"][0]["locale"].clone(),
            queue["reviews"][0]["title"].clone(),
            queue["reviews"][0]["sku"].clone()
        ),
        (json!("ru"), json!("Отлично"), json!("LAMP"))
    );

    // The unsubscribe page speaks the order's language as well, before and after.
    let start = mail.find("/u/").expect("an unsubscribe link");
    let path: String = mail[start..].chars().take_while(|c| !c.is_whitespace() && !"\"<?>".contains(*c)).collect();
    let res = app.client.get(app.url(&path)).header("accept-language", "en").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.starts_with("<!doctype html><html lang=\"ru\">"), "{html}");
    assert!(html.contains("<h1>Больше не получать просьбы об отзыве от Russian Page?</h1>"), "{html}");
    assert!(html.contains("<button type=\"submit\">Отписаться</button>"), "{html}");
    let res = app.client.post(app.url(&path)).header("accept-language", "en").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("<h1>Вы отписались</h1><p>Russian Page больше не будет присылать вам просьбы об отзыве.</p>"));
    // A link that is not one of ours: the browser's language.
    let res = app.client.get(app.url("/u/not-a-token")).header("accept-language", "ru").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("<h1>Не удалось отписаться</h1><p>Ссылка неверна или больше не действует.</p>"));
}
