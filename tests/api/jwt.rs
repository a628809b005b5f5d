//! T6 (JWT matrix) and T7 (key rotation).

use base64::Engine;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use truview::clock::{Clock, SystemClock, SystemRandom};
use truview::security::keys::SecretsFile;

use crate::helpers::{assert_problem, json, spawn_app, TestApp};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn sign(app: &TestApp, header_kid: Option<&str>, claims: &Value) -> String {
    let secrets: SecretsFile = serde_json::from_slice(&std::fs::read(app.key_file()).unwrap()).unwrap();
    let key = secrets.jwt_keys.last().unwrap();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(header_kid.unwrap_or(&key.kid).to_owned());
    encode(&header, claims, &EncodingKey::from_ed_pem(key.private_pem.as_bytes()).unwrap()).unwrap()
}

async fn me_status(app: &TestApp, token: &str) -> StatusCode {
    app.request(Method::GET, "/api/v1/me", Some(token), None).await.status()
}

/// The `sid` claim of a token this service issued.
fn session_of(token: &str) -> String {
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap();
    serde_json::from_slice::<Value>(&bytes).unwrap()["sid"].as_str().unwrap().to_owned()
}

/// T6: every malformed, forged or out-of-time token is refused with 401.
#[actix_web::test]
async fn t6_jwt_matrix() {
    let app = spawn_app().await;
    let vendor = app.vendor("Jwt").await;
    let now = app.clock.now().timestamp();
    // The session id of the fixture's login: a forged token needs a live session too (M11).
    let sid = session_of(&vendor.token);
    let good = json!({"iss": "truview", "aud": "truview-staff", "sub": vendor.owner_id, "vid": vendor.id, "role": "owner", "sid": sid, "iat": now, "exp": now + 600});
    assert_eq!(me_status(&app, &sign(&app, None, &good)).await, StatusCode::OK, "control token");

    let with = |field: &str, value: Value| {
        let mut c = good.clone();
        c[field] = value;
        c
    };
    let without = |field: &str| {
        let mut c = good.clone();
        c.as_object_mut().unwrap().remove(field);
        c
    };
    let secrets: SecretsFile = serde_json::from_slice(&std::fs::read(app.key_file()).unwrap()).unwrap();
    let kid = secrets.jwt_keys.last().unwrap().kid.clone();
    let payload = b64(good.to_string().as_bytes());

    let mut cases: Vec<(&str, String)> = vec![
        (
            "alg none",
            format!("{}.{payload}.", b64(json!({"alg": "none", "typ": "JWT", "kid": kid}).to_string().as_bytes())),
        ),
        ("wrong aud", sign(&app, None, &with("aud", json!("someone-else")))),
        ("no session id", sign(&app, None, &without("sid"))),
        ("unknown session id", sign(&app, None, &with("sid", json!("0190a0b0-0000-7000-8000-000000000000")))),
        ("wrong iss", sign(&app, None, &with("iss", json!("evil")))),
        ("missing exp", sign(&app, None, &without("exp"))),
        ("missing iat", sign(&app, None, &without("iat"))),
        ("missing sub", sign(&app, None, &without("sub"))),
        ("expired", sign(&app, None, &with("exp", json!(now - 3600)))),
        ("future iat", sign(&app, None, &with("iat", json!(now + 3600)))),
        ("foreign kid", sign(&app, Some("kUNKNOWN"), &good)),
        ("garbage", "not.a.jwt".into()),
    ];
    // HS256 signed with the public key bytes (algorithm confusion).
    let public = truview::security::keys::public_pem(secrets.jwt_keys.last().unwrap()).unwrap();
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some(kid.clone());
    cases.push(("HS256 confusion", encode(&hs, &good, &EncodingKey::from_secret(public.as_bytes())).unwrap()));
    let rs_header = b64(json!({"alg": "RS256", "typ": "JWT", "kid": kid}).to_string().as_bytes());
    cases.push(("RS256 header", format!("{rs_header}.{payload}.{}", b64(&[7u8; 256]))));
    // A token signed by a key this deployment never had, under the right kid.
    let foreign = SecretsFile::generate(&SystemClock, &SystemRandom).unwrap();
    let mut fh = Header::new(Algorithm::EdDSA);
    fh.kid = Some(kid.clone());
    cases.push((
        "other key, same kid",
        encode(&fh, &good, &EncodingKey::from_ed_pem(foreign.jwt_keys[0].private_pem.as_bytes()).unwrap()).unwrap(),
    ));
    // Tampered payload: role raised, signature kept.
    let valid = sign(&app, None, &with("role", json!("analyst")));
    let parts: Vec<&str> = valid.split('.').collect();
    cases.push(("tampered payload", format!("{}.{}.{}", parts[0], b64(good.to_string().as_bytes()), parts[2])));

    for (name, token) in &cases {
        let res = app.request(Method::GET, "/api/v1/me", Some(token), None).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{name} must be refused");
        assert_problem(res, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }
    println!("t6_jwt_matrix: {} forged or invalid tokens, {} accepted", cases.len(), 0);

    // Expiry follows the injected clock (with the 30 s leeway).
    let token = app.login(&vendor.email, &vendor.password).await;
    app.clock.advance(chrono::Duration::seconds(900 + 31));
    assert_eq!(me_status(&app, &token).await, StatusCode::UNAUTHORIZED, "expired session");
}

/// T7: after rotation old tokens verify until expiry; a revoked key's tokens fail.
#[actix_web::test]
async fn t7_jwt_rotation() {
    let app = spawn_app().await;
    let vendor = app.vendor("Rotate").await;
    let old_token = vendor.token.clone();
    let path = app.key_file();

    let mut secrets = SecretsFile::load_or_create(&path, &SystemClock, &SystemRandom).unwrap();
    let old_kid = secrets.jwt_keys[0].kid.clone();
    app.clock.advance(chrono::Duration::seconds(1));
    let new_kid = secrets.rotate(app.clock.as_ref(), &SystemRandom).unwrap();
    secrets.save(&path).unwrap();

    let rotated = app.another_node();
    assert_eq!(me_status(&rotated, &old_token).await, StatusCode::OK, "old key still verifies");
    let new_token = rotated.login(&vendor.email, &vendor.password).await;
    let header = jsonwebtoken::decode_header(&new_token).unwrap();
    assert_eq!(header.kid.as_deref(), Some(new_kid.as_str()), "new logins are signed with the new key");

    secrets.revoke(&old_kid).unwrap();
    secrets.save(&path).unwrap();
    let revoked = app.another_node();
    assert_eq!(me_status(&revoked, &old_token).await, StatusCode::UNAUTHORIZED, "revoked key fails");
    let me = json(revoked.request(Method::GET, "/api/v1/me", Some(&new_token), None).await, StatusCode::OK).await;
    assert_eq!(me["staff_id"], vendor.owner_id.as_str(), "the new key's token still names its member");
}
