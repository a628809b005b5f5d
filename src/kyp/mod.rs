//! KYP ("know your purchase"): the vendor's orders, the evidence that a reviewer bought
//! what they review. Use cases take `&Core` and own their transactions and audit entries.

pub mod bulk;
pub mod formats;
pub mod input;
pub mod mappings;
pub mod matching;
pub mod orders;
pub mod receipts;
pub mod webhooks;
