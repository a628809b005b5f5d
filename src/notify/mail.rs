//! E-mail through SMTP (lettre): one pooled transport per process (kept in `Core`), a
//! timeout, STARTTLS or TLS as the URL says (`smtp://host:587?tls=required`, `smtps://host`,
//! `smtp://host:25` for a local relay). Without `mail.smtp_url` (the default) messages go to
//! the development outbox instead.

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// A message to one address: plain text, or text and HTML alternatives.
pub struct Mail<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub text: String,
    pub html: Option<String>,
    /// The display name on the `From` address (the configured one otherwise).
    pub from_name: Option<String>,
    /// `<id@domain>`; a stable one lets receivers drop a message sent twice.
    pub message_id: Option<String>,
    /// Further headers, e.g. `List-Unsubscribe`.
    pub headers: Vec<(&'static str, String)>,
    /// The envelope sender (`MAIL FROM`, where bounces go), when not the `From` address.
    pub envelope_from: Option<String>,
}

impl<'a> Mail<'a> {
    pub fn text(to: &'a str, subject: &'a str, text: String) -> Mail<'a> {
        Mail {
            to,
            subject,
            text,
            html: None,
            from_name: None,
            message_id: None,
            headers: Vec::new(),
            envelope_from: None,
        }
    }
}

/// Why a message was not sent; `permanent` when the server refused it for good (5xx: a hard
/// bounce, not worth retrying).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    pub permanent: bool,
    pub message: String,
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl SendError {
    fn transient(message: String) -> SendError {
        SendError { permanent: false, message }
    }
}

/// The process's mail transport and sender.
pub struct Mailer {
    /// Taken out by [`Mailer::close`]: the pool must be dropped inside the runtime.
    transport: std::sync::Mutex<Option<AsyncSmtpTransport<Tokio1Executor>>>,
    outbox: bool,
    from: Mailbox,
}

impl Mailer {
    /// Checks the settings without building the transport (its pool needs the runtime).
    pub fn check(settings: &crate::config::MailSettings) -> Result<(), String> {
        let url = settings.smtp_url.trim();
        if !url.is_empty() {
            AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|e| format!("mail.smtp_url: {e}"))?;
        }
        settings.from.parse::<Mailbox>().map_err(|e| format!("mail.from '{}' is not a mailbox: {e}", settings.from))?;
        Ok(())
    }

    /// The transport for the settings (nothing is connected yet); inside the runtime.
    pub fn new(settings: &crate::config::MailSettings) -> Result<Mailer, String> {
        let url = settings.smtp_url.trim();
        let transport = if url.is_empty() {
            None
        } else {
            let builder =
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|e| format!("mail.smtp_url: {e}"))?;
            Some(builder.timeout(Some(std::time::Duration::from_secs(10))).build())
        };
        let from = settings.from.parse().map_err(|e| format!("mail.from '{}' is not a mailbox: {e}", settings.from))?;
        Ok(Mailer { outbox: transport.is_none(), transport: std::sync::Mutex::new(transport), from })
    }

    /// True when messages go to the development outbox (no SMTP server configured).
    pub fn is_outbox(&self) -> bool {
        self.outbox
    }

    /// Closes the pooled connections (call inside the runtime, before the process ends:
    /// the pool closes its connections on a task).
    pub fn close(&self) {
        drop(self.transport.lock().unwrap_or_else(|e| e.into_inner()).take());
    }

    /// The domain of the sender address (for Message-IDs).
    pub fn domain(&self) -> &str {
        self.from.email.domain()
    }

    /// Sends one message; the error says why in words (logged and kept with the job).
    pub async fn send(&self, mail: Mail<'_>) -> Result<(), SendError> {
        let transport = self
            .transport
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| SendError::transient("no SMTP server configured".into()))?;
        let to: Mailbox =
            mail.to.parse().map_err(|e| SendError { permanent: true, message: format!("bad recipient: {e}") })?;
        let mut from = self.from.clone();
        if let Some(name) = mail.from_name {
            from.name = Some(name);
        }
        let mut builder = Message::builder().from(from).to(to.clone()).subject(mail.subject);
        if let Some(sender) = &mail.envelope_from {
            let sender: lettre::Address = sender
                .parse()
                .map_err(|e| SendError { permanent: true, message: format!("bad bounce address: {e}") })?;
            let envelope = lettre::address::Envelope::new(Some(sender), vec![to.email.clone()])
                .map_err(|e| SendError { permanent: true, message: format!("envelope: {e}") })?;
            builder = builder.envelope(envelope);
        }
        if let Some(id) = mail.message_id {
            builder = builder.message_id(Some(id));
        }
        for (name, value) in mail.headers {
            builder = builder.raw_header(HeaderValue::new(HeaderName::new_from_ascii_str(name), value));
        }
        let built = match mail.html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(mail.text, html)),
            None => builder.header(ContentType::TEXT_PLAIN).body(mail.text),
        };
        let message = built.map_err(|e| SendError { permanent: true, message: format!("message not built: {e}") })?;
        transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| SendError { permanent: e.is_permanent(), message: format!("SMTP: {e}") })
    }
}
