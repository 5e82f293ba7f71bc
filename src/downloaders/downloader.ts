import type { EventEmitter } from 'node:events';
import type { ChillyError } from '../domain/errors.js';
import type { Job, JobInput } from '../domain/job.js';

/**
 * Events every driver emits. Listeners receive snapshots: mutating them changes nothing.
 * `error` is recoverable from the caller's point of view (the job moves to `error`, the
 * downloader keeps running); it is only emitted when someone listens, so an unhandled job
 * failure never crashes the process.
 */
export interface DownloaderEvents {
  started: [job: Job];
  progress: [job: Job];
  completed: [job: Job];
  paused: [job: Job];
  resumed: [job: Job];
  cancelled: [job: Job];
  error: [error: ChillyError, job: Job];
}

export type DownloaderEventName = keyof DownloaderEvents;

export interface CancelOptions {
  /** Keep the partial data on disk (default false: the job's folder is deleted). */
  keepData?: boolean;
}

/**
 * A download engine driver. One instance manages many jobs, each identified by the caller's id.
 * Every method rejects with a `ChillyError` (stable `code`) on bad input or an unknown id.
 */
export interface Downloader extends EventEmitter<DownloaderEvents> {
  start(job: JobInput): Promise<Job>;
  pause(id: string): Promise<Job>;
  resume(id: string): Promise<Job>;
  cancel(id: string, options?: CancelOptions): Promise<Job>;
  get(id: string): Job | undefined;
  list(): Job[];
  /** Stops every job and releases every socket, timer and file handle. Idempotent. */
  destroy(): Promise<void>;
}
