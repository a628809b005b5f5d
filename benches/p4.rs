//! P4 of PERFORMANCE.md: invitations through the funnel's worker (`truview worker`: claim a
//! batch, decide each invitation in a transaction, render, send, record, acknowledge) to a
//! local SMTP server, as a ratio to a minimal lettre loop sending the same messages
//! (rendered by the same templates) to the same server in the same run with the same
//! number of messages in flight. The server is npm `smtp-server` (tests/browser/smtp-sink.mjs;
//! `npm install --prefix tests/browser`), which reports every message it accepted.
//!
//! `benches/p4.sh` runs it in release. Environment: BENCH_INVITATIONS (100000), BENCH_PG_URL
//! (PostgreSQL admin URL; without it only SQLite runs), BENCH_SMOKE=1 (300 invitations),
//! BENCH_OUT (default benches/p4-results.json), BENCH_PG_ONLY=1 (PostgreSQL alone).

use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::Connection;
use futures::StreamExt;
use lettre::message::MultiPart;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::json;
use truview::app::{AppState, Deps};
use truview::config::Settings;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Messages in flight at once: the worker's concurrency.
const IN_FLIGHT: usize = 8;

struct Sink {
    child: Child,
    port: u16,
    count: Arc<AtomicUsize>,
}

impl Sink {
    fn start() -> Sink {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
        if !dir.join("node_modules/smtp-server").is_dir() {
            eprintln!("P4 needs npm smtp-server: run `npm install --prefix tests/browser` (.ci/run does)");
            std::process::exit(2);
        }
        let mut child = Command::new("node")
            .arg("smtp-sink.mjs")
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("node runs the SMTP sink");
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        let port = serde_json::from_str::<serde_json::Value>(&first).unwrap()["port"].as_u64().unwrap() as u16;
        let count = Arc::new(AtomicUsize::new(0));
        let c = count.clone();
        std::thread::spawn(move || {
            for _ in lines.map_while(Result::ok) {
                c.fetch_add(1, Ordering::SeqCst);
            }
        });
        Sink { child, port, count }
    }

    fn wait_for(&self, n: usize, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while self.count.load(Ordering::SeqCst) < n {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        true
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The same message the worker renders for invitation `i` (links of the same length).
fn message(i: usize) -> Message {
    let token = "x".repeat(330);
    let page = format!("https://reviews.example/r/{token}");
    let unsubscribe = format!("https://reviews.example/u/{token}");
    let rendered = truview::funnel::messages::invitation(
        &truview::funnel::messages::Invitation {
            lang: truview::funnel::messages::Lang::En,
            reminder: 0,
            shop: "P4 Shop",
            order: &format!("P4-{i:06}"),
            name: Some("Buyer"),
            page: &page,
            until_ms: 1_800_000_000_000,
            unsubscribe: &unsubscribe,
            incentive: None,
        },
        None,
    )
    .unwrap();
    Message::builder()
        .from("P4 Shop <reviews@shop.example>".parse().unwrap())
        .to(format!("buyer{i}@mail.example").parse().unwrap())
        .subject(rendered.subject)
        .message_id(Some(format!("<p4.{i}@shop.example>")))
        .multipart(MultiPart::alternative_plain_html(rendered.text, rendered.html.unwrap()))
        .unwrap()
}

/// The baseline: a minimal lettre loop, IN_FLIGHT sends at a time over a pooled transport.
fn baseline(sink: &Sink, n: usize) -> f64 {
    let start_count = sink.count.load(Ordering::SeqCst);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let port = sink.port;
    let started = Instant::now();
    rt.block_on(async move {
        let mailer: AsyncSmtpTransport<Tokio1Executor> =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1").port(port).build();
        futures::stream::iter(0..n)
            .map(|i| {
                let mailer = mailer.clone();
                async move { mailer.send(message(i)).await.expect("the sink accepts") }
            })
            .buffer_unordered(IN_FLIGHT)
            .for_each(|_| async {})
            .await;
    });
    assert!(sink.wait_for(start_count + n, Duration::from_secs(60)), "the sink got every baseline message");
    started.elapsed().as_secs_f64()
}

/// The worker: `n` orders imported with the funnel on (invitations due now), then one
/// `truview worker` process until the sink has them all.
fn worker(sink: &Sink, n: usize, url: &str, dir: &std::path::Path) -> f64 {
    let key_file = dir.join("p4.keys.json");
    let settings = Settings {
        database_url: url.to_owned(),
        key_file: Some(key_file.clone()),
        demo: false,
        log_level: "error".into(),
        ..Settings::default()
    };
    let state = AppState::new(settings, Deps::default()).expect("state");
    let rt = actix_web::rt::System::new();
    let created = rt.block_on(async {
        let input = truview::accounts::NewVendor {
            name: "P4 Shop".into(),
            origins: vec!["https://shop.example".into()],
            owner_email: truview::domain::contact::Email::parse("e", "owner@p4.example").unwrap(),
            owner_name: "P4".into(),
            owner_password: "p4-bench-password-long-enough".into(),
        };
        truview::accounts::create_vendor(&state, input, "bench").await.expect("vendor")
    });
    let vendor = created.vendor.id.clone();
    let funnel: truview::domain::funnel::FunnelSettings = serde_json::from_value(json!({
        "enabled": true, "invite_delay_days": 0, "delay_from": "purchase", "reminder_delays_days": [],
        "quiet_hours": null, "cooldown_days": 0, "sender_name": "P4 Shop"
    }))
    .unwrap();
    let mut conn = truview::db::establish(url).expect("db");
    truview::store::funnel::put_settings(&mut conn, &vendor, &funnel, 0).unwrap();
    drop(conn);
    let csv = dir.join("orders.csv");
    let mut text = String::from("order_id,email,customer_name,sku,purchased_at\n");
    for i in 0..n {
        text.push_str(&format!("P4-{i:06},buyer{i}@mail.example,Buyer,SKU-{},2026-11-20T10:00:00Z\n", i % 100));
    }
    std::fs::write(&csv, text).unwrap();
    let bin = env!("CARGO_BIN_EXE_truview");
    let env = |cmd: &mut Command| {
        cmd.env("DATABASE_URL", url)
            .env("TRUVIEW_KEY_FILE", &key_file)
            .env("TRUVIEW_LOG_LEVEL", "error")
            .env("TRUVIEW_DEMO", "false")
            .env("TRUVIEW_MAIL__SMTP_URL", format!("smtp://127.0.0.1:{}", sink.port))
            .env("TRUVIEW_MAIL__FROM", "Reviews <reviews@shop.example>")
            .env("TRUVIEW_PUBLIC_URL", "https://reviews.example")
            .env("TRUVIEW_WORKER_INTERVAL_SECS", "1");
    };
    let mut import = Command::new(bin);
    import.args(["orders", "import", csv.to_str().unwrap(), "--vendor", &vendor]).stdout(Stdio::null());
    env(&mut import);
    assert!(import.status().unwrap().success(), "the import runs");
    let start_count = sink.count.load(Ordering::SeqCst);
    let mut cmd = Command::new(bin);
    cmd.arg("worker").stdout(Stdio::null());
    env(&mut cmd);
    let started = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let ok = sink.wait_for(start_count + n, Duration::from_secs(3600));
    let elapsed = started.elapsed().as_secs_f64();
    let _ = child.kill();
    let _ = child.wait();
    assert!(ok, "the worker sent every invitation");
    elapsed
}

fn main() {
    let smoke = std::env::var("BENCH_SMOKE").is_ok_and(|v| v == "1");
    let n: usize = if smoke {
        300
    } else {
        std::env::var("BENCH_INVITATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000)
    };
    let sink = Sink::start();
    let dir = tempfile::tempdir().unwrap();
    let mut backends = vec![("sqlite".to_owned(), dir.path().join("p4.db").to_string_lossy().into_owned())];
    if let Ok(admin) = std::env::var("BENCH_PG_URL") {
        let schema = format!("p4_{}", std::process::id());
        let mut c = diesel::PgConnection::establish(&admin).expect("PostgreSQL reachable");
        c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")).unwrap();
        let sep = if admin.contains('?') { '&' } else { '?' };
        backends.push(("postgresql".to_owned(), format!("{admin}{sep}options=-csearch_path%3D{schema}")));
        if std::env::var("BENCH_PG_ONLY").is_ok_and(|v| v == "1") {
            backends.remove(0);
        }
    }
    let mut results = Vec::new();
    println!(
        "{:<11} {:>9} {:>12} {:>12} {:>9} {:>9}",
        "backend", "messages", "baseline s", "worker s", "msg/s", "ratio"
    );
    for (name, url) in backends {
        let base = baseline(&sink, n);
        let work = worker(&sink, n, &url, dir.path());
        let ratio = base / work;
        println!("{name:<11} {n:>9} {base:>12.1} {work:>12.1} {:>9.0} {ratio:>9.2}", n as f64 / work);
        results.push(json!({"backend": name, "invitations": n, "baseline_secs": base, "worker_secs": work,
                            "baseline_per_sec": n as f64 / base, "worker_per_sec": n as f64 / work, "ratio": ratio}));
    }
    let out = std::env::var("BENCH_OUT")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/benches/p4-results.json").into());
    std::fs::write(&out, serde_json::to_string_pretty(&json!({"p4": results, "in_flight": IN_FLIGHT})).unwrap())
        .unwrap();
    eprintln!("wrote {out}");
}
