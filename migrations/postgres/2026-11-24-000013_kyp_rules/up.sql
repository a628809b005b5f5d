-- A vendor's purchase rules (SPEC §6): which imported orders may back a review. No row
-- means the defaults: any order that was not cancelled or refunded, at any time.
CREATE TABLE kyp_rules (
    vendor_id TEXT PRIMARY KEY NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    min_total_minor BIGINT,
    min_total_currency TEXT,
    delivered_only BOOLEAN NOT NULL,
    window_days INTEGER,
    updated_at BIGINT NOT NULL
);
