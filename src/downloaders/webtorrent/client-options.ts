import type { WebTorrentOptions } from '../../engine/bittorrent-engine.js';
import type { EngineNetworkOptions } from '../../network.js';

/** The WebTorrent client's options for a network mode (see network.ts). */
export function webTorrentClientOptions(options: EngineNetworkOptions): WebTorrentOptions {
  const publicFeatures = options.network === 'public';
  return {
    dht: publicFeatures,
    lsd: publicFeatures,
    natUpnp: publicFeatures,
    natPmp: publicFeatures,
    webSeeds: publicFeatures,
    utp: options.utp ?? publicFeatures,
    // WebRTC peers only matter for browser swarms; a desktop backend talks TCP/uTP.
    tracker: { wrtc: false },
    torrentPort: options.torrentPort ?? 0,
    ...(options.maxConnections === undefined ? {} : { maxConns: options.maxConnections }),
  };
}
