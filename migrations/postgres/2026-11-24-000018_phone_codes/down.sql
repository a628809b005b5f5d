DROP TABLE sms_sends;
DROP TABLE phone_codes;
