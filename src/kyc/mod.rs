//! KYC ("know your customer"): proof of who wrote a review, recorded on the review flow.

pub mod codes;
pub mod company;
pub mod oauth;
pub mod phone;
pub mod providers;
