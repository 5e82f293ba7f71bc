/**
 * Pure mappers from qBittorrent's WebUI API JSON to the engine-neutral shapes of
 * ../remote/engine-adapter.ts. No I/O: the adapter (./qbittorrent-adapter.ts) fetches, these translate.
 *
 * The API is documented at https://github.com/qbittorrent/qBittorrent/wiki/WebUI-API-(qBittorrent-4.1)
 * (`torrents/info` under "Get torrent list", `torrents/files` under "Get torrent contents",
 * `sync/maindata` under "Get main data"). Where the wiki is silent, the source is the reference:
 * src/webui/api/serialize/serialize_torrent.cpp (state strings, fields) and
 * src/base/bittorrent/torrentimpl.cpp `TorrentImpl::updateState()` (when each state applies).
 */
import type { JobPeer } from '../../domain/job.js';
import { peerAddress } from '../peer-address.js';
import type { EngineFile, EngineSync, EngineTorrent } from '../remote/engine-adapter.js';

/**
 * A torrent as `torrents/info` lists it, or as `sync/maindata` sends it (there every field is
 * optional: after the first answer only the fields that changed come, keyed by the torrent's hash).
 * Only the fields read here; qBittorrent sends many more.
 */
export interface QBittorrentTorrentJson {
  /** The torrent's id: its v1 info-hash, or its truncated v2 hash for a v2-only torrent. Absent in maindata (it is the key). */
  hash?: string;
  /** The v1 info-hash ('' for v2-only torrents); since Web API 2.8.4 (qBittorrent 4.4). */
  infohash_v1?: string;
  name?: string;
  /** One of the strings in `STATE_STATUS`. */
  state?: string;
  save_path?: string;
  /** Bytes of the wanted files (0 while the metadata is unknown). */
  size?: number;
  /** Bytes of all files; -1 while the metadata is unknown (4.5: `TorrentInfo::totalSize()`). */
  total_size?: number;
  /** Verified bytes of the wanted files (libtorrent's `total_wanted_done`). */
  completed?: number;
  /** 0..1 of the wanted bytes. */
  progress?: number;
  dlspeed?: number;
  upspeed?: number;
  /** Uploaded over the torrent's life. */
  uploaded?: number;
  /** Connected seeds and connected leechers (`num_complete`/`num_incomplete` are the swarm's). */
  num_seeds?: number;
  num_leechs?: number;
  /** Seconds; 8640000 (100 days) means "infinite". */
  eta?: number;
  /** Since Web API 2.11 (qBittorrent 5); 4.x has no such field, see `hasMetadata()`. */
  has_metadata?: boolean;
  seq_dl?: boolean;
  f_l_piece_prio?: boolean;
}

/** One entry of `torrents/files?hash=` (an empty array until the metadata is known). */
export interface QBittorrentFileJson {
  /** The file's index in the torrent (since Web API 2.8.2); the array is in this order anyway. */
  index?: number;
  /** Path inside the save path, '/'-separated, the torrent's top folder included (with the default "Original" layout). */
  name: string;
  size: number;
  /** 0..1 of the file's bytes. */
  progress: number;
  /** 0 = do not download, 1 = normal, 6 = high, 7 = maximal. */
  priority: number;
}

/** What `sync/maindata?rid=` answers; only the torrent parts are read here. */
export interface QBittorrentMainDataJson {
  rid: number;
  full_update?: boolean;
  torrents?: Record<string, QBittorrentTorrentJson>;
  torrents_removed?: string[];
}

type EngineStatus = EngineTorrent['status'];

/** qBittorrent's `eta` for "no estimate" (MAX_ETA in src/base/bittorrent/torrent.h). */
const INFINITE_ETA = 8_640_000;

/**
 * Every `state` string qBittorrent has sent, 4.1 to 5.x, and the job status it means. The quotes are the
 * wiki's descriptions of `state` under "Get torrent list":
 * https://github.com/qbittorrent/qBittorrent/wiki/WebUI-API-(qBittorrent-4.1)#get-torrent-list
 * and, for the 5.x renames, https://github.com/qbittorrent/qBittorrent/wiki/WebUI-API-(qBittorrent-5.0)#get-torrent-list
 */
const STATE_STATUS: Readonly<Record<string, EngineStatus>> = {
  // "Some error occurred, applies to paused torrents": libtorrent stopped it on a file error.
  error: 'error',
  // "Torrent data files is missing": checked at start-up, or found while running.
  missingFiles: 'error',
  // "Torrent is being seeded and data is being transferred"
  uploading: 'completed',
  // "Torrent is paused and has finished downloading" (4.x). Complete data, not seeding: still `completed`.
  pausedUP: 'completed',
  // The same as pausedUP, renamed in qBittorrent 5.0 (Web API 2.11.0).
  stoppedUP: 'completed',
  // "Queuing is enabled and torrent is queued for upload"
  queuedUP: 'completed',
  // "Torrent is being seeded, but no connection were made"
  stalledUP: 'completed',
  // "Torrent has finished downloading and is being checked": the check may find damage, so not yet `completed`.
  checkingUP: 'verifying',
  // "Torrent is forced to uploading and ignore queue limit"
  forcedUP: 'completed',
  // "Torrent is allocating disk space for download" (listed by the wiki; 4.x and 5.x no longer send it).
  allocating: 'downloading',
  // "Torrent is being downloaded and data is being transferred"
  downloading: 'downloading',
  // "Torrent has just started downloading and is fetching metadata": a magnet waiting for its info dictionary.
  metaDL: 'verifying',
  // Fetching metadata with "force start" on (serialize_torrent.cpp; not in the wiki's list).
  forcedMetaDL: 'verifying',
  // "Torrent is paused and has NOT finished downloading" (4.x); also a paused magnet without metadata.
  pausedDL: 'paused',
  // The same as pausedDL, renamed in qBittorrent 5.0 (Web API 2.11.0).
  stoppedDL: 'paused',
  // "Queuing is enabled and torrent is queued for download"
  queuedDL: 'queued',
  // "Torrent is being downloaded, but no connection were made": in updateState() this is any
  // unfinished, running torrent whose payload download rate is 0 at this instant, peers or not.
  stalledDL: 'stalled',
  // "Same as checkingUP, but torrent has NOT finished downloading"
  checkingDL: 'verifying',
  // "Torrent is forced to downloading to ignore queue limit"
  forcedDL: 'downloading',
  // "Checking resume data on qBt startup": every torrent passes through it after the daemon starts.
  checkingResumeData: 'verifying',
  // "Torrent is moving to another location": busy with its data, not transferring.
  moving: 'verifying',
  // "Unknown status"
  unknown: 'error',
};

/** The job status for a qBittorrent `state` string, with the engine's words when it is an error. */
export function qbittorrentStatus(
  state: string | undefined,
  progress: number | undefined,
): { status: EngineStatus; errorMessage?: string } {
  const status = state === undefined ? undefined : STATE_STATUS[state];
  if (status === undefined) {
    // A state string from a newer qBittorrent: judge by the data rather than fail every job.
    return { status: (progress ?? 0) >= 1 ? 'completed' : 'downloading' };
  }
  if (status !== 'error') return { status };
  // 4.x and 5.x send no error text in the API; their log (Execution Log) has it.
  const errorMessage =
    state === 'missingFiles'
      ? "qBittorrent cannot find the torrent's files on disk (state missingFiles)"
      : state === 'unknown'
        ? 'qBittorrent reports the torrent in an unknown state'
        : "qBittorrent stopped the torrent on an error (state error; qBittorrent's log says which)";
  return { status, errorMessage };
}

/** Whether qBittorrent has the torrent's metadata (its files and sizes). */
export function hasMetadata(torrent: QBittorrentTorrentJson): boolean {
  if (typeof torrent.has_metadata === 'boolean') return torrent.has_metadata; // 5.x says so
  if (torrent.state === 'metaDL' || torrent.state === 'forcedMetaDL') return false;
  // 4.x: total_size is -1 until the metadata is known (a paused magnet is `pausedDL` with -1).
  return typeof torrent.total_size === 'number' && torrent.total_size >= 0;
}

function count(value: number | undefined): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.round(value) : 0;
}

/**
 * One torrent of `torrents/info`, or the merged maindata object of one hash, as an `EngineTorrent`.
 * `hash` is the key maindata sends it under (or its `hash` field).
 */
export function normalizeQBittorrentTorrent(hash: string, torrent: QBittorrentTorrentJson): EngineTorrent {
  const v1 = torrent.infohash_v1;
  const infoHash = (typeof v1 === 'string' && /^[0-9a-fA-F]{40}$/.test(v1) ? v1 : hash).toLowerCase();
  const { status, errorMessage } = qbittorrentStatus(torrent.state, torrent.progress);
  const metadata = hasMetadata(torrent);
  const eta = torrent.eta;
  let etaSeconds: number | null = null;
  if (status === 'completed') etaSeconds = 0;
  else if (status !== 'paused' && typeof eta === 'number' && eta >= 0 && eta < INFINITE_ETA) etaSeconds = eta;

  const result: EngineTorrent = {
    infoHash,
    status,
    savePath: torrent.save_path ?? '',
    hasMetadata: metadata,
    bytesDone: count(torrent.completed),
    bytesTotal: metadata ? count(torrent.size) : null,
    downloadSpeed: count(torrent.dlspeed),
    uploadSpeed: count(torrent.upspeed),
    bytesUploaded: count(torrent.uploaded),
    peers: count(torrent.num_seeds) + count(torrent.num_leechs),
    etaSeconds,
  };
  if (typeof torrent.name === 'string' && torrent.name !== '') result.name = torrent.name;
  if (errorMessage !== undefined) result.errorMessage = errorMessage;
  return result;
}

/** `torrents/files?hash=` as `EngineFile`s, in the torrent's order. */
export function normalizeQBittorrentFiles(files: readonly QBittorrentFileJson[]): EngineFile[] {
  return files
    .map((file, position) => ({ file, index: typeof file.index === 'number' ? file.index : position }))
    .sort((a, b) => a.index - b.index)
    .map(({ file }) => {
      const length = count(file.size);
      const progress = typeof file.progress === 'number' && Number.isFinite(file.progress) ? file.progress : 0;
      // progress is bytes/size as a double: size * progress gives the bytes back, exactly at 1.
      const bytesDone = progress >= 1 ? length : Math.min(length, Math.max(0, Math.round(progress * length)));
      return { path: file.name.replace(/\\/g, '/'), length, bytesDone, wanted: file.priority !== 0 };
    });
}

/** The merged view of every torrent the engine has, keyed by lowercase hash, as the adapter keeps it between syncs. */
export type QBittorrentTorrentTable = ReadonlyMap<string, QBittorrentTorrentJson>;

/**
 * Applies one `sync/maindata` answer to the table of the previous ones. With `full_update` the answer
 * is everything (the first request, `rid=0`, or when qBittorrent lost track of the `rid`, as after its
 * restart); otherwise each torrent object holds only the fields that changed since that `rid`, merged
 * here into the full object, and `torrents_removed` lists hashes that are gone. Returns the new table
 * and the changes in our terms, every changed torrent whole.
 */
export function applyQBittorrentMainData(
  table: QBittorrentTorrentTable,
  data: QBittorrentMainDataJson,
): { table: Map<string, QBittorrentTorrentJson>; sync: EngineSync } {
  const entries = Object.entries(data.torrents ?? {}).map(([hash, torrent]) => [hash.toLowerCase(), torrent] as const);
  if (data.full_update === true) {
    const next = new Map(entries.map(([hash, torrent]) => [hash, { ...torrent }]));
    const torrents = [...next].map(([hash, torrent]) => normalizeQBittorrentTorrent(hash, torrent));
    return { table: next, sync: { full: true, torrents, removed: [] } };
  }
  const next = new Map(table);
  const removedHashes = new Set((data.torrents_removed ?? []).map((hash) => hash.toLowerCase()));
  const changed: string[] = [];
  for (const [hash, partial] of entries) {
    if (removedHashes.has(hash)) continue;
    next.set(hash, { ...next.get(hash), ...partial });
    changed.push(hash);
  }
  const removed: string[] = [];
  for (const hash of removedHashes) {
    next.delete(hash);
    removed.push(hash);
  }
  const torrents = changed.map((hash) => normalizeQBittorrentTorrent(hash, next.get(hash) ?? {}));
  return { table: next, sync: { full: false, torrents, removed } };
}

/** One peer as `sync/torrentPeers` sends it (keyed by `ip:port`); only the fields read here. */
export interface QBittorrentPeerJson {
  ip?: string;
  port?: number;
  client?: string;
  dl_speed?: number;
  up_speed?: number;
  progress?: number;
  /**
   * uTorrent-style letters, space-separated (src/webui/api/synccontroller.cpp, PeerInfo::flags):
   * `D` downloading from it (we are interested, it does not choke us), `d` interested but choked,
   * `K` it does not choke us but we are not interested, `U`/`u` it is interested in us (unchoked or
   * choked by us), `I` incoming connection.
   */
  flags?: string;
}

/** The peers of `sync/torrentPeers` (its `peers` object) as `JobPeer`s; I2P peers (no ip) are left out. */
export function normalizeQBittorrentPeers(peers: Readonly<Record<string, QBittorrentPeerJson>>): JobPeer[] {
  const out: JobPeer[] = [];
  for (const [key, peer] of Object.entries(peers)) {
    const ip = peer.ip;
    if (ip === undefined || ip === '') continue;
    const flags = new Set((peer.flags ?? '').replace(/\s+/g, ''));
    out.push({
      address: typeof peer.port === 'number' ? peerAddress(ip, peer.port) : key,
      client: peer.client?.trim() || 'unknown',
      downloadSpeed: count(peer.dl_speed),
      uploadSpeed: count(peer.up_speed),
      progress: Math.min(1, Math.max(0, peer.progress ?? 0)),
      incoming: flags.has('I'),
      // It sends to us only with `D` (downloading) or `K` (unchoked, not interested).
      choked: !flags.has('D') && !flags.has('K'),
      interested: flags.has('D') || flags.has('d'),
      peerInterested: flags.has('U') || flags.has('u'),
    });
  }
  return out;
}
