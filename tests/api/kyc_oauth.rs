//! Social login — T4 oauth_flow against a real OpenID Connect provider (npm
//! `oauth2-mock-server`, run by `tests/browser/oidc-mock.mjs`) and T5 oauth_ssrf against
//! local servers that answer with redirects and foreign hosts.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use actix_web::{web, App, HttpResponse, HttpServer};
use reqwest::StatusCode;
use serde_json::{json, Value};
use truview::config::ProviderSettings;

use crate::helpers::{json, spawn_app_with, TestApp, Vendor};

/// The mock provider process; killed when dropped.
struct OidcMock {
    child: Child,
    issuer: String,
}

impl Drop for OidcMock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the mock provider, or — outside CI, when `npm install` has not been run in
/// `tests/browser` — says loudly that T4 is skipped. Under `CI=true` a missing mock fails.
fn oidc_mock() -> Option<OidcMock> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    if !dir.join("node_modules/oauth2-mock-server").is_dir() {
        let msg = "oauth2-mock-server is not installed: run `npm install --prefix tests/browser` (.ci/run does)";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{msg}; T4 must run in CI");
        eprintln!("\n!!!!! SKIPPED T4 (social login against a real OIDC server): {msg} !!!!!\n");
        return None;
    }
    let mut child = Command::new("node")
        .arg("oidc-mock.mjs")
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node runs the OIDC mock");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("the mock prints its issuer");
    let issuer = serde_json::from_str::<Value>(&line).expect("a JSON line")["issuer"].as_str().unwrap().to_owned();
    Some(OidcMock { child, issuer })
}

/// The providers the tests use: each named after the fault its client id asks the mock for.
const FAULTS: [&str; 11] = [
    "good",
    "unverified",
    "nonce-missing",
    "nonce-wrong",
    "aud-wrong",
    "iss-wrong",
    "azp-wrong",
    "expired",
    "rotate",
    "foreign",
    "other",
];

async fn app_with_mock(mock: &OidcMock) -> TestApp {
    let issuer = mock.issuer.clone();
    spawn_app_with(move |s| {
        for fault in FAULTS {
            let client_id = if fault == "other" { "good~other".to_owned() } else { fault.to_owned() };
            s.kyc.providers.insert(
                fault.to_owned(),
                ProviderSettings {
                    issuer: Some(issuer.clone()),
                    client_id,
                    client_secret: Some("mock-secret".into()),
                    display_name: Some("Mock ID".into()),
                    ..Default::default()
                },
            );
        }
    })
    .await
}

/// The browser's side of a login up to the provider's answer: our start (302 + cookie),
/// the provider's authorization endpoint (302 back to our callback).
struct Pending {
    cookie: String,
    callback: String,
}

async fn begin(app: &TestApp, provider: &str, flow: &str) -> Pending {
    let res = app.get(&format!("/api/v1/public/kyc/oauth/{provider}/start?flow={flow}")).await;
    assert_eq!(res.status(), StatusCode::FOUND, "{}", res.text().await.unwrap());
    let set_cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    assert!(set_cookie.contains(&format!("Path=/api/v1/public/kyc/oauth/{provider}")), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let to_provider = res.headers()["location"].to_str().unwrap().to_owned();
    let url = url::Url::parse(&to_provider).unwrap();
    let query: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["redirect_uri"], app.url(&format!("/api/v1/public/kyc/oauth/{provider}/callback")));
    assert!(query["state"].len() >= 43 && query["nonce"].len() >= 43);
    assert!(query["scope"].split(' ').any(|s| s == "openid"));
    let res = app.client.get(&to_provider).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::FOUND);
    Pending { cookie, callback: res.headers()["location"].to_str().unwrap().to_owned() }
}

async fn answer(app: &TestApp, callback: &str, cookie: Option<&str>) -> (StatusCode, String) {
    let mut req = app.client.get(callback);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let res = req.send().await.unwrap();
    let status = res.status();
    assert_eq!(res.headers()["content-type"], "text/html; charset=utf-8");
    (status, res.text().await.unwrap())
}

async fn login(app: &TestApp, provider: &str, flow: &str) -> (StatusCode, String) {
    let p = begin(app, provider, flow).await;
    answer(app, &p.callback, Some(&p.cookie)).await
}

async fn shop(app: &TestApp) -> (Vendor, String) {
    let v = app.vendor("OIDC Shop").await;
    let order = app.order(&v, "1001", Some("buyer@example.com"), None, &["LAMP"]).await;
    (v, order)
}

const NOT_VERIFIED: &str = "the sign-in with Mock ID could not be verified: start again";

/// A review submitted through the flow: its level and check codes.
async fn submitted(app: &TestApp, flow: &str) -> (i64, Vec<String>) {
    let review =
        json(app.submit(flow, 5, json!({"title": "Good", "body": "Works well."})).await, StatusCode::CREATED).await;
    let checks = review["checks"].as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap().to_owned()).collect();
    (review["maturity_level"].as_i64().unwrap(), checks)
}

#[actix_web::test]
async fn t4_oauth_flow() {
    let Some(mock) = oidc_mock() else { return };
    let app = app_with_mock(&mock).await;
    let (v, order) = shop(&app).await;

    // The good path: a verified e-mail equal to the order's → level 5, verified buyer.
    let flow = app.flow(&v, Some("LAMP")).await;
    app.attach_purchase(&flow, &order).await;
    let (status, page) = login(&app, "good", &flow).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("<h1>Signed in with Mock ID</h1>"), "{page}");
    assert!(page.contains("Your review will be shown at level 5:"), "{page}");
    assert!(
        page.contains("<li>Identity checked with Mock ID</li>") && page.contains("<li>Verified buyer</li>"),
        "{page}"
    );
    let (level, checks) = submitted(&app, &flow).await;
    assert_eq!(level, 5);
    assert_eq!(checks, ["identity_oauth_good", "purchase_invitation", "verified_buyer"]);

    // A returning identity (same issuer and subject) cannot review the same product again.
    let again = app.flow(&v, Some("LAMP")).await;
    assert_eq!(login(&app, "good", &again).await.0, StatusCode::OK);
    let problem = json(app.submit(&again, 1, json!({})).await, StatusCode::CONFLICT).await;
    assert_eq!(problem["detail"], "you have already reviewed this product with this identity");
    // … but may review another product.
    let other = app.flow(&v, Some("DESK")).await;
    assert_eq!(login(&app, "good", &other).await.0, StatusCode::OK);
    assert_eq!(submitted(&app, &other).await.0, 2);

    // email_verified: false → the identity counts, the e-mail does not: level 4, no buyer.
    let flow = app.flow(&v, Some("SHADE")).await;
    app.attach_purchase(&flow, &order).await;
    let (status, page) = login(&app, "unverified", &flow).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("did not confirm an e-mail address"), "{page}");
    assert_eq!(
        submitted(&app, &flow).await,
        (4, vec!["identity_oauth_unverified".into(), "purchase_invitation".into()])
    );

    // Each broken ID token is refused and records nothing: the review stays at level 1.
    for fault in ["nonce-missing", "nonce-wrong", "aud-wrong", "iss-wrong", "azp-wrong", "expired"] {
        let flow = app.flow(&v, Some("CHAIR")).await;
        let (status, page) = login(&app, fault, &flow).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{fault}: {page}");
        assert!(page.contains(NOT_VERIFIED), "{fault}: {page}");
        assert_eq!(submitted(&app, &flow).await, (1, vec!["self_declared".into()]), "{fault}");
    }
    println!("t4_oauth_flow: good path to level 5, unverified e-mail at level 4, 6 broken ID tokens refused");
}

#[actix_web::test]
async fn t4_oauth_state_browser_replay_and_redirect_uri() {
    let Some(mock) = oidc_mock() else { return };
    let app = app_with_mock(&mock).await;
    let (v, _) = shop(&app).await;
    let flow = app.flow(&v, None).await;

    // A wrong state: refused (and the real one still works once).
    let p = begin(&app, "good", &flow).await;
    let forged = p.callback.replace("state=", "state=x");
    assert_eq!(answer(&app, &forged, Some(&p.cookie)).await.0, StatusCode::FORBIDDEN);
    // No state at all.
    let bare = p.callback.split('?').next().unwrap().to_owned() + "?code=abc";
    let (status, page) = answer(&app, &bare, Some(&p.cookie)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("the answer from Mock ID has no state: start the sign-in again"), "{page}");
    // Another browser (no cookie, or another login's cookie) cannot complete it; the state
    // is spent by that attempt.
    let q = begin(&app, "good", &flow).await;
    assert_eq!(answer(&app, &q.callback, None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(answer(&app, &q.callback, Some(&q.cookie)).await.0, StatusCode::FORBIDDEN);
    let r = begin(&app, "good", &flow).await;
    assert_eq!(answer(&app, &r.callback, Some(&p.cookie)).await.0, StatusCode::FORBIDDEN);

    // The right answer works once; replaying the code and state is refused.
    let (status, page) = answer(&app, &p.callback, Some(&p.cookie)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let (status, page) = answer(&app, &p.callback, Some(&p.cookie)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains(NOT_VERIFIED), "{page}");

    // An answer delivered to another provider's callback (another redirect URI) is refused.
    let flow = app.flow(&v, None).await;
    let p = begin(&app, "good", &flow).await;
    let elsewhere = p.callback.replace("/oauth/good/callback", "/oauth/other/callback");
    assert_eq!(answer(&app, &elsewhere, Some(&p.cookie)).await.0, StatusCode::FORBIDDEN);

    // The provider cancelled (the buyer said no).
    let p = begin(&app, "good", &flow).await;
    let state = url::Url::parse(&p.callback).unwrap().query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
    let denied = format!("{}?error=access_denied&state={state}", app.url("/api/v1/public/kyc/oauth/good/callback"));
    let (status, page) = answer(&app, &denied, Some(&p.cookie)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("the sign-in with Mock ID was cancelled or refused: start again"), "{page}");

    // A provider this service does not configure, or a used flow.
    let res = app.get(&format!("/api/v1/public/kyc/oauth/okta/start?flow={flow}")).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn t4_oauth_key_rotation() {
    let Some(mock) = oidc_mock() else { return };
    let app = app_with_mock(&mock).await;
    let (v, _) = shop(&app).await;

    // A token signed with a key the cached JWKS lacks, a minute after the keys were
    // fetched: the keys are fetched again, the new one is there, the login passes.
    let flow = app.flow(&v, None).await;
    let p = begin(&app, "rotate", &flow).await;
    app.clock.advance(chrono::Duration::seconds(61));
    let (status, page) = answer(&app, &p.callback, Some(&p.cookie)).await;
    assert_eq!(status, StatusCode::OK, "{page}");

    // A key that is never published: refetched, still unknown, refused.
    let flow = app.flow(&v, None).await;
    let p = begin(&app, "foreign", &flow).await;
    app.clock.advance(chrono::Duration::seconds(61));
    assert_eq!(answer(&app, &p.callback, Some(&p.cookie)).await.0, StatusCode::FORBIDDEN);
    // Within the minute, an unknown key does not even refetch: refused.
    let p = begin(&app, "foreign", &flow).await;
    assert_eq!(answer(&app, &p.callback, Some(&p.cookie)).await.0, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn vendors_choose_the_providers_their_flow_offers() {
    let Some(mock) = oidc_mock() else { return };
    let app = app_with_mock(&mock).await;
    let (v, _) = shop(&app).await;
    let flow = app.flow(&v, None).await;
    let listed = |body: Value| -> Vec<String> {
        body["providers"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_owned()).collect()
    };
    let all = json(app.get(&format!("/api/v1/public/kyc/providers?flow={flow}")).await, StatusCode::OK).await;
    assert_eq!(listed(all.clone()).len(), FAULTS.len());
    assert_eq!(
        all["providers"][0]["start_url"],
        json!(app.url(&format!("/api/v1/public/kyc/oauth/aud-wrong/start?flow={flow}")))
    );

    let res = app
        .request(reqwest::Method::PATCH, "/api/v1/vendor", Some(&v.token), Some(&json!({"kyc_providers": ["good"]})))
        .await;
    assert_eq!(json(res, StatusCode::OK).await["kyc_providers"], json!(["good"]));
    let only = json(app.get(&format!("/api/v1/public/kyc/providers?flow={flow}")).await, StatusCode::OK).await;
    assert_eq!(listed(only), ["good"]);
    assert_eq!(
        app.get(&format!("/api/v1/public/kyc/oauth/unverified/start?flow={flow}")).await.status(),
        StatusCode::NOT_FOUND
    );

    let res = app
        .request(reqwest::Method::PATCH, "/api/v1/vendor", Some(&v.token), Some(&json!({"kyc_providers": ["okta"]})))
        .await;
    let problem = json(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(problem["detail"], "kyc_providers names okta, which is not a configured sign-in provider");
}

#[actix_web::test]
async fn an_oauth_only_provider_reads_the_user_info() {
    let Some(mock) = oidc_mock() else { return };
    let issuer = mock.issuer.clone();
    let app = spawn_app_with(move |s| {
        s.kyc.providers.insert(
            "plain".into(),
            ProviderSettings {
                preset: Some("oauth2".into()),
                display_name: Some("Plain OAuth".into()),
                issuer: Some(issuer.clone()),
                authorize_url: Some(format!("{issuer}/authorize")),
                token_url: Some(format!("{issuer}/token")),
                userinfo_url: Some(format!("{issuer}/userinfo")),
                client_id: "good".into(),
                client_secret: Some("s".into()),
                ..Default::default()
            },
        );
    })
    .await;
    let (v, order) = shop(&app).await;
    let flow = app.flow(&v, Some("LAMP")).await;
    app.attach_purchase(&flow, &order).await;
    let res = app.get(&format!("/api/v1/public/kyc/oauth/plain/start?flow={flow}")).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let cookie = res.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let to_provider = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(to_provider.contains("code_challenge_method=S256") && !to_provider.contains("nonce="), "{to_provider}");
    let res = app.client.get(&to_provider).send().await.unwrap();
    let callback = res.headers()["location"].to_str().unwrap().to_owned();
    let (status, page) = answer(&app, &callback, Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains("<h1>Signed in with Plain OAuth</h1>"), "{page}");
    assert_eq!(
        submitted(&app, &flow).await,
        (5, vec!["identity_oauth_plain".into(), "purchase_invitation".into(), "verified_buyer".into()])
    );
}

#[actix_web::test]
async fn a_form_post_answer_is_taken_like_apples() {
    let Some(mock) = oidc_mock() else { return };
    let issuer = mock.issuer.clone();
    let app = spawn_app_with(move |s| {
        s.kyc.providers.insert(
            "apple".into(),
            ProviderSettings {
                preset: Some("apple".into()),
                issuer: Some(issuer),
                client_id: "good".into(),
                client_secret: Some("client-secret-jwt".into()),
                ..Default::default()
            },
        );
    })
    .await;
    let (v, _) = shop(&app).await;
    let flow = app.flow(&v, None).await;
    let res = app.get(&format!("/api/v1/public/kyc/oauth/apple/start?flow={flow}")).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let set_cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    // Apple's answer is a cross-site POST: only a SameSite=None (hence Secure) cookie rides on it.
    assert!(set_cookie.contains("SameSite=None") && set_cookie.contains("Secure"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let to_provider = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(to_provider.contains("response_mode=form_post"), "{to_provider}");
    // The mock answers by redirect; the browser would have posted the same fields.
    let res = app.client.get(&to_provider).send().await.unwrap();
    let callback = url::Url::parse(res.headers()["location"].to_str().unwrap()).unwrap();
    let fields: Vec<(String, String)> = callback.query_pairs().into_owned().collect();
    let res = app
        .client
        .post(app.url("/api/v1/public/kyc/oauth/apple/callback"))
        .header("cookie", cookie)
        .header("origin", "https://appleid.apple.com")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("<h1>Signed in with Apple</h1>"));
    assert_eq!(submitted(&app, &flow).await.0, 2);
}

/// A stand-in issuer for T5: its discovery answers with a redirect, or names a JWKS on a
/// host the provider is not configured for; every request to a path is counted.
async fn hostile_issuer(mode: &'static str) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let server = HttpServer::new(move || {
        let counted = counted.clone();
        App::new().default_service(web::to(move |req: actix_web::HttpRequest| {
            let counted = counted.clone();
            async move {
                let port = req.app_config().local_addr().port();
                match req.path() {
                    "/.well-known/openid-configuration" if mode == "redirect" => HttpResponse::Found()
                        .insert_header((
                            "location",
                            format!("http://127.0.0.1:{port}/elsewhere/.well-known/openid-configuration"),
                        ))
                        .finish(),
                    "/.well-known/openid-configuration" => HttpResponse::Ok().json(json!({
                        "issuer": format!("http://127.0.0.1:{port}"),
                        "authorization_endpoint": format!("http://127.0.0.1:{port}/authorize"),
                        "token_endpoint": format!("http://127.0.0.1:{port}/token"),
                        "jwks_uri": format!("http://localhost:{port}/jwks"),
                        "response_types_supported": ["code"],
                        "subject_types_supported": ["public"],
                        "id_token_signing_alg_values_supported": ["RS256"],
                    })),
                    _ => {
                        counted.fetch_add(1, Ordering::SeqCst);
                        HttpResponse::Ok().json(json!({"keys": []}))
                    }
                }
            }
        }))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let port = server.addrs()[0].port();
    actix_web::rt::spawn(server.run());
    (format!("http://127.0.0.1:{port}"), hits)
}

#[actix_web::test]
async fn t5_oauth_ssrf() {
    for mode in ["redirect", "foreign-jwks-host"] {
        let (issuer, hits) = hostile_issuer(mode).await;
        let app = spawn_app_with(move |s| {
            s.kyc.providers.insert(
                "corp".into(),
                ProviderSettings { issuer: Some(issuer), client_id: "c".into(), ..Default::default() },
            );
        })
        .await;
        let v = app.vendor("SSRF Shop").await;
        let flow = app.flow(&v, None).await;
        let res = app.get(&format!("/api/v1/public/kyc/oauth/corp/start?flow={flow}")).await;
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "{mode}");
        let problem: Value = res.json().await.unwrap();
        assert_eq!(problem["detail"], "corp could not be reached to sign you in; try again in a moment");
        assert_eq!(hits.load(Ordering::SeqCst), 0, "{mode}: a redirect was followed or a foreign host contacted");
    }
    println!("t5_oauth_ssrf: discovery redirect not followed, JWKS on an unconfigured host not fetched (0 requests)");
}

/// Signing in from the hosted review page (`page=true`) comes straight back to it: the page
/// then lists the sign-in among its checks; a refused sign-in links back to the review.
#[actix_web::test]
async fn a_sign_in_started_on_the_hosted_page_comes_back_to_it() {
    let Some(mock) = oidc_mock() else { return };
    let app = app_with_mock(&mock).await;
    let (v, _) = shop(&app).await;
    let to_page = location_of(app.get(&format!("/r/new?key={}&sku=LAMP", v.pk)).await);
    let flow = to_page.trim_start_matches("/r/flow/").to_owned();
    let html = app.get(&to_page).await.text().await.unwrap();
    let start = format!("/api/v1/public/kyc/oauth/good/start?flow={flow}&amp;page=true");
    assert!(
        html.contains(&format!(
            "<a class=\"button secondary\" target=\"_top\" href=\"{start}\">Sign in with Mock ID</a>"
        )),
        "{html}"
    );

    for (provider, refused) in [("good", false), ("nonce-wrong", true)] {
        let flow = if refused {
            location_of(app.get(&format!("/r/new?key={}&sku=DESK", v.pk)).await)
                .trim_start_matches("/r/flow/")
                .to_owned()
        } else {
            flow.clone()
        };
        let res = app.get(&format!("/api/v1/public/kyc/oauth/{provider}/start?flow={flow}&page=true")).await;
        assert_eq!(res.status(), StatusCode::FOUND);
        let cookies: Vec<String> = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned())
            .collect();
        assert_eq!(cookies.len(), 2, "{cookies:?}");
        assert!(cookies.contains(&format!("truview_back={flow}")), "{cookies:?}");
        let to_provider = res.headers()["location"].to_str().unwrap().to_owned();
        let res = app.client.get(&to_provider).send().await.unwrap();
        let callback = res.headers()["location"].to_str().unwrap().to_owned();
        let res = app.client.get(&callback).header("cookie", cookies.join("; ")).send().await.unwrap();
        if refused {
            assert_eq!(res.status(), StatusCode::FORBIDDEN);
            let page = res.text().await.unwrap();
            assert!(page.contains(NOT_VERIFIED), "{page}");
            assert!(
                page.contains(&format!("<a href=\"/r/flow/{flow}?skip_nps=true\">Back to your review</a>")),
                "{page}"
            );
        } else {
            assert_eq!(
                (res.status(), location_of(res)),
                (StatusCode::SEE_OTHER, format!("/r/flow/{flow}?skip_nps=true"))
            );
            let html = app.get(&format!("/r/flow/{flow}")).await.text().await.unwrap();
            assert!(html.contains("<li>✓ Identity checked with Mock ID</li>"), "{html}");
            assert!(html.contains("level 2 · Verified identity") && !html.contains("Confirm it is you"), "{html}");
        }
    }
}

fn location_of(res: reqwest::Response) -> String {
    res.headers()["location"].to_str().unwrap().to_owned()
}
