/**
 * A .torrent as parse-torrent reads it (the parts this project uses). Our own type, so that the
 * package's public declarations (a driver's `StartOptions.source`) name no engine package.
 */
export interface ParsedTorrentFile {
  path: string;
  name: string;
  length: number;
  offset: number;
}

export interface ParsedTorrent {
  infoHash: string;
  name?: string;
  announce?: string[];
  urlList?: string[];
  /** The raw bencoded `info` dictionary; byte strings are Uint8Array. */
  info?: Record<string, unknown>;
  infoBuffer?: Uint8Array;
  files?: ParsedTorrentFile[];
  length?: number;
  pieceLength?: number;
  private?: boolean;
}
