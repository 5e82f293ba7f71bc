import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Job, JobStatus } from '../../src/domain/job.js';
import type { JobPage } from '../../src/service/download-service-api.js';
import { checkedInject } from '../helpers/api-contract.js';
import { type ApiTestServer, createApiTestServer, makeTorrentFile, testMagnet } from '../helpers/api-test-server.js';

type Json = Record<string, unknown>;

function body<T>(response: { body: string }): T {
  return JSON.parse(response.body) as T;
}

describe('download routes on the real service', () => {
  let server: ApiTestServer;
  const post = (url: string, payload: Json) =>
    checkedInject(server.app, { method: 'POST', url, headers: server.auth, payload });
  const get = (url: string) => checkedInject(server.app, { method: 'GET', url, headers: server.auth });

  before(async () => {
    server = await createApiTestServer({ maxActiveDownloads: 2 });
  });
  after(() => server.close());

  it("runs the seed's five endpoints end to end: start → status → pause → resume → cancel", async () => {
    const magnet = testMagnet('seed-flow');
    const started = await post('/download/start', { id: '1', sourceType: 'torrent', sourceUrn: magnet });
    assert.equal(started.statusCode, 201);
    assert.equal(started.headers.location, '/download/status/1');
    assert.equal(body<Job>(started).id, '1');

    server.clock.advance(1_000);
    const status = await get('/download/status/1');
    assert.equal(status.statusCode, 200);
    const job = body<Job>(status);
    assert.equal(job.status, 'downloading');
    assert.ok(job.progress.bytesDone > 0, 'the mock moved some bytes');

    const paused = await post('/download/pause', { id: '1' });
    assert.equal(paused.statusCode, 200);
    assert.equal(body<Job>(paused).status, 'paused');

    const resumed = await post('/download/resume', { id: '1' });
    assert.equal(resumed.statusCode, 200);
    assert.ok(['queued', 'downloading'].includes(body<Job>(resumed).status));

    const cancelled = await post('/download/cancel', { id: '1' });
    assert.equal(cancelled.statusCode, 200);
    assert.equal(body<Job>(cancelled).status, 'cancelled');

    const gone = await get('/download/status/1');
    assert.equal(gone.statusCode, 404);
    assert.equal(body<{ error: { code: string } }>(gone).error.code, 'job_not_found');
  });

  it('answers 200 with the existing job when the same start is repeated (idempotent)', async () => {
    const request = { id: 'again', sourceType: 'torrent', sourceUrn: testMagnet('again') };
    assert.equal((await post('/download/start', request)).statusCode, 201);
    const repeat = await post('/download/start', request);
    assert.equal(repeat.statusCode, 200);
    assert.equal(repeat.headers.location, undefined);
    assert.equal(body<Job>(repeat).id, 'again');
  });

  it('answers 409 duplicate_job for the same id with another source, 409 duplicate_torrent for a torrent in another job', async () => {
    await post('/download/start', { id: 'dup', sourceType: 'torrent', sourceUrn: testMagnet('dup') });
    const otherSource = await post('/download/start', { id: 'dup', sourceType: 'torrent', sourceUrn: testMagnet('x') });
    assert.equal(otherSource.statusCode, 409);
    assert.equal(body<{ error: { code: string } }>(otherSource).error.code, 'duplicate_job');
    const sameTorrent = await post('/download/start', {
      id: 'dup2',
      sourceType: 'torrent',
      sourceUrn: testMagnet('dup'),
    });
    assert.equal(sameTorrent.statusCode, 409);
    assert.equal(body<{ error: { code: string } }>(sameTorrent).error.code, 'duplicate_torrent');
  });

  it('answers 409 invalid_transition for a command the state does not allow', async () => {
    await post('/download/start', { id: 'tr', sourceType: 'torrent', sourceUrn: testMagnet('tr') });
    const resumeRunning = await post('/download/resume', { id: 'tr' });
    assert.equal(resumeRunning.statusCode, 409);
    const error = body<{ error: { code: string; message: string } }>(resumeRunning).error;
    assert.equal(error.code, 'invalid_transition');
    assert.match(error.message, /Cannot resume/);
  });

  it('answers 404 job_not_found for an unknown id on every job route', async () => {
    for (const url of ['/download/pause', '/download/resume', '/download/cancel']) {
      const response = await post(url, { id: 'nobody' });
      assert.equal(response.statusCode, 404, url);
      assert.equal(body<{ error: { code: string } }>(response).error.code, 'job_not_found');
    }
    assert.equal((await get('/download/status/nobody')).statusCode, 404);
  });

  it('rejects unknown fields, missing fields, bad ids and non-magnet sources with 400 validation_failed', async () => {
    const cases: Array<[string, Json, RegExp]> = [
      ['/download/pause', { id: 'a', extra: true }, /unknown field "extra"/],
      ['/download/cancel', { id: 'a', keepdata: true }, /unknown field "keepdata"/],
      ['/download/start', { id: 'a', sourceType: 'torrent' }, /missing field "sourceUrn"/],
      ['/download/start', { id: '../etc', sourceType: 'torrent', sourceUrn: testMagnet('p') }, /body\/id/],
      ['/download/start', { id: 'a', sourceType: 'ftp', sourceUrn: testMagnet('p') }, /sourceType must be one of/],
      ['/download/start', { id: 'a', sourceType: 'torrent', sourceUrn: '/etc/passwd' }, /sourceUrn/],
      ['/download/cancel', { id: 'a', keepData: 'yes' }, /keepData/],
      ['/download/pause', { id: 7 }, /body\/id/],
    ];
    for (const [url, payload, message] of cases) {
      const response = await post(url, payload);
      assert.equal(response.statusCode, 400, JSON.stringify(payload));
      const error = body<{ error: { code: string; message: string } }>(response).error;
      assert.equal(error.code, 'validation_failed');
      assert.match(error.message, message);
    }
    // A direct download (sourceType "http") needs an http(s) URL: a magnet is not one.
    const notUrl = await post('/download/start', { id: 'a', sourceType: 'http', sourceUrn: testMagnet('p') });
    assert.equal(notUrl.statusCode, 400);
    assert.equal(body<{ error: { code: string } }>(notUrl).error.code, 'invalid_source');
  });

  it('says to upload a .torrent whose path was sent as the source, instead of quoting a pattern', async () => {
    for (const sourceUrn of ['/home/ana/Films/Metropolis.torrent', 'C:\\Films\\Metropolis.torrent', 'film.torrent']) {
      const response = await post('/download/start', { id: 'path', sourceType: 'torrent', sourceUrn });
      assert.equal(response.statusCode, 400);
      const error = body<{ error: { code: string; message: string } }>(response).error;
      assert.equal(error.code, 'validation_failed');
      assert.match(error.message, /magnet URI, a bare info-hash/);
      assert.match(error.message, /POST \/download\/upload/);
      assert.doesNotMatch(error.message, /\^|pattern/, 'no regular expression in a message for people');
    }
  });

  it('passes a malformed magnet to the service, which answers 400 invalid_magnet', async () => {
    const response = await post('/download/start', {
      id: 'bad',
      sourceType: 'torrent',
      sourceUrn: 'magnet:?dn=nohash',
    });
    assert.equal(response.statusCode, 400);
    assert.equal(body<{ error: { code: string } }>(response).error.code, 'invalid_magnet');
  });

  it('cancel keeps or deletes data as asked, and leaves the default to the service', async () => {
    await post('/download/start', { id: 'keep', sourceType: 'torrent', sourceUrn: testMagnet('keep') });
    const response = await post('/download/cancel', { id: 'keep', keepData: true });
    assert.equal(response.statusCode, 200);
    assert.equal(body<Job>(response).status, 'cancelled');
  });

  it('uploads a real .torrent file: 201, then 200 on repeat, 409 for another id', async () => {
    const torrent = await makeTorrentFile('upload.bin', Buffer.alloc(100_000, 7));
    const upload = (id: string, payload: Buffer, type = 'application/x-bittorrent') =>
      checkedInject(server.app, {
        method: 'POST',
        url: `/download/upload?id=${id}`,
        headers: { ...server.auth, 'content-type': type },
        payload,
      });
    const created = await upload('up', torrent);
    assert.equal(created.statusCode, 201);
    const job = body<Job>(created);
    assert.equal(job.name, 'upload.bin');
    assert.match(job.sourceUrn, /^torrent:[0-9a-f]{40}$/);
    assert.deepEqual(job.files, [{ path: 'upload.bin', length: 100_000 }]);
    assert.equal((await upload('up', torrent, 'application/octet-stream')).statusCode, 200);
    const other = await upload('up2', torrent);
    assert.equal(other.statusCode, 409);
    assert.equal(body<{ error: { code: string } }>(other).error.code, 'duplicate_torrent');
  });

  it('names a job after its torrent when no id is given; the same torrent again is that job', async () => {
    const hash = (n: number) => n.toString(16).padStart(40, '0');
    const film = (n: number) =>
      `magnet:?xt=urn:btih:${hash(n)}&dn=${encodeURIComponent('Big Buck Bunny (2008) [1080p].mkv')}`;
    const first = await post('/download/start', { sourceType: 'torrent', sourceUrn: film(71) });
    assert.equal(first.statusCode, 201);
    assert.equal(body<Job>(first).id, 'big-buck-bunny-2008-1080p');
    const again = await post('/download/start', { sourceType: 'torrent', sourceUrn: film(71) });
    assert.equal(again.statusCode, 200);
    assert.equal(body<Job>(again).id, 'big-buck-bunny-2008-1080p');
    // Another torrent of the same name: the name plus a piece of its hash.
    const other = await post('/download/start', { sourceType: 'torrent', sourceUrn: film(72) });
    assert.equal(other.statusCode, 201);
    assert.equal(body<Job>(other).id, `big-buck-bunny-2008-1080p-${hash(72).slice(0, 8)}`);
    // No usable name: the info-hash's first 12 characters.
    const bare = await post('/download/start', { sourceType: 'torrent', sourceUrn: hash(73) });
    assert.equal(body<Job>(bare).id, hash(73).slice(0, 12));

    const torrent = await makeTorrentFile('Nosferatu (1922).mkv', Buffer.alloc(50_000, 3));
    const uploaded = await checkedInject(server.app, {
      method: 'POST',
      url: '/download/upload',
      headers: { ...server.auth, 'content-type': 'application/x-bittorrent' },
      payload: torrent,
    });
    assert.equal(uploaded.statusCode, 201);
    assert.equal(body<Job>(uploaded).id, 'nosferatu-1922');
  });

  it('answers 400 invalid_torrent for bytes that are not a .torrent, 415 for JSON, 413 past 10 MiB', async () => {
    const send = (payload: Buffer | string, type: string) =>
      checkedInject(server.app, {
        method: 'POST',
        url: '/download/upload?id=junk',
        headers: { ...server.auth, 'content-type': type },
        payload,
      });
    const junk = await send(Buffer.from('not bencode'), 'application/x-bittorrent');
    assert.equal(junk.statusCode, 400);
    assert.equal(body<{ error: { code: string } }>(junk).error.code, 'invalid_torrent');
    const json = await send('{"torrent":"x"}', 'application/json');
    assert.equal(json.statusCode, 415);
    const huge = await send(Buffer.alloc(10 * 1024 * 1024 + 1), 'application/x-bittorrent');
    assert.equal(huge.statusCode, 413);
    assert.equal(body<{ error: { code: string } }>(huge).error.code, 'payload_too_large');
    const noId = await checkedInject(server.app, {
      method: 'POST',
      url: '/download/upload',
      headers: { ...server.auth, 'content-type': 'application/x-bittorrent' },
      payload: Buffer.from('x'),
    });
    assert.equal(noId.statusCode, 400);
  });

  it('lists jobs with status filters (repeated or comma-separated) and pagination', async () => {
    const ids = ['l1', 'l2', 'l3', 'l4'];
    for (const id of ids) await post('/download/start', { id, sourceType: 'torrent', sourceUrn: testMagnet(id) });
    await post('/download/pause', { id: 'l1' });
    await post('/download/pause', { id: 'l2' });

    const all = body<JobPage>(await get('/downloads'));
    assert.equal(all.limit, 50);
    assert.equal(all.offset, 0);
    assert.equal(all.total, all.jobs.length);
    assert.deepEqual(
      all.jobs.slice(0, 4).map((job) => job.id),
      ['l4', 'l3', 'l2', 'l1'],
      'newest first, as the contract says',
    );

    const paused = body<JobPage>(await get('/downloads?status=paused'));
    assert.ok(paused.jobs.every((job) => job.status === 'paused'));
    assert.ok(['l1', 'l2'].every((id) => paused.jobs.some((job) => job.id === id)));

    const statuses: JobStatus[] = ['paused', 'queued'];
    const comma = body<JobPage>(await get(`/downloads?status=${statuses.join(',')}`));
    const repeated = body<JobPage>(await get(`/downloads?status=paused&status=queued`));
    assert.deepEqual(comma, repeated);
    assert.ok(comma.jobs.every((job) => statuses.includes(job.status)));

    const page = body<JobPage>(await get('/downloads?limit=2&offset=1'));
    assert.equal(page.jobs.length, 2);
    assert.equal(page.total, all.total);
    assert.deepEqual(
      page.jobs.map((job) => job.id),
      all.jobs.slice(1, 3).map((job) => job.id),
    );

    for (const query of ['status=sleeping', 'limit=0', 'limit=501', 'offset=-1', 'limit=abc', 'sort=name']) {
      const response = await get(`/downloads?${query}`);
      assert.equal(response.statusCode, 400, query);
    }
  });

  it('answers /health without a token', async () => {
    const response = await checkedInject(server.app, { method: 'GET', url: '/health' });
    assert.equal(response.statusCode, 200);
    assert.equal(body<{ ok: boolean }>(response).ok, true);
  });
});
