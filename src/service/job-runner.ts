import type { SeedingPolicy } from '../config/chilly-config.js';
import { type ChillyError, isChillyError, toChillyError } from '../domain/errors.js';
import type { Job, JobError, JobSeedingPolicy, TrackerEdits } from '../domain/job.js';
import type { RateLimits } from '../domain/rate-limits.js';
import type { Downloader } from '../downloaders/downloader.js';
import type { TorrentSource } from '../downloaders/torrent-source.js';
import type { JobsRepository, StoredJob } from '../storage/jobs-repository.js';
import type { JobEventBus } from './job-event-bus.js';
import { jobHasData } from './job-footprint.js';
import type { JobViews } from './job-views.js';
import type { KeyedLock } from './keyed-lock.js';
import type { LiveJobs } from './live-jobs.js';
import { Seeding } from './seeding.js';
import type { StatusWriter } from './status-writer.js';

export interface JobRunnerOptions {
  jobs: JobsRepository;
  downloader: Downloader;
  /** Jobs downloading at once; the rest wait as `queued`. */
  maxActive: number;
  seedingPolicy: SeedingPolicy;
  locks: KeyedLock;
  events: JobEventBus;
  statuses: StatusWriter;
  live: LiveJobs;
  views: JobViews;
  warn: (message: string, cause?: unknown) => void;
  /** Whether the service is closing: nothing is started, and the engine's events are ignored. */
  isClosed: () => boolean;
  /** The user's changes to a job's tracker list, handed to the engine at every start. */
  trackerEdits?: (id: string) => TrackerEdits;
  /** A job's own seeding policy, over `seedingPolicy`. */
  seedingPolicyOf?: (id: string) => JobSeedingPolicy | undefined;
  /** A job's own speed limits, handed to the engine at every start. */
  jobRateLimits?: (id: string) => RateLimits | undefined;
}

/**
 * The jobs handed to the engine: the queue that starts them, the download slots they hold, and
 * what the engine reports about them (metadata, progress, completion, failure).
 */
/** How many just-added sources are kept for their start (see JobRunner.checkedSources). */
const MAX_CHECKED_SOURCES = 8;

export class JobRunner {
  /** Completed jobs still in the engine, uploading. */
  readonly seeding: Seeding;
  /** driver.start calls in flight: a release must wait for them, or the driver would keep the job. */
  private readonly starting = new Map<string, Promise<unknown>>();
  /** Jobs handed to the driver and not finished: they hold a download slot. */
  private readonly active = new Set<string>();
  /**
   * Jobs paused in the engine (its own `pause`): the engine keeps them, so a resume continues them
   * there instead of adding them again (which a remote engine would answer with a full re-check).
   */
  private readonly held = new Set<string>();
  /**
   * Sources the service has just read and checked (`add`), handed to the driver when the job starts
   * so it does not read and parse the same .torrent again; the last few only, since a queued job
   * may wait long (after a restart the driver reads the stored bytes itself).
   */
  private readonly checkedSources = new Map<string, TorrentSource>();
  private pumping = false;

  private readonly jobs: JobsRepository;
  private readonly downloader: Downloader;
  private readonly maxActive: number;
  private readonly locks: KeyedLock;
  private readonly events: JobEventBus;
  private readonly statuses: StatusWriter;
  private readonly live: LiveJobs;
  private readonly views: JobViews;
  private readonly warn: (message: string, cause?: unknown) => void;
  private readonly isClosed: () => boolean;
  private readonly trackerEdits: ((id: string) => TrackerEdits) | undefined;
  private readonly jobRateLimits: ((id: string) => RateLimits | undefined) | undefined;

  constructor(options: JobRunnerOptions) {
    this.trackerEdits = options.trackerEdits;
    this.jobRateLimits = options.jobRateLimits;
    this.jobs = options.jobs;
    this.downloader = options.downloader;
    this.maxActive = options.maxActive;
    this.locks = options.locks;
    this.events = options.events;
    this.statuses = options.statuses;
    this.live = options.live;
    this.views = options.views;
    this.warn = options.warn;
    this.isClosed = options.isClosed;
    this.seeding = new Seeding({
      policy: options.seedingPolicy,
      ...(options.seedingPolicyOf === undefined ? {} : { policyOf: options.seedingPolicyOf }),
      locks: this.locks,
      live: this.live,
      letGo: (id) => this.letGo(id),
      stopped: (id) => {
        const stored = this.jobs.get(id);
        if (stored !== undefined) this.events.publish('seeding_stopped', this.views.view(stored));
      },
      warn: this.warn,
    });
  }

  /** Jobs holding a download slot. */
  get activeCount(): number {
    return this.active.size;
  }

  /** Whether the job holds a download slot. */
  isActive(id: string): boolean {
    return this.active.has(id);
  }

  /** Whether the job is in the engine: downloading, or completed and seeding. */
  isRunning(id: string): boolean {
    return this.active.has(id) || this.seeding.has(id);
  }

  /** Starts queued jobs, oldest first, while there are free slots. */
  async pump(): Promise<void> {
    if (this.pumping || this.isClosed()) return;
    this.pumping = true;
    try {
      this.statuses.retryUnsaved();
      while (this.active.size < this.maxActive && !this.isClosed()) {
        const next = this.jobs.nextQueued();
        if (next === undefined) break;
        await this.start(next);
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Whether the engine holds the job paused (see `held`). */
  holds(id: string): boolean {
    return this.held.has(id);
  }

  /**
   * Pauses a running job in the engine (pause means pause): its resume data and progress are saved
   * first, and its slot goes to the next queued job. An engine that can no longer pause it lets it go.
   */
  async pause(id: string, stored: StoredJob): Promise<void> {
    await this.leaveSlot(id, stored, { keepResume: true });
    try {
      await this.downloader.pause(id);
      this.held.add(id);
    } catch (error) {
      if (!isChillyError(error, 'job_not_found')) await this.letGo(id);
    }
  }

  /** Takes a job off the driver (its data stays), saving resume data first when asked. */
  async release(id: string, stored: StoredJob, options: { keepResume: boolean }): Promise<void> {
    if (this.held.delete(id)) {
      await this.letGo(id);
      return;
    }
    await this.leaveSlot(id, stored, options);
    await this.letGo(id);
  }

  /**
   * The engine has been asked to check a job's data in place (an external engine's own recheck):
   * the job keeps its torrent there. A completed one is downloading again (shown `verifying` while
   * the engine checks) and completes, and seeds, again when the engine says so; others go on as
   * they were (a paused one stays paused).
   */
  rechecking(id: string, live: Job | undefined): void {
    const stored = this.jobs.get(id);
    if (stored === undefined || this.statuses.shown(stored.job).status !== 'completed') return;
    this.seeding.forget(id);
    this.active.add(id);
    if (live !== undefined) this.live.update(live);
    this.statuses.record(id, 'downloading', undefined);
  }

  /** A running job gives up its slot: its progress is saved, and its resume data when asked. */
  private async leaveSlot(id: string, stored: StoredJob, options: { keepResume: boolean }): Promise<void> {
    await this.starting.get(id)?.catch(() => undefined);
    this.safely(id, () => {
      if (options.keepResume) this.live.saveResume(id, stored, { synced: false });
      this.live.persistProgress(id);
    });
    this.active.delete(id);
    this.seeding.forget(id);
    this.live.forget(id);
  }

  /** Saves every running job's resume data (files synced), then stops the engine. */
  async stop(): Promise<void> {
    for (const id of this.active) {
      // A failed save must not keep the engine running or the database open.
      this.safely(id, () => {
        this.live.persistFootprint(id);
        const stored = this.jobs.get(id);
        if (stored !== undefined) this.live.saveResume(id, stored, { synced: true });
      });
    }
    this.seeding.clear();
    try {
      await this.downloader.destroy();
    } finally {
      this.active.clear();
    }
  }

  /** Keeps the source `add` read for `id` until the job starts (see checkedSources). */
  rememberSource(id: string, source: TorrentSource): void {
    this.checkedSources.delete(id);
    this.checkedSources.set(id, source);
    for (const oldest of this.checkedSources.keys()) {
      if (this.checkedSources.size <= MAX_CHECKED_SOURCES) break;
      this.checkedSources.delete(oldest);
    }
  }

  private async start(stored: StoredJob): Promise<void> {
    const { job } = stored;
    const source = this.checkedSources.get(job.id);
    this.checkedSources.delete(job.id);
    this.active.add(job.id);
    const resuming = this.held.delete(job.id);
    try {
      this.statuses.write(job.id, 'downloading', undefined);
      if (resuming) {
        await this.resumeHeld(stored);
        return;
      }
      const resume = this.live.usableResume(stored);
      const trackers = job.sourceType === 'torrent' ? this.trackerEdits?.(job.id) : undefined;
      const rateLimits = this.jobRateLimits?.(job.id);
      const started = this.downloader.start(
        {
          id: job.id,
          sourceType: job.sourceType,
          ...(stored.torrentFile === undefined ? { sourceUrn: job.sourceUrn } : { torrentFile: stored.torrentFile }),
        },
        {
          ...(job.savePath === undefined ? {} : { savePath: job.savePath }),
          hasData: jobHasData(stored),
          ...(job.files === undefined ? {} : { diskPaths: job.files.map((file) => file.path) }),
          ...(resume === undefined ? {} : { resume }),
          ...(source === undefined ? {} : { source }),
          ...(job.selectedFiles === undefined ? {} : { selectedFiles: job.selectedFiles }),
          sequential: job.sequential,
          ...(trackers === undefined ? {} : { trackers }),
          ...(rateLimits === undefined ? {} : { rateLimits }),
        },
      );
      this.starting.set(job.id, started);
      await started;
      this.live.started(job.id);
    } catch (error) {
      this.active.delete(job.id);
      this.live.drop(job.id);
      // An engine that could not resume a job it held must not keep it (a later start would be a duplicate).
      if (resuming) await this.letGo(job.id).catch(() => undefined);
      this.fail(job.id, toChillyError(error, 'download_failed').toJSON());
    } finally {
      this.starting.delete(job.id);
    }
  }

  /** Resumes in the engine a job it held paused, with the file choice made meanwhile. */
  private async resumeHeld(stored: StoredJob): Promise<void> {
    const { job } = stored;
    const resumed = this.downloader.resume(job.id);
    this.starting.set(job.id, resumed);
    this.live.update(await resumed);
    if (this.downloader.capabilities.fileSelection && this.downloader.capabilities.sequentialPieces) {
      this.downloader.setFileOptions?.(job.id, {
        selectedFiles: job.selectedFiles ?? null,
        sequential: job.sequential,
      });
    }
    this.live.started(job.id);
    this.events.publish('started', this.views.require(job.id));
  }

  /** Takes a job off the driver, its data kept; one the driver no longer has is off already. */
  private async letGo(id: string): Promise<void> {
    try {
      await this.downloader.cancel(id, { keepData: true });
    } catch (error) {
      if (!isChillyError(error, 'job_not_found')) throw error;
    }
  }

  /** The job failed: it is in `error` (shown even if the database refuses the write). */
  private fail(id: string, error: JobError): void {
    this.statuses.record(id, 'error', error);
    this.events.publish('error', this.views.require(id));
  }

  // ---- driver events ----------------------------------------------------------------------

  /** Listens to the driver's events for the life of the service. */
  listen(): void {
    const d = this.downloader;
    d.on('started', (job) => this.onStarted(job));
    d.on('metadata', (job) => this.onMetadata(job));
    d.on('progress', (job) => this.onProgress(job));
    d.on('completed', (job) => this.onCompleted(job));
    d.on('error', (error, job) => this.onDriverError(error, job));
  }

  private isOurs(id: string): boolean {
    return !this.isClosed() && this.isRunning(id);
  }

  /** Takes in the driver's figures for a job that is ours; false (and nothing done) for any other. */
  private track(job: Job): boolean {
    if (!this.isOurs(job.id)) return false;
    this.live.update(job);
    return true;
  }

  private onStarted(job: Job): void {
    if (!this.track(job)) return;
    this.events.publish('started', this.views.require(job.id));
  }

  private onMetadata(job: Job): void {
    if (!this.track(job)) return;
    this.safely(job.id, () => {
      // Only what the metadata says: the engine may not have counted the data on disk yet.
      this.jobs.setMetadata(job.id, { name: job.name, files: job.files, bytesTotal: job.progress.bytesTotal });
      const state = this.downloader.resumeState?.(job.id);
      if (state !== undefined) this.jobs.setTorrentFile(job.id, state.torrentFile);
    });
  }

  private onProgress(job: Job): void {
    if (!this.track(job)) return;
    this.followStall(job);
    if (this.live.persistDue(job.id)) {
      this.safely(job.id, () => {
        this.live.persistProgress(job.id);
        const stored = this.jobs.get(job.id);
        if (stored !== undefined && this.active.has(job.id)) this.live.saveResume(job.id, stored, { synced: false });
      });
    }
    this.events.publish('progress', this.views.require(job.id));
    this.seeding.checkRatio(job);
  }

  /**
   * The driver says whether data flows; `stalled` is kept (and announced) like any other status,
   * with the driver's reason when it has one (an external engine that does not answer).
   */
  private followStall(job: Job): void {
    const stored = this.jobs.get(job.id);
    if (stored === undefined) return;
    const shown = this.statuses.shown(stored.job);
    const saved = shown.status;
    if (job.status === 'stalled' && saved === 'downloading') {
      this.statuses.record(job.id, 'stalled', job.error);
      this.events.publish('stalled', this.views.require(job.id));
    } else if (job.status === 'stalled' && saved === 'stalled' && job.error?.code !== shown.error?.code) {
      this.statuses.record(job.id, 'stalled', job.error);
      this.events.publish('stalled', this.views.require(job.id));
    } else if (job.status === 'downloading' && saved === 'stalled') {
      this.statuses.record(job.id, 'downloading', undefined);
    }
  }

  private onCompleted(job: Job): void {
    if (!this.active.has(job.id) || this.isClosed()) return;
    this.live.update(job);
    this.active.delete(job.id);
    this.safely(job.id, () => this.live.persistProgress(job.id));
    this.statuses.record(job.id, 'completed', undefined);
    this.safely(job.id, () => this.live.deleteResume(job.id));
    this.events.publish('completed', this.views.require(job.id));
    this.seeding.start(job);
    void this.pump();
  }

  private onDriverError(error: ChillyError, job: Job): void {
    if (!this.isOurs(job.id)) return;
    const wasSeeding = this.seeding.has(job.id);
    this.locks
      .run(job.id, async () => {
        const stored = this.jobs.get(job.id);
        if (stored === undefined) return;
        await this.release(job.id, stored, { keepResume: !wasSeeding });
        if (wasSeeding && error.code === 'path_missing') {
          // The finished film's files went away while it was uploading.
          this.statuses.record(job.id, 'files_missing', { code: 'files_missing', message: error.message });
          this.events.publish('files_missing', this.views.require(job.id));
        } else if (wasSeeding) {
          // The movie is complete; a seeding failure only ends the upload.
          this.warn(`Job ${job.id}: seeding stopped: ${error.message}`);
          this.events.publish('seeding_stopped', this.views.require(job.id));
        } else {
          this.fail(job.id, error.toJSON());
        }
        await this.pump();
      })
      .catch((cause: unknown) => this.warn(`Job ${job.id}: could not handle an engine error`, cause));
  }

  /** Background writes have no caller to fail: report them instead of crashing the process. */
  private safely(id: string, write: () => void): void {
    try {
      write();
    } catch (error) {
      this.warn(`Job ${id}: could not save its state`, error);
    }
  }
}
