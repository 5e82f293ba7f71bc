/**
 * The HTTP API as a Fastify app that does not listen (tests call `app.inject()`; src/server.ts
 * listens). Closing the app ends open event streams; the service is the caller's to close.
 */
import type { Ajv2020 } from 'ajv/dist/2020.js';
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { ChillyConfig } from '../config.js';
import { ChillyError } from '../domain/errors.js';
import type { DownloadServiceApi } from '../service/service-types.js';
import { createContractAjv } from './contract.js';
import { handleClientError, installErrorHandling } from './errors.js';
import { docsRoutes } from './routes/docs.js';
import { downloadRoutes } from './routes/downloads.js';
import { eventRoutes } from './routes/events.js';
import { fileRoutes } from './routes/files.js';
import { healthRoutes } from './routes/health.js';
import { libraryRoutes } from './routes/library.js';
import { type MetadataApi, metadataRoutes } from './routes/metadata.js';
import { streamRoutes } from './routes/stream.js';
import { AuthFailureLimiter, normaliseOrigins, securityPlugin } from './security.js';
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
  /** `true` for Pino's defaults, or Pino options; the Authorization header is always redacted. */
  logger?: boolean | Record<string, unknown>;
  limits?: Partial<ServerLimits>;
  /** Shared across apps or with a test clock; one per app by default. */
  authLimiter?: AuthFailureLimiter;
  /** Movie metadata and links; without it the /metadata routes answer 503 tmdb_not_configured. */
  metadata?: MetadataApi;
}

const REDACT = ['req.headers.authorization', 'request.headers.authorization', 'headers.authorization'];

let validators: { body: Ajv2020; text: Ajv2020 } | undefined;

export function createServer(options: CreateServerOptions): FastifyInstance {
  if (options.token.length < 16)
    throw new ChillyError('validation_failed', 'The API token must be at least 16 characters.');
  const limits: ServerLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const allowedOrigins = normaliseOrigins(options.config.allowedOrigins);

  const app = Fastify({
    logger: loggerOptions(options.logger),
    bodyLimit: limits.jsonBodyBytes,
    // Only the routes the contract lists: no implicit HEAD twins.
    exposeHeadRoutes: false,
    // request.ip is the socket's peer: a client cannot pick its rate-limit bucket with X-Forwarded-For.
    trustProxy: false,
    clientErrorHandler: handleClientError,
    // Job ids may be 128 characters (and percent-encoding makes them longer in a URL).
    routerOptions: { maxParamLength: 512 },
  });

  // Bodies: one Ajv that never coerces; query, params and headers arrive as text and are coerced.
  validators ??= { body: createContractAjv({ coerce: false }), text: createContractAjv({ coerce: true }) };
  const { body, text } = validators;
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? body : text).compile(schema));
  // JSON is the only body most routes take; Fastify's default text/plain parser would let
  // cross-site "simple" form posts through to validation.
  app.removeContentTypeParser('text/plain');

  installErrorHandling(app);
  // One limiter for wrong bearer tokens and wrong stream links alike.
  const authLimiter = options.authLimiter ?? new AuthFailureLimiter();
  app.register(securityPlugin, {
    token: options.token,
    allowedHosts: options.config.allowedHosts,
    allowedOrigins,
    limiter: authLimiter,
  });
  app.register(healthRoutes, { service: options.service, metadata: options.metadata?.linker });
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
    movieOf: options.metadata === undefined ? undefined : (jobId) => options.metadata?.linker.movieInfo(jobId) ?? null,
  });
  return app;
}

function loggerOptions(logger: CreateServerOptions['logger']): FastifyServerOptions['logger'] {
  if (logger === undefined || logger === false) return false;
  const base = logger === true ? {} : logger;
  return {
    level: 'info',
    ...base,
    redact: { paths: REDACT, censor: '[redacted]' },
    // Stream links carry their token in the query (`?t=…`): it must not reach the log either.
    serializers: {
      req: (request: FastifyRequest) => ({
        method: request.method,
        url: redactStreamToken(request.url),
        remoteAddress: request.ip,
      }),
    },
  };
}

export function redactStreamToken(url: string): string {
  return url.replace(/([?&]t=)[^&#]*/g, '$1[redacted]');
}
