-- A claim reads the due jobs in the queue's order (priority, then time) and stops after one
-- batch: without an index in that order every claim sorted every queued job (60 ms per
-- claim at 100,000 queued on PostgreSQL, spilling the sort to disk). Lapsed leases are read
-- apart, by their own index.
CREATE INDEX jobs_claim ON jobs (state, priority DESC, run_at, id);
CREATE INDEX jobs_lease ON jobs (state, lease_until);
