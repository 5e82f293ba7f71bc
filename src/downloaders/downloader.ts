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
  /** The torrent's name, files and size are now known (at once for .torrent sources). */
  metadata: [job: Job];
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

/** What lets an engine continue a download without re-hashing what is already on disk. */
export interface ResumeState {
  /** Verified pieces, one bit per piece, most significant bit first (BitTorrent's bitfield). */
  bitfield: Uint8Array;
  /** The .torrent bytes, so a resumed magnet does not fetch its metadata again. */
  torrentFile: Uint8Array;
}

export interface StartOptions {
  /** Resume data saved earlier for this same torrent; ignored if it does not fit the torrent. */
  resume?: ResumeState;
  /** Download only these files (indexes into the torrent's file list); all when absent. */
  selectedFiles?: readonly number[];
  /** Pieces in order (default true) or rarest first. */
  sequential?: boolean;
}

export interface RangeWaitOptions {
  signal?: AbortSignal;
  /** Give up after this long (default 30 s) with `stream_timeout`. */
  timeoutMs?: number;
}

/** One reader of one file of a running job: asks for its bytes first and says when they are on disk. */
export interface RangeWaiter {
  /** Resolves once bytes `start..end` (inclusive) of the file are verified on disk. */
  waitFor(start: number, end: number, options?: RangeWaitOptions): Promise<void>;
  /** Drops this reader's priority requests. */
  close(): void;
}

/**
 * A download engine driver. One instance manages many jobs, each identified by the caller's id.
 * Every method rejects with a `ChillyError` (stable `code`) on bad input or an unknown id.
 */
export interface Downloader extends EventEmitter<DownloaderEvents> {
  start(job: JobInput, options?: StartOptions): Promise<Job>;
  pause(id: string): Promise<Job>;
  resume(id: string): Promise<Job>;
  cancel(id: string, options?: CancelOptions): Promise<Job>;
  get(id: string): Job | undefined;
  /** The folder that holds (or will hold) a job's data. */
  jobFolder(id: string): string;
  /** Deletes a job's folder, for jobs this driver is not running (queued, paused, failed). */
  deleteJobData(id: string): Promise<void>;
  list(): Job[];
  /** A reader for file `fileIndex` of a running job, for drivers that can stream. */
  openRangeWaiter?(id: string, fileIndex: number, options?: { readAheadBytes?: number }): RangeWaiter;
  /** Changes which files a running job downloads (all when `selectedFiles` is null) and in what order. */
  setFileOptions?(id: string, options: { selectedFiles: readonly number[] | null; sequential: boolean }): void;
  /** Current resume data of a job, for drivers that have any (undefined until metadata is known). */
  resumeState?(id: string): ResumeState | undefined;
  /** Stops every job and releases every socket, timer and file handle. Idempotent. */
  destroy(): Promise<void>;
}
