//! The durable job queue: backoff with jitter, dead letters and retry by hand, leases that
//! lapse, graceful release, idempotent enqueue, and concurrent workers on one database.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use reqwest::{Method, StatusCode};
use serde_json::json;
use truview::core::Core;
use truview::funnel::queue::{self, JobHandler, NewJob, Ran, RunReport};

/// The default `job_lease_secs`, in ms.
const LEASE_MS: i64 = 300_000;
use truview::store::jobs::Job;

use crate::helpers::{assert_problem, json, spawn_app, TestApp, Vendor};

/// Fails the first `failures` runs of every job, then succeeds; counts runs per job.
struct Scripted {
    failures: usize,
    runs: Mutex<HashMap<String, usize>>,
}

impl Scripted {
    fn new(failures: usize) -> Arc<Scripted> {
        Arc::new(Scripted { failures, runs: Mutex::new(HashMap::new()) })
    }

    fn runs(&self, id: &str) -> usize {
        self.runs.lock().unwrap().get(id).copied().unwrap_or(0)
    }
}

impl JobHandler for Scripted {
    fn run<'a>(&'a self, _core: &'a Core, job: &'a Job) -> BoxFuture<'a, Result<Ran, String>> {
        Box::pin(async move {
            let n = {
                let mut runs = self.runs.lock().unwrap();
                let n = runs.entry(job.id.clone()).or_default();
                *n += 1;
                *n
            };
            if n <= self.failures {
                Err(format!("451 mailbox busy (run {n})"))
            } else {
                Ok(Ran::Done)
            }
        })
    }
}

async fn enqueue(
    app: &TestApp,
    vendor: Option<&Vendor>,
    name: &str,
    key: Option<&str>,
    max_attempts: i32,
) -> (Job, bool) {
    let row = queue::job_row(
        &app.state,
        NewJob {
            vendor_id: vendor.map(|v| v.id.clone()),
            name: name.into(),
            payload: json!({"order": "A-1"}),
            idempotency_key: key.map(str::to_owned),
            priority: 0,
            run_at: None,
            max_attempts: Some(max_attempts),
        },
    );
    let job = row.clone();
    let queued = app.state.db.write(move |conn| truview::store::jobs::enqueue(conn, &row)).await.unwrap();
    (job, queued)
}

async fn stored(app: &TestApp, id: &str) -> Job {
    let id = id.to_owned();
    app.state.db.run(move |conn| truview::store::jobs::get(conn, &id)).await.unwrap().expect("job exists")
}

fn now(app: &TestApp) -> i64 {
    truview::clock::Clock::now_ms(app.clock.as_ref())
}

fn report(claimed: usize, done: usize, retried: usize, dead: usize) -> RunReport {
    RunReport { claimed, done, retried, dead, lost: 0, deferred: 0 }
}

#[actix_web::test]
async fn failures_back_off_then_die_and_staff_retry_them() {
    let app = spawn_app().await;
    let v = app.vendor("Jobs").await;
    let handler = Scripted::new(3);
    app.state.jobs.register("test.send", handler.clone());
    let (job, _) = enqueue(&app, Some(&v), "test.send", None, 3).await;

    // Attempt 1 fails: back in the queue 15–30 s later (30 s window, equal jitter).
    let t0 = now(&app);
    assert_eq!(queue::run_due(&app.state, "w1").await.unwrap(), report(1, 0, 1, 0));
    let after1 = stored(&app, &job.id).await;
    assert_eq!((after1.state.as_str(), after1.attempts), ("queued", 1));
    assert!((t0 + 15_000..t0 + 30_000).contains(&after1.run_at), "{}", after1.run_at - t0);
    assert_eq!(after1.last_error.as_deref(), Some("451 mailbox busy (run 1)"));
    // Not due yet: nothing runs.
    assert_eq!(queue::run_due(&app.state, "w1").await.unwrap(), report(0, 0, 0, 0));
    // Attempt 2 fails: 30–60 s.
    app.clock.advance(chrono::Duration::seconds(30));
    let t1 = now(&app);
    assert_eq!(queue::run_due(&app.state, "w1").await.unwrap(), report(1, 0, 1, 0));
    let after2 = stored(&app, &job.id).await;
    assert!((t1 + 30_000..t1 + 60_000).contains(&after2.run_at), "{}", after2.run_at - t1);
    // Attempt 3 was the last: dead.
    app.clock.advance(chrono::Duration::seconds(60));
    assert_eq!(queue::run_due(&app.state, "w1").await.unwrap(), report(1, 0, 0, 1));
    assert_eq!(handler.runs(&job.id), 3);

    // The console's dead-letter list, then a retry by the owner.
    let token = app.login(&v.email, &v.password).await;
    let dead =
        json(app.request(Method::GET, "/api/v1/jobs?state=dead", Some(&token), None).await, StatusCode::OK).await;
    assert_eq!(dead["jobs"].as_array().unwrap().len(), 1);
    let view = &dead["jobs"][0];
    assert_eq!(view["id"], json!(job.id));
    assert_eq!(view["name"], json!("test.send"));
    assert_eq!(
        (view["state"].clone(), view["attempts"].clone(), view["max_attempts"].clone()),
        (json!("dead"), json!(3), json!(3))
    );
    assert_eq!(view["last_error"], json!("451 mailbox busy (run 3)"));
    assert!(view.get("payload").is_none(), "payloads may hold contacts: {view}");
    assert_eq!(json(app.request(Method::GET, "/api/v1/jobs", Some(&token), None).await, StatusCode::OK).await, dead);

    let path = format!("/api/v1/jobs/{}/retry", job.id);
    let retried = json(app.request(Method::POST, &path, Some(&token), None).await, StatusCode::OK).await;
    assert_eq!((retried["state"].clone(), retried["attempts"].clone()), (json!("queued"), json!(0)));
    assert_problem(app.request(Method::POST, &path, Some(&token), None).await, StatusCode::CONFLICT, "conflict").await;
    assert_eq!(queue::run_due(&app.state, "w2").await.unwrap(), report(1, 1, 0, 0));
    let done =
        json(app.request(Method::GET, "/api/v1/jobs?state=done", Some(&token), None).await, StatusCode::OK).await;
    assert_eq!(done["jobs"][0]["id"], json!(job.id));
    let audit = json(app.request(Method::GET, "/api/v1/audit", Some(&token), None).await, StatusCode::OK).await;
    assert!(audit.to_string().contains("job.retried"), "{audit}");

    // Another vendor sees none of it and cannot retry it; bad input is 400.
    let other = app.vendor("Other Jobs").await;
    let theirs =
        json(app.request(Method::GET, "/api/v1/jobs?state=done", Some(&other.token), None).await, StatusCode::OK).await;
    assert_eq!(theirs, json!({"jobs": [], "next_cursor": null}));
    assert_problem(
        app.request(Method::POST, &path, Some(&other.token), None).await,
        StatusCode::NOT_FOUND,
        "not-found",
    )
    .await;
    for bad in ["?state=zombie", "?limit=0", "?limit=101", "?cursor=%00"] {
        let res = app.request(Method::GET, &format!("/api/v1/jobs{bad}"), Some(&token), None).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[actix_web::test]
async fn a_lapsed_lease_is_claimed_again_and_the_late_acknowledgement_is_refused() {
    let app = spawn_app().await;
    let handler = Scripted::new(0);
    app.state.jobs.register("test.ok", handler.clone());
    let (job, _) = enqueue(&app, None, "test.ok", None, 5).await;
    // Worker A claims and dies (never acknowledges).
    let t = now(&app);
    let claimed =
        app.state.db.write(move |conn| truview::store::jobs::claim(conn, "A", t, t + LEASE_MS, 10)).await.unwrap();
    assert_eq!(claimed.len(), 1);
    // While A's lease holds, B finds nothing.
    assert_eq!(queue::run_due(&app.state, "B").await.unwrap(), report(0, 0, 0, 0));
    app.clock.advance(chrono::Duration::milliseconds(LEASE_MS + 1));
    assert_eq!(queue::run_due(&app.state, "B").await.unwrap(), report(1, 1, 0, 0));
    assert_eq!(stored(&app, &job.id).await.attempts, 2);
    let (id, t) = (job.id.clone(), now(&app));
    let late = app.state.db.write(move |conn| truview::store::jobs::complete(conn, &id, "A", t)).await.unwrap();
    assert!(!late, "A lost its lease");
    assert_eq!(handler.runs(&job.id), 1);
}

#[actix_web::test]
async fn a_stopping_worker_hands_its_jobs_back_and_keys_queue_once() {
    let app = spawn_app().await;
    app.state.jobs.register("test.ok", Scripted::new(0));
    let (job, queued) = enqueue(&app, None, "test.ok", Some("invite:order-1"), 5).await;
    assert!(queued);
    let (_, again) = enqueue(&app, None, "test.ok", Some("invite:order-1"), 5).await;
    assert!(!again, "the same idempotency key queues one job");
    let t = now(&app);
    app.state.db.write(move |conn| truview::store::jobs::claim(conn, "A", t, t + LEASE_MS, 10)).await.unwrap();
    assert_eq!(queue::release(&app.state, "A").await.unwrap(), 1);
    let back = stored(&app, &job.id).await;
    assert_eq!((back.state.as_str(), back.attempts, back.lease_owner), ("queued", 0, None));
    // Runs at once elsewhere; a job nobody handles fails with a clear reason.
    assert_eq!(queue::run_due(&app.state, "B").await.unwrap(), report(1, 1, 0, 0));
    let (orphan, _) = enqueue(&app, None, "test.unknown", None, 5).await;
    assert_eq!(queue::run_due(&app.state, "B").await.unwrap(), report(1, 0, 1, 0));
    assert_eq!(stored(&app, &orphan.id).await.last_error.as_deref(), Some("no handler for jobs named test.unknown"));
}

/// Four workers drain 200 jobs at once: every job runs exactly once (PostgreSQL: SKIP
/// LOCKED claims; SQLite: claims serialised by the write lock).
#[actix_web::test]
async fn concurrent_workers_run_each_job_exactly_once() {
    let app = spawn_app().await;
    let handler = Scripted::new(0);
    app.state.jobs.register("test.count", handler.clone());
    let mut ids = Vec::new();
    for _ in 0..200 {
        ids.push(enqueue(&app, None, "test.count", None, 5).await.0.id);
    }
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let state = app.state.clone();
            actix_web::rt::spawn(async move { queue::drain(&state, &format!("w{w}")).await.unwrap() })
        })
        .collect();
    let mut done = 0;
    for w in workers {
        let r = w.await.unwrap();
        assert_eq!(r.lost, 0);
        done += r.done;
    }
    assert_eq!(done, 200);
    assert!(ids.iter().all(|id| handler.runs(id) == 1), "a job ran twice or never");
    println!("job_queue: 200 jobs, 4 concurrent workers, each job run once");
}
