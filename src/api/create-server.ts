/**
 * The HTTP API as a Fastify app that does not listen (tests call `app.inject()`; src/server.ts
 * listens). Closing the app ends open event streams; the service is the caller's to close.
 */
import { createRequire } from 'node:module';
import type { Ajv2020, ValidateFunction } from 'ajv/dist/2020.js';
import Fastify, {
  type FastifyInstance,
  type FastifyRequest,
  type FastifySchemaCompiler,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import type { ChillyConfig } from '../config/chilly-config.js';
import { MIN_TOKEN_LENGTH } from '../config/defaults.js';
import { ChillyError } from '../domain/errors.js';
import type { DownloadServiceApi } from '../service/download-service-api.js';
import { createContractAjv } from './contract.js';
import { handleClientError, installErrorHandling, sendError } from './errors.js';
import { LogDestination } from './log-destination.js';
import { formatLogLine } from './log-text.js';
import { authRoutes } from './routes/auth.js';
import { docsRoutes } from './routes/docs.js';
import { downloadRoutes } from './routes/downloads.js';
import { eventRoutes } from './routes/events.js';
import { fileRoutes } from './routes/files.js';
import { healthRoutes } from './routes/health.js';
import { type LibraryFolderApi, libraryRoutes } from './routes/library.js';
import { type MetadataApi, metadataRoutes } from './routes/metadata.js';
import { settingsRoutes } from './routes/settings.js';
import { streamRoutes } from './routes/stream.js';
import { webAppRoutes } from './routes/web-app.js';
import { AuthFailureLimiter, createTokenCheck, normaliseOrigins, securityPlugin } from './security.js';
import { Sessions } from './sessions.js';
import { createStreamTokens } from './stream-token.js';

export interface ServerLimits {
  /** Largest JSON body (default 64 KiB: the biggest legitimate one is a long magnet URI). */
  jsonBodyBytes: number;
  /** Largest .torrent upload (default 10 MiB). */
  uploadBytes: number;
  /** Interval of SSE heartbeat comments (default 15 s). */
  heartbeatMs: number;
  /** Unsent SSE bytes after which a slow client is dropped (default 1 MiB). */
  sseMaxBufferedBytes: number;
  /** How long a stream read waits for data that is not on disk yet before `504 stream_timeout` (default 30 s). */
  streamWaitMs: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  jsonBodyBytes: 64 * 1024,
  uploadBytes: 10 * 1024 * 1024,
  heartbeatMs: 15_000,
  sseMaxBufferedBytes: 1024 * 1024,
  streamWaitMs: 30_000,
};

export interface CreateServerOptions {
  service: DownloadServiceApi;
  config: ChillyConfig;
  token: string;
  /**
   * `true` for Pino's defaults, or Pino options; the Authorization header and secret query
   * parameters are always redacted. Without a `stream`, lines go to stdout through a
   * LogDestination, which survives a full disk or a closed pipe.
   */
  logger?: boolean | Record<string, unknown>;
  limits?: Partial<ServerLimits>;
  /** Shared across apps or with a test clock; one per app by default. */
  authLimiter?: AuthFailureLimiter;
  /** Movie metadata and links; without it the /metadata routes answer 503 tmdb_not_configured. */
  metadata?: MetadataApi;
  /** The library folder for media servers (CHILLY_LIBRARY_DIR), listed at GET /library/folder. */
  libraryFolder?: LibraryFolderApi | undefined;
  /** Where the built web app is (default: dist/web beside the server's own files). */
  webAppFolder?: string;
  /** `text`: one readable line per event (for a terminal); `json` (default): pino's lines. */
  logFormat?: 'text' | 'json';
}

const REDACT = [
  'req.headers.authorization',
  'request.headers.authorization',
  'headers.authorization',
  'req.headers.cookie',
  'request.headers.cookie',
  'headers.cookie',
  'res.headers["set-cookie"]',
];

let validators: { body: Ajv2020; text: Ajv2020 } | undefined;

/**
 * A route's validator, compiled by Ajv when the route is first called rather than at start-up:
 * compiling every route's schemas took about a quarter of the server's start (that each compiles
 * is tested in tests/unit/api-contract.test.ts). Fastify reads the errors from the function it
 * was given, so they are copied onto it.
 */
type FastifyValidationResult = ReturnType<FastifySchemaCompiler<unknown>>;

function compileOnFirstUse(part: 'body' | 'text', schema: object): FastifyValidationResult {
  let compiled: ValidateFunction | undefined;
  const validate: FastifyValidationResult = (data: unknown): boolean => {
    // Bodies: one Ajv that never coerces; query, params and headers arrive as text and are coerced.
    validators ??= { body: createContractAjv({ coerce: false }), text: createContractAjv({ coerce: true }) };
    compiled ??= validators[part].compile(schema);
    const valid = compiled(data);
    validate.errors = compiled.errors ?? null;
    return valid;
  };
  return validate;
}

type SerializerFactory = (...args: unknown[]) => (routeSchema: unknown) => (data: unknown) => string;
type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;
// Fastify types these factories after Ajv's own; ours return what Fastify calls them for.
type ValidatorFactory = NonNullable<CompilersFactory['buildValidator']>;
type SerializerFactoryOption = NonNullable<CompilersFactory['buildSerializer']>;

/** Fastify's validator factory: every route's validator is ours (see compileOnFirstUse). */
function ourValidators(): (route: { schema: object; httpPart?: string }) => FastifyValidationResult {
  return ({ schema, httpPart }) => compileOnFirstUse(httpPart === 'body' ? 'body' : 'text', schema);
}

/** Fastify's own serializer compiler, loaded only if a route ever has a response schema. */
function lazyDefaultSerializer(...factoryArgs: unknown[]): (routeSchema: unknown) => (data: unknown) => string {
  let compile: ((routeSchema: unknown) => (data: unknown) => string) | undefined;
  return (routeSchema) => {
    if (compile === undefined) {
      const fromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'));
      const selector = fromFastify('@fastify/fast-json-stringify-compiler') as () => SerializerFactory;
      compile = selector()(...factoryArgs);
    }
    return compile(routeSchema);
  };
}

export function createServer(options: CreateServerOptions): FastifyInstance {
  if (options.token.length < MIN_TOKEN_LENGTH)
    throw new ChillyError('validation_failed', `The API token must be at least ${MIN_TOKEN_LENGTH} characters.`);
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const allowedOrigins = normaliseOrigins(options.config.allowedOrigins);

  const logger = loggerOptions(options.logger, options.logFormat ?? 'json');
  const app = Fastify({
    // Fastify's default compilers load Ajv and fast-json-stringify when the app is built (~60 ms of
    // every start): validators are ours, compiled on first use, and responses have no schemas.
    schemaController: {
      compilersFactory: {
        buildValidator: ourValidators as unknown as ValidatorFactory,
        buildSerializer: lazyDefaultSerializer as unknown as SerializerFactoryOption,
      },
    },
    logger: logger.options,
    // One line per request (below), not Fastify's two ("incoming request", "request completed").
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: limits.jsonBodyBytes,
    // Only the routes the contract lists: no implicit HEAD twins.
    exposeHeadRoutes: false,
    // request.ip is the socket's peer: a client cannot pick its rate-limit bucket with X-Forwarded-For.
    trustProxy: false,
    clientErrorHandler: handleClientError,
    // Job ids may be 128 characters (and percent-encoding makes them longer in a URL).
    routerOptions: { maxParamLength: 512 },
    // Requests that arrive while the app closes get `shutting_down` in our error shape (below),
    // not Fastify's own 503 body, which has neither our shape nor a code.
    return503OnClosing: false,
  });

  // JSON is the only body most routes take; Fastify's default text/plain parser would let
  // cross-site "simple" form posts through to validation.
  app.removeContentTypeParser('text/plain');

  // The last lines (the close itself) get a moment to reach stdout; a stuck descriptor does not hold the close.
  const { destination } = logger;
  if (destination !== undefined) app.addHook('onClose', () => destination.whenWritten(LOG_FLUSH_MS));

  installErrorHandling(app);
  app.addHook('onResponse', async (request, reply) => {
    request.log.info({ req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
  });
  const lifecycle = { closing: false };
  refuseWhileClosing(app, lifecycle);
  // One limiter for wrong bearer tokens and wrong stream links alike.
  const authLimiter = options.authLimiter ?? new AuthFailureLimiter();
  const sessions = new Sessions();
  app.register(securityPlugin, {
    token: options.token,
    allowedHosts: options.config.allowedHosts,
    allowedOrigins,
    limiter: authLimiter,
    sessions,
  });
  app.register(authRoutes, { sessions, tokenMatches: createTokenCheck(options.token), limiter: authLimiter });
  app.register(webAppRoutes, options.webAppFolder === undefined ? {} : { folder: options.webAppFolder });
  app.register(settingsRoutes, {
    service: options.service,
    config: options.config,
    metadataConfigured: options.metadata?.linker.configured ?? false,
  });
  app.register(healthRoutes, {
    service: options.service,
    metadata: options.metadata?.linker,
    isClosing: () => lifecycle.closing,
  });
  app.register(docsRoutes);
  app.register(downloadRoutes, { service: options.service, uploadLimitBytes: limits.uploadBytes });
  app.register(eventRoutes, {
    service: options.service,
    heartbeatMs: limits.heartbeatMs,
    maxBufferedBytes: limits.sseMaxBufferedBytes,
  });
  app.register(fileRoutes, { service: options.service });
  app.register(streamRoutes, {
    service: options.service,
    token: options.token,
    tokens: createStreamTokens(options.token),
    limiter: authLimiter,
    waitMs: limits.streamWaitMs,
  });
  app.register(metadataRoutes, { metadata: options.metadata });
  app.register(libraryRoutes, {
    service: options.service,
    folder: options.libraryFolder,
    movieOf: options.metadata === undefined ? undefined : (jobId) => options.metadata?.linker.movieInfo(jobId) ?? null,
  });
  return app;
}

/** Served as usual while the app closes: no user data, nothing to change (/health says it is closing). */
const SERVED_WHILE_CLOSING = new Set(['/health', '/openapi.json', '/docs', '/docs/:asset']);

/**
 * Once the app starts closing, requests still arriving on open connections (keep-alive, or one
 * being sent as the close began) are answered `503 shutting_down`: the close waits for no new work.
 * Registered before the security hooks, so it answers first.
 */
function refuseWhileClosing(app: FastifyInstance, lifecycle: { closing: boolean }): void {
  app.addHook('preClose', async () => {
    lifecycle.closing = true;
  });
  app.addHook('onRequest', async (request, reply) => {
    if (!lifecycle.closing || SERVED_WHILE_CLOSING.has(request.routeOptions.url ?? '')) return;
    reply.header('connection', 'close');
    return sendError(reply, new ChillyError('shutting_down'));
  });
}

/** How long closing the app waits for queued log lines to be written. */
const LOG_FLUSH_MS = 1_000;

function loggerOptions(
  logger: CreateServerOptions['logger'],
  format: 'text' | 'json',
): {
  options: FastifyServerOptions['logger'];
  destination: LogDestination | undefined;
} {
  if (logger === undefined || logger === false) return { options: false, destination: undefined };
  const base = logger === true ? {} : logger;
  // Pino's default destination ends the process on a write error (a full disk): not ours.
  const destination = base.stream === undefined ? new LogDestination() : undefined;
  const stream = (base.stream as { write(line: string): unknown } | undefined) ?? destination;
  const options = {
    level: 'info',
    ...base,
    ...(stream === undefined ? {} : { stream: format === 'text' ? textLines(stream) : stream }),
    redact: { paths: REDACT, censor: '[redacted]' },
    // Stream links carry their token in the query (`?t=…`), and a client may put its token or a
    // key there by mistake: none of it may reach the log either.
    serializers: {
      req: (request: FastifyRequest) => ({
        method: request.method,
        url: redactStreamToken(request.url),
        remoteAddress: request.ip,
      }),
    },
  };
  return { options, destination };
}

/** A stream that writes each of pino's JSON lines as text (src/api/log-text.ts). */
function textLines(target: { write(line: string): unknown }): { write(line: string): unknown } {
  return { write: (line: string) => target.write(formatLogLine(line)) };
}

/** Query parameters whose value is a secret, by name in lower case (after percent-decoding). */
const SECRET_PARAMETERS: ReadonlySet<string> = new Set([
  't',
  'token',
  'access_token',
  'api_key',
  'apikey',
  'key',
  'password',
]);

/**
 * `url` for the log: the value of every secret query parameter (`t`, `token`, `access_token`,
 * `api_key`/`apikey`, `key`, `password`; any case, percent-encoded names too) becomes
 * `[redacted]`; everything else stays as it came. Pairs are split on `&` alone, as the query
 * parser does, and a value runs to the next `&` (a raw `#` does not end it).
 */
export function redactStreamToken(url: string): string {
  const start = url.indexOf('?');
  if (start < 0) return url;
  const pairs = url
    .slice(start + 1)
    .split('&')
    .map((pair) => {
      const equals = pair.indexOf('=');
      if (equals < 0) return pair;
      const name = pair.slice(0, equals);
      return SECRET_PARAMETERS.has(decodedName(name).toLowerCase()) ? `${name}=[redacted]` : pair;
    });
  return `${url.slice(0, start + 1)}${pairs.join('&')}`;
}

function decodedName(name: string): string {
  try {
    return decodeURIComponent(name.replaceAll('+', ' '));
  } catch {
    return name;
  }
}
