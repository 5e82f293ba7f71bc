declare module 'bittorrent-peerid' {
  /** The client a BitTorrent peer id names ("qBittorrent", "4.5.2"); "unknown" when it names none. */
  export default function peerid(peerId: Uint8Array | string): { client: string; version?: string };
}
