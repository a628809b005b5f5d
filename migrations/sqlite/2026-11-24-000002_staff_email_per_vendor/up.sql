-- M10: staff e-mails are unique per vendor, not across vendors, so sign-up never reveals
-- (or lets anyone squat) an address that is staff at another vendor. SQLite cannot drop a
-- column constraint: the table is rebuilt (with foreign keys off, so that dropping the old
-- table does not cascade to sessions).
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE staff_new (
    id TEXT PRIMARY KEY NOT NULL,
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (vendor_id, email)
);
INSERT INTO staff_new (id, vendor_id, email, display_name, password_hash, role, active, created_at, updated_at)
    SELECT id, vendor_id, email, display_name, password_hash, role, active, created_at, updated_at FROM staff;
DROP TABLE staff;
ALTER TABLE staff_new RENAME TO staff;
CREATE INDEX staff_vendor ON staff(vendor_id);
CREATE INDEX staff_email ON staff(email);
PRAGMA foreign_key_check;
COMMIT;
PRAGMA foreign_keys = ON;
