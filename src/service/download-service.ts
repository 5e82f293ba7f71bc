import { existsSync } from 'node:fs';
import path from 'node:path';
import type { SeedingPolicy } from '../config/chilly-config.js';
import { DEFAULTS } from '../config/defaults.js';
import { ChillyError, isChillyError } from '../domain/errors.js';
import {
  assertValidJobId,
  emptyProgress,
  type Job,
  type JobMovie,
  type JobPeer,
  type JobSeedingPolicy,
  type JobTracker,
  type QueueMove,
  SOURCE_TYPES,
  type SourceType,
} from '../domain/job.js';
import type { JobEvent, JobEventType } from '../domain/job-event.js';
import { disambiguatedJobId, jobIdFromName } from '../domain/job-id.js';
import { assertTransition, type Command } from '../domain/job-state-machine.js';
import { checkedRateLimits, type RateLimits } from '../domain/rate-limits.js';
import { assertCapability, type Downloader } from '../downloaders/downloader.js';
import { resolveHttpSource } from '../downloaders/http/http-source.js';
import { newJobFromSource, resolveTorrentSource, type TorrentSource } from '../downloaders/torrent-source.js';
import type { SqliteDatabase } from '../storage/database.js';
import { JobMovesRepository } from '../storage/job-moves-repository.js';
import { JobTrackersRepository } from '../storage/job-trackers-repository.js';
import { JobsRepository, type StoredJob } from '../storage/jobs-repository.js';
import { JobRateLimitsRepository, RateLimitsRepository } from '../storage/rate-limits-repository.js';
import { ResumeRepository } from '../storage/resume-repository.js';
import { SeedingPoliciesRepository } from '../storage/seeding-policies-repository.js';
import type {
  AddJobRequest,
  AddJobResult,
  DownloadServiceApi,
  EngineInfo,
  FileOptions,
  JobFileStream,
  JobPage,
  ListJobsQuery,
} from './download-service-api.js';
import { fileOptionsChange } from './file-selection.js';
import { type FileStreamingSource, openJobFile } from './file-streaming.js';
import { JobDataMover } from './job-data-mover.js';
import { JobEventBus } from './job-event-bus.js';
import { jobHasData, mergeFootprints } from './job-footprint.js';
import { JobRunner } from './job-runner.js';
import { JobSubtitleReader } from './job-subtitles.js';
import { JobTrackerLists, type TrackerChange } from './job-trackers.js';
import { JobViews } from './job-views.js';
import { KeyedLock } from './keyed-lock.js';
import { LiveJobs } from './live-jobs.js';
import { pageBounds } from './paging.js';
import { missingFiles } from './resume-data.js';
import { StatusWriter } from './status-writer.js';

export interface DownloadServiceOptions {
  /** Opened with `openDatabase`; the service closes it in `close()`. */
  database: SqliteDatabase;
  /** The engine; the service destroys it in `close()`. */
  downloader: Downloader;
  /** Jobs downloading at once; the rest wait as `queued`. Default `DEFAULTS.maxActiveDownloads`. */
  maxActiveDownloads?: number;
  /** Progress and resume data are written at most this often per job. Default 2 s. */
  persistIntervalMs?: number;
  /** When a completed job stops uploading (a ratio or minutes, whichever comes first). Default `DEFAULTS.seeding`. */
  seeding?: SeedingPolicy;
  /** Milliseconds clock for the persist throttle; tests pass a fake one. */
  now?: () => number;
  /**
   * Speed limits until one is set while the service runs (`setRateLimits`, kept in the database):
   * bytes per second, 0 for none. Default: none.
   */
  rateLimits?: RateLimits;
  /** Called with problems that have no caller to report to (e.g. a failed background write). */
  onWarning?: (message: string, cause?: unknown) => void;
  /**
   * Folders a job's data may be moved into (`moveData`), anywhere below them. Default: none (every
   * move is refused); the server passes the media root and CHILLY_MOVE_ROOTS.
   */
  moveRoots?: readonly string[];
  /**
   * The movie each job is linked to (see movie-linker.ts); when given, every job the service
   * returns or publishes carries `movie` (null when unknown).
   */
  movies?: (jobId: string) => JobMovie | null;
  /** The movies of many jobs in one read, for pages of jobs (a job missing from the map has none). */
  moviesOf?: (jobIds: readonly string[]) => ReadonlyMap<string, JobMovie>;
}

/**
 * The one place where download business logic lives: a persistent queue of jobs with an explicit
 * state machine, driving a `Downloader`. Every state change is in SQLite before the call that
 * caused it returns; progress and resume data are written at a bounded rate.
 *
 * This class takes the callers' commands and queries; the jobs in the engine are `JobRunner`'s
 * (the queue, the driver's events, and `Seeding` for completed jobs still uploading).
 */
export class DownloadService implements DownloadServiceApi {
  private readonly jobs: JobsRepository;
  private readonly limits: RateLimitsRepository;
  private readonly jobLimits: JobRateLimitsRepository;
  /** The limits from the configuration, in force until others are set. */
  private readonly startLimits: RateLimits;
  private readonly events = new JobEventBus();
  /** Serialises commands on one job. */
  private readonly locks = new KeyedLock();
  private readonly statuses: StatusWriter;
  private readonly views: JobViews;
  private readonly runner: JobRunner;
  private readonly live: LiveJobs;
  private readonly streaming: FileStreamingSource;
  private readonly mover: JobDataMover;
  private readonly trackerLists: JobTrackerLists;
  private readonly seedingPolicies: SeedingPoliciesRepository;
  private readonly subtitleReader = new JobSubtitleReader({
    get: (id) => this.views.require(id),
    openFile: (id, fileIndex) => openJobFile(this.streaming, id, fileIndex),
    localPath: (job, fileIndex) => {
      const file = job.files?.[fileIndex];
      if (file === undefined || job.savePath === undefined) return undefined;
      if (!this.driverOf(job.sourceType).capabilities.localFiles) return undefined;
      return path.join(job.savePath, ...file.path.split('/'));
    },
    changed: (id) => this.announceUpdate(id),
  });
  private readonly warn: (message: string, cause?: unknown) => void;
  private closed: Promise<void> | undefined;

  private constructor(
    private readonly db: SqliteDatabase,
    private readonly downloader: Downloader,
    options: DownloadServiceOptions,
  ) {
    this.jobs = new JobsRepository(db);
    this.limits = new RateLimitsRepository(db);
    this.jobLimits = new JobRateLimitsRepository(db);
    this.startLimits = options.rateLimits ?? { downloadBytesPerSecond: 0, uploadBytesPerSecond: 0 };
    const resumeData = new ResumeRepository(db);
    const maxActive = options.maxActiveDownloads ?? DEFAULTS.maxActiveDownloads;
    if (!Number.isInteger(maxActive) || maxActive < 1) {
      throw new ChillyError('validation_failed', 'maxActiveDownloads must be an integer >= 1.');
    }
    const warn = options.onWarning ?? (() => undefined);
    this.warn = warn;
    this.statuses = new StatusWriter(this.jobs, warn);
    const live = new LiveJobs({
      jobs: this.jobs,
      resumeData,
      downloader,
      persistIntervalMs: options.persistIntervalMs ?? 2_000,
      now: options.now ?? Date.now,
      warn,
    });
    this.live = live;
    // The runner (made next) knows which completed jobs still upload.
    this.views = new JobViews(this.jobs, this.statuses, live, {
      ...(options.movies === undefined ? {} : { movies: options.movies }),
      ...(options.moviesOf === undefined ? {} : { moviesOf: options.moviesOf }),
      seeding: (job) => this.runner.seeding.describe(job),
      move: (id) => this.mover.progress(id),
      subtitles: (job) => this.subtitleReader.all(job),
      rateLimits: (id) => this.jobLimits.get(id),
      rateLimitsOf: (ids) => this.jobLimits.getMany(ids),
    });
    this.trackerLists = new JobTrackerLists({
      repository: new JobTrackersRepository(db),
      driverOf: (sourceType) => this.driverOf(sourceType),
      isRunning: (id) => this.runner.isRunning(id),
    });
    const seedingPolicies = new SeedingPoliciesRepository(db);
    this.seedingPolicies = seedingPolicies;
    this.runner = new JobRunner({
      trackerEdits: (id) => this.trackerLists.edits(id),
      seedingPolicyOf: (id) => seedingPolicies.get(id),
      jobRateLimits: (id) => this.jobLimits.get(id),
      jobs: this.jobs,
      downloader,
      maxActive,
      seedingPolicy: options.seeding ?? DEFAULTS.seeding,
      locks: this.locks,
      events: this.events,
      statuses: this.statuses,
      live,
      views: this.views,
      warn,
      isClosed: () => this.closed !== undefined,
    });
    this.mover = new JobDataMover({
      jobs: this.jobs,
      moves: new JobMovesRepository(db, this.jobs),
      runner: this.runner,
      statuses: this.statuses,
      locks: this.locks,
      driverOf: (sourceType) => this.driverOf(sourceType),
      roots: options.moveRoots ?? [],
      publish: (id, type) => {
        if (this.closed !== undefined) return;
        const stored = this.jobs.get(id);
        if (stored !== undefined) this.events.publish(type, this.views.view(stored));
      },
      pump: () => this.runner.pump(),
      warn,
    });
    this.streaming = {
      require: (id) => this.views.require(id),
      isRunning: (id) => this.runner.isRunning(id),
      subscribe: (listener) => this.subscribe(listener),
      driverOf: (job) => this.driverOf(job.sourceType),
    };
  }

  /**
   * Opens the service on a database and restores every job as it was (see `restore`). The queue
   * starts moving as it returns: the jobs that were running start again in the background, so a
   * server answers at once (the engine loads meanwhile) and each job says `queued` until then.
   */
  static async open(options: DownloadServiceOptions): Promise<DownloadService> {
    const service = new DownloadService(options.database, options.downloader, options);
    service.runner.listen();
    // An external engine that does not answer yet gets them when it does (its driver keeps them).
    service.applyRateLimits(service.limits.get() ?? options.rateLimits).catch((error: unknown) => {
      service.warn('The engine did not take the speed limits yet.', error);
    });
    await service.restore();
    service.runner.pump().catch((error: unknown) => {
      service.warn('Starting the queued jobs failed.', error);
    });
    return service;
  }

  async add(request: AddJobRequest): Promise<AddJobResult> {
    this.assertOpen();
    if (request === null || typeof request !== 'object') {
      throw new ChillyError('validation_failed', 'A job needs { sourceType, sourceUrn } (and an id of your choice).');
    }
    if (request.sourceType === 'http') return this.addUrl(request);
    if (request.id !== undefined) {
      const { id } = request;
      assertValidJobId(id);
      return this.locks.run(id, async () => this.addAs(id, request, await resolveTorrentSource(request)));
    }
    // No id given: the torrent's own job if it is one already, else one named after the torrent.
    const source = await resolveTorrentSource(request);
    const owner = this.jobs.findByInfoHash(source.infoHash);
    if (owner !== undefined) return { job: this.views.view(owner), created: false };
    const named = jobIdFromName(source);
    try {
      return await this.locks.run(named, async () => this.addAs(named, request, source));
    } catch (error) {
      // That name is another torrent's job: the name plus a piece of this one's hash.
      if (!isChillyError(error, 'duplicate_job')) throw error;
    }
    const other = disambiguatedJobId(source);
    return this.locks.run(other, async () => this.addAs(other, request, source));
  }

  /** Adds the job under `id` (its lock held): the same torrent again is that job; another is refused. */
  private async addAs(id: string, request: AddJobRequest, source: TorrentSource): Promise<AddJobResult> {
    const existing = this.jobs.get(id);
    if (existing !== undefined) {
      if (existing.job.infoHash === source.infoHash) return { job: this.views.view(existing), created: false };
      throw new ChillyError('duplicate_job', `Job ${JSON.stringify(id)} already exists with another source.`);
    }
    const owner = this.jobs.findByInfoHash(source.infoHash);
    if (owner !== undefined) {
      throw new ChillyError(
        'duplicate_torrent',
        `This torrent (${source.infoHash}) is already job ${JSON.stringify(owner.job.id)}.`,
      );
    }
    const parsed = source.kind === 'torrent' ? source.parsed : undefined;
    const savePath = await this.newFolder(id, 'torrent');
    const job = newJobFromSource({ input: { ...request, id }, source, parsed, savePath });
    // A .torrent read from a path is stored too: the file may be gone by the next start.
    const stored = this.jobs.insert(job, source.kind === 'torrent' ? source.torrentFile : undefined, {
      folderCreated: false,
    });
    this.events.publish('added', this.views.view(stored));
    this.runner.rememberSource(id, source);
    await this.runner.pump();
    return { job: this.views.require(id), created: true };
  }

  /**
   * A direct download of a URL: the URL's job if it has one; else a job named after the URL's file
   * name (plus a piece of a hash of the URL when that name is another job's), or `request.id`.
   */
  private async addUrl(request: AddJobRequest): Promise<AddJobResult> {
    const source = resolveHttpSource(request.sourceUrn);
    if (request.id !== undefined) assertValidJobId(request.id);
    const owner = this.jobs.findByUrl(source.url);
    if (owner !== undefined) {
      if (request.id === undefined || request.id === owner.job.id)
        return { job: this.views.view(owner), created: false };
      throw new ChillyError('duplicate_job', `This URL is already job ${JSON.stringify(owner.job.id)}.`);
    }
    const named = { name: source.name, infoHash: source.key };
    const candidates = request.id === undefined ? [jobIdFromName(named), disambiguatedJobId(named)] : [request.id];
    for (const [index, id] of candidates.entries()) {
      const added = await this.locks.run(id, async () => {
        // The same URL added meanwhile (two adds at once): that job is the answer.
        const meanwhile = this.jobs.findByUrl(source.url);
        if (meanwhile !== undefined) return { stored: meanwhile, created: false };
        if (this.jobs.get(id) !== undefined) {
          if (index < candidates.length - 1) return undefined;
          throw new ChillyError('duplicate_job', `Job ${JSON.stringify(id)} already exists with another source.`);
        }
        const savePath = await this.newFolder(id, 'http');
        const now = new Date().toISOString();
        const job: Job = {
          id,
          sourceType: 'http',
          sourceUrn: source.url,
          status: 'queued',
          ...(source.name === undefined ? {} : { name: source.name }),
          savePath,
          progress: emptyProgress(),
          sequential: true,
          createdAt: now,
          updatedAt: now,
        };
        const stored = this.jobs.insert(job, undefined, { folderCreated: false });
        this.events.publish('added', this.views.view(stored));
        return { stored, created: true };
      });
      if (added === undefined) continue;
      if (!added.created) return { job: this.views.view(added.stored), created: false };
      await this.runner.pump();
      return { job: this.views.require(id), created: true };
    }
    throw new ChillyError('internal_error', 'No job id was free for this URL.');
  }

  /** A folder of its own that does not exist yet, from the job's driver: its files never mix with anything else. */
  private async newFolder(id: string, sourceType: SourceType): Promise<string> {
    const driver = this.driverOf(sourceType);
    return (
      (await driver.chooseFolder?.(id, { isTaken: (folder) => this.jobs.hasSavePath(folder) })) ?? driver.jobFolder(id)
    );
  }

  /** The driver of jobs of this source type. */
  private driverOf(sourceType: SourceType): Downloader {
    return this.downloader.driverFor?.(sourceType) ?? this.downloader;
  }

  pause(id: string): Promise<Job> {
    return this.command(id, 'pause', async (stored) => {
      if (this.runner.isActive(id)) await this.runner.pause(id, stored);
      this.statuses.write(id, 'paused', undefined);
      return this.settle(id, 'paused');
    });
  }

  resume(id: string): Promise<Job> {
    return this.command(id, 'resume', async (stored) => {
      // Its data went away (`path_missing`): resuming fetches it again, into its folder made anew
      // (unless the media root is still missing, which fails it with `path_missing` again).
      if (stored.job.error?.code === 'path_missing') {
        this.jobs.forgetData(id);
        this.live.deleteResume(id);
      }
      this.statuses.write(id, 'queued', undefined);
      return this.settle(id, 'resumed');
    });
  }

  cancel(id: string, options: { keepData?: boolean } = {}): Promise<Job> {
    return this.command(id, 'cancel', async (stored) => {
      // A finished movie is kept unless the caller asks otherwise; partial data is removed.
      const keepData = options.keepData ?? stored.job.status === 'completed';
      // What the engine made since the last save is only known to it until the job leaves it.
      const footprint = mergeFootprints(stored.footprint, this.downloader.footprint?.(id));
      // An engine that keeps its torrents (qBittorrent, Transmission) removes it, and its data, on
      // its side; first, so that an engine that does not answer fails the cancel with nothing changed.
      const driver = this.driverOf(stored.job.sourceType);
      const removeFromEngine = driver.removeByInfoHash?.bind(driver);
      if (removeFromEngine !== undefined && stored.job.infoHash !== undefined) {
        await removeFromEngine(stored.job.infoHash, { deleteData: !keepData });
      }
      if (this.runner.isRunning(id) || this.runner.holds(id))
        await this.runner.release(id, stored, { keepResume: false });
      // The job is gone once its row is; data that cannot be deleted is reported, not left as a stuck job.
      this.jobs.delete(id);
      this.statuses.forget(id);
      const savePath = stored.job.savePath;
      if (!keepData && savePath !== undefined && removeFromEngine === undefined) {
        const diskPaths = (stored.job.files ?? []).map((file) => file.path);
        await driver
          .deleteJobData(savePath, footprint, diskPaths)
          .then((left) => {
            if (left.length > 0) this.warn(`Job ${id}: cancelled; left in ${savePath}: ${left.slice(0, 5).join(', ')}`);
          })
          .catch((error: unknown) => {
            this.warn(`Job ${id}: cancelled, but its data could not be deleted`, error);
          });
      }
      const job: Job = { ...this.views.view(stored), status: 'cancelled', updatedAt: new Date().toISOString() };
      this.events.publish('cancelled', job);
      await this.runner.pump();
      return job;
    });
  }

  engine(): EngineInfo {
    const engine = this.driverOf('torrent');
    const status = engine.engineStatus?.();
    return {
      name: engine.engineName,
      capabilities: engine.capabilities,
      ...(status === undefined ? {} : { status }),
    };
  }

  /** The speed limits in force (bytes per second; 0: none). */
  rateLimits(): RateLimits {
    this.assertOpen();
    return this.limits.get() ?? this.startLimits;
  }

  /**
   * Changes the speed limits at once, and keeps them for the next start. Resolves once the engine
   * has them; an external engine that does not answer rejects with `engine_unreachable`, and gets
   * the kept limits when it answers again.
   */
  async setRateLimits(limits: RateLimits): Promise<RateLimits> {
    this.assertOpen();
    assertCapability(this.driverOf('torrent'), 'rateLimits');
    const checked = checkedRateLimits(limits);
    this.limits.set(checked);
    await this.applyRateLimits(checked);
    return this.rateLimits();
  }

  /** One job's own speed limits (0: none), at once while it runs, and kept for its next starts. */
  setJobRateLimits(id: string, limits: RateLimits): Promise<Job> {
    this.assertOpen();
    return this.locks.run(id, async () => {
      const stored = this.jobs.require(id);
      const driver = this.driverOf(stored.job.sourceType);
      assertCapability(driver, 'rateLimits');
      const checked = checkedRateLimits(limits);
      if (driver.setJobRateLimits === undefined) {
        throw new ChillyError(
          'capability_unsupported',
          `The ${driver.engineName} engine cannot limit one download's speed.`,
        );
      }
      this.jobLimits.set(id, checked);
      if (this.runner.isRunning(id)) await driver.setJobRateLimits(id, checked);
      return this.settle(id, 'updated');
    });
  }

  private async applyRateLimits(limits: RateLimits | undefined): Promise<void> {
    const engine = this.driverOf('torrent');
    if (limits === undefined || !engine.capabilities.rateLimits) return;
    await engine.setRateLimits?.(limits);
  }

  /**
   * Checks every piece of a job's data on disk again, then goes on: a completed job whose data is
   * whole completes (and seeds) again; missing or damaged pieces are downloaded again.
   */
  recheck(id: string): Promise<Job> {
    this.assertOpen();
    const moving = this.mover.movingError(id);
    if (moving !== undefined) return Promise.reject(moving);
    return this.locks.run(id, async () => {
      const stored = this.jobs.require(id);
      const { status } = this.views.view(stored);
      if (!['downloading', 'stalled', 'paused', 'completed', 'error', 'files_missing'].includes(status)) {
        throw new ChillyError(
          'invalid_transition',
          `Job ${JSON.stringify(id)} is ${status}: there is nothing to check yet.`,
        );
      }
      const driver = this.driverOf(stored.job.sourceType);
      assertCapability(driver, 'recheck');
      if (driver.recheck !== undefined && driver.get(id) !== undefined) {
        // The engine checks its own data (qBittorrent, Transmission): the job stays where it is, and
        // shows `verifying` while it downloads (a paused job stays paused; a completed one completes
        // again when the engine is done).
        await driver.recheck(id);
        this.runner.rechecking(id, driver.get(id));
        return this.settle(id, 'updated');
      }
      if (this.runner.isRunning(id) || this.runner.holds(id))
        await this.runner.release(id, stored, { keepResume: false });
      // Without resume data the engine reads and hashes every piece before it goes on.
      this.live.deleteResume(id);
      this.statuses.write(id, 'queued', undefined);
      return this.settle(id, 'queued');
    });
  }

  /** The peers a job is connected to: none unless it runs (downloading or seeding). */
  peers(id: string): JobPeer[] {
    this.assertOpen();
    const job = this.views.require(id);
    const driver = this.driverOf(job.sourceType);
    assertCapability(driver, 'peerList');
    if (!this.runner.isRunning(id)) return [];
    return driver.peers?.(id) ?? [];
  }

  /** A job's trackers and how each is doing (all `stopped` while it does not run). */
  trackers(id: string): Promise<JobTracker[]> {
    this.assertOpen();
    return this.trackerLists.list(this.jobs.require(id));
  }

  /** Adds and removes trackers of a job: kept for its next starts, applied at once while it runs. */
  changeTrackers(id: string, change: TrackerChange): Promise<JobTracker[]> {
    this.assertOpen();
    return this.locks.run(id, async () => this.trackerLists.change(this.jobs.require(id), change));
  }

  /** Moves a queued job to the top or bottom of the queue, or one place up or down. */
  moveInQueue(id: string, where: QueueMove): Promise<Job> {
    this.assertOpen();
    const moving = this.mover.movingError(id);
    if (moving !== undefined) return Promise.reject(moving);
    return this.locks.run(id, async () => {
      const job = this.views.require(id);
      if (job.status !== 'queued') {
        throw new ChillyError(
          'invalid_transition',
          `Job ${JSON.stringify(id)} is ${job.status}: only a queued job moves in the queue.`,
        );
      }
      this.jobs.moveInQueue(id, where);
      return this.settle(id, 'updated');
    });
  }

  setSeeding(id: string, seeding: boolean): Promise<Job> {
    this.assertOpen();
    const moving = this.mover.movingError(id);
    if (moving !== undefined) return Promise.reject(moving);
    return this.locks.run(id, async () => {
      const job = this.views.require(id);
      if (job.status !== 'completed') {
        throw new ChillyError(
          'invalid_transition',
          `Job ${JSON.stringify(id)} is ${job.status}: only a completed job seeds.`,
        );
      }
      const active = this.runner.seeding.has(id);
      if (!seeding) {
        if (active) await this.runner.seeding.stopNow(id);
        return this.views.require(id);
      }
      if (active) return job;
      // Back through the queue: the engine checks the data on disk, then the job completes and seeds.
      this.statuses.write(id, 'queued', undefined);
      return this.settle(id, 'queued');
    });
  }

  /**
   * Moves a job's data into the folder `destination` (as `<destination>/<its folder's name>`),
   * inside an allowed root: renamed on one file system, copied and verified across two. Resolves
   * once the data is there; the job then goes on as it was (see job-data-mover.ts).
   */
  moveData(id: string, destination: string): Promise<Job> {
    this.assertOpen();
    const moving = this.mover.movingError(id);
    if (moving !== undefined) return Promise.reject(moving);
    return this.locks.run(id, async () => {
      const stored = this.jobs.require(id);
      await this.mover.move(stored, this.views.view(stored), destination);
      return this.views.require(id);
    });
  }

  /**
   * A job's own seeding policy: a ratio and/or minutes that replace the global policy's for this
   * job (null: the global value). Applies at once to a job seeding now (its time counts from when
   * it started seeding); kept for later.
   */
  setSeedingPolicy(id: string, policy: JobSeedingPolicy): Promise<Job> {
    this.assertOpen();
    return this.locks.run(id, async () => {
      const stored = this.jobs.require(id);
      const checked = checkSeedingPolicy(policy);
      this.seedingPolicies.set(id, checked);
      const job = this.views.view(stored);
      if (this.runner.seeding.has(id)) this.runner.seeding.reapply(job);
      return this.settle(id, 'updated');
    });
  }

  get(id: string): Job {
    this.assertOpen();
    const job = this.views.require(id);
    // A look at one job checks its video for subtitle tracks inside it (announced when found).
    this.subtitleReader.all(job, { probe: true });
    return job;
  }

  async openFile(id: string, fileIndex?: number): Promise<JobFileStream> {
    this.assertOpen();
    const file = await openJobFile(this.streaming, id, fileIndex);
    this.prefetchSubtitles(id, file.index);
    return file;
  }

  /**
   * A video is being played: its subtitles are read now (their pieces fetched ahead of the rest),
   * so that the player's subtitle track is there when it asks, even early in a download.
   */
  private prefetchSubtitles(id: string, videoIndex: number): void {
    const job = this.views.require(id);
    for (const subtitle of job.subtitles ?? []) {
      if (subtitle.videoIndex !== videoIndex && subtitle.videoIndex !== null) continue;
      if (subtitle.fileIndex === videoIndex) continue;
      // Best effort: a paused job or a file that is not a subtitle after all says so when asked.
      this.subtitleReader.webVtt(id, subtitle.n).catch(() => undefined);
    }
  }

  subtitleWebVtt(id: string, n: number, options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<string> {
    this.assertOpen();
    return this.subtitleReader.webVtt(id, n, options);
  }

  setFileOptions(id: string, options: FileOptions): Promise<Job> {
    this.assertOpen();
    const moving = this.mover.movingError(id);
    if (moving !== undefined) return Promise.reject(moving);
    return this.locks.run(id, async () => {
      // Before anything is stored: an engine that cannot do it says so (never a silent no-op).
      if (options !== null && typeof options === 'object') {
        const driver = this.driverOf(this.views.require(id).sourceType);
        if (options.selectedFiles !== undefined) assertCapability(driver, 'fileSelection');
        if (options.sequential !== undefined) assertCapability(driver, 'sequentialPieces');
      }
      const { selectedFiles, sequential, widened } = fileOptionsChange(this.views.require(id), options);
      this.jobs.setFileOptions(id, { selectedFiles, sequential });
      if (this.runner.isRunning(id)) {
        this.downloader.setFileOptions?.(id, { selectedFiles: selectedFiles ?? null, sequential });
      }
      if (widened) {
        if (this.runner.seeding.has(id)) await this.runner.seeding.stopNow(id);
        this.statuses.write(id, 'queued', undefined);
      }
      return this.settle(id, 'updated');
    });
  }

  list(query: ListJobsQuery = {}): JobPage {
    this.assertOpen();
    const { limit, offset } = pageBounds(query);
    const page = this.jobs.page(query.status ?? [], limit, offset);
    return { jobs: this.views.viewPage(page.jobs), total: page.total, limit, offset };
  }

  eventsSince(lastEventId: number): JobEvent[] | undefined {
    return this.events.since(lastEventId);
  }

  subscribe(listener: (event: JobEvent) => void): () => void {
    return this.events.subscribe(listener);
  }

  /** Publishes `updated` with the job as it is now, for changes made outside the service (its movie). */
  announceUpdate(id: string): void {
    if (this.closed !== undefined) return;
    const stored = this.jobs.get(id);
    if (stored !== undefined) this.events.publish('updated', this.views.view(stored));
  }

  health(): { ok: boolean; activeDownloads: number; queued: number } {
    try {
      const counts = this.jobs.countByStatus();
      return { ok: this.closed === undefined, activeDownloads: this.runner.activeCount, queued: counts.queued ?? 0 };
    } catch {
      return { ok: false, activeDownloads: this.runner.activeCount, queued: 0 };
    }
  }

  /** Saves every running job's resume data (files synced), stops the engine, closes the database. */
  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  private async shutdown(): Promise<void> {
    await this.locks.idle();
    try {
      await this.runner.stop();
    } finally {
      this.db.close();
    }
  }

  /**
   * Brings back every job as it was: downloading and queued jobs continue (queued in their old
   * order), paused and failed ones stay, completed ones stay unless their files are gone. The
   * media root is checked first: jobs with data there fail with `path_missing` when they start if
   * it is missing or unmounted, and it is never made again underneath.
   */
  private async restore(): Promise<void> {
    const all = this.jobs.all();
    await this.checkMediaRoot(all);
    this.mover.recover();
    for (const stored of all) {
      const { job } = stored;
      if (job.status === 'downloading' || job.status === 'verifying' || job.status === 'stalled') {
        this.statuses.write(job.id, 'queued', undefined);
      } else if (
        job.status === 'completed' &&
        this.driverOf(job.sourceType).capabilities.localFiles &&
        job.savePath !== undefined &&
        job.files !== undefined
      ) {
        const wanted = job.files.filter((_, index) => job.selectedFiles?.includes(index) ?? true);
        const missing = missingFiles(job.savePath, wanted);
        if (missing.length > 0) {
          const message = `Files missing or changed since completion: ${missing.slice(0, 5).join(', ')}.`;
          this.statuses.write(job.id, 'files_missing', { code: 'files_missing', message });
          this.events.publish('files_missing', this.views.require(job.id));
        }
      }
    }
  }

  /** Each driver checks its media root against its own jobs (an external engine's are not in it). */
  private async checkMediaRoot(all: readonly StoredJob[]): Promise<void> {
    const drivers = new Set(SOURCE_TYPES.map((sourceType) => this.driverOf(sourceType)));
    for (const driver of drivers) {
      const jobs = all.filter((stored) => this.driverOf(stored.job.sourceType) === driver);
      await this.checkDriverMediaRoot(driver, jobs);
    }
  }

  private async checkDriverMediaRoot(driver: Downloader, jobs: readonly StoredJob[]): Promise<void> {
    const prepare = driver.prepareMediaRoot?.bind(driver);
    if (prepare === undefined) return;
    const withData = jobs.filter(jobHasData);
    try {
      await prepare({ expectData: withData.length > 0 });
    } catch (error) {
      if (!isChillyError(error, 'path_missing')) throw error;
      // A media root from before roots had a marker is ours when our jobs' folders are in it.
      if (withData.some((stored) => stored.job.savePath !== undefined && existsSync(stored.job.savePath))) {
        await prepare({ expectData: true, adopt: true });
        return;
      }
      this.warn(error.message);
    }
  }

  /** Runs a state-machine command under the job's lock, once the job's state allows it. */
  private command(id: string, command: Command, action: (stored: StoredJob) => Promise<Job>): Promise<Job> {
    this.assertOpen();
    const moving = this.mover.movingError(id);
    if (moving !== undefined) return Promise.reject(moving);
    return this.locks.run(id, async () => {
      this.mover.assertNotMoving(id);
      const stored = this.jobs.require(id);
      assertTransition(this.views.view(stored), command);
      return action(stored);
    });
  }

  /** After a command: publishes the job's new state, lets the queue move on, and returns the job as it is then. */
  private async settle(id: string, type: JobEventType): Promise<Job> {
    this.events.publish(type, this.views.require(id));
    await this.runner.pump();
    return this.views.require(id);
  }

  private assertOpen(): void {
    if (this.closed !== undefined) throw new ChillyError('shutting_down', 'The download service is closed.');
  }
}

/** Longest seeding time a job may be given: a year. */
const MAX_SEEDING_MINUTES = 525_600;

function checkSeedingPolicy(policy: unknown): JobSeedingPolicy {
  const { ratio, minutes } = (policy ?? {}) as Partial<Record<keyof JobSeedingPolicy, unknown>>;
  if (ratio !== null && (typeof ratio !== 'number' || !Number.isFinite(ratio) || ratio < 0 || ratio > 1000)) {
    throw new ChillyError('validation_failed', 'ratio must be a number from 0 to 1000, or null for the global one.');
  }
  if (
    minutes !== null &&
    (typeof minutes !== 'number' || !Number.isSafeInteger(minutes) || minutes < 0 || minutes > MAX_SEEDING_MINUTES)
  ) {
    throw new ChillyError(
      'validation_failed',
      `minutes must be a whole number from 0 to ${MAX_SEEDING_MINUTES}, or null for the global one.`,
    );
  }
  return { ratio, minutes };
}
