/**
 * What Chilly needs from a BitTorrent engine that runs in its own process (qBittorrent,
 * Transmission), reached over its own API. One adapter per engine translates these calls to the
 * engine's API and the engine's data to `EngineTorrent` with a pure `normalize*()` mapper;
 * `RemoteEngineDownloader` (./remote-engine-downloader.ts) turns any adapter into a `Downloader`.
 *
 * Failures are `ChillyError`s with stable codes: `engine_unreachable` (no answer, a timeout, a
 * 5xx: worth retrying), `engine_auth_failed` (wrong user name or password: retrying will not help),
 * `download_failed` (the engine refused the request itself).
 */
import type { JobFile, JobPeer, JobStatus } from '../../domain/job.js';
import type { RateLimits } from '../../domain/rate-limits.js';

/** A torrent as the engine reports it, in our terms. Sizes in bytes, speeds in bytes per second. */
export interface EngineTorrent {
  /** v1 info-hash, 40 lowercase hex digits: how Chilly finds its jobs in the engine. */
  infoHash: string;
  /** The torrent's name; the engine may report the info-hash or the magnet's `dn` until metadata is known. */
  name?: string;
  /**
   * What the torrent is doing, as a job status: `queued` (waiting in the engine's own queue),
   * `verifying` (checking data or fetching metadata), `downloading`, `stalled` (downloading, no data
   * moving), `paused`, `completed` (all wanted data there, seeding or not), `error` (see `errorMessage`).
   */
  status: Extract<JobStatus, 'queued' | 'verifying' | 'downloading' | 'stalled' | 'paused' | 'completed' | 'error'>;
  /** The engine's own words for an `error` status. */
  errorMessage?: string;
  /** The folder the engine saves this torrent's content into, as the engine sees it (a path on its machine). */
  savePath: string;
  /** Whether the engine has the torrent's metadata (files and size): false while a magnet resolves. */
  hasMetadata: boolean;
  /** Verified bytes of the wanted files. */
  bytesDone: number;
  /** Size of the wanted files; null until metadata is known. */
  bytesTotal: number | null;
  downloadSpeed: number;
  uploadSpeed: number;
  /** Uploaded over the torrent's life in the engine. */
  bytesUploaded: number;
  /** Connected peers (seeds included). */
  peers: number;
  etaSeconds: number | null;
}

/** One file of a torrent in the engine, in the torrent's order. */
export interface EngineFile extends Pick<JobFile, 'path' | 'length'> {
  /** Verified bytes of this file. */
  bytesDone: number;
  /** Whether the engine downloads it. */
  wanted: boolean;
}

/** What changed in the engine since the previous `sync()` (everything on the first call). */
export interface EngineSync {
  /** true when `torrents` is every torrent the engine has (the first sync, or after `resetSync()`). */
  full: boolean;
  /** Torrents that changed (all of them when `full`). */
  torrents: EngineTorrent[];
  /** Info-hashes the engine no longer has (empty when `full`: absent from `torrents` means removed). */
  removed: string[];
}

/** How to add a torrent. */
export interface EngineAddRequest {
  infoHash: string;
  /** The magnet URI (also for a bare info-hash: `magnet:?xt=urn:btih:<hash>`) … */
  magnetURI?: string;
  /** … or the .torrent's bytes (preferred when known: no metadata to fetch). */
  torrentFile?: Uint8Array;
  /** The folder for the torrent's content, on the engine's machine. */
  savePath: string;
  /** Pieces in order, plus first and last pieces of each file first, where the engine can. */
  sequential: boolean;
}

export interface EngineCapabilities {
  /** `setWantedFiles` works. */
  fileSelection: boolean;
  /** `setSequential` works. */
  sequentialPieces: boolean;
}

export interface EngineAdapter {
  /** The engine's name as users know it ("qBittorrent"), for messages. */
  readonly engineName: string;
  readonly capabilities: Readonly<EngineCapabilities>;
  /** Signs in (when the engine needs it) and checks that the engine answers. Safe to call again. */
  connect(): Promise<void>;
  /** The engine's version, as it reports it ("v4.5.2", "3.00"), for `chilly doctor`. */
  version(): Promise<string>;
  /** Where the engine saves torrents by default, on its machine. */
  defaultSavePath(): Promise<string>;
  /** Adds a torrent, running. Resolves once the engine has accepted it (it shows in the next `sync`). */
  add(request: EngineAddRequest): Promise<void>;
  /** Changes since the previous call: incremental where the engine allows (qBittorrent `rid`, Transmission `recently-active`). */
  sync(): Promise<EngineSync>;
  /** The next `sync()` is a full one (after a lost connection, or to re-read everything). */
  resetSync(): void;
  /** The torrent's files (empty until its metadata is known). */
  files(infoHash: string): Promise<EngineFile[]>;
  pause(infoHash: string): Promise<void>;
  resume(infoHash: string): Promise<void>;
  /** Removes the torrent from the engine; with `deleteData`, its downloaded files too. */
  remove(infoHash: string, options: { deleteData: boolean }): Promise<void>;
  /** Downloads only these files (indexes in the torrent's order); all of them when null. */
  setWantedFiles(infoHash: string, wanted: readonly number[] | null, fileCount: number): Promise<void>;
  /** Pieces in order (plus first/last piece priority where the engine has it), or the engine's default order. */
  setSequential(infoHash: string, sequential: boolean): Promise<void>;
  /** The engine's own "force recheck": it checks every piece of the torrent's data on disk again, then goes on. */
  recheck(infoHash: string): Promise<void>;
  /** The engine's global download and upload limits, in bytes per second (0: no limit). */
  setRateLimits(limits: RateLimits): Promise<void>;
  /** One torrent's own download and upload limits, in bytes per second (0: no limit). */
  setTorrentRateLimits(infoHash: string, limits: RateLimits): Promise<void>;
  /** The peers the torrent is connected to now, as the engine lists them. */
  peers(infoHash: string): Promise<JobPeer[]>;
  /** Ends the session with the engine (signs out where it has sessions). Leaves every torrent as it is. */
  close(): Promise<void>;
}
