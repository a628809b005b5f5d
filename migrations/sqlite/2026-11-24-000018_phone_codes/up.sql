-- Phone one-time codes (KYC, SECURITY R1): one live code per review flow, kept only as
-- HMACs (code bound to the flow, phone with the pepper), and every SMS sent, for the
-- per-phone send window and to make delivery failures visible. The body is kept only for
-- the local development outbox (no gateway configured).
CREATE TABLE phone_codes (
    flow_id TEXT PRIMARY KEY NOT NULL,
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    phone_hmac TEXT NOT NULL,
    code_hmac TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    wrong_tries INTEGER NOT NULL,
    used BOOLEAN NOT NULL DEFAULT 0
);
CREATE TABLE sms_sends (
    id TEXT PRIMARY KEY NOT NULL,
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    phone_hmac TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    state TEXT NOT NULL,
    error TEXT,
    outbox_to TEXT,
    outbox_body TEXT
);
CREATE INDEX sms_sends_phone ON sms_sends (phone_hmac, sent_at);
