//! Secrets, tokens, passwords and limits.

pub mod hmac;
pub mod jwt;
pub mod keys;
pub mod lockout;
pub mod password;
pub mod ratelimit;
pub mod seal;
pub mod tokens;
