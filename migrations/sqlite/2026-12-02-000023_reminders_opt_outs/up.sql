-- Reminders, opt-outs, the daily cap and the funnel's events.
-- invitations.reminders_sent counts the reminders decided (a failed send is retried);
-- invitations.stopped says why reminders stopped (reviewed, opted_out, bounced, cancelled, expired).
ALTER TABLE invitations ADD COLUMN reminders_sent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE invitations ADD COLUMN stopped TEXT;
-- Buyers who asked for no more invitations from a vendor (one-click List-Unsubscribe or the
-- page): the contact's keyed HMAC only, kept after erasure so that they stay unsubscribed.
CREATE TABLE opt_outs (
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    contact_hmac TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (vendor_id, contact_hmac)
);
-- Messages sent per vendor and local day (the daily cap, counted atomically).
CREATE TABLE funnel_daily (
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    sent INTEGER NOT NULL,
    PRIMARY KEY (vendor_id, day)
);
-- What happened in the funnel (the funnel report): invited, opened, reminded, reviewed,
-- opted_out, bounced; per channel.
CREATE TABLE funnel_events (
    id TEXT PRIMARY KEY NOT NULL,
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    invitation_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    channel TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX funnel_events_vendor_at ON funnel_events (vendor_id, at);
