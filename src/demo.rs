//! The demo vendor: what `serve` creates on an empty database and `truview demo` on demand,
//! so a new operator can log in and see the product at once.

use crate::accounts::{self, CreatedVendor, NewVendor};
use crate::core::Core;
use crate::domain::contact::Email;
use crate::domain::funnel::FunnelSettings;
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
    /// The order it is bound to (by invitation) and which phone the author confirmed.
    order: Option<&'static str>,
    phone: Confirmed,
    receipt: bool,
    reply: Option<&'static str>,
}

/// The phone a seeded review's author confirmed by code.
#[derive(Clone, Copy, PartialEq)]
enum Confirmed {
    None,
    /// The order's phone (a verified buyer with an order; any phone without one).
    OrdersPhone,
    /// A phone other than the order's: identity and purchase, not the same person proven.
    OtherPhone,
}

const SEEDS: &[Seed] = &[
    Seed {
        rating: 5,
        sku: Some(DEMO_SKU),
        title: "Warm light, solid oak",
        body: "Bought it for my desk. The oak is real, the switch feels sturdy and the light is warm without flicker.",
        author: "Anna K.",
        order: Some("D-1001"),
        phone: Confirmed::OrdersPhone,
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
        phone: Confirmed::OrdersPhone,
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
        phone: Confirmed::None,
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
        phone: Confirmed::None,
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
        phone: Confirmed::OrdersPhone,
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
        phone: Confirmed::None,
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
        phone: Confirmed::None,
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
        phone: Confirmed::None,
        receipt: false,
        reply: None,
    },
    Seed {
        rating: 4,
        sku: Some("SHADE-LIN"),
        title: "Softens the light nicely",
        body: "Swapped it onto an old lamp: the light is softer and the linen looks good.",
        author: "Ines V.",
        order: Some("D-1005"),
        phone: Confirmed::OtherPhone,
        receipt: false,
        reply: None,
    },
    Seed {
        rating: 5,
        sku: Some("SHADE-LIN"),
        title: "Fits the oak lamp",
        body: "Bought it as a spare for the desk lamp; same linen, fits perfectly.",
        author: "Jonas W.",
        order: Some("D-1006"),
        phone: Confirmed::None,
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
    for product in PRODUCTS {
        let (sku, name) = (product.sku, product.name);
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
    let lamp_and_shade = [DEMO_SKU, DEMO_SKU, DEMO_SKU, DEMO_SKU, "SHADE-LIN", "SHADE-LIN"];
    let orders: Vec<serde_json::Value> = lamp_and_shade
        .iter()
        .enumerate()
        .map(|(n, sku)| {
            let price = DemoProduct::find(sku)?.price;
            Ok(serde_json::json!({
                "order_id": format!("D-{}", 1001 + n), "email": format!("buyer{n}@demo.truview.example"),
                "phone": phone(n), "items": [{"sku": sku, "price": price}], "total": price,
                "currency": "EUR",
                "purchased_at": "2026-10-01", "delivered_at": "2026-10-03", "status": "delivered",
            }))
        })
        .collect::<Result<_>>()?;
    let body = serde_json::to_vec(&orders).map_err(crate::Error::internal)?;
    let decoded = crate::kyp::orders::decode_json(&body, core.now_ms())?;
    crate::kyp::orders::import(core, &vendor, "demo", decoded, None).await?;
    for seed in SEEDS {
        let (flow, token) = crate::reviews::open_flow(core, &vendor, seed.sku.map(str::to_owned)).await?;
        let (vendor_id, order_ref, phone_verified, receipt) =
            (vendor.clone(), seed.order, seed.phone != Confirmed::None, seed.receipt);
        let order_phone = seed
            .order
            .and_then(|o| o.strip_prefix("D-100"))
            .and_then(|n| n.parse::<usize>().ok())
            .map(|n| phone(n - 1));
        let confirmed = match (seed.phone, order_phone) {
            (Confirmed::OrdersPhone, Some(p)) => p,
            (Confirmed::OtherPhone, _) => phone(60),
            _ => phone(50),
        };
        let phone_hmac = core.contacts.phone(&confirmed);
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
    // A running funnel: an order placed on /demo is invited at once, by e-mail to the
    // development mailbox (no quiet hours, no cooldown between a visitor's test orders).
    let funnel = demo_funnel();
    let (audit, now, vendor_id) = (core.audit.clone(), core.now_ms(), vendor.clone());
    core.db
        .write(move |conn| {
            crate::store::funnel::put_settings(conn, &vendor_id, &funnel, now)?;
            let details = serde_json::to_value(&funnel).map_err(crate::Error::internal)?;
            let entry =
                crate::store::audit::Entry { actor: "demo", action: "funnel.updated", target: &vendor_id, details };
            audit.append(conn, &vendor_id, now, entry).map(|_| ())
        })
        .await?;
    let site = crate::store::demo::DemoSite {
        vendor_id: vendor.clone(),
        publishable_key: created.publishable.plaintext.clone(),
        sku: DEMO_SKU.into(),
        created_at: core.now_ms(),
    };
    core.db.write(move |conn| crate::store::demo::put(conn, &site)).await?;
    Ok(())
}

/// The demo shop's funnel: on, invitations as soon as an order is delivered, no quiet hours
/// and no cooldown, so every test order of a visitor brings its e-mail within seconds.
fn demo_funnel() -> FunnelSettings {
    FunnelSettings {
        enabled: true,
        invite_delay_days: 0,
        cooldown_days: 0,
        sender_name: "Demo Shop".into(),
        quiet_hours: None,
        ..FunnelSettings::default()
    }
}

/// The products of the demo shop: SKU, name, price, description.
pub const PRODUCTS: &[DemoProduct] = &[
    DemoProduct {
        sku: DEMO_SKU,
        name: "Oak Desk Lamp",
        price: "49.90",
        text: "Solid oak base, linen shade, warm 2700 K light.",
    },
    DemoProduct {
        sku: "SHADE-LIN",
        name: "Linen Lamp Shade",
        price: "19.90",
        text: "Natural linen, 30 cm, fits E27 lamps.",
    },
];

#[derive(Debug)]
pub struct DemoProduct {
    pub sku: &'static str,
    pub name: &'static str,
    pub price: &'static str,
    pub text: &'static str,
}

impl DemoProduct {
    /// A demo product by SKU (422 for any other).
    pub fn find(sku: &str) -> Result<&'static DemoProduct> {
        PRODUCTS.iter().find(|p| p.sku == sku).ok_or_else(|| {
            crate::Error::validation("sku", format!("must be one of the demo shop's products: {}", skus()))
        })
    }
}

fn skus() -> String {
    PRODUCTS.iter().map(|p| p.sku).collect::<Vec<_>>().join(", ")
}

/// Demo orders a client address may place per day.
pub const ORDERS_PER_IP_PER_DAY: i64 = 20;

/// An order placed on the demo shop's page.
pub struct DemoOrder {
    pub email: String,
    pub phone: Option<String>,
    pub sku: String,
}

/// The order a visitor placed: its number and the product.
#[derive(Debug)]
pub struct Placed {
    pub order_ref: String,
    pub product: &'static DemoProduct,
}

/// Places an order on the demo shop, delivered at once, so the demo's funnel invites its
/// buyer within seconds: the newcomer's loop (order → invitation → in-mail star → hosted
/// page → phone code → review → moderation → widget) starts here. Only while the demo is on
/// and mail and texts go to the development outbox (it never writes to a typed address);
/// from the demo shop's own origin (or none); at most [`ORDERS_PER_IP_PER_DAY`] per client
/// address per day.
pub async fn place_order(core: &Core, order: DemoOrder, from: crate::reviews::PublicWrite) -> Result<Placed> {
    if !(core.settings.demo && core.mailer.is_outbox()) {
        return Err(crate::Error::not_found("demo shop"));
    }
    let site = core.db.run(crate::store::demo::get).await?.ok_or_else(|| crate::Error::not_found("demo shop"))?;
    let product = DemoProduct::find(&order.sku)?;
    let email = Email::parse("email", &order.email)?;
    if order.phone.as_deref().is_some_and(|p| p.chars().count() > 32) {
        return Err(crate::Error::validation("phone", "must be at most 32 characters"));
    }
    let phone = match order.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => Some(crate::domain::contact::Phone::parse("phone", p)?.as_str().to_owned()),
        None => None,
    };
    let now = core.now_ms();
    let mut digits = [0u8; 4];
    core.random.fill(&mut digits);
    let order_ref = format!("D-{}", 100_000 + u32::from_le_bytes(digits) % 900_000);
    let (vendor_id, own) = (site.vendor_id.clone(), core.own_origin.clone());
    core.db
        .write(move |conn| {
            let vendor = crate::store::vendors::get(conn, &vendor_id)?;
            crate::reviews::check_origin(from.origin.as_deref(), &vendor.origin_list(), own.as_ref())?;
            let (cap, lapses_at) = crate::domain::review::daily_cap("demo_order", &vendor.id, from.ip, now);
            if !crate::store::reviews::take_cap(conn, &cap, ORDERS_PER_IP_PER_DAY, lapses_at)? {
                return Err(crate::reviews::over_cap(now, lapses_at));
            }
            Ok(())
        })
        .await?;
    let today = crate::clock::from_ms(now).format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let body = serde_json::to_vec(&serde_json::json!([{
        "order_id": order_ref, "email": email.as_str(), "phone": phone,
        "items": [{"sku": product.sku, "name": product.name, "price": product.price}],
        "total": product.price, "currency": "EUR", "purchased_at": today, "delivered_at": today,
        "status": "delivered", "locale": "en",
    }]))
    .map_err(crate::Error::internal)?;
    let decoded = crate::kyp::orders::decode_json(&body, core.now_ms())?;
    crate::kyp::orders::import(core, &site.vendor_id, "demo", decoded, None).await?;
    Ok(Placed { order_ref, product })
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
