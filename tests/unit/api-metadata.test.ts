/**
 * The /metadata routes over inject, on the production wiring with TMDB played by the fake server
 * on 127.0.0.1. Every response goes through the contract check.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { checkedInject } from '../helpers/api-contract.js';
import { createApiTestServer } from '../helpers/api-test-server.js';
import { fakeTmdbServerAroundTests } from '../helpers/fake-tmdb-server.js';
import { createMetadataApiServer, type MetadataApiServer } from '../helpers/metadata-api-server.js';

type Json = Record<string, unknown>;
type ErrorJson = { error: { code: string; message: string } };

function json<T = Json>(response: { body: string }): T {
  return JSON.parse(response.body) as T;
}

const fake = fakeTmdbServerAroundTests();

describe('metadata routes with a TMDB key', () => {
  let server: MetadataApiServer;
  const bodies: string[] = [];
  const get = async (url: string, headers = server.auth) => {
    const response = await checkedInject(server.app, { method: 'GET', url, headers });
    bodies.push(response.body);
    return response;
  };

  beforeEach(async () => {
    fake.requests.length = 0;
    server = await createMetadataApiServer({ fake });
  });
  afterEach(async () => {
    assert.ok(server.log.length > 0, 'the request log was captured');
    // The key is sent as a query parameter to TMDB (the fake checks it), and never anywhere else.
    for (const text of [...bodies, ...server.log, ...server.warnings]) {
      assert.ok(!text.includes(fake.apiKey), `the key leaked: ${text.slice(0, 200)}`);
    }
    bodies.length = 0;
    await server.close();
  });

  it('searches by title and year; artwork points at this server, not at TMDB', async () => {
    const response = await get('/metadata/search?query=blade%20runner');
    assert.equal(response.statusCode, 200);
    const page = json<{ results: Json[]; totalResults: number; page: number; stale: boolean }>(response);
    assert.deepEqual(
      page.results.map((movie) => movie.tmdbId),
      [335984, 78],
    );
    assert.equal(page.page, 1);
    assert.equal(page.stale, false);
    assert.equal(page.results[0]?.posterUrl, '/metadata/posters/335984');
    assert.equal(page.results[0]?.backdropUrl, '/metadata/backdrops/335984');
    assert.doesNotMatch(response.body, new RegExp(fake.imageBaseUrl.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')));

    const year = await get('/metadata/search?query=blade%20runner&year=1982&page=1');
    assert.deepEqual(
      json<{ results: Json[] }>(year).results.map((movie) => movie.tmdbId),
      [78],
    );
    const search = fake.requests.filter((request) => request.route === 'search');
    assert.equal(search.at(-1)?.query.year, '1982');
  });

  it('rejects bad search parameters with 400 before asking TMDB', async () => {
    for (const query of [
      '',
      '?query=',
      '?query=%20%20',
      '?query=x&year=1200',
      '?query=x&page=0',
      '?query=x&page=501',
    ]) {
      const response = await get(`/metadata/search${query}`);
      assert.equal(response.statusCode, 400, query);
      assert.equal(json<ErrorJson>(response).error.code, 'validation_failed');
    }
    const unknown = await get('/metadata/search?query=x&api_key=mine');
    assert.equal(unknown.statusCode, 400, 'unknown parameters are rejected, not forwarded');
    assert.equal(fake.count('search'), 0);
  });

  it('serves a movie by TMDB id: 200 with details, 404 movie_not_found, 400 for a bad id', async () => {
    const matrix = await get('/metadata/movies/603');
    assert.equal(matrix.statusCode, 200);
    const movie = json(matrix);
    assert.equal(movie.title, 'The Matrix');
    assert.equal(movie.year, 1999);
    assert.equal(movie.imdbId, 'tt0133093');
    assert.equal(movie.posterUrl, '/metadata/posters/603');
    assert.ok(Array.isArray(movie.genres) && movie.genres.length > 0);

    const missing = await get('/metadata/movies/123456789');
    assert.equal(missing.statusCode, 404);
    assert.equal(json<ErrorJson>(missing).error.code, 'movie_not_found');

    for (const id of ['0', '-1', 'abc', '1.5']) {
      assert.equal((await get(`/metadata/movies/${id}`)).statusCode, 400, id);
    }
  });

  it('serves posters and backdrops from its own cache: TMDB image host asked once', async () => {
    const first = await get('/metadata/posters/603');
    assert.equal(first.statusCode, 200);
    assert.equal(first.headers['content-type'], 'image/png');
    assert.match(String(first.headers['cache-control']), /max-age=\d+/);
    assert.deepEqual(first.rawPayload, fake.posterBytes);
    assert.equal(fake.count('image'), 1);

    const again = await get('/metadata/posters/603');
    assert.deepEqual(again.rawPayload, fake.posterBytes);
    assert.equal(fake.count('image'), 1, 'the second answer comes from disk');

    const backdrop = await get('/metadata/backdrops/603');
    assert.equal(backdrop.statusCode, 200);
    assert.equal(fake.count('image'), 2);
    assert.ok(
      fake.requests
        .filter((request) => request.route === 'image')
        .every((request) => request.query.api_key === undefined),
      'no credentials go to the image host',
    );
  });

  it('answers 404 image_not_found for a movie without artwork, 404 movie_not_found for no movie', async () => {
    const none = await get('/metadata/posters/999001');
    assert.equal(none.statusCode, 404);
    assert.equal(json<ErrorJson>(none).error.code, 'image_not_found');
    const missing = await get('/metadata/backdrops/123456789');
    assert.equal(missing.statusCode, 404);
    assert.equal(json<ErrorJson>(missing).error.code, 'movie_not_found');
  });

  it('maps TMDB failures: 401 → 502 tmdb_key_rejected, 5xx → 502 metadata_unavailable', async () => {
    fake.script('search', { status: 401 });
    const rejected = await get('/metadata/search?query=heat');
    assert.equal(rejected.statusCode, 502);
    assert.equal(json<ErrorJson>(rejected).error.code, 'tmdb_key_rejected');

    fake.script('movie', { status: 503 });
    const down = await get('/metadata/movies/949');
    assert.equal(down.statusCode, 502);
    assert.equal(json<ErrorJson>(down).error.code, 'metadata_unavailable');
  });

  it('needs the API token like every other route', async () => {
    for (const url of ['/metadata/search?query=heat', '/metadata/movies/603', '/metadata/posters/603', '/library']) {
      const response = await get(url, {});
      assert.equal(response.statusCode, 401, url);
    }
    assert.equal(fake.requests.length, 0);
  });

  it('reports metadata as configured in /health', async () => {
    const health = await get('/health', {});
    assert.deepEqual(json(health).metadata, { configured: true, autoIdentify: true });
  });
});

describe('metadata routes with a read token', () => {
  it('sends the token as a bearer header, never in a URL, and never back to the client', async () => {
    fake.requests.length = 0;
    const server = await createMetadataApiServer({ fake, credential: 'readToken' });
    try {
      const response = await checkedInject(server.app, {
        method: 'GET',
        url: '/metadata/search?query=matrix',
        headers: server.auth,
      });
      assert.equal(response.statusCode, 200);
      assert.ok(fake.requests.length > 0);
      assert.ok(fake.requests.every((request) => !request.url.includes(fake.readToken)));
      for (const text of [response.body, ...server.log, ...server.warnings]) {
        assert.ok(!text.includes(fake.readToken));
      }
    } finally {
      await server.close();
    }
  });
});

describe('metadata routes without a TMDB key', () => {
  let server: MetadataApiServer;
  before(async () => {
    fake.requests.length = 0;
    server = await createMetadataApiServer({ fake, credential: 'none' });
  });
  after(() => server.close());

  it('answers 503 tmdb_not_configured and sends nothing to TMDB', async () => {
    for (const url of [
      '/metadata/search?query=matrix',
      '/metadata/movies/603',
      '/metadata/posters/603',
      '/metadata/backdrops/603',
    ]) {
      const response = await checkedInject(server.app, { method: 'GET', url, headers: server.auth });
      assert.equal(response.statusCode, 503, url);
      assert.equal(json<ErrorJson>(response).error.code, 'tmdb_not_configured', url);
    }
    const health = await checkedInject(server.app, { method: 'GET', url: '/health' });
    assert.deepEqual(json(health).metadata, { configured: false, autoIdentify: false });
    assert.equal(fake.requests.length, 0);
  });
});

describe('a server built without the metadata feature', () => {
  it('answers 503 tmdb_not_configured on metadata routes and still lists the library', async () => {
    const server = await createApiTestServer();
    try {
      const search = await checkedInject(server.app, {
        method: 'GET',
        url: '/metadata/search?query=matrix',
        headers: server.auth,
      });
      assert.equal(search.statusCode, 503);
      const put = await checkedInject(server.app, {
        method: 'PUT',
        url: '/downloads/x/movie',
        headers: server.auth,
        payload: { tmdbId: 603 },
      });
      assert.equal(put.statusCode, 503);
      const library = await checkedInject(server.app, { method: 'GET', url: '/library', headers: server.auth });
      assert.equal(library.statusCode, 200);
      assert.deepEqual(json(library), { items: [], total: 0, limit: 50, offset: 0 });
      const health = await checkedInject(server.app, { method: 'GET', url: '/health' });
      assert.deepEqual(json(health).metadata, { configured: false, autoIdentify: false });
    } finally {
      await server.close();
    }
  });
});
