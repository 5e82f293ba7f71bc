import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/resolve-config.js';
import { isChillyError } from '../../src/domain/errors.js';
import { createMetadataService, MetadataService } from '../../src/metadata/metadata-service.js';
import { MOCK_MOVIES, MockMetadataFetcher } from '../../src/metadata/mock-metadata-fetcher.js';
import { openDatabase, type SqliteDatabase } from '../../src/storage/database.js';
import { fakeTmdbServerAroundTests, startFakeTmdbServer } from '../helpers/fake-tmdb-server.js';

const DAY = 24 * 3600_000;

const fake = fakeTmdbServerAroundTests({ clearRequestsBeforeEach: true });
let dataDir: string;
let db: SqliteDatabase;
let clock: { now: number };

beforeEach(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'chilly-metadata-'));
  db = openDatabase(path.join(dataDir, 'chilly.db'));
  clock = { now: Date.UTC(2024, 0, 1) };
});
afterEach(async () => {
  db.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** The production wiring, configured the way the server would be: from the environment. */
function service(env: Record<string, string> = { TMDB_API_KEY: fake.apiKey }): MetadataService {
  const config = loadConfig({ CHILLY_DATA_DIR: dataDir, CHILLY_TMDB_BASE_URL: fake.baseUrl, ...env });
  return createMetadataService({
    tmdb: config.tmdb,
    dataDir: config.dataDir,
    db,
    now: () => clock.now,
    client: { timeoutMs: 500, retry: { maxAttempts: 2, minDelayMs: 0, sleep: async () => {} } },
  });
}

describe('MetadataService', () => {
  test('identify: a scene release name becomes its movie', async () => {
    const result = await service().identify('The.Matrix.1999.1080p.BluRay.x264-GRP');
    assert.equal(result.release.title, 'The Matrix');
    assert.equal(result.release.resolution, '1080p');
    assert.equal(result.match?.movie.tmdbId, 603);
    assert.equal(result.match?.confidence, 1);
    assert.equal(fake.requests.find((request) => request.route === 'search')?.query.year, '1999');
  });

  test('identify: the year picks between films of the same title', async () => {
    const metadata = service();
    assert.equal((await metadata.identify('Heat.1995.720p.BRRip.XviD.AC3-ViSiON.avi')).match?.movie.tmdbId, 949);
    assert.equal((await metadata.identify('Heat (1986) [720p]')).match?.movie.tmdbId, 32059);
    assert.equal((await metadata.identify('Dune.1984.1080p.BluRay.x264')).match?.movie.tmdbId, 841);
    assert.equal((await metadata.identify('Dune.2021.2160p.WEB-DL.x265')).match?.movie.tmdbId, 438631);
  });

  test('identify: titles with numbers and folders', async () => {
    const metadata = service();
    assert.equal((await metadata.identify('2001.A.Space.Odyssey.1968.1080p.BluRay')).match?.movie.tmdbId, 62);
    assert.equal((await metadata.identify('Blade Runner 2049 (2017)')).match?.movie.tmdbId, 335984);
    assert.equal((await metadata.identify('1917.2019.1080p.BluRay.x264-SPARKS')).match?.movie.tmdbId, 530915);
    assert.equal((await metadata.identify('Amelie (2001)/amelie.1080p.mkv')).match?.movie.tmdbId, 194);
  });

  test('identify: a year one off is found by a second search without the year', async () => {
    const result = await service().identify('Parasite.2020.1080p.WEB-DL');
    assert.equal(result.match?.movie.tmdbId, 496243);
    assert.equal(result.match?.confidence, 0.9);
    assert.equal(fake.count('search'), 2);
  });

  test('identify: a weak hit for the year does not stop the search for a better one', async () => {
    const [heat] = MOCK_MOVIES.filter((movie) => movie.tmdbId === 949);
    assert.ok(heat);
    const movies = [
      { ...heat, tmdbId: 1, title: 'Heat Wave', originalTitle: 'Heat Wave', year: 1995, popularity: 90 },
      { ...heat, year: 1996 },
    ];
    const mock = new MockMetadataFetcher({ movies });
    const result = await new MetadataService({ fetcher: mock }).identify('Heat.1995.1080p.BluRay');
    assert.equal(result.match?.movie.tmdbId, 949);
    assert.equal(result.match?.confidence, 0.9);
    assert.deepEqual(
      result.candidates.map((candidate) => [candidate.movie.tmdbId, candidate.confidence]),
      [
        [949, 0.9],
        [1, 0.6],
      ],
    );
    assert.deepEqual(
      mock.calls.map((call) => (call.method === 'searchMovies' ? call.year : call.method)),
      [1995, undefined],
    );
  });

  test('identify: nothing convincing → no match, candidates for the user to pick', async () => {
    const metadata = service();
    const unknown = await metadata.identify('Some.Unknown.Film.2010.1080p');
    assert.equal(unknown.match, null);
    assert.deepEqual(unknown.candidates, []);
    const weak = await metadata.identify('The.Matrix.Resurrections.2021.1080p');
    assert.equal(weak.match, null);
    assert.ok(weak.candidates.length === 0 || (weak.candidates[0]?.confidence ?? 1) < 0.65);
  });

  test('identify: a name without a title makes no request', async () => {
    const result = await service().identify('   ');
    assert.equal(result.match, null);
    assert.equal(fake.requests.length, 0);
  });

  test('search, details and the poster work offline once seen, marked stale when expired', async () => {
    const metadata = service();
    const movie = await metadata.movie(603);
    const poster = await metadata.image(movie.posterUrl, { download: true });
    assert.ok(poster);
    assert.equal(path.dirname(poster.path), path.join(dataDir, 'cache', 'posters'));
    assert.deepEqual(await readFile(poster.path), fake.posterBytes);

    // Offline: a fresh service on the same database and data dir, pointed at nothing.
    const gone = await startFakeTmdbServer();
    await gone.close();
    const offline = createMetadataService({
      tmdb: { apiKey: fake.apiKey, readToken: undefined, baseUrl: gone.baseUrl },
      dataDir,
      db,
      now: () => clock.now,
      client: { timeoutMs: 200, retry: { maxAttempts: 1 } },
    });
    assert.equal((await offline.movie(603)).stale, false);
    clock.now += 30 * DAY;
    const stale = await offline.movie(603);
    assert.equal(stale.stale, true);
    assert.deepEqual(await offline.image(stale.posterUrl), poster);
    await assert.rejects(offline.movie(62), (error) => isChillyError(error, 'metadata_unavailable'));
  });

  test('image: a poster is not downloaded unless asked; null without artwork', async () => {
    const metadata = service();
    const movie = await metadata.movie(78);
    assert.equal(await metadata.image(movie.posterUrl), null);
    assert.equal(fake.count('image'), 0);
    assert.equal(await metadata.image(null, { download: true }), null);
  });

  test('no key configured: not configured, no request, a typed error', async () => {
    const metadata = service({});
    assert.equal(metadata.configured, false);
    await assert.rejects(metadata.search('matrix'), (error) => isChillyError(error, 'tmdb_not_configured'));
    await assert.rejects(metadata.movie(603), (error) => isChillyError(error, 'tmdb_not_configured'));
    await assert.rejects(metadata.identify('The.Matrix.1999.1080p'), (error) =>
      isChillyError(error, 'tmdb_not_configured'),
    );
    assert.equal(metadata.parse('The.Matrix.1999.1080p').title, 'The Matrix');
    assert.equal(fake.requests.length, 0);
  });

  test('a read token from the environment works too', async () => {
    const page = await service({ TMDB_READ_TOKEN: fake.readToken }).search('blade runner');
    assert.equal(page.results.length, 2);
    assert.ok(fake.requests.every((request) => request.query.api_key === undefined));
  });

  test('runs on the mock fetcher as well (for UI work)', async () => {
    const metadata = new MetadataService({ fetcher: new MockMetadataFetcher() });
    const result = await metadata.identify('Inception (2010) 1080p');
    assert.equal(result.match?.movie.title, 'Inception');
  });
});
