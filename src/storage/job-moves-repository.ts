/**
 * Moves of a job's data in progress (see src/service/job-data-mover.ts): where from, where to, and
 * how far. `moving`: the data is still at `from` (a copy may be under way beside `to`); `moved`:
 * it is whole at `to` and the job says so, only the old copy is left to delete.
 */
import type { SqliteDatabase } from './database.js';
import type { JobsRepository } from './jobs-repository.js';

/** What the job does once its data is in its new place. */
export type MoveRestart = 'none' | 'queue' | 'seed';

export interface JobMove {
  jobId: string;
  from: string;
  to: string;
  phase: 'moving' | 'moved';
  restart: MoveRestart;
  startedAt: string;
}

interface MoveRow {
  job_id: string;
  from_path: string;
  to_path: string;
  phase: string;
  restart: string;
  started_at: string;
}

function fromRow(row: MoveRow): JobMove {
  return {
    jobId: row.job_id,
    from: row.from_path,
    to: row.to_path,
    phase: row.phase === 'moved' ? 'moved' : 'moving',
    restart: row.restart === 'queue' || row.restart === 'seed' ? row.restart : 'none',
    startedAt: row.started_at,
  };
}

export class JobMovesRepository {
  constructor(
    private readonly db: SqliteDatabase,
    /** Where the job's folder is written when its data has moved. */
    private readonly jobs: JobsRepository,
  ) {}

  get(jobId: string): JobMove | undefined {
    const row = this.db.prepare<[string], MoveRow>('SELECT * FROM job_moves WHERE job_id = ?').get(jobId);
    return row === undefined ? undefined : fromRow(row);
  }

  all(): JobMove[] {
    return this.db.prepare<[], MoveRow>('SELECT * FROM job_moves ORDER BY started_at').all().map(fromRow);
  }

  begin(move: Omit<JobMove, 'phase'>): void {
    this.db
      .prepare(
        `INSERT INTO job_moves (job_id, from_path, to_path, phase, restart, started_at)
         VALUES (?, ?, ?, 'moving', ?, ?)`,
      )
      .run(move.jobId, move.from, move.to, move.restart, move.startedAt);
  }

  /** The data is whole at `to`: the job's folder is `to` from now on (one transaction). */
  markMoved(jobId: string, to: string): void {
    this.db.transaction(() => {
      this.jobs.setSavePath(jobId, to);
      this.db.prepare("UPDATE job_moves SET phase = 'moved' WHERE job_id = ?").run(jobId);
    })();
  }

  finish(jobId: string): void {
    this.db.prepare('DELETE FROM job_moves WHERE job_id = ?').run(jobId);
  }
}
