//! KYC ("know your customer"): proof of who wrote a review, recorded on the review flow.

pub mod phone;
