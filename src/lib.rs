//! TruView: a verified customer-review service.
//!
//! Layout (see `ARCHITECTURE.md`): `http` (thin actix-web handlers) → `domain` (pure rules)
//! → `store` (diesel queries, one file per aggregate) over `db` (SQLite or PostgreSQL).

pub mod accounts;
pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod http;
pub mod reviews;
pub mod security;
pub mod store;
pub mod telemetry;
pub mod worker;

pub use error::Error;
