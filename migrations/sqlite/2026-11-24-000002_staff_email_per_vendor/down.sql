PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE staff_old (
    id TEXT PRIMARY KEY NOT NULL,
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
INSERT INTO staff_old (id, vendor_id, email, display_name, password_hash, role, active, created_at, updated_at)
    SELECT id, vendor_id, email, display_name, password_hash, role, active, created_at, updated_at FROM staff;
DROP TABLE staff;
ALTER TABLE staff_old RENAME TO staff;
CREATE INDEX staff_vendor ON staff(vendor_id);
COMMIT;
PRAGMA foreign_keys = ON;
