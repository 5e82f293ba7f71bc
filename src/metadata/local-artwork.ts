/**
 * Artwork as clients see it: this server's own paths, never TMDB's image host. A UI that shows a
 * poster asks `GET /metadata/posters/{tmdbId}`, which answers from the disk cache (offline too)
 * and downloads the image only when it is not there yet. So the user's IP address and what they
 * look at reach TMDB through one place that honours the privacy rules (a key is configured).
 */
import type { MovieSummary } from './metadata-fetcher.js';

export const ARTWORK_KINDS = ['poster', 'backdrop'] as const;
export type ArtworkKind = (typeof ARTWORK_KINDS)[number];

/** `/metadata/posters/603`, `/metadata/backdrops/603`. */
export function localArtworkUrl(kind: ArtworkKind, tmdbId: number): string {
  return `/metadata/${kind}s/${tmdbId}`;
}

/** The TMDB URL of one kind of artwork of `movie` (null when TMDB has none). */
export function remoteArtworkUrl(movie: Pick<MovieSummary, 'posterUrl' | 'backdropUrl'>, kind: ArtworkKind) {
  return kind === 'poster' ? movie.posterUrl : movie.backdropUrl;
}

/** `movie` with its artwork URLs pointing at this server (null stays null: TMDB has none). */
export function withLocalArtwork<T extends Pick<MovieSummary, 'tmdbId' | 'posterUrl' | 'backdropUrl'>>(movie: T): T {
  return {
    ...movie,
    posterUrl: movie.posterUrl === null ? null : localArtworkUrl('poster', movie.tmdbId),
    backdropUrl: movie.backdropUrl === null ? null : localArtworkUrl('backdrop', movie.tmdbId),
  };
}
