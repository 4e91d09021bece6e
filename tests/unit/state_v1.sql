-- The state database's version 1 schema, as sluice shipped it before
-- downloads were recorded (test_audit migrates a database made from it).

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
	-- worker that died (closed by its siblings' upkeep, or at the next
	-- start). A cancelled row (a later check refused the request) is
	-- deleted.
	outcome		TEXT NOT NULL DEFAULT 'started',
	pid		INTEGER NOT NULL	-- the worker that served it
);

-- Counting a job's downloads is on the request path. Every index is
-- another page written per batch, so old rows (retention) are found by id
-- (rowids grow with time) rather than by an index on started_at.
CREATE INDEX IF NOT EXISTS downloads_job ON downloads (job_id, counts);

-- The downloads in flight: small (rows leave it when they end), so closing
-- the rows of a worker that died never scans the table.
CREATE INDEX IF NOT EXISTS downloads_open ON downloads (pid)
	WHERE outcome = 'started';

-- Retention (--audit-retention) deletes old rows; the counted ones among
-- them are added here first, so max_downloads still counts them.
CREATE TABLE IF NOT EXISTS download_counts (
	job_id		TEXT PRIMARY KEY,
	pruned		INTEGER NOT NULL	-- counted downloads pruned
) WITHOUT ROWID;
