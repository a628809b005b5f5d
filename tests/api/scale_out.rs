//! Scale-out on PostgreSQL: two stateless `truview serve --no-worker` nodes and two
//! `truview worker` processes on one database. 10,000 orders imported through one node, the
//! funnel turned on through the other: every invitation is delivered exactly once (no crash,
//! so no lease lapses), both workers take part, and both nodes report the same.
//! Runs in the PostgreSQL pass (SQLite is one process by design).

use std::collections::{HashMap, HashSet};
use std::process::Child;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{free_port, spawn_app, TestApp};
use crate::kyc_company::SmtpSink;

const ORDERS: usize = 10_000;

fn truview(app: &TestApp, args: &[&str], smtp_port: u16, bind: Option<u16>) -> Child {
    let mut cmd = app.truview_command(args, smtp_port);
    if let Some(port) = bind {
        cmd.env("TRUVIEW_BIND", format!("127.0.0.1:{port}"));
    }
    cmd.spawn().expect("the truview binary starts")
}

/// Deliveries per Message-ID.
fn delivered(sink: &SmtpSink) -> HashMap<String, usize> {
    let mut seen = HashMap::new();
    for (_, data) in sink.received.lock().unwrap().iter() {
        let id = data.lines().find_map(|l| l.strip_prefix("Message-ID: ")).expect("a Message-ID").to_owned();
        *seen.entry(id).or_default() += 1;
    }
    seen
}

async fn get(client: &reqwest::Client, url: String, key: &str) -> Value {
    let res = client.get(&url).bearer_auth(key).send().await.unwrap();
    assert!(res.status().is_success(), "{url}: {}", res.status());
    res.json().await.unwrap()
}

/// The worker names holding leases right now.
async fn lease_owners(app: &TestApp, vendor: &str) -> Vec<String> {
    use diesel::prelude::*;
    use truview::db::schema::jobs;
    let vendor = vendor.to_owned();
    app.state
        .db
        .run(move |conn| {
            Ok(jobs::table
                .filter(jobs::vendor_id.eq(&vendor).and(jobs::state.eq("running")))
                .select(jobs::lease_owner)
                .load::<Option<String>>(conn)?
                .into_iter()
                .flatten()
                .collect())
        })
        .await
        .unwrap()
}

#[actix_web::test]
async fn two_nodes_and_two_workers_on_one_postgres_deliver_every_invitation_once() {
    let app = spawn_app().await;
    if !app.settings.database_url.starts_with("postgres") {
        eprintln!(
            "SKIPPED scale_out: two nodes and two workers need PostgreSQL; it runs in the PostgreSQL pass \
             (TRUVIEW_TEST_BACKEND=postgres), as CI does"
        );
        return;
    }
    let (sink, smtp_port) = SmtpSink::start().await;
    let v = app.vendor("Scale Shop").await;
    let ports = [free_port(), free_port()];
    let mut nodes: Vec<Child> =
        ports.iter().map(|p| truview(&app, &["serve", "--no-worker"], smtp_port, Some(*p))).collect();
    let bases: Vec<String> = ports.iter().map(|p| format!("http://127.0.0.1:{p}")).collect();
    let client = reqwest::Client::new();
    for base in &bases {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !client.get(format!("{base}/ready")).send().await.is_ok_and(|r| r.status().is_success()) {
            assert!(Instant::now() < deadline, "{base} did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    // The funnel on through node B, the orders through node A.
    let on = json!({"enabled": true, "invite_delay_days": 0, "delay_from": "purchase", "reminder_delays_days": [], "quiet_hours": null});
    let res = client.put(format!("{}/api/v1/funnel", bases[1])).bearer_auth(&v.token).json(&on).send().await.unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    let mut csv = String::from("order_id,email,customer_name,sku,purchased_at\n");
    for i in 0..ORDERS {
        csv.push_str(&format!("X-{i:05},buyer{i}@mail.example,Buyer {i},SKU-{},2026-11-20T10:00:00Z\n", i % 50));
    }
    let res = client
        .post(format!("{}/api/v1/orders", bases[0]))
        .bearer_auth(&v.sk)
        .header("Content-Type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    // Nothing is sent until the workers start: the nodes run none.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(sink.received.lock().unwrap().len(), 0, "a --no-worker node sent mail");

    let started = Instant::now();
    let mut workers: Vec<Child> = (0..2).map(|_| truview(&app, &["worker"], smtp_port, None)).collect();
    let mut owners = HashSet::new();
    let deadline = Instant::now() + Duration::from_secs(600);
    while Instant::now() < deadline && sink.received.lock().unwrap().len() < ORDERS {
        owners.extend(lease_owners(&app, &v.id).await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A moment for anything sent twice to arrive too.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let elapsed = started.elapsed().as_secs_f64();
    for child in workers.iter_mut() {
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let seen = delivered(&sink);
    let total = sink.received.lock().unwrap().len();
    eprintln!(
        "scale-out: {} invitations delivered by 2 workers ({} lease owners seen) in {elapsed:.1} s, {} sent twice",
        seen.len(),
        owners.len(),
        total - seen.len()
    );
    assert_eq!(seen.len(), ORDERS, "every invitation delivered");
    assert_eq!(total, ORDERS, "none sent twice");
    assert!(owners.len() >= 2, "both workers claimed jobs: {owners:?}");

    // Both nodes report the same: they hold no state of their own.
    let mut reports = Vec::new();
    for base in &bases {
        let funnel = get(&client, format!("{base}/api/v1/reports/funnel?days=30"), &v.sk).await;
        let maturity = get(&client, format!("{base}/api/v1/reports/maturity"), &v.sk).await;
        reports.push((funnel["steps"].clone(), funnel["by_channel"].clone(), maturity));
    }
    for child in nodes.iter_mut() {
        child.kill().unwrap();
        child.wait().unwrap();
    }
    assert_eq!(reports[0].0["invited"], ORDERS, "{:?}", reports[0].0);
    assert_eq!(reports[0], reports[1], "both nodes report the same");
}
