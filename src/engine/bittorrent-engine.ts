/**
 * The BitTorrent engine: WebTorrent 2.8 and the libraries around it, with this repository's
 * patches (patches/*.patch) applied. The rest of the code imports the engine from here (and the
 * torrent readers from torrent-codec.ts) only: biome.json forbids the packages' names elsewhere.
 * The driver loads this module when it first starts a torrent, not when the server starts.
 *
 * `npm run build` bundles this module and everything it imports into
 * dist/src/engine/bittorrent-engine.js (scripts/bundle-engine.mjs), so the package carries the
 * patched code itself: npm `overrides` and patch-package act only in this repository's own
 * install, never in a project that installs chilly-movies as a dependency. In the repository
 * (tests, tsx) the same imports resolve to node_modules, patched by `npm install`.
 */

export { default as bencode } from 'bencode';
export { default as decodeMagnet } from 'magnet-uri';
export type { ParsedTorrent } from 'parse-torrent';
export { default as parseTorrent } from 'parse-torrent';
export type { Torrent, TorrentAddOptions, TorrentFile, WebTorrentOptions, Wire } from 'webtorrent';
export { default as WebTorrent } from 'webtorrent';

/** Set by scripts/bundle-engine.mjs (esbuild `define`) in the bundle; undefined when run from source. */
declare const __CHILLY_ENGINE_BUNDLED__: boolean | undefined;
/** True when this engine is the bundle in dist/, false when it runs from node_modules. */
export const ENGINE_BUNDLED: boolean = typeof __CHILLY_ENGINE_BUNDLED__ !== 'undefined' && __CHILLY_ENGINE_BUNDLED__;

/** The patched inner modules, for engine-patches.ts. */
export * as engineModules from './engine-modules.js';
