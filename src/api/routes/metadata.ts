/**
 * Movie metadata routes: search, details, artwork, and the movie of a download. Each translates
 * HTTP to one MetadataService / MovieLinker call; validation comes from the contract's schemas.
 *
 * Artwork URLs in every answer are this server's own (`/metadata/posters/{tmdbId}`), so a UI never
 * calls TMDB's image host itself. Without a metadata service every route here answers
 * `503 tmdb_not_configured`; with one but no TMDB key, cached answers are still served.
 */
import { readFile } from 'node:fs/promises';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ChillyError } from '../../domain/errors.js';
import { type ArtworkKind, withLocalArtwork } from '../../metadata/local-artwork.js';
import type { MetadataService } from '../../metadata/metadata-service.js';
import type { MovieLinker } from '../../service/movie-linker.js';
import { routeSchema } from '../contract.js';

export interface MetadataApi {
  service: MetadataService;
  linker: MovieLinker;
}

export interface MetadataRoutesOptions {
  metadata: MetadataApi | undefined;
}

interface SearchQuery {
  query: string;
  year?: number;
  page: number;
}

interface TmdbIdParams {
  tmdbId: number;
}

interface JobIdParams {
  id: string;
}

interface SetMovieBody {
  tmdbId: number | null;
}

/** Artwork changes rarely; a day in the client's own cache spares repeated reads. */
const ARTWORK_CACHE_CONTROL = 'private, max-age=86400';

export async function metadataRoutes(app: FastifyInstance, options: MetadataRoutesOptions): Promise<void> {
  const required = (): MetadataApi => {
    if (options.metadata === undefined) throw new ChillyError('tmdb_not_configured');
    return options.metadata;
  };

  app.get<{ Querystring: SearchQuery }>(
    '/metadata/search',
    { schema: routeSchema('get', '/metadata/search') },
    async (request) => {
      const { query, year, page } = request.query;
      const found = await required().service.search(query, { year, page });
      return { ...found, results: found.results.map(withLocalArtwork) };
    },
  );

  app.get<{ Params: TmdbIdParams }>(
    '/metadata/movies/:tmdbId',
    { schema: routeSchema('get', '/metadata/movies/{tmdbId}') },
    async (request) => withLocalArtwork(await required().service.movie(request.params.tmdbId)),
  );

  const artwork = (kind: ArtworkKind) => async (request: { params: TmdbIdParams }, reply: FastifyReply) => {
    const file = await required().linker.artwork(request.params.tmdbId, kind);
    // A few hundred KiB at most (the cache refuses more than 5 MiB): read whole, so a file
    // replaced meanwhile cannot cut a response short.
    const bytes = await readFile(file.path);
    return reply.code(200).type(file.contentType).header('cache-control', ARTWORK_CACHE_CONTROL).send(bytes);
  };
  app.get<{ Params: TmdbIdParams }>(
    '/metadata/posters/:tmdbId',
    { schema: routeSchema('get', '/metadata/posters/{tmdbId}') },
    artwork('poster'),
  );
  app.get<{ Params: TmdbIdParams }>(
    '/metadata/backdrops/:tmdbId',
    { schema: routeSchema('get', '/metadata/backdrops/{tmdbId}') },
    artwork('backdrop'),
  );

  app.put<{ Params: JobIdParams; Body: SetMovieBody }>(
    '/downloads/:id/movie',
    { schema: routeSchema('put', '/downloads/{id}/movie') },
    (request) => required().linker.setUserMovie(request.params.id, request.body.tmdbId),
  );

  app.delete<{ Params: JobIdParams }>(
    '/downloads/:id/movie',
    { schema: routeSchema('delete', '/downloads/{id}/movie') },
    (request) => required().linker.identifyNow(request.params.id),
  );
}
