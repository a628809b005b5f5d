//! Verified company (B2B): the author names the company (and, if they like, their role and
//! the company's size) and proves they work there by a one-time code sent to their work
//! e-mail on the company's domain (the rules of `kyc::codes`). Free-mail domains never
//! prove a company. Readers see "Works at example.com (work e-mail verified)"; the name,
//! role and size are the author's words, shown as such.

use crate::core::Core;
use crate::domain::contact::Email;
use crate::domain::maturity::{review_level, Assessment, Company};
use crate::domain::otp;
use crate::error::{Error, Result};
use crate::kyc::codes::{self, Channel, Issue};
use crate::reviews::PublicWrite;
use crate::store;

/// What the author says about their company.
#[derive(Debug, Clone, Default)]
pub struct Claim {
    pub name: Option<String>,
    pub role: Option<String>,
    pub size: Option<String>,
}

fn text(code: &str) -> String {
    format!(
        "{code} is your code to confirm where you work for your review. It expires in 10 minutes.\n\n\
         If you did not ask for it, ignore this message."
    )
}

/// The work address, refused when it is a free-mail one.
fn work_email(raw: &str) -> Result<Email> {
    let email = Email::parse("work_email", raw)?;
    if otp::is_free_mail(email.domain()) {
        return Err(Error::validation(
            "work_email",
            format!("is at {}, a free-mail provider: give your e-mail at the company", email.domain()),
        ));
    }
    Ok(email)
}

/// Sends a code to the work address for the flow.
pub async fn start(core: &Core, flow_token: &str, raw_email: &str, claim: Claim, from: PublicWrite) -> Result<()> {
    let email = work_email(raw_email)?;
    let company = Company { domain: email.domain().to_owned(), name: claim.name, role: claim.role, size: claim.size };
    let issue = Issue {
        channel: Channel::Email,
        to: email.as_str().to_owned(),
        contact_hmac: core.contacts.email(email.as_str()),
        text,
        claim: Some(serde_json::to_string(&company).map_err(Error::internal)?),
    };
    let outbox = core.mailer.is_outbox();
    let issued = codes::issue(core, flow_token, from, issue, outbox, |_| Ok(())).await?;
    if issued.outbox {
        return Ok(());
    }
    let mail =
        crate::notify::mail::Mail::text(email.as_str(), "Your code to confirm where you work", issued.text.clone());
    let outcome = core.mailer.send(mail).await.map_err(|e| e.message);
    codes::finish(core, issued, outcome).await
}

/// Checks a code; a right one records the company on the flow.
pub async fn verify(
    core: &Core,
    flow_token: &str,
    raw_email: &str,
    code: &str,
    from: PublicWrite,
) -> Result<Assessment> {
    let email = Email::parse("work_email", raw_email)?;
    let contact = core.contacts.email(email.as_str());
    codes::check(core, flow_token, Channel::Email, contact, code, from, |conn, flow, row| {
        let company: Company = row
            .claim
            .as_deref()
            .and_then(|c| serde_json::from_str(c).ok())
            .ok_or_else(|| Error::internal("a work-e-mail code without its company"))?;
        let mut evidence = flow.evidence();
        evidence.company = Some(company.clone());
        store::flows::attach_company(conn, flow, company)?;
        Ok(review_level(&evidence))
    })
    .await
}
