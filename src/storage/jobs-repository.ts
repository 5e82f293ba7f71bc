import type { Statement } from 'better-sqlite3';
import { ChillyError, ERROR_CATALOGUE, type ErrorCode } from '../domain/errors.js';
import {
  emptyProgress,
  JOB_STATUSES,
  type Job,
  type JobFile,
  type JobFootprint,
  type JobStatus,
  type QueueMove,
  SOURCE_TYPES,
  type SourceType,
} from '../domain/job.js';
import type { SqliteDatabase } from './database.js';

/** A job as stored: the domain job plus what only the service needs. */
export interface StoredJob {
  job: Job;
  /** .torrent bytes when known (uploaded, or learnt from the swarm). */
  torrentFile: Uint8Array | undefined;
  /** Queue order: lower starts first. */
  position: number;
  completedAt: string | undefined;
  /** What the job made on disk: deleting its data removes that and nothing else. */
  footprint: JobFootprint;
}

interface JobRow {
  id: string;
  position: number;
  source_type: string;
  source_urn: string;
  torrent_file: Buffer | null;
  info_hash: string | null;
  name: string | null;
  status: string;
  error_code: string | null;
  error_message: string | null;
  save_path: string;
  files_json: string | null;
  bytes_done: number;
  bytes_total: number | null;
  bytes_uploaded: number;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
  selected_files_json: string | null;
  sequential: number;
  folder_created: number;
  created_paths_json: string;
}

/**
 * The columns of a page of jobs: every one but the .torrent (a page shows none, and copying
 * hundreds of them, tens of KiB each for a film, out of SQLite is most of what a long list costs).
 * Read as arrays (`raw`), in this order: half the time of rows as objects made by better-sqlite3.
 */
const LISTED_COLUMNS = [
  'id',
  'position',
  'source_type',
  'source_urn',
  'info_hash',
  'name',
  'status',
  'error_code',
  'error_message',
  'save_path',
  'files_json',
  'bytes_done',
  'bytes_total',
  'bytes_uploaded',
  'created_at',
  'updated_at',
  'completed_at',
  'selected_files_json',
  'sequential',
  'folder_created',
  'created_paths_json',
] as const;

/** The values of `LISTED_COLUMNS`, in their order. */
type ListedValues = {
  readonly [K in keyof typeof LISTED_COLUMNS]: (typeof LISTED_COLUMNS)[K] extends keyof JobRow
    ? JobRow[(typeof LISTED_COLUMNS)[K]]
    : never;
};

/** A row of `LISTED_COLUMNS` as read raw, as a `JobRow` without its .torrent. */
function listedRow(values: readonly unknown[]): JobRow {
  const v = values as unknown as ListedValues;
  return {
    id: v[0],
    position: v[1],
    source_type: v[2],
    source_urn: v[3],
    torrent_file: null,
    info_hash: v[4],
    name: v[5],
    status: v[6],
    error_code: v[7],
    error_message: v[8],
    save_path: v[9],
    files_json: v[10],
    bytes_done: v[11],
    bytes_total: v[12],
    bytes_uploaded: v[13],
    created_at: v[14],
    updated_at: v[15],
    completed_at: v[16],
    selected_files_json: v[17],
    sequential: v[18],
    folder_created: v[19],
    created_paths_json: v[20],
  };
}

export interface ProgressUpdate {
  bytesDone: number;
  bytesTotal: number | null;
  bytesUploaded: number;
}

function isStatus(value: string): value is JobStatus {
  return (JOB_STATUSES as readonly string[]).includes(value);
}

function isSourceType(value: string): value is SourceType {
  return (SOURCE_TYPES as readonly string[]).includes(value);
}

function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ERROR_CATALOGUE, value);
}

function fromRow(row: JobRow): StoredJob {
  if (!isStatus(row.status)) throw new ChillyError('internal_error', `Job ${row.id} has unknown status ${row.status}.`);
  const progress = emptyProgress();
  progress.bytesDone = row.bytes_done;
  progress.bytesTotal = row.bytes_total;
  progress.bytesUploaded = row.bytes_uploaded;
  progress.fraction = row.bytes_total ? Math.min(1, row.bytes_done / row.bytes_total) : 0;
  if (row.status === 'completed') progress.fraction = 1;
  if (!isSourceType(row.source_type)) {
    throw new ChillyError('internal_error', `Job ${row.id} has unknown source type ${row.source_type}.`);
  }
  const job: Job = {
    id: row.id,
    sourceType: row.source_type,
    sourceUrn: row.source_urn,
    status: row.status,
    ...(row.info_hash === null ? {} : { infoHash: row.info_hash }),
    ...(row.name === null ? {} : { name: row.name }),
    ...(row.files_json === null ? {} : { files: JSON.parse(row.files_json) as JobFile[] }),
    savePath: row.save_path,
    progress,
    sequential: row.sequential === 1,
    ...(row.selected_files_json === null ? {} : { selectedFiles: JSON.parse(row.selected_files_json) as number[] }),
    ...(row.error_code === null
      ? {}
      : {
          error: {
            code: isErrorCode(row.error_code) ? row.error_code : 'internal_error',
            message: row.error_message ?? '',
          },
        }),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
  return {
    job,
    torrentFile: row.torrent_file === null ? undefined : new Uint8Array(row.torrent_file),
    position: row.position,
    completedAt: row.completed_at ?? undefined,
    footprint: { folderCreated: row.folder_created === 1, created: parseStringList(row.created_paths_json) },
  };
}

/** How many listed jobs are kept at most: two of the longest pages. */
const LISTED_KEPT = 1000;

/** The stored job, frozen all the way down: pages share it until its job is written. */
function frozen(stored: StoredJob): StoredJob {
  const { job, footprint } = stored;
  if (job.files !== undefined) {
    for (const file of job.files) Object.freeze(file);
    Object.freeze(job.files);
  }
  if (job.selectedFiles !== undefined) Object.freeze(job.selectedFiles);
  if (job.error !== undefined) Object.freeze(job.error);
  Object.freeze(job.progress);
  Object.freeze(job);
  Object.freeze(footprint.created);
  Object.freeze(footprint);
  return Object.freeze(stored);
}

function parseStringList(json: string): string[] {
  const value: unknown = JSON.parse(json);
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/** The `jobs` table. Every write is one statement, so each is atomic on its own. */
export class JobsRepository {
  private readonly statements;
  /** Bumped by every write here that can change which jobs are queued, or their order. */
  #queueWrites = 0;
  /** The last `queueRanks()` read, good while no write here or on another connection came after it. */
  #ranks: { queueWrites: number; dataVersion: number; ranks: ReadonlyMap<string, number> } | undefined;
  /**
   * Jobs as pages last read them, by id, frozen: a page reads its ids, and the rows of only the jobs
   * written since (reading and parsing hundreds of rows was most of what a long list cost). Each write
   * here forgets its job; a commit on another connection (`data_version`) forgets them all; a row
   * read inside a transaction is not kept (the transaction may roll back). So a connection has
   * one repository, and every write to `jobs` on it goes through that one.
   */
  readonly #listed = new Map<string, StoredJob>();
  #listedDataVersion: number | undefined;
  /** The prepared page queries, by their SQL (one per number of statuses filtered on). */
  readonly #pageStatements = new Map<string, Statement<unknown[], unknown>>();

  constructor(private readonly db: SqliteDatabase) {
    this.statements = {
      insert: db.prepare(`
        INSERT INTO jobs (id, position, source_type, source_urn, torrent_file, info_hash, name, status,
                          save_path, files_json, bytes_total, created_at, updated_at, folder_created)
        VALUES (@id, (SELECT COALESCE(MAX(position), 0) + 1 FROM jobs), @source_type, @source_urn, @torrent_file,
                @info_hash, @name, @status, @save_path, @files_json, @bytes_total, @now, @now, @folder_created)`),
      get: db.prepare<[string], JobRow>('SELECT * FROM jobs WHERE id = ?'),
      byInfoHash: db.prepare<[string], JobRow>('SELECT * FROM jobs WHERE info_hash = ?'),
      bySource: db.prepare<[string, string], JobRow>('SELECT * FROM jobs WHERE source_type = ? AND source_urn = ?'),
      bySavePath: db.prepare<[string], { id: string }>('SELECT id FROM jobs WHERE save_path = ?'),
      forgetData: db.prepare("UPDATE jobs SET bytes_done = 0, created_paths_json = '[]' WHERE id = ?"),
      setFootprint: db.prepare(
        'UPDATE jobs SET folder_created = @folder_created, created_paths_json = @created_paths_json WHERE id = @id',
      ),
      all: db.prepare<[], JobRow>('SELECT * FROM jobs ORDER BY position'),
      nextQueued: db.prepare<[], JobRow>("SELECT * FROM jobs WHERE status = 'queued' ORDER BY position LIMIT 1"),
      queueRank: db.prepare<[number], { n: number }>(
        "SELECT COUNT(*) AS n FROM jobs WHERE status = 'queued' AND position <= ?",
      ),
      dataVersion: db.prepare<[], number>('PRAGMA data_version').pluck(),
      queueRanks: db.prepare<[], { id: string; n: number }>(
        "SELECT id, ROW_NUMBER() OVER (ORDER BY position) AS n FROM jobs WHERE status = 'queued'",
      ),
      positionBounds: db.prepare<[], { lowest: number; highest: number }>(
        'SELECT MIN(position) AS lowest, MAX(position) AS highest FROM jobs',
      ),
      queuedBefore: db.prepare<[number], { id: string; position: number }>(
        "SELECT id, position FROM jobs WHERE status = 'queued' AND position < ? ORDER BY position DESC LIMIT 1",
      ),
      queuedAfter: db.prepare<[number], { id: string; position: number }>(
        "SELECT id, position FROM jobs WHERE status = 'queued' AND position > ? ORDER BY position LIMIT 1",
      ),
      setPosition: db.prepare('UPDATE jobs SET position = @position WHERE id = @id'),
      setStatus: db.prepare(`
        UPDATE jobs SET status = @status, error_code = @error_code, error_message = @error_message,
                        updated_at = @now,
                        completed_at = CASE WHEN @status = 'completed' THEN COALESCE(completed_at, @now) ELSE completed_at END
        WHERE id = @id`),
      setProgress: db.prepare(`
        UPDATE jobs SET bytes_done = @bytes_done, bytes_total = @bytes_total, bytes_uploaded = @bytes_uploaded
        WHERE id = @id`),
      setMetadata: db.prepare(`
        UPDATE jobs SET name = COALESCE(@name, name), files_json = COALESCE(@files_json, files_json),
                        bytes_total = COALESCE(@bytes_total, bytes_total)
        WHERE id = @id`),
      setFileOptions: db.prepare(
        'UPDATE jobs SET selected_files_json = @selected_files_json, sequential = @sequential WHERE id = @id',
      ),
      setTorrentFile: db.prepare('UPDATE jobs SET torrent_file = ? WHERE id = ? AND torrent_file IS NULL'),
      delete: db.prepare('DELETE FROM jobs WHERE id = ?'),
      setSavePath: db.prepare('UPDATE jobs SET save_path = ? WHERE id = ?'),
      listedByIds: db
        .prepare<[string], unknown[]>(
          `SELECT ${LISTED_COLUMNS.join(', ')} FROM jobs WHERE id IN (SELECT value FROM json_each(?))`,
        )
        .raw(true),
      countByStatus: db.prepare<[], { status: string; n: number }>(
        'SELECT status, COUNT(*) AS n FROM jobs GROUP BY status',
      ),
    };
  }

  insert(job: Job, torrentFile: Uint8Array | undefined, options: { folderCreated: boolean }): StoredJob {
    if ((job.sourceType === 'torrent' && job.infoHash === undefined) || job.savePath === undefined) {
      throw new ChillyError(
        'internal_error',
        'A job needs a save path (and a torrent an info-hash) before it is stored.',
      );
    }
    this.#queueWrites += 1;
    this.#listed.delete(job.id);
    this.statements.insert.run({
      id: job.id,
      source_type: job.sourceType,
      source_urn: job.sourceUrn,
      torrent_file: torrentFile === undefined ? null : Buffer.from(torrentFile),
      info_hash: job.infoHash ?? null,
      name: job.name ?? null,
      status: job.status,
      save_path: job.savePath,
      files_json: job.files === undefined ? null : JSON.stringify(job.files),
      bytes_total: job.progress.bytesTotal,
      now: job.createdAt,
      folder_created: options.folderCreated ? 1 : 0,
    });
    return this.require(job.id);
  }

  /** Whether some job keeps its data in `folder`. */
  hasSavePath(folder: string): boolean {
    return this.statements.bySavePath.get(folder) !== undefined;
  }

  /** The job's data is gone from disk: it has downloaded nothing, and made no file there. */
  forgetData(id: string): void {
    this.#listed.delete(id);
    this.statements.forgetData.run(id);
  }

  /** What the job made on disk so far (it only grows while the job exists). */
  setFootprint(id: string, footprint: JobFootprint): void {
    this.#listed.delete(id);
    this.statements.setFootprint.run({
      id,
      folder_created: footprint.folderCreated ? 1 : 0,
      created_paths_json: JSON.stringify(footprint.created),
    });
  }

  get(id: string): StoredJob | undefined {
    const row = this.statements.get.get(id);
    return row === undefined ? undefined : fromRow(row);
  }

  require(id: string): StoredJob {
    const stored = this.get(id);
    if (stored === undefined) throw new ChillyError('job_not_found', `No job with id ${JSON.stringify(id)}.`);
    return stored;
  }

  findByInfoHash(infoHash: string): StoredJob | undefined {
    const row = this.statements.byInfoHash.get(infoHash);
    return row === undefined ? undefined : fromRow(row);
  }

  /** The job of a direct download of this URL, if there is one. */
  findByUrl(url: string): StoredJob | undefined {
    const row = this.statements.bySource.get('http', url);
    return row === undefined ? undefined : fromRow(row);
  }

  /** Every job in queue order. */
  all(): StoredJob[] {
    return this.statements.all.all().map(fromRow);
  }

  /**
   * Where every queued job stands in the queue (1 starts next), in one read; read again only after
   * a write that can change it (here, or a commit on another connection: SQLite's `data_version`).
   */
  queueRanks(): ReadonlyMap<string, number> {
    const dataVersion = this.statements.dataVersion.get() ?? 0;
    const cached = this.#ranks;
    if (cached !== undefined && cached.queueWrites === this.#queueWrites && cached.dataVersion === dataVersion) {
      return cached.ranks;
    }
    const ranks = new Map<string, number>();
    for (const row of this.statements.queueRanks.all()) ranks.set(row.id, row.n);
    this.#ranks = { queueWrites: this.#queueWrites, dataVersion, ranks };
    return ranks;
  }

  /** Where a queued job stands in the queue: 1 starts next. */
  queuePosition(position: number): number {
    return this.statements.queueRank.get(position)?.n ?? 0;
  }

  /**
   * Moves a job within the queue (the order survives restarts: it is the jobs' `position`): `top`
   * and `bottom` before or after every job, `up` and `down` past the next queued job that way.
   */
  moveInQueue(id: string, where: QueueMove): void {
    this.#queueWrites += 1;
    // Two jobs change places: the listed ones are read again.
    this.#listed.clear();
    this.db.transaction(() => {
      const me = this.require(id);
      const bounds = this.statements.positionBounds.get();
      const lowest = bounds?.lowest ?? me.position;
      const highest = bounds?.highest ?? me.position;
      if (where === 'top' || where === 'bottom') {
        this.statements.setPosition.run({ id, position: where === 'top' ? lowest - 1 : highest + 1 });
        return;
      }
      const neighbour = (where === 'up' ? this.statements.queuedBefore : this.statements.queuedAfter).get(me.position);
      if (neighbour === undefined) return;
      // Positions are unique: one of the two waits on a free value while they swap.
      this.statements.setPosition.run({ id, position: lowest - 1 });
      this.statements.setPosition.run({ id: neighbour.id, position: me.position });
      this.statements.setPosition.run({ id, position: neighbour.position });
    })();
  }

  /** The queued job that has waited longest: the next one to start. */
  nextQueued(): StoredJob | undefined {
    const row = this.statements.nextQueued.get();
    return row === undefined ? undefined : fromRow(row);
  }

  /**
   * One page of jobs, newest first (by when each was added; jobs added in the same millisecond
   * latest first), optionally only some states, without their .torrent (`torrentFile` undefined).
   * This is the order the API and the CLI promise; the queue itself runs oldest first (`nextQueued`).
   */
  page(statuses: readonly JobStatus[], limit: number, offset: number): { jobs: StoredJob[]; total: number } {
    const filter = statuses.length > 0 ? `WHERE status IN (${statuses.map(() => '?').join(', ')})` : '';
    const total = this.#pageStatement(`SELECT COUNT(*) FROM jobs ${filter}`).get(...statuses);
    const ids = this.#pageStatement(
      `SELECT id FROM jobs ${filter} ORDER BY created_at DESC, position DESC LIMIT ? OFFSET ?`,
    ).all(...statuses, limit, offset) as string[];
    const dataVersion = this.statements.dataVersion.get() ?? 0;
    if (dataVersion !== this.#listedDataVersion) {
      this.#listed.clear();
      this.#listedDataVersion = dataVersion;
    }
    const read = new Map<string, StoredJob>();
    const unread = ids.filter((id) => !this.#listed.has(id));
    if (unread.length > 0) {
      for (const values of this.statements.listedByIds.all(JSON.stringify(unread))) {
        const stored = frozen(fromRow(listedRow(values)));
        read.set(stored.job.id, stored);
      }
    }
    if (!this.db.inTransaction && read.size > 0) {
      if (this.#listed.size + read.size > LISTED_KEPT) this.#listed.clear();
      for (const [id, stored] of read) this.#listed.set(id, stored);
    }
    const jobs: StoredJob[] = [];
    for (const id of ids) {
      const stored = this.#listed.get(id) ?? read.get(id);
      if (stored !== undefined) jobs.push(stored);
    }
    return { jobs, total: typeof total === 'number' ? total : 0 };
  }

  /** A page query, prepared once (it returns its first column only). */
  #pageStatement(sql: string): Statement<unknown[], unknown> {
    let statement = this.#pageStatements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare<unknown[], unknown>(sql).pluck();
      this.#pageStatements.set(sql, statement);
    }
    return statement;
  }

  setStatus(id: string, status: JobStatus, error: { code: ErrorCode; message: string } | undefined, now: string): void {
    this.#queueWrites += 1;
    this.#listed.delete(id);
    this.statements.setStatus.run({
      id,
      status,
      error_code: error?.code ?? null,
      error_message: error?.message ?? null,
      now,
    });
  }

  setProgress(id: string, update: ProgressUpdate): void {
    this.#listed.delete(id);
    this.statements.setProgress.run({
      id,
      bytes_done: update.bytesDone,
      bytes_total: update.bytesTotal,
      bytes_uploaded: update.bytesUploaded,
    });
  }

  /** What the torrent's metadata tells: name, files and size. Progress is left alone. */
  setMetadata(
    id: string,
    metadata: { name?: string | undefined; files?: JobFile[] | undefined; bytesTotal: number | null },
  ): void {
    this.#listed.delete(id);
    this.statements.setMetadata.run({
      id,
      name: metadata.name ?? null,
      files_json: metadata.files === undefined ? null : JSON.stringify(metadata.files),
      bytes_total: metadata.bytesTotal,
    });
  }

  /** Which files to download (undefined: all) and whether in piece order. */
  setFileOptions(id: string, options: { selectedFiles: readonly number[] | undefined; sequential: boolean }): void {
    this.#listed.delete(id);
    this.statements.setFileOptions.run({
      id,
      selected_files_json: options.selectedFiles === undefined ? null : JSON.stringify(options.selectedFiles),
      sequential: options.sequential ? 1 : 0,
    });
  }

  /** Keeps the .torrent learnt from the swarm, so a restart needs no metadata exchange. */
  setTorrentFile(id: string, torrentFile: Uint8Array): void {
    this.statements.setTorrentFile.run(Buffer.from(torrentFile), id);
  }

  delete(id: string): void {
    this.#queueWrites += 1;
    this.#listed.delete(id);
    this.statements.delete.run(id);
  }

  /** The job's data now lives in `folder` (a move of its data is done). */
  setSavePath(id: string, folder: string): void {
    this.#listed.delete(id);
    this.statements.setSavePath.run(folder, id);
  }

  countByStatus(): Partial<Record<JobStatus, number>> {
    const counts: Partial<Record<JobStatus, number>> = {};
    for (const { status, n } of this.statements.countByStatus.all()) {
      if (isStatus(status)) counts[status] = n;
    }
    return counts;
  }
}
