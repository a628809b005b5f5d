//! T22 import_crash: SIGKILL of `truview orders import` and of the server during a
//! 100,000-order import; the same file / the same Idempotency-Key again → exactly 100,000
//! orders, nothing doubled, nothing lost. Runs the real binary on the test's database
//! (SQLite, or PostgreSQL under TRUVIEW_TEST_DATABASE_URL).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use reqwest::StatusCode;

use crate::helpers::{spawn_app, TestApp};

const ORDERS: usize = 100_000;
/// Every third order has a second line item.
const ITEMS: i64 = 133_334;

fn write_orders(path: &std::path::Path, prefix: &str) {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(f, "order_id,email,customer_name,sku,item_name,price,total,currency,purchased_at,status").unwrap();
    for i in 0..ORDERS {
        for k in 0..(1 + usize::from(i % 3 == 0)) {
            let sku = (i * 7 + k) % 1000;
            writeln!(
                f,
                "{prefix}-{i:07},buyer{i}@mail.example,Buyer {i},SKU-{sku:04},Item {sku},19.90,39.80,EUR,2026-10-{:02}T10:00:00Z,delivered",
                1 + i % 28
            )
            .unwrap();
        }
    }
}

fn truview(app: &TestApp) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_truview"));
    cmd.env("DATABASE_URL", &app.settings.database_url)
        .env("TRUVIEW_KEY_FILE", app.key_file())
        .env("TRUVIEW_LOG_LEVEL", "error")
        .env("TRUVIEW_DEMO", "false");
    cmd
}

async fn counts(app: &TestApp, vendor_id: &str) -> (i64, i64) {
    use diesel::prelude::*;
    use truview::db::schema::{order_items, orders};
    let vendor_id = vendor_id.to_owned();
    app.state
        .db
        .run(move |conn| {
            let o: i64 = orders::table.filter(orders::vendor_id.eq(&vendor_id)).count().get_result(conn)?;
            let i: i64 = order_items::table
                .inner_join(orders::table)
                .filter(orders::vendor_id.eq(&vendor_id))
                .count()
                .get_result(conn)?;
            Ok((o, i))
        })
        .await
        .unwrap()
}

fn kill(child: &mut Child) {
    // `Child::kill` is SIGKILL on Unix: no destructor, no rollback by the process itself.
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
}

#[actix_web::test]
async fn t22_import_crash_cli_and_server() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();

    // The CLI, killed after its fourth chunk of 5,000 orders was committed.
    let cli_vendor = app.vendor("T22 CLI").await;
    let file = dir.path().join("orders.csv");
    write_orders(&file, "C");
    let import = |app: &TestApp| {
        let mut cmd = truview(app);
        cmd.args(["orders", "import"]).arg(&file).args(["--vendor", &cli_vendor.id, "--chunk", "5000"]);
        cmd
    };
    let mut child = import(&app).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("truview runs");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push(line.clone());
        if line.starts_with("chunk 3: 5000 orders committed") {
            break;
        }
    }
    kill(&mut child);
    let (orders_after_kill, _) = counts(&app, &cli_vendor.id).await;
    assert!(
        orders_after_kill >= 20_000 && orders_after_kill < ORDERS as i64 && orders_after_kill % 5000 == 0,
        "whole chunks only: {orders_after_kill} orders after the kill; output {seen:?}"
    );
    let out = import(&app).output().expect("truview runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let resumed = orders_after_kill / 5000;
    assert!(
        stdout.contains("100000 orders in 20 chunk(s)")
            && stdout.contains(&format!(
                "{} created, 0 updated, {resumed} chunk(s) committed by an earlier run",
                ORDERS as i64 - orders_after_kill
            )),
        "{stdout}"
    );
    assert_eq!(counts(&app, &cli_vendor.id).await, (ORDERS as i64, ITEMS));

    // The server, killed once the 100,000-order request body is sent (it is parsing or
    // inside the import transaction), then restarted: the same key imports exactly once.
    let http_vendor = app.vendor("T22 HTTP").await;
    let body_file = dir.path().join("http.csv");
    write_orders(&body_file, "H");
    let body = std::fs::read(&body_file).unwrap();
    let port = crate::helpers::free_port();
    let serve = |app: &TestApp| {
        truview(app)
            .args(["serve", "--no-worker", "--bind", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .spawn()
            .unwrap()
    };
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let ready = |client: reqwest::Client, base: String| async move {
        for _ in 0..600 {
            if client.get(format!("{base}/health")).send().await.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the server did not start");
    };
    let post = |client: &reqwest::Client, body: reqwest::Body| {
        client
            .post(format!("{base}/api/v1/orders"))
            .bearer_auth(&http_vendor.sk)
            .header("content-type", "text/csv")
            .header("idempotency-key", "t22-http-import")
            .body(body)
            .send()
    };
    let mut server = serve(&app);
    ready(client.clone(), base.clone()).await;
    // The request written by hand on a socket, so the test knows when its last byte was
    // handed to the connection; the server is killed right then.
    let mut socket = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let head = format!(
        "POST /api/v1/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\nContent-Type: text/csv\r\n\
         Idempotency-Key: t22-http-import\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        http_vendor.sk,
        body.len()
    );
    {
        use std::io::Write;
        socket.write_all(head.as_bytes()).unwrap();
        socket.write_all(&body).unwrap();
        socket.flush().unwrap();
    }
    kill(&mut server);
    let mut answer = Vec::new();
    let _ = std::io::Read::read_to_end(&mut socket, &mut answer);
    assert!(answer.is_empty(), "the killed server must not have answered: {}", String::from_utf8_lossy(&answer));
    let (orders_after_kill, _) = counts(&app, &http_vendor.id).await;
    assert!(orders_after_kill == 0 || orders_after_kill == ORDERS as i64, "all or nothing: {orders_after_kill}");

    let mut server = serve(&app);
    ready(client.clone(), base.clone()).await;
    let again = post(&client, body.clone().into()).await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    let answer: serde_json::Value = again.json().await.unwrap();
    assert_eq!(answer["orders"], serde_json::json!(ORDERS));
    // And once more: the stored answer, nothing doubled.
    let replay = post(&client, body.into()).await.unwrap();
    assert_eq!(replay.status(), StatusCode::OK);
    assert_eq!(replay.json::<serde_json::Value>().await.unwrap(), answer);
    kill(&mut server);
    assert_eq!(counts(&app, &http_vendor.id).await, (ORDERS as i64, ITEMS));
    println!(
        "t22_import_crash: CLI killed after {} orders, resumed to {ORDERS}; server killed mid-import ({} committed), re-posted to {ORDERS}; 0 doubled",
        resumed * 5000,
        orders_after_kill
    );
}

/// A bad row anywhere, even in the last chunk, imports nothing, and the error names the
/// file's line; a JSON array file imports in chunks too.
#[actix_web::test]
async fn cli_import_checks_the_whole_file_first() {
    use std::io::Write;
    let app = spawn_app().await;
    let vendor = app.vendor("CLI Checks").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.csv");
    let mut f = std::fs::File::create(&file).unwrap();
    writeln!(f, "order_id,sku,purchased_at").unwrap();
    for i in 0..12_000 {
        let date = if i == 10_998 { "2026-02-30" } else { "2026-10-01" };
        writeln!(f, "B-{i},SKU-1,{date}").unwrap();
    }
    drop(f);
    let out = truview(&app)
        .args(["orders", "import"])
        .arg(&file)
        .args(["--vendor", &vendor.id, "--chunk", "1000"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("line 11000, column purchased_at: must be an RFC 3339 date-time or a YYYY-MM-DD date"),
        "{stderr}"
    );
    assert_eq!(counts(&app, &vendor.id).await, (0, 0));

    let json_file = dir.path().join("orders.json");
    let orders: Vec<serde_json::Value> = (0..2500)
        .map(|i| serde_json::json!({"order_id": format!("J-{i}"), "items": [{"sku": "S"}], "purchased_at": "2026-11-01"}))
        .collect();
    std::fs::write(&json_file, serde_json::to_vec(&orders).unwrap()).unwrap();
    let out = truview(&app)
        .args(["orders", "import"])
        .arg(&json_file)
        .args(["--vendor", &vendor.id, "--chunk", "1000"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("2500 orders in 3 chunk(s)") && stdout.contains("2500 created, 0 updated, 0 chunk(s)"),
        "{stdout}"
    );
    assert_eq!(counts(&app, &vendor.id).await, (2500, 2500));
    let out =
        truview(&app).args(["orders", "import"]).arg(&json_file).args(["--vendor", "no-such-vendor"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("vendor"), "{}", String::from_utf8_lossy(&out.stderr));
}
