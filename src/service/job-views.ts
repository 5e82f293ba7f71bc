import type { Job, JobMoveProgress, JobMovie, JobSeeding, JobSubtitle } from '../domain/job.js';
import type { RateLimits } from '../domain/rate-limits.js';
import type { JobsRepository, StoredJob } from '../storage/jobs-repository.js';
import { jobSubtitles } from './job-subtitles.js';
import type { LiveJobs } from './live-jobs.js';
import type { StatusWriter } from './status-writer.js';

/** What decorates a job beyond its row: each read for one job, and some for a whole page at once. */
export interface JobViewSources {
  /** The job's movie (`Job.movie`); without it jobs carry no `movie` at all. */
  movies?: (jobId: string) => JobMovie | null;
  /** The movies of a page of jobs in one read (a job missing from the map has none). */
  moviesOf?: (jobIds: readonly string[]) => ReadonlyMap<string, JobMovie>;
  /** A completed job's upload (`Job.seeding`). */
  seeding: (job: Job) => JobSeeding;
  /** A move of the job's data under way (`Job.move`). */
  move?: (id: string) => JobMoveProgress | undefined;
  /** The job's subtitles (`Job.subtitles`): its subtitle files, and the tracks inside its video. */
  subtitles?: (job: Job) => JobSubtitle[];
  /** The job's own speed limits (`Job.rateLimits`). */
  rateLimits?: (id: string) => RateLimits | undefined;
  /** The own speed limits of a page of jobs in one read (a job missing from the map has none). */
  rateLimitsOf?: (jobIds: readonly string[]) => ReadonlyMap<string, RateLimits>;
}

/** What a page reads once for all its jobs, instead of once per job. */
interface PageReads {
  queueRanks: ReadonlyMap<string, number> | undefined;
  movies: ReadonlyMap<string, JobMovie> | undefined;
  rateLimits: ReadonlyMap<string, RateLimits> | undefined;
}

/**
 * Jobs as callers see them: the stored job, with a status the database refused (`StatusWriter`)
 * and the engine's fresher figures (`LiveJobs`), plus its movie when the service was given `movies`.
 * A page of jobs (`viewPage`) reads the queue ranks, movies and limits in one query each: a list of
 * hundreds of jobs must not hold the event loop for a query per job.
 */
export class JobViews {
  constructor(
    private readonly jobs: JobsRepository,
    private readonly statuses: StatusWriter,
    private readonly live: LiveJobs,
    private readonly sources: JobViewSources,
  ) {}

  view(stored: StoredJob): Job {
    return this.decorate(stored, undefined);
  }

  /** The views of a page of jobs, in the same order. */
  viewPage(page: readonly StoredJob[]): Job[] {
    if (page.length <= 1) return page.map((stored) => this.view(stored));
    const ids = page.map((stored) => stored.job.id);
    const { moviesOf, rateLimitsOf } = this.sources;
    const reads: PageReads = {
      // Ranks are read once for the whole queue; a status the database refused is looked up alone.
      queueRanks: page.some((stored) => stored.job.status === 'queued') ? this.jobs.queueRanks() : undefined,
      movies:
        this.sources.movies === undefined || moviesOf === undefined ? undefined : this.safely(() => moviesOf(ids)),
      rateLimits: rateLimitsOf?.(ids),
    };
    return page.map((stored) => this.decorate(stored, reads));
  }

  /** The job's view; throws `job_not_found`. */
  require(id: string): Job {
    return this.view(this.jobs.require(id));
  }

  private decorate(stored: StoredJob, reads: PageReads | undefined): Job {
    const { id } = stored.job;
    // One copy, then filled in: a page decorates hundreds of jobs.
    const job: Job = { ...this.live.overlay(this.statuses.shown(stored.job)) };
    if (job.status === 'completed') job.seeding = this.sources.seeding(job);
    else if (job.status === 'queued') job.queuePosition = this.queuePosition(stored, reads);
    const moving = this.sources.move?.(id);
    if (moving !== undefined) job.move = moving;
    if (job.files !== undefined) {
      const subtitles = this.sources.subtitles?.(job) ?? jobSubtitles(job.files);
      if (subtitles.length > 0) job.subtitles = subtitles;
    }
    const limits = reads?.rateLimits === undefined ? this.sources.rateLimits?.(id) : reads.rateLimits.get(id);
    if (limits !== undefined) job.rateLimits = limits;
    const { movies } = this.sources;
    if (movies === undefined) return job;
    // Decoration only: a failed read must not fail a status call or a progress event.
    const movie = reads?.movies === undefined ? this.safely(() => movies(id)) : reads.movies.get(id);
    job.movie = movie ?? null;
    return job;
  }

  private queuePosition(stored: StoredJob, reads: PageReads | undefined): number {
    // A job the database still calls queued is in the ranks; one shown queued for another reason is counted alone.
    return reads?.queueRanks?.get(stored.job.id) ?? this.jobs.queuePosition(stored.position);
  }

  private safely<T>(read: () => T): T | undefined {
    try {
      return read();
    } catch {
      return undefined;
    }
  }
}
