/**
 * A deterministic, in-memory MetadataFetcher for UI work and tests: no network, no key, the same
 * answers every time. Search matches every word of the query against the title or original title
 * (accents and punctuation ignored), filters by exact year, and orders by popularity.
 */
import { ChillyError } from '../domain/errors.js';
import {
  type LookupOptions,
  type MetadataFetcher,
  type MovieDetails,
  type MovieSearchPage,
  type SearchOptions,
  toSummary,
  validateSearch,
  validateTmdbId,
} from './metadata-fetcher.js';
import { normalizeTitle } from './title-match.js';

export interface MockMetadataFetcherOptions {
  /** Replaces the built-in catalogue. */
  movies?: readonly MovieDetails[];
  /** Default 20, as TMDB. */
  pageSize?: number;
  /** When set, artwork URLs are `<imageBaseUrl><size><path>`; by default they are null so a UI never reaches out. */
  imageBaseUrl?: string;
}

export type MockMetadataCall =
  | { method: 'searchMovies'; query: string; year: number | undefined; page: number }
  | { method: 'getMovie'; tmdbId: number };

function movie(
  fields: Pick<MovieDetails, 'tmdbId' | 'title' | 'releaseDate' | 'runtime' | 'genres' | 'imdbId' | 'overview'> &
    Partial<MovieDetails>,
): MovieDetails {
  const year = fields.releaseDate === null ? null : Number(fields.releaseDate.slice(0, 4));
  return {
    originalTitle: fields.title,
    originalLanguage: 'en',
    year,
    posterPath: `/mock-poster-${fields.tmdbId}.jpg`,
    posterUrl: null,
    backdropPath: `/mock-backdrop-${fields.tmdbId}.jpg`,
    backdropUrl: null,
    rating: 7.5,
    voteCount: 1000,
    popularity: 10,
    tagline: null,
    stale: false,
    ...fields,
  };
}

/** A small catalogue of real films with their real TMDB ids, enough to drive a UI. */
export const MOCK_MOVIES: readonly MovieDetails[] = Object.freeze([
  movie({
    tmdbId: 603,
    title: 'The Matrix',
    releaseDate: '1999-03-31',
    runtime: 136,
    genres: ['Action', 'Science Fiction'],
    imdbId: 'tt0133093',
    overview: 'A hacker learns that the world he lives in is a simulation, and joins the rebellion against its makers.',
    rating: 8.2,
    voteCount: 26000,
    popularity: 80,
  }),
  movie({
    tmdbId: 604,
    title: 'The Matrix Reloaded',
    releaseDate: '2003-05-15',
    runtime: 138,
    genres: ['Action', 'Science Fiction'],
    imdbId: 'tt0234215',
    overview: 'Neo and the rebels race to defend Zion against an army of machines.',
    rating: 7.0,
    voteCount: 11000,
    popularity: 40,
  }),
  movie({
    tmdbId: 62,
    title: '2001: A Space Odyssey',
    releaseDate: '1968-04-02',
    runtime: 149,
    genres: ['Science Fiction', 'Mystery', 'Adventure'],
    imdbId: 'tt0062622',
    overview: 'A black monolith leads humanity from the dawn of man to a voyage towards Jupiter.',
    rating: 8.1,
    voteCount: 12000,
    popularity: 35,
  }),
  movie({
    tmdbId: 78,
    title: 'Blade Runner',
    releaseDate: '1982-06-25',
    runtime: 118,
    genres: ['Science Fiction', 'Drama', 'Thriller'],
    imdbId: 'tt0083658',
    overview: 'A blade runner must pursue and retire four replicants who stole a ship and returned to Earth.',
    rating: 7.9,
    voteCount: 14000,
    popularity: 45,
  }),
  movie({
    tmdbId: 335984,
    title: 'Blade Runner 2049',
    releaseDate: '2017-10-04',
    runtime: 164,
    genres: ['Science Fiction', 'Drama'],
    imdbId: 'tt1856101',
    overview: "A young blade runner's discovery of a long-buried secret leads him to track down a former blade runner.",
    rating: 7.6,
    voteCount: 13500,
    popularity: 50,
  }),
  movie({
    tmdbId: 530915,
    title: '1917',
    releaseDate: '2019-12-25',
    runtime: 119,
    genres: ['War', 'History', 'Drama'],
    imdbId: 'tt8579674',
    overview: 'Two British soldiers race against time to deliver a message that will stop a deadly attack.',
    rating: 8.0,
    voteCount: 12500,
    popularity: 30,
  }),
  movie({
    tmdbId: 496243,
    title: 'Parasite',
    originalTitle: '기생충',
    originalLanguage: 'ko',
    releaseDate: '2019-05-30',
    runtime: 133,
    genres: ['Comedy', 'Thriller', 'Drama'],
    imdbId: 'tt6751668',
    overview: "All unemployed, Ki-taek's family takes a peculiar interest in the wealthy Parks.",
    rating: 8.5,
    voteCount: 18000,
    popularity: 60,
  }),
  movie({
    tmdbId: 194,
    title: 'Amélie',
    originalTitle: 'Le Fabuleux Destin d’Amélie Poulain',
    originalLanguage: 'fr',
    releaseDate: '2001-04-25',
    runtime: 122,
    genres: ['Comedy', 'Romance'],
    imdbId: 'tt0211915',
    overview: 'A shy waitress decides to change the lives of those around her for the better.',
    rating: 7.9,
    voteCount: 11000,
    popularity: 25,
  }),
  movie({
    tmdbId: 129,
    title: 'Spirited Away',
    originalTitle: '千と千尋の神隠し',
    originalLanguage: 'ja',
    releaseDate: '2001-07-20',
    runtime: 125,
    genres: ['Animation', 'Family', 'Fantasy'],
    imdbId: 'tt0245429',
    overview: 'A young girl wanders into a world ruled by gods, witches and spirits.',
    rating: 8.5,
    voteCount: 16000,
    popularity: 70,
  }),
  movie({
    tmdbId: 949,
    title: 'Heat',
    releaseDate: '1995-12-15',
    runtime: 170,
    genres: ['Crime', 'Drama', 'Action', 'Thriller'],
    imdbId: 'tt0113277',
    overview: 'An obsessive detective hunts a master thief planning one last job.',
    rating: 7.9,
    voteCount: 7000,
    popularity: 30,
  }),
  movie({
    tmdbId: 27205,
    title: 'Inception',
    releaseDate: '2010-07-15',
    runtime: 148,
    genres: ['Action', 'Science Fiction', 'Adventure'],
    imdbId: 'tt1375666',
    overview: 'A thief who steals corporate secrets through dream-sharing is offered a chance at redemption.',
    rating: 8.4,
    voteCount: 36000,
    popularity: 90,
  }),
  movie({
    tmdbId: 329865,
    title: 'Arrival',
    releaseDate: '2016-11-10',
    runtime: 116,
    genres: ['Drama', 'Science Fiction', 'Mystery'],
    imdbId: 'tt2543164',
    overview: 'A linguist is recruited to talk with mysterious visitors from space.',
    rating: 7.6,
    voteCount: 17500,
    popularity: 35,
  }),
]);

export class MockMetadataFetcher implements MetadataFetcher {
  /** Every call, in order, for tests that check what was asked. */
  readonly calls: MockMetadataCall[] = [];
  readonly #movies: readonly MovieDetails[];
  readonly #pageSize: number;
  readonly #imageBaseUrl: string | undefined;
  #failure: Error | undefined;

  constructor(options: MockMetadataFetcherOptions = {}) {
    this.#movies = options.movies ?? MOCK_MOVIES;
    this.#pageSize = options.pageSize ?? 20;
    this.#imageBaseUrl = options.imageBaseUrl;
  }

  /** Makes every later call fail with `error` (e.g. `new ChillyError('metadata_unavailable')`), until cleared. */
  failWith(error: Error | undefined): void {
    this.#failure = error;
  }

  async searchMovies(query: string, options: SearchOptions = {}): Promise<MovieSearchPage> {
    const search = validateSearch(query, options);
    this.calls.push({ method: 'searchMovies', query: search.query, year: search.year, page: search.page });
    this.#throwIfFailing(options);
    const wanted = normalizeTitle(search.query).split(' ');
    const matches = this.#movies
      .filter((movie) => search.year === undefined || movie.year === search.year)
      .filter((movie) => {
        const haystack = ` ${normalizeTitle(movie.title)} ${normalizeTitle(movie.originalTitle)} `;
        return wanted.every((word) => haystack.includes(` ${word} `));
      })
      .sort((a, b) => b.popularity - a.popularity || a.tmdbId - b.tmdbId);
    const start = (search.page - 1) * this.#pageSize;
    return {
      page: search.page,
      totalPages: Math.ceil(matches.length / this.#pageSize),
      totalResults: matches.length,
      results: matches.slice(start, start + this.#pageSize).map((movie) => toSummary(this.#withImages(movie))),
      stale: false,
    };
  }

  async getMovie(tmdbId: number, options: LookupOptions = {}): Promise<MovieDetails> {
    validateTmdbId(tmdbId);
    this.calls.push({ method: 'getMovie', tmdbId });
    this.#throwIfFailing(options);
    const found = this.#movies.find((movie) => movie.tmdbId === tmdbId);
    if (found === undefined) throw new ChillyError('movie_not_found', `No movie with TMDB id ${tmdbId}.`);
    return this.#withImages(found);
  }

  #throwIfFailing(options: LookupOptions): void {
    options.signal?.throwIfAborted();
    if (this.#failure !== undefined) throw this.#failure;
  }

  #withImages(movie: MovieDetails): MovieDetails {
    const base = this.#imageBaseUrl;
    const url = (size: string, path: string | null): string | null =>
      base === undefined || path === null ? null : `${base}${size}${path}`;
    return {
      ...movie,
      genres: [...movie.genres],
      posterUrl: movie.posterUrl ?? url('w500', movie.posterPath),
      backdropUrl: movie.backdropUrl ?? url('w1280', movie.backdropPath),
    };
  }
}
