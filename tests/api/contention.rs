//! T23: 32 writers × 1,000 write transactions on SQLite → 0 5xx, 0 "database is locked".

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{spawn_app_with, TestDb};

const WRITERS: usize = 32;
const TRANSACTIONS: usize = 1000;

/// Always on SQLite (the single-writer backend): 32 concurrent clients each open 1,000
/// review flows over HTTP (`POST /api/v1/public/flows`: key lookup, vendor read, then one
/// `BEGIN IMMEDIATE` write transaction in `reviews::open_flow`) against one spawned app.
#[actix_web::test]
async fn t23_sqlite_contention() {
    let sqlite = TestDb::sqlite();
    let app = spawn_app_with(|s| {
        s.database_url = sqlite.url.clone();
        s.key_file = Some(sqlite.dir.path().join("truview.keys.json"));
        s.rate_limit_per_ip = 10_000_000;
        s.rate_limit_per_key = 10_000_000;
        s.rate_limit_per_vendor_public = 10_000_000;
    })
    .await;
    assert!(app.settings.database_url.ends_with(".db"), "T23 runs on SQLite");
    let vendor = app.vendor("Contended").await;
    let (ok, server_errors, locked, other) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    let started = std::time::Instant::now();
    let writers: Vec<_> = (0..WRITERS)
        .map(|_| {
            let (client, url, pk) = (app.client.clone(), app.url("/api/v1/public/flows"), vendor.pk.clone());
            let (ok, server_errors, locked, other) = (ok.clone(), server_errors.clone(), locked.clone(), other.clone());
            actix_web::rt::spawn(async move {
                for _ in 0..TRANSACTIONS {
                    match client.post(&url).json(&json!({"key": pk})).send().await {
                        Ok(res) => {
                            let status = res.status();
                            let body = res.text().await.unwrap_or_default();
                            if body.contains("database is locked") {
                                locked.fetch_add(1, Ordering::Relaxed);
                            }
                            if status == StatusCode::CREATED {
                                ok.fetch_add(1, Ordering::Relaxed);
                            } else if status.is_server_error() {
                                server_errors.fetch_add(1, Ordering::Relaxed);
                            } else {
                                other.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Err(e) => {
                            if e.to_string().contains("database is locked") {
                                locked.fetch_add(1, Ordering::Relaxed);
                            }
                            other.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    let (ok, server_errors, locked, other) = (
        ok.load(Ordering::Relaxed),
        server_errors.load(Ordering::Relaxed),
        locked.load(Ordering::Relaxed),
        other.load(Ordering::Relaxed),
    );
    println!(
        "t23_sqlite_contention: {WRITERS} writers x {TRANSACTIONS} transactions, {ok} ok, {server_errors} 5xx, {locked} locked, {secs:.1} s"
    );
    assert_eq!((server_errors, locked, other), (0, 0, 0));
    assert_eq!(ok, WRITERS * TRANSACTIONS);
    // Every transaction committed: one flow row each.
    let flows: i64 = app
        .state
        .core
        .db
        .run(|conn| {
            use diesel::prelude::*;
            Ok(truview::db::schema::flows::table.count().get_result(conn)?)
        })
        .await
        .unwrap();
    assert_eq!(flows, (WRITERS * TRANSACTIONS) as i64);
}
