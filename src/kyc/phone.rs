//! Phone one-time codes (SECURITY R1): a 6-digit code from the CSPRNG is sent by SMS to
//! the number the buyer gives, kept only as an HMAC bound to the flow, valid 10 minutes,
//! single use, dead after 5 wrong tries; resends wait 60 s and a phone gets at most 3 codes
//! in 10 minutes; per-IP and per-vendor daily caps stop SMS pumping; premium-rate, shared-
//! cost and other non-mobile numbers get none. A verified code records the phone (as an
//! HMAC) as the flow's identity: level 2, or 5 with an order of that phone.

use crate::core::Core;
use crate::domain::contact::Phone;
use crate::domain::maturity::{review_level, Assessment, Identity};
use crate::domain::otp::{self, Challenge, PhoneRefusal, SendRefusal, Verdict};
use crate::domain::review::daily_cap;
use crate::error::{Error, Result};
use crate::reviews::{flow_step, PublicWrite};
use crate::security::hmac::same;
use crate::security::tokens::sha256_hex;
use crate::store;
use crate::store::phone_codes::{PhoneCode, SmsSend};

fn wait(ms: i64) -> Error {
    Error::RateLimited { retry_after: std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0)) }
}

/// Sends a code to `phone` for the flow. The answer is the same whether or not the phone
/// is known anywhere; refusals are only about the number's kind and the caps.
pub async fn start(core: &Core, flow_token: &str, raw_phone: &str, from: PublicWrite) -> Result<()> {
    let phone = Phone::parse("phone", raw_phone)?;
    if let Err(refusal) = otp::phone_allowed(&phone, &[]) {
        let why = match refusal {
            PhoneRefusal::Kind(_) => "cannot receive a code by SMS: give a mobile number",
            PhoneRefusal::Country(_) => "is in a country this shop does not send codes to",
        };
        return Err(Error::validation("phone", why));
    }
    let (now, send_id) = (core.now_ms(), core.new_id());
    let code = otp::generate_code(core.random.as_ref());
    let phone_hmac = core.contacts.phone(phone.as_str());
    let token_hash = sha256_hex(flow_token.trim());
    let (own, contacts) = (core.own_origin.clone(), core.contacts.clone());
    let (per_ip, per_vendor) = (core.settings.otp_sends_per_ip_per_day, core.settings.otp_sends_per_vendor_per_day);
    let outbox = core.settings.sms.gateway.is_empty();
    let text = format!("{code} is your review verification code. It expires in 10 minutes.");
    let (to, body) = (phone.as_str().to_owned(), text.clone());
    let row_id = send_id.clone();
    let vendor_id = core
        .db
        .write(move |conn| {
            let (flow, vendor) = flow_step(conn, &token_hash, now, true, &from, own.as_ref())?;
            let sends = store::phone_codes::sends_since(conn, &phone_hmac, now - otp::SEND_WINDOW_MS)?;
            match otp::may_send(&sends, now) {
                Ok(()) => {}
                Err(SendRefusal::Cooldown { retry_after_ms } | SendRefusal::WindowFull { retry_after_ms }) => {
                    return Err(wait(retry_after_ms))
                }
            }
            let (ip_cap, lapses_at) = daily_cap("otp_ip", &vendor.id, from.ip, now);
            let (vendor_cap, _) = daily_cap("otp_vendor", &vendor.id, None, now);
            if !store::reviews::take_cap(conn, &ip_cap, per_ip, lapses_at)?
                || !store::reviews::take_cap(conn, &vendor_cap, per_vendor, lapses_at)?
            {
                return Err(wait(lapses_at - now));
            }
            store::phone_codes::put(
                conn,
                &PhoneCode {
                    flow_id: flow.id.clone(),
                    vendor_id: vendor.id.clone(),
                    phone_hmac: phone_hmac.clone(),
                    code_hmac: contacts.code(&flow.id, &code),
                    issued_at: now,
                    wrong_tries: 0,
                    used: false,
                },
            )?;
            store::phone_codes::insert_send(
                conn,
                &SmsSend {
                    id: row_id,
                    vendor_id: vendor.id.clone(),
                    phone_hmac,
                    sent_at: now,
                    state: if outbox { "outbox" } else { "queued" }.into(),
                    error: None,
                    outbox_to: outbox.then(|| to.clone()),
                    outbox_body: outbox.then(|| body.clone()),
                },
            )?;
            Ok(vendor.id)
        })
        .await?;
    if outbox {
        tracing::info!(vendor = %vendor_id, "phone code written to the development outbox (no SMS gateway configured)");
        return Ok(());
    }
    // Sent after the commit: the code is valid whether or not the gateway is slow.
    let outcome = match crate::notify::sms::request_for(&core.settings.sms, phone.as_str(), &text) {
        Ok(Some(req)) => crate::notify::sms::send(&core.http, &req).await,
        Ok(None) => Ok(()),
        Err(e) => Err(e),
    };
    let (state, error) = match &outcome {
        Ok(()) => ("sent", None),
        Err(e) => {
            tracing::warn!(vendor = %vendor_id, error = %e, "SMS delivery failed");
            ("failed", Some(e.clone()))
        }
    };
    core.db.write(move |conn| store::phone_codes::finish_send(conn, &send_id, state, error.as_deref())).await?;
    Ok(())
}

enum Outcome {
    Verified(Assessment),
    Wrong(u32),
    NotLive,
}

/// Checks a code; a right one records the phone as the flow's verified identity.
pub async fn verify(
    core: &Core,
    flow_token: &str,
    raw_phone: &str,
    code: &str,
    from: PublicWrite,
) -> Result<Assessment> {
    if !otp::well_formed(code.trim()) {
        return Err(Error::validation("code", "must be the 6 digits sent by SMS"));
    }
    let phone_hmac = core.contacts.phone(&Phone::lookup_form("phone", raw_phone)?);
    let token_hash = sha256_hex(flow_token.trim());
    let (now, own, contacts, code) =
        (core.now_ms(), core.own_origin.clone(), core.contacts.clone(), code.trim().to_owned());
    let outcome = core
        .db
        .write(move |conn| {
            let (flow, _vendor) = flow_step(conn, &token_hash, now, true, &from, own.as_ref())?;
            let Some(row) = store::phone_codes::get(conn, &flow.id)? else { return Ok(Outcome::NotLive) };
            let challenge = Challenge {
                issued_ms: row.issued_at,
                wrong_tries: u32::try_from(row.wrong_tries).unwrap_or(u32::MAX),
                used: row.used,
            };
            let matches = same(&contacts.code(&flow.id, &code), &row.code_hmac) & same(&phone_hmac, &row.phone_hmac);
            let verdict = otp::judge(&challenge, now, matches);
            let next = otp::apply(&challenge, verdict);
            store::phone_codes::record_try(
                conn,
                &flow.id,
                i32::try_from(next.wrong_tries).unwrap_or(i32::MAX),
                next.used,
            )?;
            match verdict {
                Verdict::Accepted => {
                    let identity = Identity::Phone { phone_hmac: row.phone_hmac.clone() };
                    let mut evidence = flow.evidence();
                    evidence.identity = Some(identity.clone());
                    store::flows::attach_identity(conn, &flow, identity)?;
                    Ok(Outcome::Verified(review_level(&evidence)))
                }
                Verdict::Wrong { left } if left > 0 => Ok(Outcome::Wrong(left)),
                _ => Ok(Outcome::NotLive),
            }
        })
        .await?;
    match outcome {
        Outcome::Verified(a) => Ok(a),
        Outcome::Wrong(left) => {
            Err(Error::validation("code", format!("is not the code sent to this phone; {left} tries left")))
        }
        Outcome::NotLive => {
            Err(Error::validation("code", "is no longer valid (expired, used or tried too often): ask for a new code"))
        }
    }
}
