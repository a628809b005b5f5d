//! T13: key and tenant scope, table-driven over every endpoint of the API. A new endpoint
//! fails `every_endpoint_has_a_scope_row` until it gets a row here.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp, Vendor};

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Access {
    /// Anyone (ops, sign-up, login, refresh, public reads).
    Public,
    /// Any staff role of the vendor.
    Staff,
    /// Owners and moderators.
    Moderator,
    /// Owners only.
    Owner,
    /// Staff or the vendor's secret key.
    StaffOrSecret,
    /// Owners or the vendor's secret key (catalogue writes).
    OwnerOrSecret,
}

pub struct Row {
    pub method: Method,
    /// The OpenAPI path template.
    pub template: &'static str,
    pub access: Access,
    /// A valid body, if any.
    pub body: fn(&Vendor) -> Option<Value>,
}

fn no_body(_: &Vendor) -> Option<Value> {
    None
}

pub fn rows() -> Vec<Row> {
    use Access::*;
    let row = |method: Method, template: &'static str, access: Access, body: fn(&Vendor) -> Option<Value>| Row {
        method,
        template,
        access,
        body,
    };
    vec![
        row(Method::GET, "/health", Public, no_body),
        row(Method::GET, "/ready", Public, no_body),
        row(Method::GET, "/metrics", Public, no_body),
        row(Method::GET, "/api-spec/openapi.json", Public, no_body),
        row(Method::POST, "/api/v1/vendors", Public, no_body),
        row(Method::POST, "/api/v1/auth/login", Public, no_body),
        row(Method::POST, "/api/v1/auth/refresh", Public, no_body),
        row(Method::POST, "/api/v1/auth/logout", Staff, |_| Some(json!({"refresh_token": "rt_x"}))),
        row(Method::PUT, "/api/v1/auth/password", Staff, |v| {
            Some(json!({"current_password": v.password, "new_password": "another-long-secret-77"}))
        }),
        row(Method::GET, "/api/v1/me", StaffOrSecret, no_body),
        row(Method::GET, "/api/v1/vendor", StaffOrSecret, no_body),
        row(Method::PATCH, "/api/v1/vendor", Owner, |_| Some(json!({"name": "Renamed"}))),
        row(Method::GET, "/api/v1/staff", Staff, no_body),
        row(Method::POST, "/api/v1/staff", Owner, |_| {
            Some(json!({"email": format!("n{}@x.example", crate::helpers::random_suffix()), "display_name": "N", "role": "analyst", "password": "another-long-secret-77"}))
        }),
        row(Method::PATCH, "/api/v1/staff/{id}", Owner, |_| Some(json!({"role": "analyst"}))),
        row(Method::GET, "/api/v1/keys", Owner, no_body),
        row(Method::POST, "/api/v1/keys", Owner, |_| Some(json!({"kind": "secret", "label": "t13"}))),
        row(Method::DELETE, "/api/v1/keys/{id}", Owner, no_body),
        row(Method::GET, "/api/v1/audit", Staff, no_body),
        row(Method::GET, "/api/v1/audit/verification", Staff, no_body),
        // The catalogue. A PUT writes in the caller's own vendor (another vendor's SKU makes
        // the caller's own product), so its row uses a SKU both vendors have: the foreign
        // check is `catalogue::products_are_scoped_to_their_vendor_and_writers`.
        row(Method::GET, "/api/v1/products", StaffOrSecret, no_body),
        row(Method::GET, "/api/v1/products/{sku}", StaffOrSecret, no_body),
        row(Method::PUT, "/api/v1/products/{sku}", OwnerOrSecret, |_| Some(json!({"name": "T13 product"}))),
        // Importing needs the owner role when staff call it (tests/api/orders.rs checks the
        // analyst's 403); the secret key may.
        row(Method::POST, "/api/v1/orders", StaffOrSecret, |_| {
            Some(json!([{"order_id": "T13-NEW", "items": [{"sku": "SKU-T13"}], "purchased_at": "2026-11-01"}]))
        }),
        row(Method::GET, "/api/v1/orders/{order_id}", StaffOrSecret, no_body),
        // Syndication: the feed URL's token is its only credential (a foreign or unknown
        // token is 404: `syndication::google_feed_validates_…`); set-up is the owner's.
        row(Method::GET, "/api/v1/syndication", StaffOrSecret, no_body),
        row(Method::POST, "/api/v1/syndication/google-feed", Owner, no_body),
        row(Method::DELETE, "/api/v1/syndication/google-feed", Owner, no_body),
        row(Method::GET, "/api/v1/syndication/reviews.json", StaffOrSecret, no_body),
        row(Method::GET, "/feeds/{feed_token}/google-product-reviews.xml", Public, no_body),
        // The job queue's dead letters (a foreign job id is 404: `jobs::failures_back_off_…`).
        row(Method::GET, "/api/v1/jobs", Owner, no_body),
        row(Method::POST, "/api/v1/jobs/{id}/retry", Owner, no_body),
        // Purchase matching is scoped by the flow's vendor (another shop's order answers
        // like no order: `kyp_match::the_matching_matrix`); the rules are per vendor.
        row(Method::POST, "/api/v1/public/kyp/match", Public, no_body),
        row(Method::GET, "/api/v1/kyp/rules", StaffOrSecret, no_body),
        row(Method::PUT, "/api/v1/kyp/rules", OwnerOrSecret, |_| Some(json!({"delivered_only": true}))),
        // Integrations are per vendor (a path platform, not a resource id); the webhook's
        // credential is the signature (`webhooks::shopify_webhooks_are_verified_…`).
        row(Method::GET, "/api/v1/integrations", StaffOrSecret, no_body),
        row(Method::PUT, "/api/v1/integrations/{platform}", OwnerOrSecret, |_| {
            Some(json!({"secret": "t13-secret-0123456789"}))
        }),
        row(Method::DELETE, "/api/v1/integrations/{platform}", Owner, no_body),
        row(Method::POST, "/api/v1/integrations/{platform}/{vendor_id}/orders", Public, no_body),
        // Saved mappings: a foreign name is 404 (`mappings::bad_mappings_are_refused`).
        row(Method::GET, "/api/v1/orders/mappings", StaffOrSecret, no_body),
        row(Method::GET, "/api/v1/orders/mappings/{name}", StaffOrSecret, no_body),
        row(Method::PUT, "/api/v1/orders/mappings/{name}", OwnerOrSecret, |_| {
            Some(json!({"columns": {"order_id": "No", "sku": "Art", "purchased_at": "Date"}}))
        }),
        row(Method::DELETE, "/api/v1/orders/mappings/{name}", Owner, no_body),
        // Receipts: the upload is scoped by its flow; staff reach only their vendor's.
        row(Method::POST, "/api/v1/public/kyp/receipt", Public, no_body),
        row(Method::GET, "/api/v1/receipts", Moderator, no_body),
        row(Method::GET, "/api/v1/receipts/{id}/file", Moderator, no_body),
        row(Method::POST, "/api/v1/receipts/{id}/decision", Moderator, |_| Some(json!({"accept": false}))),
        // The widget script and the demo page are public and carry no vendor data of their own.
        row(Method::GET, "/widget/v1/truview.js", Public, no_body),
        row(Method::GET, "/demo", Public, no_body),
        // The demo checkout writes only to the demo shop, named by the database, never by the
        // request (`widget::a_demo_order_is_invited_into_the_development_mailbox`).
        row(Method::POST, "/demo/order", Public, no_body),
        // The console's files are the same for everyone; its data comes from the staff API.
        row(Method::GET, "/console", Public, no_body),
        row(Method::GET, "/console/", Public, no_body),
        row(Method::GET, "/console/{file}", Public, no_body),
        // Phone codes are scoped by their flow; the outbox by the owner's vendor.
        row(Method::POST, "/api/v1/public/kyc/phone/start", Public, no_body),
        row(Method::POST, "/api/v1/public/kyc/phone/verify", Public, no_body),
        row(Method::GET, "/api/v1/dev/outbox", Owner, no_body),
        // Social login and work-e-mail codes are scoped by their flow (the state row binds the
        // callback to the flow, the provider and the browser: `kyc_oauth::*`).
        row(Method::GET, "/api/v1/public/kyc/providers", Public, no_body),
        row(Method::GET, "/api/v1/public/kyc/oauth/{provider}/start", Public, no_body),
        row(Method::GET, "/api/v1/public/kyc/oauth/{provider}/callback", Public, no_body),
        row(Method::POST, "/api/v1/public/kyc/oauth/{provider}/callback", Public, no_body),
        row(Method::POST, "/api/v1/public/kyc/company/start", Public, no_body),
        row(Method::POST, "/api/v1/public/kyc/company/verify", Public, no_body),
        // Funnel settings are the caller's vendor's; an invitation link names its own
        // vendor and order inside a signed token (`funnel::*`).
        row(Method::GET, "/api/v1/funnel", StaffOrSecret, no_body),
        row(Method::PUT, "/api/v1/funnel", Owner, |_| Some(json!({"enabled": false}))),
        // The shop's own wording is the caller's vendor's (`funnel::vendor_templates_*`).
        row(Method::GET, "/api/v1/funnel/templates", StaffOrSecret, no_body),
        row(Method::PUT, "/api/v1/funnel/templates/{locale}", Owner, |_| {
            Some(json!({"subject": "Hi", "text": "{{ page }} {{ unsubscribe }}", "html": null}))
        }),
        row(Method::DELETE, "/api/v1/funnel/templates/{locale}", Owner, no_body),
        row(Method::GET, "/api/v1/invitations", StaffOrSecret, no_body),
        row(Method::POST, "/api/v1/invitations", OwnerOrSecret, |v| Some(json!({"order_id": format!("T13-INV-{}", v.id)}))),
        row(Method::GET, "/r/{token}", Public, no_body),
        row(Method::POST, "/r/{token}", Public, no_body),
        // Unsubscribe links name their vendor and invitation inside a signed token; the
        // development mailbox shows only the demo shop's outbox.
        row(Method::GET, "/u/{token}", Public, no_body),
        row(Method::POST, "/u/{token}", Public, no_body),
        row(Method::GET, "/dev/mailbox", Public, no_body),
        row(Method::GET, "/api/v1/reports/funnel", StaffOrSecret, no_body),
        // The coupon pool is the caller's vendor's.
        row(Method::POST, "/api/v1/incentives/coupons", OwnerOrSecret, |_| Some(json!({"codes": ["T13-COUPON"]}))),
        row(Method::GET, "/api/v1/incentives/coupons", StaffOrSecret, no_body),
        // Replies are addressed to one invitation by an unguessable tag and must come,
        // DKIM-signed, from the invited address (`funnel::inbound_*`).
        row(Method::POST, "/api/v1/inbound/email", Public, no_body),
        // Text replies are matched by the sender's number to the latest SMS invitation to it,
        // the gateway's signature or secret checked (`funnel_sms::*`); a short link names its
        // invitation with an unguessable tag.
        row(Method::POST, "/api/v1/inbound/sms/{gateway}", Public, no_body),
        row(Method::GET, "/i/{short}", Public, no_body),
        row(Method::POST, "/api/v1/triggers", OwnerOrSecret, |v| {
            Some(json!({"trigger": "repeat_purchase", "order_id": format!("T13-INV-{}", v.id)}))
        }),
    ]
    .into_iter()
    .chain(crate::tenancy_rows::rows())
    .collect()
}

/// A SKU every fixture vendor has in its catalogue.
const SHARED_SKU: &str = "T13-SHARED";

/// Fills `{id}`-style parameters with ids of `owner`'s resources.
fn path_for(row: &Row, owner: &Fixture) -> String {
    let template = row.template;
    let sku = if row.method == Method::PUT { SHARED_SKU } else { owner.product_sku.as_str() };
    let mut path = template
        .replace("{pk}", &owner.vendor.pk)
        .replace("{sku}", sku)
        .replace("{order_id}", &owner.order_ref)
        .replace("{platform}", "shopify")
        .replace("{name}", "t13")
        .replace("{locale}", "en")
        .replace("{vendor_id}", &owner.vendor.id);
    if path.contains("{id}") {
        path = path.replace("{id}", &owner.resource_id(template));
    }
    path
}

pub struct Fixture {
    pub vendor: Vendor,
    pub analyst: String,
    pub analyst_id: String,
    pub moderator: String,
    pub extra: crate::tenancy_rows::Extra,
    /// A product only this vendor has.
    pub product_sku: String,
    /// One imported order of this vendor (its order number).
    pub order_ref: String,
}

impl Fixture {
    async fn new(app: &TestApp, name: &str) -> Fixture {
        let vendor = app.vendor(name).await;
        let (analyst_id, analyst) = app.add_staff(&vendor, "analyst").await;
        let (_, moderator) = app.add_staff(&vendor, "moderator").await;
        let extra = crate::tenancy_rows::Extra::new(app, &vendor).await;
        let product_sku = format!("T13-{name}");
        for sku in [product_sku.as_str(), SHARED_SKU] {
            let body = json!({"name": format!("{name} product")});
            let path = format!("/api/v1/products/{sku}");
            let res = app.request(Method::PUT, &path, Some(&vendor.sk), Some(&body)).await;
            assert_eq!(res.status(), StatusCode::CREATED, "{path}");
        }
        // A saved mapping and a configured integration, so their PUT rows replace (200).
        let mapping = json!({"columns": {"order_id": "No", "sku": "Art", "purchased_at": "Date"}});
        let res = app.request(Method::PUT, "/api/v1/orders/mappings/t13", Some(&vendor.sk), Some(&mapping)).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let secret = json!({"secret": "t13-secret-0123456789"});
        let res = app.request(Method::PUT, "/api/v1/integrations/shopify", Some(&vendor.sk), Some(&secret)).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let order_ref = format!("T13-{}", vendor.id);
        app.order(&vendor, &order_ref, Some("buyer@mail.example"), None, &["SKU-T13"]).await;
        // One imported through the API (its e-mail kept for invitations).
        let invitable = json!([{"order_id": format!("T13-INV-{}", vendor.id), "email": "buyer@mail.example",
                                "items": [{"sku": "SKU-T13"}], "purchased_at": "2026-11-01"}]);
        let res = app.request(Method::POST, "/api/v1/orders", Some(&vendor.sk), Some(&invitable)).await;
        assert_eq!(res.status(), StatusCode::OK);
        // The funnel on, so that triggers are taken.
        let on = json!({"enabled": true});
        let res = app.request(Method::PUT, "/api/v1/funnel", Some(&vendor.token), Some(&on)).await;
        assert_eq!(res.status(), StatusCode::OK);
        Fixture { vendor, analyst, analyst_id, moderator, extra, product_sku, order_ref }
    }

    fn resource_id(&self, template: &str) -> String {
        if template.starts_with("/api/v1/staff/") {
            self.analyst_id.clone()
        } else if template.starts_with("/api/v1/keys/") {
            self.vendor.sk_id.clone()
        } else {
            self.extra.resource_id(template)
        }
    }
}

#[test]
fn every_endpoint_has_a_scope_row() {
    let api = truview::app::openapi();
    let mut missing = Vec::new();
    let rows = rows();
    for (path, item) in &api.paths.paths {
        let methods = [
            (Method::GET, item.get.is_some()),
            (Method::POST, item.post.is_some()),
            (Method::PUT, item.put.is_some()),
            (Method::PATCH, item.patch.is_some()),
            (Method::DELETE, item.delete.is_some()),
        ];
        for (method, present) in methods {
            if present && !rows.iter().any(|r| r.method == method && r.template == path) {
                missing.push(format!("{method} {path}"));
            }
        }
    }
    assert!(missing.is_empty(), "endpoints without a T13 row: {missing:?}");
}

/// T13: pk cannot write or read private data; A's secret key and staff cannot reach B.
#[actix_web::test]
async fn t13_key_scope() {
    let app = spawn_app().await;
    let a = Fixture::new(&app, "Alpha").await;
    let b = Fixture::new(&app, "Bravo").await;
    let mut checked = 0;
    for row in rows().iter().filter(|r| r.access != Access::Public) {
        let own_path = path_for(row, &a);
        let foreign_path = path_for(row, &b);
        let body = (row.body)(&a.vendor);
        let call = |path: String, token: Option<String>| {
            let app = &app;
            let body = body.clone();
            let method = row.method.clone();
            async move { app.request(method, &path, token.as_deref(), body.as_ref()).await.status() }
        };
        let what = format!("{} {}", row.method, row.template);
        // No credentials, A's publishable key, garbage: 401 everywhere.
        for token in [None, Some(a.vendor.pk.clone()), Some("sk_forged".into())] {
            assert_eq!(call(own_path.clone(), token.clone()).await, StatusCode::UNAUTHORIZED, "{what} with {token:?}");
            checked += 1;
        }
        // A secret key only reaches StaffOrSecret endpoints.
        let sk_status = call(own_path.clone(), Some(a.vendor.sk.clone())).await;
        if matches!(row.access, Access::StaffOrSecret | Access::OwnerOrSecret) {
            assert!(sk_status.is_success(), "{what}: A's sk on A: {sk_status}");
        } else {
            assert_eq!(sk_status, StatusCode::UNAUTHORIZED, "{what}: sk on a staff endpoint");
        }
        checked += 1;
        // Analysts read only; moderators do not administer.
        if matches!(row.access, Access::Owner | Access::Moderator | Access::OwnerOrSecret) {
            let status = call(own_path.clone(), Some(a.analyst.clone())).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{what}: analyst");
            checked += 1;
        }
        if matches!(row.access, Access::Owner | Access::OwnerOrSecret) {
            assert_eq!(
                call(own_path.clone(), Some(a.moderator.clone())).await,
                StatusCode::FORBIDDEN,
                "{what}: moderator"
            );
            checked += 1;
        }
        // A's owner and A's sk on B's resources: not found, never B's data. A's owner is
        // allowed every role, so only the vendor scope can refuse it: exactly 404. A's sk
        // is 404 where secret keys are accepted, and 401 (a staff session is required)
        // elsewhere.
        if foreign_path != own_path {
            let sk_expected = if matches!(row.access, Access::StaffOrSecret | Access::OwnerOrSecret) {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::UNAUTHORIZED
            };
            for (token, expected) in
                [(a.vendor.token.clone(), StatusCode::NOT_FOUND), (a.vendor.sk.clone(), sk_expected)]
            {
                let status = call(foreign_path.clone(), Some(token)).await;
                assert_eq!(status, expected, "{what}: A on B's resource");
                checked += 1;
            }
        }
    }
    // Listings show only the caller's vendor.
    for (path, token) in [
        ("/api/v1/staff", &a.vendor.token),
        ("/api/v1/keys", &a.vendor.token),
        ("/api/v1/audit", &a.vendor.token),
        ("/api/v1/products", &a.vendor.token),
        ("/api/v1/products", &a.vendor.sk),
        ("/api/v1/syndication/reviews.json", &a.vendor.sk),
    ] {
        let text = app.request(Method::GET, path, Some(token), None).await.text().await.unwrap();
        for foreign in
            [&b.vendor.id, &b.vendor.owner_id, &b.analyst_id, &b.vendor.sk_id, &b.vendor.email, &b.product_sku]
        {
            assert!(!text.contains(foreign.as_str()), "{path} leaked B's {foreign}");
        }
        checked += 1;
    }
    let vendor = app.request(Method::GET, "/api/v1/vendor", Some(&a.vendor.sk), None).await.text().await.unwrap();
    assert!(vendor.contains(&a.vendor.id) && !vendor.contains(&b.vendor.id));
    crate::tenancy_rows::check_listings(&app, &a, &b).await;
    println!("t13_key_scope: {checked} scope checks over {} endpoints, 0 leaks", rows().len());
}
