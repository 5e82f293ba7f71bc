/**
 * The metadata side of the application core: what routes, the CLI and the download service call.
 * It holds no HTTP or SQL of its own; it composes a MetadataFetcher (in production: TMDB behind
 * the SQLite cache), the release-name parser, the matcher and the poster cache.
 *
 * Privacy: nothing here reaches out on its own. Each network request answers a call, and without
 * a TMDB key or token the client refuses before any request (`tmdb_not_configured`), while cached
 * answers are still served.
 */
import type { ChillyConfig } from '../config/chilly-config.js';
import { ChillyError } from '../domain/errors.js';
import type { SqliteDatabase } from '../storage/database.js';
import { MetadataCacheRepository } from '../storage/metadata-cache-repository.js';
import { CachedMetadataFetcher, type MetadataCacheTtl } from './cached-metadata-fetcher.js';
import type {
  LookupOptions,
  MetadataFetcher,
  MovieDetails,
  MovieSearchPage,
  MovieSummary,
  SearchOptions,
} from './metadata-fetcher.js';
import { PosterCache, type PosterFileInfo } from './poster-cache.js';
import { type ParsedReleaseName, parseReleaseName } from './release-name.js';
import { rankCandidates, type ScoredCandidate } from './title-match.js';
import { TmdbClient, type TmdbClientOptions } from './tmdb-client.js';

export interface IdentifyResult {
  release: ParsedReleaseName;
  /** The best candidate when it is convincing (confidence ≥ the threshold), else null. */
  match: ScoredCandidate | null;
  /** Up to five candidates, best first, for a "did you mean" list. */
  candidates: ScoredCandidate[];
}

export interface MetadataServiceOptions {
  fetcher: MetadataFetcher;
  posters?: PosterCache | undefined;
  /** Whether lookups can reach TMDB at all (a key or token is set). Default true. */
  configured?: boolean;
  /**
   * Minimum confidence for `identify` to call a candidate a match. Default 0.65: above a title
   * that only shares some words ("Heat" vs "Heat Wave" scores 0.6), below a year one off (0.9).
   */
  matchThreshold?: number;
}

const MAX_CANDIDATES = 5;

export class MetadataService {
  readonly configured: boolean;
  readonly #fetcher: MetadataFetcher;
  readonly #posters: PosterCache | undefined;
  readonly #threshold: number;

  constructor(options: MetadataServiceOptions) {
    this.#fetcher = options.fetcher;
    this.#posters = options.posters;
    this.configured = options.configured ?? true;
    this.#threshold = options.matchThreshold ?? 0.65;
  }

  search(query: string, options: SearchOptions = {}): Promise<MovieSearchPage> {
    return this.#fetcher.searchMovies(query, options);
  }

  movie(tmdbId: number, options: LookupOptions = {}): Promise<MovieDetails> {
    return this.#fetcher.getMovie(tmdbId, options);
  }

  /** Reads a release name without any lookup. */
  parse(releaseName: string): ParsedReleaseName {
    return parseReleaseName(releaseName);
  }

  /**
   * Which movie a torrent or file name is: parse it, search by title and year, rank by title
   * similarity and year distance. At most two searches: with the year, then without it when that
   * found nothing convincing (release years differ by country and festival). A name without a
   * title makes no request.
   */
  async identify(releaseName: string, options: LookupOptions = {}): Promise<IdentifyResult> {
    const release = parseReleaseName(releaseName);
    if (release.title === '') return { release, match: null, candidates: [] };
    const query = release.title.slice(0, 200);
    const rank = (movies: readonly MovieSummary[]) => rankCandidates(release.title, release.year, movies);
    let candidates = rank(
      (await this.#fetcher.searchMovies(query, { year: release.year ?? undefined, signal: options.signal })).results,
    );
    if (release.year !== null && (candidates[0]?.confidence ?? 0) < this.#threshold) {
      const wider = (await this.#fetcher.searchMovies(query, { signal: options.signal })).results;
      const seen = new Set(candidates.map((candidate) => candidate.movie.tmdbId));
      candidates = rank([...candidates.map((c) => c.movie), ...wider.filter((movie) => !seen.has(movie.tmdbId))]);
    }
    candidates = candidates.slice(0, MAX_CANDIDATES);
    const best = candidates[0];
    return { release, match: best !== undefined && best.confidence >= this.#threshold ? best : null, candidates };
  }

  /**
   * A TMDB image (a movie's `posterUrl` or `backdropUrl`) as a local file: from disk when it was
   * fetched before (works offline), downloaded now when `download` is true, else null; null too
   * for no URL (a movie without artwork). A download is a request to TMDB's image host, so it is
   * refused (`tmdb_not_configured`) without a key or token, as every other metadata request is;
   * what is on disk is still served.
   */
  async image(
    url: string | null,
    options: { download?: boolean; signal?: AbortSignal | undefined } = {},
  ): Promise<PosterFileInfo | null> {
    if (this.#posters === undefined || url === null) return null;
    const cached = await this.#posters.cached(url);
    if (cached !== undefined || options.download !== true) return cached ?? null;
    if (!this.configured) throw new ChillyError('tmdb_not_configured');
    return this.#posters.get(url, options.signal === undefined ? {} : { signal: options.signal });
  }
}

export interface CreateMetadataServiceOptions {
  tmdb: ChillyConfig['tmdb'];
  dataDir: string;
  db: SqliteDatabase;
  ttl?: Partial<MetadataCacheTtl>;
  now?: () => number;
  /** Passed to the TMDB client (timeouts, retry, fetch, language…). */
  client?: Omit<TmdbClientOptions, 'apiKey' | 'readToken' | 'baseUrl' | 'now'>;
  /** Passed to the poster cache (e.g. a fetch for tests). */
  posterFetch?: typeof fetch;
}

/** The production wiring: TMDB client → SQLite cache → service, posters under `<dataDir>/cache/posters`. */
export function createMetadataService(options: CreateMetadataServiceOptions): MetadataService {
  const now = options.now ?? Date.now;
  const language = options.client?.language ?? 'en-US';
  const client = new TmdbClient({
    ...options.client,
    apiKey: options.tmdb.apiKey,
    readToken: options.tmdb.readToken,
    baseUrl: options.tmdb.baseUrl,
    language,
    now,
  });
  const fetcher = new CachedMetadataFetcher(client, new MetadataCacheRepository(options.db), {
    namespace: `tmdb:${language}`,
    now,
    ...(options.ttl === undefined ? {} : { ttl: options.ttl }),
  });
  const posters = new PosterCache({
    dir: PosterCache.dirFor(options.dataDir),
    ...(options.posterFetch === undefined ? {} : { fetch: options.posterFetch }),
  });
  return new MetadataService({ fetcher, posters, configured: client.configured });
}
