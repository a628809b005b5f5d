//! T21 shutdown: SIGTERM to `truview serve` under load behind a load balancer's health check
//! — the node drains (`/ready` answers 503 while it still serves), the balancer takes it out
//! of rotation, not one request fails, the process exits cleanly, and the jobs its
//! in-process worker had claimed (invitations stuck on a slow mail server) are handed back,
//! not left to a lease.

use std::error::Error as _;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{free_port, spawn_app, TestApp};
use crate::kyc_company::SmtpSink;

fn serve(app: &TestApp, port: u16, smtp_port: u16) -> Child {
    app.truview_command(&["serve"], smtp_port)
        .env("TRUVIEW_BIND", format!("127.0.0.1:{port}"))
        .env("TRUVIEW_SHUTDOWN_DRAIN_SECS", "2")
        .spawn()
        .expect("the truview binary starts")
}

async fn job_states(app: &TestApp, vendor: &str) -> Vec<(String, i32, Option<String>)> {
    use diesel::prelude::*;
    use truview::db::schema::jobs;
    let vendor = vendor.to_owned();
    app.state
        .db
        .run(move |conn| {
            Ok(jobs::table
                .filter(jobs::vendor_id.eq(&vendor))
                .select((jobs::state, jobs::attempts, jobs::lease_owner))
                .load(conn)?)
        })
        .await
        .unwrap()
}

#[actix_web::test]
async fn t21_sigterm_under_load_answers_every_accepted_request_and_hands_jobs_back() {
    let (sink, smtp_port) = SmtpSink::start().await;
    sink.delay_ms.store(60_000, Ordering::SeqCst);
    let app = spawn_app().await;
    let v = app.vendor("T21 Shop").await;
    let on = json!({"enabled": true, "invite_delay_days": 0, "delay_from": "purchase", "reminder_delays_days": [], "quiet_hours": null});
    assert_eq!(app.request(Method::PUT, "/api/v1/funnel", Some(&v.token), Some(&on)).await.status(), StatusCode::OK);
    let orders: Vec<_> = (0..5)
        .map(|i| json!({"order_id": format!("S-{i}"), "email": format!("s{i}@mail.example"), "items": [{"sku": "TEA"}], "purchased_at": "2026-11-20T10:00:00Z"}))
        .collect();
    let res = app.client.post(app.url("/api/v1/orders")).bearer_auth(&v.sk).json(&orders).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let port = free_port();
    let mut child = serve(&app, port, smtp_port);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !client.get(format!("{base}/health")).send().await.is_ok_and(|r| r.status().is_success()) {
        assert!(Instant::now() < deadline, "serve did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Its worker claims the invitations; the mail server holds every message for a minute.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !job_states(&app, &v.id).await.iter().any(|(state, _, _)| state == "running") {
        assert!(Instant::now() < deadline, "the worker did not claim the jobs");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A load balancer's health check: `/ready` every 50 ms, the node out of rotation at the
    // first answer that is not 200.
    let in_rotation = Arc::new(AtomicBool::new(true));
    let balancer = {
        let (base, in_rotation) = (base.clone(), in_rotation.clone());
        actix_web::rt::spawn(async move {
            let client = reqwest::Client::new();
            loop {
                let ok = client.get(format!("{base}/ready")).send().await.is_ok_and(|r| r.status().is_success());
                if !ok {
                    in_rotation.store(false, Ordering::SeqCst);
                    return Instant::now();
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    // Load: 16 clients reading the widget, without pause, while the node is in rotation.
    let (answered, failed, refused) =
        (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let stop = Instant::now() + Duration::from_secs(6);
    let mut clients = Vec::new();
    for n in 0..16 {
        let (base, pk, in_rotation) = (base.clone(), v.pk.clone(), in_rotation.clone());
        let (answered, failed, refused) = (answered.clone(), failed.clone(), refused.clone());
        clients.push(actix_web::rt::spawn(async move {
            let client = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
            while Instant::now() < stop && in_rotation.load(Ordering::SeqCst) {
                let req = if n % 2 == 0 {
                    client.get(format!("{base}/api/v1/public/{pk}/summary"))
                } else {
                    client.get(format!("{base}/api/v1/public/{pk}/reviews"))
                };
                match req.send().await {
                    Ok(res) if res.status().is_success() || res.status() == StatusCode::TOO_MANY_REQUESTS => {
                        // The whole answer, or the test fails: nothing is cut off.
                        res.bytes().await.expect("a whole answer");
                        answered.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(res) => panic!("an accepted request failed: {}", res.status()),
                    // Connection refused: the server no longer accepted it.
                    Err(e) if e.is_connect() => {
                        refused.fetch_add(1, Ordering::SeqCst);
                    }
                    // No answer at all: the request raced the listener's close.
                    Err(e) => {
                        eprintln!("T21 unanswered: {}", e.source().map(|s| format!("{s:?}")).unwrap_or_default());
                        failed.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let signalled = Instant::now();
    let before_signal = answered.load(Ordering::SeqCst);
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let out_at = balancer.await.unwrap();
    for c in clients {
        c.await.unwrap();
    }
    let exit = child.wait().unwrap();
    let exited = signalled.elapsed();
    eprintln!(
        "T21: {} answered ({} after the signal), {} refused, {} unanswered; out of rotation after {} ms, exit after {} ms: {exit}",
        answered.load(Ordering::SeqCst),
        answered.load(Ordering::SeqCst) - before_signal,
        refused.load(Ordering::SeqCst),
        failed.load(Ordering::SeqCst),
        (out_at - signalled).as_millis(),
        exited.as_millis()
    );
    assert!(exit.success(), "serve exits cleanly on SIGTERM: {exit}");
    // Every answer was whole and successful (a 5xx or a cut-off body panics above), and not
    // one request failed: the node left the rotation while it still served, then closed.
    assert_eq!((failed.load(Ordering::SeqCst), refused.load(Ordering::SeqCst)), (0, 0));
    assert!(before_signal > 100, "the load ran");
    assert!(out_at - signalled < Duration::from_secs(1), "/ready answered 503 at once");
    assert!(exited >= Duration::from_secs(2), "it served through the 2 s drain: {exited:?}");
    // The claimed jobs were handed back at once: queued, attempt not counted, no lease.
    let states = job_states(&app, &v.id).await;
    assert_eq!(states.len(), 5);
    assert!(
        states.iter().all(|(state, attempts, owner)| state == "queued" && *attempts == 0 && owner.is_none()),
        "{states:?}"
    );
}
