/**
 * The API with the metadata feature wired as src/app.ts wires it (metadata service over the
 * SQLite cache, movie links, linker, `movies` decoration), on a MockDownloader driven by a fake
 * clock, with TMDB played by the fake server on 127.0.0.1. Warnings and the request log are
 * captured so tests can check that no secret ever reaches them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { createServer } from '../../src/api/create-server.js';
import type { ChillyConfig } from '../../src/config/chilly-config.js';
import { loadConfig } from '../../src/config/resolve-config.js';
import type { JobEvent } from '../../src/domain/job-event.js';
import { MockDownloader } from '../../src/downloaders/mock-downloader.js';
import { createMetadataService, type MetadataService } from '../../src/metadata/metadata-service.js';
import { DownloadService } from '../../src/service/download-service.js';
import { jobMovieLookup, MovieLinker } from '../../src/service/movie-linker.js';
import { openDatabase } from '../../src/storage/database.js';
import { MovieLinksRepository } from '../../src/storage/movie-links-repository.js';
import { FakeClock } from './fake-clock.js';
import type { FakeTmdbServer } from './fake-tmdb-server.js';

export interface MetadataApiServerOptions {
  fake: FakeTmdbServer;
  /** Which credential the server has: the fake's key (default), its read token, or none. */
  credential?: 'apiKey' | 'readToken' | 'none';
  autoIdentify?: boolean;
  /** false: createServer without the metadata feature at all. */
  withMetadata?: boolean;
  retryDelaysMs?: number[];
  concurrency?: number;
  /** TMDB client attempts per request (default 1: failures show at once). */
  maxAttempts?: number;
  timeoutMs?: number;
  /** Reuse a data folder (restart tests); a new temp folder by default. */
  dataDir?: string;
  /** Size of every mock download (default 10 MiB: 1 s of simulated time). */
  totalBytes?: number;
}

export interface MetadataApiServer {
  app: FastifyInstance;
  service: DownloadService;
  downloader: MockDownloader;
  metadata: MetadataService;
  linker: MovieLinker;
  links: MovieLinksRepository;
  clock: FakeClock;
  config: ChillyConfig;
  dataDir: string;
  token: string;
  auth: Record<string, string>;
  /** Every warning the service, the linker and the TMDB client reported. */
  warnings: string[];
  /** Every line of the request log. */
  log: string[];
  /** Every job event published, in order. */
  events: JobEvent[];
  /** Listens on 127.0.0.1 with a free port; returns the port. */
  listen(): Promise<number>;
  /** Closes app, linker and service; removes the data folder unless `keepData`. */
  close(options?: { keepData?: boolean }): Promise<void>;
}

export async function createMetadataApiServer(options: MetadataApiServerOptions): Promise<MetadataApiServer> {
  const { fake } = options;
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'chilly-metadata-api-')));
  const credential = options.credential ?? 'apiKey';
  const env: Record<string, string> = {
    CHILLY_DATA_DIR: dataDir,
    CHILLY_NETWORK: 'loopback',
    CHILLY_TMDB_BASE_URL: fake.baseUrl,
    ...(credential === 'apiKey' ? { TMDB_API_KEY: fake.apiKey } : {}),
    ...(credential === 'readToken' ? { TMDB_READ_TOKEN: fake.readToken } : {}),
  };
  const config = loadConfig(env, { host: '127.0.0.1', port: 0 });
  const clock = new FakeClock();
  const warnings: string[] = [];
  const log: string[] = [];
  const events: JobEvent[] = [];
  const warn = (message: string, cause?: unknown): void => {
    warnings.push(`${message}${cause instanceof Error ? ` | ${cause.message} | ${String(cause.cause ?? '')}` : ''}`);
  };

  const database = openDatabase(path.join(dataDir, 'chilly.db'));
  const metadata = createMetadataService({
    tmdb: config.tmdb,
    dataDir,
    db: database,
    client: {
      timeoutMs: options.timeoutMs ?? 2_000,
      retry: { maxAttempts: options.maxAttempts ?? 1, minDelayMs: 0, sleep: async () => {} },
      onFailedAttempt: (failure) => warn(`TMDB ${failure.request}: ${failure.message}`),
    },
  });
  const links = new MovieLinksRepository(database);
  const downloader = new MockDownloader({
    mediaRoot: config.mediaRoot,
    clock,
    totalBytes: options.totalBytes ?? 10 * 1024 * 1024,
  });
  const service = await DownloadService.open({
    database,
    downloader,
    onWarning: warn,
    movies: jobMovieLookup(links),
  });
  service.subscribe((event) => events.push(event));
  const linker = new MovieLinker({
    service,
    metadata,
    links,
    autoIdentify: options.autoIdentify ?? true,
    onWarning: warn,
    ...(options.retryDelaysMs === undefined ? {} : { retryDelaysMs: options.retryDelaysMs }),
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
  });
  linker.start();
  const token = randomBytes(32).toString('base64url');
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      log.push(chunk.toString('utf8'));
      done();
    },
  });
  const app = createServer({
    service,
    config,
    token,
    logger: { level: 'debug', stream },
    ...(options.withMetadata === false ? {} : { metadata: { service: metadata, linker } }),
  });
  let closed = false;
  return {
    app,
    service,
    downloader,
    metadata,
    linker,
    links,
    clock,
    config,
    dataDir,
    token,
    auth: { authorization: `Bearer ${token}` },
    warnings,
    log,
    events,
    async listen() {
      await app.listen({ host: '127.0.0.1', port: 0 });
      const address = app.server.address();
      if (address === null || typeof address === 'string') throw new Error('not listening on a TCP port');
      return address.port;
    },
    async close(closeOptions = {}) {
      if (closed) return;
      closed = true;
      await app.close();
      await linker.close();
      await service.close();
      if (closeOptions.keepData !== true) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A magnet whose display name is `name` (the mock downloader reports it as the torrent's name). */
export function namedMagnet(name: string, seed = name): string {
  const hash = createHash('sha1').update(seed).digest('hex');
  return `magnet:?xt=urn:btih:${hash}&dn=${encodeURIComponent(name)}`;
}
