ALTER TABLE orders DROP COLUMN contacts_expire_at;
ALTER TABLE orders DROP COLUMN phone_sealed;
ALTER TABLE orders DROP COLUMN email_sealed;
