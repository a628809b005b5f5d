-- The raw e-mail and phone of an imported order, kept sealed (ChaCha20-Poly1305, key from
-- the key file) only while invitations may need them: the worker clears them at
-- `contacts_expire_at` (`contact_retention_days` after the import), and erasure at once.
ALTER TABLE orders ADD COLUMN email_sealed TEXT;
ALTER TABLE orders ADD COLUMN phone_sealed TEXT;
ALTER TABLE orders ADD COLUMN contacts_expire_at BIGINT;
