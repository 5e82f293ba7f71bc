import assert from 'node:assert/strict';
import { after, beforeEach, describe, test } from 'node:test';
import { ChillyError, isChillyError } from '../../src/domain/errors.js';
import { CachedMetadataFetcher } from '../../src/metadata/cached-metadata-fetcher.js';
import type { MetadataFetcher } from '../../src/metadata/metadata-fetcher.js';
import { MockMetadataFetcher } from '../../src/metadata/mock-metadata-fetcher.js';
import { TmdbClient } from '../../src/metadata/tmdb-client.js';
import { openDatabase, type SqliteDatabase } from '../../src/storage/database.js';
import { MetadataCacheRepository } from '../../src/storage/metadata-cache-repository.js';
import { fakeTmdbServerAroundTests, startFakeTmdbServer } from '../helpers/fake-tmdb-server.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

const fake = fakeTmdbServerAroundTests({ clearRequestsBeforeEach: true });
let db: SqliteDatabase;
let repository: MetadataCacheRepository;
let clock: { now: number };

after(() => {
  db?.close();
});
beforeEach(() => {
  db?.close();
  db = openDatabase(':memory:');
  repository = new MetadataCacheRepository(db);
  clock = { now: Date.UTC(2024, 0, 1) };
});

function tmdb(options: { apiKey?: string | undefined; baseUrl?: string } = {}): TmdbClient {
  return new TmdbClient({
    apiKey: 'apiKey' in options ? options.apiKey : fake.apiKey,
    baseUrl: options.baseUrl ?? fake.baseUrl,
    timeoutMs: 1_000,
    retry: { maxAttempts: 2, minDelayMs: 0, sleep: async () => {} },
    now: () => clock.now,
  });
}

function cached(inner: MetadataFetcher = tmdb()): CachedMetadataFetcher {
  return new CachedMetadataFetcher(inner, repository, {
    ttl: { movieMs: 7 * DAY, searchMs: DAY },
    keepStaleMs: 30 * DAY,
    now: () => clock.now,
  });
}

describe('CachedMetadataFetcher', () => {
  test('fresh entries are served without the network', async () => {
    const fetcher = cached();
    const first = await fetcher.getMovie(603);
    const requestsAfterFirst = fake.requests.length;
    clock.now += 6 * DAY;
    const second = await fetcher.getMovie(603);
    assert.deepEqual(second, first);
    assert.equal(second.stale, false);
    assert.equal(fake.requests.length, requestsAfterFirst);

    await fetcher.searchMovies('The  Matrix');
    const afterSearch = fake.count('search');
    await fetcher.searchMovies('the matrix');
    assert.equal(fake.count('search'), afterSearch, 'the same query, differently spaced and cased');
    await fetcher.searchMovies('the matrix', { year: 1999 });
    await fetcher.searchMovies('the matrix', { page: 2 });
    assert.equal(fake.count('search'), afterSearch + 2, 'year and page are part of the key');
  });

  test('expired entries are fetched again and stored anew', async () => {
    const fetcher = cached();
    await fetcher.getMovie(603);
    clock.now += 8 * DAY;
    const again = await fetcher.getMovie(603);
    assert.equal(again.stale, false);
    assert.equal(fake.count('movie'), 2);
    const entry = repository.get('v1:tmdb:movie:603');
    assert.equal(entry?.fetchedAt, clock.now);
    assert.equal(entry?.expiresAt, clock.now + 7 * DAY);
  });

  test('expired + TMDB failing (5xx): the old answer, marked stale', async () => {
    const fetcher = cached();
    const original = await fetcher.getMovie(78);
    clock.now += 8 * DAY;
    fake.script('movie', { status: 500 }, { status: 503 });
    const stale = await fetcher.getMovie(78);
    assert.equal(stale.stale, true);
    assert.deepEqual({ ...stale, stale: false }, original);
    // The stale answer does not refresh the entry: the next call tries TMDB again.
    const fresh = await fetcher.getMovie(78);
    assert.equal(fresh.stale, false);
  });

  test('expired + offline (nothing listening): stale', async () => {
    const gone = await startFakeTmdbServer({ apiKey: fake.apiKey });
    const fetcher = cached(tmdb({ baseUrl: gone.baseUrl }));
    await fetcher.searchMovies('blade runner');
    await gone.close();
    clock.now += 2 * DAY;
    const page = await fetcher.searchMovies('blade runner');
    assert.equal(page.stale, true);
    assert.equal(page.results.length, 2);
  });

  test('expired + timeout: stale', async () => {
    const fetcher = cached();
    await fetcher.getMovie(62);
    clock.now += 8 * DAY;
    fake.script('movie', { delayMs: 5_000 }, { delayMs: 5_000 });
    assert.equal((await fetcher.getMovie(62)).stale, true);
  });

  test('no entry + TMDB failing: the error, not an empty answer', async () => {
    fake.script('search', { status: 500 }, { status: 500 });
    await assert.rejects(cached().searchMovies('heat'), (error) => isChillyError(error, 'metadata_unavailable'));
  });

  test('expired + key rejected: the error (a config problem must show)', async () => {
    const good = cached();
    await good.getMovie(603);
    clock.now += 8 * DAY;
    await assert.rejects(cached(tmdb({ apiKey: 'revoked' })).getMovie(603), (error) =>
      isChillyError(error, 'tmdb_key_rejected'),
    );
  });

  test('expired + movie removed from TMDB: movie_not_found and the entry is dropped', async () => {
    const mock = new MockMetadataFetcher();
    const fetcher = cached(mock);
    await fetcher.getMovie(603);
    clock.now += 8 * DAY;
    mock.failWith(new ChillyError('movie_not_found'));
    await assert.rejects(fetcher.getMovie(603), (error) => isChillyError(error, 'movie_not_found'));
    assert.equal(repository.get('v1:tmdb:movie:603'), undefined);
  });

  test('no key configured: cached answers still served (stale when expired), nothing sent', async () => {
    await cached().getMovie(603);
    fake.requests.length = 0;
    const unconfigured = cached(tmdb({ apiKey: undefined }));
    assert.equal((await unconfigured.getMovie(603)).stale, false);
    clock.now += 8 * DAY;
    assert.equal((await unconfigured.getMovie(603)).stale, true);
    await assert.rejects(unconfigured.getMovie(62), (error) => isChillyError(error, 'tmdb_not_configured'));
    assert.equal(fake.requests.length, 0);
  });

  test('concurrent identical requests share one upstream call', async () => {
    const fetcher = cached();
    const results = await Promise.all([fetcher.getMovie(335984), fetcher.getMovie(335984), fetcher.getMovie(335984)]);
    assert.equal(fake.count('movie'), 1);
    assert.ok(results.every((movie) => movie.title === 'Blade Runner 2049'));
  });

  test('an unreadable entry counts as none', async () => {
    repository.put({ key: 'v1:tmdb:movie:603', json: '{not json', fetchedAt: clock.now, expiresAt: clock.now + DAY });
    const movie = await cached().getMovie(603);
    assert.equal(movie.title, 'The Matrix');
    repository.put({
      key: 'v1:tmdb:movie:603',
      json: '{"other":"shape"}',
      fetchedAt: clock.now,
      expiresAt: clock.now + DAY,
    });
    assert.equal((await cached().getMovie(603)).title, 'The Matrix');
    assert.equal(fake.count('movie'), 2);
  });

  test('invalid input is refused before the cache or the network', async () => {
    await assert.rejects(cached().searchMovies(''), (error) => isChillyError(error, 'validation_failed'));
    await assert.rejects(cached().getMovie(0), (error) => isChillyError(error, 'validation_failed'));
    assert.equal(repository.count(), 0);
    assert.equal(fake.requests.length, 0);
  });

  test('prune keeps stale entries for keepStaleMs, then removes them', async () => {
    const fetcher = cached();
    await fetcher.getMovie(603);
    await fetcher.searchMovies('heat');
    clock.now += 20 * DAY;
    assert.equal(fetcher.prune(), 0);
    clock.now += 15 * DAY; // the search expired 34 days ago, the movie 28 days ago
    assert.equal(fetcher.prune(), 1);
    assert.equal(repository.count(), 1);
  });
});
