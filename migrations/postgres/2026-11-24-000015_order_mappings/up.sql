-- Saved column mappings: any CSV a shop can export, imported by naming which of its
-- columns hold which order field (and how its dates are written).
CREATE TABLE order_mappings (
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    column_map TEXT NOT NULL,
    date_format TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (vendor_id, name)
);
