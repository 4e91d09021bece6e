-- sluice: the jobs database (owned by the exporter; sluice only reads it).
--
-- One row per export job. The exporter INSERTs a row when a job is queued,
-- UPDATEs it as the job runs, and sets status = 'done' only after the file is
-- complete, fsync'ed and renamed into the export root (see README.md,
-- "The exporter's side"). sluice opens this database read-only.
--
-- The columns below are a contract: sluice depends on their names and
-- meaning. Exporters may add columns of their own; sluice ignores them.

CREATE TABLE IF NOT EXISTS export_jobs (
	-- Public id of the job, used in download URLs: /download/<id>.
	-- 1 to 64 characters of [A-Za-z0-9_-]. Make it random, with at least
	-- 128 bits of entropy (e.g. 22 characters of base64url from a CSPRNG),
	-- because knowing the id is what lets someone fetch a link without an
	-- owner or token.
	id		TEXT PRIMARY KEY NOT NULL
			CHECK (length(id) BETWEEN 1 AND 64
			    AND id NOT GLOB '*[^A-Za-z0-9_-]*'),

	-- Life cycle: 'pending' -> 'running' -> 'done' or 'failed'.
	-- 'revoked' withdraws a finished export. sluice answers 409 (with
	-- Retry-After) while pending or running, 410 for failed or revoked,
	-- and serves the file only when 'done'.
	status		TEXT NOT NULL DEFAULT 'pending'
			CHECK (status IN ('pending', 'running', 'done',
			    'failed', 'revoked')),

	-- Where the file is, relative to the export root (sluice --root),
	-- e.g. '2026/11/ledger-7f3a.csv'. Never absolute, never '..', never
	-- through a symlink: sluice opens it with RESOLVE_BENEATH and
	-- RESOLVE_NO_SYMLINKS and refuses (500, logged) anything else.
	-- NULL until the job is done.
	file_path	TEXT,

	-- The name the user's browser should save the file as. UTF-8, any
	-- characters: sluice encodes it safely (RFC 6266 / RFC 8187) and
	-- shortens names over 255 bytes. NULL means "use the job id".
	file_name	TEXT,

	-- MIME type sent as Content-Type. NULL means application/octet-stream.
	content_type	TEXT DEFAULT 'application/octet-stream',

	-- Size of the file in bytes, recorded when the job is done. sluice
	-- refuses to serve (500, logged) a file whose size differs, so a
	-- truncated or half-written file never goes out as a complete one.
	file_size	INTEGER CHECK (file_size IS NULL OR file_size >= 0),

	-- Optional lowercase hex SHA-256 of the file (64 characters). When set,
	-- sluice sends it as Repr-Digest (RFC 9530) so clients can verify.
	sha256		TEXT CHECK (sha256 IS NULL OR length(sha256) = 64),

	-- NULL: anyone with the link may download. Otherwise the user name the
	-- web server must have authenticated (its REMOTE_USER) for a download.
	owner		TEXT,

	-- NULL: no token needed. Otherwise the lowercase hex SHA-256 of a
	-- secret token that the URL must carry as ?token=<secret>. Store only
	-- the hash, never the token itself.
	token_sha256	TEXT CHECK (token_sha256 IS NULL
			    OR length(token_sha256) = 64),

	-- Unix seconds (UTC). expires_at NULL means the link never expires;
	-- otherwise sluice answers 410 from that second on.
	created_at	INTEGER DEFAULT (unixepoch()),
	finished_at	INTEGER,
	expires_at	INTEGER,

	-- NULL: unlimited. Otherwise the number of counted downloads allowed
	-- (a 200, or a 206 starting at byte 0; HEAD, 304 and range
	-- continuations never count).
	max_downloads	INTEGER CHECK (max_downloads IS NULL
			    OR max_downloads >= 0),

	-- Why a failed job failed, for operators. Never shown to clients.
	error		TEXT
);
