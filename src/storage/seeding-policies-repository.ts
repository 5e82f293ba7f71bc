/**
 * Each job's own seeding policy, where the user set one (PUT /download/seeding-policy): a ratio
 * and/or minutes that replace the global policy's for that job; null keeps the global value.
 */
import type { JobSeedingPolicy } from '../domain/job.js';
import type { SqliteDatabase } from './database.js';

export class SeedingPoliciesRepository {
  /** Read for every completed job in every list: prepared once. */
  private readonly byJob;
  /**
   * Jobs that may have a row: every job whose policy was set through this repository, and those
   * with one when it was made. Most jobs have none, and a list of hundreds of completed jobs then
   * needs no query for them. A row can go without this knowing (its job deleted: ON DELETE
   * CASCADE), never appear: an id here only costs a query, which finds the truth.
   */
  private readonly mayHave: Set<string>;

  constructor(private readonly db: SqliteDatabase) {
    this.byJob = db.prepare<[string], { ratio: number | null; minutes: number | null }>(
      'SELECT ratio, minutes FROM job_seeding_policies WHERE job_id = ?',
    );
    const ids = db.prepare<[], { job_id: string }>('SELECT job_id FROM job_seeding_policies').all();
    this.mayHave = new Set(ids.map((row) => row.job_id));
  }

  get(jobId: string): JobSeedingPolicy | undefined {
    if (!this.mayHave.has(jobId)) return undefined;
    const row = this.byJob.get(jobId);
    if (row === undefined) {
      this.mayHave.delete(jobId);
      return undefined;
    }
    return { ratio: row.ratio, minutes: row.minutes };
  }

  /** Keeps the job's policy; both null removes it (the global one applies). */
  set(jobId: string, policy: JobSeedingPolicy): void {
    if (policy.ratio === null && policy.minutes === null) {
      this.db.prepare('DELETE FROM job_seeding_policies WHERE job_id = ?').run(jobId);
      this.mayHave.delete(jobId);
      return;
    }
    this.mayHave.add(jobId);
    this.db
      .prepare(
        `INSERT INTO job_seeding_policies (job_id, ratio, minutes) VALUES (?, ?, ?)
         ON CONFLICT (job_id) DO UPDATE SET ratio = excluded.ratio, minutes = excluded.minutes`,
      )
      .run(jobId, policy.ratio, policy.minutes);
  }
}
