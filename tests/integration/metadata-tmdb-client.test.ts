import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { inspect } from 'node:util';
import { type ErrorCode, isChillyError } from '../../src/domain/errors.js';
import { type TmdbAttemptFailure, TmdbClient, type TmdbClientOptions } from '../../src/metadata/tmdb-client.js';
import { fakeTmdbServerAroundTests, startFakeTmdbServer } from '../helpers/fake-tmdb-server.js';

const fake = fakeTmdbServerAroundTests({ clearRequestsBeforeEach: true });
let delays: number[];
let failures: TmdbAttemptFailure[];

beforeEach(() => {
  delays = [];
  failures = [];
});

/** A client on the fake server whose retries record their waits instead of sleeping. */
function client(options: TmdbClientOptions = {}): TmdbClient {
  return new TmdbClient({
    apiKey: fake.apiKey,
    baseUrl: fake.baseUrl,
    timeoutMs: 2_000,
    retry: {
      maxAttempts: 3,
      minDelayMs: 100,
      maxDelayMs: 5_000,
      jitter: 'none',
      sleep: async (ms) => void delays.push(ms),
    },
    onFailedAttempt: (failure) => failures.push(failure),
    ...options,
  });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected a rejection');
}

async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<Error> {
  const error = await rejection(promise);
  assert.ok(isChillyError(error, code), `expected ${code}, got ${inspect(error)}`);
  return error;
}

/** Everything an error could show a log or a client: message, JSON, stack and causes. */
function everythingShown(error: unknown): string {
  return [inspect(error, { depth: Number.POSITIVE_INFINITY }), JSON.stringify(error), String(error)].join('\n');
}

describe('TmdbClient against a fake TMDB', () => {
  test('search: maps results and builds poster URLs from /configuration', async () => {
    const page = await client().searchMovies('the matrix');
    assert.equal(page.page, 1);
    assert.equal(page.totalResults, 2);
    assert.equal(page.stale, false);
    const [first, second] = page.results;
    assert.equal(first?.tmdbId, 603);
    assert.equal(first?.title, 'The Matrix');
    assert.equal(first?.year, 1999);
    assert.equal(first?.releaseDate, '1999-03-31');
    assert.equal(first?.rating, 8.2);
    assert.equal(first?.posterPath, '/f89U3ADr1oiB1s9GkdPOEpXUk5H.jpg');
    assert.equal(first?.posterUrl, `${fake.imageBaseUrl}w500/f89U3ADr1oiB1s9GkdPOEpXUk5H.jpg`);
    assert.equal(first?.backdropUrl, `${fake.imageBaseUrl}w1280/ncEsesgOJDNrTUED89hYbA117wo.jpg`);
    assert.equal(second?.tmdbId, 604);

    const search = fake.requests.find((request) => request.route === 'search');
    assert.deepEqual(
      { ...search?.query, api_key: '…' },
      { query: 'the matrix', page: '1', include_adult: 'false', language: 'en-US', api_key: '…' },
    );
    assert.equal(search?.query.api_key, fake.apiKey);
    assert.equal(search?.authorization, undefined);
  });

  test('search: year and page reach TMDB; the year filters', async () => {
    const page = await client().searchMovies('Dune', { year: 1984, page: 1 });
    assert.deepEqual(
      page.results.map((movie) => movie.tmdbId),
      [841],
    );
    assert.equal(fake.requests.find((request) => request.route === 'search')?.query.year, '1984');
  });

  test('a search that finds nothing is an empty page, not an error', async () => {
    const page = await client().searchMovies('no such film at all');
    assert.deepEqual(page.results, []);
    assert.equal(page.totalResults, 0);
  });

  test('v4 read token: sent as a Bearer header, no api_key in the URL, preferred over a key', async () => {
    await client({ apiKey: 'not-used', readToken: fake.readToken }).getMovie(603);
    assert.ok(fake.requests.length >= 2);
    for (const request of fake.requests) {
      assert.equal(request.authorization, `Bearer ${fake.readToken}`);
      assert.equal(request.query.api_key, undefined);
    }
  });

  test('movie details: runtime, genres, IMDb id, tagline, backdrop', async () => {
    const movie = await client().getMovie(603);
    assert.equal(movie.title, 'The Matrix');
    assert.equal(movie.originalTitle, 'The Matrix');
    assert.equal(movie.year, 1999);
    assert.equal(movie.runtime, 136);
    assert.deepEqual(movie.genres, ['Action', 'Science Fiction']);
    assert.equal(movie.imdbId, 'tt0133093');
    assert.equal(movie.tagline, 'Welcome to the Real World.');
    assert.equal(movie.stale, false);
    assert.match(movie.overview ?? '', /computer hacker/);

    const parasite = await client().getMovie(496243);
    assert.equal(parasite.originalTitle, '기생충');
    assert.equal(parasite.originalLanguage, 'ko');
  });

  test('movie details: unknown date, runtime 0, no votes and no artwork become nulls', async () => {
    const movie = await client().getMovie(999001);
    assert.equal(movie.year, null);
    assert.equal(movie.releaseDate, null);
    assert.equal(movie.runtime, null);
    assert.equal(movie.rating, null);
    assert.equal(movie.posterUrl, null);
    assert.equal(movie.backdropUrl, null);
    assert.equal(movie.imdbId, null);
    assert.equal(movie.overview, null);
    assert.deepEqual(movie.genres, []);
  });

  test('/configuration is asked once and reused', async () => {
    const tmdb = client();
    await tmdb.searchMovies('matrix');
    await tmdb.getMovie(603);
    await Promise.all([tmdb.getMovie(62), tmdb.getMovie(78)]);
    assert.equal(fake.count('configuration'), 1);
  });

  test('401: tmdb_key_rejected, not retried', async () => {
    const error = await expectCode(client({ apiKey: 'wrong-key-123' }).getMovie(603), 'tmdb_key_rejected');
    assert.match(error.message, /Invalid API key/);
    assert.equal(fake.count('movie'), 1);
    assert.deepEqual(delays, []);
  });

  test('404 on a movie: movie_not_found, not retried', async () => {
    await expectCode(client().getMovie(424242), 'movie_not_found');
    assert.equal(fake.count('movie'), 1);
    assert.deepEqual(delays, []);
  });

  test('429: waits what Retry-After says, then succeeds', async () => {
    fake.script('search', { status: 429, headers: { 'retry-after': '2' } });
    const page = await client().searchMovies('heat');
    assert.equal(page.results.length, 2);
    assert.deepEqual(delays, [2_000]);
    assert.equal(fake.count('search'), 2);
    assert.match(failures[0]?.message ?? '', /rate limited: HTTP 429.*retry after 2 s/);
  });

  test('429 with a Retry-After beyond the cap: gives up at once instead of stalling', async () => {
    fake.script('search', { status: 429, headers: { 'retry-after': '3600' } });
    const error = await expectCode(client().searchMovies('heat'), 'metadata_unavailable');
    assert.match(error.message, /rate limited.*retry after 3600 s/);
    assert.equal(fake.count('search'), 1);
    assert.deepEqual(delays, []);
  });

  test('500 then success: retried with backoff', async () => {
    fake.script('movie', { status: 500 });
    const movie = await client().getMovie(78);
    assert.equal(movie.title, 'Blade Runner');
    assert.equal(fake.count('movie'), 2);
    assert.deepEqual(delays, [100]);
  });

  test('5xx on every attempt: metadata_unavailable after maxAttempts, never an empty result', async () => {
    fake.script('search', { status: 503 }, { status: 500 }, { status: 502, body: {} });
    const error = await expectCode(client().searchMovies('matrix'), 'metadata_unavailable');
    assert.match(error.message, /HTTP 502/);
    assert.equal(fake.count('search'), 3);
    assert.deepEqual(delays, [100, 200]);
    assert.deepEqual(
      failures.map((failure) => failure.request),
      ['GET /search/movie', 'GET /search/movie', 'GET /search/movie'],
    );
  });

  test('a slow answer times out, is retried, and fails with a clear message', async () => {
    fake.script('movie', { delayMs: 5_000 }, { delayMs: 5_000 }, { delayMs: 5_000 });
    const started = Date.now();
    const error = await expectCode(client({ timeoutMs: 100 }).getMovie(603), 'metadata_unavailable');
    assert.match(error.message, /no answer within 100 ms/);
    assert.equal(fake.count('movie'), 3);
    assert.ok(Date.now() - started < 4_000, 'each attempt stopped at its timeout');
  });

  test('one slow answer, then a prompt one: succeeds', async () => {
    fake.script('movie', { delayMs: 5_000 });
    const movie = await client({ timeoutMs: 400 }).getMovie(603);
    assert.equal(movie.tmdbId, 603);
    assert.equal(fake.count('movie'), 2);
  });

  test('malformed JSON: metadata_unavailable, not retried', async () => {
    fake.script('search', { malformed: true });
    const error = await expectCode(client().searchMovies('matrix'), 'metadata_unavailable');
    assert.match(error.message, /malformed JSON/);
    assert.equal(fake.count('search'), 1);
  });

  test('JSON of the wrong shape: metadata_unavailable naming the field', async () => {
    fake.script('search', { status: 200, body: { page: 1, results: 'nope', total_pages: 1, total_results: 0 } });
    const error = await expectCode(client().searchMovies('matrix'), 'metadata_unavailable');
    assert.match(error.message, /unexpected shape: search\.results: expected an array/);
  });

  test('a dropped connection is a network error and is retried', async () => {
    fake.script('movie', { hangUp: true });
    const movie = await client().getMovie(62);
    assert.equal(movie.title, '2001: A Space Odyssey');
    assert.equal(fake.count('movie'), 2);
    assert.match(failures[0]?.message ?? '', /network error/);
  });

  test('nothing listening: metadata_unavailable after retries', async () => {
    const gone = await startFakeTmdbServer();
    const baseUrl = gone.baseUrl;
    await gone.close();
    const error = await expectCode(client({ baseUrl }).getMovie(603), 'metadata_unavailable');
    assert.match(error.message, /network error/);
  });

  test('a redirect is not followed (it would carry the key elsewhere)', async () => {
    fake.script('movie', { status: 302, headers: { location: 'http://127.0.0.1:9/elsewhere' } });
    await expectCode(client().getMovie(603), 'metadata_unavailable');
    assert.equal(fake.count('movie'), 1);
  });

  test("the caller's abort stops at once with the caller's reason", async () => {
    fake.script('movie', { delayMs: 5_000 });
    const controller = new AbortController();
    const pending = client().getMovie(603, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('user left')), 50);
    const error = await rejection(pending);
    assert.equal((error as Error).message, 'user left');
    assert.equal(fake.count('movie'), 1);
  });

  test('invalid input is refused before any request', async () => {
    const tmdb = client();
    await expectCode(tmdb.searchMovies('   '), 'validation_failed');
    await expectCode(tmdb.searchMovies('matrix', { page: 0 }), 'validation_failed');
    await expectCode(tmdb.searchMovies('matrix', { year: 99 }), 'validation_failed');
    await expectCode(tmdb.getMovie(-1), 'validation_failed');
    await expectCode(tmdb.getMovie(1.5), 'validation_failed');
    assert.equal(fake.requests.length, 0);
  });

  test('a base URL with credentials or a query string is refused', () => {
    assert.throws(() => new TmdbClient({ apiKey: 'k', baseUrl: 'http://user:pw@127.0.0.1/3' }), /credentials/);
    assert.throws(() => new TmdbClient({ apiKey: 'k', baseUrl: 'ftp://127.0.0.1/3' }), /http/);
  });
});

describe('TmdbClient privacy', () => {
  test('without a key or token: tmdb_not_configured and no network call at all', async () => {
    let fetchCalls = 0;
    const unconfigured = new TmdbClient({
      baseUrl: fake.baseUrl,
      apiKey: '  ',
      fetch: async (...args) => {
        fetchCalls++;
        return fetch(...args);
      },
    });
    assert.equal(unconfigured.configured, false);
    await expectCode(unconfigured.searchMovies('matrix'), 'tmdb_not_configured');
    await expectCode(unconfigured.getMovie(603), 'tmdb_not_configured');
    await expectCode(unconfigured.imageConfiguration(), 'tmdb_not_configured');
    assert.equal(fetchCalls, 0);
    assert.equal(fake.requests.length, 0);
  });

  test('constructing a client makes no request', async () => {
    client();
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(fake.requests.length, 0);
  });

  test('the key never appears in errors or failure reports, whatever failed', async () => {
    const secretKey = 'sekrit-v3-key-7f3a9c';
    const secretToken = 'sekrit-v4-token-b81d2e';
    const hostile = await startFakeTmdbServer({ apiKey: secretKey, readToken: secretToken });
    const gone = await startFakeTmdbServer();
    const deadUrl = gone.baseUrl;
    await gone.close();
    try {
      const errors: unknown[] = [];
      const keyClient = client({ apiKey: secretKey, baseUrl: hostile.baseUrl, timeoutMs: 100 });
      const tokenClient = client({ readToken: secretToken, baseUrl: hostile.baseUrl, timeoutMs: 100 });
      // A server that echoes the key back in its error body, with and without the query parameter.
      hostile.script('movie', {
        status: 401,
        body: { status_message: `Invalid API key ${secretKey} (api_key=${secretKey})` },
      });
      errors.push(await rejection(keyClient.getMovie(603)));
      hostile.script('movie', { status: 401, body: { status_message: `Bad token ${secretToken}` } });
      errors.push(await rejection(tokenClient.getMovie(603)));
      hostile.script(
        'search',
        { status: 500, body: { status_message: `boom ${secretKey}` } },
        { status: 500 },
        { status: 500 },
      );
      errors.push(await rejection(keyClient.searchMovies('matrix')));
      hostile.script('movie', { delayMs: 2_000 }, { delayMs: 2_000 }, { delayMs: 2_000 });
      errors.push(await rejection(keyClient.getMovie(603)));
      hostile.script('movie', { malformed: true });
      errors.push(await rejection(keyClient.getMovie(603)));
      hostile.script('movie', { hangUp: true }, { hangUp: true }, { hangUp: true });
      errors.push(await rejection(keyClient.getMovie(603)));
      errors.push(await rejection(client({ apiKey: secretKey, baseUrl: deadUrl }).getMovie(603)));
      errors.push(await rejection(keyClient.getMovie(424242)));

      assert.equal(errors.length, 8);
      for (const error of errors) {
        assert.ok(isChillyError(error), inspect(error));
        const shown = everythingShown(error);
        assert.ok(!shown.includes(secretKey), `key leaked in: ${shown}`);
        assert.ok(!shown.includes(secretToken), `token leaked in: ${shown}`);
      }
      const reports = JSON.stringify(failures);
      assert.ok(failures.length > 0);
      assert.ok(!reports.includes(secretKey) && !reports.includes(secretToken), reports);
      // The key did reach the server, where it belongs.
      assert.ok(hostile.requests.some((request) => request.query.api_key === secretKey));
    } finally {
      await hostile.close();
    }
  });
});
