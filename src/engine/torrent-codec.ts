/**
 * What reads torrents and magnets: parse-torrent, magnet-uri and bencode, as patched (see
 * bittorrent-engine.ts). Apart from the engine so that checking a source or a .torrent does not
 * load WebTorrent itself; `npm run build` bundles both with the code they share in one chunk.
 */

export { default as bencode } from 'bencode';
export { default as decodeMagnet } from 'magnet-uri';
export { default as parseTorrent } from 'parse-torrent';
