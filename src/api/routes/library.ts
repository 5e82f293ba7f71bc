/**
 * GET /library: completed downloads with their movies, newest first, searchable by title.
 * Served from the database alone (works offline and without a TMDB key).
 */
import type { FastifyInstance } from 'fastify';
import type { MovieInfo } from '../../domain/movie.js';
import type { DownloadServiceApi } from '../../service/download-service-api.js';
import { libraryPage } from '../../service/library.js';
import type { LibraryListing } from '../../service/library-placer.js';
import { routeSchema } from '../contract.js';

/** The library folder for media servers (CHILLY_LIBRARY_DIR), when the server keeps one. */
export interface LibraryFolderApi {
  root: string;
  list(): Promise<LibraryListing[]>;
  copying(): { jobId: string; bytesDone: number; bytesTotal: number }[];
}

export interface LibraryRoutesOptions {
  service: DownloadServiceApi;
  folder?: LibraryFolderApi | undefined;
  /** The movie linked to a job; absent without the metadata feature (every movie is then null). */
  movieOf?: ((jobId: string) => MovieInfo | null) | undefined;
}

interface LibraryQuery {
  query?: string;
  limit: number;
  offset: number;
}

export async function libraryRoutes(app: FastifyInstance, options: LibraryRoutesOptions): Promise<void> {
  const movieOf = options.movieOf ?? (() => null);
  app.get<{ Querystring: LibraryQuery }>('/library', { schema: routeSchema('get', '/library') }, async (request) => {
    const { query, limit, offset } = request.query;
    return libraryPage(options.service, movieOf, { query, limit, offset });
  });

  app.get('/library/folder', { schema: routeSchema('get', '/library/folder') }, async () => {
    const folder = options.folder;
    if (folder === undefined) return { root: null, entries: [], copying: [] };
    return { root: folder.root, entries: await folder.list(), copying: folder.copying() };
  });
}
