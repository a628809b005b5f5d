//! Phone one-time codes (SECURITY R1): the rules are `kyc::codes`'; here, what is sent and
//! what a right code proves. Premium-rate, shared-cost and other non-mobile numbers get
//! no code, nor numbers outside the shop's country allow-list. A verified code records the
//! phone (as an HMAC) as the flow's identity: level 2, or 5 with an order of that phone.

use crate::core::Core;
use crate::domain::contact::Phone;
use crate::domain::maturity::Assessment;
use crate::domain::maturity::{review_level, Identity};
use crate::domain::otp::{self, PhoneRefusal};
use crate::error::{Error, Result};
use crate::kyc::codes::{self, Channel, Issue};
use crate::reviews::PublicWrite;
use crate::store;

fn refused(refusal: PhoneRefusal) -> Error {
    let why = match refusal {
        PhoneRefusal::Kind(_) => "cannot receive a code by SMS: give a mobile number",
        PhoneRefusal::Country(_) => "is in a country this shop does not send codes to",
    };
    Error::validation("phone", why)
}

fn text(code: &str) -> String {
    format!("{code} is your review verification code. It expires in 10 minutes.")
}

/// Sends a code to `phone` for the flow. The answer is the same whether or not the phone
/// is known anywhere; refusals are only about the number's kind, the country and the caps.
pub async fn start(core: &Core, flow_token: &str, raw_phone: &str, from: PublicWrite) -> Result<()> {
    let phone = Phone::parse("phone", raw_phone)?;
    otp::phone_allowed(&phone, &[]).map_err(refused)?;
    let checked = phone.clone();
    let issue = Issue {
        channel: Channel::Sms,
        to: phone.as_str().to_owned(),
        contact_hmac: core.contacts.phone(phone.as_str()),
        text,
        claim: None,
    };
    let outbox = core.settings.sms.gateway.is_empty();
    let issued = codes::issue(core, flow_token, from, issue, outbox, move |vendor| {
        otp::phone_allowed(&checked, &vendor.phone_country_list()).map_err(refused)
    })
    .await?;
    if issued.outbox {
        return Ok(());
    }
    // Sent after the commit: the code is valid whether or not the gateway is slow.
    let outcome = match crate::notify::sms::request_for(&core.settings.sms, phone.as_str(), &issued.text) {
        Ok(Some(req)) => crate::notify::sms::send(&core.http, &req).await,
        Ok(None) => Ok(()),
        Err(e) => Err(e),
    };
    codes::finish(core, issued, outcome).await
}

/// Checks a code; a right one records the phone as the flow's verified identity.
pub async fn verify(
    core: &Core,
    flow_token: &str,
    raw_phone: &str,
    code: &str,
    from: PublicWrite,
) -> Result<Assessment> {
    let phone_hmac = core.contacts.phone(&Phone::lookup_form("phone", raw_phone)?);
    codes::check(core, flow_token, Channel::Sms, phone_hmac, code, from, |conn, flow, row| {
        let identity = Identity::Phone { phone_hmac: row.contact_hmac.clone() };
        let mut evidence = flow.evidence();
        evidence.identity = Some(identity.clone());
        store::flows::attach_identity(conn, flow, identity)?;
        Ok(review_level(&evidence))
    })
    .await
}
