//! The one integration-test binary (one link step on 2 cores). Runs on SQLite by
//! default and on PostgreSQL when `TRUVIEW_TEST_DATABASE_URL` is set.

mod account_security;
mod accounts;
mod audit;
mod catalogue;
mod contention;
mod funnel;
mod funnel_sms;
mod helpers;
mod hosted;
mod import_crash;
mod jobs;
mod jwt;
mod kyc_company;
mod kyc_oauth;
mod kyc_phone;
mod kyp_match;
mod limits;
mod mappings;
mod ops;
mod order_formats;
mod orders;
mod privacy;
mod public_writes;
mod receipts;
mod resolution;
mod reviews;
mod scale_out;
mod shutdown;
mod syndication;
mod tenancy;
mod tenancy_rows;
mod webhooks;
mod widget;
mod widget_cache;
mod worker_crash;
