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
    let origin = core.settings.public_url.clone().unwrap_or_else(|| format!("http://{}", core.settings.bind));
    let origins = crate::domain::account::parse_origins(&[origin]).unwrap_or_default();
    let input = NewVendor {
        name: "Demo Shop".into(),
        origins,
        owner_email: Email::parse("owner_email", DEMO_EMAIL)?,
        owner_name: "Demo owner".into(),
        owner_password: password.clone(),
    };
    let created = accounts::create_vendor(core, input, "demo").await?;
    Ok((created, password))
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
