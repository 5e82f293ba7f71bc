/**
 * Versioned schema, in order. Version N is `MIGRATIONS[N - 1]`; the applied version is kept in
 * `PRAGMA user_version`. Never edit a migration that has shipped: add a new one.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: jobs and their fast-resume data.
  `
  CREATE TABLE jobs (
    id             TEXT PRIMARY KEY,
    position       INTEGER NOT NULL UNIQUE,
    source_type    TEXT NOT NULL CHECK (source_type IN ('torrent')),
    source_urn     TEXT NOT NULL,
    torrent_file   BLOB,
    info_hash      TEXT NOT NULL UNIQUE,
    name           TEXT,
    status         TEXT NOT NULL CHECK (status IN
                     ('queued','verifying','downloading','paused','completed','error','cancelled','files_missing')),
    error_code     TEXT,
    error_message  TEXT,
    save_path      TEXT NOT NULL,
    files_json     TEXT,
    bytes_done     INTEGER NOT NULL DEFAULT 0,
    bytes_total    INTEGER,
    bytes_uploaded INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    completed_at   TEXT
  ) STRICT;
  CREATE INDEX jobs_status_position ON jobs (status, position);

  CREATE TABLE job_resume (
    job_id          TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    bitfield        BLOB NOT NULL,
    torrent_file    BLOB NOT NULL,
    file_stats_json TEXT NOT NULL,
    saved_at        TEXT NOT NULL
  ) STRICT;
  `,
  // 2: TMDB answers cached with a TTL, and the movie each job was recognised as.
  // Cache times are epoch milliseconds (not ISO text like jobs): they are only compared with a clock.
  `
  CREATE TABLE metadata_cache (
    key        TEXT PRIMARY KEY,
    json       TEXT NOT NULL,
    fetched_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX metadata_cache_expires_at ON metadata_cache (expires_at);

  CREATE TABLE movie_links (
    job_id       TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    tmdb_id      INTEGER,
    origin       TEXT NOT NULL CHECK (origin IN ('auto', 'user')),
    confidence   REAL,
    release_json TEXT NOT NULL,
    movie_json   TEXT,
    linked_at    TEXT NOT NULL,
    CHECK ((tmdb_id IS NULL) = (movie_json IS NULL))
  ) STRICT;
  CREATE INDEX movie_links_tmdb_id ON movie_links (tmdb_id);
  `,
  // 3: which files of a torrent to download (NULL: all), and in what piece order.
  `
  ALTER TABLE jobs ADD COLUMN selected_files_json TEXT;
  ALTER TABLE jobs ADD COLUMN sequential INTEGER NOT NULL DEFAULT 1 CHECK (sequential IN (0, 1));
  `,
  // 4: facts about the database itself. `instance_id` names this database (random, made once) and
  // is kept in its guard file too: a WAL or file of another database put in its place is caught at
  // start (storage/database-integrity.ts). `last_opened_at` is rewritten at every open, so the WAL
  // of a run always holds this page.
  `
  CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) STRICT;
  INSERT INTO meta (key, value) VALUES ('instance_id', lower(hex(randomblob(16))));
  `,
  // 5: statuses and source types are checked by the code that reads them (src/domain/job.ts), so a
  // new one (`stalled`) needs no table rebuild again; what a job created on disk (its folder, and
  // the files and folders inside), so that deleting its data removes that and nothing else.
  // Jobs from before were given the folder `<media root>/<id>`: it counts as theirs (their data is
  // still removed on cancel), though only ever emptied, never removed with anything else in it.
  `
  CREATE TABLE jobs_new (
    id                  TEXT PRIMARY KEY,
    position            INTEGER NOT NULL UNIQUE,
    source_type         TEXT NOT NULL,
    source_urn          TEXT NOT NULL,
    torrent_file        BLOB,
    info_hash           TEXT NOT NULL UNIQUE,
    name                TEXT,
    status              TEXT NOT NULL,
    error_code          TEXT,
    error_message       TEXT,
    save_path           TEXT NOT NULL,
    files_json          TEXT,
    bytes_done          INTEGER NOT NULL DEFAULT 0,
    bytes_total         INTEGER,
    bytes_uploaded      INTEGER NOT NULL DEFAULT 0,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    completed_at        TEXT,
    selected_files_json TEXT,
    sequential          INTEGER NOT NULL DEFAULT 1 CHECK (sequential IN (0, 1)),
    folder_created      INTEGER NOT NULL DEFAULT 0 CHECK (folder_created IN (0, 1)),
    created_paths_json  TEXT NOT NULL DEFAULT '[]'
  ) STRICT;
  INSERT INTO jobs_new (id, position, source_type, source_urn, torrent_file, info_hash, name, status, error_code,
                        error_message, save_path, files_json, bytes_done, bytes_total, bytes_uploaded, created_at,
                        updated_at, completed_at, selected_files_json, sequential, folder_created)
    SELECT id, position, source_type, source_urn, torrent_file, info_hash, name, status, error_code, error_message,
           save_path, files_json, bytes_done, bytes_total, bytes_uploaded, created_at, updated_at, completed_at,
           selected_files_json, sequential, 1
    FROM jobs;
  DROP TABLE jobs;
  ALTER TABLE jobs_new RENAME TO jobs;
  CREATE INDEX jobs_status_position ON jobs (status, position);
  `,
  // 6: direct HTTP downloads (`source_type = 'http'`) have no info-hash: the column may be NULL
  // (still UNIQUE among torrents). A URL is found by its source: an index for that look-up.
  `
  CREATE TABLE jobs_new (
    id                  TEXT PRIMARY KEY,
    position            INTEGER NOT NULL UNIQUE,
    source_type         TEXT NOT NULL,
    source_urn          TEXT NOT NULL,
    torrent_file        BLOB,
    info_hash           TEXT UNIQUE,
    name                TEXT,
    status              TEXT NOT NULL,
    error_code          TEXT,
    error_message       TEXT,
    save_path           TEXT NOT NULL,
    files_json          TEXT,
    bytes_done          INTEGER NOT NULL DEFAULT 0,
    bytes_total         INTEGER,
    bytes_uploaded      INTEGER NOT NULL DEFAULT 0,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    completed_at        TEXT,
    selected_files_json TEXT,
    sequential          INTEGER NOT NULL DEFAULT 1 CHECK (sequential IN (0, 1)),
    folder_created      INTEGER NOT NULL DEFAULT 0 CHECK (folder_created IN (0, 1)),
    created_paths_json  TEXT NOT NULL DEFAULT '[]',
    CHECK (info_hash IS NOT NULL OR source_type <> 'torrent')
  ) STRICT;
  INSERT INTO jobs_new SELECT * FROM jobs;
  DROP TABLE jobs;
  ALTER TABLE jobs_new RENAME TO jobs;
  CREATE INDEX jobs_status_position ON jobs (status, position);
  CREATE INDEX jobs_source ON jobs (source_type, source_urn);
  `,
  // 7: a job's data on its way to another folder (POST /download/move-data), so a move cut short by
  // a crash is finished or continued at the next start. One per job at most.
  `
  CREATE TABLE job_moves (
    job_id      TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    from_path   TEXT NOT NULL,
    to_path     TEXT NOT NULL,
    phase       TEXT NOT NULL CHECK (phase IN ('moving', 'moved')),
    restart     TEXT NOT NULL CHECK (restart IN ('none', 'queue', 'seed')),
    started_at  TEXT NOT NULL
  ) STRICT;
  `,
  // 8: a user's changes to a torrent's tracker list (POST /download/trackers), applied at every start.
  `
  CREATE TABLE job_trackers (
    job_id  TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    url     TEXT NOT NULL,
    change  TEXT NOT NULL CHECK (change IN ('added', 'removed')),
    PRIMARY KEY (job_id, url)
  ) STRICT;
  `,
  // 9: what the library folder holds for each job (src/service/library-placer.ts), so its entry is
  // renamed when the job is linked to another film and removed with the job's data. No foreign key:
  // a cancelled job's entry is handled after its row is gone.
  `
  CREATE TABLE library_entries (
    job_id          TEXT PRIMARY KEY,
    movie_key       TEXT NOT NULL,
    placement_json  TEXT NOT NULL
  ) STRICT;
  `,
  // 10: a job's own seeding policy (PUT /download/seeding-policy), over the global one; NULL: the global value.
  `
  CREATE TABLE job_seeding_policies (
    job_id   TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    ratio    REAL CHECK (ratio IS NULL OR ratio >= 0),
    minutes  INTEGER CHECK (minutes IS NULL OR minutes >= 0)
  ) STRICT;
  `,
  // 11: a job's own speed limits (PUT /download/limits), in bytes per second; 0: none.
  `
  CREATE TABLE job_rate_limits (
    job_id    TEXT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    download  INTEGER NOT NULL CHECK (download >= 0),
    upload    INTEGER NOT NULL CHECK (upload >= 0)
  ) STRICT;
  `,
];
