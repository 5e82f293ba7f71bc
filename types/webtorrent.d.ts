// The parts of WebTorrent 2.8 (and of the packages around it) that this project uses.
// WebTorrent ships no types; these follow its source (lib/torrent.js, index.js).

declare module 'webtorrent' {
  import type { EventEmitter } from 'node:events';

  export interface WebTorrentOptions {
    dht?: boolean | object;
    lsd?: boolean;
    natUpnp?: boolean | 'permanent';
    natPmp?: boolean;
    utp?: boolean;
    webSeeds?: boolean;
    tracker?: boolean | { wrtc?: boolean | object; [key: string]: unknown };
    torrentPort?: number;
    dhtPort?: number;
    maxConns?: number;
    downloadLimit?: number;
    uploadLimit?: number;
    /** 20 bytes, or their hex; random by default. */
    peerId?: string | Uint8Array;
  }

  export interface TorrentAddOptions {
    path?: string;
    announce?: string[];
    bitfield?: Uint8Array;
    skipVerify?: boolean;
    paused?: boolean;
    deselect?: boolean;
    private?: boolean;
    destroyStoreOnDestroy?: boolean;
    storeCacheSlots?: number;
    /** Added by patches/webtorrent+2.8.5.patch: at most this many bytes of pieces in that cache. */
    storeCacheMaxBytes?: number;
    strategy?: 'sequential' | 'rarest';
    maxWebConns?: number;
    /** A chunk store class (abstract-chunk-store) used instead of fs-chunk-store. */
    store?: new (
      chunkLength: number,
      opts: never,
    ) => unknown;
    /** Spread into the store's constructor options. */
    storeOpts?: object;
    /**
     * Added by patches/webtorrent+2.8.5.patch: called with the raw info dictionary before the
     * engine builds anything from it (also for metadata from peers); a throw fails the torrent.
     */
    verifyMetadata?: (info: Record<string, unknown>) => void;
  }

  export interface TorrentFile extends EventEmitter {
    readonly name: string;
    readonly path: string;
    readonly length: number;
    readonly offset: number;
    readonly downloaded: number;
    readonly progress: number;
    readonly done: boolean;
    select(priority?: number): void;
    deselect(): void;
  }

  export interface Wire extends EventEmitter {
    readonly remoteAddress: string;
    readonly remotePort: number;
    /** Hex; empty until the handshake. */
    readonly peerId: string;
    /** `tcpIncoming`, `tcpOutgoing`, `utpIncoming`, `utpOutgoing`, `webSeed`. */
    readonly type: string;
    readonly amChoking: boolean;
    readonly amInterested: boolean;
    readonly peerChoking: boolean;
    readonly peerInterested: boolean;
    readonly peerPieces: { get(index: number): boolean };
    /** Bytes of blocks received from this peer. */
    readonly downloaded: number;
    downloadSpeed(): number;
    uploadSpeed(): number;
    destroy(): void;
  }

  export interface Torrent extends EventEmitter {
    readonly infoHash: string;
    readonly magnetURI: string;
    readonly name: string;
    readonly path: string;
    readonly files: TorrentFile[];
    readonly length: number;
    readonly pieceLength: number;
    readonly downloaded: number;
    readonly uploaded: number;
    readonly received: number;
    readonly downloadSpeed: number;
    readonly uploadSpeed: number;
    readonly progress: number;
    readonly ratio: number;
    readonly numPeers: number;
    readonly timeRemaining: number;
    readonly ready: boolean;
    readonly done: boolean;
    readonly paused: boolean;
    readonly destroyed: boolean;
    readonly wires: Wire[];
    strategy: 'sequential' | 'rarest';
    readonly info?: Record<string, unknown>;
    readonly metadata?: Uint8Array;
    readonly torrentFile: Uint8Array;
    readonly bitfield?: { readonly buffer: Uint8Array; get(index: number): boolean };
    readonly pieces: unknown[];
    select(start: number, end: number, priority?: number): void;
    deselect(start: number, end: number): void;
    critical(start: number, end: number): void;
    /** Internal: a selection that `_deselect(…, true)` removes without touching the others. */
    _select(start: number, end: number, priority: number, notify: null, isStreamSelection: boolean): void;
    _deselect(start: number, end: number, isStreamSelection: boolean): void;
    pause(): void;
    resume(): void;
    /**
     * Added by patches/webtorrent+2.8.5.patch: takes no new peers and ends every connection
     * gracefully (what is queued for a peer goes out first); `cb` once all are closed, after
     * `timeoutMs` at the latest.
     */
    endConnections(timeoutMs: number, cb?: () => void): void;
    destroy(opts?: { destroyStore?: boolean }, cb?: (err?: Error | null) => void): void;
    addPeer(peer: string): boolean;
  }

  export default class WebTorrent extends EventEmitter {
    constructor(opts?: WebTorrentOptions);
    readonly torrents: Torrent[];
    /** Hex, as peers see it in the handshake. */
    readonly peerId: string;
    readonly destroyed: boolean;
    readonly torrentPort: number;
    add(
      torrentId: string | Uint8Array | object,
      opts?: TorrentAddOptions,
      ontorrent?: (torrent: Torrent) => void,
    ): Torrent;
    seed(
      input: string | string[] | Uint8Array,
      opts?: TorrentAddOptions & { announce?: string[]; name?: string; pieceLength?: number },
      onseed?: (torrent: Torrent) => void,
    ): Torrent;
    get(torrentId: string | Uint8Array): Promise<Torrent | null>;
    remove(
      torrentId: string | Torrent,
      opts?: { destroyStore?: boolean },
      cb?: (err?: Error | null) => void,
    ): Promise<void>;
    address(): { address: string; family: string; port: number } | null;
    throttleDownload(rate: number): void;
    throttleUpload(rate: number): void;
    destroy(cb?: (err?: Error | null) => void): void;
  }
}

declare module 'parse-torrent' {
  // The shape is ours (src/torrent/parsed-torrent.ts), so that no public declaration names this package.
  export type ParsedTorrentFile = import('../src/torrent/parsed-torrent.js').ParsedTorrentFile;
  export type ParsedTorrent = import('../src/torrent/parsed-torrent.js').ParsedTorrent;
  export default function parseTorrent(torrentId: string | Uint8Array | object): Promise<ParsedTorrent>;
  export function toMagnetURI(parsed: Partial<ParsedTorrent>): string;
  export function toTorrentFile(parsed: ParsedTorrent): Uint8Array;
}

declare module 'magnet-uri' {
  export interface MagnetData {
    xt?: string | string[];
    dn?: string | string[];
    tr?: string | string[];
    infoHash?: string;
    infoHashV2?: string;
    name?: string | string[];
    announce?: string[];
    urlList?: string[];
  }
  export default function magnetURIDecode(uri: string): MagnetData;
  export function encode(data: MagnetData): string;
}

declare module 'bittorrent-tracker' {
  import type { EventEmitter } from 'node:events';
  import type { Server as HttpServer } from 'node:http';
  export interface ServerOptions {
    udp?: boolean;
    http?: boolean;
    ws?: boolean;
    stats?: boolean;
    trustProxy?: boolean;
    interval?: number;
    filter?: (infoHash: string, params: unknown, cb: (err: Error | null) => void) => void;
  }
  export class Server extends EventEmitter {
    constructor(opts?: ServerOptions);
    readonly http: HttpServer | null;
    listen(port: number, hostname: string, onlistening?: () => void): void;
    close(cb?: (err?: Error | null) => void): void;
  }
}

declare module 'create-torrent' {
  export interface CreateTorrentOptions {
    name?: string;
    announceList?: string[][];
    pieceLength?: number;
    private?: boolean;
    createdBy?: string;
    creationDate?: number;
  }
  export default function createTorrent(
    input: string | string[] | Uint8Array | Array<Uint8Array & { name?: string }>,
    opts: CreateTorrentOptions,
    cb: (err: Error | null, torrent: Uint8Array) => void,
  ): void;
}

declare module 'bencode' {
  const bencode: {
    encode(value: unknown): Uint8Array;
    decode(data: Uint8Array): unknown;
  };
  export default bencode;
}
