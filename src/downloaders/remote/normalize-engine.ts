/**
 * Pure mappers from what an external engine reports (already in `EngineTorrent` terms, see each
 * adapter's own `normalize-*.ts`) to a job's figures and status.
 */
import { emptyProgress, type JobProgress, type JobStatus } from '../../domain/job.js';
import type { EngineTorrent } from './engine-adapter.js';

/** A job's progress from the engine's figures for its torrent. */
export function normalizeProgress(torrent: EngineTorrent): JobProgress {
  const total = torrent.bytesTotal;
  return {
    ...emptyProgress(),
    fraction: total === null ? 0 : total === 0 ? 1 : Math.min(1, torrent.bytesDone / total),
    bytesDone: torrent.bytesDone,
    bytesTotal: total,
    downloadSpeed: torrent.downloadSpeed,
    uploadSpeed: torrent.uploadSpeed,
    bytesUploaded: torrent.bytesUploaded,
    peers: torrent.peers,
    etaSeconds: torrent.etaSeconds,
  };
}

/**
 * The status of a running job: `verifying` while the engine checks the data on disk (a recheck, or
 * data found at an add), `stalled` only once the engine has said so for `stalledAfterMs` with no
 * byte arriving (engines call a torrent stalled the moment its rate is 0), else `downloading` (the
 * engine's own queueing and a magnet's metadata fetch included, as the embedded engine shows them).
 */
export function normalizeRunningStatus(
  torrent: EngineTorrent,
  sinceLastDataMs: number,
  stalledAfterMs: number,
): Extract<JobStatus, 'verifying' | 'downloading' | 'stalled'> {
  if (torrent.status === 'verifying' && torrent.hasMetadata) return 'verifying';
  return torrent.status === 'stalled' && sinceLastDataMs >= stalledAfterMs ? 'stalled' : 'downloading';
}
