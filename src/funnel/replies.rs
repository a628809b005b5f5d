//! Answers by e-mail reply (SPEC §4.5, "a simple reply"): invitation e-mails carry
//! `Reply-To: reply+{invitation id}.{tag}@{mail.inbound_domain}` (the tag a keyed HMAC of
//! the id, so the address cannot be guessed); the domain's inbound-mail service posts the raw
//! MIME to `POST /api/v1/inbound/email`. A reply counts only when its DKIM signature
//! verifies for the sender's domain (mail-auth) and the sender is the invited address. One
//! that starts with a rating (1–5 as a digit or stars) becomes a pending review bound to the
//! invitation's order — level 3, "Answered the invitation by e-mail"; anything else gets one
//! polite auto-answer with the link. Quoted history and signatures are cut first.

use std::collections::HashMap;
use std::sync::OnceLock;

use mail_auth::common::parse::TxtRecordParser;
use mail_auth::common::verify::DomainKey;
use mail_auth::{AuthenticatedMessage, DkimResult, MessageAuthenticator, Parameters, ResolverCache, Txt};

use crate::core::Core;
use crate::domain::contact::Email;
use crate::domain::maturity::PurchaseMethod;
use crate::domain::reply::{new_part, rating_and_text};
use crate::domain::review::{Locale, Rating};
use crate::error::{Error, Result};
use crate::funnel::invitations::{self, Written};
use crate::security::hmac::same;
use crate::store;

/// A reply address for an invitation, when replies are taken.
pub fn reply_address(core: &Core, invitation_id: &str) -> Option<String> {
    let domain = core.settings.mail.inbound_domain.trim();
    (!domain.is_empty()).then(|| format!("<reply+{invitation_id}.{}@{domain}>", core.contacts.reply_tag(invitation_id)))
}

/// The envelope sender of an invitation e-mail, when replies are taken: delivery status
/// notifications (bounces) come back to it.
pub fn bounce_address(core: &Core, invitation_id: &str) -> Option<String> {
    let domain = core.settings.mail.inbound_domain.trim();
    (!domain.is_empty()).then(|| format!("bounce+{invitation_id}.{}@{domain}", core.contacts.bounce_tag(invitation_id)))
}

/// DKIM key records pinned by configuration, consulted before DNS.
pub struct PinnedKeys(HashMap<Box<str>, Txt>);

impl PinnedKeys {
    fn new(records: &std::collections::BTreeMap<String, String>) -> std::result::Result<PinnedKeys, String> {
        let mut map = HashMap::new();
        for (name, value) in records {
            let key = DomainKey::parse(value.as_bytes()).map_err(|e| format!("mail.dkim_records.{name}: {e}"))?;
            let mut fqdn = name.trim().to_ascii_lowercase();
            if !fqdn.ends_with('.') {
                fqdn.push('.');
            }
            map.insert(fqdn.into_boxed_str(), Txt::from(key));
        }
        Ok(PinnedKeys(map))
    }
}

impl ResolverCache<Box<str>, Txt> for PinnedKeys {
    fn get<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        self.0.get(name).cloned()
    }

    fn remove<Q>(&self, _name: &Q) -> Option<Txt>
    where
        Box<str>: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ?Sized,
    {
        None
    }

    fn insert(&self, _key: Box<str>, _value: Txt, _valid_until: std::time::Instant) {}
}

/// DKIM verification: pinned records, then DNS (the system's resolver configuration).
pub struct Dkim {
    pinned: PinnedKeys,
    resolver: OnceLock<Option<MessageAuthenticator>>,
}

impl Dkim {
    /// A bad pinned record stops start-up with its name.
    pub fn new(settings: &crate::config::MailSettings) -> std::result::Result<Dkim, String> {
        Ok(Dkim { pinned: PinnedKeys::new(&settings.dkim_records)?, resolver: OnceLock::new() })
    }

    /// The domains (`d=`) whose DKIM signatures on the message verify.
    async fn passing_domains(&self, raw: &[u8]) -> Vec<String> {
        let Some(message) = AuthenticatedMessage::parse(raw) else { return Vec::new() };
        let resolver = self.resolver.get_or_init(|| {
            MessageAuthenticator::new_system_conf().or_else(|_| MessageAuthenticator::new_cloudflare()).ok()
        });
        let Some(resolver) = resolver else { return Vec::new() };
        let params = Parameters::new(&message).with_txt_cache(&self.pinned);
        resolver
            .verify_dkim(params)
            .await
            .iter()
            .filter(|o| matches!(o.result(), DkimResult::Pass))
            .filter_map(|o| o.signature().map(|s| s.d.to_ascii_lowercase()))
            .collect()
    }
}

/// What became of a reply.
#[derive(Debug)]
pub enum Outcome {
    /// A pending review bound to the order.
    Review(Box<store::reviews::Review>),
    /// No rating found: the buyer was sent the link once.
    AutoAnswered,
    /// No rating found, and the buyer had been answered before.
    Ignored,
    /// The buyer asked for no more messages (STOP).
    OptedOut,
    /// A delivery status notification said the address failed for good: the invitation
    /// bounced, its reminders stopped.
    Bounced,
}

impl Outcome {
    /// As the inbound endpoints report it.
    pub fn name(&self) -> &'static str {
        match self {
            Outcome::Review(_) => "review",
            Outcome::AutoAnswered => "auto_answered",
            Outcome::Ignored => "ignored",
            Outcome::OptedOut => "opted_out",
            Outcome::Bounced => "bounced",
        }
    }
}

/// The invitation a recipient address names (`{prefix}{id}.{tag}@{inbound domain}`, the
/// prefix `reply+` or `bounce+`).
fn invitation_id(address: &str, domain: &str) -> Option<(String, String)> {
    addressed(address, domain, "reply+")
}

fn addressed(address: &str, domain: &str, prefix: &str) -> Option<(String, String)> {
    let (local, host) = address.trim().rsplit_once('@')?;
    if !host.eq_ignore_ascii_case(domain) {
        return None;
    }
    let rest = local.strip_prefix(prefix)?;
    let (id, tag) = rest.rsplit_once('.')?;
    Some((id.to_owned(), tag.to_owned()))
}

fn rejected(why: &str) -> Error {
    Error::Forbidden(why.to_owned())
}

/// Takes one inbound e-mail (raw MIME).
pub async fn inbound_email(core: &Core, raw: &[u8]) -> Result<Outcome> {
    let domain = core.settings.mail.inbound_domain.trim().to_ascii_lowercase();
    if domain.is_empty() {
        return Err(Error::not_found("inbound e-mail"));
    }
    let message = mail_parser::MessageParser::default()
        .parse(raw)
        .filter(|m| m.from().is_some())
        .ok_or_else(|| Error::validation("body", "is not an e-mail message with a From address"))?;
    let recipients = [message.to(), message.cc()]
        .into_iter()
        .flatten()
        .flat_map(|a| a.iter())
        .filter_map(|a| a.address())
        .map(str::to_owned)
        .chain(
            ["Delivered-To", "X-Original-To"]
                .into_iter()
                .filter_map(|h| message.header(h)?.as_text().map(str::to_owned)),
        )
        .collect::<Vec<_>>();
    if let Some((id, tag)) = recipients.iter().find_map(|a| addressed(a.trim_matches(['<', '>']), &domain, "bounce+")) {
        return bounce(core, &id, &tag, raw).await;
    }
    let (id, tag) = recipients
        .iter()
        .find_map(|a| invitation_id(a.trim_matches(['<', '>']), &domain))
        .ok_or_else(|| Error::not_found("invitation reply address"))?;
    if !same(&core.contacts.reply_tag(&id), &tag) {
        return Err(Error::not_found("invitation reply address"));
    }
    let from = message.from().and_then(|a| a.first()).and_then(|a| a.address()).unwrap_or_default().to_owned();
    let from = Email::parse("from", &from).map_err(|_| rejected("the reply has no valid sender address"))?;
    let from_domain = from.as_str().rsplit_once('@').map(|(_, d)| d.to_owned()).unwrap_or_default();
    // DKIM: a signature that verifies for the sender's domain (or a parent of it).
    let aligned = core
        .dkim
        .passing_domains(raw)
        .await
        .iter()
        .any(|d| from_domain == *d || from_domain.ends_with(&format!(".{d}")));
    if !aligned {
        return Err(rejected(&format!("the reply's DKIM signature does not verify for {from_domain}")));
    }
    let text = new_part(&message.body_text(0).unwrap_or_default());
    let now = core.now_ms();
    let (event_id, sender_hmac) = (core.new_id(), core.contacts.email(from.as_str()));
    let opened = core
        .db
        .write(move |conn| {
            let invitation = store::funnel::by_id(conn, &id)?.ok_or_else(|| Error::not_found("invitation"))?;
            if !same(&invitation.contact_hmac, &sender_hmac) {
                return Err(rejected("the reply does not come from the invited address"));
            }
            if invitation.expires_at <= now {
                return Err(Error::Conflict("this invitation has expired".into()));
            }
            invitations::opened(conn, invitation, event_id, now)
        })
        .await?;
    match reply_review(core, &opened, &text, PurchaseMethod::Reply).await? {
        Some(outcome) => Ok(outcome),
        None => auto_answer(core, &opened, from.as_str()).await,
    }
}

/// The review a reply that starts with a rating becomes (`None`: no rating found).
async fn reply_review(
    core: &Core,
    opened: &invitations::Opened,
    text: &str,
    method: PurchaseMethod,
) -> Result<Option<Outcome>> {
    let Some((rating, body)) = rating_and_text(text) else { return Ok(None) };
    let body: String = body.chars().take(5000).collect();
    let written = Written {
        rating: Rating::parse("rating", i64::from(rating))?,
        sku: match opened.items.as_slice() {
            [(sku, _)] => Some(crate::domain::review::Sku::parse("sku", sku)?),
            _ => None,
        },
        title: String::new(),
        body: crate::domain::text::clean("body", &body, crate::domain::text::Lines::Multi, 0, 5000)?,
        display_name: first_name(opened.customer_name.as_deref()),
        locale: Locale::parse(opened.locale.as_deref()).unwrap_or(Locale::parse(None)?),
    };
    let (review, _) = invitations::review_for(core, opened, written, method, None).await?;
    Ok(Some(Outcome::Review(Box::new(review))))
}

/// Whether a text message asks for no more messages (the carriers' usual keywords).
pub fn is_stop(text: &str) -> bool {
    let word = text.trim().trim_end_matches(['.', '!']).to_lowercase();
    matches!(word.as_str(), "stop" | "stopall" | "unsubscribe" | "cancel" | "end" | "quit" | "стоп" | "отписаться")
}

/// Takes one text message from a buyer (the gateway's signature or secret already
/// checked): `STOP` opts the number out of the shop's review requests; a message that
/// starts with a rating becomes a pending review bound to the order of the latest SMS
/// invitation to that number (level 3, "Answered the invitation by SMS"); anything else gets
/// one polite answer with the link. 404 when no invitation was texted to the number, 409
/// when it expired or the order was reviewed already.
pub async fn inbound_sms(core: &Core, from: &str, text: &str) -> Result<Outcome> {
    let number = crate::domain::contact::Phone::lookup_form("From", from)
        .map_err(|_| Error::validation("From", "is not a phone number"))?;
    let hmac = core.contacts.phone(&number);
    let (now, stop) = (core.now_ms(), is_stop(text));
    let (event_id, text) = (core.new_id(), new_part(text));
    let opened = core
        .db
        .write(move |conn| {
            let invitation = store::funnel::latest_sms_to(conn, &hmac)?
                .ok_or_else(|| Error::not_found("invitation to this number"))?;
            if stop {
                if store::funnel::opt_out(conn, &invitation.vendor_id, &hmac, now)? {
                    store::funnel::stop(conn, &invitation.id, crate::domain::funnel::Stop::OptedOut.as_str())?;
                    let e = store::funnel::Event::of(event_id, &invitation, "opted_out", now);
                    store::funnel::record(conn, &e)?;
                }
                return Ok(None);
            }
            if invitation.expires_at <= now {
                return Err(Error::Conflict("this invitation has expired".into()));
            }
            invitations::opened(conn, invitation, event_id, now).map(Some)
        })
        .await?;
    let Some(opened) = opened else { return Ok(Outcome::OptedOut) };
    match reply_review(core, &opened, &text, PurchaseMethod::SmsReply).await? {
        Some(outcome) => Ok(outcome),
        None => auto_answer_sms(core, &opened, &number).await,
    }
}

/// One polite text with the link, the first time an SMS reply carries no rating.
async fn auto_answer_sms(core: &Core, opened: &invitations::Opened, to: &str) -> Result<Outcome> {
    let inv = opened.invitation.clone();
    let id = inv.id.clone();
    let first = core.db.run(move |conn| Ok(!store::funnel::has_event(conn, &id, "auto_answered")?)).await?;
    if !first {
        return Ok(Outcome::Ignored);
    }
    let link = invitations::short_link(core, &inv);
    let text = match crate::funnel::messages::Lang::of(opened.locale.as_deref()) {
        crate::funnel::messages::Lang::En => format!(
            "{}: thank you! To review order {} by text, start your reply with a rating from 1 to 5, e.g. \"5 great\". Or review at {link}",
            opened.vendor_name, opened.order_ref
        ),
        crate::funnel::messages::Lang::Ru => format!(
            "{}: спасибо! Чтобы оставить отзыв о заказе {} по SMS, начните ответ с оценки от 1 до 5, например «5 отлично». Или здесь: {link}",
            opened.vendor_name, opened.order_ref
        ),
    };
    invitations::send_sms(core, &inv.vendor_id, &inv.contact_hmac, to, &text).await?;
    let e = store::funnel::Event::of(core.new_id(), &inv, "auto_answered", core.now_ms());
    core.db.write(move |conn| store::funnel::record(conn, &e)).await?;
    Ok(Outcome::AutoAnswered)
}

/// Whether a message is a delivery status notification (RFC 3464) that reports a permanent
/// failure: `multipart/report; report-type=delivery-status` with `Action: failed` and a
/// `Status: 5.x.x`. Delays (`4.x.x`, `Action: delayed`) are not failures.
pub fn permanent_failure(raw: &[u8]) -> bool {
    let text = String::from_utf8_lossy(raw).to_ascii_lowercase();
    let is_dsn = text.contains("report-type=delivery-status") || text.contains("report-type=\"delivery-status\"");
    let field = |name: &str, starts: &str| {
        text.lines().any(|l| l.trim_start().strip_prefix(name).is_some_and(|v| v.trim_start().starts_with(starts)))
    };
    is_dsn && field("action:", "failed") && field("status:", "5.")
}

/// A delivery status notification for an invitation (its bounce address and tag checked;
/// the tag is the credential: bounces come from any mail server, often unsigned).
async fn bounce(core: &Core, id: &str, tag: &str, raw: &[u8]) -> Result<Outcome> {
    if !same(&core.contacts.bounce_tag(id), tag) {
        return Err(Error::not_found("invitation bounce address"));
    }
    if !permanent_failure(raw) {
        return Ok(Outcome::Ignored);
    }
    let (id, now, event_id) = (id.to_owned(), core.now_ms(), core.new_id());
    core.db
        .write(move |conn| {
            let invitation = store::funnel::by_id(conn, &id)?.ok_or_else(|| Error::not_found("invitation"))?;
            if invitation.state != "bounced" {
                store::funnel::mark_bounced(conn, &invitation.id)?;
                let e = store::funnel::Event::of(event_id, &invitation, "bounced", now);
                store::funnel::record(conn, &e)?;
            }
            Ok(())
        })
        .await?;
    Ok(Outcome::Bounced)
}

/// The display name a reply's review carries: the buyer's first name from the order.
fn first_name(name: Option<&str>) -> String {
    name.and_then(|n| n.split_whitespace().next()).map(|n| n.chars().take(40).collect()).unwrap_or_default()
}

/// One polite answer with the link, the first time a reply carries no rating.
async fn auto_answer(core: &Core, opened: &invitations::Opened, to: &str) -> Result<Outcome> {
    let inv = opened.invitation.clone();
    let id = inv.id.clone();
    let first = core.db.run(move |conn| Ok(!store::funnel::has_event(conn, &id, "auto_answered")?)).await?;
    if !first {
        return Ok(Outcome::Ignored);
    }
    let page =
        format!("{}/r/{}", invitations::link_base(core), invitations::link_token(core, &inv, invitations::REVIEW)?);
    let lang = crate::funnel::messages::Lang::of(opened.locale.as_deref());
    let (subject, text) = match lang {
        crate::funnel::messages::Lang::En => (
            format!("Your reply to {}", opened.vendor_name),
            format!(
                "Thank you for your reply about order {}.\n\nTo leave a review by e-mail, reply with a rating from 1 to 5 first, \
                 for example \"5 great service\". Or write your review here: {page}\n",
                opened.order_ref
            ),
        ),
        crate::funnel::messages::Lang::Ru => (
            format!("Ваш ответ магазину {}", opened.vendor_name),
            format!(
                "Спасибо за ответ о заказе {}.\n\nЧтобы оставить отзыв по почте, начните ответ с оценки от 1 до 5, \
                 например «5 отличный сервис». Или напишите отзыв здесь: {page}\n",
                opened.order_ref
            ),
        ),
    };
    let mut mail = crate::notify::mail::Mail::text(to, &subject, text);
    mail.from_name = Some(opened.vendor_name.clone());
    invitations::send_plain(core, &inv, mail, "auto_answered").await?;
    Ok(Outcome::AutoAnswered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_permanent_delivery_failures_are_bounces() {
        let dsn = |action: &str, status: &str| {
            format!(
                "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\n\
                 Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example\r\n\r\n\
                 Final-Recipient: rfc822; ann@mail.example\r\nAction: {action}\r\nStatus: {status}\r\n--b--\r\n"
            )
        };
        assert!(permanent_failure(dsn("failed", "5.1.1").as_bytes()));
        assert!(!permanent_failure(dsn("delayed", "4.4.7").as_bytes()));
        assert!(!permanent_failure(dsn("failed", "4.4.7").as_bytes()));
        assert!(!permanent_failure(b"Subject: hi\r\n\r\nAction: failed\r\nStatus: 5.1.1\r\n"), "not a report");
    }

    #[test]
    fn stop_words_opt_out_and_other_text_does_not() {
        for stop in ["STOP", " stop. ", "Unsubscribe", "СТОП", "отписаться!"] {
            assert!(is_stop(stop), "{stop}");
        }
        for other in ["5 stop being so great", "stopped working", "4", ""] {
            assert!(!is_stop(other), "{other}");
        }
    }

    #[test]
    fn reply_addresses_name_their_invitation() {
        assert_eq!(
            invitation_id("reply+01a2-b3.0123456789abcdef@Reply.Example", "reply.example"),
            Some(("01a2-b3".into(), "0123456789abcdef".into()))
        );
        assert_eq!(invitation_id("reply+x.y@other.example", "reply.example"), None);
        assert_eq!(invitation_id("shop@reply.example", "reply.example"), None);
        assert_eq!(first_name(Some("  Ann   Smith ")), "Ann");
        assert_eq!(first_name(None), "");
    }
}
