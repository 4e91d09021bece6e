-- Jobs for the integration tests. The files they name are made by
-- tests/integration/run.sh (fixtures_make) beneath the export root.
-- One row per case of the status table that the core download path covers.

INSERT INTO export_jobs (id, status, file_path, file_name, content_type,
    file_size, sha256) VALUES
    ('hello', 'done', 'hello.txt', 'hello.txt', 'text/plain', 13,
     '853ff93762a06ddbf722c4ebe9ddd66d8f63ddaea97f521c3ecc20da7c976020');

-- Only the contract columns, with defaults: must insert cleanly.
INSERT INTO export_jobs (id, status, file_path, file_size)
    VALUES ('minimal', 'done', 'hello.txt', 13);

-- Content-Disposition: UTF-8, quotes and friends, bidi, header injection.
INSERT INTO export_jobs (id, status, file_path, file_name, content_type,
    file_size) VALUES
    ('utf8name', 'done', 'hello.txt', '报告 2024.csv', NULL, 13),
    ('quotes', 'done', 'hello.txt', 'a"b\c%d.txt', 'text/plain', 13),
    ('bidi', 'done', 'hello.txt',
     'invoice' || char(0x202E) || 'fdp.exe', 'text/plain', 13),
    ('crlfname', 'done', 'hello.txt',
     'x' || char(13, 10) || 'X-Accel-Redirect: /secret.txt',
     'text/plain', 13),
    ('crlftype', 'done', 'hello.txt', 'hello.txt',
     'text/plain' || char(13, 10) || 'X-Injected: 1', 13),
    -- nginx and Apache take a bare LF as a line end too; Apache turns a
    -- 200 with a local Location into an internal redirect.
    ('lfname', 'done', 'hello.txt',
     'y' || char(10) || 'X-Accel-Redirect: /secret.txt', 'text/plain', 13),
    ('crlfloc', 'done', 'hello.txt',
     'x' || char(13, 10) || 'Location: /secret.txt', 'text/plain', 13),
    ('lfloc', 'done', 'hello.txt',
     'y' || char(10) || 'Location: /secret.txt', 'text/plain', 13);

-- A path with spaces, UTF-8, "+", "=", "#" and "?" (made by suite.sh's
-- test_download): the offload header must carry it intact.
INSERT INTO export_jobs (id, status, file_path, file_name, file_size) VALUES
    ('utfpath', 'done', 'dir with space/résumé € 1+1=2 #x?.bin',
     'résumé € 1+1=2 #x?.bin', 1000);

INSERT INTO export_jobs (id, status, file_path, file_name, file_size) VALUES
    ('m1', 'done', 'data/1m.bin', 'one megabyte.bin', 1048576),
    ('empty', 'done', 'empty.bin', 'empty.bin', 0),
    ('k1', 'done', '1k.bin', '1k.bin', 1024),
    ('m50', 'done', '50m.bin', '50m.bin', 52428800),
    ('shrink', 'done', 'shrink.bin', 'shrink.bin', 104857600),
    ('big5', 'done', 'big5.bin', 'big5.bin', 5368709120);

-- Job states.
INSERT INTO export_jobs (id, status, file_path, file_size, expires_at, error)
    VALUES
    ('pending', 'pending', NULL, NULL, NULL, NULL),
    ('running', 'running', NULL, NULL, NULL, NULL),
    ('failed', 'failed', NULL, NULL, NULL, 'disk full'),
    ('revoked', 'revoked', 'hello.txt', 13, NULL, NULL),
    ('expired', 'done', 'hello.txt', 13, unixepoch() - 60, NULL),
    ('notyet', 'done', 'hello.txt', 13, unixepoch() + 86400, NULL);

-- Token (the secret is "s3cret-token"; only its SHA-256 is stored) and owner.
INSERT INTO export_jobs (id, status, file_path, file_size, token_sha256, owner)
    VALUES
    ('tok', 'done', 'hello.txt', 13,
     'a81e611a041b13f078bf8ebe5dab4d4fd63fcc5594661c918bec093a2f416a7e',
     NULL),
    ('owned', 'done', 'hello.txt', 13, NULL, 'alice'),
    -- In a directory the web server may not search: an offloading
    -- server's open fails, and its error log must not get the token.
    ('toksealed', 'done', 'sealed/hello.txt', 13,
     'a81e611a041b13f078bf8ebe5dab4d4fd63fcc5594661c918bec093a2f416a7e',
     NULL);

-- The file is not what the row says, or is not ours to serve: 500, logged.
INSERT INTO export_jobs (id, status, file_path, file_size) VALUES
    ('missing', 'done', 'nope.txt', 13),
    ('isdir', 'done', 'dir', 0),
    ('fifo', 'done', 'fifo', 0),
    ('sizediff', 'done', 'hello.txt', 12),
    ('nopath', 'done', NULL, 13),
    ('nosize', 'done', 'hello.txt', NULL),
    ('dotdot', 'done', '../secret.txt', 7),
    ('dotdot2', 'done', 'data/../../secret.txt', 7),
    ('dotin', 'done', 'data/../hello.txt', 13),   -- offload mode only
    ('absolute', 'done', '@SECRET@', 7),
    ('linkout', 'done', 'link-out.txt', 7),
    ('linkin', 'done', 'link-in.txt', 13),
    ('dirlink', 'done', 'linkdir/1m.bin', 1048576);

-- Download limits (max_downloads) and the audit trail.
INSERT INTO export_jobs (id, status, file_path, file_size, max_downloads)
    VALUES
    -- Issue 17: answered by sluice, never counted (cases/80-limits.txt),
    -- and what an offloading server cannot open (cases/40-files.txt).
    ('lim304', 'done', 'hello.txt', 13, 1),
    ('lim412', 'done', 'hello.txt', 13, 1),
    ('lim416', 'done', 'hello.txt', 13, 1),
    ('latin1', 'done', CAST(X'6C6174E92E747874' AS TEXT), 13, 1),
    ('owneronly', 'done', 'owneronly.txt', 13, 1),
    ('limit1', 'done', 'hello.txt', 13, 1),
    ('limit0', 'done', 'hello.txt', 13, 0),
    ('race1', 'done', 'hello.txt', 13, 1),
    ('race3', 'done', 'hello.txt', 13, 3),
    -- One client's 30 segments racing: one download (suite.sh).
    ('raceseg', 'done', 'data/1m.bin', 1048576, 1),
    ('limitlock', 'done', 'hello.txt', 13, 5),
    -- At its limit, and its file is gone: 410 (the limit is check 5, the
    -- file check 6); cases/80-limits.txt, lim:gone-missing.
    ('limitgone', 'done', 'gone-missing.bin', 13, 0);
INSERT INTO export_jobs (id, status, file_path, file_size) VALUES
    ('longpath', 'done',
     replace(hex(zeroblob(20)), '00',
     replace(hex(zeroblob(199)), '00', 'a') || '/') ||
     replace(hex(zeroblob(80)), '00', 'f'), 13),
    -- The symlink race (suite.sh, test_offload_race).
    ('racedir', 'done', 'racedir/f.bin', 65536),
    ('raceflat', 'done', 'raceflat.bin', 65536),
    ('audited', 'done', 'data/1m.bin', 1048576),
    ('audited50', 'done', '50m.bin', 52428800);

-- Issue 15 (cases/90-hardening.txt, harden.sh): names of any length,
-- malformed content types, expires_at of the wrong type.
INSERT INTO export_jobs (id, status, file_path, file_name, content_type,
    file_size, expires_at) VALUES
    -- 5000 bytes: "xy", 2497 of 'é' (2 bytes each), ".csv"
    ('name5000', 'done', 'hello.txt',
     'xy' || replace(hex(zeroblob(2497)), '00', 'é') || '.csv', NULL, 13,
     NULL),
    -- 1024 bytes: 340 of '€' (3 bytes each), ".txt"
    ('name1024', 'done', 'hello.txt',
     replace(hex(zeroblob(340)), '00', '€') || '.txt', NULL, 13, NULL),
    ('typebare', 'done', 'hello.txt', 'hello.txt', 'text', 13, NULL),
    ('typeempty', 'done', 'hello.txt', 'hello.txt', '', 13, NULL),
    ('typeparam', 'done', 'hello.txt', 'hello.txt',
     'text/csv; charset=utf-8', 13, NULL),
    ('expreal', 'done', 'hello.txt', 'hello.txt', NULL, 13, 4102444800.5),
    ('exptext', 'done', 'hello.txt', 'hello.txt', NULL, 13, 'tomorrow'),
    ('expint', 'done', 'hello.txt', 'hello.txt', NULL, 13, '4102444800');
