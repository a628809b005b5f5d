//! The invitation page's phone step: the buyer confirms it is them with a code texted to
//! the phone on their order, and the review is then a verified buyer's (level 5). The
//! code lives in a flow of its own, bound to the invitation's order; the review's flow
//! takes its identity when the review is sent.

use crate::core::Core;
use crate::error::{Error, Result};
use crate::funnel::invitations::{self, Opened};
use crate::reviews::PublicWrite;
use crate::security::tokens::sha256_hex;
use crate::store;

/// A code was sent: the flow that holds the check, and the number as the page shows it.
pub struct Sent {
    pub flow_token: String,
    pub masked: String,
}

/// The order's phone as the page may show it (`•••• 77`), when the step is offered: the
/// order's phone is still kept and codes can be sent (an SMS gateway, or the demo's
/// development outbox).
pub async fn offer(core: &Core, opened: &Opened) -> Result<Option<String>> {
    if core.settings.sms.gateway.is_empty() && !core.settings.demo {
        return Ok(None);
    }
    Ok(order_phone(core, opened).await?.map(|p| mask(&p)))
}

fn mask(phone: &str) -> String {
    let tail: String = phone.chars().rev().take(2).collect::<Vec<_>>().into_iter().rev().collect();
    format!("•••• {tail}")
}

async fn order_phone(core: &Core, opened: &Opened) -> Result<Option<String>> {
    let (vendor_id, order_id) = (opened.invitation.vendor_id.clone(), opened.invitation.order_id.clone());
    let order = core.db.run(move |conn| store::orders::get(conn, &vendor_id, &order_id)).await?;
    Ok(invitations::open_contact(&core.sealer, &opened.invitation.vendor_id, &order, "sms"))
}

/// Texts a code to the phone on the invitation's order.
pub async fn start(core: &Core, token: &str, from: PublicWrite) -> Result<Sent> {
    let opened = invitations::open(core, token).await?;
    let masked = offer(core, &opened).await?.ok_or_else(no_phone)?;
    let phone = order_phone(core, &opened).await?.ok_or_else(no_phone)?;
    let (flow, flow_token) = crate::reviews::open_flow(core, &opened.invitation.vendor_id, None).await?;
    let (vendor_id, order_id) = (opened.invitation.vendor_id.clone(), opened.invitation.order_id.clone());
    core.db
        .write(move |conn| {
            let order = store::orders::get(conn, &vendor_id, &order_id)?;
            let purchase = crate::domain::maturity::Purchase {
                order_id: order.id,
                method: crate::domain::maturity::PurchaseMethod::Invitation,
                email_hmac: order.email_hmac,
                phone_hmac: order.phone_hmac,
            };
            store::flows::attach_purchase(conn, &flow, purchase)
        })
        .await?;
    crate::kyc::phone::start(core, &flow_token, &phone, from).await?;
    Ok(Sent { flow_token, masked })
}

/// Checks the code the buyer typed; the flow then holds the phone as their identity.
pub async fn verify(core: &Core, token: &str, flow_token: &str, code: &str, from: PublicWrite) -> Result<()> {
    let opened = invitations::open(core, token).await?;
    identity_flow(core, &opened, flow_token).await?;
    let phone = order_phone(core, &opened).await?.ok_or_else(no_phone)?;
    crate::kyc::phone::verify(core, flow_token, &phone, code, from).await?;
    Ok(())
}

/// The phone step's flow of this invitation (another invitation's, or none: 404).
pub(crate) async fn identity_flow(core: &Core, opened: &Opened, flow_token: &str) -> Result<store::flows::Flow> {
    let hash = sha256_hex(flow_token.trim());
    let flow = core.db.run(move |conn| store::flows::by_token_hash(conn, &hash)).await?;
    flow.filter(|f| {
        f.vendor_id == opened.invitation.vendor_id
            && f.evidence().purchase.is_some_and(|p| p.order_id == opened.invitation.order_id)
    })
    .ok_or_else(|| Error::not_found("phone check"))
}

fn no_phone() -> Error {
    Error::Conflict("this order has no phone number to send a code to".into())
}
