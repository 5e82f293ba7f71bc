import type { Job } from '../domain/job.js';
import type { Downloader, ResumeState } from '../downloaders/downloader.js';
import type { JobsRepository, StoredJob } from '../storage/jobs-repository.js';
import type { ResumeRepository } from '../storage/resume-repository.js';
import { mergeFootprints } from './job-footprint.js';
import { captureResumeData, resumeDataStillValid, syncFiles } from './resume-data.js';

export interface LiveJobsOptions {
  jobs: JobsRepository;
  resumeData: ResumeRepository;
  downloader: Pick<Downloader, 'resumeState' | 'footprint'>;
  /** Progress is written at most this often per job. */
  persistIntervalMs: number;
  /** Milliseconds clock for the persist throttle. */
  now: () => number;
  warn: (message: string, cause?: unknown) => void;
}

/**
 * What the engine knows about running jobs ahead of the database: their latest figures (shown in
 * place of the stored ones, written at a bounded rate) and their bitfields (the resume data a
 * restart starts them from).
 */
export class LiveJobs {
  /** Latest figures of running jobs, fresher than the database. */
  private readonly live = new Map<string, Job>();
  private readonly lastPersisted = new Map<string, number>();
  /** How many created paths of each job are saved: the footprint is written again only when it grew. */
  private readonly savedFootprints = new Map<string, number>();

  constructor(private readonly options: LiveJobsOptions) {}

  /** Takes in the engine's latest figures for a job. */
  update(job: Job): void {
    this.live.set(job.id, job);
  }

  /** Drops a job's figures: the stored ones are shown again. */
  drop(id: string): void {
    this.live.delete(id);
  }

  /** Drops a job's figures and its place in the persist throttle. */
  forget(id: string): void {
    this.live.delete(id);
    this.lastPersisted.delete(id);
    this.savedFootprints.delete(id);
  }

  /** The job was just handed to the engine: its progress is next written a full interval from now. */
  started(id: string): void {
    this.lastPersisted.set(id, this.options.now());
  }

  /** Whether the throttle lets the job's progress be written now; when it does, its interval starts again. */
  persistDue(id: string): boolean {
    const now = this.options.now();
    if (now - (this.lastPersisted.get(id) ?? 0) >= this.options.persistIntervalMs) {
      this.lastPersisted.set(id, now);
      return true;
    }
    return false;
  }

  /** Writes the job's latest transfer figures, if there are any, and what it made on disk. */
  persistProgress(id: string): void {
    this.persistFootprint(id);
    const live = this.live.get(id);
    if (live === undefined) return;
    const { bytesDone, bytesTotal, bytesUploaded } = live.progress;
    this.options.jobs.setProgress(id, { bytesDone, bytesTotal, bytesUploaded });
  }

  /** Saves the files and folders the engine made for the job, when there are new ones. */
  persistFootprint(id: string): void {
    const live = this.options.downloader.footprint?.(id);
    if (live === undefined || live.created.length === (this.savedFootprints.get(id) ?? -1)) return;
    const stored = this.options.jobs.get(id);
    if (stored === undefined) return;
    const merged = mergeFootprints(stored.footprint, live);
    this.options.jobs.setFootprint(id, merged);
    this.savedFootprints.set(id, live.created.length);
  }

  /** Saves the engine's bitfield for the job, with its files' sizes and times (synced to disk first when asked). */
  saveResume(id: string, stored: StoredJob, options: { synced: boolean }): void {
    const state = this.options.downloader.resumeState?.(id);
    const files = this.live.get(id)?.files ?? stored.job.files;
    if (state === undefined || files === undefined || stored.job.savePath === undefined) return;
    if (options.synced) syncFiles(stored.job.savePath, files);
    this.options.resumeData.save(id, captureResumeData(state, stored.job.savePath, files, options));
  }

  /** The saved bitfield to start the job from, when its files still match it; else none (a full check). */
  usableResume(stored: StoredJob): ResumeState | undefined {
    const data = this.options.resumeData.get(stored.job.id);
    if (data === undefined || stored.job.savePath === undefined) return undefined;
    const check = resumeDataStillValid(data, stored.job.savePath);
    if (!check.valid) {
      this.options.warn(`Job ${stored.job.id}: full re-check of its data, because ${check.reason}.`);
      this.options.resumeData.delete(stored.job.id);
      return undefined;
    }
    return { bitfield: data.bitfield, torrentFile: data.torrentFile };
  }

  deleteResume(id: string): void {
    this.options.resumeData.delete(id);
  }

  /** The job with the engine's fresher figures, where it has them. */
  overlay(job: Job): Job {
    const live = this.live.get(job.id);
    if (live === undefined) return job;
    const name = live.name ?? job.name;
    const files = live.files ?? job.files;
    return {
      ...job,
      // The driver knows when a running job is still checking its data.
      status: job.status === 'downloading' && live.status === 'verifying' ? 'verifying' : job.status,
      ...(name === undefined ? {} : { name }),
      ...(files === undefined ? {} : { files }),
      progress: live.progress,
    };
  }
}
