/**
 * A stand-in for TMDB on 127.0.0.1: the v3 routes we use (configuration, search/movie, movie/{id})
 * with recorded-shape JSON from tests/fixtures/tmdb/, an image host under /t/p/, TMDB's own error
 * bodies, and scripted failures (401, 404, 429 + Retry-After, 5xx, slow answers, malformed JSON,
 * dropped connections). Nothing here reaches beyond loopback.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach } from 'node:test';
import { fileURLToPath } from 'node:url';

const FIXTURES = fileURLToPath(new URL('../fixtures/tmdb/', import.meta.url));

export type TmdbRoute = 'configuration' | 'search' | 'movie' | 'image';

/** One scripted answer, used once, in order, by the next request to its route. */
export type FakeBehaviour =
  | { status: number; body?: unknown; headers?: Record<string, string> }
  | { delayMs: number }
  | { malformed: true }
  | { hangUp: true };

export interface RecordedRequest {
  route: TmdbRoute | 'unknown';
  path: string;
  /** The raw URL as received, query string included. */
  url: string;
  query: Record<string, string>;
  authorization: string | undefined;
}

export interface FakeTmdbServer {
  /** e.g. http://127.0.0.1:41234/3 — what CHILLY_TMDB_BASE_URL would be. */
  baseUrl: string;
  /** e.g. http://127.0.0.1:41234/t/p/ — what /configuration advertises. */
  imageBaseUrl: string;
  apiKey: string;
  readToken: string;
  requests: RecordedRequest[];
  /** The PNG served for every image. */
  posterBytes: Buffer;
  script(route: TmdbRoute, ...behaviours: FakeBehaviour[]): void;
  /** Requests to a route so far. */
  count(route: TmdbRoute): number;
  close(): Promise<void>;
}

type TmdbMovie = Record<string, unknown> & { id: number; title: string; original_title: string; release_date: string };

const TMDB_ERRORS: Record<number, { status_code: number; status_message: string }> = {
  401: { status_code: 7, status_message: 'Invalid API key: You must be granted a valid key.' },
  404: { status_code: 34, status_message: 'The resource you requested could not be found.' },
  429: { status_code: 25, status_message: 'Your request count (41) is over the allowed limit of (40).' },
  500: { status_code: 11, status_message: 'Internal error: Something went wrong, contact TMDB.' },
  503: { status_code: 9, status_message: 'Service offline: This service is temporarily offline, try again later.' },
};

/** What the image host answers for these file names instead of the poster. */
const ODD_IMAGES = new Map<string, { status: number; contentType: string; body: string }>([
  ['not-an-image.jpg', { status: 200, contentType: 'text/html', body: '<html>nope</html>' }],
  ['liar.png', { status: 200, contentType: 'image/png', body: '<html>not a png</html>' }],
  ['missing.png', { status: 404, contentType: 'text/plain', body: 'not found' }],
]);

function fold(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

function toSearchResult(movie: TmdbMovie): Record<string, unknown> {
  const genres = Array.isArray(movie.genres) ? (movie.genres as Array<{ id: number }>) : [];
  return {
    adult: movie.adult,
    backdrop_path: movie.backdrop_path,
    genre_ids: genres.map((genre) => genre.id),
    id: movie.id,
    original_language: movie.original_language,
    original_title: movie.original_title,
    overview: movie.overview,
    popularity: movie.popularity,
    poster_path: movie.poster_path,
    release_date: movie.release_date,
    title: movie.title,
    video: movie.video,
    vote_average: movie.vote_average,
    vote_count: movie.vote_count,
  };
}

export interface FakeTmdbOptions {
  apiKey?: string;
  readToken?: string;
}

export async function startFakeTmdbServer(options: FakeTmdbOptions = {}): Promise<FakeTmdbServer> {
  const { fake, listen } = createFakeTmdbServer(options);
  await listen();
  return fake;
}

/**
 * One fake TMDB for the tests that follow (those of the file, or of the `describe` it is called
 * in): it listens from `before` on, closes in `after`, and with `clearRequestsBeforeEach` its
 * request log is emptied before each test. Its URLs are there once it listens (reading them
 * earlier throws).
 */
export function fakeTmdbServerAroundTests(
  options: FakeTmdbOptions & { clearRequestsBeforeEach?: boolean } = {},
): FakeTmdbServer {
  const { fake, listen } = createFakeTmdbServer(options);
  before(() => listen());
  after(() => fake.close());
  if (options.clearRequestsBeforeEach === true) {
    beforeEach(() => {
      fake.requests.length = 0;
    });
  }
  return fake;
}

/** The fake and how to start it listening on 127.0.0.1 (a port of the kernel's choosing). */
function createFakeTmdbServer(options: FakeTmdbOptions): { fake: FakeTmdbServer; listen(): Promise<void> } {
  const apiKey = options.apiKey ?? 'fake-v3-key-0123456789abcdef';
  const readToken = options.readToken ?? 'fake-v4-token.eyJhdWQiOiJjaGlsbHkifQ.signature';
  const movies = JSON.parse(readFileSync(`${FIXTURES}movies.json`, 'utf8')) as TmdbMovie[];
  const configuration = JSON.parse(readFileSync(`${FIXTURES}configuration.json`, 'utf8')) as {
    images: Record<string, unknown>;
  };
  const posterBytes = readFileSync(`${FIXTURES}poster.png`);
  const requests: RecordedRequest[] = [];
  const scripts = new Map<TmdbRoute, FakeBehaviour[]>();
  const timers = new Set<NodeJS.Timeout>();
  let origin = '';

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json;charset=utf-8', ...headers });
    res.end(JSON.stringify(body));
  };

  const routeOf = (path: string): TmdbRoute | 'unknown' => {
    if (path === '/3/configuration') return 'configuration';
    if (path === '/3/search/movie') return 'search';
    if (/^\/3\/movie\/[^/]+$/.test(path)) return 'movie';
    if (path.startsWith('/t/p/')) return 'image';
    return 'unknown';
  };

  const answer = (route: TmdbRoute | 'unknown', url: URL, req: IncomingMessage, res: ServerResponse): void => {
    if (route === 'image') {
      const file = url.pathname.split('/').at(-1) ?? '';
      const odd = ODD_IMAGES.get(file);
      if (odd !== undefined) {
        res.writeHead(odd.status, { 'content-type': odd.contentType });
        res.end(odd.body);
        return;
      }
      if (file === 'chunked.png') {
        // No Content-Length: the size is known only once the body has been read.
        res.writeHead(200, { 'content-type': 'image/png' });
        res.write(posterBytes.subarray(0, 20));
        res.end(posterBytes.subarray(20));
        return;
      }
      res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(posterBytes.length) });
      res.end(posterBytes);
      return;
    }
    const bearer = req.headers.authorization === `Bearer ${readToken}`;
    if (!bearer && url.searchParams.get('api_key') !== apiKey) {
      send(res, 401, { ...TMDB_ERRORS[401], success: false });
      return;
    }
    if (route === 'configuration') {
      const images = { ...configuration.images, base_url: `${origin}/t/p/`, secure_base_url: `${origin}/t/p/` };
      send(res, 200, { ...configuration, images });
      return;
    }
    if (route === 'search') {
      const query = fold(url.searchParams.get('query') ?? '');
      const year = url.searchParams.get('year');
      const page = Number(url.searchParams.get('page') ?? '1');
      if (query === '') {
        send(res, 200, { page: 1, results: [], total_pages: 1, total_results: 0 });
        return;
      }
      const words = query.split(' ');
      const found = movies
        .filter((movie) => year === null || movie.release_date.startsWith(`${year}-`))
        .filter((movie) => {
          const haystack = ` ${fold(movie.title)} ${fold(movie.original_title)} `;
          return words.every((word) => haystack.includes(` ${word} `));
        })
        .sort((a, b) => Number(b.popularity) - Number(a.popularity));
      const pageSize = 20;
      send(res, 200, {
        page,
        results: found.slice((page - 1) * pageSize, page * pageSize).map(toSearchResult),
        total_pages: Math.max(1, Math.ceil(found.length / pageSize)),
        total_results: found.length,
      });
      return;
    }
    if (route === 'movie') {
      const id = Number(url.pathname.split('/').at(-1));
      const movie = movies.find((candidate) => candidate.id === id);
      if (movie === undefined) send(res, 404, { ...TMDB_ERRORS[404], success: false });
      else send(res, 200, movie);
      return;
    }
    send(res, 404, { ...TMDB_ERRORS[404], success: false });
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', origin);
    const route = routeOf(url.pathname);
    requests.push({
      route,
      path: url.pathname,
      url: req.url ?? '',
      query: Object.fromEntries(url.searchParams),
      authorization: req.headers.authorization,
    });
    const behaviour = route === 'unknown' ? undefined : scripts.get(route)?.shift();
    if (behaviour === undefined) return answer(route, url, req, res);
    if ('hangUp' in behaviour) {
      req.socket.destroy();
      return;
    }
    if ('malformed' in behaviour) {
      res.writeHead(200, { 'content-type': 'application/json;charset=utf-8' });
      res.end('{"page":1,"results":[{"id":603,"title":"The Ma');
      return;
    }
    if ('delayMs' in behaviour) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer(route, url, req, res);
      }, behaviour.delayMs);
      timers.add(timer);
      return;
    }
    const fallback = TMDB_ERRORS[behaviour.status];
    send(
      res,
      behaviour.status,
      behaviour.body ?? (fallback === undefined ? {} : { ...fallback, success: false }),
      behaviour.headers,
    );
  });

  const listening = (): string => {
    if (origin === '') throw new Error('the fake TMDB server is not listening yet: read its URLs in a hook or a test');
    return origin;
  };
  const listen = async (): Promise<void> => {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  const fake: FakeTmdbServer = {
    get baseUrl() {
      return `${listening()}/3`;
    },
    get imageBaseUrl() {
      return `${listening()}/t/p/`;
    },
    apiKey,
    readToken,
    requests,
    posterBytes,
    script(route, ...behaviours) {
      scripts.set(route, [...(scripts.get(route) ?? []), ...behaviours]);
    },
    count(route) {
      return requests.filter((request) => request.route === route).length;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return { fake, listen };
}
