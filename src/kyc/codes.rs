//! One-time codes on any channel (SECURITY R1): a 6-digit code from the CSPRNG, kept only
//! as an HMAC bound to the flow, valid 10 minutes, single use, dead after 5 wrong tries;
//! resends wait 60 s and a contact gets at most 3 codes in 10 minutes; per-IP and
//! per-vendor daily caps stop pumping. The answer never says whether a contact is known.
//! `phone` (SMS) and `company` (work e-mail) say what is sent and what a right code proves.

use crate::core::Core;
use crate::db::DbConn;
use crate::domain::maturity::Assessment;
use crate::domain::otp::{self, Challenge, SendRefusal, Verdict};
use crate::domain::review::daily_cap;
use crate::error::{Error, Result};
use crate::reviews::{flow_step, PublicWrite};
use crate::security::hmac::same;
use crate::security::tokens::sha256_hex;
use crate::store;
use crate::store::codes::{MessageSend, OneTimeCode};
use crate::store::flows::Flow;
use crate::store::vendors::Vendor;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Sms,
    Email,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Email => "email",
        }
    }

    /// The request field that holds the contact.
    pub fn field(self) -> &'static str {
        match self {
            Channel::Sms => "phone",
            Channel::Email => "work_email",
        }
    }

    fn contact_words(self) -> &'static str {
        match self {
            Channel::Sms => "this phone",
            Channel::Email => "this e-mail address",
        }
    }

    fn by(self) -> &'static str {
        match self {
            Channel::Sms => "by SMS",
            Channel::Email => "by e-mail",
        }
    }
}

/// A code to send: to whom (raw, only for delivery and the development outbox) and the
/// HMAC it is kept under, the message, and what a right code will prove besides.
pub struct Issue {
    pub channel: Channel,
    pub to: String,
    pub contact_hmac: String,
    /// Builds the message text from the code.
    pub text: fn(&str) -> String,
    pub claim: Option<String>,
}

/// Issued and committed: deliver it (or leave it in the outbox), then call [`finish`].
pub struct Issued {
    pub send_id: String,
    pub vendor_id: String,
    pub text: String,
    pub outbox: bool,
}

fn wait(ms: i64) -> Error {
    Error::RateLimited { retry_after: std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0)) }
}

/// Issues a code for the flow: the flow step, `vendor_rule` (the shop's own restrictions),
/// the per-contact window, the daily caps, then the code and its send row in one transaction.
pub async fn issue(
    core: &Core,
    flow_token: &str,
    from: PublicWrite,
    what: Issue,
    outbox: bool,
    vendor_rule: impl FnOnce(&Vendor) -> Result<()> + Send + 'static,
) -> Result<Issued> {
    let (now, send_id) = (core.now_ms(), core.new_id());
    let code = otp::generate_code(core.random.as_ref());
    let token_hash = sha256_hex(flow_token.trim());
    let (own, contacts) = (core.own_origin.clone(), core.contacts.clone());
    let (per_ip, per_vendor) = (core.settings.otp_sends_per_ip_per_day, core.settings.otp_sends_per_vendor_per_day);
    let text = (what.text)(&code);
    let body = text.clone();
    let row_id = send_id.clone();
    let channel = what.channel.as_str();
    let vendor_id = core
        .db
        .write(move |conn| {
            let (flow, vendor) = flow_step(conn, &token_hash, now, true, &from, own.as_ref())?;
            vendor_rule(&vendor)?;
            let sends = store::codes::sends_since(conn, &what.contact_hmac, now - otp::SEND_WINDOW_MS)?;
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
            store::codes::put(
                conn,
                &OneTimeCode {
                    flow_id: flow.id.clone(),
                    channel: channel.into(),
                    vendor_id: vendor.id.clone(),
                    contact_hmac: what.contact_hmac.clone(),
                    code_hmac: contacts.code(&flow.id, &code),
                    issued_at: now,
                    wrong_tries: 0,
                    used: false,
                    claim: what.claim,
                },
            )?;
            store::codes::insert_send(
                conn,
                &MessageSend {
                    id: row_id,
                    vendor_id: vendor.id.clone(),
                    contact_hmac: what.contact_hmac,
                    sent_at: now,
                    state: if outbox { "outbox" } else { "queued" }.into(),
                    error: None,
                    outbox_to: outbox.then_some(what.to),
                    outbox_body: outbox.then_some(body),
                    channel: channel.into(),
                },
            )?;
            Ok(vendor.id)
        })
        .await?;
    if outbox {
        tracing::info!(vendor = %vendor_id, channel, "one-time code written to the development outbox (no sender configured)");
    }
    Ok(Issued { send_id, vendor_id, text, outbox })
}

/// Records how delivery went (failures stay visible on the send row).
pub async fn finish(core: &Core, issued: Issued, outcome: std::result::Result<(), String>) -> Result<()> {
    let (state, error) = match outcome {
        Ok(()) => ("sent", None),
        Err(e) => {
            tracing::warn!(vendor = %issued.vendor_id, error = %e, "code delivery failed");
            ("failed", Some(e))
        }
    };
    let id = issued.send_id;
    core.db.write(move |conn| store::codes::finish_send(conn, &id, state, error.as_deref())).await
}

enum Outcome {
    Verified(Assessment),
    Wrong(u32),
    NotLive,
}

/// Checks a code; a right one is handed to `accept` (in the same transaction) to record
/// what it proves on the flow.
pub async fn check(
    core: &Core,
    flow_token: &str,
    channel: Channel,
    contact_hmac: String,
    code: &str,
    from: PublicWrite,
    accept: impl FnOnce(&mut DbConn, &Flow, &OneTimeCode) -> Result<Assessment> + Send + 'static,
) -> Result<Assessment> {
    if !otp::well_formed(code.trim()) {
        return Err(Error::validation("code", format!("must be the 6 digits sent {}", channel.by())));
    }
    let token_hash = sha256_hex(flow_token.trim());
    let (now, own, contacts, code) =
        (core.now_ms(), core.own_origin.clone(), core.contacts.clone(), code.trim().to_owned());
    let outcome = core
        .db
        .write(move |conn| {
            let (flow, _vendor) = flow_step(conn, &token_hash, now, true, &from, own.as_ref())?;
            let Some(row) = store::codes::get(conn, &flow.id, channel.as_str())? else { return Ok(Outcome::NotLive) };
            let challenge = Challenge {
                issued_ms: row.issued_at,
                wrong_tries: u32::try_from(row.wrong_tries).unwrap_or(u32::MAX),
                used: row.used,
            };
            let matches =
                same(&contacts.code(&flow.id, &code), &row.code_hmac) & same(&contact_hmac, &row.contact_hmac);
            let verdict = otp::judge(&challenge, now, matches);
            let next = otp::apply(&challenge, verdict);
            store::codes::record_try(
                conn,
                &flow.id,
                channel.as_str(),
                i32::try_from(next.wrong_tries).unwrap_or(i32::MAX),
                next.used,
            )?;
            match verdict {
                Verdict::Accepted => Ok(Outcome::Verified(accept(conn, &flow, &row)?)),
                Verdict::Wrong { left } if left > 0 => Ok(Outcome::Wrong(left)),
                _ => Ok(Outcome::NotLive),
            }
        })
        .await?;
    match outcome {
        Outcome::Verified(a) => Ok(a),
        Outcome::Wrong(left) => Err(Error::validation(
            "code",
            format!("is not the code sent to {}; {left} tries left", channel.contact_words()),
        )),
        Outcome::NotLive => {
            Err(Error::validation("code", "is no longer valid (expired, used or tried too often): ask for a new code"))
        }
    }
}
