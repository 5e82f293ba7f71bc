import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { ChillyError } from '../domain/errors.js';
import { assertValidJobId, emptyProgress, type Job, type JobInput } from '../domain/job.js';
import type { CancelOptions, Downloader, DownloaderEvents, StartOptions } from './downloader.js';

/** The time source the mock runs on; tests pass a fake one so they never wait for real time. */
export interface MockClock {
  setInterval(callback: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
  now(): number;
}

export interface MockDownloaderOptions {
  /** Simulated download speed (default 10 MiB/s). */
  bytesPerSecond?: number;
  /** Size of every job, or a function of the input (default 700 MiB). */
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
const MAGNET_HASH = /^urn:btih:(?:[0-9a-f]{40}|[a-z2-7]{32})$/i;
const BARE_HASH = /^(?:[0-9a-f]{40}|[a-z2-7]{32})$/i;

const realClock: MockClock = { setInterval, clearInterval, now: () => Date.now() };

interface Entry {
  job: Job;
  /** Simulated time spent downloading; bytes are derived from it so runs are reproducible. */
  elapsedMs: number;
}

/**
 * A `Downloader` that moves no data: progress advances deterministically with simulated time.
 * It validates input like the real driver so UI and API code see the same errors.
 */
export class MockDownloader extends EventEmitter<DownloaderEvents> implements Downloader {
  readonly #bytesPerSecond: number;
  readonly #totalBytes: number | ((job: JobInput) => number);
  readonly #tickMs: number;
  readonly #failAfterBytes: number | undefined;
  readonly #clock: MockClock;
  readonly #mediaRoot: string;
  readonly #entries = new Map<string, Entry>();
  readonly #timers = new Map<string, unknown>();
  #destroyed = false;

  constructor(options: MockDownloaderOptions = {}) {
    super();
    this.#bytesPerSecond = positive('bytesPerSecond', options.bytesPerSecond ?? 10 * MiB);
    this.#tickMs = positive('tickMs', options.tickMs ?? 250);
    this.#totalBytes = options.totalBytes ?? 700 * MiB;
    this.#failAfterBytes = options.failAfterBytes;
    this.#clock = options.clock ?? realClock;
    this.#mediaRoot = path.resolve(options.mediaRoot ?? './media');
  }

  async start(input: JobInput, options: StartOptions = {}): Promise<Job> {
    this.#assertAlive();
    assertValidJobId(input?.id);
    if (input.sourceType !== 'torrent') {
      throw new ChillyError('invalid_source', `Unsupported sourceType ${JSON.stringify(input.sourceType)}.`);
    }
    const source = describeSource(input);
    if (this.#entries.has(input.id)) throw new ChillyError('duplicate_job', `Job ${input.id} already exists.`);

    const total = typeof this.#totalBytes === 'function' ? this.#totalBytes(input) : this.#totalBytes;
    if (!Number.isFinite(total) || total < 0) throw new ChillyError('validation_failed', 'totalBytes must be >= 0.');
    const infoHash = createHash('sha1').update(source.hashInput).digest('hex');
    const name = source.name ?? `Mock torrent ${infoHash.slice(0, 8)}`;
    const now = this.#timestamp();
    const job: Job = {
      id: input.id,
      sourceType: 'torrent',
      sourceUrn: source.urn ?? `torrent:${infoHash}`,
      status: 'downloading',
      infoHash,
      name,
      files: [{ path: `${name}.mkv`, length: Math.floor(total) }],
      savePath: options.savePath ?? this.jobFolder(input.id),
      progress: { ...emptyProgress(), bytesTotal: Math.floor(total) },
      sequential: true,
      createdAt: now,
      updatedAt: now,
    };
    this.#entries.set(job.id, { job, elapsedMs: 0 });
    this.#setDownloading(job);
    this.#startTimer(job.id);
    const snapshot = structuredClone(job);
    this.emit('started', structuredClone(job));
    this.emit('metadata', structuredClone(job));
    return snapshot;
  }

  async pause(id: string): Promise<Job> {
    const { job } = this.#require(id);
    if (job.status !== 'downloading' && job.status !== 'queued') throw invalidTransition(job, 'pause');
    this.#stopTimer(id);
    job.status = 'paused';
    Object.assign(job.progress, { downloadSpeed: 0, peers: 0, etaSeconds: null });
    job.updatedAt = this.#timestamp();
    this.emit('paused', structuredClone(job));
    return structuredClone(job);
  }

  async resume(id: string): Promise<Job> {
    const { job } = this.#require(id);
    if (job.status !== 'paused') throw invalidTransition(job, 'resume');
    this.#setDownloading(job);
    this.#startTimer(id);
    this.emit('resumed', structuredClone(job));
    return structuredClone(job);
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

  #setDownloading(job: Job): void {
    const total = job.progress.bytesTotal ?? 0;
    job.status = 'downloading';
    Object.assign(job.progress, {
      downloadSpeed: this.#bytesPerSecond,
      peers: FAKE_PEERS,
      etaSeconds: Math.ceil((total - job.progress.bytesDone) / this.#bytesPerSecond),
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

/** Accepts the same sources as the real driver; the mock never reads a .torrent path. */
function describeSource(input: JobInput): { hashInput: string | Uint8Array; urn?: string; name?: string } {
  if (input.torrentFile !== undefined) {
    if (!(input.torrentFile instanceof Uint8Array)) throw new ChillyError('invalid_torrent');
    return { hashInput: input.torrentFile };
  }
  const urn = typeof input.sourceUrn === 'string' ? input.sourceUrn.trim() : '';
  if (urn === '') throw new ChillyError('invalid_source', 'A job needs a sourceUrn or a torrentFile.');
  if (/^magnet:/i.test(urn)) {
    const params = new URLSearchParams(urn.slice(urn.indexOf('?') + 1));
    if (urn.indexOf('?') < 0 || !params.getAll('xt').some((xt) => MAGNET_HASH.test(xt))) {
      throw new ChillyError('invalid_magnet');
    }
    return { hashInput: urn, urn, name: params.get('dn') || undefined };
  }
  if (BARE_HASH.test(urn)) return { hashInput: urn.toLowerCase(), urn };
  const base = urn
    .split(/[\\/]/)
    .pop()
    ?.replace(/\.torrent$/i, '');
  return { hashInput: urn, urn, name: base || undefined };
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new ChillyError('validation_failed', `${name} must be > 0.`);
  return value;
}

function invalidTransition(job: Job, action: string): ChillyError {
  return new ChillyError('invalid_transition', `Cannot ${action} job ${job.id}: it is ${job.status}.`);
}
