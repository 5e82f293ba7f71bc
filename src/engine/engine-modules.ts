/**
 * The engine's inner modules that carry a patch, imported so engine-patches.ts can check the
 * patched behaviour in the very code the engine runs (in the bundle they are the same module
 * instances WebTorrent uses).
 */

export { default as PeerWire } from 'bittorrent-protocol';
export { default as TrackerClient } from 'bittorrent-tracker/client';
export { default as ImmediateChunkStore } from 'immediate-chunk-store';
export { default as dhtBencode } from 'k-rpc-socket/node_modules/bencode/lib/index.js';
export { default as throughput } from 'throughput';
export { default as TorrentPiece } from 'torrent-piece';
export { arr2hex } from 'uint8-util';
export { default as utMetadata } from 'ut_metadata';
export * as webrtcPolyfill from 'webrtc-polyfill';
export { default as WebTorrentTorrent } from 'webtorrent/lib/torrent.js';
export { bencode } from './torrent-codec.js';
