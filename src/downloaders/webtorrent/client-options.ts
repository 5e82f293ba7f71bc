import type { NetworkMode } from '../../domain/network-mode.js';
import type { WebTorrentOptions } from '../../engine/bittorrent-engine.js';

/** What the WebTorrent client is told about the network. */
export interface EngineNetworkOptions {
  network: NetworkMode;
  /** Port for incoming peer connections; 0 picks a free one. */
  torrentPort?: number;
  /** uTP next to TCP. Defaults to on for `public`, off for `loopback` where it only adds overhead. */
  utp?: boolean;
  maxConnections?: number;
}

/** The WebTorrent client's options for a network mode (see src/domain/network-mode.ts). */
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
