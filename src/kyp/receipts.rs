//! Receipt proof (KYP): in a review flow the buyer uploads a receipt or invoice (JPEG, PNG
//! or PDF, at most 5 MB, type told from the bytes, image metadata removed); the shop's
//! staff accept or refuse it. An accepted receipt is purchase evidence (level 3, "Receipt
//! checked by the shop"): on the flow if the review is not submitted yet, else on the
//! review, whose level is recomputed then. The file is deleted `receipt_retention_days`
//! after the decision (worker) and at once on erasure.

use serde_json::json;

use crate::core::Core;
use crate::domain::maturity::{review_level, Purchase, PurchaseMethod};
use crate::domain::receipt;
use crate::error::{Error, Result};
use crate::reviews::{flow_step, PublicWrite};
use crate::security::tokens::sha256_hex;
use crate::store;
use crate::store::audit::Entry;
use crate::store::receipts::{NewReceipt, Receipt};

/// Uploads for one flow's receipt (checked before the bytes are stored).
pub async fn upload(
    core: &Core,
    flow_token: &str,
    declared: Option<&str>,
    bytes: &[u8],
    from: PublicWrite,
) -> Result<Receipt> {
    let (kind, stored) = receipt::accept(declared, bytes)?;
    let token_hash = sha256_hex(flow_token.trim());
    let (now, id, own) = (core.now_ms(), core.new_id(), core.own_origin.clone());
    core.db
        .write(move |conn| {
            // A receipt may follow the review: its acceptance raises the review's level then.
            let (flow, vendor) = flow_step(conn, &token_hash, now, false, &from, own.as_ref())?;
            if flow.evidence().purchase.is_some() {
                return Err(Error::Conflict("this review is already bound to a purchase".into()));
            }
            store::receipts::insert(
                conn,
                &NewReceipt {
                    id: &id,
                    vendor_id: &vendor.id,
                    flow_id: &flow.id,
                    content_type: kind.mime(),
                    size: stored.len() as i64,
                    file: &stored,
                    state: "pending",
                    created_at: now,
                },
            )?;
            store::receipts::get(conn, &vendor.id, &id)
        })
        .await
}

pub const PAGE_MAX: i64 = 100;
pub const PAGE_DEFAULT: i64 = 50;

pub async fn list(
    core: &Core,
    vendor_id: &str,
    state: &'static str,
    before: Option<String>,
    limit: i64,
) -> Result<(Vec<Receipt>, Option<String>)> {
    crate::domain::paging::check_limit(limit, PAGE_MAX)?;
    let vendor_id = vendor_id.to_owned();
    let rows =
        core.db.run(move |conn| store::receipts::page(conn, &vendor_id, state, before.as_deref(), limit)).await?;
    let next = crate::domain::paging::next_cursor(&rows, limit, |r| r.id.clone());
    Ok((rows, next))
}

/// The file (404 once deleted after its retention period).
pub async fn file(core: &Core, vendor_id: &str, id: &str) -> Result<(Receipt, Vec<u8>)> {
    let (vendor_id, id) = (vendor_id.to_owned(), id.to_owned());
    core.db
        .run(move |conn| {
            let meta = store::receipts::get(conn, &vendor_id, &id)?;
            let bytes = store::receipts::file(conn, &vendor_id, &id)?
                .ok_or_else(|| Error::not_found("receipt file (deleted after its retention period)"))?;
            Ok((meta, bytes))
        })
        .await
}

/// Accepts or refuses a pending receipt (moderators; audited).
pub async fn decide(
    core: &Core,
    vendor_id: &str,
    actor: &str,
    id: &str,
    accept: bool,
    reason: Option<String>,
) -> Result<Receipt> {
    let (vendor_id, actor, id, now) = (vendor_id.to_owned(), actor.to_owned(), id.to_owned(), core.now_ms());
    let audit = core.audit.clone();
    let receipt = core
        .db
        .write(move |conn| {
            let receipt = store::receipts::get(conn, &vendor_id, &id)?;
            let state = if accept { "accepted" } else { "refused" };
            if !store::receipts::decide(conn, &receipt.id, state, reason.as_deref(), &actor, now)? {
                return Err(Error::Conflict(format!("this receipt was already {}", receipt.state)));
            }
            if accept {
                let purchase = Purchase {
                    order_id: String::new(),
                    method: PurchaseMethod::Receipt,
                    email_hmac: None,
                    phone_hmac: None,
                };
                match store::reviews::by_flow(conn, &vendor_id, &receipt.flow_id)? {
                    Some(review) => {
                        let mut evidence: crate::domain::maturity::Evidence =
                            serde_json::from_str(&review.evidence).map_err(Error::internal)?;
                        if !evidence.erased {
                            evidence.purchase = Some(purchase);
                            let a = review_level(&evidence);
                            let evidence_json = serde_json::to_string(&evidence).map_err(Error::internal)?;
                            let checks_json = serde_json::to_string(&a.checks).map_err(Error::internal)?;
                            store::reviews::set_evidence(
                                conn,
                                &review,
                                &evidence_json,
                                &checks_json,
                                i32::from(a.level),
                                now,
                            )?;
                        }
                    }
                    None => {
                        if let Some(flow) = store::flows::get(conn, &receipt.flow_id)? {
                            store::flows::attach_receipt(conn, &flow, purchase)?;
                        }
                    }
                }
            }
            let details = json!({ "state": state, "reason": reason });
            audit.append(
                conn,
                &vendor_id,
                now,
                Entry { actor: &actor, action: "receipt.decided", target: &receipt.id, details },
            )?;
            store::receipts::get(conn, &vendor_id, &receipt.id)
        })
        .await?;
    core.public_cache.forget_vendor(&receipt.vendor_id);
    Ok(receipt)
}
