-- Cases and the resolution loop (SPEC §4.6, §7). A case is something the vendor should follow
-- up: a review of 1 or 2 stars (`review`, opened when it is written) or an NPS detractor
-- (`detractor`, opened when an invited buyer answers 0–6). The vendor resolves it; for a review
-- case, after a public reply, it may invite the author once to update the review. The author's
-- earlier versions stay in `review_revisions` and are shown with the review ("updated after the
-- vendor's reply"); the vendor never edits a review.
CREATE TABLE cases (
    id TEXT PRIMARY KEY NOT NULL,
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    review_id TEXT,
    invitation_id TEXT,
    score INTEGER,
    state TEXT NOT NULL,
    opened_at BIGINT NOT NULL,
    resolved_at BIGINT,
    resolved_by TEXT,
    update_invited_at BIGINT,
    author_updated_at BIGINT
);
CREATE UNIQUE INDEX cases_review ON cases (review_id) WHERE review_id IS NOT NULL;
CREATE UNIQUE INDEX cases_invitation ON cases (invitation_id) WHERE invitation_id IS NOT NULL;
CREATE INDEX cases_vendor_state ON cases (vendor_id, state, opened_at, id);
CREATE TABLE review_revisions (
    review_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    vendor_id TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    rating INTEGER NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    pros TEXT,
    cons TEXT,
    written_at BIGINT NOT NULL,
    replaced_at BIGINT NOT NULL,
    PRIMARY KEY (review_id, version)
);
-- The NPS pre-survey's answer (0–10) on the invitation it was asked for.
ALTER TABLE invitations ADD COLUMN nps_score INTEGER;
ALTER TABLE invitations ADD COLUMN nps_at BIGINT;
CREATE INDEX invitations_nps ON invitations (vendor_id, nps_at);
