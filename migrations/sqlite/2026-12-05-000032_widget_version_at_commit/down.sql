-- Nothing changes on SQLite: its one writer at a time cannot deadlock, so the row
-- triggers of 000031 stay (see the PostgreSQL migration of the same name).
SELECT 1;
