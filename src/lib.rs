//! TruView: a verified customer-review service.
//!
//! Layout (see `ARCHITECTURE.md`): `http` and `cli` are thin doors over the capability
//! modules (`accounts`, `reviews`), which take `&Core` and own each write's transaction,
//! audit entry and cache invalidation; they decide with `domain` (pure rules) and read and
//! write through `store` (diesel queries, one file per aggregate) over `db` (SQLite or
//! PostgreSQL).

pub mod accounts;
pub mod app;
pub mod cache;
pub mod catalogue;
pub mod cli;
pub mod clock;
pub mod config;
pub mod core;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod funnel;
pub mod http;
pub mod kyc;
pub mod kyp;
pub mod memory;
pub mod notify;
pub mod reviews;
pub mod security;
pub mod store;
pub mod syndication;
pub mod telemetry;
pub mod worker;

pub use error::Error;
