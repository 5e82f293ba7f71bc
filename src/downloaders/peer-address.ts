/**
 * A peer's address as every engine's peer list writes it (`JobPeer.address`): `host:port`, an
 * IPv6 host in brackets, an IPv4 peer that reached a dual-stack socket (`::ffff:a.b.c.d`) as
 * IPv4, as qBittorrent and Transmission show it.
 */
export function peerAddress(host: string, port: number): string {
  const ipv4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(host)?.[1];
  if (ipv4 !== undefined) return `${ipv4}:${port}`;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
