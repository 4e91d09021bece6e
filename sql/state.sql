-- sluice: its own state database (--state-db). sluice owns it; the
-- exporter never writes it. Created by `sluicectl init`, or by sluice at
-- startup if it is missing; a version 1 database (one table of responses
-- called downloads) is migrated in place by sql/state_v2.sql. WAL mode, so
-- readers (sluicectl audit) never block the workers' writes. Facts only:
-- never a body byte, never a token.

PRAGMA journal_mode = WAL;

-- A download: one client (remote_addr, remote_user) fetching one job,
-- however many responses that takes (resumes, segments, probes). The
-- first GET answered 200 or 206 with no open download of that client for
-- that job opens one; later ones join it while it is open: while a
-- response of it is in flight, and for --resume-window seconds after the
-- last one ended. max_downloads limits how many rows a job has here (plus
-- download_counts.pruned). A download that ends without one body byte
-- handed to the web server is deleted: it never counted.
CREATE TABLE IF NOT EXISTS downloads (
	id		INTEGER PRIMARY KEY,
	job_id		TEXT NOT NULL,
	remote_addr	TEXT,			-- NULL: unknown
	remote_user	TEXT,			-- NULL: not authenticated
	opened_at	INTEGER NOT NULL,	-- unix seconds
	last_at		INTEGER NOT NULL,	-- opened, or its last response's end
	responses	INTEGER NOT NULL DEFAULT 0,	-- responses begun
	bytes_sent	INTEGER NOT NULL DEFAULT 0,	-- every response's, summed
	file_size	INTEGER NOT NULL,	-- the job's when it opened; -1: unknown (migrated)
	covered		INTEGER NOT NULL DEFAULT 0,	-- bytes of the file sent at least once
	-- The covered byte ranges, merged and sorted: 'first-last,...' ('' for
	-- none), at most 32 of them (the smallest gap is filled by neither:
	-- past 32, the smallest range is dropped, so covered never overstates).
	spans		TEXT NOT NULL DEFAULT '',
	complete	INTEGER NOT NULL DEFAULT 0	-- 1: every byte was sent
);

-- The open download of a client, and a job's count: one index.
CREATE INDEX IF NOT EXISTS downloads_client
	ON downloads (job_id, remote_addr, remote_user);

-- The audit trail: one row per response that sends file bytes (a GET
-- answered 200 or 206, streamed or offloaded). Inserted before the first
-- body byte (for a limited job, before the file is opened) and updated
-- when the response ends.
CREATE TABLE IF NOT EXISTS responses (
	id		INTEGER PRIMARY KEY,
	download_id	INTEGER,		-- NULL: part of no download
	job_id		TEXT NOT NULL,
	started_at	INTEGER NOT NULL,	-- unix seconds
	remote_addr	TEXT,
	remote_user	TEXT,			-- NULL: not authenticated
	range_start	INTEGER NOT NULL,	-- first byte sent
	range_end	INTEGER NOT NULL,	-- last byte sent (-1: empty file)
	status		INTEGER NOT NULL,	-- 200 or 206
	counts		INTEGER NOT NULL,	-- 1: it opened its download
	bytes_sent	INTEGER NOT NULL DEFAULT 0,
	duration_ms	INTEGER,
	-- 'started' while the response runs; then 'complete', 'offloaded',
	-- 'aborted:client', 'aborted:slow', 'aborted:shutdown', 'error:io',
	-- 'error:short_read', or 'aborted:lost' for a row left 'started' by a
	-- worker that died (closed by its siblings' upkeep, or at the next
	-- start). A cancelled row (a later check refused the request) is
	-- deleted.
	outcome		TEXT NOT NULL DEFAULT 'started',
	pid		INTEGER NOT NULL	-- the worker that served it
);

-- The responses in flight: small (rows leave them when they end), so
-- closing a dead worker's rows, and asking whether a download has a
-- response in flight, never scan the table.
CREATE INDEX IF NOT EXISTS responses_open ON responses (pid)
	WHERE outcome = 'started';
CREATE INDEX IF NOT EXISTS responses_live ON responses (download_id)
	WHERE outcome = 'started';
-- A download's responses (sluicectl show, audit --responses).
CREATE INDEX IF NOT EXISTS responses_download ON responses (download_id);

-- Retention (--audit-retention) deletes old downloads; they are counted
-- here first, so max_downloads still sees them.
CREATE TABLE IF NOT EXISTS download_counts (
	job_id		TEXT PRIMARY KEY,
	pruned		INTEGER NOT NULL	-- downloads pruned
) WITHOUT ROWID;

PRAGMA user_version = 2;
