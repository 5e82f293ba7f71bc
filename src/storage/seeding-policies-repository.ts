/**
 * Each job's own seeding policy, where the user set one (PUT /download/seeding-policy): a ratio
 * and/or minutes that replace the global policy's for that job; null keeps the global value.
 */
import type { JobSeedingPolicy } from '../domain/job.js';
import type { SqliteDatabase } from './database.js';

export class SeedingPoliciesRepository {
  /** Read for every completed job in every list: prepared once. */
  private readonly byJob;

  constructor(private readonly db: SqliteDatabase) {
    this.byJob = db.prepare<[string], { ratio: number | null; minutes: number | null }>(
      'SELECT ratio, minutes FROM job_seeding_policies WHERE job_id = ?',
    );
  }

  get(jobId: string): JobSeedingPolicy | undefined {
    const row = this.byJob.get(jobId);
    return row === undefined ? undefined : { ratio: row.ratio, minutes: row.minutes };
  }

  /** Keeps the job's policy; both null removes it (the global one applies). */
  set(jobId: string, policy: JobSeedingPolicy): void {
    if (policy.ratio === null && policy.minutes === null) {
      this.db.prepare('DELETE FROM job_seeding_policies WHERE job_id = ?').run(jobId);
      return;
    }
    this.db
      .prepare(
        `INSERT INTO job_seeding_policies (job_id, ratio, minutes) VALUES (?, ?, ?)
         ON CONFLICT (job_id) DO UPDATE SET ratio = excluded.ratio, minutes = excluded.minutes`,
      )
      .run(jobId, policy.ratio, policy.minutes);
  }
}
