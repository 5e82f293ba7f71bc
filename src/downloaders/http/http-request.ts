/**
 * One GET of a direct download, redirects followed by hand: at most `maxRedirects`, to http(s)
 * only. Node's own http/https (not fetch): the body is the raw bytes the server sends (no
 * decompression), it is read with back-pressure, and the socket goes as soon as the caller aborts.
 *
 * Failures are `HttpAttemptError`s that say whether trying again may help and how long the server
 * asked to wait. Their text names the host, never the URL: a path or a query may hold a token, and
 * the user name and password of `user:pass@host` are never shown (they go only to the host they
 * were given for, as Basic authentication).
 */
import http, { type IncomingHttpHeaders, type IncomingMessage, STATUS_CODES } from 'node:http';
import https from 'node:https';
import { ChillyError } from '../../domain/errors.js';
import { redactCause, redactSecrets } from '../../http/outbound-request.js';
import { parseRetryAfter } from '../../retry.js';

const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
/** Answers worth asking again: the server is busy, overloaded or briefly broken. */
const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 425, 429, 500, 502, 503, 504]);
/** TLS failures that another attempt will not fix. */
const PERMANENT_NETWORK_CODES = /^(CERT_|ERR_TLS_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|ERR_SSL_|HOSTNAME_)/;

/** A failed attempt; `download_failed` until the catalogue has a code for an unreachable source. */
export class HttpAttemptError extends ChillyError {
  readonly retryable: boolean;
  /** The server's `Retry-After`, in ms, when it sent one. */
  readonly retryAfterMs: number | undefined;
  readonly status: number | undefined;

  constructor(
    message: string,
    details: { retryable: boolean; retryAfterMs?: number | undefined; status?: number; cause?: unknown },
  ) {
    super('download_failed', message, { cause: details.cause });
    this.retryable = details.retryable;
    this.retryAfterMs = details.retryAfterMs;
    this.status = details.status;
  }
}

export interface HttpRequestOptions {
  headers: Record<string, string>;
  signal: AbortSignal;
  maxRedirects: number;
  /** No answer within this long, or no byte for this long while the body streams: a timeout. */
  timeoutMs: number;
  /** Values that must never show in an error (the URL's password, secret query values). */
  secrets: readonly string[];
}

/** The answer that ended the redirects: its status, headers and body, not read yet. */
export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** The URL that answered (after redirects). */
  url: URL;
  body: IncomingMessage;
}

/**
 * Redacting a value this short would mangle every message (a user `a` in "downlo[redacted]d"), and
 * messages never hold the URL's user, password, path or query anyway (see `describeUrl`): redaction
 * is the second line of defence, for text that comes from Node itself.
 */
const MIN_SECRET_LENGTH = 4;

/** Every value of `url` that must not be shown: its user name and password, and secret query values. */
export function secretsOf(url: URL): string[] {
  const secrets = [url.username, url.password].flatMap((value) => [value, safeDecode(value)]);
  for (const [name, value] of url.searchParams) {
    // The parameter names redactSecrets knows as secret (api_key, token, passkey, …).
    if (redactSecrets(`?${name}=x`) !== `?${name}=x`) secrets.push(value, encodeURIComponent(value));
  }
  return [...new Set(secrets)].filter((secret) => secret.length >= MIN_SECRET_LENGTH);
}

/** A URL as it may be shown: the origin only, without any user name or password. */
export function describeUrl(url: URL): string {
  return `${url.protocol}//${url.host}`;
}

/**
 * GETs `url`, following redirects; any final status resolves (the caller decides what it means).
 * Throws `HttpAttemptError` for a network failure, a timeout or a refused redirect, or the
 * signal's reason when the caller aborts.
 */
export async function requestFollowingRedirects(url: URL, options: HttpRequestOptions): Promise<HttpAnswer> {
  let current = url;
  for (let redirects = 0; ; redirects++) {
    const answer = await requestOnce(current, options);
    if (!REDIRECT_STATUSES.has(answer.status)) return answer;
    answer.body.destroy();
    const location = answer.headers.location;
    const where = describeUrl(current);
    if (redirects >= options.maxRedirects) {
      throw new HttpAttemptError(`Too many redirects from ${where} (more than ${options.maxRedirects}: a loop?).`, {
        retryable: false,
        status: answer.status,
      });
    }
    let next: URL | undefined;
    try {
      next = location === undefined ? undefined : new URL(location, current);
    } catch {
      next = undefined;
    }
    if (next === undefined || (next.protocol !== 'http:' && next.protocol !== 'https:')) {
      throw new HttpAttemptError(`${where} redirected to a location that is not an http(s) URL: refused.`, {
        retryable: false,
        status: answer.status,
      });
    }
    current = next;
  }
}

/** The error for an answer whose status means the download cannot go on (yet). */
export function statusError(answer: Pick<HttpAnswer, 'status' | 'headers' | 'url'>): HttpAttemptError {
  const { status } = answer;
  const retryable = RETRYABLE_STATUSES.has(status);
  const retryAfterMs = retryable ? parseRetryAfter(firstHeader(answer.headers['retry-after'])) : undefined;
  const reason = STATUS_CODES[status] ?? 'Unknown';
  return new HttpAttemptError(`${describeUrl(answer.url)} answered ${status} ${reason}.`, {
    retryable,
    retryAfterMs,
    status,
  });
}

/** A failure of the connection (refused, reset, timed out, TLS) as an attempt error with no secret in it. */
export function networkError(error: unknown, url: URL, secrets: readonly string[]): HttpAttemptError {
  if (error instanceof HttpAttemptError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const detail = typeof code === 'string' ? code : error instanceof Error ? error.message : String(error);
  const message = redactSecrets(`Could not download from ${describeUrl(url)}: ${detail}.`, secrets);
  return new HttpAttemptError(message, {
    retryable: !(typeof code === 'string' && PERMANENT_NETWORK_CODES.test(code)),
    cause: redactCause(error, secrets),
  });
}

export function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function requestOnce(url: URL, options: HttpRequestOptions): Promise<HttpAnswer> {
  const { signal, timeoutMs, secrets } = options;
  return new Promise<HttpAnswer>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const timeout = (): HttpAttemptError =>
      new HttpAttemptError(`No answer from ${describeUrl(url)} within ${timeoutMs} ms.`, { retryable: true });
    const client = url.protocol === 'https:' ? https : http;
    // A fresh connection per request (no keep-alive pool): nothing lingers after a pause or a destroy.
    const request = client.request(url, { method: 'GET', headers: options.headers, agent: false, signal });
    // DNS and connecting count too, not only a connected socket's silence.
    const answerTimer = setTimeout(() => request.destroy(timeout()), timeoutMs);
    request.setTimeout(timeoutMs, () => request.destroy(timeout()));
    request.once('response', (body) => {
      clearTimeout(answerTimer);
      resolve({ status: body.statusCode ?? 0, headers: body.headers, url, body });
    });
    // `on`, not `once`: a second error (a timeout while the body streams) must not go unhandled.
    request.on('error', (error) => {
      clearTimeout(answerTimer);
      reject(signal.aborted ? signal.reason : networkError(error, url, secrets));
    });
    request.once('close', () => clearTimeout(answerTimer));
    request.end();
  });
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
