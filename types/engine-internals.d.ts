// The engine's inner modules that src/engine/engine-modules.ts imports to check their patches:
// only the members the checks touch.

declare module 'immediate-chunk-store' {
  interface ChunkStoreLike {
    chunkLength: number;
    put(index: number, buf: Uint8Array, cb?: (error: Error | null) => void): void;
    get(index: number, ...rest: unknown[]): void;
    close(cb?: (error: Error | null) => void): void;
  }
  export default class ImmediateChunkStore {
    constructor(store: ChunkStoreLike);
    put(index: number, buf: Uint8Array, cb?: (error: Error | null) => void): void;
    get(index: number, cb: (error: Error | null, buf?: Uint8Array) => void): void;
  }
}

declare module 'k-rpc-socket/node_modules/bencode/lib/index.js' {
  const bencode: { decode(data: Uint8Array): unknown; encode(value: unknown): Uint8Array };
  export default bencode;
}

declare module 'torrent-piece' {
  export default class TorrentPiece {
    constructor(length: number);
    /** Added by patches/torrent-piece+3.0.2.patch. */
    useTarget?(target: Uint8Array): boolean;
  }
}

declare module 'throughput' {
  /** A meter of bytes per second over the last `seconds` (default 5): call with bytes to add, or none to read. */
  export default function throughput(seconds?: number): (delta?: number) => number;
}

declare module 'ut_metadata' {
  export default function utMetadata(metadata?: Uint8Array): { prototype: object };
}

declare module 'bittorrent-tracker/client' {
  export default class TrackerClient {
    constructor(options: { infoHash: string; peerId: string; announce: string[]; port: number });
    _trackers: unknown[];
    destroy(): void;
  }
}

declare module 'bittorrent-protocol' {
  import type { Duplex } from 'node:stream';
  export default class PeerWire extends Duplex {}
}

declare module 'webtorrent/lib/torrent.js' {
  export default class WebTorrentTorrent {
    prototype: object;
  }
}

declare module 'webtorrent/lib/peer.js' {
  export default class WebTorrentPeer {
    prototype: object;
  }
}

declare module 'webrtc-polyfill' {
  export const RTCPeerConnection: unknown;
  export const RTCSessionDescription: unknown;
  export const RTCIceCandidate: unknown;
}
