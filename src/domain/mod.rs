//! Pure rules: no I/O, no clock, no database. Tested by unit tests.

pub mod account;
pub mod client;
pub mod contact;
pub mod feed;
pub mod funnel;
pub mod ids;
pub mod jobs;
pub mod kyp;
pub mod maturity;
pub mod moderation;
pub mod order;
pub mod otp;
pub mod paging;
pub mod product;
pub mod receipt;
pub mod reply;
pub mod review;
pub mod text;
