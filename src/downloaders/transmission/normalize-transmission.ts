/**
 * Pure mappers from Transmission 3.00's `torrent-get` fields to Chilly's `EngineTorrent` and
 * `EngineFile`. What the fields mean: the RPC spec, section 3.3
 * https://github.com/transmission/transmission/blob/3.00/extras/rpc-spec.txt — and, where the spec
 * only says "tr_stat", libtransmission/transmission.h (`tr_stat`, `tr_file_stat`) and
 * libtransmission/torrent.c `tr_torrentStat()` of the same tag.
 */
import type { FileStats, Files, Peers, Torrent } from '@ctrl/transmission';
import type { JobPeer } from '../../domain/job.js';
import { peerAddress } from '../peer-address.js';
import type { EngineFile, EngineTorrent } from '../remote/engine-adapter.js';

/** The `torrent-get` fields `normalizeTransmissionTorrent` reads: what `sync()` asks for, nothing more. */
export const TORRENT_FIELDS = [
  'id',
  'hashString',
  'name',
  'status',
  'error',
  'errorString',
  'downloadDir',
  'metadataPercentComplete',
  'sizeWhenDone',
  'leftUntilDone',
  'haveValid',
  'rateDownload',
  'rateUpload',
  'uploadedEver',
  'downloadedEver',
  'peersConnected',
  'eta',
] as const satisfies readonly (keyof Torrent)[];

/** The `torrent-get` fields `normalizeTransmissionFiles` reads. */
export const FILE_FIELDS = ['hashString', 'files', 'fileStats'] as const satisfies readonly (keyof Torrent)[];

export type TransmissionTorrentFields = Pick<Torrent, (typeof TORRENT_FIELDS)[number]>;

/**
 * `status` (tr_stat.activity, transmission.h `tr_torrent_activity`):
 * 0 stopped, 1 queued to check files, 2 checking files, 3 queued to download, 4 downloading,
 * 5 queued to seed, 6 seeding.
 */
export const TransmissionStatus = {
  stopped: 0,
  checkWait: 1,
  checking: 2,
  downloadWait: 3,
  downloading: 4,
  seedWait: 5,
  seeding: 6,
} as const;

/**
 * `error` (tr_stat.error, transmission.h `tr_stat_errtype`): 0 none, 1 tracker warning, 2 tracker
 * error, 3 local error. Tracker warnings and errors leave the torrent running (other trackers or
 * peers may still serve it), so only a local error (disk full, folder missing or not writable,
 * which also stops the torrent) is a Chilly `error`; `errorString` holds Transmission's words.
 */
export const TransmissionError = { none: 0, trackerWarning: 1, trackerError: 2, localError: 3 } as const;

/**
 * A downloading torrent that has received nothing for this long is `stalled` (as the WebTorrent
 * driver's default `stalledAfterMs`). Transmission's own `isStalled` waits `queue-stalled-minutes`
 * (30 minutes by default), too long to tell a user anything. Keep this well under the 60 s a torrent
 * stays "recently-active" after its last activity (rpcimpl.c RECENTLY_ACTIVE_SECONDS), or the
 * change to `stalled` would never reach an incremental sync.
 */
export const STALLED_AFTER_SECONDS = 30;

export interface TorrentObservation {
  /** Seconds the adapter has seen this torrent downloading without receiving data (0 if it just did). */
  secondsWithoutData: number;
}

export function normalizeTransmissionTorrent(raw: TransmissionTorrentFields, seen: TorrentObservation): EngineTorrent {
  // metadataPercentComplete: 1 for a .torrent; from 0 to 1 while a magnet fetches its info dict.
  // Until it is 1, sizeWhenDone and leftUntilDone are 0: they must not read as "done".
  const hasMetadata = raw.metadataPercentComplete >= 1;
  // sizeWhenDone: bytes of the wanted pieces (whole pieces: a piece shared with an unwanted file
  // counts in full) plus blocks already held of unwanted pieces — completion.c tr_cpSizeWhenDone.
  // leftUntilDone: sizeWhenDone minus the blocks held (checked or not) — tr_cpLeftUntilDone.
  const done = hasMetadata && raw.leftUntilDone === 0;
  const status = chillyStatus(raw, hasMetadata, done, seen);
  // Not read: `percentDone` ((sizeWhenDone - leftUntilDone) / sizeWhenDone, unchecked blocks
  // included) and `isFinished` (a seed ratio or idle limit was reached, and the torrent stopped):
  // `leftUntilDone` and `status` say the same for what Chilly shows.
  // haveValid: bytes of pieces held and checked against their hash, wanted or not; it never exceeds
  // sizeWhenDone (a complete unwanted piece is "held blocks" there too). When nothing is left it may
  // still trail sizeWhenDone by a partly held unwanted piece: report done as done.
  const bytesDone = !hasMetadata ? 0 : done ? raw.sizeWhenDone : Math.min(raw.haveValid, raw.sizeWhenDone);
  const fetching = status === 'downloading' || status === 'stalled';
  // rateDownload/rateUpload are averages over the last seconds: they linger after a stop.
  const stopped = raw.status === TransmissionStatus.stopped;
  const torrent: EngineTorrent = {
    infoHash: raw.hashString.toLowerCase(),
    // For a magnet without metadata: the magnet's `dn`, or the info-hash when it has none.
    name: raw.name,
    status,
    // downloadDir: the folder as it was given to torrent-add (or the session's download-dir),
    // verbatim: Transmission does not normalise it (a trailing '/' stays).
    savePath: raw.downloadDir,
    hasMetadata,
    bytesDone,
    bytesTotal: hasMetadata ? raw.sizeWhenDone : null,
    downloadSpeed: stopped ? 0 : raw.rateDownload,
    uploadSpeed: stopped ? 0 : raw.rateUpload,
    bytesUploaded: raw.uploadedEver,
    peers: raw.peersConnected,
    // eta: seconds until done while downloading (until the seed ratio while seeding, which is not
    // ours to show); -1 "not available", -2 "unknown" (transmission.h TR_ETA_NOT_AVAIL, TR_ETA_UNKNOWN).
    etaSeconds: fetching && raw.eta >= 0 ? raw.eta : null,
  };
  if (status === 'error') torrent.errorMessage = raw.errorString || 'Transmission reported a local error';
  return torrent;
}

function chillyStatus(
  raw: TransmissionTorrentFields,
  hasMetadata: boolean,
  done: boolean,
  seen: TorrentObservation,
): EngineTorrent['status'] {
  if (raw.error === TransmissionError.localError) return 'error';
  switch (raw.status) {
    case TransmissionStatus.stopped:
      // A stopped torrent with all its wanted data: paused after finishing, or stopped by a seed
      // ratio or idle limit (`isFinished`). Either way its data is complete.
      return done ? 'completed' : 'paused';
    case TransmissionStatus.checkWait:
    case TransmissionStatus.checking:
      return 'verifying';
    case TransmissionStatus.downloadWait:
      return done ? 'completed' : 'queued';
    case TransmissionStatus.downloading:
      // Transmission says "downloading" while a magnet fetches its metadata, too.
      if (!hasMetadata) return 'verifying';
      if (done) return 'completed'; // the moment between the last piece and "seeding"
      return seen.secondsWithoutData >= STALLED_AFTER_SECONDS ? 'stalled' : 'downloading';
    case TransmissionStatus.seedWait:
    case TransmissionStatus.seeding:
      return 'completed';
    default:
      // A status number newer than 3.00's: say what the data says rather than guess.
      return done ? 'completed' : 'downloading';
  }
}

/**
 * `files` and `fileStats` (one entry per file, in the torrent's order) as `EngineFile`s.
 *
 * `files[].name` is the path relative to the torrent's `downloadDir`, '/'-separated, and for a
 * multi-file torrent it starts with the torrent's top folder ("Movie.2020/Movie.2020.mkv"); a
 * single-file torrent's one file is just its name. That is what `EngineFile.path` means (relative
 * to the save folder), so it is passed through. On disk an unfinished file is named `<name>.part`
 * while `rename-partial-files` is on (Transmission's default); the name here never has `.part`.
 *
 * `bytesCompleted` counts the blocks Transmission holds of the file, checked or not (torrent.c
 * `countFileBytesCompleted`), so it can run a block or two ahead of what is verified.
 */
export function normalizeTransmissionFiles(files: readonly Files[], fileStats: readonly FileStats[]): EngineFile[] {
  return files.map((file, index) => ({
    path: file.name,
    length: file.length,
    bytesDone: Math.min(file.bytesCompleted, file.length),
    wanted: fileStats[index]?.wanted ?? true,
  }));
}

/**
 * `torrent-get`'s `peers` (tr_peer_stat) as `JobPeer`s. `clientIs*` is about us (we are choked by
 * the peer, we are interested in it), `peerIs*` about the peer (choked by us, interested in us).
 */
export function normalizeTransmissionPeers(peers: readonly Partial<Peers>[]): JobPeer[] {
  return peers.map((peer) => {
    const ip = peer.address ?? '';
    const port = peer.port ?? 0;
    return {
      address: peerAddress(ip, port),
      client: peer.clientName?.trim() || 'unknown',
      downloadSpeed: Math.max(0, peer.rateToClient ?? 0),
      uploadSpeed: Math.max(0, peer.rateToPeer ?? 0),
      progress: Math.min(1, Math.max(0, peer.progress ?? 0)),
      incoming: peer.isIncoming === true,
      choked: peer.clientIsChoked !== false,
      interested: peer.clientIsInterested === true,
      peerInterested: peer.peerIsInterested === true,
    };
  });
}
