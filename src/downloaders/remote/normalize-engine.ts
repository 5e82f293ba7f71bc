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
 * The status of a running job: `stalled` only once the engine has said so for `stalledAfterMs`
 * with no byte arriving (engines call a torrent stalled the moment its rate is 0), else
 * `downloading` (the engine's own queueing and checking included).
 */
export function normalizeRunningStatus(
  torrent: EngineTorrent,
  sinceLastDataMs: number,
  stalledAfterMs: number,
): Extract<JobStatus, 'downloading' | 'stalled'> {
  return torrent.status === 'stalled' && sinceLastDataMs >= stalledAfterMs ? 'stalled' : 'downloading';
}
