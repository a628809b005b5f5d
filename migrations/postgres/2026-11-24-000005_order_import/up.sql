-- Native order import (KYP source): an order's lifecycle status and when a re-import last
-- changed it (NULL: never re-imported), and the stored answers of Idempotency-Key requests.
ALTER TABLE orders ADD COLUMN status TEXT NOT NULL DEFAULT 'paid';
ALTER TABLE orders ADD COLUMN updated_at BIGINT;

CREATE TABLE idempotency_keys (
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    request_sha256 TEXT NOT NULL,
    response_status INTEGER NOT NULL,
    response_body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (vendor_id, key)
);
