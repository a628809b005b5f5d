-- Per-IP daily caps on anonymous public writes (helpful votes, quick ratings): one row per
-- (kind, scope, client IP, UTC day on the service clock), counted with a conditional UPDATE.
CREATE TABLE public_write_caps (
    cap_key TEXT PRIMARY KEY NOT NULL,
    count BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX public_write_caps_expires ON public_write_caps (expires_at);
