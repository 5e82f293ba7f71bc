/**
 * A MetadataFetcher in front of another one (normally TmdbClient), keeping answers in SQLite:
 * - fresh entry → served, no network;
 * - missing or expired → asked upstream and stored;
 * - expired and upstream fails for a reason that says nothing about the answer (offline, 5xx,
 *   timeout, rate limit, key removed) → the old answer, marked `stale: true`;
 * - anything else (key rejected, bad input, movie gone) → the error, as the client raised it.
 * Concurrent identical requests share one upstream call.
 */
import { isChillyError } from '../domain/errors.js';
import type { MetadataCacheRepository } from '../storage/metadata-cache-repository.js';
import {
  type LookupOptions,
  type MetadataFetcher,
  type MovieDetails,
  type MovieSearchPage,
  type SearchOptions,
  validateSearch,
  validateTmdbId,
} from './metadata-fetcher.js';

export interface MetadataCacheTtl {
  /** Default 1 day: new releases show up in searches. */
  searchMs: number;
  /** Default 7 days: details rarely change. */
  movieMs: number;
}

export interface CachedMetadataFetcherOptions {
  ttl?: Partial<MetadataCacheTtl>;
  /** Separates answers of different sources or languages, e.g. "tmdb:en-US". Default "tmdb". */
  namespace?: string;
  /** How long an expired entry is kept to be served stale, before `prune()` removes it. Default 180 days. */
  keepStaleMs?: number;
  now?: () => number;
}

/** Bumped when the stored shapes change, so old entries are simply not found. */
const CACHE_FORMAT = 'v1';

const DEFAULT_TTL: MetadataCacheTtl = { searchMs: 24 * 3600_000, movieMs: 7 * 24 * 3600_000 };

/** Errors after which an old answer is still the best we have. */
function upstreamUnreachable(error: unknown): boolean {
  return isChillyError(error, 'metadata_unavailable') || isChillyError(error, 'tmdb_not_configured');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isMovieDetails(value: unknown): value is MovieDetails {
  return (
    isObject(value) &&
    typeof value.tmdbId === 'number' &&
    typeof value.title === 'string' &&
    Array.isArray(value.genres)
  );
}

function isSearchPage(value: unknown): value is MovieSearchPage {
  return isObject(value) && typeof value.page === 'number' && Array.isArray(value.results);
}

export class CachedMetadataFetcher implements MetadataFetcher {
  readonly #inner: MetadataFetcher;
  readonly #cache: MetadataCacheRepository;
  readonly #ttl: MetadataCacheTtl;
  readonly #namespace: string;
  readonly #keepStaleMs: number;
  readonly #now: () => number;
  readonly #inFlight = new Map<string, Promise<unknown>>();

  constructor(inner: MetadataFetcher, cache: MetadataCacheRepository, options: CachedMetadataFetcherOptions = {}) {
    this.#inner = inner;
    this.#cache = cache;
    this.#ttl = { ...DEFAULT_TTL, ...options.ttl };
    this.#namespace = options.namespace ?? 'tmdb';
    this.#keepStaleMs = options.keepStaleMs ?? 180 * 24 * 3600_000;
    this.#now = options.now ?? Date.now;
  }

  async searchMovies(query: string, options: SearchOptions = {}): Promise<MovieSearchPage> {
    const search = validateSearch(query, options);
    const key = this.#key('search', search.query.toLowerCase(), String(search.year ?? ''), String(search.page));
    return this.#cached(key, this.#ttl.searchMs, isSearchPage, () => this.#inner.searchMovies(search.query, options));
  }

  async getMovie(tmdbId: number, options: LookupOptions = {}): Promise<MovieDetails> {
    validateTmdbId(tmdbId);
    const key = this.#key('movie', String(tmdbId));
    try {
      return await this.#cached(key, this.#ttl.movieMs, isMovieDetails, () => this.#inner.getMovie(tmdbId, options));
    } catch (error) {
      // TMDB removed it: an old copy would resurrect a movie that no longer exists there.
      if (isChillyError(error, 'movie_not_found')) this.#cache.delete(key);
      throw error;
    }
  }

  /** Deletes entries that expired more than `keepStaleMs` ago; returns how many. */
  prune(): number {
    return this.#cache.prune(this.#now() - this.#keepStaleMs);
  }

  #key(kind: string, ...parts: string[]): string {
    return [CACHE_FORMAT, this.#namespace, kind, ...parts.map((part) => encodeURIComponent(part))].join(':');
  }

  async #cached<T extends { stale: boolean }>(
    key: string,
    ttlMs: number,
    check: (value: unknown) => value is T,
    load: () => Promise<T>,
  ): Promise<T> {
    const entry = this.#cache.get(key);
    const cached = entry === undefined ? undefined : this.#parse(key, entry.json, check);
    if (entry !== undefined && cached !== undefined && entry.expiresAt > this.#now())
      return { ...cached, stale: false };
    try {
      return { ...(await this.#shared(key, ttlMs, load)), stale: false };
    } catch (error) {
      if (cached !== undefined && upstreamUnreachable(error)) return { ...cached, stale: true };
      throw error;
    }
  }

  /** One upstream call per key at a time; the answer is stored before anyone gets it. */
  #shared<T>(key: string, ttlMs: number, load: () => Promise<T>): Promise<T> {
    const running = this.#inFlight.get(key);
    if (running !== undefined) return running as Promise<T>;
    const call = (async () => {
      const value = await load();
      const fetchedAt = this.#now();
      this.#cache.put({ key, json: JSON.stringify(value), fetchedAt, expiresAt: fetchedAt + ttlMs });
      return value;
    })().finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, call);
    return call;
  }

  #parse<T>(key: string, json: string, check: (value: unknown) => value is T): T | undefined {
    try {
      const value: unknown = JSON.parse(json);
      if (check(value)) return value;
    } catch {
      // Fall through: an unreadable entry is as good as none.
    }
    this.#cache.delete(key);
    return undefined;
  }
}
