/**
 * A tracker on 127.0.0.1 that is broken in one way at first, then comes back as a real
 * bittorrent-tracker Server on the same port: what a client sees when a tracker restarts.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { Server as TrackerServer } from 'bittorrent-tracker';
import { freeLoopbackPort } from './ports.js';

/**
 * - `refuse`: nothing listens on the port, so connections are refused;
 * - `http-500`: every announce gets a 500;
 * - `hang`: the connection is accepted and the request read, but never answered;
 * - `reset`: the connection is reset (RST) once the request has arrived;
 * - `reset-mid-body`: a 200 and part of the body are sent, then the connection is reset.
 */
export type TrackerFault = 'refuse' | 'http-500' | 'hang' | 'reset' | 'reset-mid-body';

export interface TrackerAnnounce {
  at: number;
  /** The announcing peer's torrent port: tells the seeder from the downloader. */
  port: number;
  event: string;
}

export interface FlakyTracker {
  readonly fault: TrackerFault;
  readonly announceUrl: string;
  /**
   * Resolves once an announce has failed the way `fault` says; for `hang`, once the client gave
   * up on it. Nothing of a refused connection reaches us: for `refuse` it resolves at once.
   */
  readonly firstFailure: Promise<void>;
  /** Failed announces seen so far (always 0 for `refuse`). */
  readonly failures: number;
  /** Announces the real tracker answered, once it is back. */
  readonly announces: readonly TrackerAnnounce[];
  /** Stops failing and serves as a real tracker on the same port; returns when it listens. */
  recover(): Promise<void>;
  close(): Promise<void>;
}

export async function startFlakyTracker(fault: TrackerFault): Promise<FlakyTracker> {
  const port = await freeLoopbackPort();
  const announces: TrackerAnnounce[] = [];
  let failures = 0;
  let onFirstFailure = (): void => undefined;
  const firstFailure = new Promise<void>((resolve) => {
    onFirstFailure = resolve;
  });
  const failed = (): void => {
    failures += 1;
    onFirstFailure();
  };

  let broken: HttpServer | undefined;
  if (fault === 'refuse') {
    onFirstFailure();
  } else {
    broken = createHttpServer((req, res) => {
      if (fault === 'http-500') {
        res.once('finish', failed);
        res.writeHead(500, { 'content-type': 'text/plain' }).end('tracker is down');
      } else if (fault === 'hang') {
        req.socket.once('close', failed);
      } else if (fault === 'reset') {
        req.socket.resetAndDestroy();
        failed();
      } else {
        res.writeHead(200, { 'content-length': '1000' });
        // Reset once the client has the head and the first bytes: it is reading the body then.
        res.write('d8:intervali', () => {
          setTimeout(() => {
            req.socket.resetAndDestroy();
            failed();
          }, 50);
        });
      }
    });
    await listen(broken, port);
  }

  let tracker: TrackerServer | undefined;
  let closed: Promise<void> | undefined;
  const closeBroken = async (): Promise<void> => {
    const server = broken;
    broken = undefined;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };

  return {
    fault,
    announceUrl: `http://127.0.0.1:${port}/announce`,
    firstFailure,
    get failures() {
      return failures;
    },
    announces,
    async recover() {
      await closeBroken();
      // The port is free again (listening sockets are SO_REUSEADDR), so the tracker takes it over.
      const server = new TrackerServer({ udp: false, ws: false, http: true, stats: false, interval: 5_000 });
      tracker = server;
      server.on('warning', () => undefined);
      for (const event of ['start', 'update', 'complete']) {
        server.on(event, (_addr: string, params: { port: number }) => {
          announces.push({ at: Date.now(), port: params.port, event });
        });
      }
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => {
          server.off('error', reject);
          server.on('error', () => undefined);
          resolve();
        });
      });
    },
    close() {
      closed ??= (async () => {
        await closeBroken();
        const server = tracker;
        if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
      })();
      return closed;
    },
  };
}

function listen(server: HttpServer, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}
