-- sluice: its own state database (--state-db). sluice owns it; the
-- exporter never writes it. Created by `sluicectl init`, or by sluice at
-- startup if it is missing. WAL mode, so readers (sluicectl audit) never
-- block the workers' writes.

PRAGMA journal_mode = WAL;

-- The audit trail: one row per response that sends file bytes (a GET
-- answered 200 or 206). The row is inserted before the first body byte and
-- updated when the response ends. Facts only: never a body byte, never a
-- token.
CREATE TABLE IF NOT EXISTS downloads (
	id		INTEGER PRIMARY KEY,
	job_id		TEXT NOT NULL,
	started_at	INTEGER NOT NULL,	-- unix seconds
	remote_addr	TEXT,
	remote_user	TEXT,			-- NULL: not authenticated
	range_start	INTEGER NOT NULL,	-- first byte sent
	range_end	INTEGER NOT NULL,	-- last byte sent (-1: empty file)
	status		INTEGER NOT NULL,	-- 200 or 206
	counts		INTEGER NOT NULL,	-- 1: counts against max_downloads
	bytes_sent	INTEGER NOT NULL DEFAULT 0,
	duration_ms	INTEGER,
	-- 'started' while the response runs; then 'complete',
	-- 'aborted:client', 'aborted:slow', 'aborted:shutdown', 'error:io',
	-- 'error:short_read', or 'aborted:lost' for a row left 'started' by a
	-- worker that died (closed at the next start).
	outcome		TEXT NOT NULL DEFAULT 'started',
	pid		INTEGER NOT NULL	-- the worker that served it
);

-- The one index: counting a job's downloads is on the request path. Every
-- index is another page written per download, so recent rows are found by
-- id (rowids grow with time) rather than by an index on started_at.
CREATE INDEX IF NOT EXISTS downloads_job ON downloads (job_id, counts);
