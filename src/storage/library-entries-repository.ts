/**
 * What the library folder holds for each job (`LibraryPlacement` as JSON), and which film it was
 * placed as (`movieKey`), so a job linked to another film is renamed there.
 */
import type { SqliteDatabase } from './database.js';

export interface LibraryEntryRow {
  jobId: string;
  movieKey: string;
  placementJson: string;
}

export class LibraryEntriesRepository {
  constructor(private readonly db: SqliteDatabase) {}

  get(jobId: string): LibraryEntryRow | undefined {
    const row = this.db
      .prepare<[string], { job_id: string; movie_key: string; placement_json: string }>(
        'SELECT job_id, movie_key, placement_json FROM library_entries WHERE job_id = ?',
      )
      .get(jobId);
    return row === undefined
      ? undefined
      : { jobId: row.job_id, movieKey: row.movie_key, placementJson: row.placement_json };
  }

  set(entry: LibraryEntryRow): void {
    this.db
      .prepare(
        `INSERT INTO library_entries (job_id, movie_key, placement_json) VALUES (?, ?, ?)
         ON CONFLICT (job_id) DO UPDATE SET movie_key = excluded.movie_key, placement_json = excluded.placement_json`,
      )
      .run(entry.jobId, entry.movieKey, entry.placementJson);
  }

  delete(jobId: string): void {
    this.db.prepare('DELETE FROM library_entries WHERE job_id = ?').run(jobId);
  }

  jobIds(): string[] {
    return this.db
      .prepare<[], { job_id: string }>('SELECT job_id FROM library_entries')
      .all()
      .map((row) => row.job_id);
  }
}
