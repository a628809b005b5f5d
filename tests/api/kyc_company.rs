//! Verified company (B2B): a code to a work e-mail, sent over real SMTP to a local sink.

use std::sync::{Arc, Mutex};

use reqwest::StatusCode;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::helpers::{assert_problem, json, spawn_app, spawn_app_with, TestApp};

/// A minimal SMTP server that accepts every message and keeps (recipient, data), or, while
/// `refuse` holds a reply line (`451 …`, `550 …`), answers every recipient with it.
#[derive(Clone, Default)]
pub struct SmtpSink {
    pub received: Arc<Mutex<Vec<(String, String)>>>,
    /// Each message's envelope sender (`MAIL FROM`).
    pub senders: Arc<Mutex<Vec<String>>>,
    pub refuse: Arc<Mutex<Option<&'static str>>>,
    /// Milliseconds to wait before accepting each message (a slow server).
    pub delay_ms: Arc<std::sync::atomic::AtomicU64>,
}

impl SmtpSink {
    pub async fn start() -> (SmtpSink, u16) {
        let sink = SmtpSink::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (kept, refuse, delay) = (sink.received.clone(), sink.refuse.clone(), sink.delay_ms.clone());
        let senders = sink.senders.clone();
        actix_web::rt::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (kept, refuse, delay, senders) = (kept.clone(), refuse.clone(), delay.clone(), senders.clone());
                actix_web::rt::spawn(async move {
                    let _ = stream.set_nodelay(true);
                    let (read, mut write) = stream.into_split();
                    let mut lines = BufReader::new(read).lines();
                    let _ = write.write_all(b"220 sink ESMTP\r\n").await;
                    let (mut rcpt, mut data, mut in_data) = (String::new(), String::new(), false);
                    while let Ok(Some(line)) = lines.next_line().await {
                        if in_data {
                            if line == "." {
                                in_data = false;
                                let wait = delay.load(std::sync::atomic::Ordering::SeqCst);
                                if wait > 0 {
                                    tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
                                }
                                kept.lock().unwrap().push((rcpt.clone(), std::mem::take(&mut data)));
                                let _ = write.write_all(b"250 queued\r\n").await;
                            } else {
                                // RFC 5321 §4.5.2: a leading dot was doubled by the client.
                                data.push_str(line.strip_prefix('.').unwrap_or(&line));
                                data.push('\n');
                            }
                            continue;
                        }
                        let upper = line.to_ascii_uppercase();
                        let refused = refuse.lock().unwrap().map(|r| format!("{r}\r\n"));
                        if upper.starts_with("MAIL FROM:") {
                            let from = line[10..].split_whitespace().next().unwrap_or("");
                            senders.lock().unwrap().push(from.trim_matches(['<', '>']).to_owned());
                        }
                        let reply: &[u8] = if upper.starts_with("EHLO") {
                            b"250-sink\r\n250 8BITMIME\r\n"
                        } else if upper.starts_with("RCPT TO:") {
                            rcpt = line[8..].trim().trim_matches(['<', '>']).to_owned();
                            refused.as_deref().map(str::as_bytes).unwrap_or(b"250 ok\r\n")
                        } else if upper.starts_with("DATA") {
                            in_data = true;
                            b"354 go on\r\n"
                        } else if upper.starts_with("QUIT") {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        } else {
                            b"250 ok\r\n"
                        };
                        let _ = write.write_all(reply).await;
                    }
                });
            }
        });
        (sink, port)
    }
}

async fn start(app: &TestApp, flow: &str, email: &str, extra: serde_json::Value) -> reqwest::Response {
    let mut body = json!({"flow_token": flow, "work_email": email});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    app.post("/api/v1/public/kyc/company/start", &body).await
}

async fn verify(app: &TestApp, flow: &str, email: &str, code: &str) -> reqwest::Response {
    app.post("/api/v1/public/kyc/company/verify", &json!({"flow_token": flow, "work_email": email, "code": code})).await
}

#[actix_web::test]
async fn a_work_email_code_over_smtp_verifies_the_company() {
    let (sink, port) = SmtpSink::start().await;
    let app = spawn_app_with(move |s| {
        s.mail.smtp_url = format!("smtp://127.0.0.1:{port}");
        s.mail.from = "Reviews <reviews@shop.example>".into();
    })
    .await;
    let v = app.vendor("B2B Shop").await;
    let flow = app.flow(&v, Some("ERP")).await;

    let extra = json!({"company": "Acme Ltd", "role": "Head of purchasing", "size": "51-250"});
    let res = start(&app, &flow, "Jane.Doe@Acme.example", extra).await;
    assert_eq!(json(res, StatusCode::ACCEPTED).await, json!({"sent": true, "resend_after_secs": 60}));
    let mail = sink.received.lock().unwrap().clone();
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].0, "jane.doe@acme.example");
    assert!(mail[0].1.contains("From: Reviews <reviews@shop.example>"), "{}", mail[0].1);
    assert!(mail[0].1.contains("Subject: Your code to confirm where you work"), "{}", mail[0].1);
    let code = mail[0]
        .1
        .lines()
        .find_map(|l| l.split_whitespace().next().filter(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit())))
        .expect("the code is in the message")
        .to_owned();

    // A wrong code, then the right one.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let problem = assert_problem(
        verify(&app, &flow, "jane.doe@acme.example", wrong).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(problem["detail"], "code is not the code sent to this e-mail address; 4 tries left");
    let res = verify(&app, &flow, "jane.doe@acme.example", &code).await;
    let body = json(res, StatusCode::OK).await;
    assert_eq!(
        body["checks"],
        json!([
            {"code": "company_work_email", "label": "Works at acme.example (work e-mail verified)"},
            {"code": "anonymous", "label": "Anonymous"}
        ])
    );
    // Used once.
    let problem = assert_problem(
        verify(&app, &flow, "jane.doe@acme.example", &code).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(problem["detail"], "code is no longer valid (expired, used or tried too often): ask for a new code");

    // The review carries the check; readers see the domain, never the address.
    let review =
        json(app.submit(&flow, 4, json!({"title": "Solid", "body": "Does the job."})).await, StatusCode::CREATED).await;
    let codes: Vec<&str> = review["checks"].as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["company_work_email", "self_declared"]);
    assert!(!review.to_string().contains("jane.doe"));
}

#[actix_web::test]
async fn free_mail_never_proves_a_company_and_the_outbox_keeps_codes_without_smtp() {
    let app = spawn_app().await;
    let v = app.vendor("B2B Outbox").await;
    let flow = app.flow(&v, None).await;
    for free in ["someone@gmail.com", "a@yahoo.co.uk", "b@mail.ru"] {
        let problem =
            assert_problem(start(&app, &flow, free, json!({})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation")
                .await;
        let domain = free.split('@').nth(1).unwrap();
        assert_eq!(
            problem["detail"],
            format!("work_email is at {domain}, a free-mail provider: give your e-mail at the company")
        );
    }
    let problem = assert_problem(
        start(&app, &flow, "not an address", json!({})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(problem["detail"], "work_email is not a valid e-mail address");
    let problem = assert_problem(
        start(&app, &flow, "x@acme.example", json!({"size": "huge"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(
        problem["detail"],
        "size does not match the expected shape: unknown variant …, expected one of 1-10, 11-50, 51-250, 251-1000, 1001+"
    );

    // No SMTP server configured: the code goes to the owner's development outbox.
    assert_eq!(start(&app, &flow, "x@acme.example", json!({})).await.status(), StatusCode::ACCEPTED);
    let outbox =
        json(app.request(reqwest::Method::GET, "/api/v1/dev/outbox", Some(&v.token), None).await, StatusCode::OK).await;
    assert_eq!(outbox["messages"][0]["to"], "x@acme.example");
    let code = outbox["messages"][0]["body"].as_str().unwrap()[..6].to_owned();
    // Another address than the one the code went to: refused.
    let problem = assert_problem(
        verify(&app, &flow, "y@acme.example", &code).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation",
    )
    .await;
    assert_eq!(problem["detail"], "code is not the code sent to this e-mail address; 4 tries left");
    assert_eq!(verify(&app, &flow, "x@acme.example", &code).await.status(), StatusCode::OK);
    // The resend cooldown is shared with the phone rules: 60 s.
    assert_eq!(start(&app, &flow, "x@acme.example", json!({})).await.status(), StatusCode::TOO_MANY_REQUESTS);
}
