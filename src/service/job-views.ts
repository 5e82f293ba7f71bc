import type { Job, JobMoveProgress, JobMovie, JobSeeding, JobSubtitle } from '../domain/job.js';
import type { RateLimits } from '../domain/rate-limits.js';
import type { JobsRepository, StoredJob } from '../storage/jobs-repository.js';
import { jobSubtitles } from './job-subtitles.js';
import type { LiveJobs } from './live-jobs.js';
import type { StatusWriter } from './status-writer.js';

/**
 * Jobs as callers see them: the stored job, with a status the database refused (`StatusWriter`)
 * and the engine's fresher figures (`LiveJobs`), plus its movie when the service was given `movies`.
 */
export class JobViews {
  constructor(
    private readonly jobs: JobsRepository,
    private readonly statuses: StatusWriter,
    private readonly live: LiveJobs,
    private readonly movies: ((jobId: string) => JobMovie | null) | undefined,
    /** A completed job's upload (`Job.seeding`). */
    private readonly seeding: (job: Job) => JobSeeding,
    /** A move of the job's data under way (`Job.move`). */
    private readonly move: (id: string) => JobMoveProgress | undefined = () => undefined,
    /** The job's subtitles (`Job.subtitles`): its subtitle files, and the tracks inside its video. */
    private readonly subtitles: (job: Job) => JobSubtitle[] = (job) => jobSubtitles(job.files ?? []),
    /** The job's own speed limits (`Job.rateLimits`). */
    private readonly rateLimits: (id: string) => RateLimits | undefined = () => undefined,
  ) {}

  view(stored: StoredJob): Job {
    const shown = this.live.overlay(this.statuses.shown(stored.job));
    const moving = this.move(stored.job.id);
    const base =
      shown.status === 'completed'
        ? { ...shown, seeding: this.seeding(shown) }
        : shown.status === 'queued'
          ? { ...shown, queuePosition: this.jobs.queuePosition(stored.position) }
          : shown;
    const withMove = moving === undefined ? base : { ...base, move: moving };
    const subtitles = withMove.files === undefined ? [] : this.subtitles(withMove);
    const withSubtitles = subtitles.length === 0 ? withMove : { ...withMove, subtitles };
    const limits = this.rateLimits(stored.job.id);
    const job = limits === undefined ? withSubtitles : { ...withSubtitles, rateLimits: limits };
    if (this.movies === undefined) return job;
    let movie: JobMovie | null = null;
    try {
      movie = this.movies(job.id);
    } catch {
      // Decoration only: a failed read must not fail a status call or a progress event.
    }
    return { ...job, movie };
  }

  /** The job's view; throws `job_not_found`. */
  require(id: string): Job {
    return this.view(this.jobs.require(id));
  }
}
