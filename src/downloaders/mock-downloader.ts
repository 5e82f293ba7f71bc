import { EventEmitter } from 'node:events';
import path from 'node:path';
import { DEFAULT_MEDIA_FOLDER } from '../config/defaults.js';
import { ChillyError } from '../domain/errors.js';
import { assertValidJobId, type Job, type JobInput, startedJobId } from '../domain/job.js';
import { assertTransition } from '../domain/job-state-machine.js';
import type {
  CancelOptions,
  Downloader,
  DownloaderCapabilities,
  DownloaderEvents,
  StartOptions,
} from './downloader.js';
import { newJobFromSource, resolveTorrentSource } from './torrent-source.js';

/** The time source the mock runs on; tests pass a fake one so they never wait for real time. */
export interface MockClock {
  setInterval(callback: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
  now(): number;
}

export interface MockDownloaderOptions {
  /** Simulated download speed (default 10 MiB/s). */
  bytesPerSecond?: number;
  /**
   * Size of a magnet's (or info-hash's) torrent, whose metadata the mock makes up, or a function of
   * the input (default 700 MiB). A .torrent's own size is used for .torrent sources.
   */
  totalBytes?: number | ((job: JobInput) => number);
  /** Interval between progress events (default 250 ms, so at most 4 events a second). */
  tickMs?: number;
  /** A job that passes this many bytes fails with `download_failed`. */
  failAfterBytes?: number;
  clock?: MockClock;
  /** Reported as the parent of every job's folder (default `./media`); the mock writes nothing there. */
  mediaRoot?: string;
}

const MiB = 1024 * 1024;
const FAKE_PEERS = 5;

const realClock: MockClock = { setInterval, clearInterval, now: () => Date.now() };

interface Entry {
  job: Job;
  /** Simulated time spent downloading; bytes are derived from it so runs are reproducible. */
  elapsedMs: number;
}

/**
 * A `Downloader` that moves no data: progress advances deterministically with simulated time.
 * It reads sources with the real driver's code, so UI and API code see the same info-hashes,
 * names and errors.
 */
export class MockDownloader extends EventEmitter<DownloaderEvents> implements Downloader {
  readonly engineName: string = 'mock';
  /** It simulates progress, and keeps a file choice and piece order; it has no data to stream or resume. */
  readonly capabilities: Readonly<DownloaderCapabilities> = Object.freeze({
    streaming: false,
    fileSelection: true,
    sequentialPieces: true,
    resumeData: false,
    localFiles: true,
    rateLimits: false,
    recheck: false,
    peerList: false,
    moveData: false,
    trackerList: false,
  });
  readonly #bytesPerSecond: number;
  readonly #totalBytes: number | ((job: JobInput) => number);
  readonly #tickMs: number;
  readonly #failAfterBytes: number | undefined;
  readonly #clock: MockClock;
  readonly #mediaRoot: string;
  readonly #entries = new Map<string, Entry>();
  readonly #timers = new Map<string, unknown>();
  /** Ids whose start is reading its source. */
  readonly #starting = new Set<string>();
  #destroyed = false;

  constructor(options: MockDownloaderOptions = {}) {
    super();
    this.#bytesPerSecond = positive('bytesPerSecond', options.bytesPerSecond ?? 10 * MiB);
    this.#tickMs = positive('tickMs', options.tickMs ?? 250);
    this.#totalBytes = options.totalBytes ?? 700 * MiB;
    this.#failAfterBytes = options.failAfterBytes;
    this.#clock = options.clock ?? realClock;
    this.#mediaRoot = path.resolve(options.mediaRoot ?? DEFAULT_MEDIA_FOLDER);
  }

  /**
   * Reads the source exactly as the real driver does (`resolveTorrentSource`: a magnet's btih, a
   * .torrent path read and checked, the same error codes), then makes up what only a swarm could
   * tell: a magnet's metadata arrives at once, naming the torrent when its magnet did not and
   * giving it one file of `totalBytes`. A .torrent keeps its own name, files and size.
   */
  async start(input: JobInput, options: StartOptions = {}): Promise<Job> {
    this.#assertAlive();
    const id = startedJobId(input);
    if (this.#entries.has(id) || this.#starting.has(id)) {
      throw new ChillyError('duplicate_job', `A job with id ${JSON.stringify(id)} already exists.`);
    }
    this.#starting.add(id);
    try {
      const source = options.source ?? (await resolveTorrentSource(input));
      this.#assertAlive();
      const owner = [...this.#entries.values()].find((entry) => entry.job.infoHash === source.infoHash);
      if (owner !== undefined) {
        throw new ChillyError(
          'duplicate_torrent',
          `Torrent ${source.infoHash} is already job ${JSON.stringify(owner.job.id)}.`,
        );
      }
      const parsed = source.kind === 'torrent' ? source.parsed : undefined;
      const total = parsed?.info === undefined ? this.#madeUpSize(input) : undefined;

      const now = this.#timestamp();
      const job: Job = {
        ...newJobFromSource({ input, source, parsed, savePath: options.savePath ?? this.jobFolder(id) }),
        createdAt: now,
        updatedAt: now,
      };
      this.#entries.set(id, { job, elapsedMs: 0 });
      this.#setDownloading(job);
      const started = structuredClone(job);
      this.emit('started', structuredClone(job));
      if (total !== undefined) {
        job.name ??= `Mock torrent ${source.infoHash.slice(0, 8)}`;
        job.files = [{ path: `${job.name}.mkv`, length: total }];
        job.progress.bytesTotal = total;
        this.#setDownloading(job);
      }
      this.emit('metadata', structuredClone(job));
      this.#startTimer(id);
      return started;
    } finally {
      this.#starting.delete(id);
    }
  }

  async pause(id: string): Promise<Job> {
    const { job } = this.#require(id);
    assertTransition(job, 'pause');
    this.#stopTimer(id);
    job.status = 'paused';
    Object.assign(job.progress, { downloadSpeed: 0, peers: 0, etaSeconds: null });
    job.updatedAt = this.#timestamp();
    this.emit('paused', structuredClone(job));
    return structuredClone(job);
  }

  async resume(id: string): Promise<Job> {
    const { job } = this.#require(id);
    assertTransition(job, 'resume');
    this.#setDownloading(job);
    this.#startTimer(id);
    this.emit('resumed', structuredClone(job));
    return structuredClone(job);
  }

  /** Keeps the choice on the job (the simulated progress does not depend on it). */
  setFileOptions(id: string, options: { selectedFiles: readonly number[] | null; sequential: boolean }): void {
    const { job } = this.#require(id);
    if (options.selectedFiles === null) delete job.selectedFiles;
    else job.selectedFiles = [...options.selectedFiles].sort((a, b) => a - b);
    job.sequential = options.sequential;
    job.updatedAt = this.#timestamp();
  }

  // The mock writes nothing to disk, so `keepData` has nothing to keep or delete.
  async cancel(id: string, _options?: CancelOptions): Promise<Job> {
    const { job } = this.#require(id);
    this.#stopTimer(id);
    this.#entries.delete(id);
    job.status = 'cancelled';
    Object.assign(job.progress, { downloadSpeed: 0, peers: 0, etaSeconds: null });
    job.updatedAt = this.#timestamp();
    this.emit('cancelled', structuredClone(job));
    return structuredClone(job);
  }

  jobFolder(id: string): string {
    assertValidJobId(id);
    return path.join(this.#mediaRoot, id);
  }

  // Nothing is ever written, so there is nothing to delete.
  async deleteJobData(): Promise<string[]> {
    return [];
  }

  get(id: string): Job | undefined {
    const entry = this.#entries.get(id);
    return entry ? structuredClone(entry.job) : undefined;
  }

  list(): Job[] {
    return [...this.#entries.values()].map((entry) => structuredClone(entry.job));
  }

  async destroy(): Promise<void> {
    this.#destroyed = true;
    for (const id of [...this.#timers.keys()]) this.#stopTimer(id);
    this.#entries.clear();
  }

  #tick(id: string): void {
    const entry = this.#entries.get(id);
    if (entry?.job.status !== 'downloading') {
      this.#stopTimer(id);
      return;
    }
    const { job } = entry;
    const total = job.progress.bytesTotal ?? 0;
    entry.elapsedMs += this.#tickMs;
    job.progress.bytesDone = Math.min(total, Math.floor((this.#bytesPerSecond * entry.elapsedMs) / 1000));
    job.progress.fraction = total === 0 ? 1 : job.progress.bytesDone / total;
    job.updatedAt = this.#timestamp();

    if (this.#failAfterBytes !== undefined && job.progress.bytesDone > this.#failAfterBytes) {
      this.#stopTimer(id);
      const error = new ChillyError('download_failed', `Simulated engine failure after ${this.#failAfterBytes} bytes.`);
      job.status = 'error';
      job.error = error.toJSON();
      Object.assign(job.progress, { downloadSpeed: 0, peers: 0, etaSeconds: null });
      // An unhandled 'error' event would throw out of a timer callback and crash the process.
      if (this.listenerCount('error') > 0) this.emit('error', error, structuredClone(job));
      return;
    }
    if (job.progress.bytesDone >= total) {
      this.#stopTimer(id);
      job.status = 'completed';
      Object.assign(job.progress, { fraction: 1, downloadSpeed: 0, peers: 0, etaSeconds: 0 });
      this.emit('completed', structuredClone(job));
      return;
    }
    job.progress.etaSeconds = Math.ceil((total - job.progress.bytesDone) / this.#bytesPerSecond);
    this.emit('progress', structuredClone(job));
  }

  /** The size made up for a torrent whose metadata only a swarm could tell (a magnet). */
  #madeUpSize(input: JobInput): number {
    const total = typeof this.#totalBytes === 'function' ? this.#totalBytes(input) : this.#totalBytes;
    if (!Number.isFinite(total) || total < 0) throw new ChillyError('validation_failed', 'totalBytes must be >= 0.');
    return Math.floor(total);
  }

  #setDownloading(job: Job): void {
    const total = job.progress.bytesTotal;
    job.status = 'downloading';
    Object.assign(job.progress, {
      downloadSpeed: this.#bytesPerSecond,
      peers: FAKE_PEERS,
      etaSeconds: total === null ? null : Math.ceil((total - job.progress.bytesDone) / this.#bytesPerSecond),
    });
    job.updatedAt = this.#timestamp();
  }

  #startTimer(id: string): void {
    this.#timers.set(
      id,
      this.#clock.setInterval(() => this.#tick(id), this.#tickMs),
    );
  }

  #stopTimer(id: string): void {
    if (!this.#timers.has(id)) return;
    this.#clock.clearInterval(this.#timers.get(id));
    this.#timers.delete(id);
  }

  #require(id: string): Entry {
    this.#assertAlive();
    const entry = this.#entries.get(id);
    if (!entry) throw new ChillyError('job_not_found', `No job has id ${JSON.stringify(id)}.`);
    return entry;
  }

  #assertAlive(): void {
    if (this.#destroyed) throw new ChillyError('downloader_destroyed');
  }

  #timestamp(): string {
    return new Date(this.#clock.now()).toISOString();
  }
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new ChillyError('validation_failed', `${name} must be > 0.`);
  return value;
}
