//! E-mail through SMTP (lettre): one transport per process, a timeout, STARTTLS or TLS as
//! the URL says (`smtp://host:587?tls=required`, `smtps://host`, `smtp://host:25` for a
//! local relay). Without `mail.smtp_url` (the default) messages go to the development
//! outbox instead.

use lettre::message::{header::ContentType, Mailbox};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// A plain-text message to one address.
pub struct Mail<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub text: String,
}

/// The SMTP transport for `settings`, or `None` when mail goes to the outbox.
pub fn transport(settings: &crate::config::MailSettings) -> Result<Option<AsyncSmtpTransport<Tokio1Executor>>, String> {
    if settings.smtp_url.trim().is_empty() {
        return Ok(None);
    }
    let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(settings.smtp_url.trim())
        .map_err(|e| format!("mail.smtp_url: {e}"))?;
    Ok(Some(builder.timeout(Some(std::time::Duration::from_secs(10))).build()))
}

/// Checks the settings at start-up (nothing is connected).
pub fn check(settings: &crate::config::MailSettings) -> Result<(), String> {
    if !settings.smtp_url.trim().is_empty() {
        AsyncSmtpTransport::<Tokio1Executor>::from_url(settings.smtp_url.trim())
            .map_err(|e| format!("mail.smtp_url: {e}"))?;
    }
    sender(settings).map(|_| ())
}

pub fn sender(settings: &crate::config::MailSettings) -> Result<Mailbox, String> {
    settings.from.parse().map_err(|e| format!("mail.from '{}' is not a mailbox: {e}", settings.from))
}

/// Sends one message; the error says why in words (logged and kept on the send row).
pub async fn send(
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    from: &Mailbox,
    mail: Mail<'_>,
) -> Result<(), String> {
    let to: Mailbox = mail.to.parse().map_err(|e| format!("bad recipient: {e}"))?;
    let message = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject)
        .header(ContentType::TEXT_PLAIN)
        .body(mail.text)
        .map_err(|e| format!("message not built: {e}"))?;
    transport.send(message).await.map(|_| ()).map_err(|e| format!("SMTP: {e}"))
}
