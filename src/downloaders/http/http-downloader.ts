import { EventEmitter } from 'node:events';
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_MEDIA_FOLDER } from '../../config/defaults.js';
import { type MediaAccess, modesFor, removeCreated } from '../../disk/confined-files.js';
import { chooseJobFolder, type FolderIdentity, footprintToRemove } from '../../disk/job-folders.js';
import { MediaFolders, type WatchEntry } from '../../disk/media-folders.js';
import { ChillyError, toChillyError } from '../../domain/errors.js';
import { assertValidJobId, emptyProgress, type Job, type JobInput, startedJobId } from '../../domain/job.js';
import { assertTransition } from '../../domain/job-state-machine.js';
import { parseHttpUrl } from '../../http/outbound-request.js';
import { assertFreeSpace, diskFullError, diskOf } from '../disk-space.js';
import type * as Driver from '../downloader.js';
import { ByteWatermark, WatermarkRangeWaiter } from './byte-watermark.js';
import { secretsOf } from './http-request.js';
import { fstat, type HttpState, readHttpState, STATE_FILE, validState } from './http-state-file.js';
import { runTransfer, type TransferJob, type TransferOptions } from './http-transfer.js';

export interface HttpDownloaderOptions {
  /** Folder under which every job gets a folder of its own, named after the job id. Default `./media`. */
  mediaRoot?: string;
  /** Minimum time between two `progress` events of one job. Default 250 ms (at most 4 per second). */
  progressIntervalMs?: number;
  /** `private` (default: files 0600, folders 0700) or `shared` (0644/0755). */
  mediaAccess?: MediaAccess;
  /** No answer, or no byte of the body, for this long: the attempt fails and is retried. Default 30 s. */
  stalledAfterMs?: number;
  /** How often the folders and files of running jobs are checked for deletion or unmounting. Default 2 s. */
  folderCheckMs?: number;
  /** Failed attempts in a row (no byte moved) before the job fails. Default 8. */
  maxAttempts?: number;
  /** How long a run of failed attempts may last before the job fails. Default 10 min. */
  retryForMs?: number;
  /** First backoff delay (doubling, with jitter). Default 500 ms. */
  minRetryDelayMs?: number;
  /** Caps every wait between attempts, the server's `Retry-After` included. Default 60 s. */
  maxRetryDelayMs?: number;
  /** Redirects followed per request, 0 to 5. Default 5. */
  maxRedirects?: number;
  userAgent?: string;
}

interface HttpJobRecord extends TransferJob {
  job: Job;
  folderIdentity: FolderIdentity | undefined;
  footprint: { folderCreated: boolean; created: Set<string> };
  watermark: ByteWatermark;
  transfer: { controller: AbortController; done: Promise<void> } | undefined;
  progressTimer: NodeJS.Timeout | undefined;
  /** Bytes and time at the last progress tick, for the speed. */
  lastTick: { bytes: number; at: number };
  /** Serialises pause/resume/cancel of one job so they never interleave. */
  queue: Promise<unknown>;
}

const MAX_REDIRECTS = 5;

/**
 * A driver for direct downloads: `sourceType: 'http'`, `sourceUrn` an http(s) URL of one video
 * file. The job has one file, written in order into its own folder (src/disk: confined opens, no
 * symbolic link followed, a record of what was created), with a small state file beside it
 * (http-state-file.ts) so that a pause, a crash or a dropped connection continues with a range
 * request where the file on disk ends (http-transfer.ts). Same events and commands as the
 * WebTorrent driver, on the one job state machine.
 */
export class HttpDownloader extends EventEmitter<Driver.DownloaderEvents> implements Driver.Downloader {
  readonly engineName = 'HTTP';
  /**
   * Its one file streams while it downloads (always in order: nothing to choose). Where to continue
   * is the file's size on disk, so there is no resume data for the service to keep.
   */
  readonly capabilities: Readonly<Driver.DownloaderCapabilities> = Object.freeze({
    streaming: true,
    fileSelection: false,
    sequentialPieces: false,
    resumeData: false,
    localFiles: true,
    rateLimits: false,
    recheck: false,
    peerList: false,
    moveData: true,
    trackerList: false,
  });
  readonly mediaRoot: string;
  readonly #progressIntervalMs: number;
  readonly #modes: { file: number; dir: number };
  readonly #folders: MediaFolders;
  readonly #transferOptions: Omit<TransferOptions, 'signal'>;
  readonly #records = new Map<string, HttpJobRecord>();
  readonly #starting = new Set<string>();
  #destroyed: Promise<void> | undefined;

  constructor(options: HttpDownloaderOptions = {}) {
    super();
    this.mediaRoot = path.resolve(options.mediaRoot ?? DEFAULT_MEDIA_FOLDER);
    this.#progressIntervalMs = bounded('progressIntervalMs', options.progressIntervalMs ?? 250, 250);
    const maxRedirects = options.maxRedirects ?? MAX_REDIRECTS;
    if (!Number.isInteger(maxRedirects) || maxRedirects < 0 || maxRedirects > MAX_REDIRECTS) {
      throw new ChillyError('validation_failed', `maxRedirects must be a whole number from 0 to ${MAX_REDIRECTS}.`);
    }
    this.#transferOptions = {
      timeoutMs: bounded('stalledAfterMs', options.stalledAfterMs ?? 30_000, 100),
      maxAttempts: Math.floor(bounded('maxAttempts', options.maxAttempts ?? 8, 1, 1_000)),
      retryForMs: bounded('retryForMs', options.retryForMs ?? 10 * 60_000, 0, Number.MAX_SAFE_INTEGER),
      minDelayMs: bounded('minRetryDelayMs', options.minRetryDelayMs ?? 500, 0),
      maxDelayMs: bounded('maxRetryDelayMs', options.maxRetryDelayMs ?? 60_000, options.minRetryDelayMs ?? 500),
      maxRedirects,
      userAgent: options.userAgent ?? 'ChillyMovies',
    };
    this.#modes = modesFor(options.mediaAccess ?? 'private');
    this.#folders = new MediaFolders(this.mediaRoot, {
      dirMode: this.#modes.dir,
      checkEveryMs: bounded('folderCheckMs', options.folderCheckMs ?? 2_000, 100),
    });
  }

  jobFolder(id: string): string {
    assertValidJobId(id);
    return path.join(this.mediaRoot, id);
  }

  prepareMediaRoot(options: { expectData: boolean; adopt?: boolean }): Promise<void> {
    return this.#folders.prepare(options);
  }

  async chooseFolder(id: string, options: { isTaken?: (folder: string) => boolean } = {}): Promise<string> {
    assertValidJobId(id);
    const ours = new Set([...this.#records.values()].map((record) => record.folder));
    return chooseJobFolder(this.mediaRoot, id, {
      isTaken: (folder) => ours.has(folder) || !!options.isTaken?.(folder),
    });
  }

  footprint(id: string): Driver.JobFootprint | undefined {
    const record = this.#records.get(id);
    return record && { folderCreated: record.footprint.folderCreated, created: [...record.footprint.created] };
  }

  /** As the interface says; in a folder the job made, its state file goes too (a crash may have hidden it). */
  async deleteJobData(
    folder: string,
    footprint: Driver.JobFootprint,
    diskPaths: readonly string[] = [],
  ): Promise<string[]> {
    const running = [...this.#records.values()].find((record) => record.folder === folder);
    if (running !== undefined) {
      throw new ChillyError(
        'invalid_transition',
        `Job ${JSON.stringify(running.job.id)} is running: cancel it instead.`,
      );
    }
    return removeCreated(folder, footprintToRemove(footprint, [...diskPaths, STATE_FILE]));
  }

  async start(input: JobInput, options: Driver.StartOptions = {}): Promise<Job> {
    this.#assertAlive();
    const { id, urn, url } = checkedInput(input);
    if (this.#records.has(id) || this.#starting.has(id)) {
      throw new ChillyError('duplicate_job', `A job with id ${JSON.stringify(id)} already exists.`);
    }
    this.#starting.add(id);
    try {
      const folder = options.savePath ?? (await this.chooseFolder(id));
      const opened = await this.#folders.open(folder, options.hasData === true);
      const state = (await readHttpState(folder)) ?? stateFromDiskPaths(options.diskPaths);
      const onDisk = state === undefined ? 0 : await fileSize(path.join(folder, state.fileName));
      // From here on nothing waits: a destroy() that came meanwhile never sees a job it would miss.
      this.#assertAlive();
      const now = new Date().toISOString();
      const job: Job = {
        id,
        sourceType: 'http',
        sourceUrn: urn,
        status: 'queued',
        savePath: folder,
        progress: emptyProgress(),
        sequential: true,
        createdAt: now,
        updatedAt: now,
      };
      const record = this.#newRecord(job, url, opened, state);
      if (state !== undefined) {
        describe(job, state);
        record.setWritten(onDisk);
      }
      this.#records.set(id, record);
      this.#begin(record);
      this.emit('started', snapshot(job));
      if (state !== undefined) this.emit('metadata', snapshot(job));
      return snapshot(job);
    } finally {
      this.#starting.delete(id);
    }
  }

  pause(id: string): Promise<Job> {
    return this.#serialise(id, async (record) => {
      assertTransition(record.job, 'pause');
      await this.#stop(record);
      this.#setStatus(record, 'paused');
      this.emit('paused', snapshot(record.job));
      return snapshot(record.job);
    });
  }

  resume(id: string): Promise<Job> {
    return this.#serialise(id, async (record) => {
      this.#assertAlive();
      assertTransition(record.job, 'resume');
      // The folder may have come back (a disk mounted again); data written before must still be there.
      record.folderIdentity = (await this.#folders.open(record.folder, true)).identity;
      delete record.job.error;
      this.#begin(record);
      this.emit('resumed', snapshot(record.job));
      return snapshot(record.job);
    });
  }

  cancel(id: string, options: Driver.CancelOptions = {}): Promise<Job> {
    return this.#serialise(id, async (record) => {
      assertTransition(record.job, 'cancel');
      const keepData = options.keepData ?? record.job.status === 'completed';
      await this.#stop(record);
      this.#records.delete(id);
      if (!keepData) {
        const created = { folderCreated: record.footprint.folderCreated, created: [...record.footprint.created] };
        const files = record.state === undefined ? [] : [record.state.fileName];
        await removeCreated(record.folder, footprintToRemove(created, files));
      }
      this.#setStatus(record, 'cancelled');
      this.emit('cancelled', snapshot(record.job));
      return snapshot(record.job);
    });
  }

  get(id: string): Job | undefined {
    const record = this.#records.get(id);
    return record === undefined ? undefined : snapshot(record.job);
  }

  list(): Job[] {
    return [...this.#records.values()].map((record) => snapshot(record.job));
  }

  /** A reader of the job's one file (index 0): bytes are on disk once the in-order watermark passes them. */
  openRangeWaiter(id: string, fileIndex: number): Driver.RangeWaiter {
    const record = this.#records.get(id);
    if (record === undefined) throw new ChillyError('job_not_found', `No job with id ${JSON.stringify(id)}.`);
    if (fileIndex !== 0)
      throw new ChillyError('file_not_found', `A direct download has one file (#0), not #${fileIndex}.`);
    return new WatermarkRangeWaiter({
      watermark: record.watermark,
      length: () => record.state?.totalBytes,
      running: () => record.transfer !== undefined,
    });
  }

  destroy(): Promise<void> {
    this.#destroyed ??= this.#shutdown();
    return this.#destroyed;
  }

  async #shutdown(): Promise<void> {
    await this.#folders.stop();
    await Promise.all([...this.#records.values()].map((record) => this.#stop(record)));
  }

  #newRecord(
    job: Job,
    url: URL,
    opened: { created: boolean; identity: FolderIdentity },
    state: HttpState | undefined,
  ): HttpJobRecord {
    const footprint = { folderCreated: opened.created, created: new Set<string>() };
    const folder = job.savePath ?? '';
    const record: HttpJobRecord = {
      job,
      url,
      secrets: secretsOf(url),
      folder,
      files: {
        modes: this.#modes,
        onCreate: (relative, kind) => footprint.created.add(kind === 'dir' ? `${relative}/` : relative),
      },
      state,
      fd: undefined,
      folderIdentity: opened.identity,
      footprint,
      watermark: new ByteWatermark(),
      transfer: undefined,
      progressTimer: undefined,
      lastTick: { bytes: 0, at: Date.now() },
      queue: Promise.resolve(),
      setWritten: (bytes) => {
        const grew = bytes > record.job.progress.bytesDone;
        record.watermark.set(bytes);
        const total = record.job.progress.bytesTotal;
        Object.assign(record.job.progress, { bytesDone: bytes, fraction: total ? Math.min(1, bytes / total) : 0 });
        // Data flows again: no longer stalled.
        if (grew && record.job.status === 'stalled' && record.transfer !== undefined) {
          this.#setStatus(record, 'downloading');
        }
      },
      described: (next) => {
        const before = `${record.job.name}/${record.job.progress.bytesTotal}`;
        describe(record.job, next);
        if (`${record.job.name}/${record.job.progress.bytesTotal}` !== before) this.emit('metadata', snapshot(job));
      },
      connected: (open) => {
        record.job.progress.peers = open ? 1 : 0;
      },
      waiting: () => {
        if (record.job.status === 'downloading') this.#setStatus(record, 'stalled');
      },
      assertRoomFor: (bytes) => assertFreeSpace(record.folder, bytes, this.#reservedBesides(record)),
    };
    return record;
  }

  /** Bytes the other running jobs on the same disk (a moved job may be on another) will still write. */
  #reservedBesides(self: HttpJobRecord): number {
    const disk = diskOf(self.folder);
    let reserved = 0;
    for (const other of this.#records.values()) {
      const total = other.state?.totalBytes;
      if (other === self || other.transfer === undefined || total === undefined) continue;
      if (diskOf(other.folder) !== disk) continue;
      reserved += Math.max(0, total - other.job.progress.bytesDone);
    }
    return reserved;
  }

  /** Starts (or restarts) the job's transfer. */
  #begin(record: HttpJobRecord): void {
    const controller = new AbortController();
    const finished = (): boolean => record.transfer?.controller === controller && !controller.signal.aborted;
    const done = runTransfer(record, { ...this.#transferOptions, signal: controller.signal }).then(
      () => finished() && this.#complete(record),
      (error: unknown) => finished() && this.#fail(record, error),
    );
    record.transfer = { controller, done: done.then(() => undefined) };
    record.lastTick = { bytes: record.job.progress.bytesDone, at: Date.now() };
    this.#setStatus(record, 'downloading');
    this.#startProgressTimer(record);
    this.#folders.watch(() => this.#watchEntries());
  }

  /** The running jobs, each with what to do if its folder or file is gone (unless it stopped meanwhile). */
  #watchEntries(): WatchEntry[] {
    return [...this.#records.values()].flatMap((record) => {
      const transfer = record.transfer;
      if (transfer === undefined) return [];
      const entry: WatchEntry = {
        folder: record.folder,
        folderIdentity: record.folderIdentity,
        checkFiles: async () => {
          const fd = record.fd;
          if (fd !== undefined && (await fstat(fd).catch(() => undefined))?.nlink === 0) {
            throw new ChillyError(
              'path_missing',
              'The file was deleted while it downloaded: resume to start it again.',
            );
          }
        },
        gone: (error) => record.transfer === transfer && this.#fail(record, error),
      };
      return [entry];
    });
  }

  /** Stops the transfer (its connection closes at once) and waits until its file is closed. */
  async #stop(record: HttpJobRecord): Promise<void> {
    const transfer = this.#detach(record);
    if (transfer === undefined) return;
    transfer.controller.abort(new ChillyError('stream_unavailable', 'The download was stopped.'));
    await transfer.done;
  }

  /** Takes the transfer off the job: timers stop, waiting readers are told, figures drop to zero. */
  #detach(record: HttpJobRecord): HttpJobRecord['transfer'] {
    const transfer = record.transfer;
    record.transfer = undefined;
    clearInterval(record.progressTimer);
    record.progressTimer = undefined;
    record.watermark.stop(() => new ChillyError('stream_unavailable', 'The download stopped.'));
    Object.assign(record.job.progress, { downloadSpeed: 0, peers: 0, etaSeconds: null });
    return transfer;
  }

  #complete(record: HttpJobRecord): void {
    this.#detach(record);
    const total = record.state?.totalBytes ?? record.job.progress.bytesDone;
    Object.assign(record.job.progress, { bytesDone: total, bytesTotal: total, fraction: 1, etaSeconds: 0 });
    this.#setStatus(record, 'completed');
    this.emit('completed', snapshot(record.job));
  }

  #fail(record: HttpJobRecord, cause: unknown): void {
    this.#detach(record)?.controller.abort(cause);
    const error = jobError(cause, record.folder);
    record.job.error = error.toJSON();
    this.#setStatus(record, 'error');
    // Emitting 'error' with no listener would throw and take the process down.
    if (this.listenerCount('error') > 0) this.emit('error', error, snapshot(record.job));
  }

  #startProgressTimer(record: HttpJobRecord): void {
    clearInterval(record.progressTimer);
    record.progressTimer = setInterval(() => {
      const { progress } = record.job;
      const now = Date.now();
      const seconds = Math.max(0.001, (now - record.lastTick.at) / 1000);
      progress.downloadSpeed = Math.max(0, Math.round((progress.bytesDone - record.lastTick.bytes) / seconds));
      record.lastTick = { bytes: progress.bytesDone, at: now };
      const left = progress.bytesTotal === null ? undefined : progress.bytesTotal - progress.bytesDone;
      progress.etaSeconds =
        left === undefined || progress.downloadSpeed === 0 ? null : Math.ceil(left / progress.downloadSpeed);
      this.emit('progress', snapshot(record.job));
    }, this.#progressIntervalMs);
    record.progressTimer.unref();
  }

  #serialise(id: string, action: (record: HttpJobRecord) => Promise<Job>): Promise<Job> {
    const record = this.#records.get(id);
    const missing = (): ChillyError => new ChillyError('job_not_found', `No job with id ${JSON.stringify(id)}.`);
    if (record === undefined) return Promise.reject(missing());
    const run = record.queue.then(() => {
      if (this.#records.get(id) !== record) throw missing();
      return action(record);
    });
    record.queue = run.catch(() => undefined);
    return run;
  }

  #assertAlive(): void {
    if (this.#destroyed !== undefined)
      throw new ChillyError('downloader_destroyed', 'This downloader has been destroyed.');
  }

  #setStatus(record: HttpJobRecord, status: Job['status']): void {
    record.job.status = status;
    record.job.updatedAt = new Date().toISOString();
  }
}

/** The job's id, its source as given (trimmed) and as a URL, or a typed error. */
function checkedInput(input: JobInput): { id: string; urn: string; url: URL } {
  const id = startedJobId(input);
  const { sourceType, sourceUrn } = input;
  if (sourceType !== 'http') {
    throw new ChillyError('invalid_source', 'This driver downloads sourceType "http" only.');
  }
  const urn = typeof sourceUrn === 'string' ? sourceUrn.trim() : '';
  const url = parseHttpUrl(urn, { code: 'invalid_source', message: 'An http job needs an http(s) URL in sourceUrn.' });
  return { id, urn, url };
}

/** The error a job fails with; a full disk names the folder whose disk needs room. */
function jobError(cause: unknown, folder: string): ChillyError {
  const error = toChillyError(cause, 'download_failed');
  return error.code === 'disk_full' ? diskFullError(folder, cause) : error;
}

/** The job's name, file and size from what is known of the file. */
function describe(job: Job, state: HttpState): void {
  job.name = state.fileName;
  job.files = [{ path: state.fileName, length: state.totalBytes ?? 0 }];
  job.progress.bytesTotal = state.totalBytes ?? null;
}

/** Without a state file (lost, or never written), the file the job stored, if it is one of ours. */
function stateFromDiskPaths(diskPaths: readonly string[] | undefined): HttpState | undefined {
  return diskPaths?.length === 1 ? validState({ fileName: diskPaths[0] }) : undefined;
}

/** Size of a regular file (0 when missing or anything else); the transfer opens it confined later. */
async function fileSize(file: string): Promise<number> {
  const stats = await lstat(file).catch(() => undefined);
  return stats?.isFile() ? stats.size : 0;
}

/** The longest wait setTimeout takes (longer ones fire at once). */
const MAX_TIMER_MS = 2_147_483_647;

function bounded(name: string, value: number, min: number, max = MAX_TIMER_MS): number {
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new ChillyError('validation_failed', `${name} must be from ${min} to ${max}.`);
  }
  return value;
}

function snapshot(job: Job): Job {
  return structuredClone(job);
}
