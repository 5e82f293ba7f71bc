/**
 * The movie shapes every layer shares, from a search hit to the snapshot a job keeps (our own
 * shapes, never TMDB's): a search hit (`MovieSummary`), its details (`MovieInfo`, and
 * `MovieDetails` as a fetcher answers them), what a link to a job stores (`MovieSnapshot`), and
 * what a release name says (`ReleaseName`). A job's view of its movie is `JobMovie` (job.ts).
 */
/** One search hit. Nullable fields are null (not absent) so JSON clients always see the key. */
export interface MovieSummary {
  tmdbId: number;
  title: string;
  originalTitle: string;
  /** ISO 639-1, e.g. "en". */
  originalLanguage: string | null;
  year: number | null;
  /** YYYY-MM-DD as TMDB has it. */
  releaseDate: string | null;
  overview: string | null;
  /** TMDB's image file path ("/abc.jpg"): the stable key of the artwork, whatever the size. */
  posterPath: string | null;
  posterUrl: string | null;
  backdropPath: string | null;
  backdropUrl: string | null;
  /** Average vote 0-10; null while nobody has voted. */
  rating: number | null;
  voteCount: number;
  popularity: number;
}

/** What a movie's details add to its summary. */
export interface MovieDetailFields {
  /** Minutes. */
  runtime: number | null;
  genres: string[];
  imdbId: string | null;
  tagline: string | null;
}

/** Details as a snapshot (a linked movie, a library entry): no `stale`, since nobody asked TMDB. */
export type MovieInfo = MovieSummary & MovieDetailFields;

/** Details as a fetcher answers them. */
export interface MovieDetails extends MovieInfo {
  /**
   * True when this came from an expired cache entry because TMDB could not be asked again
   * (offline, 5xx, timeout). Always false from the client itself.
   */
  stale: boolean;
}

export interface MovieSearchPage {
  page: number;
  totalPages: number;
  totalResults: number;
  results: MovieSummary[];
  /** As on MovieDetails. */
  stale: boolean;
}

/** What a movie link stores: the summary, with the details when they were known at the time. */
export type MovieSnapshot = MovieSummary & Partial<MovieDetailFields>;

/** What the torrent's name says about the copy (not the film): "1080p", "bluray", "h264"… */
export interface JobRelease {
  resolution: string | null;
  source: string | null;
  codec: string | null;
  edition: string[];
  group: string | null;
}

/** What a release name ("Night.of.the.Living.Dead.1968.1080p.BluRay.x264-GRP") says. */
export interface ReleaseName extends JobRelease {
  /** Empty when nothing usable was found. */
  title: string;
  year: number | null;
}
