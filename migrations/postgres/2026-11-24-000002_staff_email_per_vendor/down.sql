DROP INDEX staff_email;
ALTER TABLE staff DROP CONSTRAINT staff_vendor_email;
ALTER TABLE staff ADD CONSTRAINT staff_email_key UNIQUE (email);
