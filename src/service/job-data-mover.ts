/**
 * Moving a job's data to another folder (qBittorrent's and Transmission's "set location"), for the
 * drivers whose files are on this machine. The job leaves the engine, its folder is renamed (one
 * file system) or copied and verified (across file systems, src/disk/folder-move.ts), the job's
 * folder is recorded as the new one, the old copy is deleted, and the job goes on where it was:
 * downloading from its resume data, or seeding again after the engine has checked the moved data.
 *
 * Each step is in the database before the next (`job_moves`): a crash during a copy continues the
 * copy at the next start; a crash after it finishes the clean-up. Only folders inside the allowed
 * roots (the media root and CHILLY_MOVE_ROOTS) are destinations.
 */
import { lstat, mkdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { abandonCopy, exists, moveFolder } from '../disk/folder-move.js';
import { ChillyError } from '../domain/errors.js';
import type { Job, JobMoveProgress, JobStatus, SourceType } from '../domain/job.js';
import type { JobEventType } from '../domain/job-event.js';
import { assertCapability, type Downloader } from '../downloaders/downloader.js';
import type { JobMove, JobMovesRepository, MoveRestart } from '../storage/job-moves-repository.js';
import type { JobsRepository, StoredJob } from '../storage/jobs-repository.js';
import type { JobRunner } from './job-runner.js';
import type { KeyedLock } from './keyed-lock.js';
import type { StatusWriter } from './status-writer.js';

/** Progress events while a copy runs: at most one per job this often. */
const PROGRESS_EVERY_MS = 1_000;

export interface JobDataMoverOptions {
  jobs: JobsRepository;
  moves: JobMovesRepository;
  runner: JobRunner;
  statuses: StatusWriter;
  locks: KeyedLock;
  driverOf: (sourceType: SourceType) => Downloader;
  /** Folders a job's data may be moved into (anywhere below them). */
  roots: readonly string[];
  /** Publishes the job as it is now. */
  publish: (id: string, type: JobEventType) => void;
  /** Lets the queue start what may start now. */
  pump: () => Promise<void>;
  warn: (message: string, cause?: unknown) => void;
}

/** Statuses a job is restarted from after a move (it was waiting for, or using, a download slot). */
const QUEUE_AGAIN: ReadonlySet<JobStatus> = new Set(['queued', 'downloading', 'stalled', 'verifying']);

export class JobDataMover {
  /** Moves running in this process, with their progress. */
  private readonly running = new Map<string, JobMoveProgress>();
  private readonly lastPublished = new Map<string, number>();

  constructor(private readonly options: JobDataMoverOptions) {}

  /** The move of a job's data under way, for its view. */
  progress(id: string): JobMoveProgress | undefined {
    const live = this.running.get(id);
    if (live !== undefined) return { ...live };
    return undefined;
  }

  /** `move_in_progress` while the job's data moves (every other command is refused meanwhile). */
  movingError(id: string): ChillyError | undefined {
    if (!this.running.has(id) && this.options.moves.get(id) === undefined) return undefined;
    return new ChillyError(
      'move_in_progress',
      `Job ${JSON.stringify(id)}'s data is being moved: wait until the move ends.`,
    );
  }

  assertNotMoving(id: string): void {
    const error = this.movingError(id);
    if (error !== undefined) throw error;
  }

  /**
   * Moves job `id`'s folder into `destination` (made when missing, inside an allowed root), and
   * resolves once the data is there and the job goes on. The caller holds the job's lock.
   */
  async move(stored: StoredJob, shown: Job, destination: unknown): Promise<void> {
    const { job } = stored;
    this.assertNotMoving(job.id);
    assertCapability(this.options.driverOf(job.sourceType), 'moveData');
    const from = job.savePath;
    if (from === undefined) throw new ChillyError('invalid_transition', `Job ${JSON.stringify(job.id)} has no folder.`);
    const to = await this.target(destination, from);
    if (to === undefined) return;
    const restart: MoveRestart = this.options.runner.seeding.has(job.id)
      ? 'seed'
      : QUEUE_AGAIN.has(shown.status)
        ? 'queue'
        : 'none';
    if (this.options.runner.isRunning(job.id) || this.options.runner.holds(job.id)) {
      await this.options.runner.release(job.id, stored, { keepResume: restart === 'queue' });
    }
    // Out of the queue while the files move: the queue must not start it from the old folder.
    if (restart === 'queue') this.options.statuses.write(job.id, 'paused', undefined);
    this.options.moves.begin({ jobId: job.id, from, to, restart, startedAt: new Date().toISOString() });
    await this.carryOut(this.options.moves.get(job.id) as JobMove);
  }

  /**
   * Moves cut short by a crash or a stop: a finished one is cleaned up; one still under way goes
   * on in the background (its job says `move` meanwhile and refuses other commands).
   */
  recover(): void {
    for (const move of this.options.moves.all()) {
      void this.options.locks
        .run(move.jobId, () => this.carryOut(move))
        .catch((error: unknown) => this.options.warn(`Job ${move.jobId}: the move to ${move.to} failed`, error));
    }
  }

  private async carryOut(move: JobMove): Promise<void> {
    const stored = this.options.jobs.get(move.jobId);
    if (stored === undefined) {
      this.options.moves.finish(move.jobId);
      return;
    }
    const { job } = stored;
    const progress: JobMoveProgress = { destination: move.to, bytesDone: 0, bytesTotal: 0, startedAt: move.startedAt };
    this.running.set(job.id, progress);
    this.options.publish(job.id, 'updated');
    try {
      if (move.phase === 'moving') await this.place(stored, move, progress);
      await this.deleteOldCopy(stored, move);
      this.options.moves.finish(job.id);
    } catch (error) {
      await this.rollBack(move, error);
      throw error;
    } finally {
      this.running.delete(job.id);
      this.lastPublished.delete(job.id);
    }
    this.goOn(job.id, move.restart);
  }

  /** Puts the data at `move.to` and records it there. */
  private async place(stored: StoredJob, move: JobMove, progress: JobMoveProgress): Promise<void> {
    const { job, footprint } = stored;
    const fromThere = await exists(move.from);
    if (!fromThere && (await exists(move.to))) {
      // Renamed before a crash, not yet recorded.
      this.options.moves.markMoved(job.id, move.to);
      return;
    }
    if (!fromThere) {
      // Nothing on disk yet (a job that has not started): only its folder-to-be changes.
      this.options.moves.markMoved(job.id, move.to);
      if (footprint.folderCreated || footprint.created.length > 0) {
        this.options.jobs.setFootprint(job.id, { folderCreated: false, created: [] });
      }
      return;
    }
    const folderMode = (await stat(move.from)).mode & 0o777;
    const files = new Set((job.files ?? []).map((file) => file.path));
    for (const entry of footprint.created) if (!entry.endsWith('/')) files.add(entry);
    const result = await moveFolder({
      from: move.from,
      to: move.to,
      files: [...files],
      mode: { dir: folderMode, file: folderMode & 0o666 },
      onProgress: (now) => {
        progress.bytesDone = now.bytesDone;
        progress.bytesTotal = now.bytesTotal;
        this.publishProgress(job.id, now.bytesDone === now.bytesTotal);
      },
    });
    this.options.moves.markMoved(job.id, move.to);
    // A copy's folder is the job's own, made by the move: deleting the job's data may remove it.
    if (result.how === 'copied') this.options.jobs.setFootprint(job.id, { ...footprint, folderCreated: true });
  }

  /** After a copy, the old folder still holds the data: what the job made there goes. */
  private async deleteOldCopy(stored: StoredJob, move: JobMove): Promise<void> {
    if (move.from === move.to || !(await exists(move.from))) return;
    const driver = this.options.driverOf(stored.job.sourceType);
    const diskPaths = (stored.job.files ?? []).map((file) => file.path);
    const left = await driver.deleteJobData(move.from, stored.footprint, diskPaths);
    if (left.length > 0) {
      this.options.warn(`Job ${stored.job.id}: moved; left in ${move.from}: ${left.slice(0, 5).join(', ')}`);
    }
  }

  /** A failed move leaves the data where it was, and the job as it was. */
  private async rollBack(move: JobMove, cause: unknown): Promise<void> {
    const recorded = this.options.moves.get(move.jobId);
    if (recorded?.phase === 'moved') {
      // The data is whole in its new place; only the old copy's clean-up failed: keep the job going.
      this.options.warn(`Job ${move.jobId}: moved to ${move.to}, but ${move.from} could not be cleaned up`, cause);
      this.options.moves.finish(move.jobId);
      this.goOn(move.jobId, move.restart);
      return;
    }
    await abandonCopy(move.to).catch((error: unknown) =>
      this.options.warn(`Job ${move.jobId}: could not delete the unfinished copy beside ${move.to}`, error),
    );
    this.options.moves.finish(move.jobId);
    this.goOn(move.jobId, move.restart);
  }

  /** The job goes on where it was before the move. */
  private goOn(id: string, restart: MoveRestart): void {
    // A seeding job checks its data in its new place, then completes and seeds again.
    if (restart !== 'none') this.options.statuses.write(id, 'queued', undefined);
    this.options.publish(id, 'updated');
    this.options.pump().catch((error: unknown) => this.options.warn('Starting the queued jobs failed.', error));
  }

  private publishProgress(id: string, last: boolean): void {
    const now = Date.now();
    if (!last && now - (this.lastPublished.get(id) ?? 0) < PROGRESS_EVERY_MS) return;
    this.lastPublished.set(id, now);
    this.options.publish(id, 'updated');
  }

  /**
   * The job's new folder: `destination/<its folder's name>`, with `destination` made when missing;
   * undefined when the data is there already. `invalid_destination` outside the allowed roots.
   */
  private async target(destination: unknown, from: string): Promise<string | undefined> {
    if (typeof destination !== 'string' || destination.trim() === '' || destination.includes('\0')) {
      throw new ChillyError('validation_failed', 'The destination must be a folder path.');
    }
    if (!path.isAbsolute(destination)) {
      throw new ChillyError('validation_failed', `The destination must be an absolute path: ${destination}`);
    }
    const wanted = path.resolve(destination);
    const roots = await realRoots(this.options.roots);
    const allowed = (real: string) => roots.some((root) => real === root || real.startsWith(root + path.sep));
    const shownRoots = this.options.roots.join(', ') || '(none: set CHILLY_MOVE_ROOTS)';
    const refused = () =>
      new ChillyError('invalid_destination', `${wanted} is not inside a folder data may be moved to: ${shownRoots}.`);
    // The deepest folder that exists must be inside a root, resolved: a link there cannot lead out.
    let existing = wanted;
    while (!(await exists(existing))) existing = path.dirname(existing);
    const realExisting = await realpath(existing);
    if (!allowed(realExisting)) throw refused();
    if (!(await lstat(realExisting)).isDirectory()) {
      throw new ChillyError('invalid_destination', `${existing} is not a folder.`);
    }
    const rest = path.relative(existing, wanted);
    const realWanted = rest === '' ? realExisting : path.join(realExisting, rest);
    const realFrom = (await exists(from)) ? await realpath(from) : from;
    if (realWanted === realFrom || realWanted.startsWith(realFrom + path.sep)) {
      if (realWanted === path.dirname(realFrom)) return undefined;
      throw new ChillyError('invalid_destination', `${wanted} is inside the job's own folder.`);
    }
    const to = path.join(realWanted, path.basename(from));
    if (to === realFrom) return undefined;
    if (await exists(to)) {
      throw new ChillyError(
        'invalid_destination',
        `${to} already exists: Chilly never mixes a job's files with others.`,
      );
    }
    await mkdir(realWanted, { recursive: true, mode: 0o755 }).catch((cause: unknown) => {
      throw new ChillyError('invalid_destination', `Could not make the folder ${realWanted}.`, { cause });
    });
    if (!allowed(await realpath(realWanted))) throw refused();
    return to;
  }
}

async function realRoots(roots: readonly string[]): Promise<string[]> {
  const real: string[] = [];
  for (const root of roots) {
    try {
      real.push(await realpath(root));
    } catch {
      // A root that does not exist yet holds nothing to move into.
    }
  }
  return real;
}
