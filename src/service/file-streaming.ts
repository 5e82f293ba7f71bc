import { ChillyError } from '../domain/errors.js';
import type { Job } from '../domain/job.js';
import type { JobEvent } from '../domain/job-event.js';
import { assertCapability, type Downloader } from '../downloaders/downloader.js';
import type { JobFileStream } from './download-service-api.js';
import { mainFileIndex, readFileRange } from './job-files.js';

/** What reading a job's files needs from the service. */
export interface FileStreamingSource {
  /** The job as callers see it; throws `job_not_found`. */
  require(id: string): Job;
  /** Whether the job is in the engine (downloading or seeding). */
  isRunning(id: string): boolean;
  subscribe(listener: (event: JobEvent) => void): () => void;
  /** The driver of the job (its source type's). */
  driverOf(job: Job): Pick<Downloader, 'openRangeWaiter' | 'engineName' | 'capabilities'>;
}

/** How long a player's first request may wait for a magnet's metadata. */
const FILES_TIMEOUT_MS = 30_000;

function notRunning(id: string, job: Job): ChillyError {
  return new ChillyError('stream_unavailable', `Job ${JSON.stringify(id)} is ${job.status}: resume it to stream.`);
}

/**
 * A file of the job (its main video file by default) to read: a complete one straight from disk,
 * a running one through the engine, which fetches the pieces asked for first.
 */
export async function openJobFile(source: FileStreamingSource, id: string, fileIndex?: number): Promise<JobFileStream> {
  let job = source.require(id);
  const driver = source.driverOf(job);
  // An external engine's files may be on another machine.
  assertCapability(driver, 'localFiles');
  const running = source.isRunning(id);
  if (job.files === undefined) {
    if (!running) throw notRunning(id, job);
    job = await waitForFiles(source, id, FILES_TIMEOUT_MS);
  }
  const files = job.files ?? [];
  const index = fileIndex ?? mainFileIndex(files);
  const file = files[index];
  if (file === undefined || job.savePath === undefined) {
    throw new ChillyError('file_not_found', `Job ${JSON.stringify(id)} has no file #${index}.`);
  }
  const complete = job.status === 'completed';
  if (complete && job.selectedFiles !== undefined && !job.selectedFiles.includes(index)) {
    throw new ChillyError('stream_unavailable', `File #${index} of job ${JSON.stringify(id)} was not downloaded.`);
  }
  if (!complete && !running) throw notRunning(id, job);
  const folder = job.savePath;
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
      if (!complete) assertCapability(driver, 'streaming');
      const waiter = complete ? undefined : driver.openRangeWaiter?.(id, index);
      if (!complete && waiter === undefined) {
        throw new ChillyError('stream_unavailable', 'This download engine cannot stream unfinished files.');
      }
      return readFileRange({
        folder,
        relativePath: file.path,
        start,
        end,
        waiter,
        signal: options.signal,
        timeoutMs: options.timeoutMs,
      });
    },
  };
}

/** Waits (bounded) until a running magnet's metadata names its files. */
function waitForFiles(source: FileStreamingSource, id: string, timeoutMs: number): Promise<Job> {
  return new Promise<Job>((resolve, reject) => {
    const finish = (outcome: () => void) => {
      clearTimeout(timer);
      unsubscribe();
      outcome();
    };
    const unsubscribe = source.subscribe((event) => {
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
    const now = source.require(id);
    if (now.files !== undefined) finish(() => resolve(now));
  });
}
