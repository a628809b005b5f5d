//! T17 / H3: the audit chain. `truview audit verify` detects edited, deleted and injected
//! rows, histories recomputed without the key file, cut tails with the head rolled back
//! and deleted vendors (the last two against a signed checkpoint kept outside the database).

use std::path::PathBuf;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::json;
use sha2::{Digest, Sha256};
use truview::db::schema::audit_log;
use truview::store::audit::{AuditRow, Report};

use crate::helpers::{json, random_suffix, spawn_app, TestApp};

/// The CLI binary, as an operator runs it.
fn verify_cli(app: &TestApp, checkpoint: Option<&PathBuf>) -> (bool, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_truview"));
    cmd.args(["audit", "verify"]);
    if let Some(cp) = checkpoint {
        cmd.arg("--checkpoint").arg(cp);
    }
    let out = cmd
        .env("DATABASE_URL", &app.settings.database_url)
        .env("TRUVIEW_KEY_FILE", app.key_file())
        .env("TRUVIEW_LOG_LEVEL", "error")
        .output()
        .expect("truview runs");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

/// The function `truview audit verify` runs.
fn verify(app: &TestApp, checkpoint: Option<&PathBuf>) -> Report {
    truview::cli::audit_verify_report(&app.settings, checkpoint.map(|p| p.as_path())).expect("verify runs")
}

fn broken(report: &Report) -> Vec<String> {
    report.breaks.iter().map(|b| b.to_string()).collect()
}

/// A signed checkpoint, kept in a file the way an operator's log store keeps the worker's
/// `audit_checkpoint` log line (with a log prefix before the JSON).
fn checkpoint(app: &TestApp) -> PathBuf {
    let line = truview::cli::audit_checkpoint_line(&app.settings).expect("checkpoint");
    let path = app.db.dir.path().join(format!("checkpoint-{}.log", random_suffix()));
    std::fs::write(&path, format!("2026-11-24T12:00:00Z  INFO audit_checkpoint: {line}\n")).unwrap();
    path
}

fn tamper(app: &TestApp, sql: &str) {
    let mut conn = truview::db::establish(&app.settings.database_url).unwrap();
    conn.batch_execute(sql).unwrap();
}

/// What an attacker with SQL access but without the key file can compute.
#[derive(Clone, Copy, Debug)]
enum Forgery {
    /// The pre-H3 chain: unkeyed SHA-256.
    Sha256,
    /// HMAC-SHA256 under a key of the attacker's own.
    WrongKey,
}

fn forged_hash(forgery: Forgery, prev_hash: &str, row: &AuditRow) -> String {
    let canonical = json!([row.vendor_id, row.seq, row.at, row.actor, row.action, row.target, row.details]).to_string();
    match forgery {
        Forgery::Sha256 => {
            let mut h = Sha256::new();
            h.update(prev_hash.as_bytes());
            h.update(canonical.as_bytes());
            hex::encode(h.finalize())
        }
        Forgery::WrongKey => {
            let mut mac = Hmac::<Sha256>::new_from_slice(&[7u8; 32]).unwrap();
            mac.update(prev_hash.as_bytes());
            mac.update(canonical.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
    }
}

/// Recomputes every link from `from_seq` on, and the vendor's head, as H3a describes.
fn recompute_tail(app: &TestApp, vendor_id: &str, from_seq: i64, forgery: Forgery) {
    let mut conn = truview::db::establish(&app.settings.database_url).unwrap();
    let rows: Vec<AuditRow> = audit_log::table
        .filter(audit_log::vendor_id.eq(vendor_id))
        .order(audit_log::seq.asc())
        .select(AuditRow::as_select())
        .load(&mut conn)
        .unwrap();
    let mut prev = String::new();
    let mut sql = String::new();
    for mut row in rows {
        if row.seq >= from_seq {
            row.prev_hash = prev.clone();
            row.hash = forged_hash(forgery, &prev, &row);
            sql += &format!(
                "UPDATE audit_log SET prev_hash = '{}', hash = '{}' WHERE vendor_id = '{vendor_id}' AND seq = {};",
                row.prev_hash, row.hash, row.seq
            );
        }
        prev = row.hash;
    }
    sql += &format!("UPDATE vendors SET audit_head = '{prev}' WHERE id = '{vendor_id}';");
    conn.batch_execute(&sql).unwrap();
}

async fn app_with_history() -> (TestApp, String) {
    let (app, vendor) = app_with_history_of().await;
    (app, vendor.id)
}

async fn app_with_history_of() -> (TestApp, crate::helpers::Vendor) {
    let app = spawn_app().await;
    let vendor = app.vendor("Audited").await;
    app.add_staff(&vendor, "moderator").await;
    let res = app
        .request(
            Method::POST,
            "/api/v1/keys",
            Some(&vendor.token),
            Some(&json!({"kind": "publishable", "label": "shop"})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    (app, vendor)
}

/// The console's view of the chain: the vendor's own chain checked on request.
#[actix_web::test]
async fn staff_see_whether_their_audit_chain_verifies() {
    let (app, vendor) = app_with_history_of().await;
    let check = || app.request(Method::GET, "/api/v1/audit/verification", Some(&vendor.token), None);
    let intact = json(check().await, StatusCode::OK).await;
    assert_eq!(intact, json!({"verified": true, "rows": 8, "breaks": []}));
    // Another vendor's broken chain is not this one's.
    let (other_app, other) = (&app, app.vendor("Other").await);
    tamper(other_app, &format!("DELETE FROM audit_log WHERE vendor_id = '{}' AND seq = 1", other.id));
    assert_eq!(json(check().await, StatusCode::OK).await["verified"], json!(true));
    tamper(
        &app,
        &format!("UPDATE audit_log SET details = '{{\"x\":1}}' WHERE vendor_id = '{}' AND seq = 6", vendor.id),
    );
    let broken = json(check().await, StatusCode::OK).await;
    assert_eq!(broken, json!({"verified": false, "rows": 0, "breaks": [{"seq": 6, "reason": "contents altered"}]}));
    let res = app.get("/api/v1/audit/verification").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn t17_audit_log_records_actions_in_order() {
    let (app, _) = app_with_history().await;
    let vendor = app.vendor("Reader").await;
    let page =
        json(app.request(Method::GET, "/api/v1/audit?limit=3", Some(&vendor.token), None).await, StatusCode::OK).await;
    let actions: Vec<&str> =
        page["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["staff.login", "key.created", "key.created"]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest = json(
        app.request(Method::GET, &format!("/api/v1/audit?cursor={cursor}"), Some(&vendor.token), None).await,
        StatusCode::OK,
    )
    .await;
    let actions: Vec<&str> =
        rest["entries"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["staff.created", "vendor.created"]);
    assert_eq!(rest["next_cursor"], serde_json::Value::Null);
}

#[actix_web::test]
async fn t17_verify_passes_on_an_intact_log() {
    let (app, vendor_id) = app_with_history().await;
    let cp = checkpoint(&app);
    let (ok, out) = verify_cli(&app, Some(&cp));
    assert!(ok, "{out}");
    assert!(out.contains(&format!("ok      vendor {vendor_id}: 8 audit row(s) verified\n")), "{out}");
    assert!(!out.contains("BROKEN"), "{out}");
    // Later appends keep verifying against an older checkpoint.
    refill(&app, &vendor_id, 2).await;
    let report = verify(&app, Some(&cp));
    assert!(report.ok(), "{:?}", broken(&report));
}

/// D24: the row-level tampering cases, one table (the old "rehashed edit" case only
/// overwrote `hash`, so it is named for what it does; the real recompute is H3a below).
#[actix_web::test]
async fn t17_tampered_rows_are_detected() {
    type Case = (&'static str, fn(&str) -> String, &'static str);
    let cases: [Case; 6] = [
        (
            "edited row",
            |v| {
                format!("UPDATE audit_log SET details = '{{\"role\":\"analyst\"}}' WHERE vendor_id = '{v}' AND seq = 6")
            },
            "audit row 6: contents altered",
        ),
        (
            "deleted row",
            |v| format!("DELETE FROM audit_log WHERE vendor_id = '{v}' AND seq = 3"),
            "audit row 3: missing (deleted)",
        ),
        (
            "deleted last row",
            |v| format!("DELETE FROM audit_log WHERE vendor_id = '{v}' AND seq = 8"),
            "audit row 8: missing (deleted from the end of the chain)",
        ),
        (
            "overwritten hash",
            |v| {
                format!("UPDATE audit_log SET hash = CASE WHEN substr(hash, 1, 2) = 'ff' THEN 'ee' ELSE 'ff' END || substr(hash, 3) WHERE vendor_id = '{v}' AND seq = 2")
            },
            "audit row 2: contents altered",
        ),
        (
            "altered link",
            |v| {
                format!(
                    "UPDATE audit_log SET prev_hash = CASE WHEN substr(prev_hash, 1, 2) = 'ab' THEN 'cd' ELSE 'ab' END || substr(prev_hash, 3) WHERE vendor_id = '{v}' AND seq = 4"
                )
            },
            "audit row 4: previous-hash link altered",
        ),
        (
            "altered head",
            |v| {
                format!("UPDATE vendors SET audit_head = CASE WHEN substr(audit_head, 1, 2) = 'ab' THEN 'cd' ELSE 'ab' END || substr(audit_head, 3) WHERE id = '{v}'")
            },
            "audit row 8: chain head does not match the last row",
        ),
    ];
    for (name, sql, expected) in cases {
        let (app, vendor_id) = app_with_history().await;
        tamper(&app, &sql(&vendor_id));
        let report = verify(&app, None);
        assert_eq!(broken(&report), [format!("vendor {vendor_id} {expected}")], "{name}");
        assert!(report.verified.iter().all(|v| v.vendor_id != vendor_id), "{name}");
    }
}

/// H3a: edit a row, recompute every later link and the vendor's head without the key
/// file (plain SHA-256 as before H3, or HMAC under a guessed key). The keyed chain fails
/// at the edited row; a checkpoint taken before also no longer matches.
#[actix_web::test]
async fn h3_edited_and_recomputed_tail_is_detected() {
    for forgery in [Forgery::Sha256, Forgery::WrongKey] {
        let (app, vendor_id) = app_with_history().await;
        let cp = checkpoint(&app);
        tamper(
            &app,
            &format!(
                "UPDATE audit_log SET details = '{{\"role\":\"analyst\"}}' WHERE vendor_id = '{vendor_id}' AND seq = 6"
            ),
        );
        recompute_tail(&app, &vendor_id, 6, forgery);

        let reason = match forgery {
            Forgery::Sha256 => "hashed without the audit key (written before it existed, or forged)",
            Forgery::WrongKey => "contents altered",
        };
        let report = verify(&app, None);
        assert_eq!(broken(&report), [format!("vendor {vendor_id} audit row 6: {reason}")], "{forgery:?}");
        let report = verify(&app, Some(&cp));
        let at = cp_time(&cp);
        assert_eq!(
            broken(&report),
            [
                format!("vendor {vendor_id} audit row 6: {reason}"),
                format!("vendor {vendor_id} audit row 8: does not match the checkpoint of {at} (history rewritten)"),
            ],
            "{forgery:?}"
        );
        let (ok, out) = verify_cli(&app, Some(&cp));
        assert!(!ok, "{out}");
        assert!(out.contains(&format!("BROKEN  vendor {vendor_id} audit row 6: {reason}\n")), "{out}");
        assert!(
            out.contains(&format!("BROKEN  vendor {vendor_id} audit row 8: does not match the checkpoint")),
            "{out}"
        );
    }
}

fn cp_time(path: &PathBuf) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let json: serde_json::Value = serde_json::from_str(text[text.find('{').unwrap()..].trim()).unwrap();
    json["at"].as_str().unwrap().to_owned()
}

/// H3b: cut rows 6..8 and roll `audit_seq`/`audit_head` back to row 5. The remaining
/// chain is intact (nothing in the database can tell), so the checkpoint catches it; once
/// new actions refill rows 6..8, row 8 no longer carries the checkpoint's head.
#[actix_web::test]
async fn h3_tail_cut_with_head_rolled_back_is_detected() {
    let (app, vendor_id) = app_with_history().await;
    let cp = checkpoint(&app);
    let at = cp_time(&cp);
    tamper(
        &app,
        &format!(
            "DELETE FROM audit_log WHERE vendor_id = '{vendor_id}' AND seq >= 6; \
             UPDATE vendors SET audit_seq = 5, audit_head = \
             (SELECT hash FROM audit_log WHERE vendor_id = '{vendor_id}' AND seq = 5) WHERE id = '{vendor_id}';"
        ),
    );
    let report = verify(&app, None);
    assert!(report.ok(), "without a checkpoint a clean cut is indistinguishable from a shorter log");
    let report = verify(&app, Some(&cp));
    assert_eq!(
        broken(&report),
        [format!(
            "vendor {vendor_id} audit row 8: chain rolled back: it ends at row 5, the checkpoint of {at} recorded row 8"
        )]
    );
    let (ok, out) = verify_cli(&app, Some(&cp));
    assert!(!ok && out.contains("chain rolled back"), "{out}");

    // New, genuine actions refill rows 6, 7, 8: the chain verifies, the checkpoint does not.
    refill(&app, &vendor_id, 3).await;
    let report = verify(&app, Some(&cp));
    assert_eq!(
        broken(&report),
        [format!("vendor {vendor_id} audit row 8: does not match the checkpoint of {at} (history rewritten)")]
    );
}

/// Appends `n` genuine entries through the same handle the use cases use.
async fn refill(app: &TestApp, vendor_id: &str, n: usize) {
    let core = app.state.core.clone();
    let vendor_id = vendor_id.to_owned();
    let audit = core.audit.clone();
    let now = core.now_ms();
    core.db
        .write(move |conn| {
            for _ in 0..n {
                audit.append(
                    conn,
                    &vendor_id,
                    now,
                    truview::store::audit::Entry {
                        actor: "test",
                        action: "test.refill",
                        target: "",
                        details: json!({}),
                    },
                )?;
            }
            Ok(())
        })
        .await
        .unwrap();
}

/// H3c: rows injected below 1 or above `audit_seq` are reported without a checkpoint, and
/// `GET /api/v1/audit` never shows them.
#[actix_web::test]
async fn h3_rows_outside_the_sequence_are_detected() {
    let app = spawn_app().await;
    let vendor = app.vendor("Injected").await;
    let v = vendor.id.clone();
    let mut sql = String::new();
    for seq in [-1, 0, 99] {
        sql += &format!(
            "INSERT INTO audit_log (vendor_id, seq, at, actor, action, target, details, prev_hash, hash) \
             VALUES ('{v}', {seq}, 0, 'staff:x', 'review.decision', 'r', '{{}}', '', 'aa{seq}');"
        );
    }
    tamper(&app, &sql);
    let report = verify(&app, None);
    assert_eq!(
        broken(&report),
        [-1, 0, 99].map(|seq| format!("vendor {v} audit row {seq}: outside the chain 1..=5 (injected)"))
    );
    let (ok, out) = verify_cli(&app, None);
    assert!(
        !ok && out.contains(&format!("BROKEN  vendor {v} audit row 0: outside the chain 1..=5 (injected)")),
        "{out}"
    );

    let page =
        json(app.request(Method::GET, "/api/v1/audit?limit=200", Some(&vendor.token), None).await, StatusCode::OK)
            .await;
    let seqs: Vec<i64> = page["entries"].as_array().unwrap().iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, [5, 4, 3, 2, 1], "only the chain's rows are shown");
    let older =
        json(app.request(Method::GET, "/api/v1/audit?cursor=1", Some(&vendor.token), None).await, StatusCode::OK).await;
    assert_eq!(older["entries"], json!([]), "nothing below row 1");
}

/// H3d: deleting a vendor cascades to its whole chain; the checkpoint still names it.
#[actix_web::test]
async fn h3_deleted_vendor_is_detected() {
    let (app, kept) = app_with_history().await;
    let gone = app.vendor("Vanishing").await.id;
    let cp = checkpoint(&app);
    let at = cp_time(&cp);
    tamper(&app, &format!("DELETE FROM vendors WHERE id = '{gone}'"));
    let report = verify(&app, None);
    assert!(report.ok(), "the database alone no longer knows the vendor: {:?}", broken(&report));
    let report = verify(&app, Some(&cp));
    assert_eq!(
        broken(&report),
        [format!(
            "vendor {gone}: vendor deleted: the checkpoint of {at} records its chain at row 5, the database no longer has the vendor"
        )]
    );
    assert_eq!(report.verified.iter().map(|v| v.vendor_id.as_str()).collect::<Vec<_>>(), [kept.as_str()]);
    let (ok, out) = verify_cli(&app, Some(&cp));
    assert!(!ok && out.contains(&format!("BROKEN  vendor {gone}: vendor deleted")), "{out}");
}

/// A checkpoint is only believed with a good signature from this key file's checkpoint key.
#[actix_web::test]
async fn h3_altered_or_foreign_checkpoint_is_refused() {
    let (app, vendor_id) = app_with_history().await;
    let cp = checkpoint(&app);
    let text = std::fs::read_to_string(&cp).unwrap();
    let altered = app.db.dir.path().join("altered.log");
    std::fs::write(
        &altered,
        text.replace(&format!("\"{vendor_id}\":{{\"seq\":8"), &format!("\"{vendor_id}\":{{\"seq\":7")),
    )
    .unwrap();
    assert_ne!(std::fs::read_to_string(&altered).unwrap(), text);
    let err = truview::cli::audit_verify_report(&app.settings, Some(&altered)).unwrap_err().to_string();
    assert!(err.contains("has a bad signature"), "{err}");

    let other = spawn_app().await;
    other.vendor("Elsewhere").await;
    let foreign = checkpoint(&other);
    let err = truview::cli::audit_verify_report(&app.settings, Some(&foreign)).unwrap_err().to_string();
    assert!(err.contains("was signed by another key"), "{err}");
    let (ok, out) = verify_cli(&app, Some(&foreign));
    assert!(!ok && out.contains("was signed by another key"), "{out}");
}

/// `audit verify` beside a live SQLite database: other connections open, write, close
/// and checkpoint the WAL meanwhile. It used to fail at once with "database is locked"
/// (its connections set `journal_mode` before `busy_timeout`, and it migrated on open);
/// it now opens read-only with busy_timeout first and reads one snapshot.
#[actix_web::test]
async fn t17_verify_works_against_a_live_sqlite_database() {
    let sqlite = crate::helpers::TestDb::sqlite();
    let app = crate::helpers::spawn_app_with(|s| {
        s.database_url = sqlite.url.clone();
        s.key_file = Some(sqlite.dir.path().join("truview.keys.json"));
    })
    .await;
    let vendor = app.vendor("Live").await;
    let url = app.settings.database_url.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let churn: Vec<_> = (0..3)
        .map(|i| {
            let (url, stop, v) = (url.clone(), stop.clone(), vendor.id.clone());
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let Ok(mut conn) = truview::db::establish(&url) else { continue };
                    if i == 0 {
                        let _ = conn.batch_execute(&format!("UPDATE vendors SET name = name WHERE id = '{v}'"));
                    }
                    let _ = conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)");
                }
            })
        })
        .collect();
    let mut failures = Vec::new();
    for _ in 0..30 {
        match truview::cli::audit_verify_report(&app.settings, None) {
            Ok(report) if report.ok() && report.verified.len() == 1 && report.verified[0].rows == 5 => {}
            Ok(report) => failures.push(format!("{:?}", report)),
            Err(e) => failures.push(e.to_string()),
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for t in churn {
        t.join().unwrap();
    }
    assert_eq!(failures, Vec::<String>::new());
}

/// Review finding: a checkpoint signed after a tampering (the worker signs what the database
/// holds) must not launder it. `verify` checks every checkpoint in the log, and the worker
/// refuses to sign a state that does not extend its previous checkpoint.
#[actix_web::test]
async fn h3_a_later_checkpoint_does_not_launder_a_cut_tail() {
    let (app, vendor_id) = app_with_history().await;
    let core = app.state.core.clone();
    let first = truview::worker::log_audit_checkpoint(&core, None).await.unwrap().expect("an intact log is signed");
    let before = checkpoint(&app);
    tamper(
        &app,
        &format!(
            "DELETE FROM audit_log WHERE vendor_id = '{vendor_id}' AND seq >= 6; \
             UPDATE vendors SET audit_seq = 5, audit_head = \
             (SELECT hash FROM audit_log WHERE vendor_id = '{vendor_id}' AND seq = 5) WHERE id = '{vendor_id}';"
        ),
    );
    // The worker compares with its previous checkpoint and signs nothing.
    let next = truview::worker::log_audit_checkpoint(&core, Some(first.clone())).await.unwrap();
    assert_eq!(next, Some(first), "the tampered state was not signed; the previous checkpoint stays");
    // A checkpoint taken by hand after the cut sits in the same log as the one before it.
    let after = checkpoint(&app);
    let log = app.db.dir.path().join("both-checkpoints.log");
    let text = std::fs::read_to_string(&before).unwrap() + &std::fs::read_to_string(&after).unwrap();
    std::fs::write(&log, text).unwrap();
    let report = verify(&app, Some(&log));
    assert_eq!(broken(&report).len(), 1, "{:?}", broken(&report));
    assert!(broken(&report)[0].contains("chain rolled back: it ends at row 5"), "{:?}", broken(&report));
}
