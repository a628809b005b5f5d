DROP INDEX jobs_lease;
DROP INDEX jobs_claim;
