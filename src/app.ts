/**
 * The composition root: everything `npm start` does, as a function an app or a test can call.
 * It builds the parts from the configuration — database → engine → service → metadata → token
 * → HTTP app → listen — and closes whatever it opened if a later step fails. `api/` only serves.
 */
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createServer } from './api/create-server.js';
import { loadOrCreateToken } from './api/token.js';
import type { ChillyConfig } from './config/chilly-config.js';
import { ChillyError } from './domain/errors.js';
import type { Downloader } from './downloaders/downloader.js';
import { downloaderFromConfig } from './downloaders/engine-from-config.js';
import { CompletionHooks } from './hooks/completion-hooks.js';
import { type CreateMetadataServiceOptions, createMetadataService } from './metadata/metadata-service.js';
import { DownloadService } from './service/download-service.js';
import { LibraryPlacer } from './service/library-placer.js';
import { jobMovieLookup, jobMoviesLookup, MovieLinker, type MovieLinkerOptions } from './service/movie-linker.js';
import { WatchFolder } from './service/watch-folder.js';
import { openDatabase } from './storage/database.js';
import { LibraryEntriesRepository } from './storage/library-entries-repository.js';
import { MovieLinksRepository } from './storage/movie-links-repository.js';
import { chooseTorrentPort } from './storage/torrent-port-file.js';

export const DATABASE_FILE_NAME = 'chilly.db';

export interface StartServerOptions {
  config: ChillyConfig;
  /** The engine; by default the one `config.engine` names (tests pass a MockDownloader). */
  downloader?: Downloader;
  /** Pino options for the request log (default: info level to stdout). */
  logger?: boolean | Record<string, unknown>;
  /** Problems with no caller to report to (background writes, seeding, failed movie lookups). */
  onWarning?: (message: string, cause?: unknown) => void;
  /** Movie metadata: overrides of the configuration and test hooks (TMDB timeouts, retry delays). */
  metadata?: {
    /** Identify downloads without being asked; default `config.metadata.autoIdentify`. */
    autoIdentify?: boolean;
    client?: CreateMetadataServiceOptions['client'];
    linker?: Pick<MovieLinkerOptions, 'concurrency' | 'retryDelaysMs'>;
  };
}

export interface RunningServer {
  app: FastifyInstance;
  service: DownloadService;
  /** Links jobs to movies (and serves their artwork). */
  linker: MovieLinker;
  /** `http://127.0.0.1:3000` */
  url: string;
  /** Where the token is kept; undefined when it came from CHILLY_TOKEN. */
  tokenFile: string | undefined;
  /** Stops listening, ends event streams, stops movie lookups, saves resume data, stops the engine, closes the database. */
  close(): Promise<void>;
}

/** How long requests in progress get to finish when the server closes. */
const CLOSE_GRACE_MS = 2_000;

/**
 * Closes the HTTP server: no new connections, event streams ended, and then what is left after
 * `graceMs` is cut. Fastify closes idle keep-alive connections itself, but not one a client opened
 * and has not sent a request on yet (Node's fetch opens one when it drops an event stream), which
 * held `chilly serve` open until that client went away.
 */
async function closeWithin(app: FastifyInstance, graceMs: number): Promise<void> {
  const cut = setTimeout(() => app.server.closeAllConnections(), graceMs);
  try {
    await app.close();
  } finally {
    clearTimeout(cut);
  }
}

/** Whether binding to `host` keeps the API on this machine. */
export function isLoopbackHost(host: string): boolean {
  const bare = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  return bare === 'localhost' || bare === '::1' || /^127(?:\.\d{1,3}){3}$/.test(bare);
}

/**
 * Reachable from the network with a token that only sits in a file on this machine is a setup
 * mistake waiting to happen: demand an explicit CHILLY_TOKEN before listening beyond loopback.
 */
export function assertSafeBind(config: Pick<ChillyConfig, 'host' | 'token'>): void {
  if (isLoopbackHost(config.host) || config.token !== undefined) return;
  throw new ChillyError(
    'validation_failed',
    `Refusing to listen on ${config.host} (not a loopback address) without CHILLY_TOKEN: set CHILLY_TOKEN ` +
      '(and CHILLY_ALLOWED_HOSTS with the names clients will use), or listen on 127.0.0.1.',
  );
}

/**
 * Downloads are folders of strangers' files, created and deleted by job: the media root may not be
 * the data folder or hold it, where one job's folder could be named like the database or the token.
 */
export function assertSeparateFolders(config: Pick<ChillyConfig, 'dataDir' | 'mediaRoot'>): void {
  const media = path.resolve(config.mediaRoot);
  const data = path.resolve(config.dataDir);
  if (data === media || data.startsWith(media + path.sep)) {
    throw new ChillyError(
      'validation_failed',
      `The media folder ${media} ${data === media ? 'is' : 'holds'} the data folder ${data}: ` +
        'keep downloads apart from the database and the token (set CHILLY_MEDIA_ROOT to another folder, ' +
        `such as ${path.join(data, 'media')}).`,
    );
  }
}

export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const { config } = options;
  assertSafeBind(config);
  assertSeparateFolders(config);
  // Jobs, the token and caches are the user's business: a folder we make is theirs alone. One
  // that already exists keeps the mode they gave it.
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
  const token = await loadOrCreateToken(config.dataDir, config.token);
  // Refuses a damaged database (database_damaged, with a backup), before anything else starts.
  const database = openDatabase(path.join(config.dataDir, DATABASE_FILE_NAME));
  let downloader: Downloader | undefined;
  let service: DownloadService | undefined;
  let linker: MovieLinker | undefined;
  let app: FastifyInstance | undefined;
  const warn = options.onWarning ?? (() => undefined);
  try {
    if (options.downloader !== undefined) {
      downloader = options.downloader;
    } else {
      // The embedded engine listens on a port chosen once and kept (src/storage/torrent-port-file.ts).
      const torrentPort =
        config.engine === 'webtorrent' ? await chooseTorrentPort(config.dataDir, config.torrentPort, warn) : 0;
      downloader = await downloaderFromConfig({ ...config, torrentPort }, warn);
    }
    // No request leaves before a lookup is asked for, and none at all without a key or token.
    const metadata = createMetadataService({
      tmdb: config.tmdb,
      dataDir: config.dataDir,
      db: database,
      client: {
        ...options.metadata?.client,
        // Already redacted by the client: never the key or token.
        onFailedAttempt: (failure) =>
          warn(`TMDB ${failure.request}: ${failure.message} (attempt ${failure.attemptNumber})`),
      },
    });
    const links = new MovieLinksRepository(database);
    service = await DownloadService.open({
      database,
      downloader,
      maxActiveDownloads: config.maxActiveDownloads,
      rateLimits: {
        downloadBytesPerSecond: config.downloadLimit * 1024,
        uploadBytesPerSecond: config.uploadLimit * 1024,
      },
      seeding: config.seeding,
      moveRoots: [config.mediaRoot, ...config.moveRoots],
      ...(options.onWarning === undefined ? {} : { onWarning: options.onWarning }),
      movies: jobMovieLookup(links),
      moviesOf: jobMoviesLookup(links),
    });
    linker = new MovieLinker({
      service,
      metadata,
      links,
      // Configuring a key is the user's request for metadata; `metadata.autoIdentify: false`
      // (CHILLY_METADATA_AUTO_IDENTIFY=0) withdraws it, leaving only explicit requests.
      autoIdentify: options.metadata?.autoIdentify ?? config.metadata.autoIdentify,
      onWarning: warn,
      ...options.metadata?.linker,
    });
    linker.start();
    const hooks = new CompletionHooks({ ...config.onComplete, warn: (message) => warn(message) });
    service.subscribe((event) => {
      if (event.type === 'completed') hooks.completed(event.job);
    });
    const placer =
      config.libraryDir === undefined
        ? undefined
        : new LibraryPlacer({
            root: config.libraryDir,
            entries: new LibraryEntriesRepository(database),
            service,
            warn,
            poster: async (tmdbId) => {
              const file = await linker?.artwork(tmdbId, 'poster');
              // TMDB's posters are JPEG; anything else is not named poster.jpg.
              return file === undefined || file.contentType !== 'image/jpeg' ? null : readFile(file.path);
            },
          });
    placer?.start();
    app = createServer({
      libraryFolder: placer,
      service,
      config,
      token: token.token,
      logger: options.logger ?? { level: config.logLevel },
      logFormat: config.logFormat === 'auto' ? (process.stdout.isTTY ? 'text' : 'json') : config.logFormat,
      metadata: { service: metadata, linker },
    });
    const url = await app.listen({ host: config.host, port: config.port });
    const openService = service;
    const watch =
      config.watchDir === undefined
        ? undefined
        : new WatchFolder({ folder: config.watchDir, add: (request) => openService.add(request), warn });
    watch?.start();
    const running = { app, service, linker };
    let closing: Promise<void> | undefined;
    return {
      app,
      service,
      linker,
      url,
      tokenFile: token.file,
      close: () => {
        closing ??= (async () => {
          await watch?.stop();
          await closeWithin(running.app, CLOSE_GRACE_MS);
          await running.linker.close();
          await placer?.stop();
          await running.service.close();
        })();
        return closing;
      },
    };
  } catch (error) {
    await app?.close().catch(() => undefined);
    await linker?.close().catch(() => undefined);
    // Once open, the service owns the engine and the database; before that, they are ours to close.
    if (service !== undefined) {
      await service.close().catch(() => undefined);
    } else {
      await downloader?.destroy().catch(() => undefined);
      database.close();
    }
    throw error;
  }
}
