/**
 * A typed client for the Chilly Movies HTTP API: openapi-fetch over the types generated from the
 * contract (./openapi-types.ts), so routes, parameters, bodies and answers are checked at compile
 * time. Runs wherever `fetch` does (browsers, Electron renderers, Node 20): nothing from `node:`.
 *
 * ```ts
 * const client = createChillyClient({ baseUrl: 'http://127.0.0.1:3000', token });
 * const job = unwrap(await client.POST('/download/pause', { body: { id: 'night-1968' } }));
 * ```
 */
import createClient, { type Client, type ClientOptions, type Middleware } from 'openapi-fetch';
import type { components, paths } from './openapi-types.js';

type Schemas = components['schemas'];

export type Job = Schemas['Job'];
export type JobId = Schemas['JobId'];
export type JobStatus = Schemas['JobStatus'];
export type JobProgress = Schemas['JobProgress'];
export type JobFile = Schemas['JobFile'];
export type JobError = Schemas['JobError'];
export type JobMovie = Schemas['JobMovie'];
export type JobRelease = Schemas['JobRelease'];
export type JobPage = Schemas['JobPage'];
export type JobEvent = Schemas['JobEvent'];
export type JobEventType = Schemas['JobEventType'];
export type ResyncEvent = Schemas['ResyncEvent'];
export type SourceType = Schemas['SourceType'];
export type StartRequest = Schemas['StartRequest'];
export type JobIdRequest = Schemas['JobIdRequest'];
export type CancelRequest = Schemas['CancelRequest'];
export type FileOptionsRequest = Schemas['FileOptionsRequest'];
export type StreamUrl = Schemas['StreamUrl'];
export type Health = Schemas['Health'];
export type TmdbId = Schemas['TmdbId'];
export type MovieSummary = Schemas['MovieSummary'];
export type MovieInfo = Schemas['MovieInfo'];
export type MovieDetails = Schemas['MovieDetails'];
export type MovieSearchPage = Schemas['MovieSearchPage'];
export type SetMovieRequest = Schemas['SetMovieRequest'];
export type LibraryItem = Schemas['LibraryItem'];
export type LibraryPage = Schemas['LibraryPage'];

/** The API token, or a function that returns the current one (for apps that replace it). */
export type TokenProvider = string | (() => string | undefined | Promise<string | undefined>);

/** What `fetch` the client calls: `globalThis.fetch` by default. */
export type FetchFunction = (input: Request) => Promise<Response>;

export interface ChillyClientOptions extends Omit<ClientOptions, 'baseUrl' | 'fetch'> {
  /** The server's address, e.g. `http://127.0.0.1:3000`; the routes (`/download/start`, …) are appended. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <token>` on every request (`/health` and the docs need none). */
  token?: TokenProvider | undefined;
  fetch?: FetchFunction | undefined;
}

export type ChillyClient = Client<paths>;

/**
 * The openapi-fetch client for the contract's `paths`. Bodies are JSON, except bytes (a `.torrent`
 * upload as a `Uint8Array` or `Blob`), which are sent as they are: give their `Content-Type`.
 *
 * ```ts
 * await client.POST('/download/upload', {
 *   params: { query: { id: 'sintel' } },
 *   body: torrentBytes,
 *   headers: { 'Content-Type': 'application/x-bittorrent' },
 * });
 * ```
 */
export function createChillyClient(options: ChillyClientOptions): ChillyClient {
  const { token, fetch, bodySerializer, ...rest } = options;
  const client = createClient<paths>({
    ...rest,
    bodySerializer: bodySerializer ?? serializeBody,
    ...(fetch === undefined ? {} : { fetch }),
  });
  if (token !== undefined) client.use(bearerToken(token));
  return client;
}

/**
 * Adds `Authorization: Bearer <token>` to each request that has no Authorization header of its own.
 * A function is asked on every request, so a replaced token is used from the next request on.
 */
export function bearerToken(token: TokenProvider): Middleware {
  return {
    async onRequest({ request }) {
      if (request.headers.has('authorization')) return undefined;
      const current = typeof token === 'function' ? await token() : token;
      if (current !== undefined && current !== '') request.headers.set('Authorization', `Bearer ${current}`);
      return request;
    },
  };
}

/** openapi-fetch's own serializer sends everything as JSON; bytes must go out as they are. */
function serializeBody(body: unknown): unknown {
  if (isBinary(body)) return body;
  return JSON.stringify(body);
}

function isBinary(body: unknown): boolean {
  return (
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body) ||
    (typeof Blob !== 'undefined' && body instanceof Blob) ||
    (typeof FormData !== 'undefined' && body instanceof FormData)
  );
}
