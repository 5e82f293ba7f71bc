import { ChillyError, type ErrorCode } from './errors.js';
import type { JobRelease, MovieInfo } from './movie.js';
import type { RateLimits } from './rate-limits.js';

export type { JobRelease } from './movie.js';

/** Where a job is in its life. `completed` jobs may keep seeding (see `Job.seeding`). */
export const JOB_STATUSES = [
  'queued',
  'verifying',
  'downloading',
  /** Downloading, but no data has arrived for a while (no peers, or none that send): clears by itself. */
  'stalled',
  'paused',
  'completed',
  'error',
  'cancelled',
  'files_missing',
] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** Where a queued job can be moved in the queue. */
export const QUEUE_MOVES = ['top', 'up', 'down', 'bottom'] as const;
export type QueueMove = (typeof QUEUE_MOVES)[number];

/** `torrent`: a magnet, info-hash or .torrent; `http`: a direct http(s) URL of one video file. */
export const SOURCE_TYPES = ['torrent', 'http'] as const;
export type SourceType = (typeof SOURCE_TYPES)[number];

/** A snapshot of transfer figures. Speeds in bytes per second, ETA in seconds (null when unknown). */
export interface JobProgress {
  /** 0..1 of the selected data verified on disk. */
  fraction: number;
  bytesDone: number;
  /** null until the torrent's metadata is known. */
  bytesTotal: number | null;
  downloadSpeed: number;
  uploadSpeed: number;
  bytesUploaded: number;
  peers: number;
  etaSeconds: number | null;
}

export interface JobFile {
  /** Path relative to the job's folder, '/'-separated: where the file is on disk. */
  path: string;
  length: number;
  /**
   * The file's path as the torrent names it, when that differs from `path` (a name that is not
   * valid on every file system, or that met another file's, is changed on disk).
   */
  torrentPath?: string;
}

/** A peer a running job is connected to. */
export interface JobPeer {
  /** `ip:port` (IPv6 in brackets). */
  address: string;
  /** The client its peer id names (`qBittorrent 4.5.2`), or `unknown`. */
  client: string;
  /** Bytes per second from it, and to it. */
  downloadSpeed: number;
  uploadSpeed: number;
  /** 0..1 of the torrent it has. */
  progress: number;
  /** It connected to us (else we to it). */
  incoming: boolean;
  /** It refuses to send to us right now. */
  choked: boolean;
  /** We want pieces it has. */
  interested: boolean;
  /** It wants pieces we have. */
  peerInterested: boolean;
}

/** How a tracker of a job is doing, as qBittorrent's and Transmission's tracker lists show it. */
export const TRACKER_STATUSES = ['working', 'contacting', 'error', 'stopped'] as const;
export type TrackerStatus = (typeof TRACKER_STATUSES)[number];

/** A user's changes to a torrent's tracker list, kept with the job. */
export interface TrackerEdits {
  /** Trackers added, besides the torrent's own. */
  added: readonly string[];
  /** Trackers of the torrent's own list that are not used. */
  removed: readonly string[];
}

/** One tracker of a job. */
export interface JobTracker {
  url: string;
  /** `torrent`: named by the torrent or magnet; `added`: added by the user. */
  origin: 'torrent' | 'added';
  /** `stopped` while the job is not running; `contacting` until its first answer. */
  status: TrackerStatus;
  /** Why its last announce failed (`error`), else null. */
  message: string | null;
  /** When it last answered an announce; null if never (since the job started). */
  lastAnnounce: string | null;
  /** When it is asked next (its interval, or a retry after a failure); null when unknown. */
  nextAnnounce: string | null;
  /** Peers with the whole torrent, and the others, as it last said; null when unknown. */
  seeders: number | null;
  leechers: number | null;
}

/** A subtitle file of a job (src/subtitles/subtitle-files.ts), served as WebVTT at `/stream/{id}/subtitles/{n}`. */
export interface JobSubtitle {
  /** Its number among the job's subtitles (the `{n}` of its link). */
  n: number;
  /** Index of the file in the job's file list (the video's, for a track inside the video). */
  fileIndex: number;
  path: string;
  format: 'srt' | 'ass' | 'ssa' | 'vtt';
  /** A text track inside the video file (read with ffmpeg) rather than a file of its own. */
  embedded: boolean;
  /** The track's stream number inside the video (ffmpeg's `0:<stream>`); null for a file. */
  stream: number | null;
  /** ISO 639-1 code (else 639-3) and English name, from the file's name; null when it does not say. */
  language: { code: string; name: string } | null;
  forced: boolean;
  /** For the deaf and hard of hearing. */
  sdh: boolean;
  /** Index of the video file it belongs to; null when it cannot be told. */
  videoIndex: number | null;
  /** What a player shows: "English", "French (forced)". */
  label: string;
}

/** A completed job's upload: seeding is a state people can see, not a hidden hour of traffic. */
export interface JobSeeding {
  /** Still in the engine, uploading to whoever asks. */
  active: boolean;
  /** Uploaded over the job's life divided by its size. */
  ratio: number;
  /** The ratio at which the upload stops (the policy's; 0: no seeding). */
  ratioLimit: number;
  /** When the policy's time ends the upload; null when not seeding. */
  endsAt: string | null;
  /** Minutes of upload the policy allows (0: no seeding). */
  minutesLimit: number;
  /** `job`: this job's own policy (PUT /download/seeding-policy) sets a limit; `global`: the server's. */
  policy: 'global' | 'job';
}

/** A job's own seeding policy: each value replaces the global one; null keeps it. */
export interface JobSeedingPolicy {
  ratio: number | null;
  minutes: number | null;
}

/** A job's data on its way to another folder (POST /download/move-data). */
export interface JobMoveProgress {
  /** The job's folder once the move is done. */
  destination: string;
  /** Bytes copied so far, of all (both 0 until a copy across file systems starts). */
  bytesDone: number;
  bytesTotal: number;
  startedAt: string;
}

export interface JobError {
  code: ErrorCode;
  message: string;
}

/**
 * The movie a job was recognised as (src/service/movie-linker.ts), as a snapshot taken when it was
 * linked, so it shows with no network. Artwork URLs are this server's own paths
 * (`/metadata/posters/{tmdbId}`), never TMDB's image host.
 */
export interface JobMovie
  extends Pick<
    MovieInfo,
    'tmdbId' | 'title' | 'originalTitle' | 'year' | 'runtime' | 'rating' | 'posterUrl' | 'backdropUrl'
  > {
  /** `auto`: recognised from the torrent name; `user`: chosen by the user, never replaced automatically. */
  origin: 'auto' | 'user';
  /** 0..1 for automatic links; null for the user's choice. */
  confidence: number | null;
  release: JobRelease;
  linkedAt: string;
}

export interface Job {
  id: string;
  sourceType: SourceType;
  /**
   * Magnet URI, bare info-hash, or path of a .torrent file; `torrent:<infoHash>` when added from
   * bytes; the URL of a direct (`http`) download.
   */
  sourceUrn: string;
  status: JobStatus;
  infoHash?: string;
  /** The torrent's name, once its metadata is known. */
  name?: string;
  files?: JobFile[];
  /** Absolute path of the folder that holds this job's data. */
  savePath?: string;
  progress: JobProgress;
  /** Indexes of the files being downloaded; absent means all of them. */
  selectedFiles?: number[];
  /**
   * Pieces in order (the default: a player can start at once, and WebTorrent 2.8 is several times
   * faster so) or rarest first (`false`: kinder to a swarm with few seeders).
   */
  sequential: boolean;
  error?: JobError;
  /** For a completed job: whether it is still uploading, its ratio, and when the policy ends it. */
  seeding?: JobSeeding;
  /** While its data moves to another folder: where to, and how far (absent otherwise). */
  move?: JobMoveProgress;
  /** This job's own speed limits (bytes per second, 0: none), when it has any; under the global ones. */
  rateLimits?: RateLimits;
  /** The subtitle files among its files (absent until its file list is known, or when there are none). */
  subtitles?: JobSubtitle[];
  /** For a queued job: its place in the queue (1 starts next). */
  queuePosition?: number;
  /**
   * The movie this job is, when the server links jobs to movies: null while unknown (not looked
   * up yet, nothing convincing found, or the user said "none"). Absent without the metadata feature.
   */
  movie?: JobMovie | null;
  createdAt: string;
  updatedAt: string;
}

/** What a caller hands to `Downloader.start`: the seed README's job shape, plus .torrent bytes. */
export interface JobInput {
  id: string;
  sourceType: SourceType;
  /** Magnet URI, bare info-hash (40 hex or 32 base32), or a .torrent file path. */
  sourceUrn?: string;
  /** The bytes of a .torrent file; takes precedence over `sourceUrn`. */
  torrentFile?: Uint8Array;
  /** Accepted for compatibility with the seed README; a new job always starts as `queued`. */
  status?: JobStatus;
}

const JOB_ID_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

/**
 * Job ids name the job's folder on disk, so they are restricted to a safe alphabet:
 * no separators, no `.`/`..`, at most 128 characters.
 */
export function assertValidJobId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || !JOB_ID_PATTERN.test(id)) {
    throw new ChillyError(
      'invalid_job_id',
      `Invalid job id ${JSON.stringify(id)}: use 1-128 letters, digits, '.', '-' or '_', not starting with '.'.`,
    );
  }
}

/** The id of what a caller hands to a driver's `start()`: a job object with a valid id, or a typed error. */
export function startedJobId(input: unknown): string {
  if (input === null || typeof input !== 'object') {
    throw new ChillyError('validation_failed', 'start() needs a job object { id, sourceType, sourceUrn }.');
  }
  const { id } = input as { id?: unknown };
  assertValidJobId(id);
  return id;
}

export function emptyProgress(): JobProgress {
  return {
    fraction: 0,
    bytesDone: 0,
    bytesTotal: null,
    downloadSpeed: 0,
    uploadSpeed: 0,
    bytesUploaded: 0,
    peers: 0,
    etaSeconds: null,
  };
}

/** What a job put on disk: deleting its data removes these and nothing else. */
export interface JobFootprint {
  /** The job made its folder (so the folder goes too, once empty). */
  folderCreated: boolean;
  /** Files and folders the engine created inside the folder, '/'-separated and relative to it. */
  created: string[];
}

/** Whether two readings show the same figures (a new event would tell nothing). */
export function sameProgress(a: JobProgress, b: JobProgress): boolean {
  return (
    a.fraction === b.fraction &&
    a.bytesDone === b.bytesDone &&
    a.bytesTotal === b.bytesTotal &&
    a.downloadSpeed === b.downloadSpeed &&
    a.uploadSpeed === b.uploadSpeed &&
    a.bytesUploaded === b.bytesUploaded &&
    a.peers === b.peers &&
    a.etaSeconds === b.etaSeconds
  );
}
