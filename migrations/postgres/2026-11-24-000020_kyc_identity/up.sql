-- Social login (SECURITY R2): one row per authorization request, holding what the callback
-- must compare (the state's hash, the browser cookie's hash, the provider) and what it must
-- send (the nonce, the PKCE verifier, the exact redirect URI); read and deleted at once.
CREATE TABLE oauth_states (
    state_hash TEXT PRIMARY KEY NOT NULL,
    flow_id TEXT NOT NULL,
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    browser_hash TEXT NOT NULL,
    nonce TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX oauth_states_expiry ON oauth_states (expires_at);
-- The vendor's choices: which social-login providers its flow offers (JSON array; NULL:
-- every configured one) and which countries phone codes go to (JSON array; NULL: all).
ALTER TABLE vendors ADD COLUMN kyc_providers TEXT;
ALTER TABLE vendors ADD COLUMN phone_countries TEXT;
-- One review per verified identity per product: an HMAC of the identity (issuer and
-- subject, or the phone), cleared by erasure.
ALTER TABLE reviews ADD COLUMN identity_key TEXT;
CREATE UNIQUE INDEX reviews_one_per_identity ON reviews (vendor_id, sku, identity_key) WHERE identity_key IS NOT NULL;
