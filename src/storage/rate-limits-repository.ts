/**
 * Speed limits set while the server runs (PUT /settings/limits), kept in the database's `meta`
 * table so they outlive a restart; until one is set, the configuration's apply.
 */
import type { RateLimits } from '../domain/rate-limits.js';
import type { SqliteDatabase } from './database.js';

const KEY = 'rate_limits';

export class RateLimitsRepository {
  constructor(private readonly db: SqliteDatabase) {}

  /** The limits last set, or undefined when none was ever set (or the stored value is not ours). */
  get(): RateLimits | undefined {
    const row = this.db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?').get(KEY);
    if (row === undefined) return undefined;
    try {
      const value = JSON.parse(row.value) as Partial<RateLimits>;
      const { downloadBytesPerSecond: down, uploadBytesPerSecond: up } = value;
      if (!isLimit(down) || !isLimit(up)) return undefined;
      return { downloadBytesPerSecond: down, uploadBytesPerSecond: up };
    } catch {
      return undefined;
    }
  }

  set(limits: RateLimits): void {
    this.db
      .prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value')
      .run(KEY, JSON.stringify(limits));
  }
}

function isLimit(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Each job's own speed limits (PUT /download/limits); a job without a row has none. */
export class JobRateLimitsRepository {
  /** Read for every job shown: prepared once. */
  private readonly byJob;
  private readonly byJobs;

  constructor(private readonly db: SqliteDatabase) {
    this.byJob = db.prepare<[string], { download: number; upload: number }>(
      'SELECT download, upload FROM job_rate_limits WHERE job_id = ?',
    );
    // The ids as one JSON array: one statement for a page of any size.
    this.byJobs = db.prepare<[string], { job_id: string; download: number; upload: number }>(
      'SELECT job_id, download, upload FROM job_rate_limits WHERE job_id IN (SELECT value FROM json_each(?))',
    );
  }

  get(jobId: string): RateLimits | undefined {
    const row = this.byJob.get(jobId);
    return row === undefined ? undefined : { downloadBytesPerSecond: row.download, uploadBytesPerSecond: row.upload };
  }

  /** The limits of these jobs, in one read; a job without limits is not in the map. */
  getMany(jobIds: readonly string[]): Map<string, RateLimits> {
    const found = new Map<string, RateLimits>();
    if (jobIds.length === 0) return found;
    for (const row of this.byJobs.all(JSON.stringify(jobIds))) {
      found.set(row.job_id, { downloadBytesPerSecond: row.download, uploadBytesPerSecond: row.upload });
    }
    return found;
  }

  /** Keeps the job's limits; both 0 removes them. */
  set(jobId: string, limits: RateLimits): void {
    if (limits.downloadBytesPerSecond === 0 && limits.uploadBytesPerSecond === 0) {
      this.db.prepare('DELETE FROM job_rate_limits WHERE job_id = ?').run(jobId);
      return;
    }
    this.db
      .prepare(
        `INSERT INTO job_rate_limits (job_id, download, upload) VALUES (?, ?, ?)
         ON CONFLICT (job_id) DO UPDATE SET download = excluded.download, upload = excluded.upload`,
      )
      .run(jobId, limits.downloadBytesPerSecond, limits.uploadBytesPerSecond);
  }
}
