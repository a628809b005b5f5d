-- Receipt proof (KYP): a buyer's receipt or invoice for a review flow, kept (without image
-- metadata) until the shop's staff decide and for a retention period after; then the file
-- is deleted and the decision kept.
CREATE TABLE receipts (
    id TEXT PRIMARY KEY NOT NULL,
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    flow_id TEXT NOT NULL UNIQUE,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    file BYTEA,
    state TEXT NOT NULL,
    reason TEXT,
    created_at BIGINT NOT NULL,
    decided_at BIGINT,
    decided_by TEXT,
    file_deleted_at BIGINT
);
CREATE INDEX receipts_vendor_state ON receipts (vendor_id, state, id);
