//! The demo vendor: what `serve` creates on an empty database and `truview demo` on demand,
//! so a new operator can log in and see the product at once.

use crate::accounts::{self, CreatedVendor, NewVendor};
use crate::core::Core;
use crate::domain::contact::Email;
use crate::error::Result;

pub const DEMO_EMAIL: &str = "owner@demo.truview.example";

/// Creates the demo vendor with a generated owner password; returns it with the password.
pub async fn seed(core: &Core) -> Result<(CreatedVendor, String)> {
    let password = format!("demo-{}", core.random.token(12));
    // The demo page is on the service itself: its own address, and localhost for the same port.
    let origin = core.settings.public_url.clone().unwrap_or_else(|| format!("http://{}", core.settings.bind));
    let mut candidates = vec![origin.clone()];
    if let Some(port) = origin.rsplit(':').next().filter(|p| p.chars().all(|c| c.is_ascii_digit())) {
        candidates.push(format!("http://localhost:{port}"));
        candidates.push(format!("http://127.0.0.1:{port}"));
    }
    candidates.dedup();
    let origins = crate::domain::account::parse_origins(&candidates).unwrap_or_default();
    let input = NewVendor {
        name: "Demo Shop".into(),
        origins,
        owner_email: Email::parse("owner_email", DEMO_EMAIL)?,
        owner_name: "Demo owner".into(),
        owner_password: password.clone(),
    };
    let created = accounts::create_vendor(core, input, "demo").await?;
    content(core, &created).await?;
    Ok((created, password))
}

/// The product `/demo` shows.
pub const DEMO_SKU: &str = "LAMP-OAK";

/// One seeded review: stars, title, body, author, the evidence it carries, and a reply.
struct Seed {
    rating: i64,
    sku: Option<&'static str>,
    title: &'static str,
    body: &'static str,
    author: &'static str,
    /// The order it is bound to (by invitation) and whether the buyer's phone was verified.
    order: Option<&'static str>,
    phone_verified: bool,
    receipt: bool,
    reply: Option<&'static str>,
}

const SEEDS: &[Seed] = &[
    Seed {
        rating: 5,
        sku: Some(DEMO_SKU),
        title: "Warm light, solid oak",
        body: "Bought it for my desk. The oak is real, the switch feels sturdy and the light is warm without flicker.",
        author: "Anna K.",
        order: Some("D-1001"),
        phone_verified: true,
        receipt: false,
        reply: Some("Thank you, Anna! Enjoy the lamp."),
    },
    Seed {
        rating: 1,
        sku: Some(DEMO_SKU),
        title: "Arrived with a cracked shade",
        body: "The base is fine but the shade was cracked in the box.\nSupport answered the same day though.",
        author: "Boris P.",
        order: Some("D-1002"),
        phone_verified: true,
        receipt: false,
        reply: Some("Sorry about the shade, Boris: a replacement is on its way, and we now pack shades separately."),
    },
    Seed {
        rating: 4,
        sku: Some(DEMO_SKU),
        title: "Good value",
        body: "Nice lamp for the price. The cable could be a little longer.",
        author: "Chen L.",
        order: Some("D-1003"),
        phone_verified: false,
        receipt: false,
        reply: None,
    },
    Seed {
        rating: 5,
        sku: Some(DEMO_SKU),
        title: "Second one for the bedroom",
        body: "Ordered another one after a month: same quality.",
        author: "Dana M.",
        order: None,
        phone_verified: false,
        receipt: true,
        reply: None,
    },
    Seed {
        rating: 3,
        sku: Some(DEMO_SKU),
        title: "Fine, a bit heavy",
        body: "Works well. Heavier than I expected, which is good for stability but not for moving it around.",
        author: "Emil R.",
        order: None,
        phone_verified: true,
        receipt: false,
        reply: None,
    },
    Seed {
        rating: 2,
        sku: Some(DEMO_SKU),
        title: "Too dim for reading",
        body: "With the bulb it came with it is too dim to read by. A brighter bulb fixed it.",
        author: "Fatima S.",
        order: None,
        phone_verified: false,
        receipt: false,
        reply: Some("Thanks for the tip, Fatima: we now ship it with a brighter bulb."),
    },
    Seed {
        rating: 5,
        sku: None,
        title: "Quick delivery, careful packing",
        body: "Everything arrived in two days and well packed.",
        author: "Greta H.",
        order: Some("D-1004"),
        phone_verified: false,
        receipt: false,
        reply: None,
    },
    Seed {
        rating: 4,
        sku: None,
        title: "Helpful support",
        body: "Had a question about bulbs and got a clear answer within an hour.",
        author: "Hugo N.",
        order: None,
        phone_verified: false,
        receipt: false,
        reply: None,
    },
];

/// Demo content: two products, four orders and reviews at every level, published, some
/// with the shop's reply; evidence attached through the same store functions KYC and KYP
/// use, so every level is computed, not set.
async fn content(core: &Core, created: &CreatedVendor) -> Result<()> {
    use crate::domain::maturity::{Identity, Purchase, PurchaseMethod};
    use crate::domain::moderation::Action;
    use crate::domain::review::{Locale, Rating, Sku};
    let vendor = created.vendor.id.clone();
    for (sku, name) in [(DEMO_SKU, "Oak Desk Lamp"), ("SHADE-LIN", "Linen Lamp Shade")] {
        let input = crate::domain::product::ProductInput {
            name: name.into(),
            url: None,
            image_url: None,
            brand: Some("Demo Shop".into()),
            gtin: None,
            mpn: None,
        };
        crate::catalogue::upsert(core, &vendor, "demo", crate::domain::product::PathSku::parse(sku)?, input).await?;
    }
    let phone = |n: usize| format!("+4474001234{n:02}");
    let orders: Vec<serde_json::Value> = ["D-1001", "D-1002", "D-1003", "D-1004"]
        .iter()
        .enumerate()
        .map(|(n, id)| {
            serde_json::json!({
                "order_id": id, "email": format!("buyer{n}@demo.truview.example"), "phone": phone(n),
                "items": [{"sku": DEMO_SKU, "price": "49.90"}], "total": "49.90", "currency": "EUR",
                "purchased_at": "2026-10-01", "delivered_at": "2026-10-03", "status": "delivered",
            })
        })
        .collect();
    let body = serde_json::to_vec(&orders).map_err(crate::Error::internal)?;
    let decoded = crate::kyp::orders::decode_json(&body)?;
    crate::kyp::orders::import(core, &vendor, "demo", decoded, None).await?;
    for seed in SEEDS {
        let (flow, token) = crate::reviews::open_flow(core, &vendor, seed.sku.map(str::to_owned)).await?;
        let (vendor_id, order_ref, phone_verified, receipt) =
            (vendor.clone(), seed.order, seed.phone_verified, seed.receipt);
        let order_phone = seed
            .order
            .and_then(|o| o.strip_prefix("D-100"))
            .and_then(|n| n.parse::<usize>().ok())
            .map(|n| phone(n - 1));
        let phone_hmac = core.contacts.phone(&order_phone.unwrap_or_else(|| phone(50)));
        core.db
            .write(move |conn| {
                let flow = crate::store::flows::get(conn, &flow.id)?.ok_or_else(|| crate::Error::not_found("flow"))?;
                if phone_verified {
                    crate::store::flows::attach_identity(conn, &flow, Identity::Phone { phone_hmac })?;
                }
                let flow = crate::store::flows::get(conn, &flow.id)?.ok_or_else(|| crate::Error::not_found("flow"))?;
                if let Some(order_ref) = order_ref {
                    let (order, _, _) = crate::store::orders::by_ref(conn, &vendor_id, order_ref)?
                        .ok_or_else(|| crate::Error::not_found("order"))?;
                    let purchase = Purchase {
                        order_id: order.id,
                        method: PurchaseMethod::Invitation,
                        email_hmac: order.email_hmac,
                        phone_hmac: order.phone_hmac,
                    };
                    crate::store::flows::attach_purchase(conn, &flow, purchase)?;
                } else if receipt {
                    let purchase = Purchase {
                        order_id: String::new(),
                        method: PurchaseMethod::Receipt,
                        email_hmac: None,
                        phone_hmac: None,
                    };
                    crate::store::flows::attach_receipt(conn, &flow, purchase)?;
                }
                Ok(())
            })
            .await?;
        let submission = crate::reviews::Submission {
            flow_token: token,
            rating: Rating::parse("rating", seed.rating)?,
            title: seed.title.into(),
            body: seed.body.into(),
            pros: None,
            cons: None,
            locale: Locale::parse(Some("en"))?,
            sku: seed.sku.map(|s| Sku::parse("sku", s)).transpose()?,
            display_name: seed.author.into(),
            email: None,
        };
        let review = crate::reviews::submit(core, submission, None).await?;
        if review.status != crate::domain::moderation::Status::Published.as_str() {
            crate::reviews::decide(core, vendor.clone(), review.id.clone(), "demo".into(), Action::Publish, None)
                .await?;
        }
        if let Some(reply) = seed.reply {
            crate::reviews::reply(core, vendor.clone(), review.id.clone(), created.owner.id.clone(), reply.into())
                .await?;
        }
    }
    let site = crate::store::demo::DemoSite {
        vendor_id: vendor.clone(),
        publishable_key: created.publishable.plaintext.clone(),
        sku: DEMO_SKU.into(),
        created_at: core.now_ms(),
    };
    core.db.write(move |conn| crate::store::demo::put(conn, &site)).await?;
    Ok(())
}

/// What an operator needs to use a new vendor: printed once, never logged.
pub fn credentials_banner(created: &CreatedVendor, password: Option<&str>) -> String {
    let password = password.unwrap_or("(as given)");
    format!(
        "\n  Vendor:           {} ({})\n  Console login:    {} / {}\n  Publishable key:  {}\n  Secret key:       {}\n  (keys are shown only now; they are stored hashed)\n",
        created.vendor.name,
        created.vendor.id,
        created.owner.email,
        password,
        created.publishable.plaintext,
        created.secret.plaintext
    )
}
