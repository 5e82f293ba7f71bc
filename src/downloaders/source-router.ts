/**
 * One `Downloader` over a driver per source type: torrents go to the BitTorrent engine (embedded
 * or external), direct `http(s)://` downloads to the HTTP driver. Commands on a job go to the
 * driver that started it; events of every driver come out of this one. The service asks
 * `driverFor(sourceType)` where a job's own driver matters (its folder, its capabilities, its data).
 */
import { EventEmitter } from 'node:events';
import { ChillyError } from '../domain/errors.js';
import type { Job, JobInput, SourceType } from '../domain/job.js';
import type {
  CancelOptions,
  Downloader,
  DownloaderCapabilities,
  DownloaderEventName,
  DownloaderEvents,
  JobFootprint,
  RangeWaiter,
  ResumeState,
  StartOptions,
} from './downloader.js';

const EVENTS: readonly DownloaderEventName[] = [
  'started',
  'metadata',
  'progress',
  'completed',
  'paused',
  'resumed',
  'cancelled',
  'error',
];

export class SourceRouter extends EventEmitter<DownloaderEvents> implements Downloader {
  readonly #drivers: Readonly<Record<SourceType, Downloader>>;
  /** Which driver runs each job it started. */
  readonly #byId = new Map<string, Downloader>();

  constructor(drivers: Readonly<Record<SourceType, Downloader>>) {
    super();
    this.#drivers = drivers;
    for (const driver of new Set(Object.values(drivers))) {
      for (const name of EVENTS) {
        driver.on(name, (...args: unknown[]) => {
          // A driver emits `error` only when someone listens: so does this one, or nothing would catch it.
          if (name === 'error' && this.listenerCount('error') === 0) return;
          (this.emit as (event: string, ...rest: unknown[]) => boolean)(name, ...args);
        });
      }
    }
  }

  /** The BitTorrent engine's name: the one users choose (`CHILLY_ENGINE`). */
  get engineName(): string {
    return this.#drivers.torrent.engineName;
  }

  /** The BitTorrent engine's; a job's own are `driverFor(job.sourceType).capabilities`. */
  get capabilities(): Readonly<DownloaderCapabilities> {
    return this.#drivers.torrent.capabilities;
  }

  driverFor(sourceType: SourceType): Downloader {
    return this.#drivers[sourceType];
  }

  async start(job: JobInput, options?: StartOptions): Promise<Job> {
    const driver = this.#drivers[job?.sourceType];
    if (driver === undefined) {
      throw new ChillyError('invalid_source', `sourceType must be one of ${Object.keys(this.#drivers).join(', ')}.`);
    }
    if (this.#byId.has(job.id))
      throw new ChillyError('duplicate_job', `A job with id ${JSON.stringify(job.id)} already exists.`);
    this.#byId.set(job.id, driver);
    try {
      return await driver.start(job, options);
    } catch (error) {
      if (this.#byId.get(job.id) === driver) this.#byId.delete(job.id);
      throw error;
    }
  }

  pause(id: string): Promise<Job> {
    return this.#driverOf(id).pause(id);
  }

  resume(id: string): Promise<Job> {
    return this.#driverOf(id).resume(id);
  }

  async cancel(id: string, options?: CancelOptions): Promise<Job> {
    const job = await this.#driverOf(id).cancel(id, options);
    this.#byId.delete(id);
    return job;
  }

  get(id: string): Job | undefined {
    return this.#byId.get(id)?.get(id);
  }

  list(): Job[] {
    return [...new Set(Object.values(this.#drivers))].flatMap((driver) => driver.list());
  }

  jobFolder(id: string): string {
    return this.#drivers.torrent.jobFolder(id);
  }

  footprint(id: string): JobFootprint | undefined {
    return this.#byId.get(id)?.footprint?.(id);
  }

  deleteJobData(folder: string, footprint: JobFootprint, diskPaths?: readonly string[]): Promise<string[]> {
    return this.#drivers.torrent.deleteJobData(folder, footprint, diskPaths);
  }

  openRangeWaiter(id: string, fileIndex: number, options?: { readAheadBytes?: number }): RangeWaiter {
    const driver = this.#driverOf(id);
    if (driver.openRangeWaiter === undefined) {
      throw new ChillyError('stream_unavailable', `The ${driver.engineName} engine cannot stream unfinished files.`);
    }
    return driver.openRangeWaiter(id, fileIndex, options);
  }

  setFileOptions(id: string, options: { selectedFiles: readonly number[] | null; sequential: boolean }): void {
    this.#byId.get(id)?.setFileOptions?.(id, options);
  }

  resumeState(id: string): ResumeState | undefined {
    return this.#byId.get(id)?.resumeState?.(id);
  }

  async destroy(): Promise<void> {
    const results = await Promise.allSettled([...new Set(Object.values(this.#drivers))].map((d) => d.destroy()));
    this.#byId.clear();
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  #driverOf(id: string): Downloader {
    const driver = this.#byId.get(id);
    if (driver === undefined) throw new ChillyError('job_not_found', `No job has id ${JSON.stringify(id)}.`);
    return driver;
  }
}
