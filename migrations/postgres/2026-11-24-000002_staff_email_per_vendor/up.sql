-- M10: staff e-mails are unique per vendor, not across vendors, so sign-up never reveals
-- (or lets anyone squat) an address that is staff at another vendor.
ALTER TABLE staff DROP CONSTRAINT staff_email_key;
ALTER TABLE staff ADD CONSTRAINT staff_vendor_email UNIQUE (vendor_id, email);
CREATE INDEX staff_email ON staff(email);
