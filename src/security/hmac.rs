//! Keyed HMACs of buyer contacts: orders and reviews store these instead of raw
//! e-mails and phones, and matching compares them in constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

#[derive(Clone)]
pub struct ContactHasher {
    pepper: Vec<u8>,
}

impl std::fmt::Debug for ContactHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ContactHasher(..)")
    }
}

impl ContactHasher {
    pub fn new(pepper: Vec<u8>) -> Self {
        Self { pepper }
    }

    fn mac(&self, domain: &str, value: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.pepper).expect("HMAC accepts any key length");
        mac.update(domain.as_bytes());
        mac.update(b"\0");
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// HMAC of an already normalised e-mail (see `domain::contact::Email`).
    pub fn email(&self, email: &str) -> String {
        self.mac("email", email)
    }

    /// HMAC of a one-time code, bound to the flow it was sent for (a code of one flow
    /// never matches another's).
    pub fn code(&self, flow_id: &str, code: &str) -> String {
        self.mac("otp", &format!("{flow_id}\0{code}"))
    }

    /// HMAC of a social-login identity: the issuer and the subject it assigned.
    pub fn subject(&self, issuer: &str, subject: &str) -> String {
        self.mac("oidc", &format!("{issuer}\0{subject}"))
    }

    /// The tag that makes an invitation's reply address unguessable (`reply+ID.TAG@…`).
    pub fn reply_tag(&self, invitation_id: &str) -> String {
        self.mac("reply", invitation_id)[..16].to_owned()
    }

    /// The tag of an invitation e-mail's bounce address (`bounce+{id}.{tag}@…`, the envelope
    /// sender delivery status notifications go back to).
    pub fn bounce_tag(&self, invitation_id: &str) -> String {
        self.mac("bounce", invitation_id)[..16].to_owned()
    }

    /// The tag of an SMS invitation's short link (`/i/{id}.{tag}`): its own key domain, so a
    /// reply address never doubles as a link to the review page, nor the reverse.
    pub fn short_link_tag(&self, invitation_id: &str) -> String {
        self.mac("short-link", invitation_id)[..16].to_owned()
    }

    /// HMAC of an already normalised E.164 phone number.
    pub fn phone(&self, phone: &str) -> String {
        self.mac("phone", phone)
    }
}

/// Constant-time equality of two HMAC strings.
pub fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}
