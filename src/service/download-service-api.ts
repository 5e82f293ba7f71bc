/**
 * What the download service offers its callers (the API, the CLI's embedded download, a library
 * user): its requests, answers and events. Implemented by DownloadService.
 */

import type { Job, JobInput, JobPeer, JobSeedingPolicy, JobStatus, JobTracker, QueueMove } from '../domain/job.js';
import type { JobEvent } from '../domain/job-event.js';
import type { RateLimits } from '../domain/rate-limits.js';
import type { DownloaderCapabilities } from '../downloaders/downloader.js';

/** What a caller asks the service to download. Same shape as the seed's `POST /download/start` body. */
/** A job to add; without an `id`, one is made from the torrent's name (src/domain/job-id.ts). */
export type AddJobRequest = Pick<JobInput, 'sourceType' | 'sourceUrn' | 'torrentFile'> & { id?: string | undefined };

export interface AddJobResult {
  job: Job;
  /** false when the same id with the same source was already there (add is idempotent). */
  created: boolean;
}

export interface ListJobsQuery {
  /** Only jobs in one of these states (all when empty or absent). */
  status?: readonly JobStatus[];
  /** 1..500, default 50. */
  limit?: number;
  /** default 0. */
  offset?: number;
}

export interface JobPage {
  jobs: Job[];
  total: number;
  limit: number;
  offset: number;
}

export interface EngineInfo {
  name: string;
  capabilities: Readonly<DownloaderCapabilities>;
  status?: { ok: boolean; detail: string };
}

/** One file of a job, readable while it downloads. */
export interface JobFileStream {
  jobId: string;
  /** Index in the torrent's file list. */
  index: number;
  /** Path inside the job's folder. */
  path: string;
  length: number;
  /**
   * Bytes `start..end` (inclusive). Missing pieces are fetched first and waited for (each wait
   * bounded by `timeoutMs`, default 30 s); stop iterating or abort `signal` and nothing is left behind.
   */
  read(start: number, end: number, options?: { signal?: AbortSignal; timeoutMs?: number }): AsyncIterable<Uint8Array>;
}

export interface FileOptions {
  /** Indexes of the files to download; `null` for all of them. */
  selectedFiles?: number[] | null;
  /** Pieces in order (default) or rarest first. */
  sequential?: boolean;
}

export interface DownloadServiceEvents {
  job: [event: JobEvent];
}

/**
 * The download service as the API and the CLI see it. Every method throws a `ChillyError`
 * (job_not_found, invalid_transition, duplicate_job, duplicate_torrent, invalid_magnet, …).
 */
export interface DownloadServiceApi {
  add(request: AddJobRequest): Promise<AddJobResult>;
  pause(id: string): Promise<Job>;
  resume(id: string): Promise<Job>;
  cancel(id: string, options?: { keepData?: boolean }): Promise<Job>;
  get(id: string): Job;
  /** Jobs newest first (by when each was added), filtered and paginated. */
  list(query?: ListJobsQuery): JobPage;
  /**
   * Events after `lastEventId`, oldest first, for SSE reconnects; undefined when some of them
   * are no longer kept (the client must then re-read the job list).
   */
  eventsSince(lastEventId: number): JobEvent[] | undefined;
  /** A file of the job (its main video file by default) to read, even before it is downloaded. */
  openFile(id: string, fileIndex?: number): Promise<JobFileStream>;
  /** Chooses which files of a job to download and in what order; persisted. */
  setFileOptions(id: string, options: FileOptions): Promise<Job>;
  /**
   * Subtitle `n` of a job (`Job.subtitles`) as WebVTT in UTF-8, converted from SRT, ASS/SSA or
   * WebVTT in whatever character set it came in; its pieces are fetched first when not on disk.
   */
  subtitleWebVtt(id: string, n: number, options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<string>;
  /** Subscribe to job events; returns the unsubscribe function. */
  subscribe(listener: (event: JobEvent) => void): () => void;
  /** Moves a queued job to the top or bottom of the queue, or one place up or down (`invalid_transition` if not queued). */
  moveInQueue(id: string, where: QueueMove): Promise<Job>;
  /** The peers a job is connected to: none unless it runs (`capability_unsupported` where the engine cannot list them). */
  peers(id: string): JobPeer[];
  /** Checks every piece of a job's data on disk again, then goes on (`capability_unsupported` where the engine cannot). */
  recheck(id: string): Promise<Job>;
  /**
   * Moves a job's data into `destination` (inside an allowed root): renamed on one file system,
   * copied and verified across two; resolves when it is there (`move_in_progress` meanwhile).
   */
  moveData(id: string, destination: string): Promise<Job>;
  /** A job's trackers and how each is doing (`stopped` while it does not run; `capability_unsupported` where the engine cannot). */
  trackers(id: string): Promise<JobTracker[]>;
  /** Adds and removes trackers of a job: kept, and applied at once while it runs. */
  changeTrackers(id: string, change: { add?: readonly string[]; remove?: readonly string[] }): Promise<JobTracker[]>;
  /** The speed limits in force, in bytes per second (0: none). */
  rateLimits(): RateLimits;
  /** Changes the speed limits at once and keeps them (`capability_unsupported` for an engine that cannot). */
  setRateLimits(limits: RateLimits): Promise<RateLimits>;
  /** One job's own speed limits (bytes per second, 0: none), at once and kept; under the global limits. */
  setJobRateLimits(id: string, limits: RateLimits): Promise<Job>;
  /** Stops a completed job's upload now (false), or starts it again under the seeding policy (true). */
  setSeeding(id: string, seeding: boolean): Promise<Job>;
  /** A job's own seeding ratio and/or minutes over the global policy (null: the global value); at once and kept. */
  setSeedingPolicy(id: string, policy: JobSeedingPolicy): Promise<Job>;
  /** Quick self-check for /health: the database answers. */
  health(): { ok: boolean; activeDownloads: number; queued: number };
  /** The engine that moves torrents' bytes, what it can do, and (for an external one) whether it answers. */
  engine(): EngineInfo;
  close(): Promise<void>;
}
