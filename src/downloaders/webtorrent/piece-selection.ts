import type { Torrent } from '../../engine/bittorrent-engine.js';

/** From the bitfield, not `file.done`: WebTorrent updates that only after its 'verified' event. */
export function selectedFilesDone(torrent: Torrent, selection: ReadonlySet<number>): boolean {
  const bitfield = torrent.bitfield;
  if (bitfield === undefined) return false;
  return torrent.files.every((file, index) => {
    if (!selection.has(index) || file.length === 0) return true;
    const last = Math.floor((file.offset + file.length - 1) / torrent.pieceLength);
    for (let piece = Math.floor(file.offset / torrent.pieceLength); piece <= last; piece++) {
      if (!bitfield.get(piece)) return false;
    }
    return true;
  });
}

/**
 * Downloads only the selected files: WebTorrent starts with the whole torrent selected, so that
 * selection is dropped and each chosen file selected instead. Pieces shared with a chosen file
 * are still fetched (a piece is the smallest unit a peer sends).
 */
export function applySelection(torrent: Torrent, selection: ReadonlySet<number> | undefined): void {
  if (torrent.pieces.length === 0) return;
  torrent.deselect(0, torrent.pieces.length - 1);
  // No file.deselect() for the others: it would also drop a piece they share with a chosen file.
  torrent.files.forEach((file, index) => {
    if (selection === undefined || selection.has(index)) file.select();
  });
}
