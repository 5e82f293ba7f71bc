import type { JobFootprint } from '../downloaders/downloader.js';
import type { StoredJob } from '../storage/jobs-repository.js';

/** What a job made on disk, as saved and as the engine knows it now (it only ever grows). */
export function mergeFootprints(saved: JobFootprint, live: JobFootprint | undefined): JobFootprint {
  if (live === undefined) return saved;
  return {
    folderCreated: saved.folderCreated || live.folderCreated,
    created: [...new Set([...saved.created, ...live.created])],
  };
}

/**
 * Whether the job has written data into its folder: its folder vanishing then means the data is
 * gone (`path_missing`), not that the job never started.
 */
export function jobHasData(stored: StoredJob): boolean {
  const { job, footprint } = stored;
  return (
    footprint.created.length > 0 ||
    job.progress.bytesDone > 0 ||
    job.status === 'completed' ||
    job.status === 'files_missing'
  );
}
