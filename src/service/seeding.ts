import type { SeedingPolicy } from '../config/chilly-config.js';
import type { Job, JobSeeding, JobSeedingPolicy } from '../domain/job.js';
import type { KeyedLock } from './keyed-lock.js';
import type { LiveJobs } from './live-jobs.js';

export interface SeedingOptions {
  policy: SeedingPolicy;
  /** A job's own policy, whose values replace the global ones (src/storage/seeding-policies-repository.ts). */
  policyOf?: (id: string) => JobSeedingPolicy | undefined;
  /** The per-job lock: a stop takes it, like any command on the job. */
  locks: KeyedLock;
  live: LiveJobs;
  /** Takes the job off the engine, its data kept; throws what the engine throws. */
  letGo: (id: string) => Promise<void>;
  /** Called when a job's upload has ended (to publish `seeding_stopped`). */
  stopped: (id: string) => void;
  warn: (message: string, cause?: unknown) => void;
}

/**
 * Completed jobs still in the engine, uploading, and when each stops: at the policy's ratio or
 * after its minutes, whichever comes first (at once when either is 0).
 */
export class Seeding {
  /** Per seeding job, the timer that ends its upload after the policy's minutes, and when. */
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly endsAt = new Map<string, number>();
  /** When each seeding job started uploading (its time limit counts from then). */
  private readonly since = new Map<string, number>();

  constructor(private readonly options: SeedingOptions) {}

  /** The policy for one job: its own values where it has them, the global ones otherwise. */
  policyFor(id: string): SeedingPolicy & { own: boolean } {
    const own = this.options.policyOf?.(id);
    const { ratio, minutes } = this.options.policy;
    return {
      ratio: own?.ratio ?? ratio,
      minutes: own?.minutes ?? minutes,
      own: own !== undefined && (own.ratio !== null || own.minutes !== null),
    };
  }

  has(id: string): boolean {
    return this.timers.has(id);
  }

  /** The upload of a completed job as callers see it (`Job.seeding`). */
  describe(job: Job): JobSeeding {
    const total = job.progress.bytesTotal ?? 0;
    const ends = this.endsAt.get(job.id);
    const policy = this.policyFor(job.id);
    return {
      active: this.timers.has(job.id),
      ratio: total > 0 ? job.progress.bytesUploaded / total : 0,
      ratioLimit: policy.ratio,
      endsAt: ends === undefined ? null : new Date(ends).toISOString(),
      minutesLimit: policy.minutes,
      policy: policy.own ? 'job' : 'global',
    };
  }

  /** A job just completed: it uploads until the policy says stop. */
  start(job: Job): void {
    this.since.set(job.id, Date.now());
    this.schedule(job);
  }

  /** The job's policy changed: its upload goes on or ends under the new one (time counted from its start). */
  reapply(job: Job): void {
    if (!this.timers.has(job.id)) return;
    clearTimeout(this.timers.get(job.id));
    this.schedule(job);
  }

  private schedule(job: Job): void {
    const { ratio, minutes } = this.policyFor(job.id);
    const total = job.progress.bytesTotal ?? 0;
    const ends = (this.since.get(job.id) ?? Date.now()) + minutes * 60_000;
    const reached = total > 0 && job.progress.bytesUploaded / total >= ratio;
    if (ratio === 0 || minutes === 0 || reached || ends <= Date.now()) {
      this.timers.delete(job.id);
      this.endsAt.delete(job.id);
      void this.stop(job.id);
      return;
    }
    const timer = setTimeout(() => void this.stop(job.id), ends - Date.now());
    timer.unref();
    this.timers.set(job.id, timer);
    this.endsAt.set(job.id, ends);
  }

  /** Stops a seeding job's upload once it has uploaded `ratio` times its size. */
  checkRatio(job: Job): void {
    if (!this.timers.has(job.id)) return;
    const total = job.progress.bytesTotal ?? 0;
    if (total > 0 && job.progress.bytesUploaded / total >= this.policyFor(job.id).ratio) void this.stop(job.id);
  }

  /** Ends a completed job's upload, under the job's lock. */
  stop(id: string): Promise<void> {
    return this.options.locks.run(id, () => this.stopNow(id));
  }

  /** Ends a completed job's upload; the caller holds the job's lock. */
  async stopNow(id: string): Promise<void> {
    this.forget(id);
    // Runs from timers with no caller to tell: a refused write is a warning, not a crash.
    try {
      this.options.live.persistProgress(id);
    } catch (error) {
      this.options.warn(`Job ${id}: could not save its upload figures`, error);
    }
    this.options.live.drop(id);
    try {
      await this.options.letGo(id);
    } catch (error) {
      this.options.warn(`Job ${id}: could not stop seeding`, error);
    }
    this.options.stopped(id);
  }

  /** No longer counts the job as seeding (it has left the engine some other way). */
  forget(id: string): void {
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
    this.endsAt.delete(id);
    this.since.delete(id);
  }

  /** Forgets every seeding job (the engine is being stopped). */
  clear(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.endsAt.clear();
    this.since.clear();
  }
}
