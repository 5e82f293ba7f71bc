/**
 * A `Downloader` for an engine that runs in its own process (qBittorrent, Transmission), through
 * an `EngineAdapter`. The engine keeps the torrents and their data; this driver attaches Chilly's
 * jobs to them by info-hash and follows them by incremental sync, once a second while any job is
 * attached.
 *
 * - A job whose torrent the engine already has (Chilly restarted, a paused job resumed) is attached
 *   to it, never added again: nothing is re-downloaded or re-checked.
 * - Engine gone: attached jobs show `stalled` with `engine_unreachable`, the sync is retried with
 *   backoff, and they carry on when it answers (a start meanwhile is added then).
 * - A torrent removed in the engine's own interface ends its job with `removed_externally`; it is
 *   never added back silently. One merely absent from the engine's full list is taken as removed only
 *   once it has stayed absent for `missingForMs`: a daemon that has just started may answer before
 *   it has loaded its torrents.
 * - `destroy()` stops following the engine and leaves every torrent as it is.
 * - Everyday controls are the engine's own: `recheck` is its force recheck, `setRateLimits` and
 *   `setJobRateLimits` its global and per-torrent limits, `peers` its peer list (fetched in the
 *   background while someone asks; see `peers`).
 */
import { EventEmitter } from 'node:events';
import { type EnginePathMap, toEnginePath, toLocalPath } from '../../config/engine-settings.js';
import { ChillyError, isChillyError, toChillyError } from '../../domain/errors.js';
import {
  assertValidJobId,
  type Job,
  type JobInput,
  type JobPeer,
  type JobProgress,
  sameProgress,
  startedJobId,
} from '../../domain/job.js';
import { assertTransition } from '../../domain/job-state-machine.js';
import { checkedRateLimits, type RateLimits } from '../../domain/rate-limits.js';
import { type BackoffOptions, computeBackoffDelay } from '../../retry.js';
import type {
  CancelOptions,
  Downloader,
  DownloaderCapabilities,
  DownloaderEvents,
  StartOptions,
} from '../downloader.js';
import { newJobFromSource, resolveTorrentSource, type TorrentSource } from '../torrent-source.js';
import type { EngineAdapter, EngineFile, EngineTorrent } from './engine-adapter.js';
import { normalizeProgress, normalizeRunningStatus } from './normalize-engine.js';

export interface RemoteEngineDownloaderOptions {
  adapter: EngineAdapter;
  /** Where the engine's download folder is readable on this machine (turns on reading finished files). */
  pathMap?: EnginePathMap;
  /** Between two syncs while jobs are attached (default 1 s). */
  pollIntervalMs?: number;
  /**
   * A job is `stalled` once the engine has said so and no byte has arrived for this long (default
   * 30 s, as the embedded engine): engines call a torrent stalled the moment its rate is 0.
   */
  stalledAfterMs?: number;
  /** Waits between syncs while the engine does not answer (default 1 s doubling to 30 s, with jitter). */
  reconnect?: BackoffOptions;
  /**
   * A torrent absent from the engine's full lists (and never said removed) ends its job with
   * `removed_externally` once it has been absent this long (default 10 s). Transmission 3.00, just
   * started, now and then answers its first torrent list before it has loaded its torrents.
   */
  missingForMs?: number;
  onWarning?: (message: string, cause?: unknown) => void;
}

/** One job attached to a torrent in the engine. */
interface Attachment {
  job: Job;
  infoHash: string;
  source: TorrentSource;
  /** The folder for the torrent's content as the engine names it. */
  engineSavePath: string;
  /** Waiting to be added once the engine answers. */
  pendingAdd: boolean;
  /** Files asked for when metadata arrives (null: all). */
  selectedFiles: readonly number[] | null;
  sequential: boolean;
  /** `completed` was emitted (it is not again while the engine seeds). */
  completedReported: boolean;
  /** Metadata is being read from the engine. */
  readingFiles: boolean;
  /** When `bytesDone` last grew (or the job started). */
  lastDataAt: number;
  /** The job's own speed limits, handed to the engine once the torrent is there. */
  rateLimits?: RateLimits;
  /** A recheck was asked for then, and the engine has not been seen checking (or anything but completed) since. */
  recheckAskedAt?: number;
  /** The peers as last fetched from the engine (see `peers`). */
  peers?: JobPeer[];
  /** Someone asked for the peers lately: each sync fetches them again until then. */
  peersWantedUntil: number;
  fetchingPeers: boolean;
  /** Since then absent from every full list (see `missingForMs`). */
  missingSince?: number;
  /** What the last progress (or completed) event told of the job: a sync that shows the same is no news. */
  told?: ShownJob;
}

/** What a listener sees of a job that a poll can change. */
interface ShownJob {
  status: Job['status'];
  progress: JobProgress;
  name: string | undefined;
  savePath: string | undefined;
  errorCode: string | undefined;
}

function shownJob(job: Job): ShownJob {
  return {
    status: job.status,
    progress: { ...job.progress },
    name: job.name,
    savePath: job.savePath,
    errorCode: job.error?.code,
  };
}

function sameShown(a: ShownJob, b: ShownJob): boolean {
  return (
    a.status === b.status &&
    a.name === b.name &&
    a.savePath === b.savePath &&
    a.errorCode === b.errorCode &&
    sameProgress(a.progress, b.progress)
  );
}

const DEFAULT_POLL_MS = 1_000;
const DEFAULT_STALLED_AFTER_MS = 30_000;
const DEFAULT_MISSING_FOR_MS = 10_000;
/**
 * After a recheck, the engine may still say `completed` for a moment before it starts checking (or
 * be done checking a small torrent by the next sync): a completed torrent is taken as such only once
 * it has been seen doing something else, or after this long.
 */
const RECHECK_GRACE_MS = 3_000;
/** How long the peers are kept fresh after someone asked for them. */
const PEERS_WANTED_MS = 10_000;
const DEFAULT_RECONNECT: BackoffOptions = { minDelayMs: 1_000, maxDelayMs: 30_000, factor: 2, jitter: 'full' };

export class RemoteEngineDownloader extends EventEmitter<DownloaderEvents> implements Downloader {
  readonly engineName: string;
  readonly capabilities: Readonly<DownloaderCapabilities>;
  readonly #adapter: EngineAdapter;
  readonly #pathMap: EnginePathMap | undefined;
  readonly #pollMs: number;
  readonly #stalledAfterMs: number;
  readonly #missingForMs: number;
  readonly #reconnect: BackoffOptions;
  readonly #warn: (message: string, cause?: unknown) => void;
  readonly #jobs = new Map<string, Attachment>();
  /** Every torrent the engine has, as of the last sync. */
  readonly #engine = new Map<string, EngineTorrent>();
  #synced = false;
  #defaultSavePath: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #syncing: Promise<void> | undefined;
  /** Syncs failed in a row (the engine does not answer); 0 while it does. */
  #failures = 0;
  #unreachable: ChillyError | undefined;
  #destroyed = false;
  #connecting: Promise<void> | undefined;
  /** The global speed limits Chilly asked for, and whether the engine has them. */
  #globalLimits: RateLimits | undefined;
  #globalLimitsApplied = true;
  /** Chilly has set a global limit (so "no limit" must be handed on to undo it). */
  #globalLimitsOwned = false;

  constructor(options: RemoteEngineDownloaderOptions) {
    super();
    this.#adapter = options.adapter;
    this.#pathMap = options.pathMap;
    this.#pollMs = options.pollIntervalMs ?? DEFAULT_POLL_MS;
    this.#stalledAfterMs = options.stalledAfterMs ?? DEFAULT_STALLED_AFTER_MS;
    this.#missingForMs = options.missingForMs ?? DEFAULT_MISSING_FOR_MS;
    this.#reconnect = options.reconnect ?? DEFAULT_RECONNECT;
    this.#warn = options.onWarning ?? (() => undefined);
    this.engineName = this.#adapter.engineName;
    this.capabilities = Object.freeze({
      // Reading a file still downloading needs piece-exact progress this driver does not follow.
      streaming: false,
      fileSelection: this.#adapter.capabilities.fileSelection,
      sequentialPieces: this.#adapter.capabilities.sequentialPieces,
      // The engine keeps its own resume data.
      resumeData: false,
      localFiles: this.#pathMap !== undefined,
      // The engine's own limits, recheck and peer list, driven from Chilly.
      rateLimits: true,
      recheck: true,
      peerList: true,
      moveData: false,
      trackerList: false,
    });
  }

  engineStatus(): { ok: boolean; detail: string } {
    if (this.#unreachable !== undefined) return { ok: false, detail: this.#unreachable.message };
    return this.#synced
      ? { ok: true, detail: `${this.engineName} answers; following ${this.#jobs.size} job(s)` }
      : { ok: true, detail: `${this.engineName}: not asked yet` };
  }

  /** Signs in and reads every torrent the engine has; throws `engine_unreachable` or `engine_auth_failed`. */
  connect(): Promise<void> {
    this.#assertAlive();
    // Signed in and following the engine already: nothing to do (a restart re-attaches many jobs).
    if (this.#synced && this.#failures === 0) return Promise.resolve();
    // One sign-in at a time: a second one would throw away the session of the first.
    this.#connecting ??= this.#connectNow()
      .catch((error: unknown) => {
        // Counted (and said once) here, with its reason: the jobs that re-attach next only wait.
        if (isChillyError(error, 'engine_unreachable')) this.#noteUnreachable(error);
        throw error;
      })
      .finally(() => {
        this.#connecting = undefined;
      });
    return this.#connecting;
  }

  async #connectNow(): Promise<void> {
    await this.#adapter.connect();
    this.#defaultSavePath ??= await this.#adapter.defaultSavePath();
    if (!this.#synced) await this.#syncNow();
  }

  async start(input: JobInput, options: StartOptions = {}): Promise<Job> {
    this.#assertAlive();
    const id = startedJobId(input);
    if (this.#jobs.has(id))
      throw new ChillyError('duplicate_job', `A job with id ${JSON.stringify(id)} already exists.`);
    const source = options.source ?? (await resolveTorrentSource(input));
    const owner = [...this.#jobs.values()].find((entry) => entry.infoHash === source.infoHash);
    if (owner !== undefined) {
      throw new ChillyError(
        'duplicate_torrent',
        `Torrent ${source.infoHash} is already job ${JSON.stringify(owner.job.id)}.`,
      );
    }
    // Wrong credentials fail the start at once; an engine that does not answer (connect() has said
    // so) gets the job later.
    let reachable = true;
    try {
      await this.connect();
    } catch (error) {
      if (!isChillyError(error, 'engine_unreachable')) throw error;
      reachable = false;
    }
    const savePath = options.savePath ?? this.#folderFor(id);
    const engineSavePath = toEnginePath(this.#pathMap, savePath) ?? savePath;
    const parsed = source.kind === 'torrent' ? source.parsed : undefined;
    const job: Job = { ...newJobFromSource({ input, source, parsed, savePath }), status: 'downloading' };
    // The engine names the files (its layout is what is on its disk), once it has the metadata.
    delete job.files;
    const entry: Attachment = {
      job,
      infoHash: source.infoHash,
      source,
      engineSavePath,
      pendingAdd: true,
      selectedFiles: options.selectedFiles ?? null,
      sequential: options.sequential ?? true,
      completedReported: false,
      readingFiles: false,
      lastDataAt: Date.now(),
      ...(options.rateLimits === undefined ? {} : { rateLimits: checkedRateLimits(options.rateLimits) }),
      peersWantedUntil: 0,
      fetchingPeers: false,
    };
    this.#jobs.set(id, entry);
    if (reachable) this.#pushGlobalLimitsLater();
    if (reachable) {
      try {
        await this.#attachOrAdd(entry);
      } catch (error) {
        if (!isChillyError(error, 'engine_unreachable')) {
          this.#jobs.delete(id);
          throw error;
        }
        this.#markUnreachable(error);
      }
    } else {
      this.#showUnreachable(entry);
    }
    this.#tell('started', entry);
    this.#schedule(reachable ? this.#pollMs : this.#retryDelay());
    return structuredClone(entry.job);
  }

  async pause(id: string): Promise<Job> {
    const entry = this.#require(id);
    assertTransition(entry.job, 'pause');
    if (!entry.pendingAdd) await this.#adapter.pause(entry.infoHash);
    entry.job.status = 'paused';
    this.#stillProgress(entry.job);
    this.#tell('paused', entry);
    return structuredClone(entry.job);
  }

  async resume(id: string): Promise<Job> {
    const entry = this.#require(id);
    assertTransition(entry.job, 'resume');
    if (!entry.pendingAdd) await this.#adapter.resume(entry.infoHash);
    entry.job.status = 'downloading';
    entry.job.updatedAt = new Date().toISOString();
    this.#tell('resumed', entry);
    this.#schedule(this.#pollMs);
    return structuredClone(entry.job);
  }

  /** Removes the torrent from the engine (its data too unless `keepData`). */
  async cancel(id: string, options: CancelOptions = {}): Promise<Job> {
    const entry = this.#require(id);
    if (!entry.pendingAdd) await this.#adapter.remove(entry.infoHash, { deleteData: options.keepData !== true });
    this.#jobs.delete(id);
    this.#engine.delete(entry.infoHash);
    entry.job.status = 'cancelled';
    this.#stillProgress(entry.job);
    this.emit('cancelled', structuredClone(entry.job));
    return structuredClone(entry.job);
  }

  async removeByInfoHash(infoHash: string, options: { deleteData: boolean }): Promise<boolean> {
    this.#assertAlive();
    await this.connect();
    const hash = infoHash.toLowerCase();
    // The engine's own list, now: the last sync may be a second old.
    this.#adapter.resetSync();
    await this.#syncNow();
    for (const [id, entry] of this.#jobs) if (entry.infoHash === hash) this.#jobs.delete(id);
    if (!this.#engine.has(hash)) return false;
    await this.#adapter.remove(hash, options);
    this.#engine.delete(hash);
    return true;
  }

  setFileOptions(id: string, options: { selectedFiles: readonly number[] | null; sequential: boolean }): void {
    const entry = this.#require(id);
    entry.selectedFiles = options.selectedFiles;
    entry.sequential = options.sequential;
    if (options.selectedFiles === null) delete entry.job.selectedFiles;
    else entry.job.selectedFiles = [...options.selectedFiles].sort((a, b) => a - b);
    entry.job.sequential = options.sequential;
    if (!entry.pendingAdd) {
      this.#applyFileOptions(entry).catch((error: unknown) =>
        this.#warn(`Job ${id}: ${this.engineName} did not take the file choice`, error),
      );
    }
  }

  /**
   * The engine's own force recheck of a job's torrent: it checks every piece on disk, then goes on
   * (a completed torrent whose data is whole completes, and seeds, again; missing pieces are
   * downloaded again). The job shows `verifying` meanwhile (a paused one stays paused), and
   * `completed` is reported again when the engine is done.
   */
  async recheck(id: string): Promise<void> {
    const entry = this.#require(id);
    if (entry.pendingAdd) {
      throw (
        this.#unreachable ??
        new ChillyError(
          'engine_unreachable',
          `${this.engineName} does not have the torrent yet; it is added once it answers.`,
        )
      );
    }
    await this.#adapter.recheck(entry.infoHash);
    if (this.#jobs.get(id) !== entry) return;
    entry.recheckAskedAt = Date.now();
    if (entry.job.status !== 'paused') {
      // Complete again after the check is news (a paused job reports nothing until it is resumed).
      entry.completedReported = false;
      entry.job.status = 'verifying';
      delete entry.job.error;
      entry.lastDataAt = Date.now();
    }
    entry.job.updatedAt = new Date().toISOString();
    this.#tell('progress', entry);
    this.#schedule(this.#pollMs);
  }

  /**
   * The engine's global limits, bytes per second (0: none). Resolves once the engine has them;
   * rejects with `engine_unreachable` when it does not answer (they are handed over when it answers
   * again, and the rejection is also reported through `onWarning`, so a caller that does not wait
   * for it crashes nothing). Before Chilly has set any limit, "no limit" is not handed on: the
   * limits set in the engine itself stay.
   */
  setRateLimits(limits: RateLimits): Promise<void> {
    this.#assertAlive();
    const checked = checkedRateLimits(limits);
    const none = checked.downloadBytesPerSecond === 0 && checked.uploadBytesPerSecond === 0;
    if (none && !this.#globalLimitsOwned) return Promise.resolve();
    this.#globalLimitsOwned = !none;
    this.#globalLimits = checked;
    this.#globalLimitsApplied = false;
    const pushed = this.#pushGlobalLimits();
    pushed.catch((error: unknown) => this.#warn(`${this.engineName} did not take the speed limits`, error));
    return pushed;
  }

  /**
   * One job's own limits in the engine, bytes per second (0: none); kept for when its torrent is
   * added, if it is not yet. Resolves once the engine has them; rejects (and warns, as
   * `setRateLimits`) when it does not answer.
   */
  setJobRateLimits(id: string, limits: RateLimits): Promise<void> {
    const entry = this.#require(id);
    entry.rateLimits = checkedRateLimits(limits);
    if (entry.pendingAdd) return Promise.resolve();
    const pushed = this.#adapter.setTorrentRateLimits(entry.infoHash, entry.rateLimits);
    pushed.catch((error: unknown) => this.#warn(`Job ${id}: ${this.engineName} did not take its speed limits`, error));
    return pushed;
  }

  /**
   * The peers of a running job, as the engine listed them at the last fetch (an empty list until the
   * first one answers; undefined for a job this driver does not run). Engines answer asynchronously,
   * so each call asks for a fresh list in the background, and the peers are fetched again with every
   * sync for 10 s after a call (PEERS_WANTED_MS): a caller that polls sees them change.
   */
  peers(id: string): JobPeer[] | undefined {
    if (this.#destroyed) return undefined;
    const entry = this.#jobs.get(id);
    if (entry === undefined) return undefined;
    entry.peersWantedUntil = Date.now() + PEERS_WANTED_MS;
    this.#fetchPeers(entry);
    return structuredClone(entry.peers ?? []);
  }

  get(id: string): Job | undefined {
    const entry = this.#jobs.get(id);
    return entry === undefined ? undefined : structuredClone(entry.job);
  }

  list(): Job[] {
    return [...this.#jobs.values()].map((entry) => structuredClone(entry.job));
  }

  /** `<engine's download folder>/<id>`, as this machine names it when the folder is mapped here. */
  jobFolder(id: string): string {
    assertValidJobId(id);
    return this.#folderFor(id);
  }

  /** Asks the engine where it saves (once), so a job's folder is inside the engine's download folder. */
  async chooseFolder(id: string): Promise<string> {
    assertValidJobId(id);
    if (this.#defaultSavePath === undefined) {
      await this.#adapter.connect();
      this.#defaultSavePath = await this.#adapter.defaultSavePath();
    }
    return this.#folderFor(id);
  }

  /** The engine deletes a job's data itself (`removeByInfoHash`); this driver never deletes files here. */
  async deleteJobData(): Promise<string[]> {
    throw new ChillyError('capability_unsupported', `The ${this.engineName} engine deletes its own data.`);
  }

  async destroy(): Promise<void> {
    if (this.#destroyed) return;
    this.#destroyed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#syncing?.catch(() => undefined);
    this.#jobs.clear();
    await this.#adapter.close().catch((error: unknown) => this.#warn(`Closing the ${this.engineName} session`, error));
  }

  // ---- the engine ---------------------------------------------------------------------------

  #folderFor(id: string): string {
    const base = this.#defaultSavePath ?? this.#pathMap?.remote;
    if (base === undefined) {
      throw new ChillyError('engine_unreachable', `${this.engineName} has not said where it saves downloads yet.`);
    }
    const enginePath = `${base.replace(/[\\/]+$/, '')}/${id}`;
    return toLocalPath(this.#pathMap, enginePath) ?? enginePath;
  }

  /** Attaches to the engine's torrent with the job's info-hash, or adds it. */
  async #attachOrAdd(entry: Attachment): Promise<void> {
    await this.#attachOrAddTorrent(entry);
    const limits = entry.rateLimits;
    if (limits !== undefined && this.#jobs.get(entry.job.id) === entry) {
      await this.#adapter
        .setTorrentRateLimits(entry.infoHash, limits)
        .catch((error: unknown) =>
          this.#warn(`Job ${entry.job.id}: ${this.engineName} did not take its speed limits`, error),
        );
    }
  }

  async #attachOrAddTorrent(entry: Attachment): Promise<void> {
    const known = this.#engine.get(entry.infoHash);
    if (known === undefined) {
      const { source } = entry;
      await this.#adapter.add({
        infoHash: entry.infoHash,
        ...(source.kind === 'torrent' ? { torrentFile: source.torrentFile } : { magnetURI: source.magnetURI }),
        savePath: entry.engineSavePath,
        sequential: entry.sequential && this.capabilities.sequentialPieces,
      });
    } else if (known.status === 'paused' && entry.job.status !== 'paused') {
      // Paused by Chilly before a restart (or by hand): starting the job means downloading it.
      await this.#adapter.resume(entry.infoHash);
    }
    entry.pendingAdd = false;
    if (known !== undefined) {
      this.#applyTorrent(entry, known);
      if (known.hasMetadata) this.#readFiles(entry);
    }
  }

  async #applyFileOptions(entry: Attachment): Promise<void> {
    if (this.capabilities.sequentialPieces) await this.#adapter.setSequential(entry.infoHash, entry.sequential);
    const files = entry.job.files;
    if (this.capabilities.fileSelection && files !== undefined) {
      await this.#adapter.setWantedFiles(entry.infoHash, entry.selectedFiles, files.length);
    }
  }

  #schedule(delayMs: number): void {
    if (this.#destroyed || this.#jobs.size === 0 || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#tick();
    }, delayMs);
  }

  async #tick(): Promise<void> {
    if (this.#destroyed) return;
    try {
      if (this.#failures > 0) {
        await this.#adapter.connect();
        this.#adapter.resetSync();
      }
      await this.#syncNow();
      await this.#addPending();
      if (this.#failures > 0) this.#recovered();
      this.#pushGlobalLimitsLater();
      const now = Date.now();
      for (const entry of this.#jobs.values()) if (entry.peersWantedUntil > now) this.#fetchPeers(entry);
    } catch (error) {
      if (this.#destroyed) return;
      const failure = toChillyError(error, 'engine_unreachable');
      if (failure.code === 'engine_auth_failed') this.#failAll(failure);
      else this.#markUnreachable(failure);
    }
    this.#schedule(this.#failures > 0 ? this.#retryDelay() : this.#pollMs);
  }

  /** One sync at a time; a caller that comes while one runs waits for it and runs its own. */
  async #syncNow(): Promise<void> {
    while (this.#syncing !== undefined) await this.#syncing.catch(() => undefined);
    const run = this.#applySync();
    this.#syncing = run;
    try {
      await run;
    } finally {
      this.#syncing = undefined;
    }
  }

  async #applySync(): Promise<void> {
    const sync = await this.#adapter.sync();
    const saidRemoved = new Set(sync.removed.map((hash) => hash.toLowerCase()));
    if (sync.full) this.#engine.clear();
    for (const hash of saidRemoved) this.#engine.delete(hash);
    for (const torrent of sync.torrents) this.#engine.set(torrent.infoHash, torrent);
    this.#synced = true;
    const now = Date.now();
    let missing = false;
    for (const entry of [...this.#jobs.values()]) {
      if (entry.pendingAdd) continue;
      const torrent = this.#engine.get(entry.infoHash);
      if (torrent === undefined) {
        // Said removed: someone took it out of the engine. Absent from a full list: the same, once
        // it has stayed absent a while (a daemon just started may not have loaded it yet). Absent
        // from an incremental list only means it did not change.
        if (saidRemoved.has(entry.infoHash)) {
          this.#removedExternally(entry);
        } else if (sync.full) {
          entry.missingSince ??= now;
          if (now - entry.missingSince >= this.#missingForMs) this.#removedExternally(entry);
          else missing = true;
        }
        continue;
      }
      entry.missingSince = undefined;
      if (sync.full || sync.torrents.includes(torrent)) this.#applyTorrent(entry, torrent);
    }
    // Only a full list can show that a missing torrent is there after all.
    if (missing) this.#adapter.resetSync();
  }

  /** Adds the jobs started while the engine did not answer. */
  async #addPending(): Promise<void> {
    for (const entry of [...this.#jobs.values()]) {
      if (!entry.pendingAdd || this.#destroyed) continue;
      await this.#attachOrAdd(entry);
    }
  }

  /** The engine's figures for an attached torrent, as the job's. */
  #applyTorrent(entry: Attachment, torrent: EngineTorrent): void {
    const { job } = entry;
    if (job.status === 'paused' && torrent.status !== 'paused') {
      // Resumed in the engine's own interface: Chilly's pause still holds there.
      void this.#adapter.pause(entry.infoHash).catch(() => undefined);
    }
    if (torrent.status === 'error') {
      this.#fail(entry, new ChillyError('download_failed', `${this.engineName}: ${torrent.errorMessage ?? 'error'}`));
      return;
    }
    const local = toLocalPath(this.#pathMap, torrent.savePath);
    job.savePath = local ?? torrent.savePath;
    if (torrent.name !== undefined && torrent.hasMetadata) job.name = torrent.name;
    const now = Date.now();
    if (torrent.bytesDone > job.progress.bytesDone || torrent.status !== 'stalled') entry.lastDataAt = now;
    job.progress = normalizeProgress(torrent);
    job.updatedAt = new Date(now).toISOString();
    // Just asked to recheck: a `completed` from before the check started is not the check's answer.
    let status = torrent.status;
    if (entry.recheckAskedAt !== undefined) {
      if (status !== 'completed' || now - entry.recheckAskedAt >= RECHECK_GRACE_MS) entry.recheckAskedAt = undefined;
      else status = 'verifying';
    }
    if (job.status !== 'paused' && job.status !== 'completed') {
      job.status =
        status === 'verifying' && entry.recheckAskedAt !== undefined
          ? 'verifying'
          : normalizeRunningStatus(torrent, now - entry.lastDataAt, this.#stalledAfterMs);
      delete job.error;
    }
    if (torrent.hasMetadata && job.files === undefined) {
      this.#readFiles(entry);
      return;
    }
    if (job.files === undefined) {
      this.#reportProgress(entry);
      return;
    }
    if (status === 'completed' && !entry.completedReported) {
      entry.completedReported = true;
      job.status = 'completed';
      job.progress = { ...job.progress, fraction: 1, downloadSpeed: 0, etaSeconds: 0 };
      this.#tell('completed', entry);
      return;
    }
    this.#reportProgress(entry);
  }

  /**
   * A progress event, unless the job shows just what the last event told: engines list torrents
   * again for changes Chilly does not show (and every torrent in a full list), and hundreds of idle
   * seeding jobs would otherwise keep the service and every client busy on each poll.
   */
  #reportProgress(entry: Attachment): void {
    if (entry.told !== undefined && sameShown(entry.told, shownJob(entry.job))) return;
    this.#tell('progress', entry);
  }

  /**
   * Emits an event with the job. A `progress` or `completed` event is what listeners show of it
   * from then on (the service takes its status from those); after any other that shows the job
   * otherwise (paused, resumed), the next sync's figures are news again.
   */
  #tell(event: 'started' | 'paused' | 'resumed' | 'progress' | 'completed' | 'metadata', entry: Attachment): void {
    const shown = shownJob(entry.job);
    if (event === 'progress' || event === 'completed') entry.told = shown;
    else if (entry.told !== undefined && !sameShown(entry.told, shown)) entry.told = undefined;
    this.emit(event, structuredClone(entry.job));
  }

  /** Reads the torrent's files from the engine once its metadata is there; then `metadata`. */
  #readFiles(entry: Attachment): void {
    if (entry.readingFiles || entry.job.files !== undefined) return;
    entry.readingFiles = true;
    this.#adapter
      .files(entry.infoHash)
      .then(async (files: EngineFile[]) => {
        if (files.length === 0 || this.#jobs.get(entry.job.id) !== entry) return;
        entry.job.files = files.map((file) => ({ path: file.path, length: file.length }));
        if (entry.selectedFiles !== null || !entry.sequential) await this.#applyFileOptions(entry);
        this.#tell('metadata', entry);
        const torrent = this.#engine.get(entry.infoHash);
        if (torrent !== undefined) this.#applyTorrent(entry, torrent);
      })
      .catch((error: unknown) =>
        this.#warn(`Job ${entry.job.id}: could not read its files from ${this.engineName}`, error),
      )
      .finally(() => {
        entry.readingFiles = false;
      });
  }

  /** Fetches a job's peers from the engine in the background (one request at a time per job). */
  #fetchPeers(entry: Attachment): void {
    if (entry.pendingAdd || entry.fetchingPeers || this.#failures > 0) return;
    entry.fetchingPeers = true;
    this.#adapter
      .peers(entry.infoHash)
      .then((peers) => {
        entry.peers = peers;
      })
      .catch(() => {
        // Kept as they were: the engine not answering is what the sync reports.
      })
      .finally(() => {
        entry.fetchingPeers = false;
      });
  }

  /** Hands the global limits to the engine (connecting first if it never was); rejects when it does not answer. */
  async #pushGlobalLimits(): Promise<void> {
    const limits = this.#globalLimits;
    if (limits === undefined) return;
    if (this.#failures > 0) {
      throw (
        this.#unreachable ??
        new ChillyError('engine_unreachable', `${this.engineName} does not answer; the limits are set once it does.`)
      );
    }
    await this.connect();
    await this.#adapter.setRateLimits(limits);
    if (this.#globalLimits === limits) this.#globalLimitsApplied = true;
  }

  /** The global limits the engine did not take yet, handed to it now (the engine answers again). */
  #pushGlobalLimitsLater(): void {
    if (this.#globalLimitsApplied || this.#globalLimits === undefined || this.#failures > 0) return;
    this.#globalLimitsApplied = true; // one attempt at a time; a failure sets it back
    const limits = this.#globalLimits;
    this.#adapter.setRateLimits(limits).catch((error: unknown) => {
      if (this.#globalLimits === limits) this.#globalLimitsApplied = false;
      this.#warn(`${this.engineName} did not take the speed limits`, error);
    });
  }

  #removedExternally(entry: Attachment): void {
    this.#fail(
      entry,
      new ChillyError(
        'removed_externally',
        `The torrent was removed in ${this.engineName}; resume the job to add it again, or cancel it.`,
      ),
    );
  }

  #fail(entry: Attachment, error: ChillyError): void {
    this.#jobs.delete(entry.job.id);
    entry.job.status = 'error';
    entry.job.error = error.toJSON();
    this.#stillProgress(entry.job);
    if (this.listenerCount('error') > 0) this.emit('error', error, structuredClone(entry.job));
  }

  #failAll(error: ChillyError): void {
    this.#failures = 0;
    for (const entry of [...this.#jobs.values()]) this.#fail(entry, error);
  }

  /** The engine does not answer: attached jobs show it, and syncs are retried with backoff. */
  #markUnreachable(error: ChillyError): void {
    this.#noteUnreachable(error);
    for (const entry of this.#jobs.values()) this.#showUnreachable(entry);
  }

  /** One more failed attempt to reach the engine; the first of a run is said, with its reason. */
  #noteUnreachable(error: ChillyError): void {
    if (this.#failures === 0) {
      // The adapters' messages name the engine and its address; anything else gets the name here.
      const said = error.message.startsWith(this.engineName)
        ? error.message
        : `${this.engineName} does not answer: ${error.message}`;
      this.#warn(`${said}${/[.!?]$/.test(said) ? '' : '.'} Its jobs wait, and carry on when it answers.`);
    }
    this.#failures += 1;
    this.#unreachable = error;
  }

  /** The job shows that its engine does not answer (a paused one stays paused). */
  #showUnreachable(entry: Attachment): void {
    if (entry.job.status === 'paused') return;
    entry.job.status = 'stalled';
    entry.job.error = { code: 'engine_unreachable', message: `${this.engineName} does not answer; retrying.` };
    this.#stillProgress(entry.job);
    // Once per outage: each failed retry would tell it again.
    this.#reportProgress(entry);
  }

  #recovered(): void {
    this.#warn(`${this.engineName} answers again after ${this.#failures} failed attempt(s).`);
    this.#failures = 0;
    this.#unreachable = undefined;
  }

  #retryDelay(): number {
    return Math.max(100, computeBackoffDelay(this.#failures, this.#reconnect));
  }

  #stillProgress(job: Job): void {
    Object.assign(job.progress, { downloadSpeed: 0, uploadSpeed: 0, peers: 0, etaSeconds: null });
    job.updatedAt = new Date().toISOString();
  }

  #require(id: string): Attachment {
    this.#assertAlive();
    const entry = this.#jobs.get(id);
    if (entry === undefined) throw new ChillyError('job_not_found', `No job has id ${JSON.stringify(id)}.`);
    return entry;
  }

  #assertAlive(): void {
    if (this.#destroyed) throw new ChillyError('downloader_destroyed');
  }
}
