import type { JobProgress } from '../../domain/job.js';
import type { Torrent } from '../../engine/bittorrent-engine.js';

/** Reads a torrent's transfer figures into our progress shape; sizes count only the selected files. */
export function progressOf(torrent: Torrent, selection?: ReadonlySet<number>): JobProgress {
  const known = torrent.info !== undefined;
  const chosen = selection === undefined ? torrent.files : torrent.files.filter((_, index) => selection.has(index));
  const bytesTotal = !known ? null : selection === undefined ? torrent.length : sum(chosen.map((f) => f.length));
  const bytesDone = !known
    ? 0
    : selection === undefined
      ? torrent.downloaded
      : sum(chosen.map((f) => Math.min(f.length, f.downloaded)));
  const fraction = bytesTotal !== null && bytesTotal > 0 ? Math.min(1, bytesDone / bytesTotal) : 0;
  const downloadSpeed = Math.round(torrent.downloadSpeed);
  const remaining = bytesTotal === null ? null : Math.max(0, bytesTotal - bytesDone);
  let etaSeconds: number | null = null;
  if (remaining === 0) etaSeconds = 0;
  else if (remaining !== null && downloadSpeed > 0) etaSeconds = Math.ceil(remaining / downloadSpeed);
  return {
    fraction,
    bytesDone,
    bytesTotal,
    downloadSpeed,
    uploadSpeed: Math.round(torrent.uploadSpeed),
    bytesUploaded: torrent.uploaded,
    peers: torrent.numPeers,
    etaSeconds,
  };
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
