-- Hand-written (drizzle's schema has no table storage parameters). Each event row is written three times: the
-- insert, response_ms once its commit is known (src/ingest/response-time.ts), and its processing status. The
-- response_ms update changes no indexed column, so with room left on the page Postgres makes it a HOT update: one
-- new row version in place of a new version plus an entry in each of the table's eight indexes. Pages filled to
-- 70% leave that room (new pages only; existing rows are untouched).
ALTER TABLE "webhook_events" SET (fillfactor = 70);
