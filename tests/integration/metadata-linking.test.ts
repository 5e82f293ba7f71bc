/**
 * Downloads linked to movies, end to end over the HTTP API: the job's name is parsed, looked up at
 * the fake TMDB on 127.0.0.1, and the link shows in status, lists and events; the user's
 * correction sticks; failures never touch the download and are retried; nothing is sent without a
 * key, or without being asked; the key never shows in answers, logs or warnings.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Job, JobMovie } from '../../src/domain/job.js';
import { MovieLinker } from '../../src/service/movie-linker.js';
import { assertSchema, checkedInject } from '../helpers/api-contract.js';
import { openEventStream } from '../helpers/api-sse-client.js';
import { makeTorrentFile } from '../helpers/api-test-server.js';
import { fakeTmdbServerAroundTests } from '../helpers/fake-tmdb-server.js';
import {
  createMetadataApiServer,
  type MetadataApiServer,
  type MetadataApiServerOptions,
  namedMagnet,
} from '../helpers/metadata-api-server.js';
import { sleep, waitUntil } from '../helpers/wait.js';

type ErrorJson = { error: { code: string } };

function json<T>(response: { body: string }): T {
  return JSON.parse(response.body) as T;
}

const MATRIX = 'The.Matrix.1999.1080p.BluRay.x264-GRP';

const fake = fakeTmdbServerAroundTests();

describe('linking downloads to movies', () => {
  let server: MetadataApiServer | undefined;
  const bodies: string[] = [];

  async function open(options: Omit<MetadataApiServerOptions, 'fake'> = {}): Promise<MetadataApiServer> {
    server = await createMetadataApiServer({ fake, ...options });
    return server;
  }
  function current(): MetadataApiServer {
    assert.ok(server);
    return server;
  }
  async function request(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown) {
    const response = await checkedInject(current().app, {
      method,
      url,
      headers: current().auth,
      ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
    });
    bodies.push(response.body);
    return response;
  }
  async function add(id: string, name: string): Promise<Job> {
    const response = await request('POST', '/download/start', {
      id,
      sourceType: 'torrent',
      sourceUrn: namedMagnet(name, id),
    });
    assert.equal(response.statusCode, 201, response.body);
    return json<Job>(response);
  }
  async function movieOf(id: string): Promise<JobMovie | null | undefined> {
    const response = await request('GET', `/download/status/${id}`);
    assert.equal(response.statusCode, 200);
    return json<Job>(response).movie;
  }

  beforeEach(() => {
    fake.requests.length = 0;
  });
  afterEach(async () => {
    const s = server;
    server = undefined;
    if (s === undefined) return;
    await s.close();
    for (const text of [...bodies, ...s.log, ...s.warnings, ...s.events.map((event) => JSON.stringify(event))]) {
      assert.ok(!text.includes(fake.apiKey), `the key leaked: ${text.slice(0, 300)}`);
    }
    bodies.length = 0;
  });

  it('links a scene release name to its movie: status, list and events show it', async () => {
    const s = await open();
    const added = await add('matrix', MATRIX);
    assert.equal(added.movie, null, 'not identified yet when add returns');
    await s.linker.idle();

    const movie = await movieOf('matrix');
    assert.ok(movie);
    assert.deepEqual(
      { ...movie, linkedAt: undefined },
      {
        tmdbId: 603,
        title: 'The Matrix',
        originalTitle: 'The Matrix',
        year: 1999,
        runtime: 136,
        rating: 8.2,
        posterUrl: '/metadata/posters/603',
        backdropUrl: '/metadata/backdrops/603',
        origin: 'auto',
        confidence: 1,
        release: { resolution: '1080p', source: 'bluray', codec: 'h264', edition: [], group: 'GRP' },
        linkedAt: undefined,
      },
    );
    const searches = fake.requests.filter((r) => r.route === 'search');
    assert.equal(searches.length, 1);
    assert.equal(searches[0]?.query.query, 'The Matrix');
    assert.equal(searches[0]?.query.year, '1999');

    const list = json<{ jobs: Job[] }>(await request('GET', '/downloads'));
    assert.equal(list.jobs[0]?.movie?.tmdbId, 603);

    const updated = s.events.find((event) => event.type === 'updated' && event.job.movie?.tmdbId === 603);
    assert.ok(updated, 'an updated event carries the movie');
    assertSchema({ $ref: '#/components/schemas/JobEvent' }, JSON.parse(JSON.stringify(updated)), 'updated event');

    // The poster was cached while linking: showing it asks TMDB nothing more.
    assert.equal(fake.count('image'), 1);
    const poster = await request('GET', '/metadata/posters/603');
    assert.equal(poster.statusCode, 200);
    assert.equal(fake.count('image'), 1);
  });

  it('sends the movie to event-stream clients', async () => {
    const s = await open();
    const port = await s.listen();
    const stream = await openEventStream({ port, token: s.token });
    try {
      await add('matrix-sse', MATRIX);
      const messages = await stream.waitFor(
        (all) => all.some((message) => (JSON.parse(message.data ?? '{}') as { job?: Job }).job?.movie?.tmdbId === 603),
        10_000,
      );
      assert.ok(messages.length > 0);
    } finally {
      stream.close();
    }
  });

  it('links a .torrent upload, whose name is known when it is added', async () => {
    const s = await open();
    const torrent = await makeTorrentFile('Blade.Runner.2049.2017.2160p.WEB-DL.x265-GRP.mkv', Buffer.from('frames'));
    const response = await checkedInject(s.app, {
      method: 'POST',
      url: '/download/upload?id=br2049',
      headers: { ...s.auth, 'content-type': 'application/x-bittorrent' },
      payload: torrent,
    });
    assert.equal(response.statusCode, 201);
    await s.linker.idle();
    const movie = await movieOf('br2049');
    assert.equal(movie?.tmdbId, 335984);
    assert.equal(movie?.year, 2017);
    assert.equal(movie?.release.resolution, '2160p');
  });

  it("keeps the user's correction: PUT sets it, automatic identification never replaces it", async () => {
    const s = await open();
    await add('m', MATRIX);
    await s.linker.idle();
    assert.equal((await movieOf('m'))?.tmdbId, 603);

    const put = await request('PUT', '/downloads/m/movie', { tmdbId: 604 });
    assert.equal(put.statusCode, 200);
    const corrected = json<Job>(put).movie;
    assert.equal(corrected?.tmdbId, 604);
    assert.equal(corrected?.title, 'The Matrix Reloaded');
    assert.equal(corrected?.origin, 'user');
    assert.equal(corrected?.confidence, null);
    assert.equal(corrected?.release.resolution, '1080p', 'the release still describes the copy');
    assert.ok(s.events.some((event) => event.type === 'updated' && event.job.movie?.tmdbId === 604));

    // A restart: a new linker scans every job. The user's choice stands, nothing is asked.
    const before = fake.requests.length;
    const restarted = new MovieLinker({ service: s.service, metadata: s.metadata, links: s.links });
    restarted.start();
    await restarted.idle();
    await restarted.close();
    assert.equal(fake.requests.length, before);
    assert.equal((await movieOf('m'))?.tmdbId, 604);

    // "This is no movie" sticks as well.
    const none = await request('PUT', '/downloads/m/movie', { tmdbId: null });
    assert.equal(none.statusCode, 200);
    assert.equal(json<Job>(none).movie, null);
    const userLink = s.links.get('m');
    assert.ok(userLink);
    assert.equal(userLink.origin, 'user');
    assert.equal(s.links.setAutomatic({ ...userLink, movie: null, confidence: 1 }), false);

    // DELETE forgets the choice and identifies again, now.
    const reset = await request('DELETE', '/downloads/m/movie');
    assert.equal(reset.statusCode, 200);
    assert.equal(json<Job>(reset).movie?.tmdbId, 603);
    assert.equal(json<Job>(reset).movie?.origin, 'auto');
  });

  it('answers PUT errors without changing the link', async () => {
    const s = await open();
    await add('m', MATRIX);
    await s.linker.idle();
    const before = fake.requests.length;

    const unknownJob = await request('PUT', '/downloads/nope/movie', { tmdbId: 603 });
    assert.equal(unknownJob.statusCode, 404);
    assert.equal(json<ErrorJson>(unknownJob).error.code, 'job_not_found');
    assert.equal(fake.requests.length, before, 'no TMDB request for a job that does not exist');

    const unknownMovie = await request('PUT', '/downloads/m/movie', { tmdbId: 123456789 });
    assert.equal(unknownMovie.statusCode, 404);
    assert.equal(json<ErrorJson>(unknownMovie).error.code, 'movie_not_found');
    assert.equal((await movieOf('m'))?.tmdbId, 603);

    for (const payload of [{}, { tmdbId: '603' }, { tmdbId: 0 }, { tmdbId: 1.5 }, { tmdbId: 603, origin: 'user' }]) {
      const response = await request('PUT', '/downloads/m/movie', payload);
      assert.equal(response.statusCode, 400, JSON.stringify(payload));
    }
    const badId = await request('PUT', '/downloads/..%2Fx/movie', { tmdbId: 603 });
    assert.equal(badId.statusCode, 400);
    assert.equal((await request('DELETE', '/downloads/nope/movie')).statusCode, 404);
  });

  it('sends nothing at all to TMDB without a key; the library still works', async () => {
    const s = await open({ credential: 'none' });
    await add('m', MATRIX);
    await s.linker.idle();
    s.clock.advance(5_000);
    assert.equal((await movieOf('m')) ?? null, null);
    assert.equal(json<Job>(await request('GET', '/download/status/m')).status, 'completed');

    const put = await request('PUT', '/downloads/m/movie', { tmdbId: 603 });
    assert.equal(put.statusCode, 503);
    assert.equal(json<ErrorJson>(put).error.code, 'tmdb_not_configured');
    assert.equal((await request('DELETE', '/downloads/m/movie')).statusCode, 503);
    const library = json<{ items: Array<{ job: Job; movie: unknown }> }>(await request('GET', '/library'));
    assert.equal(library.items.length, 1);
    assert.equal(library.items[0]?.movie, null);
    assert.equal(s.linker.autoIdentify, false);
    assert.equal(fake.requests.length, 0, 'the fake TMDB saw no request at all');
  });

  it('with autoIdentify off, asks TMDB only when the user does', async () => {
    const s = await open({ autoIdentify: false });
    await add('m', MATRIX);
    await s.linker.idle();
    assert.equal(await movieOf('m'), null);
    assert.equal(fake.requests.length, 0);
    const health = json<{ metadata: unknown }>(await request('GET', '/health'));
    assert.deepEqual(health.metadata, { configured: true, autoIdentify: false });

    const asked = await request('DELETE', '/downloads/m/movie');
    assert.equal(asked.statusCode, 200);
    assert.equal(json<Job>(asked).movie?.tmdbId, 603);
    assert.ok(fake.count('search') > 0);
  });

  it('never blocks or fails a download: a slow TMDB, then a failed lookup retried later', async () => {
    const s = await open({ retryDelaysMs: [50, 50] });
    fake.script('search', { delayMs: 1_500 });
    const started = Date.now();
    const job = await add('slow', MATRIX);
    assert.ok(Date.now() - started < 1_000, 'add does not wait for the lookup');
    assert.ok(['queued', 'downloading'].includes(job.status));
    s.clock.advance(5_000);
    assert.equal(json<Job>(await request('GET', '/download/status/slow')).status, 'completed');
    await s.linker.idle();
    assert.equal((await movieOf('slow'))?.tmdbId, 603);

    fake.script('search', { status: 500 }, { status: 500 });
    await add('flaky', 'Heat.1995.720p.BRRip.XviD.AC3-ViSiON');
    await waitUntil(async () => (await movieOf('flaky'))?.tmdbId === 949, {
      timeoutMs: 10_000,
      what: 'a retried link',
    });
    assert.equal(s.warnings.filter((warning) => warning.includes('could not identify')).length, 2);
    assert.ok(s.warnings.some((warning) => warning.includes('trying again')));
  });

  it('gives up after the last retry, until asked again', async () => {
    const s = await open({ retryDelaysMs: [20] });
    fake.script('search', { status: 500 }, { status: 500 });
    await add('m', MATRIX);
    await waitUntil(() => s.warnings.some((warning) => warning.includes('giving up')), {
      timeoutMs: 10_000,
      what: 'giving up',
    });
    assert.equal(await movieOf('m'), null);
    assert.equal(fake.count('search'), 2);
    const asked = await request('DELETE', '/downloads/m/movie');
    assert.equal(json<Job>(asked).movie?.tmdbId, 603);
  });

  it('stops identifying on its own when TMDB rejects the key, and says so once', async () => {
    const s = await open();
    fake.script('search', { status: 401 });
    await add('a', MATRIX);
    await s.linker.idle();
    await add('b', 'Heat.1995.1080p.BluRay');
    await s.linker.idle();
    assert.equal(fake.count('search'), 1);
    assert.equal(s.warnings.filter((warning) => warning.includes('rejected')).length, 1);
    assert.equal(s.linker.autoIdentify, false);
    const health = json<{ metadata: unknown }>(await request('GET', '/health'));
    assert.deepEqual(health.metadata, { configured: true, autoIdentify: false });
  });

  it('runs at most `concurrency` lookups at once', async () => {
    const s = await open({ concurrency: 2 });
    fake.script('search', { delayMs: 400 }, { delayMs: 400 }, { delayMs: 400 }, { delayMs: 400 });
    await add('j1', MATRIX);
    await add('j2', 'Heat.1995.1080p.BluRay');
    await add('j3', 'Dune.2021.2160p.WEB-DL.x265');
    await add('j4', '1917.2019.1080p.BluRay.x264-SPARKS');
    await sleep(200);
    assert.equal(fake.count('search'), 2, 'two lookups in flight, two waiting');
    await s.linker.idle();
    const ids = await Promise.all(['j1', 'j2', 'j3', 'j4'].map(async (id) => (await movieOf(id))?.tmdbId));
    assert.deepEqual(ids, [603, 949, 438631, 530915]);
  });

  it('drops the lookup of a job cancelled meanwhile, quietly', async () => {
    const s = await open();
    fake.script('search', { delayMs: 300 });
    await add('gone', MATRIX);
    const cancelled = await request('POST', '/download/cancel', { id: 'gone' });
    assert.equal(cancelled.statusCode, 200);
    await s.linker.idle();
    assert.equal(s.links.get('gone'), undefined);
    assert.deepEqual(s.warnings, []);
  });

  it('closes with lookups in flight without waiting for TMDB or writing afterwards', async () => {
    const s = await open();
    fake.script('search', { delayMs: 5_000 });
    await add('m', MATRIX);
    await sleep(50);
    const started = Date.now();
    await s.linker.close();
    assert.ok(Date.now() - started < 2_000, 'close aborts the request');
    assert.equal(s.links.get('m'), undefined);
    assert.deepEqual(s.warnings, []);
  });
});
