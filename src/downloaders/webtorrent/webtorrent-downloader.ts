import { EventEmitter } from 'node:events';
import path from 'node:path';
import { DEFAULT_MEDIA_FOLDER, DEFAULTS } from '../../config/defaults.js';
import { type MediaAccess, modesFor, removeCreated } from '../../disk/confined-files.js';
import { chooseJobFolder, type FolderIdentity, footprintToRemove } from '../../disk/job-folders.js';
import { MediaFolders, type WatchEntry } from '../../disk/media-folders.js';
import { ChillyError, toChillyError } from '../../domain/errors.js';
import {
  assertValidJobId,
  type Job,
  type JobInput,
  type JobPeer,
  type JobProgress,
  type JobStatus,
  type JobTracker,
  sameProgress,
  startedJobId,
} from '../../domain/job.js';
import { assertTransition } from '../../domain/job-state-machine.js';
import type { NetworkMode } from '../../domain/network-mode.js';
import { checkedRateLimits, type RateLimits } from '../../domain/rate-limits.js';
import type { Torrent, WebTorrent } from '../../engine/bittorrent-engine.js';
import { planFileLayout } from '../../torrent/file-layout.js';
import { checkInfoDictionary } from '../../torrent/info-dictionary.js';
import type { ParsedTorrent } from '../../torrent/parsed-torrent.js';
import { assertFreeSpace, bytesStillNeeded, diskFullError, diskOf, type TorrentLayout } from '../disk-space.js';
import type {
  CancelOptions,
  Downloader,
  DownloaderCapabilities,
  DownloaderEvents,
  JobFootprint,
  RangeWaiter,
  ResumeState,
  StartOptions,
  TrackerEdits,
} from '../downloader.js';
import { assertSafeTorrentPaths } from '../torrent-paths.js';
import {
  jobFilesOf,
  newJobFromSource,
  parseTorrentBytes,
  resolveTorrentSource,
  type TorrentSource,
} from '../torrent-source.js';
import { type EngineNetworkOptions, webTorrentClientOptions } from './client-options.js';
import { ConfinedChunkStore, type ConfinedStoreOptions } from './confined-chunk-store.js';
import { WarningThrottle } from './engine-warnings.js';
import { peerList } from './peer-list.js';
import { applySelection, selectedFilesDone } from './piece-selection.js';
import { TorrentRangeWaiter } from './range-waiter.js';
import { progressOf } from './torrent-progress.js';
import { TorrentRateLimiter } from './torrent-rate-limiter.js';
import { sameTrackerUrl, TorrentTrackers } from './tracker-list.js';

type EngineModule = typeof import('../../engine/bittorrent-engine.js');
let engineModule: Promise<EngineModule> | undefined;

/**
 * WebTorrent is loaded when the first torrent starts, not with this module: the server then
 * answers its first request while the engine loads (about a seventh of its start-up).
 */
function loadEngine(): Promise<EngineModule> {
  engineModule ??= import('../../engine/bittorrent-engine.js');
  return engineModule;
}

export interface WebTorrentDownloaderOptions {
  /** Folder under which every job gets a folder of its own, named after the job id. Default `./media`. */
  mediaRoot?: string;
  /** `public` (default) or `loopback`; see `network.ts`. */
  network?: NetworkMode;
  /** Minimum time between two `progress` events of one job. Default 250 ms (at most 4 per second). */
  progressIntervalMs?: number;
  torrentPort?: number;
  utp?: boolean;
  maxConnections?: number;
  /**
   * Who may read the downloaded files: `private` (default: files 0600, folders 0700) or `shared`
   * (0644/0755, for a media server that runs as another user).
   */
  mediaAccess?: MediaAccess;
  /** A downloading job that receives no data for this long is `stalled` until data flows again. Default 30 s. */
  stalledAfterMs?: number;
  /** How often the folders of running jobs are checked for deletion or unmounting. Default 2 s. */
  folderCheckMs?: number;
  /**
   * Told the engine's warnings (an unreachable tracker, a misbehaving peer), one line each, prefixed
   * with the job's id; the same warning again is left out for a while (see engine-warnings.ts).
   * The text may hold a remote tracker's words: make it safe before printing it to a terminal.
   */
  onWarning?: (message: string) => void;
}

interface JobRecord {
  job: Job;
  source: TorrentSource;
  folder: string;
  /** The folder as it was when the job started writing: another folder there now means the data is gone. */
  folderIdentity: FolderIdentity | undefined;
  /** What the job made on disk: deleting its data removes exactly this. */
  footprint: { folderCreated: boolean; created: Set<string> };
  /** Where each file lives inside the folder, once the metadata is known. */
  diskPaths: string[] | undefined;
  store: ConfinedChunkStore | undefined;
  torrent: Torrent | undefined;
  progressTimer: NodeJS.Timeout | undefined;
  /** The status and figures of the last progress event (none since the timer started: undefined). */
  lastReported: { status: JobStatus; progress: JobProgress } | undefined;
  resume: ResumeState | undefined;
  /**
   * The job's start made its folder, so it is empty, and the engine has not run in it yet: the
   * engine's check of the data on disk (a read of every piece) would find nothing.
   */
  freshFolder: boolean;
  /** Size, piece length and file ranges, once the metadata is known: what the free-space check needs. */
  layout: TorrentLayout | undefined;
  /** Files to download (indexes); undefined means all. */
  selection: ReadonlySet<number> | undefined;
  sequential: boolean;
  /** Bytes received from peers by the current torrent, and when that last grew (for `stalled`). */
  received: number;
  lastDataAt: number;
  /** Serialises pause/resume/cancel of one job so they never interleave. */
  queue: Promise<unknown>;
  /** The user's changes to the torrent's tracker list. */
  trackerEdits: TrackerEdits;
  /** The running torrent's trackers (src/downloaders/webtorrent/tracker-list.ts). */
  trackers: TorrentTrackers | undefined;
  /** This job's own speed limits (0: none). */
  rateLimits: RateLimits;
  /** The running torrent's limiters, which its peers' data passes through (see torrent-rate-limiter.ts). */
  limiters: { down: TorrentRateLimiter; up: TorrentRateLimiter } | undefined;
}

/** How long a seeding torrent leaving the engine waits, at most, for its peers to take what it sent. */
const END_CONNECTIONS_TIMEOUT_MS = 5_000;

/** Ends a torrent's connections gracefully (see `endConnections` in patches/webtorrent+2.8.5.patch). */
function endConnections(torrent: Torrent | undefined): Promise<void> {
  if (torrent === undefined || torrent.destroyed) return Promise.resolve();
  return new Promise((resolve) => torrent.endConnections(END_CONNECTIONS_TIMEOUT_MS, resolve));
}

/** Statuses of a job that is fetching data (it holds disk space it has not written yet). */
const FETCHING: ReadonlySet<JobStatus> = new Set(['verifying', 'downloading', 'stalled']);
/** WebTorrent's read cache (for streaming and seeding), at most: whole pieces, at least one. */
const STORE_CACHE_MAX_BYTES = 16 * 1024 * 1024;
/** Read-ahead after the bytes a streaming reader asked for: a few seconds of a 1080p movie. */
const DEFAULT_READ_AHEAD_BYTES = 16 * 1024 * 1024;

/**
 * The embedded BitTorrent driver, on WebTorrent 2.8.
 *
 * Pause detaches the torrent from the engine (keeping its files and a copy of its verified-piece
 * bitfield) because WebTorrent's own `pause()` only stops looking for new peers and keeps
 * transferring with the connected ones (webtorrent #1035, #2101, #2969). Resume re-attaches it
 * with that bitfield, so only a spot check of the data on disk is needed.
 *
 * Every torrent is checked before the engine builds anything from it (src/torrent/
 * info-dictionary.ts, also for metadata that comes from peers), and its files are written by a
 * store of ours (confined-chunk-store.ts): names safe on every file system, no symbolic link
 * followed, nothing outside the job's folder, and a record of what was created, so cancelling
 * deletes that and nothing else.
 */
export class WebTorrentDownloader extends EventEmitter<DownloaderEvents> implements Downloader {
  readonly engineName: string = 'WebTorrent';
  readonly capabilities: Readonly<DownloaderCapabilities> = Object.freeze({
    streaming: true,
    fileSelection: true,
    sequentialPieces: true,
    resumeData: true,
    localFiles: true,
    rateLimits: true,
    recheck: true,
    peerList: true,
    moveData: true,
    trackerList: true,
  });
  readonly mediaRoot: string;
  readonly network: NetworkMode;
  private readonly progressIntervalMs: number;
  private readonly stalledAfterMs: number;
  private readonly folderCheckMs: number;
  private readonly modes: { file: number; dir: number };
  private readonly engineOptions: EngineNetworkOptions;
  /** The media root and the running jobs' folders (src/disk/media-folders.ts). */
  private readonly folders: MediaFolders;
  private readonly records = new Map<string, JobRecord>();
  /** Ids whose start is between validation and registration, so a duplicate start fails at once. */
  private readonly starting = new Set<string>();
  private client: WebTorrent | undefined;
  /** Global speed limits in bytes per second (0: none), applied to every client this driver makes. */
  private rateLimits = { downloadBytesPerSecond: 0, uploadBytesPerSecond: 0 };
  /** The engine's client class, once loadEngine() has been awaited (every path to attach() does). */
  private WebTorrentClient: EngineModule['WebTorrent'] | undefined;
  private destroyed: Promise<void> | undefined;
  private readonly onWarning: ((message: string) => void) | undefined;
  private readonly warnings = new WarningThrottle();

  constructor(options: WebTorrentDownloaderOptions = {}) {
    super();
    this.onWarning = options.onWarning;
    this.mediaRoot = path.resolve(options.mediaRoot ?? DEFAULT_MEDIA_FOLDER);
    this.network = options.network ?? DEFAULTS.network;
    this.progressIntervalMs = options.progressIntervalMs ?? 250;
    this.stalledAfterMs = options.stalledAfterMs ?? 30_000;
    this.folderCheckMs = options.folderCheckMs ?? 2_000;
    if (!Number.isFinite(this.progressIntervalMs) || this.progressIntervalMs < 250) {
      throw new ChillyError('validation_failed', 'progressIntervalMs must be at least 250 (4 events per second).');
    }
    for (const [name, value] of [
      ['stalledAfterMs', this.stalledAfterMs],
      ['folderCheckMs', this.folderCheckMs],
    ] as const) {
      if (!Number.isFinite(value) || value < 100)
        throw new ChillyError('validation_failed', `${name} must be at least 100.`);
    }
    this.modes = modesFor(options.mediaAccess ?? 'private');
    this.folders = new MediaFolders(this.mediaRoot, { dirMode: this.modes.dir, checkEveryMs: this.folderCheckMs });
    this.engineOptions = {
      network: this.network,
      ...(options.torrentPort === undefined ? {} : { torrentPort: options.torrentPort }),
      ...(options.utp === undefined ? {} : { utp: options.utp }),
      ...(options.maxConnections === undefined ? {} : { maxConnections: options.maxConnections }),
    };
  }

  /** The folder a job is given by default. Job ids are validated, so this never leaves `mediaRoot`. */
  jobFolder(id: string): string {
    assertValidJobId(id);
    return path.join(this.mediaRoot, id);
  }

  prepareMediaRoot(options: { expectData: boolean; adopt?: boolean }): Promise<void> {
    return this.folders.prepare(options);
  }

  async chooseFolder(id: string, options: { isTaken?: (folder: string) => boolean } = {}): Promise<string> {
    assertValidJobId(id);
    const taken = (folder: string): boolean =>
      options.isTaken?.(folder) === true || [...this.records.values()].some((record) => record.folder === folder);
    return chooseJobFolder(this.mediaRoot, id, { isTaken: taken });
  }

  footprint(id: string): JobFootprint | undefined {
    const record = this.records.get(id);
    if (record === undefined) return undefined;
    return { folderCreated: record.footprint.folderCreated, created: [...record.footprint.created] };
  }

  async deleteJobData(folder: string, footprint: JobFootprint, diskPaths?: readonly string[]): Promise<string[]> {
    const running = [...this.records.values()].find((record) => record.folder === folder);
    if (running !== undefined) {
      throw new ChillyError(
        'invalid_transition',
        `Job ${JSON.stringify(running.job.id)} is running: cancel it instead.`,
      );
    }
    return removeCreated(folder, footprintToRemove(footprint, diskPaths));
  }

  /** The TCP port peers can reach this client on, once a job has started the engine. */
  get torrentPort(): number | undefined {
    return this.client?.address()?.port;
  }

  async start(input: JobInput, options: StartOptions = {}): Promise<Job> {
    this.assertAlive();
    const id = startedJobId(input);
    if (this.records.has(id) || this.starting.has(id)) {
      throw new ChillyError('duplicate_job', `A job with id ${JSON.stringify(id)} already exists.`);
    }
    this.starting.add(id);
    try {
      const source = options.source ?? (await resolveTorrentSource(input));
      this.assertAlive();
      const owner = [...this.records.values()].find((r) => r.source.infoHash === source.infoHash);
      if (owner !== undefined) {
        throw new ChillyError(
          'duplicate_torrent',
          `Torrent ${source.infoHash} is already job ${JSON.stringify(owner.job.id)}.`,
        );
      }
      const resume = await usableResumeState(options.resume, source.infoHash);
      const parsed = source.kind === 'torrent' ? source.parsed : resume?.parsed;
      const layout = parsed?.info === undefined ? undefined : planFileLayout(parsed.info);
      const diskPaths =
        layout === undefined
          ? undefined
          : options.diskPaths?.length === layout.length
            ? [...options.diskPaths]
            : layout.map((file) => file.diskPath);
      const selection = options.selectedFiles === undefined ? undefined : new Set(options.selectedFiles);
      const spaceLayout = layoutOf(parsed);
      const hasData = options.hasData === true;
      this.WebTorrentClient ??= (await loadEngine()).WebTorrent;
      this.assertAlive();
      const folder = options.savePath ?? (await this.chooseFolder(id));
      // Before anything is made on disk: a download that cannot fit is refused as it is.
      this.assertFreeSpaceFor({ layout: spaceLayout, resume: resume?.state, selection, folder }, undefined);
      const opened = await this.folders.open(folder, hasData);

      const job = newJobFromSource({ input, source, parsed, savePath: folder });
      if (layout !== undefined && diskPaths !== undefined) {
        job.files = jobFilesOf(layout.map((file, index) => ({ ...file, diskPath: diskPaths[index] ?? file.diskPath })));
      }
      const record: JobRecord = {
        job,
        source,
        folder,
        folderIdentity: opened.identity,
        footprint: { folderCreated: opened.created, created: new Set() },
        diskPaths,
        store: undefined,
        torrent: undefined,
        progressTimer: undefined,
        lastReported: undefined,
        resume: resume?.state,
        freshFolder: opened.created && resume === undefined,
        selection,
        sequential: options.sequential ?? true,
        layout: spaceLayout,
        received: 0,
        lastDataAt: Date.now(),
        queue: Promise.resolve(),
        trackerEdits: options.trackers ?? { added: [], removed: [] },
        trackers: undefined,
        rateLimits: options.rateLimits ?? { downloadBytesPerSecond: 0, uploadBytesPerSecond: 0 },
        limiters: undefined,
      };
      record.job.sequential = record.sequential;
      if (selection !== undefined) record.job.selectedFiles = [...selection].sort((a, b) => a - b);
      if (record.resume !== undefined && record.layout !== undefined) {
        // Until the engine counts them, report the pieces the resume data vouches for, not zero.
        const { length } = record.layout;
        const done = length - bytesStillNeeded(record.layout, record.resume.bitfield);
        record.job.progress = { ...record.job.progress, bytesDone: done, fraction: length > 0 ? done / length : 0 };
      }
      this.records.set(id, record);
      this.attach(record);
      this.emit('started', snapshot(record.job));
      if (parsed !== undefined) this.emit('metadata', snapshot(record.job));
      return snapshot(record.job);
    } finally {
      this.starting.delete(id);
    }
  }

  pause(id: string): Promise<Job> {
    return this.serialise(id, async (record) => {
      assertTransition(record.job, 'pause');
      await this.detach(record);
      this.setStatus(record, 'paused');
      this.emit('paused', snapshot(record.job));
      return snapshot(record.job);
    });
  }

  resume(id: string): Promise<Job> {
    return this.serialise(id, async (record) => {
      this.assertAlive();
      assertTransition(record.job, 'resume');
      this.assertFreeSpaceFor(record, record);
      // The folder may have come back (a disk mounted again); data written before must still be there.
      record.folderIdentity = (await this.folders.open(record.folder, true)).identity;
      delete record.job.error;
      this.attach(record);
      this.emit('resumed', snapshot(record.job));
      return snapshot(record.job);
    });
  }

  cancel(id: string, options: CancelOptions = {}): Promise<Job> {
    return this.serialise(id, async (record) => {
      assertTransition(record.job, 'cancel');
      // A finished movie is kept unless the caller asks otherwise; partial data is removed.
      const keepData = options.keepData ?? record.job.status === 'completed';
      // A seeding job that ends (its policy reached, or the user stops it) lets its peers have what
      // it has sent: torn down at once, a slow peer would lose megabytes counted as uploaded.
      if (keepData && record.job.status === 'completed') await endConnections(record.torrent);
      await this.detach(record);
      this.records.delete(id);
      if (!keepData) {
        const footprint = { folderCreated: record.footprint.folderCreated, created: [...record.footprint.created] };
        await removeCreated(record.folder, footprintToRemove(footprint, record.diskPaths));
      }
      this.setStatus(record, 'cancelled');
      this.emit('cancelled', snapshot(record.job));
      return snapshot(record.job);
    });
  }

  get(id: string): Job | undefined {
    const record = this.records.get(id);
    return record === undefined ? undefined : snapshot(record.job);
  }

  list(): Job[] {
    return [...this.records.values()].map((record) => snapshot(record.job));
  }

  openRangeWaiter(id: string, fileIndex: number, options: { readAheadBytes?: number } = {}): RangeWaiter {
    const record = this.records.get(id);
    if (record === undefined) throw new ChillyError('job_not_found', `No job with id ${JSON.stringify(id)}.`);
    return new TorrentRangeWaiter(() => record.torrent, fileIndex, options.readAheadBytes ?? DEFAULT_READ_AHEAD_BYTES);
  }

  setFileOptions(id: string, options: { selectedFiles: readonly number[] | null; sequential: boolean }): void {
    const record = this.records.get(id);
    if (record === undefined) throw new ChillyError('job_not_found', `No job with id ${JSON.stringify(id)}.`);
    record.selection = options.selectedFiles === null ? undefined : new Set(options.selectedFiles);
    record.sequential = options.sequential;
    record.job.sequential = options.sequential;
    if (record.selection === undefined) delete record.job.selectedFiles;
    else record.job.selectedFiles = [...record.selection].sort((a, b) => a - b);
    const torrent = record.torrent;
    if (torrent === undefined) return;
    torrent.strategy = strategyOf(record);
    if (torrent.info === undefined) return;
    applySelection(torrent, record.selection);
    if (record.job.status === 'completed' && !this.isComplete(torrent, record)) {
      // More files were asked for: the job is downloading again.
      this.setStatus(record, 'downloading');
      this.startProgressTimer(record);
    } else if (FETCHING.has(record.job.status) && this.isComplete(torrent, record)) {
      this.onDone(record, torrent);
    }
    this.updateProgress(record);
  }

  /** The peers of a running job (none before its torrent is in the engine). */
  peers(id: string): JobPeer[] | undefined {
    const record = this.records.get(id);
    if (record === undefined) return undefined;
    return record.torrent === undefined ? [] : peerList(record.torrent);
  }

  /** A running job's trackers (an empty list before its torrent is in the engine). */
  trackers(id: string): JobTracker[] | undefined {
    const record = this.records.get(id);
    if (record === undefined) return undefined;
    return record.trackers?.list() ?? [];
  }

  /** The torrent's own trackers plus `edits.added`, less `edits.removed`, from now on. */
  setTrackers(id: string, edits: TrackerEdits): void {
    const record = this.records.get(id);
    if (record === undefined) throw new ChillyError('job_not_found', `No job with id ${JSON.stringify(id)}.`);
    record.trackerEdits = { added: [...edits.added], removed: [...edits.removed] };
    const own = record.source.kind === 'magnet' ? record.source.announce : (record.source.parsed.announce ?? []);
    const removed = new Set(edits.removed.map(sameTrackerUrl));
    const list = [...own, ...edits.added].filter((url) => !removed.has(sameTrackerUrl(url)));
    record.trackers?.replace(list);
  }

  /** The state a later `attach` needs to skip re-hashing; undefined until metadata is known. */
  resumeState(id: string): ResumeState | undefined {
    const record = this.records.get(id);
    if (record === undefined) return undefined;
    return captureResumeState(record.torrent) ?? record.resume;
  }

  destroy(): Promise<void> {
    if (this.destroyed === undefined) {
      this.destroyed = this.shutdown();
    }
    return this.destroyed;
  }

  private async shutdown(): Promise<void> {
    for (const record of this.records.values()) this.stopProgressTimer(record);
    const foldersStopped = this.folders.stop();
    const client = this.client;
    this.client = undefined;
    if (client !== undefined) {
      await new Promise<void>((resolve) => client.destroy(() => resolve()));
    }
    await foldersStopped;
    for (const record of this.records.values()) {
      record.torrent = undefined;
      record.store = undefined;
    }
  }

  private assertAlive(): void {
    if (this.destroyed !== undefined) {
      throw new ChillyError('downloader_destroyed', 'This downloader has been destroyed.');
    }
  }

  private serialise(id: string, action: (record: JobRecord) => Promise<Job>): Promise<Job> {
    const record = this.records.get(id);
    if (record === undefined) {
      return Promise.reject(new ChillyError('job_not_found', `No job with id ${JSON.stringify(id)}.`));
    }
    const run = record.queue.then(() => {
      if (this.records.get(id) !== record)
        throw new ChillyError('job_not_found', `No job with id ${JSON.stringify(id)}.`);
      return action(record);
    });
    record.queue = run.catch(() => undefined);
    return run;
  }

  private warn(id: string, warning: unknown): void {
    if (this.onWarning === undefined) return;
    const line = this.warnings.admit(id, warning);
    if (line === undefined) return;
    try {
      // The line holds the warning's text and causes already; a stack says nothing more here.
      this.onWarning(line);
    } catch {
      // A logger that throws must not take the engine's event down with it.
    }
  }

  private engine(): WebTorrent {
    if (this.client === undefined) {
      if (this.WebTorrentClient === undefined) throw new Error('the engine is used before it was loaded');
      const client = new this.WebTorrentClient(webTorrentClientOptions(this.engineOptions));
      // A client-level error (e.g. the listening port failed) ends that client: fail its jobs
      // and let the next start/resume build a fresh one.
      client.on('error', (error: unknown) => {
        if (this.client === client) this.client = undefined;
        for (const record of this.records.values()) {
          if (record.torrent !== undefined) this.fail(record, error);
        }
      });
      this.client = client;
      applyRateLimits(client, this.rateLimits);
    }
    return this.client;
  }

  /** All downloads together, and all uploads together, at most this fast (0: no limit); at once. */
  setRateLimits(limits: RateLimits): void {
    this.rateLimits = checkedRateLimits(limits);
    if (this.client !== undefined) applyRateLimits(this.client, this.rateLimits);
  }

  /** One job's own speed limits (0: none), at once while it runs, and for its next start. */
  setJobRateLimits(id: string, limits: RateLimits): void {
    const record = this.records.get(id);
    if (record === undefined) throw new ChillyError('job_not_found', `No job with id ${JSON.stringify(id)}.`);
    const checked = checkedRateLimits(limits);
    record.rateLimits = checked;
    record.limiters?.down.setRate(checked.downloadBytesPerSecond);
    record.limiters?.up.setRate(checked.uploadBytesPerSecond);
  }

  /** Hands the job to the engine, from its resume state when there is one. */
  private attach(record: JobRecord): void {
    const torrentId =
      record.resume?.torrentFile ??
      (record.source.kind === 'torrent' ? record.source.torrentFile : record.source.magnetURI);
    // Pieces known to be on disk: the engine spot-checks these instead of reading every piece.
    const startupBitfield = record.resume?.bitfield ?? (record.freshFolder ? noPieces(record.layout) : undefined);
    record.freshFolder = false;
    const storeOptions: ConfinedStoreOptions = {
      ...(record.diskPaths === undefined ? {} : { diskPaths: record.diskPaths }),
      modes: this.modes,
      onCreate: (relativePath, kind) =>
        record.footprint.created.add(kind === 'dir' ? `${relativePath}/` : relativePath),
      onStore: (store) => {
        record.store = store;
      },
    };
    const torrent = this.engine().add(torrentId, {
      path: record.folder,
      store: ConfinedChunkStore,
      storeOpts: storeOptions,
      // Metadata from peers is checked like an uploaded .torrent before the engine builds anything from it.
      verifyMetadata: (info) => {
        checkInfoDictionary(info);
        assertSafeTorrentPaths(info);
      },
      ...(startupBitfield === undefined ? {} : { bitfield: startupBitfield }),
      strategy: strategyOf(record),
      // The read cache (streaming, seeding) counts pieces: 20 pieces of 16 MiB would be 320 MiB.
      storeCacheMaxBytes: STORE_CACHE_MAX_BYTES,
      // Otherwise WebTorrent's check of the data on disk re-selects every missing piece.
      ...(record.selection === undefined ? {} : { deselect: true }),
      ...(record.trackerEdits.added.length === 0 ? {} : { announce: [...record.trackerEdits.added] }),
    });
    const removed = new Set(record.trackerEdits.removed);
    // Before the engine first announces: trackers the user removed are never contacted.
    torrent.once('infoHash', () => TorrentTrackers.filterBeforeStart(torrent, removed));
    record.trackers = new TorrentTrackers(torrent, () => new Set(record.trackerEdits.added));
    record.limiters = {
      down: new TorrentRateLimiter(record.rateLimits.downloadBytesPerSecond),
      up: new TorrentRateLimiter(record.rateLimits.uploadBytesPerSecond),
    };
    // Read by the patched engine's peer pipes (patches/webtorrent+2.8.5.patch).
    (torrent as unknown as { rateLimiters: unknown }).rateLimiters = record.limiters;
    record.torrent = torrent;
    record.received = 0;
    record.lastDataAt = Date.now();
    // With metadata in hand the engine first checks what is on disk (unless nothing can be there); a
    // bare magnet first has to find peers.
    const nothingToCheck = startupBitfield?.every((byte) => byte === 0) === true;
    this.setStatus(record, record.layout === undefined || nothingToCheck ? 'downloading' : 'verifying');

    torrent.on('metadata', () => this.onMetadata(record, torrent));
    torrent.on('ready', () => {
      if (record.torrent !== torrent) return;
      // WebTorrent's check of the data on disk re-selects every missing piece of a torrent added
      // without `deselect`: a choice of files made during the check is applied again now.
      if (record.selection !== undefined) applySelection(torrent, record.selection);
      if (record.job.status === 'verifying') this.setStatus(record, 'downloading');
      record.lastDataAt = Date.now();
      this.updateProgress(record);
      // Tell listeners now that the check is over, not at the next tick; restarting the timer
      // keeps events at least one interval apart.
      if (record.job.status === 'downloading') {
        this.emit('progress', snapshot(record.job));
        this.startProgressTimer(record);
      }
    });
    torrent.on('done', () => this.onDone(record, torrent));
    // With some files left out, WebTorrent never says 'done': the job is done when its files are.
    torrent.on('verified', () => {
      if (record.selection !== undefined && selectedFilesDone(torrent, record.selection)) this.onDone(record, torrent);
    });
    torrent.on('error', (error: unknown) => {
      if (record.torrent === torrent) this.fail(record, error);
    });
    // Tracker and peer warnings are routine on real swarms: the job carries on, the log is told.
    torrent.on('warning', (warning: unknown) => {
      if (record.torrent === torrent) this.warn(record.job.id, warning);
    });
    this.startProgressTimer(record);
    this.folders.watch(() => this.watchEntries());
  }

  /** Takes the job off the engine; its files stay where they are. */
  private async detach(record: JobRecord): Promise<void> {
    this.stopProgressTimer(record);
    const torrent = record.torrent;
    if (torrent === undefined) return;
    record.resume = captureResumeState(torrent) ?? record.resume;
    record.trackers?.close();
    record.trackers = undefined;
    record.limiters?.down.destroy();
    record.limiters?.up.destroy();
    record.limiters = undefined;
    record.torrent = undefined;
    record.store = undefined;
    record.job.progress = { ...record.job.progress, downloadSpeed: 0, uploadSpeed: 0, peers: 0, etaSeconds: null };
    const client = this.client;
    if (client === undefined || torrent.destroyed) return;
    await new Promise<void>((resolve) => {
      client.remove(torrent, { destroyStore: false }, () => resolve()).catch(() => resolve());
    });
  }

  /** The metadata passed `verifyMetadata` (see attach); a listener that throws would fail the torrent. */
  private onMetadata(record: JobRecord, torrent: Torrent): void {
    if (record.torrent !== torrent) return;
    try {
      if (torrent.info === undefined)
        throw new ChillyError('invalid_torrent', 'The torrent metadata has no info dictionary.');
      const layout = planFileLayout(torrent.info);
      record.diskPaths ??= layout.map((file) => file.diskPath);
      record.layout = layoutOf(torrent);
      this.assertFreeSpaceFor(record, record);
      if (!torrent.ready) this.setStatus(record, 'verifying');
      applySelection(torrent, record.selection);
      record.job.name = torrent.name;
      record.job.files = jobFilesOf(layout);
    } catch (error) {
      this.fail(record, error);
      return;
    }
    this.updateProgress(record);
    this.emit('metadata', snapshot(record.job));
  }

  private isComplete(torrent: Torrent, record: JobRecord): boolean {
    return record.selection === undefined ? torrent.done : selectedFilesDone(torrent, record.selection);
  }

  /**
   * Throws `insufficient_space` when what is left to download does not fit on the disk that holds
   * the job's folder beside what the running downloads on that disk (all but `self`) will still
   * write: a job moved elsewhere lives on another disk.
   */
  private assertFreeSpaceFor(
    wanted: Pick<JobRecord, 'layout' | 'resume' | 'selection' | 'folder'>,
    self: JobRecord | undefined,
  ): void {
    if (wanted.layout === undefined) return;
    const needed = bytesStillNeeded(wanted.layout, wanted.resume?.bitfield, wanted.selection);
    const disk = diskOf(wanted.folder);
    let reserved = 0;
    for (const other of this.records.values()) {
      const torrent = other.torrent;
      if (other === self || torrent === undefined || other.layout === undefined) continue;
      if (!FETCHING.has(other.job.status) || diskOf(other.folder) !== disk) continue;
      const bitfield = torrent.bitfield?.buffer ?? other.resume?.bitfield;
      reserved += bytesStillNeeded(other.layout, bitfield, other.selection);
    }
    assertFreeSpace(wanted.folder, needed, reserved);
  }

  private onDone(record: JobRecord, torrent: Torrent): void {
    if (record.torrent !== torrent || record.job.status === 'completed') return;
    this.updateProgress(record);
    this.setStatus(record, 'completed');
    this.emit('completed', snapshot(record.job));
  }

  private fail(record: JobRecord, cause: unknown): void {
    let error = toChillyError(cause, 'download_failed');
    if (error.code === 'disk_full') error = diskFullError(record.folder, cause);
    this.stopProgressTimer(record);
    const torrent = record.torrent;
    if (torrent !== undefined) {
      record.resume = captureResumeState(torrent) ?? record.resume;
      record.torrent = undefined;
      record.store = undefined;
      if (!torrent.destroyed) torrent.destroy({ destroyStore: false });
    }
    record.job.error = error.toJSON();
    this.setStatus(record, 'error');
    // Emitting 'error' with no listener would throw and take the process down.
    if (this.listenerCount('error') > 0) this.emit('error', error, snapshot(record.job));
  }

  /**
   * A progress event every `progressIntervalMs` while the job fetches or seeds. Each tick schedules
   * the next one: a tick the busy event loop ran late is never followed by one right after it, so
   * events stay at least the interval apart (the "at most 4 per second" a client may rely on).
   */
  private startProgressTimer(record: JobRecord): void {
    this.stopProgressTimer(record);
    record.lastReported = undefined;
    const tick = (): void => {
      const status = record.job.status;
      // Completed jobs still attached are seeding: their upload figures keep coming.
      if (record.torrent !== undefined && (status === 'completed' || FETCHING.has(status)) && status !== 'verifying') {
        this.updateProgress(record);
        if (status !== 'completed') this.updateStall(record, record.torrent);
        // The same figures again (a seeding job nobody downloads from, a download with no peer)
        // are no news: hundreds of idle jobs would otherwise keep the service and every client busy.
        const last = record.lastReported;
        const { progress } = record.job;
        if (last === undefined || last.status !== record.job.status || !sameProgress(last.progress, progress)) {
          record.lastReported = { status: record.job.status, progress };
          this.emit('progress', snapshot(record.job));
        }
      }
      // Stopped (or restarted) while the listeners ran: that timer is not this one's to replace.
      if (record.progressTimer !== timer) return;
      timer = setTimeout(tick, this.progressIntervalMs);
      timer.unref();
      record.progressTimer = timer;
    };
    let timer = setTimeout(tick, this.progressIntervalMs);
    timer.unref();
    record.progressTimer = timer;
  }

  /** `stalled` while no data arrives for `stalledAfterMs`; `downloading` again as soon as some does. */
  private updateStall(record: JobRecord, torrent: Torrent): void {
    const now = Date.now();
    if (torrent.received > record.received) {
      record.received = torrent.received;
      record.lastDataAt = now;
      if (record.job.status === 'stalled') this.setStatus(record, 'downloading');
    } else if (record.job.status === 'downloading' && now - record.lastDataAt >= this.stalledAfterMs) {
      this.setStatus(record, 'stalled');
    }
  }

  private stopProgressTimer(record: JobRecord): void {
    if (record.progressTimer !== undefined) clearTimeout(record.progressTimer);
    record.progressTimer = undefined;
  }

  /**
   * The running jobs, for the checks every few seconds (src/disk/media-folders.ts): a deleted
   * folder or file would otherwise take the rest of the download into deleted inodes and report it
   * complete. A job re-attached since is not failed for its old torrent.
   */
  private watchEntries(): WatchEntry[] {
    return [...this.records.values()].flatMap((record) => {
      const torrent = record.torrent;
      if (torrent === undefined) return [];
      const entry: WatchEntry = {
        folder: record.folder,
        folderIdentity: record.folderIdentity,
        checkFiles: async () => {
          const gone = (await record.store?.unlinkedFiles()) ?? [];
          if (gone.length > 0) {
            throw new ChillyError(
              'path_missing',
              `Files of this download were deleted while it ran (${gone.slice(0, 3).join(', ')}): resume it to download them again.`,
            );
          }
        },
        gone: (error) => {
          if (record.torrent === torrent) this.fail(record, error);
        },
      };
      return [entry];
    });
  }

  private updateProgress(record: JobRecord): void {
    if (record.torrent !== undefined) record.job.progress = progressOf(record.torrent, record.selection);
  }

  private setStatus(record: JobRecord, status: JobStatus): void {
    record.job.status = status;
    record.job.updatedAt = new Date().toISOString();
  }
}

/**
 * In order by default: a player can start at once, and WebTorrent 2.8's rarest-first picker is
 * several times slower (bench/swarm-download.ts: ~12 vs ~97 MiB/s over loopback).
 */
function strategyOf(record: JobRecord): 'sequential' | 'rarest' {
  return record.sequential ? 'sequential' : 'rarest';
}

function snapshot(job: Job): Job {
  return structuredClone(job);
}

function captureResumeState(torrent: Torrent | undefined): ResumeState | undefined {
  if (torrent?.bitfield === undefined || torrent.info === undefined) return undefined;
  return { bitfield: new Uint8Array(torrent.bitfield.buffer), torrentFile: new Uint8Array(torrent.torrentFile) };
}

/** Resume data is used only if it belongs to this torrent; anything else means a full check. */
async function usableResumeState(
  resume: ResumeState | undefined,
  infoHash: string,
): Promise<{ state: ResumeState; parsed: ParsedTorrent } | undefined> {
  if (resume === undefined) return undefined;
  try {
    const source = await parseTorrentBytes(resume.torrentFile);
    if (source.kind !== 'torrent' || source.infoHash !== infoHash) return undefined;
    return { state: resume, parsed: source.parsed };
  } catch {
    return undefined;
  }
}

/** What the free-space check needs, from a parsed .torrent or the engine's torrent once it has metadata. */
function layoutOf(
  source: Pick<Partial<ParsedTorrent>, 'length' | 'pieceLength' | 'files'> | undefined,
): JobRecord['layout'] {
  if (source?.length === undefined || source.pieceLength === undefined || source.files === undefined) return undefined;
  const files = source.files.map((file) => ({ offset: file.offset, length: file.length }));
  return { length: source.length, pieceLength: source.pieceLength, files };
}

/** A bitfield of the torrent's pieces with none set; undefined before the metadata is known. */
function noPieces(layout: TorrentLayout | undefined): Uint8Array | undefined {
  if (layout === undefined) return undefined;
  const pieces = Math.ceil(layout.length / layout.pieceLength);
  return new Uint8Array(Math.ceil(pieces / 8));
}

/** WebTorrent's global throttles: a rate in bytes per second, or -1 for none. */
function applyRateLimits(client: WebTorrent, limits: RateLimits): void {
  client.throttleDownload(limits.downloadBytesPerSecond > 0 ? limits.downloadBytesPerSecond : -1);
  client.throttleUpload(limits.uploadBytesPerSecond > 0 ? limits.uploadBytesPerSecond : -1);
}
