import type { Torrent } from 'webtorrent';
import type { JobProgress } from '../../domain/job.js';

/** Reads a torrent's transfer figures into our progress shape. */
export function progressOf(torrent: Torrent): JobProgress {
  const known = torrent.info !== undefined;
  const bytesTotal = known ? torrent.length : null;
  const bytesDone = known ? torrent.downloaded : 0;
  const fraction = known && torrent.length > 0 ? Math.min(1, bytesDone / torrent.length) : 0;
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
