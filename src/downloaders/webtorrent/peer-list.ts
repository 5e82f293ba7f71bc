/**
 * A running torrent's peers as people see them in qBittorrent or Transmission: address, client
 * (named from its peer id by bittorrent-peerid, the library WebTorrent's tracker uses), speeds,
 * how much of the torrent it has, and who chokes whom.
 */
import peerid from 'bittorrent-peerid';
import type { JobPeer } from '../../domain/job.js';
import type { Torrent, Wire } from '../../engine/bittorrent-engine.js';
import { peerAddress } from '../peer-address.js';

function clientOf(wire: Wire): string {
  if (wire.type === 'webSeed') return 'web seed';
  if (wire.peerId === '') return 'unknown';
  try {
    const { client, version } = peerid(wire.peerId);
    return version === undefined || version === '' ? client : `${client} ${version}`;
  } catch {
    return 'unknown';
  }
}

/** Pieces the peer has out of `pieceCount` (0 before the metadata is known). */
function progressOf(wire: Wire, pieceCount: number): number {
  if (pieceCount === 0) return 0;
  let have = 0;
  for (let index = 0; index < pieceCount; index++) if (wire.peerPieces.get(index)) have += 1;
  return have / pieceCount;
}

export function peerList(torrent: Torrent): JobPeer[] {
  const pieceCount = torrent.pieces.length;
  return torrent.wires.map((wire) => ({
    address: peerAddress(wire.remoteAddress, wire.remotePort),
    client: clientOf(wire),
    downloadSpeed: Math.round(wire.downloadSpeed()),
    uploadSpeed: Math.round(wire.uploadSpeed()),
    progress: progressOf(wire, pieceCount),
    incoming: wire.type.endsWith('Incoming'),
    choked: wire.peerChoking,
    interested: wire.amInterested,
    peerInterested: wire.peerInterested,
  }));
}
