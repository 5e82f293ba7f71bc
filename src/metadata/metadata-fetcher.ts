import { ChillyError } from '../domain/errors.js';
import type { MovieDetails, MovieSearchPage, MovieSummary } from '../domain/movie.js';

/**
 * What the rest of the backend knows about movie metadata: our own shapes, never TMDB's. The real
 * client (tmdb-client.ts), the cache (cached-metadata-fetcher.ts) and the mock all implement
 * `MetadataFetcher`, so a service, a route or a test can take any of them.
 */

export interface SearchOptions {
  /** Release year; TMDB matches it against the primary release date. */
  year?: number | undefined;
  /** 1-based page; TMDB serves at most 500 pages of 20 results. */
  page?: number | undefined;
  signal?: AbortSignal | undefined;
}

export interface LookupOptions {
  signal?: AbortSignal | undefined;
}

// The movie shapes live in the domain (storage and the service use them too); re-exported here for
// the fetchers' callers.
export type { MovieDetails, MovieInfo, MovieSearchPage, MovieSummary } from '../domain/movie.js';

export interface MetadataFetcher {
  searchMovies(query: string, options?: SearchOptions): Promise<MovieSearchPage>;
  /** Throws ChillyError `movie_not_found` when TMDB has no such movie. */
  getMovie(tmdbId: number, options?: LookupOptions): Promise<MovieDetails>;
}

/** TMDB caps search paging at 500; asking for more is an error there, so it is one here too. */
export const MAX_SEARCH_PAGE = 500;

/** Keeps only what a search result needs from a details record. */
export function toSummary(movie: MovieSummary): MovieSummary {
  return {
    tmdbId: movie.tmdbId,
    title: movie.title,
    originalTitle: movie.originalTitle,
    originalLanguage: movie.originalLanguage,
    year: movie.year,
    releaseDate: movie.releaseDate,
    overview: movie.overview,
    posterPath: movie.posterPath,
    posterUrl: movie.posterUrl,
    backdropPath: movie.backdropPath,
    backdropUrl: movie.backdropUrl,
    rating: movie.rating,
    voteCount: movie.voteCount,
    popularity: movie.popularity,
  };
}

const MAX_QUERY_LENGTH = 200;

/** The search arguments every fetcher accepts, checked once so the mock and the client agree. */
export function validateSearch(
  query: string,
  options: SearchOptions = {},
): { query: string; year?: number; page: number } {
  const trimmed = typeof query === 'string' ? query.trim().replace(/\s+/g, ' ') : '';
  if (trimmed.length === 0) throw new ChillyError('validation_failed', 'A search needs a non-empty query.');
  if (trimmed.length > MAX_QUERY_LENGTH) {
    throw new ChillyError('validation_failed', `A search query has at most ${MAX_QUERY_LENGTH} characters.`);
  }
  const { year, page = 1 } = options;
  if (year !== undefined && !(Number.isInteger(year) && year >= 1870 && year <= 2200)) {
    throw new ChillyError('validation_failed', `year must be an integer from 1870 to 2200 (got ${String(year)}).`);
  }
  if (!(Number.isInteger(page) && page >= 1 && page <= MAX_SEARCH_PAGE)) {
    throw new ChillyError(
      'validation_failed',
      `page must be an integer from 1 to ${MAX_SEARCH_PAGE} (got ${String(page)}).`,
    );
  }
  return year === undefined ? { query: trimmed, page } : { query: trimmed, year, page };
}

export function validateTmdbId(tmdbId: number): number {
  if (!(Number.isSafeInteger(tmdbId) && tmdbId > 0)) {
    throw new ChillyError('validation_failed', `A TMDB movie id is a positive integer (got ${String(tmdbId)}).`);
  }
  return tmdbId;
}
