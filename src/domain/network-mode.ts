/**
 * The one switch for public-network features.
 * - `public`: what users get by default: DHT, local service discovery, UPnP/NAT-PMP port
 *   mapping and web seeds on, so magnets without trackers still find peers.
 * - `loopback`: all of those off; a torrent talks only to the trackers it names. Every test and
 *   benchmark uses this, so nothing they start reaches beyond the machine.
 */
export const NETWORK_MODES = ['public', 'loopback'] as const;
export type NetworkMode = (typeof NETWORK_MODES)[number];

export function isNetworkMode(value: unknown): value is NetworkMode {
  return typeof value === 'string' && (NETWORK_MODES as readonly string[]).includes(value);
}
