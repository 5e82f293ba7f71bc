/**
 * GET /library over inject, and the whole metadata feature as `startServer` wires it: jobs linked
 * over real HTTP, then a restart with TMDB unreachable that still shows movies and posters.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningServer, startServer } from '../../src/app.js';
import type { ChillyConfig } from '../../src/config/chilly-config.js';
import { loadConfig } from '../../src/config/resolve-config.js';
import type { Job } from '../../src/domain/job.js';
import { MockDownloader } from '../../src/downloaders/mock-downloader.js';
import type { LibraryPage } from '../../src/service/library.js';
import { assertMatchesContract, checkedInject } from '../helpers/api-contract.js';
import { fakeTmdbServerAroundTests, startFakeTmdbServer } from '../helpers/fake-tmdb-server.js';
import { createMetadataApiServer, type MetadataApiServer, namedMagnet } from '../helpers/metadata-api-server.js';
import { sleep, waitUntil } from '../helpers/wait.js';

function json<T>(response: { body: string }): T {
  return JSON.parse(response.body) as T;
}

const fake = fakeTmdbServerAroundTests();

describe('GET /library', () => {
  let server: MetadataApiServer;
  const get = (url: string) => checkedInject(server.app, { method: 'GET', url, headers: server.auth });
  const post = (url: string, payload: Record<string, unknown>) =>
    checkedInject(server.app, { method: 'POST', url, headers: server.auth, payload });

  before(async () => {
    server = await createMetadataApiServer({ fake });
    const library = [
      ['matrix', 'The.Matrix.1999.1080p.BluRay.x264-GRP'],
      ['heat', 'Heat.1995.720p.BRRip.XviD.AC3-ViSiON'],
      ['amelie', 'Amelie.2001.1080p.BluRay.x264'],
      ['home', 'Our.Home.Video.Summer.2010.720p'],
    ];
    // One at a time, so each completes at its own moment and "newest first" has one answer.
    for (const [id, name] of library) {
      const added = await post('/download/start', {
        id: id ?? '',
        sourceType: 'torrent',
        sourceUrn: namedMagnet(name ?? ''),
      });
      assert.equal(added.statusCode, 201);
      server.clock.advance(2_000);
      await waitUntil(() => server.service.get(id ?? '').status === 'completed', { timeoutMs: 5_000 });
      await sleep(5);
    }
    await post('/download/start', { id: 'running', sourceType: 'torrent', sourceUrn: namedMagnet('Dune.2021.1080p') });
    await server.linker.idle();
  });
  after(() => server.close());

  it('lists completed downloads with their movies, newest first', async () => {
    const response = await get('/library');
    assert.equal(response.statusCode, 200);
    const page = json<LibraryPage>(response);
    assert.equal(page.total, 4);
    assert.deepEqual(
      page.items.map((item) => item.job.id),
      ['home', 'amelie', 'heat', 'matrix'],
    );
    assert.ok(page.items.every((item) => item.job.status === 'completed'));
    const matrix = page.items.find((item) => item.job.id === 'matrix');
    assert.equal(matrix?.movie?.title, 'The Matrix');
    assert.equal(matrix?.movie?.runtime, 136);
    assert.deepEqual(matrix?.movie?.genres, ['Action', 'Science Fiction']);
    assert.equal(matrix?.movie?.imdbId, 'tt0133093');
    assert.equal(matrix?.movie?.posterUrl, '/metadata/posters/603');
    assert.equal(matrix?.job.movie?.tmdbId, 603);
    assert.equal(page.items.find((item) => item.job.id === 'amelie')?.movie?.title, 'Amélie');
    assert.equal(page.items.find((item) => item.job.id === 'home')?.movie, null, 'no movie found: still listed');
  });

  it('searches titles and torrent names, ignoring case and accents', async () => {
    const ids = async (query: string) =>
      json<LibraryPage>(await get(`/library?query=${encodeURIComponent(query)}`)).items.map((item) => item.job.id);
    assert.deepEqual(await ids('matrix'), ['matrix']);
    assert.deepEqual(await ids('AMÉLIE'), ['amelie']);
    assert.deepEqual(await ids('amelie'), ['amelie']);
    assert.deepEqual(await ids('home video'), ['home']);
    assert.deepEqual(await ids('dune'), [], 'not completed');
    assert.deepEqual(await ids('zzz'), []);
    assert.deepEqual(await ids(''), ['home', 'amelie', 'heat', 'matrix']);
  });

  it('pages', async () => {
    const first = json<LibraryPage>(await get('/library?limit=2'));
    assert.deepEqual(
      [first.items.map((item) => item.job.id), first.total, first.limit, first.offset],
      [['home', 'amelie'], 4, 2, 0],
    );
    const second = json<LibraryPage>(await get('/library?limit=2&offset=2'));
    assert.deepEqual(
      second.items.map((item) => item.job.id),
      ['heat', 'matrix'],
    );
    const past = json<LibraryPage>(await get('/library?offset=10'));
    assert.deepEqual([past.items.length, past.total], [0, 4]);
  });

  it('rejects bad parameters', async () => {
    for (const query of ['limit=0', 'limit=501', 'offset=-1', 'sort=title', `query=${'x'.repeat(201)}`]) {
      assert.equal((await get(`/library?${query}`)).statusCode, 400, query);
    }
  });
});

describe('the metadata feature as startServer wires it', () => {
  const dirs: string[] = [];
  const newDataDir = async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'chilly-library-start-'));
    dirs.push(dir);
    return dir;
  };
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  const TOKEN = 'library-test-token-0123456789abcdef';

  function config(
    dataDir: string,
    baseUrl: string,
    env: Record<string, string> = { TMDB_API_KEY: fake.apiKey },
  ): ChillyConfig {
    return loadConfig(
      {
        CHILLY_DATA_DIR: dataDir,
        CHILLY_NETWORK: 'loopback',
        CHILLY_TOKEN: TOKEN,
        CHILLY_TMDB_BASE_URL: baseUrl,
        ...env,
      },
      { host: '127.0.0.1', port: 0 },
    );
  }

  async function start(c: ChillyConfig, warnings: string[]): Promise<RunningServer> {
    return startServer({
      config: c,
      downloader: new MockDownloader({ mediaRoot: c.mediaRoot, totalBytes: 1024 * 1024, tickMs: 20 }),
      logger: false,
      onWarning: (message, cause) => warnings.push(`${message} ${cause instanceof Error ? cause.message : ''}`),
      metadata: { client: { timeoutMs: 500, retry: { maxAttempts: 1 } }, linker: { retryDelaysMs: [] } },
    });
  }

  async function call(server: RunningServer, method: string, url: string, body?: unknown) {
    const response = await fetch(`${server.url}${url}`, {
      method,
      headers: {
        authorization: `Bearer ${TOKEN}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const bytes = Buffer.from(await response.arrayBuffer());
    const headers = Object.fromEntries(response.headers);
    const text = headers['content-type']?.startsWith('application/json') ? bytes.toString('utf8') : '';
    assertMatchesContract(method, url, { statusCode: response.status, headers, body: text });
    return { status: response.status, headers, bytes, text };
  }

  it('links over HTTP, then shows movies and posters after a restart with TMDB unreachable', async () => {
    const warnings: string[] = [];
    fake.requests.length = 0;
    const dataDir = await newDataDir();
    const online = await start(config(dataDir, fake.baseUrl), warnings);
    try {
      const added = await call(online, 'POST', '/download/start', {
        id: 'matrix',
        sourceType: 'torrent',
        sourceUrn: namedMagnet('The.Matrix.1999.1080p.BluRay.x264-GRP'),
      });
      assert.equal(added.status, 201);
      await waitUntil(
        async () => {
          const job = JSON.parse((await call(online, 'GET', '/download/status/matrix')).text) as Job;
          return job.status === 'completed' && job.movie?.tmdbId === 603;
        },
        { timeoutMs: 10_000, what: 'a completed, linked job' },
      );
      await online.linker.idle();
      assert.equal(fake.count('image'), 1, 'the poster was cached when linking');
      // The mock engine writes nothing: put the finished file where the restart checks for it.
      const job = online.service.get('matrix');
      const file = job.files?.[0];
      assert.ok(file && job.savePath);
      await mkdir(path.dirname(path.join(job.savePath, file.path)), { recursive: true });
      await writeFile(path.join(job.savePath, file.path), Buffer.alloc(file.length));
    } finally {
      await online.close();
    }

    // TMDB gone: a closed fake's address refuses connections.
    const gone = await startFakeTmdbServer();
    await gone.close();
    const offline = await start(config(dataDir, gone.baseUrl), warnings);
    try {
      const library = JSON.parse((await call(offline, 'GET', '/library')).text) as LibraryPage;
      assert.equal(library.items[0]?.movie?.title, 'The Matrix');
      const poster = await call(offline, 'GET', '/metadata/posters/603');
      assert.equal(poster.status, 200);
      assert.deepEqual(poster.bytes, fake.posterBytes);

      // A new download while offline: it downloads; its lookup fails with a warning.
      await call(offline, 'POST', '/download/start', {
        id: 'heat',
        sourceType: 'torrent',
        sourceUrn: namedMagnet('Heat.1995.1080p.BluRay'),
      });
      await offline.linker.idle();
      await waitUntil(async () => offline.service.get('heat').status === 'completed', { timeoutMs: 10_000 });
      assert.equal(offline.service.get('heat').movie, null);
      assert.ok(warnings.some((warning) => warning.includes('Job heat: could not identify')));
      const retry = await call(offline, 'DELETE', '/downloads/heat/movie');
      assert.equal(retry.status, 502);
    } finally {
      await offline.close();
    }
    for (const warning of warnings) assert.ok(!warning.includes(fake.apiKey), warning);
  });

  it('without a key, or with autoIdentify off, sends TMDB nothing', async () => {
    fake.requests.length = 0;
    for (const c of [
      config(await newDataDir(), fake.baseUrl, {}),
      config(await newDataDir(), fake.baseUrl, { TMDB_API_KEY: fake.apiKey, CHILLY_METADATA_AUTO_IDENTIFY: '0' }),
    ]) {
      const server = await start(c, []);
      try {
        const id = 'quiet';
        await call(server, 'POST', '/download/start', {
          id,
          sourceType: 'torrent',
          sourceUrn: namedMagnet('Dune.2021.2160p.WEB-DL.x265', id),
        });
        await server.linker.idle();
        await waitUntil(async () => server.service.get(id).status === 'completed', { timeoutMs: 10_000 });
        assert.equal(server.service.get(id).movie, null);
        const health = JSON.parse((await call(server, 'GET', '/health')).text) as { metadata: unknown };
        assert.equal((health.metadata as { autoIdentify: boolean }).autoIdentify, false);
      } finally {
        await server.close();
      }
    }
    assert.equal(fake.requests.length, 0);
  });
});
