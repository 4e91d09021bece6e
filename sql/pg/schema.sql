-- sluice: the jobs table in PostgreSQL (the exporter owns it; sluice only
-- reads it). The same contract as sql/schema.sql (SQLite): the same
-- columns, names and meanings; read the comments there. PostgreSQL types
-- the columns, so a value of the wrong type cannot be stored at all.
-- Exporters may add columns of their own; sluice ignores them.

CREATE TABLE IF NOT EXISTS export_jobs (
	id		text PRIMARY KEY
			CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
	status		text NOT NULL DEFAULT 'pending'
			CHECK (status IN ('pending', 'running', 'done',
			    'failed', 'revoked')),
	file_path	text,
	file_name	text,
	content_type	text DEFAULT 'application/octet-stream',
	file_size	bigint CHECK (file_size IS NULL OR file_size >= 0),
	sha256		text CHECK (sha256 IS NULL OR length(sha256) = 64),
	owner		text,
	token_sha256	text CHECK (token_sha256 IS NULL
			    OR length(token_sha256) = 64),
	-- Unix seconds (UTC), as in SQLite.
	created_at	bigint DEFAULT (extract(epoch FROM now())::bigint),
	finished_at	bigint,
	expires_at	bigint,
	max_downloads	bigint CHECK (max_downloads IS NULL
			    OR max_downloads >= 0),
	error		text
);
