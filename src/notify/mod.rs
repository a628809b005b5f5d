//! Outgoing messages to buyers: SMS (codes) through an HTTP gateway, e-mail through SMTP.

pub mod mail;
pub mod sms;
