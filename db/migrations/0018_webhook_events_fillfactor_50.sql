-- Hand-written, as 0015. An event row holds its raw body and headers: a Stripe event's row is 1.5-2 KB, so a page
-- filled to 70% kept room for the new versions of only some of its rows, and the other response_ms updates were
-- not HOT (a new version elsewhere and an entry in each index). Filled to 50%, every row of a page has room for its
-- response_ms version, and the processing status update more often finds room on the row's own page. Measured in
-- bench/README.md ("What changed"); new pages only, existing rows are untouched.
ALTER TABLE "webhook_events" SET (fillfactor = 50);
