//! Outgoing messages to buyers (SMS codes). Only the request building exists so far.

pub mod sms;
