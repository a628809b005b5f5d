//! H2 / M7: the widget-read cache is keyed by the parsed query, bounded in bytes with a
//! per-vendor share, and invalidated per vendor.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use truview::cache::{Cached, RefreshCounts};
use truview::http::widget_key;

use crate::helpers::{json, spawn_app, spawn_app_with, TestApp, Vendor};

async fn read(app: &TestApp, path: &str) -> Value {
    json(app.get(path).await, StatusCode::OK).await
}

/// H2: parameters the read ignores, and spellings of the same query, share one entry.
#[actix_web::test]
async fn h2_junk_query_parameters_share_one_cache_entry() {
    let app = spawn_app().await;
    let vendor = app.vendor("Junk").await;
    let cache = &app.state.public_cache;
    for i in 0..30 {
        read(&app, &format!("/api/v1/public/{}/summary?sku=X&junk={i}", vendor.pk)).await;
        read(&app, &format!("/api/v1/public/{}/reviews?junk={i}&limit=20&sort=recent", vendor.pk)).await;
    }
    read(&app, &format!("/api/v1/public/{}/summary?%73ku=%58", vendor.pk)).await;
    read(&app, &format!("/api/v1/public/{}/reviews?sort=recent&min_level=0", vendor.pk)).await;
    read(&app, &format!("/api/v1/public/{}/reviews", vendor.pk)).await;
    assert_eq!(cache.len(), 2, "one summary and one review-list entry");
    assert!(cache.contains(&widget_key::summary(&vendor.pk, Some("X"))));
    let default_query = truview::store::reviews::PublicQuery {
        sku: None,
        min_level: 0,
        sort: truview::store::reviews::Sort::Recent,
        after: None,
        limit: 20,
    };
    assert!(cache.contains(&widget_key::reviews(&vendor.pk, &default_query)));
    // A different query is a different entry; an invalid one is refused and stores nothing.
    read(&app, &format!("/api/v1/public/{}/summary?sku=Y", vendor.pk)).await;
    assert_eq!(cache.len(), 3);
    let res = app.get(&format!("/api/v1/public/{}/reviews?limit=51", vendor.pk)).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(cache.len(), 3);
}

/// H2: a flood of distinct (valid) queries against one vendor stays within that vendor's
/// share of the byte bound and never evicts another vendor's entries.
#[actix_web::test]
async fn h2_flood_of_one_vendor_does_not_flush_another() {
    const MAX: usize = 64 * 1024;
    let app = spawn_app_with(|s| {
        s.public_cache_max_bytes = MAX;
        s.rate_limit_per_ip = 10_000;
    })
    .await;
    let (victim, attacker) = (app.vendor("Victim").await, app.vendor("Attacker").await);
    let cache = &app.state.public_cache;
    let victim_path = format!("/api/v1/public/{}/summary", victim.pk);
    assert_eq!(read(&app, &victim_path).await["count"], 0);
    for i in 0..300 {
        read(&app, &format!("/api/v1/public/{}/summary?sku=FLOOD-{i}", attacker.pk)).await;
        assert!(
            cache.vendor_bytes(&attacker.id) <= MAX / truview::cache::VENDOR_SHARE,
            "{} after {i}",
            cache.vendor_bytes(&attacker.id)
        );
        assert!(cache.bytes() <= MAX);
    }
    assert!(cache.vendor_len(&attacker.id) >= 5, "the attacker's recent entries are kept");
    assert!(cache.contains(&widget_key::summary(&attacker.pk, Some("FLOOD-299"))));
    assert!(!cache.contains(&widget_key::summary(&attacker.pk, Some("FLOOD-0"))), "its oldest went first");
    assert!(cache.contains(&widget_key::summary(&victim.pk, None)), "the victim's entry survives");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains(&format!("truview_public_cache_bytes {}", cache.bytes())), "{metrics}");
}

/// M7: writes for one vendor (anonymous quick ratings here) neither drop another vendor's
/// entries nor make the cache refuse values that other vendor's readers computed meanwhile.
#[actix_web::test]
async fn m7_votes_for_one_vendor_do_not_defeat_another_vendors_cache() {
    let app = spawn_app().await;
    let (noisy, quiet) = (app.vendor("Noisy").await, app.vendor("Quiet").await);
    let cache = &app.state.public_cache;
    let quiet_path = format!("/api/v1/public/{}/summary", quiet.pk);
    let noisy_path = format!("/api/v1/public/{}/summary", noisy.pk);
    read(&app, &quiet_path).await;
    read(&app, &noisy_path).await;
    // A read of the quiet vendor starts (its generation is taken) ...
    let before = cache.generation();
    // ... while the noisy vendor's widget takes votes.
    for i in 0..5 {
        let body = json!({"rating": 5, "voter_token": format!("m7-voter-token-{i:04}")});
        let res = app.post(&format!("/api/v1/public/{}/ratings", noisy.pk), &body).await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    assert!(!cache.contains(&widget_key::summary(&noisy.pk, None)), "the noisy vendor's own entry is dropped");
    assert!(cache.contains(&widget_key::summary(&quiet.pk, None)), "the quiet vendor's is not");
    // The quiet vendor's read finishes and is stored, although the noisy one wrote since.
    let key = widget_key::reviews(
        &quiet.pk,
        &truview::store::reviews::PublicQuery {
            sku: None,
            min_level: 0,
            sort: truview::store::reviews::Sort::Recent,
            after: None,
            limit: 20,
        },
    );
    let value = Cached {
        vendor_id: quiet.id.clone(),
        pk: Arc::from(quiet.pk.as_str()),
        version: 0,
        origins: Arc::new(vec![]),
        body: actix_web::web::Bytes::from_static(b"{\"reviews\":[],\"next_cursor\":null}"),
        etag: "\"m7\"".into(),
    };
    cache.put(key.clone(), value.clone(), before, app.clock.as_ref());
    assert!(cache.contains(&key), "another vendor's writes do not refuse this put");
    // The noisy vendor's own values from before its writes are still refused.
    let noisy_key = widget_key::reviews(
        &noisy.pk,
        &truview::store::reviews::PublicQuery {
            sku: None,
            min_level: 0,
            sort: truview::store::reviews::Sort::Recent,
            after: None,
            limit: 20,
        },
    );
    cache.put(
        noisy_key.clone(),
        Cached { vendor_id: noisy.id.clone(), pk: Arc::from(noisy.pk.as_str()), ..value },
        before,
        app.clock.as_ref(),
    );
    assert!(!cache.contains(&noisy_key));
    assert!(cache.contains(&widget_key::summary(&quiet.pk, None)));
    assert_eq!(read(&app, &noisy_path).await["quick_ratings"]["count"], 5, "recomputed after its writes");
}

/// Review finding: a publishable key revoked on another node stops reading on this node at
/// the next refresh of its cached reads (before, each refresh failed and the stale value
/// kept being served).
#[actix_web::test]
async fn a_key_revoked_elsewhere_stops_reading_at_the_next_refresh() {
    let app = spawn_app_with(|s| s.public_cache_ttl_secs = 5).await;
    let vendor = app.vendor("Revoked Widget").await;
    let path = format!("/api/v1/public/{}/summary", vendor.pk);
    read(&app, &path).await;
    let other = app.another_node();
    let keys = json(other.request(Method::GET, "/api/v1/keys", Some(&vendor.token), None).await, StatusCode::OK).await;
    let pk_id = keys.as_array().unwrap().iter().find(|k| k["kind"] == "publishable").unwrap()["id"].clone();
    let revoke = format!("/api/v1/keys/{}", pk_id.as_str().unwrap());
    assert_eq!(
        other.request(Method::DELETE, &revoke, Some(&vendor.token), None).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(app.get(&path).await.status(), StatusCode::OK, "still fresh on this node");
    app.clock.advance(chrono::Duration::seconds(5));
    assert_eq!(app.get(&path).await.status(), StatusCode::OK, "served stale once while it refreshes");
    // The refresh is real database work on another task: wait for it in real time.
    let mut status = StatusCode::OK;
    for _ in 0..1000 {
        status = app.get(&path).await.status();
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// A widget read is answered ahead of the router when its path names it plainly; a path
/// that spells the same key with a percent-escape goes through the router to the same
/// handler. Both must give the same answer: status, body, ETag, caching and CORS headers,
/// and the same problem for a key that is not one.
#[actix_web::test]
async fn widget_reads_answer_alike_ahead_of_the_router_and_through_it() {
    let app = spawn_app().await;
    let vendor = app.vendor("Alike").await;
    let id = app.review(&vendor, Some("LAMP"), 5).await;
    app.publish(&vendor, &id).await;
    let escaped = vendor.pk.replacen('_', "%5F", 1);
    assert_ne!(escaped, vendor.pk);
    let origin = "https://alike.example";
    let answer = |path: String| {
        let app = &app;
        async move {
            let res = app.client.get(app.url(&path)).header("origin", origin).send().await.unwrap();
            let status = res.status();
            let headers: Vec<(String, String)> =
                ["etag", "cache-control", "vary", "access-control-allow-origin", "content-type"]
                    .iter()
                    .map(|h| {
                        (
                            h.to_string(),
                            res.headers().get(*h).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default(),
                        )
                    })
                    .collect();
            (status, headers, res.text().await.unwrap())
        }
    };
    for read in ["reviews?sku=LAMP", "summary?sku=LAMP", "reviews?limit=51"] {
        let plain = answer(format!("/api/v1/public/{}/{read}", vendor.pk)).await;
        let routed = answer(format!("/api/v1/public/{escaped}/{read}")).await;
        assert_eq!(plain, routed, "{read}");
        let expected = if read.contains("limit=51") { StatusCode::BAD_REQUEST } else { StatusCode::OK };
        assert_eq!(plain.0, expected, "{read}: {}", plain.2);
    }
    let plain = answer(format!("/api/v1/public/{}/reviews", vendor.pk)).await;
    assert_eq!(plain.1[3], ("access-control-allow-origin".to_owned(), origin.to_owned()));
    assert!(plain.2.contains(&id), "{}", plain.2);
    // Not a publishable key: the same 401 problem either way.
    let plain = answer("/api/v1/public/sk_nope/summary".into()).await;
    let routed = answer("/api/v1/public/sk%5Fnope/summary".into()).await;
    assert_eq!(plain, routed);
    assert_eq!(plain.0, StatusCode::UNAUTHORIZED);
    // Another method on a read's path is still the router's 405 with its Allow.
    let res = app.request(Method::POST, &format!("/api/v1/public/{}/reviews", vendor.pk), None, None).await;
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.headers()["allow"], "GET");
}

/// Waits (in real time: the refresh is database work on another task) until `done`.
async fn settle(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if done() {
            return;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("{what}: not within 10 s");
}

/// Lets this node's entry for `path` expire, reads it once more (served stale while it
/// refreshes) and returns what the read shows once the refresh landed, or after 10 s
/// whatever it shows then.
async fn after_refresh(app: &TestApp, path: &str, before: &Value) -> Value {
    app.clock.advance(chrono::Duration::seconds(5));
    assert_eq!(&read(app, path).await, before, "{path}: the stale value is served while it refreshes");
    let mut now = before.clone();
    for _ in 0..1000 {
        now = read(app, path).await;
        if &now != before {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    now
}

/// Expired reads of a vendor whose widget did not change are confirmed by one check of its
/// widget version (one query for all of the key's expired entries) instead of being
/// computed again.
#[actix_web::test]
async fn expired_reads_of_an_unchanged_vendor_are_confirmed_not_computed() {
    let app = spawn_app_with(|s| s.public_cache_ttl_secs = 5).await;
    let vendor = app.vendor("Unchanged").await;
    let id = app.review(&vendor, Some("LAMP-1"), 4).await;
    app.publish(&vendor, &id).await;
    let cache = &app.state.public_cache;
    let summary_path = format!("/api/v1/public/{}/summary?sku=LAMP-1", vendor.pk);
    let page_path = format!("/api/v1/public/{}/reviews?sku=LAMP-1", vendor.pk);
    let (summary, page) = (read(&app, &summary_path).await, read(&app, &page_path).await);
    assert_eq!((summary["count"].clone(), page["reviews"][0]["id"].clone()), (json!(1), json!(id)));
    app.clock.advance(chrono::Duration::seconds(5));
    assert_eq!(read(&app, &summary_path).await, summary, "served while it is revalidated");
    settle("the summary confirmed", || cache.refresh_counts().unchanged == 1).await;
    // The same check confirms the page (no query of its own) as it is read.
    assert_eq!(read(&app, &page_path).await, page);
    let counts = cache.refresh_counts();
    assert_eq!((counts.unchanged, counts.recomputed), (2, 0));
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("truview_public_cache_refreshes_total{outcome=\"unchanged\"} 2"), "{metrics}");
    assert!(metrics.contains("truview_public_cache_refreshes_total{outcome=\"recomputed\"} 0"), "{metrics}");
}

/// Every kind of change another node (or a worker) makes to what a widget shows moves the
/// vendor's widget version, so this node shows it at its next refresh instead of
/// confirming what it holds: a published review (count and aggregates), a reply, a
/// helpful vote, a quick rating, the product's name and the vendor's origins (CORS).
#[actix_web::test]
async fn changes_made_on_another_node_show_at_the_next_refresh() {
    let app = spawn_app_with(|s| s.public_cache_ttl_secs = 5).await;
    let other = app.another_node();
    let vendor = app.vendor("Elsewhere").await;
    let put_product = |name: &str| {
        let body = json!({"name": name});
        let path = "/api/v1/products/LAMP-1".to_owned();
        let other = &other;
        let token = vendor.token.clone();
        async move { other.request(Method::PUT, &path, Some(&token), Some(&body)).await }
    };
    assert_eq!(put_product("Desk lamp").await.status(), StatusCode::CREATED);
    let first = app.review(&vendor, Some("LAMP-1"), 4).await;
    app.publish(&vendor, &first).await;
    let summary_path = format!("/api/v1/public/{}/summary?sku=LAMP-1", vendor.pk);
    let page_path = format!("/api/v1/public/{}/reviews?sku=LAMP-1", vendor.pk);
    let mut summary = read(&app, &summary_path).await;
    let mut page = read(&app, &page_path).await;
    let recomputed = app.state.public_cache.refresh_counts().recomputed;

    // A review published on the other node: not shown here while the entry is fresh.
    let second = other.review(&vendor, Some("LAMP-1"), 2).await;
    other.publish(&vendor, &second).await;
    assert_eq!(read(&app, &summary_path).await["count"], 1, "fresh until the TTL");
    summary = after_refresh(&app, &summary_path, &summary).await;
    assert_eq!((summary["count"].clone(), summary["histogram"]["2"].clone()), (json!(2), json!(1)));
    page = after_refresh(&app, &page_path, &page).await;
    assert_eq!(page["reviews"].as_array().map(Vec::len), Some(2));
    let shown = |page: &Value, field: &str| {
        let review = page["reviews"].as_array().unwrap().iter().find(|r| r["id"] == json!(first)).unwrap();
        review[field].clone()
    };

    let reply = format!("/api/v1/reviews/{first}/reply");
    let res = other.request(Method::POST, &reply, Some(&vendor.token), Some(&json!({"body": "Thanks, Ann!"}))).await;
    assert_eq!(res.status(), StatusCode::OK);
    page = after_refresh(&app, &page_path, &page).await;
    assert_eq!(shown(&page, "reply")["body"], "Thanks, Ann!");

    let vote = format!("/api/v1/public/{}/reviews/{first}/helpful", vendor.pk);
    let res = other.post(&vote, &json!({"voter_token": "elsewhere-voter-token-01"})).await;
    assert!(res.status().is_success(), "{}", res.status());
    page = after_refresh(&app, &page_path, &page).await;
    assert_eq!(shown(&page, "helpful_count"), 1);

    let quick = json!({"rating": 5, "voter_token": "elsewhere-voter-token-02", "sku": "LAMP-1"});
    assert_eq!(
        other.post(&format!("/api/v1/public/{}/ratings", vendor.pk), &quick).await.status(),
        StatusCode::CREATED
    );
    summary = after_refresh(&app, &summary_path, &summary).await;
    assert_eq!(summary["quick_ratings"]["count"], 1);

    assert_eq!(put_product("Desk lamp, brass").await.status(), StatusCode::OK);
    summary = after_refresh(&app, &summary_path, &summary).await;
    assert_eq!(summary["product"]["name"], "Desk lamp, brass");

    // The origins are not in the body but in the CORS answer cached with it.
    let allowed = |origin: &'static str| {
        let (app, path) = (&app, summary_path.clone());
        async move {
            let res = app.client.get(app.url(&path)).header("Origin", origin).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            res.headers().get("access-control-allow-origin").map(|v| v.to_str().unwrap().to_owned())
        }
    };
    assert_eq!(allowed("https://new-shop.example").await, None);
    let origins = json!({"origins": ["https://elsewhere.example", "https://new-shop.example"]});
    let res = other.request(Method::PATCH, "/api/v1/vendor", Some(&vendor.token), Some(&origins)).await;
    assert_eq!(res.status(), StatusCode::OK);
    app.clock.advance(chrono::Duration::seconds(5));
    let mut cors = None;
    for _ in 0..1000 {
        cors = allowed("https://new-shop.example").await;
        if cors.is_some() {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(cors.as_deref(), Some("https://new-shop.example"));
    // Each of the seven refreshes computed its read again: no change was confirmed away.
    assert_eq!(app.state.public_cache.refresh_counts().recomputed, recomputed + 7);
}

/// After a quiet spell longer than the stale window, a read is served only once a version
/// check on the request confirms it: an unchanged vendor's from the cache (a point query,
/// not the read), a changed one's computed on the request (never the old content).
#[actix_web::test]
async fn after_a_quiet_spell_a_read_is_confirmed_or_computed_on_the_request() {
    let app = spawn_app_with(|s| s.public_cache_ttl_secs = 5).await;
    let other = app.another_node();
    let (quiet, changed) = (app.vendor("Quiet Spell").await, app.vendor("Changed Spell").await);
    for vendor in [&quiet, &changed] {
        let id = app.review(vendor, None, 5).await;
        app.publish(vendor, &id).await;
    }
    let path = |vendor: &Vendor| format!("/api/v1/public/{}/summary", vendor.pk);
    let quiet_summary = read(&app, &path(&quiet)).await;
    assert_eq!(read(&app, &path(&changed)).await["count"], 1);
    let id = other.review(&changed, None, 1).await;
    other.publish(&changed, &id).await;
    app.clock.advance(chrono::Duration::seconds(90));
    let cache = &app.state.public_cache;
    let RefreshCounts { unchanged, recomputed } = cache.refresh_counts();
    assert_eq!(read(&app, &path(&quiet)).await, quiet_summary);
    assert_eq!(cache.refresh_counts(), RefreshCounts { unchanged: unchanged + 1, recomputed });
    let summary = read(&app, &path(&changed)).await;
    assert_eq!((summary["count"].clone(), summary["histogram"]["1"].clone()), (json!(2), json!(1)));
    assert_eq!(cache.refresh_counts(), RefreshCounts { unchanged: unchanged + 1, recomputed: recomputed + 1 });
}

/// PostgreSQL: a moderation decision takes a vendor's rows in one order (the review, then
/// the vendor row as it appends to the audit chain) and a change of the vendor's origins in
/// the other (the vendor row, then, by trigger, the widget version). Run at the same moment,
/// both commit, and the widget version moves once for each. (On SQLite one writer at a time
/// holds the whole database, so there is no order to get wrong.)
#[actix_web::test]
async fn writes_taking_a_vendors_rows_in_opposite_orders_both_commit() {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use diesel::sql_types::{Integer, Text};
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    let app = spawn_app().await;
    if !app.db.is_postgres() {
        return;
    }
    let vendor = app.vendor("Opposite").await;
    let review = app.review(&vendor, None, 4).await;
    let url = app.settings.database_url.clone();
    let version = |vendor_id: &str| {
        let mut conn = truview::db::establish(&url).unwrap();
        truview::store::vendors::widget_version(&mut conn, vendor_id).unwrap()
    };
    let before = version(&vendor.id);

    #[derive(QueryableByName)]
    struct Pid {
        #[diesel(sql_type = Integer)]
        pid: i32,
    }
    let mut moderation = PgConnection::establish(&url).unwrap();
    let pid = diesel::sql_query("SELECT pg_backend_pid() AS pid").get_result::<Pid>(&mut moderation).unwrap().pid;
    moderation.batch_execute("BEGIN").unwrap();
    diesel::sql_query("UPDATE reviews SET status = status WHERE id = $1")
        .bind::<Text, _>(&review)
        .execute(&mut moderation)
        .unwrap();

    let (written, was_written) = mpsc::channel();
    let (url2, vendor_id) = (url.clone(), vendor.id.clone());
    let origins = std::thread::spawn(move || -> QueryResult<()> {
        let mut conn = PgConnection::establish(&url2).unwrap();
        conn.batch_execute("BEGIN")?;
        diesel::sql_query("UPDATE vendors SET origins = '[\"https://shop.example\"]' WHERE id = $1")
            .bind::<Text, _>(&vendor_id)
            .execute(&mut conn)?;
        written.send(()).unwrap();
        // Commit once the moderation waits for this transaction's vendor row.
        let deadline = Instant::now() + Duration::from_secs(10);
        #[derive(QueryableByName)]
        struct Waiting {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut probe = PgConnection::establish(&url2).unwrap();
        while diesel::sql_query(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'",
        )
        .bind::<Integer, _>(pid)
        .get_result::<Waiting>(&mut probe)?
        .n == 0
        {
            assert!(Instant::now() < deadline, "the moderation never waited for the vendor row");
            std::thread::yield_now();
        }
        conn.batch_execute("COMMIT")
    });
    assert!(
        was_written.recv_timeout(Duration::from_secs(5)).is_ok(),
        "the change of origins waited for the moderation's uncommitted review write"
    );
    // The audit append: the vendor row, which the change of origins holds until it commits.
    let audit = diesel::sql_query("UPDATE vendors SET audit_seq = audit_seq WHERE id = $1")
        .bind::<Text, _>(&vendor.id)
        .execute(&mut moderation);
    let committed = audit.and_then(|_| moderation.batch_execute("COMMIT"));
    assert!(committed.is_ok(), "moderation: {committed:?}");
    let other = origins.join().unwrap();
    assert!(other.is_ok(), "change of origins: {other:?}");
    assert_eq!(version(&vendor.id), before + 2, "one move for each transaction");
}

/// PostgreSQL: however many widget rows one transaction writes, in whichever tables and by
/// insert, update or delete, the vendor's widget version moves once, as it commits; rows
/// rolled back to a savepoint move nothing; another vendor's version stays where it was.
#[actix_web::test]
async fn one_transaction_moves_a_vendors_widget_version_once() {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use diesel::sql_types::Text;

    let app = spawn_app().await;
    if !app.db.is_postgres() {
        return;
    }
    let (vendor, other) = (app.vendor("Once").await, app.vendor("Bystander").await);
    app.review(&vendor, None, 4).await;
    app.review(&vendor, None, 2).await;
    app.review(&other, None, 5).await;
    let url = app.settings.database_url.clone();
    let version = |vendor_id: &str| {
        let mut conn = truview::db::establish(&url).unwrap();
        truview::store::vendors::widget_version(&mut conn, vendor_id).unwrap()
    };
    let (before, other_before) = (version(&vendor.id), version(&other.id));

    let mut conn = PgConnection::establish(&url).unwrap();
    let run =
        |conn: &mut PgConnection, sql: &str| diesel::sql_query(sql).bind::<Text, _>(&vendor.id).execute(conn).unwrap();
    conn.batch_execute("BEGIN").unwrap();
    assert_eq!(run(&mut conn, "UPDATE reviews SET status = status WHERE vendor_id = $1"), 2);
    run(&mut conn, "UPDATE review_aggregates SET vendor_id = vendor_id WHERE vendor_id = $1");
    run(
        &mut conn,
        "INSERT INTO products (vendor_id, sku, name, created_at, updated_at) VALUES ($1, 'ONCE', 'Once', 0, 0)",
    );
    assert_eq!(run(&mut conn, "DELETE FROM products WHERE vendor_id = $1 AND sku = 'ONCE'"), 1);
    assert_eq!(version(&vendor.id), before, "nothing moves before the commit");
    conn.batch_execute("COMMIT").unwrap();
    assert_eq!(version(&vendor.id), before + 1, "one move for the transaction");

    conn.batch_execute("BEGIN; SAVEPOINT s").unwrap();
    run(&mut conn, "UPDATE reviews SET status = status WHERE vendor_id = $1");
    conn.batch_execute("ROLLBACK TO SAVEPOINT s; COMMIT").unwrap();
    assert_eq!(version(&vendor.id), before + 1, "a write rolled back to a savepoint moves nothing");
    assert_eq!(version(&other.id), other_before, "another vendor's version does not move");
}
