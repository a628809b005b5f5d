-- One-time codes for every channel: by SMS to a phone (KYC) and by e-mail to a work
-- address (B2B company). One live code per flow and channel; `claim` holds what the code
-- will prove besides the contact (the company's name, role and size as the author gave them).
CREATE TABLE one_time_codes (
    flow_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    contact_hmac TEXT NOT NULL,
    code_hmac TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    wrong_tries INTEGER NOT NULL,
    used BOOLEAN NOT NULL DEFAULT 0,
    claim TEXT,
    PRIMARY KEY (flow_id, channel)
);
INSERT INTO one_time_codes (flow_id, channel, vendor_id, contact_hmac, code_hmac, issued_at, wrong_tries, used)
    SELECT flow_id, 'sms', vendor_id, phone_hmac, code_hmac, issued_at, wrong_tries, used FROM phone_codes;
DROP TABLE phone_codes;
-- Every message sent to a buyer (codes now, invitations next): the per-contact window,
-- delivery failures, and the development outbox.
ALTER TABLE sms_sends RENAME TO message_sends;
ALTER TABLE message_sends RENAME COLUMN phone_hmac TO contact_hmac;
ALTER TABLE message_sends ADD COLUMN channel TEXT NOT NULL DEFAULT 'sms';
DROP INDEX sms_sends_phone;
CREATE INDEX message_sends_contact ON message_sends (contact_hmac, sent_at);
