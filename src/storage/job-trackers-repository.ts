/**
 * A user's changes to each job's tracker list: trackers added besides the torrent's own, and the
 * torrent's own that are not used. Applied every time the job starts (src/service/job-trackers.ts).
 */
import type { TrackerEdits } from '../domain/job.js';
import type { SqliteDatabase } from './database.js';

export class JobTrackersRepository {
  constructor(private readonly db: SqliteDatabase) {}

  edits(jobId: string): TrackerEdits {
    const rows = this.db
      .prepare<[string], { url: string; change: string }>(
        'SELECT url, change FROM job_trackers WHERE job_id = ? ORDER BY rowid',
      )
      .all(jobId);
    return {
      added: rows.filter((row) => row.change === 'added').map((row) => row.url),
      removed: rows.filter((row) => row.change === 'removed').map((row) => row.url),
    };
  }

  /** Replaces the job's changes with `edits` (one transaction). */
  set(jobId: string, edits: TrackerEdits): void {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM job_trackers WHERE job_id = ?').run(jobId);
      const insert = this.db.prepare('INSERT OR REPLACE INTO job_trackers (job_id, url, change) VALUES (?, ?, ?)');
      for (const url of edits.added) insert.run(jobId, url, 'added');
      for (const url of edits.removed) insert.run(jobId, url, 'removed');
    })();
  }
}
