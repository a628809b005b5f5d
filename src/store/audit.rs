//! Append-only, keyed hash chain of audit rows, one chain per vendor (H3, T17).
//!
//! `hash = HMAC-SHA256(audit_key, prev_hash ‖ canonical row)`, with `audit_key` from the
//! key file (never in the database), so someone who can write to the database but has not
//! got the key file cannot recompute a chain after editing it. The vendor row holds the
//! chain's last sequence number and hash. What the database alone cannot show — a tail
//! cut with the head rolled back, or a vendor deleted with its whole chain — is caught by
//! signed checkpoints kept outside the database: [`AuditLog::checkpoint`] is a manifest
//! `{vendor → (seq, head)}` plus a timestamp, signed by the key file's Ed25519
//! `checkpoint_key`, printed by `truview audit checkpoint` and logged by the worker
//! (target `audit_checkpoint`); [`AuditLog::verify`] checks every chain against it.
//!
//! Every checkpoint in the file given to `verify` is checked, not only the newest: a
//! checkpoint signed after a tampering (the worker signs what the database holds) cannot
//! launder it while an older one still records the chain further along. The worker also
//! refuses to sign a state that does not extend its previous checkpoint, and logs the break.
//!
//! Rows hashed without the key (plain SHA-256, as versions before the audit key wrote
//! them) are never accepted: anyone with database access could write such a chain. They
//! are reported as unkeyed, so a chain from before the key shows as untrusted.
//!
//! Rows are appended in the same transaction as the action they record; the `UPDATE` of
//! the vendor row serialises appends on PostgreSQL (row lock) and SQLite (write lock).

use std::collections::BTreeMap;
use std::sync::Arc;

use diesel::prelude::*;
use ed25519_dalek::{Signature, Signer, SigningKey};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::db::schema::{audit_log, vendors};
use crate::db::DbConn;
use crate::error::Result;
use crate::security::keys::SecretsFile;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = audit_log)]
pub struct AuditRow {
    pub vendor_id: String,
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

/// What an action records.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub details: serde_json::Value,
}

/// The bytes hashed for a row: every field but the hash, in a fixed order.
fn canonical(row: &AuditRow) -> String {
    serde_json::json!([row.vendor_id, row.seq, row.at, row.actor, row.action, row.target, row.details]).to_string()
}

/// The unkeyed hash of rows written before the audit key existed.
fn legacy_hash(prev_hash: &str, row: &AuditRow) -> String {
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(canonical(row).as_bytes());
    hex::encode(h.finalize())
}

struct Keys {
    hmac: Vec<u8>,
    signer: SigningKey,
}

/// The handle use cases append through (cloned into their write closures). Carries the
/// chain's HMAC key and the checkpoint signing key from the key file.
#[derive(Clone)]
pub struct AuditLog {
    keys: Arc<Keys>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditLog(..)")
    }
}

/// One vendor's chain position in a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    pub seq: i64,
    pub head: String,
}

pub const CHECKPOINT_KIND: &str = "truview.audit_checkpoint";

/// The signed part of a checkpoint. Serialised in field order with vendors sorted, so the
/// signed bytes are reproducible from the parsed line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub kind: String,
    pub v: u32,
    pub at: String,
    pub at_ms: i64,
    /// Hex of the Ed25519 public key that signed it.
    pub key: String,
    pub vendors: BTreeMap<String, Head>,
}

/// A manifest and its Ed25519 signature (base64), printed as one line of JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    #[serde(flatten)]
    pub manifest: Manifest,
    pub sig: String,
}

impl Checkpoint {
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// One problem the verifier found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    pub vendor_id: String,
    /// The row concerned, when there is one.
    pub seq: Option<i64>,
    pub reason: String,
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.seq {
            Some(seq) => write!(f, "vendor {} audit row {}: {}", self.vendor_id, seq, self.reason),
            None => write!(f, "vendor {}: {}", self.vendor_id, self.reason),
        }
    }
}

/// A chain that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub vendor_id: String,
    pub rows: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub verified: Vec<Verified>,
    pub breaks: Vec<ChainBreak>,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.breaks.is_empty()
    }

    /// The lines `truview audit verify` prints.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for v in &self.verified {
            out.push(format!("ok      vendor {}: {} audit row(s) verified", v.vendor_id, v.rows));
        }
        for b in &self.breaks {
            out.push(format!("BROKEN  {b}"));
        }
        out
    }
}

/// How many rows outside `1..=audit_seq` are named one by one.
const OUTSIDE_LISTED: i64 = 100;

impl AuditLog {
    pub fn new(secrets: &SecretsFile) -> anyhow::Result<AuditLog> {
        Ok(AuditLog { keys: Arc::new(Keys { hmac: secrets.audit_key()?, signer: secrets.checkpoint_signing_key()? }) })
    }

    fn chain_hash(&self, prev_hash: &str, row: &AuditRow) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.keys.hmac).expect("HMAC accepts any key length");
        mac.update(prev_hash.as_bytes());
        mac.update(canonical(row).as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Appends one entry; call inside the action's write transaction.
    pub fn append(&self, conn: &mut DbConn, vendor_id: &str, at: i64, entry: Entry<'_>) -> Result<i64> {
        // Taking the vendor row's write lock first serialises concurrent appenders.
        diesel::update(vendors::table.find(vendor_id))
            .set(vendors::audit_seq.eq(vendors::audit_seq + 1))
            .execute(conn)?;
        let (seq, prev_hash): (i64, String) =
            vendors::table.find(vendor_id).select((vendors::audit_seq, vendors::audit_head)).first(conn)?;
        let mut row = AuditRow {
            vendor_id: vendor_id.to_owned(),
            seq,
            at,
            actor: entry.actor.to_owned(),
            action: entry.action.to_owned(),
            target: entry.target.to_owned(),
            details: entry.details.to_string(),
            prev_hash: prev_hash.clone(),
            hash: String::new(),
        };
        row.hash = self.chain_hash(&prev_hash, &row);
        diesel::insert_into(audit_log::table).values(&row).execute(conn)?;
        diesel::update(vendors::table.find(vendor_id)).set(vendors::audit_head.eq(&row.hash)).execute(conn)?;
        Ok(seq)
    }

    fn public_key_hex(&self) -> String {
        hex::encode(self.keys.signer.verifying_key().as_bytes())
    }

    /// A signed manifest of every vendor's chain position (one statement, so consistent).
    pub fn checkpoint(&self, conn: &mut DbConn, now_ms: i64) -> Result<Checkpoint> {
        let heads: Vec<(String, i64, String)> =
            vendors::table.select((vendors::id, vendors::audit_seq, vendors::audit_head)).load(conn)?;
        let manifest = Manifest {
            kind: CHECKPOINT_KIND.to_owned(),
            v: 1,
            at: crate::clock::from_ms(now_ms).to_rfc3339(),
            at_ms: now_ms,
            key: self.public_key_hex(),
            vendors: heads.into_iter().map(|(id, seq, head)| (id, Head { seq, head })).collect(),
        };
        let signed = serde_json::to_vec(&manifest).map_err(|e| crate::error::Error::internal(e.to_string()))?;
        let sig = self.keys.signer.sign(&signed);
        use base64::Engine;
        Ok(Checkpoint { manifest, sig: base64::engine::general_purpose::STANDARD.encode(sig.to_bytes()) })
    }

    /// Every checkpoint in `text` (the lines `audit checkpoint` printed, or a log holding
    /// `audit_checkpoint` lines in text or JSON format), each with its signature checked
    /// against this key file's checkpoint key; an altered or foreign one is an error.
    pub fn read_checkpoints(&self, text: &str) -> anyhow::Result<Vec<Checkpoint>> {
        let checkpoints: Vec<Checkpoint> = text.lines().filter_map(find_checkpoint).collect();
        if checkpoints.is_empty() {
            anyhow::bail!("no audit checkpoint (a {CHECKPOINT_KIND} JSON object) found");
        }
        for checkpoint in &checkpoints {
            self.check_signature(checkpoint)?;
        }
        Ok(checkpoints)
    }

    fn check_signature(&self, checkpoint: &Checkpoint) -> anyhow::Result<()> {
        if checkpoint.manifest.key != self.public_key_hex() {
            anyhow::bail!(
                "the checkpoint of {} was signed by another key ({}), not this key file's checkpoint key",
                checkpoint.manifest.at,
                checkpoint.manifest.key
            );
        }
        use base64::Engine;
        let sig = base64::engine::general_purpose::STANDARD
            .decode(&checkpoint.sig)
            .ok()
            .and_then(|b| Signature::from_slice(&b).ok())
            .ok_or_else(|| anyhow::anyhow!("the checkpoint's signature is malformed"))?;
        let signed = serde_json::to_vec(&checkpoint.manifest)?;
        self.keys
            .signer
            .verifying_key()
            .verify_strict(&signed, &sig)
            .map_err(|_| anyhow::anyhow!("the checkpoint of {} has a bad signature", checkpoint.manifest.at))?;
        Ok(())
    }

    /// Verifies every vendor's chain, rows outside `1..=audit_seq`, rows of vendors that do
    /// not exist, and, given a checkpoint, every vendor it names against it. Run it inside
    /// one read snapshot (`db::read_snapshot`) so concurrent appends cannot look like breaks.
    pub fn verify(&self, conn: &mut DbConn, checkpoints: &[Checkpoint]) -> Result<Report> {
        let mut report = Report::default();
        let heads: Vec<(String, i64, String)> = vendors::table
            .select((vendors::id, vendors::audit_seq, vendors::audit_head))
            .order(vendors::id.asc())
            .load(conn)?;
        for (vendor_id, last_seq, head) in &heads {
            match self.verify_chain(conn, vendor_id, *last_seq, head)? {
                Ok(v) => report.verified.push(v),
                Err(b) => report.breaks.push(b),
            }
            report.breaks.extend(outside_rows(conn, vendor_id, *last_seq)?);
            for cp in checkpoints {
                if let Some(h) = cp.manifest.vendors.get(vendor_id) {
                    report.breaks.extend(against_checkpoint(conn, vendor_id, *last_seq, cp, h)?);
                }
            }
        }
        let orphans: Vec<(String, i64)> = audit_log::table
            .filter(diesel::dsl::not(audit_log::vendor_id.eq_any(vendors::table.select(vendors::id))))
            .group_by(audit_log::vendor_id)
            .select((audit_log::vendor_id, diesel::dsl::count_star()))
            .order(audit_log::vendor_id.asc())
            .load(conn)?;
        for (vendor_id, rows) in orphans {
            report.breaks.push(ChainBreak {
                vendor_id,
                seq: None,
                reason: format!("{rows} audit row(s) of a vendor that does not exist"),
            });
        }
        for cp in checkpoints {
            for (vendor_id, h) in &cp.manifest.vendors {
                if heads.binary_search_by(|(id, _, _)| id.as_str().cmp(vendor_id)).is_err() {
                    report.breaks.push(ChainBreak {
                        vendor_id: vendor_id.clone(),
                        seq: None,
                        reason: format!(
                            "vendor deleted: the checkpoint of {} records its chain at row {}, the database no longer has the vendor",
                            cp.manifest.at, h.seq
                        ),
                    });
                }
            }
        }
        Ok(report)
    }

    /// One vendor's chain: its rows and links up to its head, and rows outside it (no
    /// checkpoints: those are the operator's, `truview audit verify`). Run it inside one
    /// read snapshot.
    pub fn verify_vendor(&self, conn: &mut DbConn, vendor_id: &str) -> Result<Report> {
        let (last_seq, head): (i64, String) =
            vendors::table.find(vendor_id).select((vendors::audit_seq, vendors::audit_head)).first(conn)?;
        let mut report = Report::default();
        match self.verify_chain(conn, vendor_id, last_seq, &head)? {
            Ok(v) => report.verified.push(v),
            Err(b) => report.breaks.push(b),
        }
        report.breaks.extend(outside_rows(conn, vendor_id, last_seq)?);
        Ok(report)
    }

    /// Walks rows `1..=last_seq`; the first break, or what verified.
    fn verify_chain(
        &self,
        conn: &mut DbConn,
        vendor_id: &str,
        last_seq: i64,
        head: &str,
    ) -> Result<std::result::Result<Verified, ChainBreak>> {
        let broken = |seq: i64, reason: &str| ChainBreak {
            vendor_id: vendor_id.to_owned(),
            seq: Some(seq),
            reason: reason.to_owned(),
        };
        let mut expected_seq = 1i64;
        let mut prev_hash = String::new();
        loop {
            let rows: Vec<AuditRow> = audit_log::table
                .filter(audit_log::vendor_id.eq(vendor_id))
                .filter(audit_log::seq.ge(expected_seq).and(audit_log::seq.le(last_seq)))
                .order(audit_log::seq.asc())
                .limit(1000)
                .select(AuditRow::as_select())
                .load(conn)?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                if row.seq != expected_seq {
                    return Ok(Err(broken(expected_seq, "missing (deleted)")));
                }
                if row.prev_hash != prev_hash {
                    return Ok(Err(broken(row.seq, "previous-hash link altered")));
                }
                if self.chain_hash(&prev_hash, row) != row.hash {
                    let reason = if legacy_hash(&prev_hash, row) == row.hash {
                        "hashed without the audit key (written before it existed, or forged)"
                    } else {
                        "contents altered"
                    };
                    return Ok(Err(broken(row.seq, reason)));
                }
                prev_hash = row.hash.clone();
                expected_seq += 1;
            }
        }
        if expected_seq - 1 < last_seq {
            return Ok(Err(broken(expected_seq, "missing (deleted from the end of the chain)")));
        }
        if prev_hash != head {
            return Ok(Err(broken(last_seq, "chain head does not match the last row")));
        }
        Ok(Ok(Verified { vendor_id: vendor_id.to_owned(), rows: last_seq }))
    }
}

/// Rows with `seq <= 0` or `seq > audit_seq` (injected: an append never writes them).
fn outside_rows(conn: &mut DbConn, vendor_id: &str, last_seq: i64) -> Result<Vec<ChainBreak>> {
    let outside = audit_log::vendor_id.eq(vendor_id).and(audit_log::seq.lt(1).or(audit_log::seq.gt(last_seq)));
    let total: i64 = audit_log::table.filter(outside).count().get_result(conn)?;
    let listed: Vec<i64> = audit_log::table
        .filter(outside)
        .order(audit_log::seq.asc())
        .limit(OUTSIDE_LISTED)
        .select(audit_log::seq)
        .load(conn)?;
    let mut out: Vec<ChainBreak> = listed
        .into_iter()
        .map(|seq| ChainBreak {
            vendor_id: vendor_id.to_owned(),
            seq: Some(seq),
            reason: format!("outside the chain 1..={last_seq} (injected)"),
        })
        .collect();
    if total > OUTSIDE_LISTED {
        out.push(ChainBreak {
            vendor_id: vendor_id.to_owned(),
            seq: None,
            reason: format!("{} more row(s) outside the chain 1..={last_seq}", total - OUTSIDE_LISTED),
        });
    }
    Ok(out)
}

/// A chain must not be behind a checkpoint, and its row at the checkpoint's seq must
/// still carry the checkpoint's head.
fn against_checkpoint(
    conn: &mut DbConn,
    vendor_id: &str,
    last_seq: i64,
    cp: &Checkpoint,
    h: &Head,
) -> Result<Option<ChainBreak>> {
    let at = &cp.manifest.at;
    if last_seq < h.seq {
        return Ok(Some(ChainBreak {
            vendor_id: vendor_id.to_owned(),
            seq: Some(h.seq),
            reason: format!(
                "chain rolled back: it ends at row {last_seq}, the checkpoint of {at} recorded row {}",
                h.seq
            ),
        }));
    }
    if h.seq == 0 {
        return Ok(None);
    }
    let stored: Option<String> =
        audit_log::table.find((vendor_id, h.seq)).select(audit_log::hash).first(conn).optional()?;
    if stored.as_deref() != Some(h.head.as_str()) {
        return Ok(Some(ChainBreak {
            vendor_id: vendor_id.to_owned(),
            seq: Some(h.seq),
            reason: format!("does not match the checkpoint of {at} (history rewritten)"),
        }));
    }
    Ok(None)
}

/// Newest first, keyset-paginated by `seq`; only rows inside the chain `1..=audit_seq`
/// (rows injected outside it are never shown).
pub fn page(conn: &mut DbConn, vendor_id: &str, before_seq: Option<i64>, limit: i64) -> Result<Vec<AuditRow>> {
    let last_seq = vendors::table.find(vendor_id).select(vendors::audit_seq).single_value();
    let mut q = audit_log::table
        .filter(audit_log::vendor_id.eq(vendor_id))
        .filter(audit_log::seq.ge(1))
        .filter(audit_log::seq.nullable().le(last_seq))
        .into_boxed();
    if let Some(before) = before_seq {
        q = q.filter(audit_log::seq.lt(before));
    }
    Ok(q.order(audit_log::seq.desc()).limit(limit).select(AuditRow::as_select()).load(conn)?)
}

/// How many entries of this action the vendor's log has since `since`.
pub fn count_action_since(conn: &mut DbConn, vendor_id: &str, action: &str, since: i64) -> Result<i64> {
    Ok(audit_log::table
        .filter(audit_log::vendor_id.eq(vendor_id).and(audit_log::action.eq(action)).and(audit_log::at.ge(since)))
        .count()
        .get_result(conn)?)
}

/// Finds a checkpoint on one line: the bare JSON, a text log line ending in it, or a JSON
/// log line whose message (or `fields.message`) is it.
fn find_checkpoint(line: &str) -> Option<Checkpoint> {
    let line = line.trim();
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(line) {
        if value.get("kind").and_then(|k| k.as_str()) == Some(CHECKPOINT_KIND) {
            return serde_json::from_value(value).ok();
        }
        let message = value
            .get("message")
            .or_else(|| value.get("fields").and_then(|f| f.get("message")))
            .and_then(|m| m.as_str());
        return message.and_then(find_checkpoint);
    }
    let start = line.find(&format!("{{\"kind\":\"{CHECKPOINT_KIND}\""))?;
    let mut stream = serde_json::Deserializer::from_str(&line[start..]).into_iter::<Checkpoint>();
    stream.next()?.ok()
}
