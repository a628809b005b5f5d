DROP INDEX reviews_one_per_identity;
ALTER TABLE reviews DROP COLUMN identity_key;
ALTER TABLE vendors DROP COLUMN phone_countries;
ALTER TABLE vendors DROP COLUMN kyc_providers;
DROP TABLE oauth_states;
