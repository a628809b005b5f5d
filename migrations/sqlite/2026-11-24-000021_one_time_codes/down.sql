DROP INDEX message_sends_contact;
ALTER TABLE message_sends DROP COLUMN channel;
ALTER TABLE message_sends RENAME COLUMN contact_hmac TO phone_hmac;
ALTER TABLE message_sends RENAME TO sms_sends;
CREATE INDEX sms_sends_phone ON sms_sends (phone_hmac, sent_at);
CREATE TABLE phone_codes (
    flow_id TEXT PRIMARY KEY NOT NULL,
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    phone_hmac TEXT NOT NULL,
    code_hmac TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    wrong_tries INTEGER NOT NULL,
    used BOOLEAN NOT NULL DEFAULT 0
);
INSERT INTO phone_codes SELECT flow_id, vendor_id, contact_hmac, code_hmac, issued_at, wrong_tries, used FROM one_time_codes WHERE channel = 'sms';
DROP TABLE one_time_codes;
