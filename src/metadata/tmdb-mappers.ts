/**
 * TMDB v3 JSON → our shapes (metadata-fetcher.ts). Everything TMDB sends is checked here, at the
 * edge: a field of the wrong type is an error, not a silent `undefined` three modules later.
 * Shapes follow https://developer.themoviedb.org/reference (search-movie, movie-details,
 * configuration-details).
 */
import type { MovieDetails, MovieSearchPage, MovieSummary } from './metadata-fetcher.js';

/** The upstream JSON does not have the shape we rely on. */
export class TmdbShapeError extends Error {
  override readonly name = 'TmdbShapeError';
}

export interface ImageConfiguration {
  /** e.g. "https://image.tmdb.org/t/p/", always ending in "/". */
  baseUrl: string;
  posterSizes: string[];
  backdropSizes: string[];
}

/** Which sizes to build URLs for; the nearest available size is used when TMDB lacks one. */
export interface ImageSizes {
  poster: string;
  backdrop: string;
}

export const DEFAULT_IMAGE_SIZES: ImageSizes = { poster: 'w500', backdrop: 'w1280' };

type JsonObject = Record<string, unknown>;

function object(value: unknown, where: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TmdbShapeError(`${where}: expected an object`);
  }
  return value as JsonObject;
}

function array(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) throw new TmdbShapeError(`${where}: expected an array`);
  return value;
}

function string(source: JsonObject, key: string, where: string): string {
  const value = source[key];
  if (typeof value !== 'string') throw new TmdbShapeError(`${where}.${key}: expected a string`);
  return value;
}

/** Absent, null and "" all mean "TMDB does not know" and become null. */
function optionalString(source: JsonObject, key: string, where: string): string | null {
  const value = source[key];
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string') throw new TmdbShapeError(`${where}.${key}: expected a string or null`);
  return value;
}

function number(source: JsonObject, key: string, where: string): number {
  const value = source[key];
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TmdbShapeError(`${where}.${key}: expected a number`);
  }
  return value;
}

function optionalNumber(source: JsonObject, key: string, where: string): number | null {
  const value = source[key];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TmdbShapeError(`${where}.${key}: expected a number or null`);
  }
  return value;
}

function stringArray(source: JsonObject, key: string, where: string): string[] {
  return array(source[key], `${where}.${key}`).map((item, index) => {
    if (typeof item !== 'string') throw new TmdbShapeError(`${where}.${key}[${index}]: expected a string`);
    return item;
  });
}

/** "1999-03-31" → 1999; TMDB sends "" for unknown dates. */
export function yearOf(releaseDate: string | null): number | null {
  const match = releaseDate === null ? null : /^(\d{4})-\d{2}-\d{2}$/.exec(releaseDate);
  return match?.[1] === undefined ? null : Number(match[1]);
}

export function mapImageConfiguration(json: unknown): ImageConfiguration {
  const images = object(object(json, 'configuration').images, 'configuration.images');
  const secure = optionalString(images, 'secure_base_url', 'configuration.images');
  const baseUrl = secure ?? string(images, 'base_url', 'configuration.images');
  let parsed: URL;
  try {
    parsed = new URL(baseUrl);
  } catch {
    throw new TmdbShapeError('configuration.images.secure_base_url: expected an absolute URL');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new TmdbShapeError('configuration.images.secure_base_url: expected an http(s) URL');
  }
  return {
    baseUrl: baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`,
    posterSizes: stringArray(images, 'poster_sizes', 'configuration.images'),
    backdropSizes: stringArray(images, 'backdrop_sizes', 'configuration.images'),
  };
}

/** The wanted size when TMDB offers it, else the smallest larger width, else "original". */
export function pickSize(available: readonly string[], wanted: string): string {
  if (available.includes(wanted)) return wanted;
  const width = (size: string): number => Number(/^w(\d+)$/.exec(size)?.[1] ?? Number.NaN);
  const wantedWidth = width(wanted);
  const larger = available.filter((size) => width(size) >= wantedWidth).sort((a, b) => width(a) - width(b));
  return larger[0] ?? (available.includes('original') ? 'original' : (available.at(-1) ?? 'original'));
}

/** TMDB image paths look like "/kqjL17yufvn9OVLyXYpvtyrFfak.jpg"; anything else is not joined onto a URL. */
const IMAGE_PATH = /^\/[A-Za-z0-9_-]+\.(?:jpg|jpeg|png|webp|svg)$/;

export function imageUrl(
  images: ImageConfiguration,
  sizes: readonly string[],
  wanted: string,
  path: string | null,
): string | null {
  if (path === null || !IMAGE_PATH.test(path)) return null;
  return `${images.baseUrl}${pickSize(sizes, wanted)}${path}`;
}

function mapSummaryFields(
  item: JsonObject,
  where: string,
  images: ImageConfiguration,
  sizes: ImageSizes,
): MovieSummary {
  const tmdbId = number(item, 'id', where);
  if (!Number.isSafeInteger(tmdbId) || tmdbId <= 0)
    throw new TmdbShapeError(`${where}.id: expected a positive integer`);
  const originalTitle = optionalString(item, 'original_title', where);
  // A handful of TMDB entries lack a localised title; the original one is the honest fallback.
  const title = optionalString(item, 'title', where) ?? originalTitle;
  if (title === null) throw new TmdbShapeError(`${where}: neither title nor original_title`);
  const releaseDate = optionalString(item, 'release_date', where);
  const voteCount = optionalNumber(item, 'vote_count', where) ?? 0;
  const posterPath = optionalString(item, 'poster_path', where);
  const backdropPath = optionalString(item, 'backdrop_path', where);
  return {
    tmdbId,
    title,
    originalTitle: originalTitle ?? title,
    originalLanguage: optionalString(item, 'original_language', where),
    year: yearOf(releaseDate),
    releaseDate: yearOf(releaseDate) === null ? null : releaseDate,
    overview: optionalString(item, 'overview', where),
    posterPath,
    posterUrl: imageUrl(images, images.posterSizes, sizes.poster, posterPath),
    backdropPath,
    backdropUrl: imageUrl(images, images.backdropSizes, sizes.backdrop, backdropPath),
    // vote_average is 0 both for "rated zero" and "nobody voted"; only the count tells them apart.
    rating: voteCount > 0 ? optionalNumber(item, 'vote_average', where) : null,
    voteCount,
    popularity: optionalNumber(item, 'popularity', where) ?? 0,
  };
}

/**
 * GET /search/movie. The envelope must be right; a result without a usable id or title is
 * dropped (it could not be shown or linked anyway) rather than failing the whole search.
 */
export function mapSearchPage(json: unknown, images: ImageConfiguration, sizes = DEFAULT_IMAGE_SIZES): MovieSearchPage {
  const body = object(json, 'search');
  const results: MovieSummary[] = [];
  for (const [index, raw] of array(body.results, 'search.results').entries()) {
    try {
      results.push(
        mapSummaryFields(object(raw, `search.results[${index}]`), `search.results[${index}]`, images, sizes),
      );
    } catch (error) {
      if (!(error instanceof TmdbShapeError)) throw error;
    }
  }
  return {
    page: number(body, 'page', 'search'),
    totalPages: number(body, 'total_pages', 'search'),
    totalResults: number(body, 'total_results', 'search'),
    results,
    stale: false,
  };
}

/** GET /movie/{id}. */
export function mapMovieDetails(json: unknown, images: ImageConfiguration, sizes = DEFAULT_IMAGE_SIZES): MovieDetails {
  const body = object(json, 'movie');
  const genres = body.genres === undefined || body.genres === null ? [] : array(body.genres, 'movie.genres');
  const runtime = optionalNumber(body, 'runtime', 'movie');
  return {
    ...mapSummaryFields(body, 'movie', images, sizes),
    // TMDB says 0 when it does not know.
    runtime: runtime !== null && runtime > 0 ? runtime : null,
    genres: genres.map((genre, index) => string(object(genre, `movie.genres[${index}]`), 'name', 'movie.genres')),
    imdbId: optionalString(body, 'imdb_id', 'movie'),
    tagline: optionalString(body, 'tagline', 'movie'),
    stale: false,
  };
}

/** The `status_message` of a TMDB error body, when there is one (for error messages only). */
export function tmdbStatusMessage(json: unknown): string | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const message = (json as JsonObject).status_message;
  return typeof message === 'string' ? message.slice(0, 200) : undefined;
}
