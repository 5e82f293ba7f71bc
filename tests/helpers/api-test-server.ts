/**
 * The API on the real DownloadService, a MockDownloader and an in-memory SQLite database, in a
 * temp folder of its own. Nothing listens unless the test calls `listen()` (127.0.0.1 only).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import createTorrent from 'create-torrent';
import type { FastifyInstance } from 'fastify';
import { type CreateServerOptions, createServer, type ServerLimits } from '../../src/api/create-server.js';
import type { AuthFailureLimiter } from '../../src/api/security.js';
import type { ChillyConfig } from '../../src/config/chilly-config.js';
import { loadConfig } from '../../src/config/resolve-config.js';
import { MockDownloader, type MockDownloaderOptions } from '../../src/downloaders/mock-downloader.js';
import { DownloadService } from '../../src/service/download-service.js';
import { openDatabase } from '../../src/storage/database.js';
import { FakeClock } from './fake-clock.js';

export interface ApiTestServerOptions {
  config?: Partial<ChillyConfig>;
  mock?: MockDownloaderOptions;
  limits?: Partial<ServerLimits>;
  maxActiveDownloads?: number;
  authLimiter?: AuthFailureLimiter;
  logger?: CreateServerOptions['logger'];
  webAppFolder?: string;
  logFormat?: 'text' | 'json';
}

export interface ApiTestServer {
  app: FastifyInstance;
  service: DownloadService;
  downloader: MockDownloader;
  /** Drives the mock's progress: nothing advances until the test says so. */
  clock: FakeClock;
  config: ChillyConfig;
  token: string;
  /** `{ authorization: 'Bearer …' }` */
  auth: Record<string, string>;
  /** Listens on 127.0.0.1 with a free port; returns the port. */
  listen(): Promise<number>;
  close(): Promise<void>;
}

export async function createApiTestServer(options: ApiTestServerOptions = {}): Promise<ApiTestServer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'chilly-api-'));
  const clock = new FakeClock();
  const config = loadConfig(
    { CHILLY_DATA_DIR: dir, CHILLY_NETWORK: 'loopback' },
    { host: '127.0.0.1', port: 0, ...options.config },
  );
  const downloader = new MockDownloader({ mediaRoot: config.mediaRoot, clock, ...options.mock });
  const service = await DownloadService.open({
    database: openDatabase(':memory:'),
    downloader,
    maxActiveDownloads: options.maxActiveDownloads ?? 3,
  });
  const token = randomBytes(32).toString('base64url');
  const app = createServer({
    service,
    config,
    token,
    logger: options.logger ?? false,
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    ...(options.authLimiter === undefined ? {} : { authLimiter: options.authLimiter }),
    ...(options.webAppFolder === undefined ? {} : { webAppFolder: options.webAppFolder }),
    ...(options.logFormat === undefined ? {} : { logFormat: options.logFormat }),
  });
  let closed = false;
  return {
    app,
    service,
    downloader,
    clock,
    config,
    token,
    auth: { authorization: `Bearer ${token}` },
    async listen() {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const address = app.server.address();
      if (address === null || typeof address === 'string') throw new Error('not listening on a TCP port');
      return address.port;
    },
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await service.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A magnet URI for a made-up info-hash derived from `seed`, so tests get distinct torrents. */
export function testMagnet(seed: string): string {
  const hash = createHash('sha1').update(seed).digest('hex');
  return `magnet:?xt=urn:btih:${hash}&dn=${encodeURIComponent(seed)}`;
}

/** A real .torrent (create-torrent) for `content`, announcing only to a closed loopback port. */
export function makeTorrentFile(name: string, content: Buffer): Promise<Buffer> {
  const input = Object.assign(Buffer.from(content), { name });
  return new Promise((resolve, reject) => {
    createTorrent(
      input,
      { name, announceList: [['http://127.0.0.1:9/announce']], creationDate: 1_700_000_000 },
      (error, torrent) => (error ? reject(error) : resolve(Buffer.from(torrent))),
    );
  });
}
