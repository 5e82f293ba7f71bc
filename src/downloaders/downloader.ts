import type { EventEmitter } from 'node:events';
import { ChillyError } from '../domain/errors.js';
import type { Job, JobFootprint, JobInput, JobPeer, JobTracker, SourceType, TrackerEdits } from '../domain/job.js';
import type { RateLimits } from '../domain/rate-limits.js';
import type { TorrentSource } from './torrent-source.js';

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

// The user's changes to a torrent's tracker list; the type lives in the domain, since storage keeps them.
export type { TrackerEdits } from '../domain/job.js';

export interface StartOptions {
  /**
   * The job's source as `resolveTorrentSource()` already read and checked it for this very input
   * (the service does when a job is added): the driver then does not read and parse it again.
   */
  source?: TorrentSource;
  /**
   * The job's folder (as stored for the job). Default: a new folder under the media root, named
   * after the job id (`<id>`, else `<id>-2`, … when that name is taken).
   */
  savePath?: string;
  /**
   * The job wrote data into its folder before (a restart, a resume): a missing folder then means
   * the data is gone (`path_missing`), not that it was never made.
   */
  hasData?: boolean;
  /** Where each file lives inside the folder, as stored for the job (see src/torrent/file-layout.ts). */
  diskPaths?: readonly string[];
  /** Resume data saved earlier for this same torrent; ignored if it does not fit the torrent. */
  resume?: ResumeState;
  /** Download only these files (indexes into the torrent's file list); all when absent. */
  selectedFiles?: readonly number[];
  /** Pieces in order (default true) or rarest first. */
  sequential?: boolean;
  /** The user's changes to the torrent's tracker list. */
  trackers?: TrackerEdits;
  /** This job's own speed limits (0: none), under the global ones. */
  rateLimits?: RateLimits;
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

// What a job put on disk; the type lives in the domain, since the jobs' table stores it too.
export type { JobFootprint } from '../domain/job.js';

/**
 * A download engine driver. One instance manages many jobs, each identified by the caller's id.
 * Every method rejects with a `ChillyError` (stable `code`) on bad input or an unknown id.
 */
/**
 * What a driver can do beyond start/pause/resume/cancel. The service and the API check these and
 * answer `409 capability_unsupported` with the engine's name, never a silent no-op.
 */
export interface DownloaderCapabilities {
  /** Files can be read while they download (`openRangeWaiter`), from this machine's disk. */
  streaming: boolean;
  /** A subset of a job's files can be chosen (`setFileOptions` with `selectedFiles`). */
  fileSelection: boolean;
  /** Pieces in order instead of rarest first (`setFileOptions` with `sequential`). */
  sequentialPieces: boolean;
  /** Resume data (verified pieces) the service saves and hands back (`resumeState`). */
  resumeData: boolean;
  /**
   * A job's files are readable on this machine at its `savePath` (finished films can be played and
   * checked). An external engine's are only when its download folder is mapped here.
   */
  localFiles: boolean;
  /** Global and per-job download and upload speed limits (`setRateLimits`, `setJobRateLimits`), changed while it runs. */
  rateLimits: boolean;
  /** A job started with no resume data checks every piece on disk (a forced recheck). */
  recheck: boolean;
  /** The peers of a running job (`peers`). */
  peerList: boolean;
  /** A job's data can be moved to another folder on this machine (the service moves the files). */
  moveData: boolean;
  /** A running job's trackers with their state (`trackers`), changed while it runs (`setTrackers`). */
  trackerList: boolean;
}

export type DownloaderCapability = keyof DownloaderCapabilities;

/** What each capability lets a user do, for the error that says the engine cannot. */
const CAPABILITY_ACTIONS: Record<DownloaderCapability, string> = {
  streaming: 'stream a file that is still downloading',
  fileSelection: 'download only some of the files',
  sequentialPieces: 'download pieces in order',
  resumeData: 'keep resume data',
  localFiles:
    "read a job's files on this machine (set CHILLY_ENGINE_PATH_MAP to where its download folder is mounted here)",
  rateLimits: 'limit download and upload speeds from Chilly (set them in the engine itself)',
  recheck: 'check the data on disk again (use its own recheck)',
  peerList: "list a download's peers (see them in the engine itself)",
  moveData: 'move a job\'s data (use the engine\'s own "set location")',
  trackerList: "list or change a download's trackers (use the engine's own tracker list)",
};

/** Throws `capability_unsupported` naming the engine unless the driver can do `capability`. */
export function assertCapability(
  downloader: Pick<Downloader, 'engineName' | 'capabilities'>,
  capability: DownloaderCapability,
): void {
  if (downloader.capabilities[capability]) return;
  throw new ChillyError(
    'capability_unsupported',
    `The ${downloader.engineName} engine cannot ${CAPABILITY_ACTIONS[capability]}.`,
  );
}

export interface Downloader extends EventEmitter<DownloaderEvents> {
  /** The engine's name, as users know it ("WebTorrent"), for messages. */
  readonly engineName: string;
  readonly capabilities: Readonly<DownloaderCapabilities>;
  start(job: JobInput, options?: StartOptions): Promise<Job>;
  pause(id: string): Promise<Job>;
  resume(id: string): Promise<Job>;
  cancel(id: string, options?: CancelOptions): Promise<Job>;
  get(id: string): Job | undefined;
  /** The folder a job with this id is given by default (before any clash with an existing folder). */
  jobFolder(id: string): string;
  /**
   * A new folder for a job: `jobFolder(id)`, else `-2`, `-3`, … while a name exists on disk or
   * `isTaken` says another job has it. Made when the job first starts, not now.
   */
  chooseFolder?(id: string, options?: { isTaken?: (folder: string) => boolean }): Promise<string>;
  /**
   * Checks the media root before any job runs: with `expectData` (some job has data there) it must
   * be there and be ours, else `path_missing`; `adopt` takes a root of ours that predates its marker.
   */
  prepareMediaRoot?(options: { expectData: boolean; adopt?: boolean }): Promise<void>;
  /** What a job this driver runs has created so far (undefined for an unknown job). */
  footprint?(id: string): JobFootprint | undefined;
  /**
   * Deletes a stopped job's data: only what `footprint` says it created (plus, in a folder the job
   * made, the files of `diskPaths`), never through a symbolic link, never a folder that still holds
   * something else. Returns what was left behind.
   */
  deleteJobData(folder: string, footprint: JobFootprint, diskPaths?: readonly string[]): Promise<string[]>;
  list(): Job[];
  /** A reader for file `fileIndex` of a running job, for drivers that can stream. */
  openRangeWaiter?(id: string, fileIndex: number, options?: { readAheadBytes?: number }): RangeWaiter;
  /** Changes which files a running job downloads (all when `selectedFiles` is null) and in what order. */
  setFileOptions?(id: string, options: { selectedFiles: readonly number[] | null; sequential: boolean }): void;
  /** Current resume data of a job, for drivers that have any (undefined until metadata is known). */
  resumeState?(id: string): ResumeState | undefined;
  /**
   * For engines that keep torrents and their data themselves (qBittorrent, Transmission): removes
   * the torrent with this info-hash, whether a job is attached to it now or not, and with
   * `deleteData` its files, on the engine's side. Resolves false when the engine does not have it.
   * The service then never deletes a job's data itself (`deleteJobData`).
   */
  removeByInfoHash?(infoHash: string, options: { deleteData: boolean }): Promise<boolean>;
  /**
   * The driver that runs jobs of this source type, for a downloader made of several (SourceRouter):
   * a job's folder, capabilities and data are its own driver's business.
   */
  driverFor?(sourceType: SourceType): Downloader;
  /** A running job's trackers and how each is doing (undefined for a job it does not run). */
  trackers?(id: string): JobTracker[] | undefined;
  /** Changes a running job's tracker list at once (the service keeps the edits for later starts). */
  setTrackers?(id: string, edits: TrackerEdits): void;
  /** The peers a running job is connected to (undefined for a job it does not run). */
  peers?(id: string): JobPeer[] | undefined;
  /**
   * Has the engine check every piece of a job it runs (or holds paused) on disk again, with its own
   * recheck, keeping the job (for engines that keep their torrents: qBittorrent, Transmission). The
   * job shows `verifying` meanwhile, then goes on; a complete one reports `completed` again. Without
   * it the service rechecks by restarting the job without resume data.
   */
  recheck?(id: string): Promise<void>;
  /** Limits the speed of all downloads and all uploads together (0: no limit), at once. */
  setRateLimits?(limits: RateLimits): void | Promise<void>;
  /** Limits one running job's speeds (0: no limit), at once; under the global limits. */
  setJobRateLimits?(id: string, limits: RateLimits): void | Promise<void>;
  /** Whether an engine in another process answers (for the settings page); absent for embedded ones. */
  engineStatus?(): { ok: boolean; detail: string };
  /** Stops every job and releases every socket, timer and file handle. Idempotent. */
  destroy(): Promise<void>;
}
