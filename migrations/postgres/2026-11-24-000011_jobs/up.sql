-- The durable job queue (outbox): jobs are written in the transaction that causes them,
-- claimed in batches under a lease, run outside any transaction, then acknowledged; a job
-- whose lease lapses (its worker died) is claimed again; failures back off, and after
-- `max_attempts` the job is dead until someone retries it.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY NOT NULL,
    vendor_id TEXT REFERENCES vendors(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    payload TEXT NOT NULL,
    idempotency_key TEXT,
    priority INTEGER NOT NULL DEFAULT 0,
    run_at BIGINT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued',
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX jobs_idempotency_key ON jobs (idempotency_key);
CREATE INDEX jobs_due ON jobs (state, run_at);
CREATE INDEX jobs_vendor_state ON jobs (vendor_id, state, id);
