//! The widget script as the binary serves it, and the /demo shop page with its seeded
//! content.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{json, spawn_app, spawn_app_with};

#[actix_web::test]
async fn the_script_is_served_compressed_cached_and_small() {
    let app = spawn_app().await;
    let br =
        app.client.get(app.url("/widget/v1/truview.js")).header("accept-encoding", "gzip, br").send().await.unwrap();
    assert_eq!(br.headers()["content-encoding"], "br");
    let br_size = br.bytes().await.unwrap().len();
    assert_eq!(br_size, truview::http::widget::brotli_len());
    let gz = app.client.get(app.url("/widget/v1/truview.js")).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(gz.status(), StatusCode::OK);
    let headers = gz.headers().clone();
    assert_eq!(headers["content-type"], "text/javascript; charset=utf-8");
    assert_eq!(headers["content-encoding"], "gzip");
    assert_eq!(headers["vary"], "Accept-Encoding");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["cache-control"], "public, max-age=300");
    assert_eq!(headers["access-control-allow-origin"], "*");
    let size = gz.bytes().await.unwrap().len();
    assert!(size <= 10 * 1024, "the widget is {size} bytes gzipped; the budget is 10 KB");
    assert_eq!(size, truview::http::widget::gzipped_len());
    assert!(br_size < size, "brotli {br_size} B, gzip {size} B");
    println!("widget: {size} bytes gzipped, {br_size} bytes brotli");

    let plain =
        app.client.get(app.url("/widget/v1/truview.js")).header("accept-encoding", "identity").send().await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    let text = plain.text().await.unwrap();
    assert!(text.contains("customElements.define(\"truview-reviews\""));
    assert!(!text.contains("innerHTML"), "review text is only ever set with textContent");
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let again = app.client.get(app.url("/widget/v1/truview.js")).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    let versioned = truview::http::widget::versioned_path();
    let res = app.client.get(app.url(&versioned)).send().await.unwrap();
    assert_eq!(res.headers()["cache-control"], "public, max-age=31536000, immutable");
}

#[actix_web::test]
async fn demo_shows_the_seeded_shop_with_the_live_widget() {
    let app = spawn_app().await;
    // No demo shop yet: a friendly 404 page.
    let none = app.get("/demo").await;
    assert_eq!(none.status(), StatusCode::NOT_FOUND);
    assert!(none.text().await.unwrap().contains("truview demo"));

    truview::demo::seed(&app.state).await.unwrap();
    let res = app.get("/demo").await;
    assert_eq!(res.status(), StatusCode::OK);
    let csp = res.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("script-src 'self'") && !csp.contains("script-src 'self' 'unsafe-inline'"), "{csp}");
    let html = res.text().await.unwrap();
    assert!(html.contains(&format!("<script src=\"{}\" defer></script>", truview::http::widget::versioned_path())));
    let key_at =
        html.find("<truview-reviews data-key=\"").expect("the widget tag") + "<truview-reviews data-key=\"".len();
    let pk = &html[key_at..key_at + html[key_at..].find('"').unwrap()];
    assert!(pk.starts_with("pk_"));
    assert!(html.contains("data-sku=\"LAMP-OAK\""));

    // The key on the page works, and the seeded reviews span the levels.
    let summary = json(app.get(&format!("/api/v1/public/{pk}/summary?sku=LAMP-OAK")).await, StatusCode::OK).await;
    assert_eq!(summary["count"], Value::from(6));
    for (level, n) in [("5", 2), ("3", 2), ("2", 1), ("1", 1)] {
        assert_eq!(summary["levels"][level], Value::from(n), "level {level}: {summary}");
    }
    let page =
        json(app.get(&format!("/api/v1/public/{pk}/reviews?sku=LAMP-OAK&sort=rating")).await, StatusCode::OK).await;
    let reviews = page["reviews"].as_array().unwrap();
    assert_eq!(reviews.len(), 6);
    let one_star = reviews.iter().find(|r| r["rating"] == 1).unwrap();
    assert_eq!(one_star["maturity_level"], Value::from(5));
    assert!(one_star["reply"]["body"].as_str().unwrap().starts_with("Sorry about the shade"));
    let checks: Vec<&str> =
        reviews.iter().flat_map(|r| r["checks"].as_array().unwrap()).map(|c| c["code"].as_str().unwrap()).collect();
    for code in ["verified_buyer", "purchase_invitation", "purchase_receipt", "identity_phone", "self_declared"] {
        assert!(checks.contains(&code), "{code} in {checks:?}");
    }
    // The second product's reviews: identity and purchase (4), purchase (3).
    let shade = json(app.get(&format!("/api/v1/public/{pk}/summary?sku=SHADE-LIN")).await, StatusCode::OK).await;
    assert_eq!(shade["count"], Value::from(2));
    assert_eq!(
        (shade["levels"]["4"].clone(), shade["levels"]["3"].clone()),
        (Value::from(1), Value::from(1)),
        "{shade}"
    );
}

/// The demo checkout starts a newcomer's loop: an order placed on /demo is invited at once by
/// the demo's running funnel, into the development mailbox; bad input is the page again with
/// the reason and what was typed; another origin, a flood, and a server that mails for real
/// are refused.
#[actix_web::test]
async fn a_demo_order_is_invited_into_the_development_mailbox() {
    let app = spawn_app_with(|s| s.demo = true).await;
    let order = |form: Vec<(&'static str, String)>| {
        let request = app.client.post(app.url("/demo/order")).form(&form);
        async move { request.send().await.unwrap() }
    };
    let ann = || vec![("email", "Ann@Example.com".to_owned()), ("phone", "+44 7400 123477".to_owned())];
    let none = order(ann()).await;
    assert_eq!(none.status(), StatusCode::NOT_FOUND);
    assert!(none.text().await.unwrap().contains("<h1>No demo shop here</h1>"));

    let (created, _) = truview::demo::seed(&app.state).await.unwrap();
    let res = app.get("/demo").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-security-policy"].to_str().unwrap().contains("form-action 'self'"));
    let page = res.text().await.unwrap();
    for part in [
        "<form class=\"buy\" method=\"post\" action=\"/demo/order\">",
        "<input type=\"hidden\" name=\"sku\" value=\"LAMP-OAK\">",
        "<a href=\"/demo?product=SHADE-LIN\">Linen Lamp Shade</a>",
        "<footer><h2>Reviews of the shop</h2><truview-badge data-key=\"pk_",
    ] {
        assert!(page.contains(part), "{part} in {page}");
    }
    let shade = app.get("/demo?product=SHADE-LIN").await;
    assert_eq!(shade.status(), StatusCode::OK);
    let shade = shade.text().await.unwrap();
    assert!(shade.contains("<h1>Linen Lamp Shade</h1>") && shade.contains("data-sku=\"SHADE-LIN\""), "{shade}");
    let unknown = app.get("/demo?product=CHAIR").await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(unknown
        .text()
        .await
        .unwrap()
        .contains("The product must be one of the demo shop&#39;s products: LAMP-OAK, SHADE-LIN."));

    // The order, delivered at once: its invitation is due now and lands in the mailbox.
    let mut form = ann();
    form.push(("sku", "SHADE-LIN".to_owned()));
    let res = order(form).await;
    assert_eq!(res.status(), StatusCode::OK);
    let done = res.text().await.unwrap();
    let at = done.find("Thank you for your order D-").expect("the order's number") + "Thank you for your order ".len();
    let order_ref = done[at..at + 8].to_owned();
    assert!(
        done.contains("<a href=\"/dev/mailbox\">development mailbox</a>") && done.contains("Text me a code"),
        "{done}"
    );
    let row = app
        .request(reqwest::Method::GET, &format!("/api/v1/orders/{order_ref}"), Some(&created.secret.plaintext), None)
        .await;
    let row = json(row, StatusCode::OK).await;
    assert_eq!(row["status"], "delivered");
    assert_eq!(row["items"][0]["sku"], "SHADE-LIN");
    assert_eq!(truview::funnel::queue::drain(&app.state, "test-worker").await.unwrap().done, 1);
    let mailbox = app.get("/dev/mailbox").await.text().await.unwrap();
    let mail = &mailbox[mailbox.find("email to ann@example.com").expect("the invitation in the mailbox")..];
    assert!(mail.contains(&format!("Thank you for your order {order_ref} at Demo Shop.")), "{mail}");
    assert!(mail.contains("rating=5"), "{mail}");

    // Bad input: the page again, with the reason and what was typed (escaped).
    for (email, phone, sku, reason) in [
        ("\"><b>ann", "", "LAMP-OAK", "The e-mail address is not a valid e-mail address."),
        (
            "ann@example.com",
            "+1 555",
            "LAMP-OAK",
            "The phone number is not a phone number in international form (+ country code).",
        ),
        (
            "ann@example.com",
            "",
            "CHAIR",
            "The product must be one of the demo shop&#39;s products: LAMP-OAK, SHADE-LIN.",
        ),
        (
            "ann@example.com",
            "",
            " LAMP-OAK",
            "The product must be one of the demo shop&#39;s products: LAMP-OAK, SHADE-LIN.",
        ),
        (
            "ann@example.com",
            "+44 7400 123477                   ",
            "LAMP-OAK",
            "The phone number must be at most 32 characters.",
        ),
    ] {
        let form = vec![("email", email.to_owned()), ("phone", phone.to_owned()), ("sku", sku.to_owned())];
        let res = order(form).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{email} {phone} {sku}");
        let page = res.text().await.unwrap();
        assert!(page.contains(&format!("<p class=\"error\" role=\"alert\">{reason}</p>")), "{reason} in {page}");
        assert!(!page.contains("<b>ann"), "unescaped: {page}");
    }
    let missing = app.client.post(app.url("/demo/order")).form(&[("phone", "+447400123477")]).send().await.unwrap();
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    // A browser posting the page's form says `Origin: null` (the pages send no referrer).
    let browser = app.client.post(app.url("/demo/order")).header("origin", "null").form(&ann()).send().await.unwrap();
    assert_eq!(browser.status(), StatusCode::OK);
    let foreign = app
        .client
        .post(app.url("/demo/order"))
        .header("origin", "https://evil.example")
        .form(&ann())
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
    assert!(foreign.text().await.unwrap().contains("https://evil.example"));

    // At most 20 a day per client address (the two accepted above counted).
    for n in 3..=truview::demo::ORDERS_PER_IP_PER_DAY {
        assert_eq!(order(ann()).await.status(), StatusCode::OK, "order {n}");
    }
    let flood = order(ann()).await;
    assert_eq!(flood.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(flood.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() > 0);
    assert!(flood.text().await.unwrap().contains("Too many attempts."));

    // A server that delivers mail for real takes no demo orders: it would mail a typed address.
    let real = spawn_app_with(|s| {
        s.demo = true;
        s.mail.smtp_url = "smtp://127.0.0.1:9".into();
    })
    .await;
    truview::demo::seed(&real.state).await.unwrap();
    let res = real.client.post(real.url("/demo/order")).form(&ann()).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(!real.get("/demo").await.text().await.unwrap().contains("action=\"/demo/order\""));
}

#[actix_web::test]
async fn the_console_is_served_under_a_strict_policy() {
    let app = spawn_app().await;
    let res = app.get("/console").await;
    assert_eq!(res.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(res.headers()["location"], "/console/");
    let res = app.get("/console/").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-security-policy"], truview::http::console::CSP);
    assert_eq!(res.headers()["x-frame-options"], "DENY");
    assert_eq!(res.headers()["cache-control"], "no-cache");
    assert_eq!(res.headers()["content-type"], "text/html; charset=utf-8");
    let html = res.text().await.unwrap();
    assert!(html.contains("/console/console.js"), "the page loads its module");
    for (file, kind) in [("console.js", "text/javascript; charset=utf-8"), ("console.css", "text/css; charset=utf-8")] {
        let res = app.get(&format!("/console/{file}")).await;
        assert_eq!(res.status(), StatusCode::OK, "{file}");
        assert_eq!(res.headers()["content-type"], kind);
    }
    let res = app.get("/console/../../Cargo.toml").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    crate::helpers::assert_problem(app.get("/console/secrets.json").await, StatusCode::NOT_FOUND, "not-found").await;
}

/// The server-rendered fragment: the same reviews as the JSON list, every text escaped,
/// and Product JSON-LD only on a product page.
#[actix_web::test]
async fn the_reviews_fragment_is_escaped_html_with_product_markup_only_for_products() {
    let app = spawn_app().await;
    let vendor = app.vendor("Fragment").await;
    let put = app
        .request(
            reqwest::Method::PUT,
            "/api/v1/products/LAMP-1",
            Some(&vendor.sk),
            Some(&serde_json::json!({"name": "Lamp </script><b>", "brand": "Acme", "gtin": "4006381333931"})),
        )
        .await;
    assert!(put.status().is_success(), "{}", put.status());
    let token = app.flow(&vendor, Some("LAMP-1")).await;
    let evil = "<img src=x onerror=alert(1)></script><script>alert(2)</script>";
    let body = serde_json::json!({"title": evil, "display_name": "Eve \"quoted\" & <b>", "sku": "LAMP-1"});
    let id = json(app.submit(&token, 4, body).await, StatusCode::CREATED).await["id"].as_str().unwrap().to_owned();
    app.publish(&vendor, &id).await;
    let shop_token = app.flow(&vendor, None).await;
    let shop_id = json(app.submit(&shop_token, 5, serde_json::json!({})).await, StatusCode::CREATED).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.publish(&vendor, &shop_id).await;

    let res = app.get(&format!("/api/v1/public/{}/reviews.html?sku=LAMP-1", vendor.pk)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/html; charset=utf-8");
    assert!(res.headers()["content-security-policy"].to_str().unwrap().starts_with("default-src 'none'"));
    let html = res.text().await.unwrap();
    assert!(html.contains(
        "<h3 class=\"tv-title\">&lt;img src=x onerror=alert(1)&gt;&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;</h3>"
    ));
    assert!(html.contains("Eve &quot;quoted&quot; &amp; &lt;b&gt;"));
    assert!(html.contains("<strong>4.0</strong>") && html.contains("1 review ·"), "{html}");
    // One JSON-LD block, which no text can close early.
    assert_eq!(html.matches("<script").count(), 1, "{html}");
    let start = html.find("<script type=\"application/ld+json\">").unwrap() + 35;
    let end = start + html[start..].find("</script>").unwrap();
    let ld: Value = serde_json::from_str(&html[start..end]).unwrap();
    assert_eq!(ld["@type"], "Product");
    assert_eq!(ld["name"], "Lamp </script><b>");
    assert_eq!(ld["gtin"], "4006381333931");
    assert_eq!(ld["brand"]["name"], "Acme");
    assert_eq!(ld["aggregateRating"]["ratingValue"], Value::from(4.0));
    assert_eq!(ld["aggregateRating"]["reviewCount"], Value::from(1));
    assert_eq!(ld["review"][0]["name"], evil);
    assert_eq!(ld["review"][0]["reviewRating"]["ratingValue"], Value::from(4));

    // Shop-wide reviews: the same fragment, no markup (self-serving reviews get none).
    let html = app.get(&format!("/api/v1/public/{}/reviews.html?lang=ru", vendor.pk)).await.text().await.unwrap();
    assert!(!html.contains("<script"), "{html}");
    assert!(html.contains("lang=\"ru\"") && html.contains("2 отзыва"), "{html}");
    // Bad input is a 400, an unknown key a 401.
    let res = app.get(&format!("/api/v1/public/{}/reviews.html?lang=de", vendor.pk)).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = app.get("/api/v1/public/pk_unknown/reviews.html").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}
