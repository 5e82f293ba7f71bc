/**
 * A minimal HTTP tracker on 127.0.0.1 that hands out exactly the peers the harness names (the
 * seeder of the current run), never the asking peer itself and never stale leechers of earlier
 * runs. Compact replies only (BEP 23), which every client here asks for.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';

export interface BenchTracker {
  announceUrl: string;
  /** Ports on 127.0.0.1 handed out to every announcing peer (except to the one on that port). */
  setPeers(ports: readonly number[]): void;
  announces(): number;
  close(): Promise<void>;
}

function bencodeReply(peers: Buffer): Buffer {
  const head = `d8:completei1e10:incompletei0e8:intervali30e12:min intervali30e5:peers${peers.length}:`;
  return Buffer.concat([Buffer.from(head, 'latin1'), peers, Buffer.from('e', 'latin1')]);
}

function compactPeers(ports: readonly number[]): Buffer {
  const out = Buffer.alloc(ports.length * 6);
  ports.forEach((port, index) => {
    out.set([127, 0, 0, 1], index * 6);
    out.writeUInt16BE(port, index * 6 + 4);
  });
  return out;
}

export async function startBenchTracker(): Promise<BenchTracker> {
  let peers: readonly number[] = [];
  let count = 0;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (!url.pathname.endsWith('/announce')) {
      res.writeHead(404).end();
      return;
    }
    count++;
    const asker = Number(url.searchParams.get('port'));
    const body = bencodeReply(compactPeers(peers.filter((port) => port !== asker)));
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length }).end(body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('tracker did not bind');
  let closed: Promise<void> | undefined;
  return {
    announceUrl: `http://127.0.0.1:${address.port}/announce`,
    setPeers: (ports) => {
      peers = [...ports];
    },
    announces: () => count,
    close: () => {
      server.closeAllConnections();
      closed ??= new Promise<void>((resolve) => server.close(() => resolve()));
      return closed;
    },
  };
}
