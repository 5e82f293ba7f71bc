import { EventEmitter } from 'node:events';
import path from 'node:path';
import type { SeedingPolicy } from '../config.js';
import { ChillyError, isChillyError, toChillyError } from '../domain/errors.js';
import { assertValidJobId, type Job, type JobError, type JobMovie, type JobStatus } from '../domain/job.js';
import type { Downloader, ResumeState } from '../downloaders/downloader.js';
import { assertSafeTorrentPaths } from '../downloaders/torrent-paths.js';
import { newJobFromSource, resolveTorrentSource } from '../downloaders/torrent-source.js';
import type { SqliteDatabase } from '../storage/database.js';
import { JobsRepository, type StoredJob } from '../storage/jobs-repository.js';
import { ResumeRepository } from '../storage/resume-repository.js';
import { EventLog } from './event-log.js';
import { mainFileIndex, readFileRange } from './job-files.js';
import { captureResumeData, missingFiles, resumeDataStillValid, syncFiles } from './resume-data.js';
import type {
  AddJobRequest,
  AddJobResult,
  DownloadServiceApi,
  FileOptions,
  JobEvent,
  JobEventType,
  JobFileStream,
  JobPage,
  ListJobsQuery,
} from './service-types.js';
import { assertTransition, type Command } from './state-machine.js';

export interface DownloadServiceOptions {
  /** Opened with `openDatabase`; the service closes it in `close()`. */
  database: SqliteDatabase;
  /** The engine; the service destroys it in `close()`. */
  downloader: Downloader;
  /** Jobs downloading at once; the rest wait as `queued`. Default 3. */
  maxActiveDownloads?: number;
  /** Progress and resume data are written at most this often per job. Default 2 s. */
  persistIntervalMs?: number;
  /** When a completed job stops uploading. Default: ratio 1 or 60 minutes, whichever comes first. */
  seeding?: SeedingPolicy;
  /** Milliseconds clock for the persist throttle; tests pass a fake one. */
  now?: () => number;
  /** Called with problems that have no caller to report to (e.g. a failed background write). */
  onWarning?: (message: string, cause?: unknown) => void;
  /**
   * The movie each job is linked to (see movie-linker.ts); when given, every job the service
   * returns or publishes carries `movie` (null when unknown).
   */
  movies?: (jobId: string) => JobMovie | null;
}

/** How long a player's first request may wait for a magnet's metadata. */
const FILES_TIMEOUT_MS = 30_000;

/** The selection as given, checked against the job's files; undefined means "all files". */
function validSelection(selection: number[] | null | undefined, job: Job): number[] | undefined {
  if (selection === null || selection === undefined) return undefined;
  if (job.files === undefined) {
    throw new ChillyError('validation_failed', 'The torrent metadata is not known yet: choose files once it is.');
  }
  const count = job.files.length;
  const unique = [...new Set(selection)].sort((a, b) => a - b);
  if (unique.length === 0 || unique.some((index) => !Number.isInteger(index) || index < 0 || index >= count)) {
    throw new ChillyError('validation_failed', `selectedFiles must list file indexes from 0 to ${count - 1}.`);
  }
  return unique;
}

interface Seeding {
  timer: NodeJS.Timeout | undefined;
}

/**
 * The one place where download business logic lives: a persistent queue of jobs with an explicit
 * state machine, driving a `Downloader`. Every state change is in SQLite before the call that
 * caused it returns; progress and resume data are written at a bounded rate.
 */
export class DownloadService implements DownloadServiceApi {
  private readonly jobs: JobsRepository;
  private readonly resumeData: ResumeRepository;
  private readonly events = new EventLog();
  private readonly emitter = new EventEmitter<{ job: [JobEvent] }>();
  private readonly maxActive: number;
  private readonly persistIntervalMs: number;
  private readonly seedingPolicy: SeedingPolicy;
  private readonly warn: (message: string, cause?: unknown) => void;
  private readonly now: () => number;
  private readonly movies: ((jobId: string) => JobMovie | null) | undefined;
  /** driver.start calls in flight: a release must wait for them, or the driver would keep the job. */
  private readonly starting = new Map<string, Promise<unknown>>();
  /** Jobs handed to the driver and not finished: they hold a download slot. */
  private readonly active = new Set<string>();
  /** Completed jobs still in the driver, uploading. */
  private readonly seeding = new Map<string, Seeding>();
  /** Latest figures of running jobs, fresher than the database. */
  private readonly live = new Map<string, Job>();
  private readonly lastPersisted = new Map<string, number>();
  /** Status changes the database refused (e.g. its disk is full): shown, and written again later. */
  private readonly unsaved = new Map<string, { status: JobStatus; error: JobError | undefined }>();
  /** Serialises commands on one job. */
  private readonly locks = new Map<string, Promise<unknown>>();
  private closed: Promise<void> | undefined;
  private pumping = false;

  private constructor(
    private readonly db: SqliteDatabase,
    private readonly downloader: Downloader,
    options: DownloadServiceOptions,
  ) {
    this.jobs = new JobsRepository(db);
    this.resumeData = new ResumeRepository(db);
    this.maxActive = options.maxActiveDownloads ?? 3;
    if (!Number.isInteger(this.maxActive) || this.maxActive < 1) {
      throw new ChillyError('validation_failed', 'maxActiveDownloads must be an integer >= 1.');
    }
    this.persistIntervalMs = options.persistIntervalMs ?? 2_000;
    this.seedingPolicy = options.seeding ?? { ratio: 1, minutes: 60 };
    this.warn = options.onWarning ?? (() => undefined);
    this.now = options.now ?? Date.now;
    this.movies = options.movies;
    this.emitter.setMaxListeners(0);
  }

  /** Opens the service on a database and restores every job as it was (see `restore`). */
  static async open(options: DownloadServiceOptions): Promise<DownloadService> {
    const service = new DownloadService(options.database, options.downloader, options);
    service.listenToDriver();
    service.restore();
    await service.pump();
    return service;
  }

  async add(request: AddJobRequest): Promise<AddJobResult> {
    this.assertOpen();
    if (request === null || typeof request !== 'object') {
      throw new ChillyError('validation_failed', 'A job needs { id, sourceType, sourceUrn }.');
    }
    assertValidJobId(request.id);
    return this.withLock(request.id, async () => {
      const source = await resolveTorrentSource(request);
      const existing = this.jobs.get(request.id);
      if (existing !== undefined) {
        if (existing.job.infoHash === source.infoHash) return { job: this.view(existing), created: false };
        throw new ChillyError('duplicate_job', `Job ${JSON.stringify(request.id)} already exists with another source.`);
      }
      const owner = this.jobs.findByInfoHash(source.infoHash);
      if (owner !== undefined) {
        throw new ChillyError(
          'duplicate_torrent',
          `This torrent (${source.infoHash}) is already job ${JSON.stringify(owner.job.id)}.`,
        );
      }
      const parsed = source.kind === 'torrent' ? source.parsed : undefined;
      const savePath = this.downloader.jobFolder(request.id);
      if (parsed?.info !== undefined) assertSafeTorrentPaths(parsed.info, savePath);
      const job = newJobFromSource({ input: request, source, parsed, savePath });
      // A .torrent read from a path is stored too: the file may be gone by the next start.
      const stored = this.jobs.insert(job, source.kind === 'torrent' ? source.torrentFile : undefined);
      this.publish('added', this.view(stored));
      await this.pump();
      return { job: this.require(request.id), created: true };
    });
  }

  pause(id: string): Promise<Job> {
    return this.command(id, 'pause', async (stored) => {
      if (this.active.has(id)) await this.release(id, stored, { keepResume: true });
      this.setStatus(id, 'paused', undefined);
      this.publish('paused', this.require(id));
      await this.pump();
      return this.require(id);
    });
  }

  resume(id: string): Promise<Job> {
    return this.command(id, 'resume', async () => {
      this.setStatus(id, 'queued', undefined);
      this.publish('resumed', this.require(id));
      await this.pump();
      return this.require(id);
    });
  }

  cancel(id: string, options: { keepData?: boolean } = {}): Promise<Job> {
    return this.command(id, 'cancel', async (stored) => {
      // A finished movie is kept unless the caller asks otherwise; partial data is removed.
      const keepData = options.keepData ?? stored.job.status === 'completed';
      if (this.active.has(id) || this.seeding.has(id)) await this.release(id, stored, { keepResume: false });
      if (!keepData) await this.downloader.deleteJobData(id);
      this.jobs.delete(id);
      this.unsaved.delete(id);
      const job: Job = { ...this.view(stored), status: 'cancelled', updatedAt: new Date().toISOString() };
      this.publish('cancelled', job);
      await this.pump();
      return job;
    });
  }

  get(id: string): Job {
    return this.require(id);
  }

  async openFile(id: string, fileIndex?: number): Promise<JobFileStream> {
    this.assertOpen();
    let job = this.require(id);
    const running = this.active.has(id) || this.seeding.has(id);
    if (job.files === undefined) {
      if (!running)
        throw new ChillyError('stream_unavailable', `Job ${JSON.stringify(id)} is ${job.status}: resume it to stream.`);
      job = await this.waitForFiles(id, FILES_TIMEOUT_MS);
    }
    const files = job.files ?? [];
    const index = fileIndex ?? mainFileIndex(files);
    const file = files[index];
    if (file === undefined || job.savePath === undefined) {
      throw new ChillyError('file_not_found', `Job ${JSON.stringify(id)} has no file #${fileIndex}.`);
    }
    const complete = job.status === 'completed';
    if (complete && job.selectedFiles !== undefined && !job.selectedFiles.includes(index)) {
      throw new ChillyError('stream_unavailable', `File #${index} of job ${JSON.stringify(id)} was not downloaded.`);
    }
    if (!complete && !running) {
      throw new ChillyError('stream_unavailable', `Job ${JSON.stringify(id)} is ${job.status}: resume it to stream.`);
    }
    const absolutePath = path.join(job.savePath, file.path);
    return {
      jobId: id,
      index,
      path: file.path,
      length: file.length,
      read: (start, end, options = {}) => {
        if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end >= file.length) {
          throw new ChillyError(
            'range_not_satisfiable',
            `Bytes ${start}-${end} are outside the ${file.length}-byte file.`,
          );
        }
        // A complete file is read straight from disk; a running one through the engine's waiter.
        const waiter = complete ? undefined : this.downloader.openRangeWaiter?.(id, index);
        if (!complete && waiter === undefined) {
          throw new ChillyError('stream_unavailable', 'This download engine cannot stream unfinished files.');
        }
        return readFileRange({
          absolutePath,
          start,
          end,
          waiter,
          signal: options.signal,
          timeoutMs: options.timeoutMs,
        });
      },
    };
  }

  setFileOptions(id: string, options: FileOptions): Promise<Job> {
    this.assertOpen();
    return this.withLock(id, async () => {
      const stored = this.jobs.require(id);
      const job = this.view(stored);
      const selectedFiles = validSelection(options.selectedFiles, job);
      const sequential = options.sequential ?? job.sequential;
      const current = options.selectedFiles === undefined ? job.selectedFiles : selectedFiles;
      this.jobs.setFileOptions(id, { selectedFiles: current, sequential });
      if (this.active.has(id) || this.seeding.has(id)) {
        this.downloader.setFileOptions?.(id, { selectedFiles: current ?? null, sequential });
      }
      // A finished job that is asked for more files downloads again.
      const before = job.selectedFiles;
      const widened =
        job.status === 'completed' &&
        before !== undefined &&
        (current === undefined || current.some((index) => !before.includes(index)));
      if (widened) {
        if (this.seeding.has(id)) await this.stopSeedingNow(id);
        this.setStatus(id, 'queued', undefined);
      }
      this.publish('updated', this.require(id));
      await this.pump();
      return this.require(id);
    });
  }

  /** Waits (bounded) until a running magnet's metadata names its files. */
  private waitForFiles(id: string, timeoutMs: number): Promise<Job> {
    return new Promise<Job>((resolve, reject) => {
      const finish = (outcome: () => void) => {
        clearTimeout(timer);
        unsubscribe();
        outcome();
      };
      const unsubscribe = this.subscribe((event) => {
        if (event.job.id !== id) return;
        if (event.job.files !== undefined) finish(() => resolve(event.job));
        else if (!['started', 'progress', 'updated'].includes(event.type)) {
          finish(() =>
            reject(new ChillyError('stream_unavailable', `Job ${JSON.stringify(id)} is ${event.job.status}.`)),
          );
        }
      });
      const timer = setTimeout(
        () => finish(() => reject(new ChillyError('stream_timeout', 'The torrent metadata did not arrive in time.'))),
        timeoutMs,
      );
      // It may have arrived between the caller's look and the subscription.
      const now = this.require(id);
      if (now.files !== undefined) finish(() => resolve(now));
    });
  }

  list(query: ListJobsQuery = {}): JobPage {
    const limit = query.limit ?? 50;
    const offset = query.offset ?? 0;
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
      throw new ChillyError('validation_failed', 'limit must be an integer from 1 to 500.');
    }
    if (!Number.isInteger(offset) || offset < 0) throw new ChillyError('validation_failed', 'offset must be >= 0.');
    const page = this.jobs.page(query.status ?? [], limit, offset);
    return { jobs: page.jobs.map((stored) => this.view(stored)), total: page.total, limit, offset };
  }

  eventsSince(lastEventId: number): JobEvent[] | undefined {
    return this.events.since(lastEventId);
  }

  subscribe(listener: (event: JobEvent) => void): () => void {
    this.emitter.on('job', listener);
    return () => this.emitter.off('job', listener);
  }

  /** Publishes `updated` with the job as it is now, for changes made outside the service (its movie). */
  announceUpdate(id: string): void {
    if (this.closed !== undefined) return;
    const stored = this.jobs.get(id);
    if (stored !== undefined) this.publish('updated', this.view(stored));
  }

  health(): { ok: boolean; activeDownloads: number; queued: number } {
    try {
      const counts = this.jobs.countByStatus();
      return { ok: this.closed === undefined, activeDownloads: this.active.size, queued: counts.queued ?? 0 };
    } catch {
      return { ok: false, activeDownloads: this.active.size, queued: 0 };
    }
  }

  /** Saves every running job's resume data (files synced), stops the engine, closes the database. */
  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  private async shutdown(): Promise<void> {
    await Promise.allSettled([...this.locks.values()]);
    for (const id of this.active) {
      // A failed save must not keep the engine running or the database open.
      this.safely(id, () => {
        const stored = this.jobs.get(id);
        if (stored !== undefined) this.saveResume(id, stored, { synced: true });
      });
    }
    for (const seeding of this.seeding.values()) clearTimeout(seeding.timer);
    this.seeding.clear();
    try {
      await this.downloader.destroy();
    } finally {
      this.active.clear();
      this.db.close();
    }
  }

  // ---- restart ----------------------------------------------------------------------------

  /**
   * Brings back every job as it was: downloading and queued jobs continue (queued in their old
   * order), paused and failed ones stay, completed ones stay unless their files are gone.
   */
  private restore(): void {
    for (const stored of this.jobs.all()) {
      const { job } = stored;
      if (job.status === 'downloading' || job.status === 'verifying') {
        this.setStatus(job.id, 'queued', undefined);
      } else if (job.status === 'completed' && job.savePath !== undefined && job.files !== undefined) {
        const wanted = job.files.filter((_, index) => job.selectedFiles?.includes(index) ?? true);
        const missing = missingFiles(job.savePath, wanted);
        if (missing.length > 0) {
          const message = `Files missing or changed since completion: ${missing.slice(0, 5).join(', ')}.`;
          this.setStatus(job.id, 'files_missing', { code: 'files_missing', message });
          this.publish('files_missing', this.require(job.id));
        }
      }
    }
  }

  // ---- the queue --------------------------------------------------------------------------

  /** Starts queued jobs, oldest first, while there are free slots. */
  private async pump(): Promise<void> {
    if (this.pumping || this.closed !== undefined) return;
    this.pumping = true;
    try {
      this.retryUnsaved();
      while (this.active.size < this.maxActive && this.closed === undefined) {
        const next = this.jobs.page(['queued'], 1, 0).jobs[0];
        if (next === undefined) break;
        await this.startOnDriver(next);
      }
    } finally {
      this.pumping = false;
    }
  }

  private async startOnDriver(stored: StoredJob): Promise<void> {
    const { job } = stored;
    this.active.add(job.id);
    this.setStatus(job.id, 'downloading', undefined);
    try {
      const resume = this.usableResume(stored);
      const started = this.downloader.start(
        {
          id: job.id,
          sourceType: job.sourceType,
          ...(stored.torrentFile === undefined ? { sourceUrn: job.sourceUrn } : { torrentFile: stored.torrentFile }),
        },
        {
          ...(resume === undefined ? {} : { resume }),
          ...(job.selectedFiles === undefined ? {} : { selectedFiles: job.selectedFiles }),
          sequential: job.sequential,
        },
      );
      this.starting.set(job.id, started);
      await started;
      this.lastPersisted.set(job.id, this.now());
    } catch (error) {
      this.active.delete(job.id);
      this.live.delete(job.id);
      const failure = toChillyError(error, 'download_failed');
      this.recordStatus(job.id, 'error', failure.toJSON());
      this.publish('error', this.require(job.id));
    } finally {
      this.starting.delete(job.id);
    }
  }

  private usableResume(stored: StoredJob): ResumeState | undefined {
    const data = this.resumeData.get(stored.job.id);
    if (data === undefined || stored.job.savePath === undefined) return undefined;
    const check = resumeDataStillValid(data, stored.job.savePath);
    if (!check.valid) {
      this.warn(`Job ${stored.job.id}: full re-check of its data, because ${check.reason}.`);
      this.resumeData.delete(stored.job.id);
      return undefined;
    }
    return { bitfield: data.bitfield, torrentFile: data.torrentFile };
  }

  /** Takes a job off the driver (its data stays), saving resume data first when asked. */
  private async release(id: string, stored: StoredJob, options: { keepResume: boolean }): Promise<void> {
    await this.starting.get(id)?.catch(() => undefined);
    this.safely(id, () => {
      if (options.keepResume) this.saveResume(id, stored, { synced: false });
      this.persistProgress(id);
    });
    this.active.delete(id);
    const seeding = this.seeding.get(id);
    if (seeding !== undefined) clearTimeout(seeding.timer);
    this.seeding.delete(id);
    this.live.delete(id);
    this.lastPersisted.delete(id);
    try {
      await this.downloader.cancel(id, { keepData: true });
    } catch (error) {
      if (!isChillyError(error, 'job_not_found')) throw error;
    }
  }

  // ---- driver events ----------------------------------------------------------------------

  private listenToDriver(): void {
    const d = this.downloader;
    d.on('started', (job) => this.onDriverUpdate(job, 'started'));
    d.on('metadata', (job) => this.onMetadata(job));
    d.on('progress', (job) => this.onProgress(job));
    d.on('completed', (job) => this.onCompleted(job));
    d.on('error', (error, job) => this.onDriverError(error, job));
  }

  private isOurs(id: string): boolean {
    return this.closed === undefined && (this.active.has(id) || this.seeding.has(id));
  }

  private onDriverUpdate(job: Job, type: JobEventType): void {
    if (!this.isOurs(job.id)) return;
    this.live.set(job.id, job);
    this.publish(type, this.require(job.id));
  }

  private onMetadata(job: Job): void {
    if (!this.isOurs(job.id)) return;
    this.live.set(job.id, job);
    this.safely(job.id, () => {
      // Only what the metadata says: the engine may not have counted the data on disk yet.
      this.jobs.setMetadata(job.id, { name: job.name, files: job.files, bytesTotal: job.progress.bytesTotal });
      const state = this.downloader.resumeState?.(job.id);
      if (state !== undefined) this.jobs.setTorrentFile(job.id, state.torrentFile);
    });
  }

  private onProgress(job: Job): void {
    if (!this.isOurs(job.id)) return;
    this.live.set(job.id, job);
    const now = this.now();
    if (now - (this.lastPersisted.get(job.id) ?? 0) >= this.persistIntervalMs) {
      this.lastPersisted.set(job.id, now);
      this.safely(job.id, () => {
        this.persistProgress(job.id);
        const stored = this.jobs.get(job.id);
        if (stored !== undefined && this.active.has(job.id)) this.saveResume(job.id, stored, { synced: false });
      });
    }
    this.publish('progress', this.require(job.id));
    if (this.seeding.has(job.id)) this.checkSeedRatio(job);
  }

  private onCompleted(job: Job): void {
    if (!this.active.has(job.id) || this.closed !== undefined) return;
    this.live.set(job.id, job);
    this.active.delete(job.id);
    this.safely(job.id, () => this.persistProgress(job.id));
    this.recordStatus(job.id, 'completed', undefined);
    this.safely(job.id, () => this.resumeData.delete(job.id));
    this.publish('completed', this.require(job.id));
    this.startSeeding(job);
    void this.pump();
  }

  private onDriverError(error: ChillyError, job: Job): void {
    if (!this.isOurs(job.id)) return;
    const wasSeeding = this.seeding.has(job.id);
    this.withLock(job.id, async () => {
      const stored = this.jobs.get(job.id);
      if (stored === undefined) return;
      await this.release(job.id, stored, { keepResume: !wasSeeding });
      if (wasSeeding) {
        // The movie is complete; a seeding failure only ends the upload.
        this.warn(`Job ${job.id}: seeding stopped: ${error.message}`);
        this.publish('seeding_stopped', this.require(job.id));
      } else {
        this.recordStatus(job.id, 'error', error.toJSON());
        this.publish('error', this.require(job.id));
      }
      await this.pump();
    }).catch((cause: unknown) => this.warn(`Job ${job.id}: could not handle an engine error`, cause));
  }

  // ---- seeding ----------------------------------------------------------------------------

  private startSeeding(job: Job): void {
    const { ratio, minutes } = this.seedingPolicy;
    if (ratio === 0 || minutes === 0) {
      void this.stopSeeding(job.id);
      return;
    }
    const timer = setTimeout(() => void this.stopSeeding(job.id), minutes * 60_000);
    timer.unref();
    this.seeding.set(job.id, { timer });
  }

  private checkSeedRatio(job: Job): void {
    const total = job.progress.bytesTotal ?? 0;
    if (total > 0 && job.progress.bytesUploaded / total >= this.seedingPolicy.ratio) void this.stopSeeding(job.id);
  }

  private stopSeeding(id: string): Promise<void> {
    return this.withLock(id, () => this.stopSeedingNow(id));
  }

  /** Ends a completed job's upload; the caller holds the job's lock. */
  private async stopSeedingNow(id: string): Promise<void> {
    const seeding = this.seeding.get(id);
    this.seeding.delete(id);
    if (seeding !== undefined) clearTimeout(seeding.timer);
    this.persistProgress(id);
    this.live.delete(id);
    try {
      await this.downloader.cancel(id, { keepData: true });
    } catch (error) {
      if (!isChillyError(error, 'job_not_found')) this.warn(`Job ${id}: could not stop seeding`, error);
    }
    const stored = this.jobs.get(id);
    if (stored !== undefined) this.publish('seeding_stopped', this.view(stored));
  }

  // ---- persistence helpers ----------------------------------------------------------------

  private progressFields(job: Job): { bytesDone: number; bytesTotal: number | null; bytesUploaded: number } {
    return {
      bytesDone: job.progress.bytesDone,
      bytesTotal: job.progress.bytesTotal,
      bytesUploaded: job.progress.bytesUploaded,
    };
  }

  private persistProgress(id: string): void {
    const live = this.live.get(id);
    if (live !== undefined) this.jobs.setProgress(id, this.progressFields(live));
  }

  private saveResume(id: string, stored: StoredJob, options: { synced: boolean }): void {
    const state = this.downloader.resumeState?.(id);
    const files = this.live.get(id)?.files ?? stored.job.files;
    if (state === undefined || files === undefined || stored.job.savePath === undefined) return;
    if (options.synced) syncFiles(stored.job.savePath, files);
    this.resumeData.save(id, captureResumeData(state, stored.job.savePath, files, options));
  }

  private setStatus(
    id: string,
    status: JobStatus,
    error: { code: ChillyError['code']; message: string } | undefined,
  ): void {
    this.jobs.setStatus(id, status, error, new Date().toISOString());
    // A status written now supersedes one the database refused earlier.
    this.unsaved.delete(id);
  }

  /**
   * For status changes that come from the engine, not from a caller: if the database refuses the
   * write (say its disk is full too), the change is still shown and is written again later.
   */
  private recordStatus(id: string, status: JobStatus, error: JobError | undefined): void {
    try {
      this.setStatus(id, status, error);
    } catch (cause) {
      this.unsaved.set(id, { status, error });
      this.warn(`Job ${id}: could not save its new status (${status}); will retry`, cause);
    }
  }

  private retryUnsaved(): void {
    for (const [id, { status, error }] of this.unsaved) {
      try {
        this.setStatus(id, status, error);
      } catch {
        return;
      }
    }
  }

  /** Background writes have no caller to fail: report them instead of crashing the process. */
  private safely(id: string, write: () => void): void {
    try {
      write();
    } catch (error) {
      this.warn(`Job ${id}: could not save its state`, error);
    }
  }

  // ---- views, locks, events -----------------------------------------------------------------

  /** The job as callers see it: `liveView`, plus its movie when the service was given `movies`. */
  private view(stored: StoredJob): Job {
    const job = this.liveView(stored);
    if (this.movies === undefined) return job;
    let movie: JobMovie | null = null;
    try {
      movie = this.movies(job.id);
    } catch {
      // Decoration only: a failed read must not fail a status call or a progress event.
    }
    return { ...job, movie };
  }

  /** The stored job with live transfer figures where the driver has fresher ones. */
  private liveView(stored: StoredJob): Job {
    const pending = this.unsaved.get(stored.job.id);
    if (pending !== undefined) {
      const { error: _saved, ...rest } = stored.job;
      stored = {
        ...stored,
        job: { ...rest, status: pending.status, ...(pending.error ? { error: pending.error } : {}) },
      };
    }
    const live = this.live.get(stored.job.id);
    if (live === undefined) return stored.job;
    const name = live.name ?? stored.job.name;
    const files = live.files ?? stored.job.files;
    return {
      ...stored.job,
      // The driver knows when a running job is still checking its data.
      status: stored.job.status === 'downloading' && live.status === 'verifying' ? 'verifying' : stored.job.status,
      ...(name === undefined ? {} : { name }),
      ...(files === undefined ? {} : { files }),
      progress: live.progress,
    };
  }

  private require(id: string): Job {
    return this.view(this.jobs.require(id));
  }

  private publish(type: JobEventType, job: Job): void {
    const event = this.events.append(type, job);
    this.emitter.emit('job', event);
  }

  private command(id: string, command: Command, action: (stored: StoredJob) => Promise<Job>): Promise<Job> {
    this.assertOpen();
    return this.withLock(id, async () => {
      const stored = this.jobs.require(id);
      assertTransition(this.view(stored), command);
      return action(stored);
    });
  }

  private withLock<T>(id: string, action: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(id) ?? Promise.resolve();
    const run = previous.then(action, action);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(id, settled);
    void settled.then(() => {
      if (this.locks.get(id) === settled) this.locks.delete(id);
    });
    return run;
  }

  private assertOpen(): void {
    if (this.closed !== undefined) throw new ChillyError('downloader_destroyed', 'The download service is closed.');
  }
}
