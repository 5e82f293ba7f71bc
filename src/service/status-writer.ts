import type { Job, JobError, JobStatus } from '../domain/job.js';
import type { JobsRepository } from '../storage/jobs-repository.js';

/**
 * Writes job statuses to the database. A caller's change is written or fails the call (`write`);
 * a change that comes from the engine, not from a caller, is never lost (`record`): if the
 * database refuses it (say its disk is full too), it is still shown and is written again later.
 */
export class StatusWriter {
  /** Status changes the database refused: shown, and written again later. */
  private readonly unsaved = new Map<string, { status: JobStatus; error: JobError | undefined }>();

  constructor(
    private readonly jobs: JobsRepository,
    private readonly warn: (message: string, cause?: unknown) => void,
  ) {}

  /** Writes the status now; throws what the database throws. */
  write(id: string, status: JobStatus, error: JobError | undefined): void {
    this.jobs.setStatus(id, status, error, new Date().toISOString());
    // A status written now supersedes one the database refused earlier.
    this.unsaved.delete(id);
  }

  /** Writes the status, or keeps it to show and to write again later when the database refuses it. */
  record(id: string, status: JobStatus, error: JobError | undefined): void {
    try {
      this.write(id, status, error);
    } catch (cause) {
      this.unsaved.set(id, { status, error });
      this.warn(`Job ${id}: could not save its new status (${status}); will retry`, cause);
    }
  }

  /** Writes the refused changes again, in order; stops at the first the database still refuses. */
  retryUnsaved(): void {
    for (const [id, { status, error }] of this.unsaved) {
      try {
        this.write(id, status, error);
      } catch {
        return;
      }
    }
  }

  /** Drops a refused change (the job is gone). */
  forget(id: string): void {
    this.unsaved.delete(id);
  }

  /** The job with the status the database refused in place of the stored one, if there is one. */
  shown(job: Job): Job {
    const pending = this.unsaved.get(job.id);
    if (pending === undefined) return job;
    const { error: _saved, ...rest } = job;
    return { ...rest, status: pending.status, ...(pending.error ? { error: pending.error } : {}) };
  }
}
