-- sluice: migrate a version 1 state database (user_version 0: one row per
-- response, in a table called downloads) to version 2 (sql/state.sql),
-- in place, in one transaction, keeping every row. sluice runs it at
-- startup, and sluicectl init, when it finds a version 1 database.
--
-- Version 1 counted a response (counts = 1) when it was a 200, or a 206
-- from byte 0. Each such response becomes one download, with the same id,
-- covering what it sent; the other responses (range continuations) stay
-- responses of no download, as version 1 never tied them to one.
-- download_counts keeps its meaning (downloads pruned).

BEGIN IMMEDIATE;

ALTER TABLE downloads RENAME TO responses;
DROP INDEX IF EXISTS downloads_job;
DROP INDEX IF EXISTS downloads_open;
ALTER TABLE responses ADD COLUMN download_id INTEGER;

CREATE TABLE downloads (
	id		INTEGER PRIMARY KEY,
	job_id		TEXT NOT NULL,
	remote_addr	TEXT,
	remote_user	TEXT,
	opened_at	INTEGER NOT NULL,
	last_at		INTEGER NOT NULL,
	responses	INTEGER NOT NULL DEFAULT 0,
	bytes_sent	INTEGER NOT NULL DEFAULT 0,
	file_size	INTEGER NOT NULL,
	covered		INTEGER NOT NULL DEFAULT 0,
	spans		TEXT NOT NULL DEFAULT '',
	complete	INTEGER NOT NULL DEFAULT 0
);

-- A version 1 row knew the range it meant to send and the bytes it sent;
-- the file's size only when it sent the whole file (a 200).
INSERT INTO downloads (id, job_id, remote_addr, remote_user, opened_at,
    last_at, responses, bytes_sent, file_size, covered, spans, complete)
SELECT id, job_id, remote_addr, remote_user, started_at,
    started_at + coalesce(duration_ms, 0) / 1000, 1, bytes_sent,
    CASE WHEN status = 200 THEN range_end + 1 ELSE -1 END,
    bytes_sent,
    CASE WHEN bytes_sent > 0 THEN range_start || '-' ||
        (range_start + bytes_sent - 1) ELSE '' END,
    CASE WHEN outcome = 'complete' AND status = 200 THEN 1 ELSE 0 END
FROM responses WHERE counts = 1;

UPDATE responses SET download_id = id WHERE counts = 1;

COMMIT;
