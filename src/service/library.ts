/**
 * The library: finished downloads with the movie each one is, newest first, searchable by title.
 * Read from the jobs and their links only, so it works offline and without a TMDB key (jobs
 * without a movie show with `movie: null` and are found by their torrent name).
 */
import type { Job } from '../domain/job.js';
import type { MovieInfo } from '../domain/movie.js';
import { normalizeTitle } from '../metadata/title-match.js';
import type { DownloadServiceApi } from './download-service-api.js';
import { allJobs, pageBounds } from './paging.js';

export interface LibraryQuery {
  /** Words that must all appear in the movie's title, original title or the torrent name. */
  query?: string | undefined;
  /** 1..500, default 50. */
  limit?: number | undefined;
  /** Default 0. */
  offset?: number | undefined;
}

export interface LibraryItem {
  job: Job;
  /** The linked movie's details as stored when it was linked; null when the job has none. */
  movie: MovieInfo | null;
}

export interface LibraryPage {
  items: LibraryItem[];
  total: number;
  limit: number;
  offset: number;
}

export function libraryPage(
  service: Pick<DownloadServiceApi, 'list'>,
  movieOf: (jobId: string) => MovieInfo | null,
  query: LibraryQuery = {},
): LibraryPage {
  const { limit, offset } = pageBounds(query);
  const words = normalizeTitle(query.query ?? '')
    .split(' ')
    .filter((word) => word !== '');

  const items: LibraryItem[] = [];
  for (const job of allJobs(service, ['completed'])) {
    const movie = movieOf(job.id);
    if (words.length === 0 || matches(words, job, movie)) items.push({ job, movie });
  }
  // Newest first: a completed job's last update is (nearly always) when it completed.
  items.sort((a, b) => b.job.updatedAt.localeCompare(a.job.updatedAt) || a.job.id.localeCompare(b.job.id));
  return { items: items.slice(offset, offset + limit), total: items.length, limit, offset };
}

function matches(words: readonly string[], job: Job, movie: MovieInfo | null): boolean {
  const haystack = [movie?.title, movie?.originalTitle, job.name]
    .filter((text): text is string => text !== undefined)
    .map(normalizeTitle)
    .join(' | ');
  return words.every((word) => haystack.includes(word));
}
