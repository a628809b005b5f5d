-- The review funnel's first steps: each vendor's settings (JSON of domain::funnel::
-- FunnelSettings) and the invitations sent, one per order, with what became of them.
CREATE TABLE funnel_settings (
    vendor_id TEXT PRIMARY KEY NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    settings TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE invitations (
    id TEXT PRIMARY KEY NOT NULL,
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    order_id TEXT NOT NULL,
    contact_hmac TEXT NOT NULL,
    channel TEXT NOT NULL,
    state TEXT NOT NULL,
    sent_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    opened_at BIGINT,
    UNIQUE (vendor_id, order_id)
);
CREATE INDEX invitations_contact ON invitations (vendor_id, contact_hmac, sent_at);
