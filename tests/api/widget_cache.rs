//! H2 / M7: the widget-read cache is keyed by the parsed query, bounded in bytes with a
//! per-vendor share, and invalidated per vendor.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use truview::cache::Cached;
use truview::http::widget_key;

use crate::helpers::{json, spawn_app, spawn_app_with, TestApp};

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
    cache.put(noisy_key.clone(), Cached { vendor_id: noisy.id.clone(), ..value }, before, app.clock.as_ref());
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
