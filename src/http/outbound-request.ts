/**
 * Every request the backend sends out (TMDB, poster images, the CLI's .torrent downloads) goes
 * through `outboundRequest`: http(s) only, one deadline for the whole exchange (body included)
 * joined with the caller's signal, a body read in a stream and cut off as soon as it passes its
 * cap, and failures as typed errors whose text holds no secret of the request.
 *
 * Retrying is left to the call site (src/retry.ts): what is worth asking again differs per service.
 */
import { inspect } from 'node:util';
import { ChillyError, type ErrorCode } from '../domain/errors.js';

/** What went wrong, for the caller's wording; `detail` is already redacted and safe to show. */
export type OutboundFailure =
  | { kind: 'timeout'; timeoutMs: number; detail: string }
  | { kind: 'network'; detail: string }
  | { kind: 'too_large'; maxBytes: number; declaredBytes: number | undefined; detail: string };

/** A timeout, a network error or a body over the cap, under the code its caller chose. */
export class OutboundRequestError extends ChillyError {
  readonly failure: OutboundFailure;

  constructor(code: ErrorCode, message: string, failure: OutboundFailure, options?: { cause?: unknown }) {
    super(code, message, options);
    this.failure = failure;
  }

  /** Timeouts and network errors may pass; a body over the cap will be as large next time. */
  get retryable(): boolean {
    return this.failure.kind !== 'too_large';
  }
}

/** The status line and headers, before any of the body is read. */
export interface OutboundResponseHead {
  status: number;
  ok: boolean;
  headers: Headers;
  /** False for answers that carry no body at all (204, 304, …). */
  hasBody: boolean;
}

export interface OutboundResponse extends OutboundResponseHead {
  /** The whole body, never more than `maxBytes`. */
  body: Buffer;
}

export interface OutboundRequestOptions {
  /** The whole exchange, body included. */
  timeoutMs: number;
  /** Largest body accepted, by its Content-Length and while it streams. */
  maxBytes: number;
  /** The caller's own abort: the request stops at once and rejects with the signal's reason. */
  signal?: AbortSignal | undefined;
  headers?: Record<string, string>;
  /** Default 'manual': a redirect would carry a key in the URL to wherever it points. */
  redirect?: 'follow' | 'manual';
  /** Throw to refuse the answer before its body is read (the body is then discarded). */
  beforeBody?: (head: OutboundResponseHead) => void;
  /** How failures are reported: the catalogue code(s) and the message for each. */
  failure: {
    code: ErrorCode;
    /** Default `code`. */
    tooLargeCode?: ErrorCode;
    describe: (failure: OutboundFailure) => string;
  };
  fetch?: typeof fetch | undefined;
}

/** Query parameters whose value is a secret (API keys, tokens, private trackers' passkeys), any case. */
const SECRET_NAMES = 'api_?key|key|token|access_token|password|passkey|torrent_pass|authkey';
const SECRET_PARAMETER = new RegExp(`^(?:${SECRET_NAMES})$`, 'i');
/** In free text a value runs to the next `&` or white space. */
const SECRET_PARAMETER_IN_TEXT = new RegExp(`([?&](?:${SECRET_NAMES})=)[^&\\s]*`, 'gi');
const REDACTED = '[redacted]';
/** The longest AbortSignal.timeout accepts. */
const MAX_TIMEOUT_MS = 4_294_967_295;

/** `text` with every `secrets` value, and every secret query parameter's value, replaced. */
export function redactSecrets(text: string, secrets: Iterable<string | undefined> = []): string {
  let result = text.replace(SECRET_PARAMETER_IN_TEXT, `$1${REDACTED}`);
  for (const secret of secrets) {
    if (secret !== undefined && secret !== '') result = result.split(secret).join(REDACTED);
  }
  return result;
}

/** `text` as an absolute http(s) URL; anything else is a ChillyError (default `validation_failed`). */
export function parseHttpUrl(text: string | URL, refusal: { code?: ErrorCode; message: string }): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ChillyError(refusal.code ?? 'validation_failed', refusal.message);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ChillyError(refusal.code ?? 'validation_failed', refusal.message);
  }
  return url;
}

/** One GET, its body read whole up to `maxBytes`. Any HTTP status resolves unless `beforeBody` refuses it. */
export async function outboundRequest(url: URL, options: OutboundRequestOptions): Promise<OutboundResponse> {
  parseHttpUrl(url, { message: 'Outbound requests go to http(s) URLs only.' });
  const { maxBytes, timeoutMs } = options;
  if (!(maxBytes >= 0)) throw new ChillyError('validation_failed', 'maxBytes must be a number >= 0.');
  if (!(Number.isInteger(timeoutMs) && timeoutMs >= 0 && timeoutMs <= MAX_TIMEOUT_MS)) {
    throw new ChillyError('validation_failed', `timeoutMs must be a whole number from 0 to ${MAX_TIMEOUT_MS}.`);
  }
  const headers = options.headers ?? {};
  const secrets = requestSecrets(url, headers);
  const fail = (failure: OutboundFailure, cause: unknown): OutboundRequestError => {
    const code =
      failure.kind === 'too_large' ? (options.failure.tooLargeCode ?? options.failure.code) : options.failure.code;
    const message = redactSecrets(options.failure.describe(failure), secrets);
    return new OutboundRequestError(code, message, failure, { cause: redactCause(cause, secrets) });
  };
  const tooLarge = (declaredBytes: number | undefined): OutboundRequestError => {
    const detail =
      declaredBytes === undefined ? `more than ${maxBytes} bytes` : `${declaredBytes} bytes is over the limit`;
    return fail({ kind: 'too_large', maxBytes, declaredBytes, detail }, undefined);
  };
  const deadline = AbortSignal.timeout(timeoutMs);
  const overCap = new AbortController();
  const signals = [deadline, overCap.signal, ...(options.signal === undefined ? [] : [options.signal])];
  const signal = AbortSignal.any(signals);
  // Whatever fails after the request left: the caller's abort first, then our deadline, else the network.
  const failed = (error: unknown): unknown => {
    if (error instanceof OutboundRequestError) return error;
    if (options.signal?.aborted) return options.signal.reason;
    if (deadline.aborted)
      return fail({ kind: 'timeout', timeoutMs, detail: `no answer within ${timeoutMs} ms` }, error);
    return fail({ kind: 'network', detail: redactSecrets(networkDetail(error), secrets) }, error);
  };

  let response: Response;
  try {
    response = await (options.fetch ?? globalThis.fetch)(url, {
      headers,
      signal,
      redirect: options.redirect ?? 'manual',
    });
  } catch (error) {
    throw failed(error);
  }
  const head: OutboundResponseHead = {
    status: response.status,
    ok: response.ok,
    headers: response.headers,
    hasBody: response.body !== null,
  };
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  try {
    options.beforeBody?.(head);
    if (declared > maxBytes) throw tooLarge(declared);
  } catch (refusal) {
    await response.body?.cancel().catch(() => undefined);
    throw refusal;
  }
  if (response.body === null) return { ...head, body: Buffer.alloc(0) };

  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        // The connection goes too, not only our reading of it; nothing past the cap is kept.
        overCap.abort();
        await reader.cancel().catch(() => undefined);
        throw tooLarge(undefined);
      }
      chunks.push(value);
    }
  } catch (error) {
    throw failed(error);
  }
  return { ...head, body: Buffer.concat(chunks, size) };
}

/** The values this request must never show: secret query parameters and the Authorization header. */
function requestSecrets(url: URL, headers: Record<string, string>): string[] {
  const secrets: string[] = [];
  for (const [name, value] of url.searchParams) {
    if (SECRET_PARAMETER.test(name)) secrets.push(value, new URLSearchParams({ value }).toString().slice(6));
  }
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() !== 'authorization') continue;
    // The credentials alone first ("Bearer <token>" shows as "Bearer [redacted]"), then the whole value.
    secrets.push(value.replace(/^\S+\s+/, '').trim(), value);
  }
  return secrets.filter((secret) => secret !== '');
}

function networkDetail(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: unknown } | undefined;
  const code = typeof cause?.code === 'string' ? ` (${cause.code})` : '';
  return `network error: ${error.message}${code}`;
}

/** The original error for logs, unless its text (stack and causes included) holds one of `secrets`. */
export function redactCause(error: unknown, secrets: Iterable<string | undefined>): unknown {
  const known = [...secrets].filter((secret): secret is string => secret !== undefined && secret !== '');
  if (error === undefined || known.length === 0) return error;
  const text = inspect(error, { depth: 8 });
  if (!known.some((secret) => text.includes(secret))) return error;
  return new Error(redactSecrets(error instanceof Error ? error.message : String(error), known));
}
