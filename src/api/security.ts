/**
 * The checks every request passes before any handler runs, in this order:
 * 1. Host allow-list → 421 (DNS rebinding: a page on evil.example resolved to 127.0.0.1 still sends
 *    `Host: evil.example`; Transmission's answer to CVE-2018-5702);
 * 2. Origin allow-list → 403 (a browser page may not drive the API unless configured);
 * 3. CORS headers and preflights (@fastify/cors, configured origins only, never `*`);
 * 4. Bearer token, compared in constant time, with repeated failures slowed down → 401 / 429; or
 *    the web app's session cookie (src/api/sessions.ts), whose changes (anything but GET) must also
 *    carry `X-Requested-By: chilly`, which a page on another site cannot send → 403.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import { ChillyError } from '../domain/errors.js';
import { sendError } from './errors.js';
import { cookieValue, SESSION_COOKIE, type Sessions } from './sessions.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Served without a token (health, the contract, the docs): they hold no user data. */
    public?: boolean;
  }
}

export interface SecurityOptions {
  token: string;
  /** Host names besides localhost, 127.0.0.1 and [::1]. */
  allowedHosts: readonly string[];
  /** Exact browser origins (`http://localhost:5173`) allowed to call the API. */
  allowedOrigins: readonly string[];
  limiter?: AuthFailureLimiter;
  /** The web app's sessions: a live session cookie is as good as the token. */
  sessions?: Sessions;
}

/** The header the web app sends with every change: a cross-site page cannot set it without a preflight we refuse. */
export const REQUESTED_BY_HEADER = 'x-requested-by';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

/** The host name of a Host header (`[::1]:3000` → `[::1]`), or undefined when malformed. */
export function hostName(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::[0-9]{1,5})?$/i.exec(header.trim());
  return match?.[1]?.toLowerCase();
}

export function createHostCheck(allowedHosts: readonly string[]): (header: string | undefined) => boolean {
  const allowed = new Set([...LOOPBACK_NAMES, ...allowedHosts.map((host) => host.trim().toLowerCase())]);
  return (header) => {
    const name = hostName(header);
    return name !== undefined && allowed.has(name);
  };
}

/** Allowed origins, refusing `*`: a wildcard would let any web page read the user's downloads. */
export function normaliseOrigins(origins: readonly string[]): string[] {
  return origins.map((origin) => {
    const trimmed = origin.trim().replace(/\/+$/, '');
    if (trimmed === '*' || trimmed.includes('*')) {
      throw new ChillyError(
        'validation_failed',
        'CHILLY_ALLOWED_ORIGINS may not contain a wildcard: list exact origins.',
      );
    }
    return trimmed;
  });
}

/** Bearer token check in constant time: both sides are hashed first so their lengths match. */
export function createTokenCheck(token: string): (authorization: string | undefined) => boolean {
  const expected = digest(token);
  return (authorization) => {
    const match = /^Bearer +(\S+) *$/i.exec(authorization ?? '');
    const presented = digest(match?.[1] ?? '');
    // Compare even when the header is missing, so timing does not tell the cases apart.
    return timingSafeEqual(presented, expected) && match !== null;
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

export interface AuthFailureLimiterOptions {
  /** Failures allowed per address within `windowMs` (default 5). */
  maxFailures?: number;
  windowMs?: number;
  /** Addresses remembered at once; the least recently failing is forgotten first (default 10,000). */
  maxAddresses?: number;
  now?: () => number;
}

/**
 * Slows down token guessing: after `maxFailures` failures within `windowMs`, further wrong tokens
 * from that address get 429 until its oldest failure is `windowMs` old. A success clears the address. Memory is bounded by `maxAddresses × maxFailures`.
 */
export class AuthFailureLimiter {
  readonly #maxFailures: number;
  readonly #windowMs: number;
  readonly #maxAddresses: number;
  readonly #now: () => number;
  readonly #failures = new Map<string, number[]>();

  constructor(options: AuthFailureLimiterOptions = {}) {
    this.#maxFailures = options.maxFailures ?? 5;
    this.#windowMs = options.windowMs ?? 60_000;
    this.#maxAddresses = options.maxAddresses ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /** Milliseconds until `address` may try again; 0 when it may now. */
  retryAfterMs(address: string): number {
    const recent = this.#recent(address);
    if (recent.length < this.#maxFailures) return 0;
    const oldest = recent[recent.length - this.#maxFailures] ?? this.#now();
    return Math.max(1, oldest + this.#windowMs - this.#now());
  }

  recordFailure(address: string): void {
    const recent = this.#recent(address);
    recent.push(this.#now());
    // Only the last `maxFailures` matter for the decision.
    if (recent.length > this.#maxFailures) recent.splice(0, recent.length - this.#maxFailures);
    // Re-insert so Map order is least-recently-failing first, then evict from the front.
    this.#failures.delete(address);
    this.#failures.set(address, recent);
    while (this.#failures.size > this.#maxAddresses) {
      const first = this.#failures.keys().next();
      if (first.done === true) break;
      this.#failures.delete(first.value);
    }
  }

  recordSuccess(address: string): void {
    this.#failures.delete(address);
  }

  get trackedAddresses(): number {
    return this.#failures.size;
  }

  #recent(address: string): number[] {
    const times = this.#failures.get(address);
    if (times === undefined) return [];
    const cutoff = this.#now() - this.#windowMs;
    const recent = times.filter((time) => time > cutoff);
    if (recent.length === 0) this.#failures.delete(address);
    else this.#failures.set(address, recent);
    return recent;
  }
}

/** Registers the four checks, in order, for every route of `app`. */
export const securityPlugin = fastifyPlugin(async (app: FastifyInstance, options: SecurityOptions) => {
  const hostAllowed = createHostCheck(options.allowedHosts);
  const origins = new Set(normaliseOrigins(options.allowedOrigins));
  const tokenMatches = createTokenCheck(options.token);
  const limiter = options.limiter ?? new AuthFailureLimiter();

  app.addHook('onRequest', async (request, reply) => {
    // Defaults for every answer: API responses describe live state and are never sniffed or cached.
    reply.header('x-content-type-options', 'nosniff').header('cache-control', 'no-store');
    reply.header('referrer-policy', 'no-referrer');
    if (!hostAllowed(request.headers.host)) {
      request.log.info({ reason: 'Host not allowed', host: request.headers.host }, 'refused a request');
      return sendError(
        reply,
        new ChillyError('misdirected_request', 'This server only answers requests addressed to localhost.'),
      );
    }
  });

  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (origin !== undefined && !origins.has(origin) && !isSameOrigin(origin, request.headers.host)) {
      request.log.info({ reason: 'Origin not allowed', origin }, 'refused a request');
      return sendError(reply, new ChillyError('origin_not_allowed', `Origin ${origin} is not allowed.`));
    }
    if (request.method === 'OPTIONS' && (origin === undefined || !request.headers['access-control-request-method'])) {
      request.log.info({ reason: 'OPTIONS that is not a CORS preflight' }, 'refused a request');
      return sendError(reply, new ChillyError('validation_failed', 'Not a CORS preflight request.'));
    }
  });

  await app.register(cors, {
    origin: [...origins],
    methods: ['GET', 'POST', 'PUT', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Last-Event-ID', 'Range', 'If-Range', 'X-Requested-By'],
    // So a UI's script can read where a new job lives and how long to back off.
    exposedHeaders: ['Location', 'Retry-After', 'Content-Range', 'Accept-Ranges', 'ETag'],
    credentials: false,
    maxAge: 600,
    strictPreflight: true,
  });

  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.config.public === true) return;
    const address = request.ip;
    // The right token always gets in: every local client shares 127.0.0.1, so locking an address
    // out would let one misconfigured client lock out the user's own UI. A 256-bit token cannot
    // be guessed; the slowdown only keeps a guesser from hammering the server.
    if (tokenMatches(request.headers.authorization)) {
      limiter.recordSuccess(address);
      return;
    }
    if (request.headers.authorization === undefined && options.sessions !== undefined) {
      const session = cookieValue(request.headers.cookie, SESSION_COOKIE);
      if (options.sessions.expiresAt(session) !== undefined) {
        if (SAFE_METHODS.has(request.method) || request.headers[REQUESTED_BY_HEADER] === 'chilly') return;
        request.log.warn({ reason: 'session cookie without X-Requested-By' }, 'refused a change');
        return sendError(
          reply,
          new ChillyError(
            'cross_site_request',
            'A change made with the session cookie needs the header X-Requested-By: chilly.',
          ),
        );
      }
    }
    const waitMs = limiter.retryAfterMs(address);
    if (waitMs > 0) {
      reply.header('retry-after', String(Math.ceil(waitMs / 1000)));
      request.log.info({ reason: 'too many failed authentications', address }, 'refused a request');
      return sendError(reply, new ChillyError('rate_limited'));
    }
    limiter.recordFailure(address);
    request.log.warn(
      { address, reason: request.headers.authorization === undefined ? 'no token or session' : 'wrong token' },
      'API authentication failed',
    );
    reply.header('www-authenticate', 'Bearer');
    return sendError(reply, new ChillyError('unauthorized'));
  });
});

/** A page served by this very server (the docs) sends its own origin with its POSTs. */
function isSameOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  const lowered = origin.toLowerCase();
  const ownHost = host.trim().toLowerCase();
  return lowered === `http://${ownHost}` || lowered === `https://${ownHost}`;
}
