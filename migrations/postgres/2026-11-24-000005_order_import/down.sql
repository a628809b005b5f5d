DROP TABLE idempotency_keys;
ALTER TABLE orders DROP COLUMN updated_at;
ALTER TABLE orders DROP COLUMN status;
