/**
 * The real TMDB v3 client over Node's global `fetch`. It does one thing per call and does it
 * honestly: no cache (see cached-metadata-fetcher.ts), no empty result in place of an error.
 *
 * Failure behaviour: every attempt has its own timeout; 5xx, network errors and timeouts are
 * retried with backoff (src/retry.ts); 429 waits what `Retry-After` says (up to the backoff cap,
 * beyond which it gives up at once rather than stall the caller); 401 is `tmdb_key_rejected` and
 * 404 `movie_not_found`, neither retried. The key or token never appears in an error or a log
 * line: requests are described by method and path only, and anything echoed is redacted.
 */
import { DEFAULTS } from '../config/defaults.js';
import { ChillyError, type ErrorCode } from '../domain/errors.js';
import {
  OutboundRequestError,
  type OutboundResponse,
  outboundRequest,
  parseHttpUrl,
  redactCause,
  redactSecrets,
} from '../http/outbound-request.js';
import { AbortRetryError, type FailedAttemptContext, parseRetryAfter, type RetryOptions, retry } from '../retry.js';
import {
  type LookupOptions,
  type MetadataFetcher,
  type MovieDetails,
  type MovieSearchPage,
  type SearchOptions,
  validateSearch,
  validateTmdbId,
} from './metadata-fetcher.js';
import {
  DEFAULT_IMAGE_SIZES,
  type ImageConfiguration,
  type ImageSizes,
  mapImageConfiguration,
  mapMovieDetails,
  mapSearchPage,
  TmdbShapeError,
  tmdbStatusMessage,
} from './tmdb-mappers.js';

export interface TmdbCredentials {
  /** v3 API key, sent as the `api_key` query parameter. */
  apiKey?: string | undefined;
  /** v4 read access token, sent as `Authorization: Bearer`; preferred when both are set (it stays out of URLs). */
  readToken?: string | undefined;
}

/** What the client reports about a failed attempt: already redacted, safe to log. */
export interface TmdbAttemptFailure {
  request: string;
  attemptNumber: number;
  retriesLeft: number;
  nextDelayMs: number;
  message: string;
}

export interface TmdbClientOptions extends TmdbCredentials {
  baseUrl?: string | undefined;
  /** TMDB `language` parameter for titles and overviews. Default en-US. */
  language?: string;
  /** Per attempt, response body included. Default 10 s. */
  timeoutMs?: number;
  /** Default: 3 attempts, 500 ms doubling, capped at 10 s (which also caps a `Retry-After` we will honour). */
  retry?: Pick<RetryOptions, 'maxAttempts' | 'minDelayMs' | 'maxDelayMs' | 'factor' | 'jitter' | 'random' | 'sleep'>;
  imageSizes?: Partial<ImageSizes>;
  /** How long the image configuration is reused. TMDB asks clients to cache it for days. Default 3 days. */
  configurationTtlMs?: number;
  /** Largest response body accepted. Default 2 MiB (a details page is ~10 KiB). */
  maxResponseBytes?: number;
  fetch?: typeof fetch;
  now?: () => number;
  onFailedAttempt?: (failure: TmdbAttemptFailure) => void;
}

const DEFAULT_RETRY = { maxAttempts: 3, minDelayMs: 500, maxDelayMs: 10_000 } as const;

/** An answer worth asking again for (429, 5xx); carries the server's own wait when it gave one. */
class RetryableStatusError extends Error {
  override readonly name = 'RetryableStatusError';

  constructor(
    readonly status: number,
    readonly retryAfterMs: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

export class TmdbClient implements MetadataFetcher {
  readonly #apiKey: string | undefined;
  readonly #readToken: string | undefined;
  readonly #baseUrl: string;
  readonly #language: string;
  readonly #timeoutMs: number;
  readonly #retry: NonNullable<TmdbClientOptions['retry']>;
  readonly #maxDelayMs: number;
  readonly #sizes: ImageSizes;
  readonly #configurationTtlMs: number;
  readonly #maxResponseBytes: number;
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  readonly #onFailedAttempt: TmdbClientOptions['onFailedAttempt'];
  #images: { value: ImageConfiguration; expiresAt: number } | undefined;
  #imagesInFlight: Promise<ImageConfiguration> | undefined;

  constructor(options: TmdbClientOptions = {}) {
    this.#apiKey = options.apiKey?.trim() || undefined;
    this.#readToken = options.readToken?.trim() || undefined;
    const baseUrl = (options.baseUrl ?? DEFAULTS.tmdbBaseUrl).replace(/\/+$/, '');
    const parsed = parseHttpUrl(baseUrl, { message: 'The TMDB base URL must be an absolute http(s) URL.' });
    if (parsed.search !== '' || parsed.username !== '' || parsed.password !== '') {
      throw new ChillyError('validation_failed', 'The TMDB base URL must not carry a query string or credentials.');
    }
    this.#baseUrl = baseUrl;
    this.#language = options.language ?? 'en-US';
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
    this.#maxDelayMs = this.#retry.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs;
    this.#sizes = { ...DEFAULT_IMAGE_SIZES, ...options.imageSizes };
    this.#configurationTtlMs = options.configurationTtlMs ?? 3 * 24 * 3600_000;
    this.#maxResponseBytes = options.maxResponseBytes ?? 2 * 1024 * 1024;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#now = options.now ?? Date.now;
    this.#onFailedAttempt = options.onFailedAttempt;
    if (!(Number.isFinite(this.#timeoutMs) && this.#timeoutMs > 0)) {
      throw new ChillyError('validation_failed', 'The TMDB timeout must be a positive number of milliseconds.');
    }
  }

  /** False until a key or token is configured; then, and only then, calls go out. */
  get configured(): boolean {
    return this.#apiKey !== undefined || this.#readToken !== undefined;
  }

  async searchMovies(query: string, options: SearchOptions = {}): Promise<MovieSearchPage> {
    const search = validateSearch(query, options);
    this.#requireCredentials();
    const params: Record<string, string> = {
      query: search.query,
      page: String(search.page),
      include_adult: 'false',
      language: this.#language,
    };
    if (search.year !== undefined) params.year = String(search.year);
    const [images, body] = await Promise.all([
      this.imageConfiguration(),
      this.#get('/search/movie', params, options.signal, 'metadata_unavailable'),
    ]);
    return this.#map('GET /search/movie', () => mapSearchPage(body, images, this.#sizes));
  }

  async getMovie(tmdbId: number, options: LookupOptions = {}): Promise<MovieDetails> {
    validateTmdbId(tmdbId);
    this.#requireCredentials();
    const [images, body] = await Promise.all([
      this.imageConfiguration(),
      this.#get(`/movie/${tmdbId}`, { language: this.#language }, options.signal, 'movie_not_found'),
    ]);
    return this.#map('GET /movie/{id}', () => mapMovieDetails(body, images, this.#sizes));
  }

  /** GET /configuration, reused for `configurationTtlMs`; concurrent callers share one request. */
  async imageConfiguration(): Promise<ImageConfiguration> {
    this.#requireCredentials();
    if (this.#images !== undefined && this.#images.expiresAt > this.#now()) return this.#images.value;
    if (this.#imagesInFlight === undefined) {
      this.#imagesInFlight = (async () => {
        // Not the caller's signal: other callers share this request, and the timeout bounds it anyway.
        const body = await this.#get('/configuration', {}, undefined, 'metadata_unavailable');
        const value = this.#map('GET /configuration', () => mapImageConfiguration(body));
        this.#images = { value, expiresAt: this.#now() + this.#configurationTtlMs };
        return value;
      })().finally(() => {
        this.#imagesInFlight = undefined;
      });
    }
    return this.#imagesInFlight;
  }

  #requireCredentials(): void {
    if (!this.configured) throw new ChillyError('tmdb_not_configured');
  }

  #map<T>(request: string, mapper: () => T): T {
    try {
      return mapper();
    } catch (error) {
      if (!(error instanceof TmdbShapeError)) throw error;
      throw new ChillyError(
        'metadata_unavailable',
        `TMDB answered ${request} with an unexpected shape: ${error.message}`,
      );
    }
  }

  /** One GET with retries; resolves with the parsed JSON body of a 2xx answer. */
  async #get(
    path: string,
    params: Record<string, string>,
    signal: AbortSignal | undefined,
    notFound: ErrorCode,
  ): Promise<unknown> {
    const url = new URL(`${this.#baseUrl}${path}`);
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#readToken !== undefined) headers.authorization = `Bearer ${this.#readToken}`;
    else if (this.#apiKey !== undefined) url.searchParams.set('api_key', this.#apiKey);
    const request = `GET ${path.replace(/\/\d+$/, '/{id}')}`;

    try {
      return await retry(
        async (attempt) => {
          // Redirects are not followed (the default): one would carry the api_key to wherever it points.
          const response = await outboundRequest(url, {
            timeoutMs: this.#timeoutMs,
            maxBytes: this.#maxResponseBytes,
            signal: attempt.signal,
            headers,
            fetch: this.#fetch,
            failure: {
              code: 'metadata_unavailable',
              describe: (failure) =>
                failure.kind === 'too_large'
                  ? `TMDB answered ${request} with more than ${this.#maxResponseBytes} bytes.`
                  : `TMDB ${request} failed: ${failure.detail}`,
            },
          }).catch((error: unknown) => {
            throw error instanceof OutboundRequestError && !error.retryable ? new AbortRetryError(error) : error;
          });
          return this.#interpret(request, response, notFound);
        },
        {
          ...this.#retry,
          signal,
          retryAfterMs: (error) => (error instanceof RetryableStatusError ? error.retryAfterMs : undefined),
          // A Retry-After beyond our cap means "not soon": say so now instead of retrying too early.
          shouldRetry: (error) =>
            !(error instanceof RetryableStatusError && (error.retryAfterMs ?? 0) > this.#maxDelayMs),
          onFailedAttempt: (context) => this.#reportFailure(request, context),
        },
      );
    } catch (error) {
      if (error instanceof ChillyError) throw error;
      if (signal?.aborted) throw error;
      throw new ChillyError('metadata_unavailable', `TMDB ${request} failed: ${this.#describe(error)}`, {
        cause: redactCause(error, [this.#apiKey, this.#readToken]),
      });
    }
  }

  #interpret(request: string, response: OutboundResponse, notFound: ErrorCode): unknown {
    const parse = (): unknown => {
      try {
        return JSON.parse(response.body.toString('utf8')) as unknown;
      } catch {
        return undefined;
      }
    };
    const { status } = response;
    if (status >= 200 && status < 300) {
      const body = parse();
      if (body === undefined) {
        throw new AbortRetryError(
          new ChillyError('metadata_unavailable', `TMDB answered ${request} with malformed JSON (HTTP ${status}).`),
        );
      }
      return body;
    }
    const upstream = tmdbStatusMessage(parse());
    const detail = `HTTP ${status}${upstream === undefined ? '' : ` (${this.#redact(upstream)})`}`;
    if (status === 429) {
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), this.#now());
      const wait = retryAfterMs === undefined ? '' : `, retry after ${Math.ceil(retryAfterMs / 1000)} s`;
      throw new RetryableStatusError(status, retryAfterMs, `rate limited: ${detail}${wait}`);
    }
    if (status >= 500) throw new RetryableStatusError(status, undefined, detail);
    if (status === 401) {
      throw new AbortRetryError(
        new ChillyError('tmdb_key_rejected', `TMDB rejected the configured credentials: ${detail}.`),
      );
    }
    if (status === 404 && notFound === 'movie_not_found') {
      throw new AbortRetryError(new ChillyError('movie_not_found', `TMDB has no such movie: ${detail}.`));
    }
    throw new AbortRetryError(new ChillyError('metadata_unavailable', `TMDB ${request} failed: ${detail}.`));
  }

  #reportFailure(request: string, context: FailedAttemptContext): void {
    this.#onFailedAttempt?.({
      request,
      attemptNumber: context.attemptNumber,
      retriesLeft: context.retriesLeft,
      nextDelayMs: context.nextDelayMs,
      message: this.#describe(context.error),
    });
  }

  #describe(error: unknown): string {
    if (error instanceof RetryableStatusError) return error.message;
    if (error instanceof OutboundRequestError) return error.failure.detail;
    return this.#redact(error instanceof Error ? error.message : String(error));
  }

  #redact(text: string): string {
    return redactSecrets(text, [this.#apiKey, this.#readToken]);
  }
}
