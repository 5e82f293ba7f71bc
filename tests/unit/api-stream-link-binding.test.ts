/**
 * A signed stream link opens one torrent under one job id: cancelled and re-added under the same
 * id with another torrent, the job's old links are refused (401), while links keep working for
 * the job they were given for (through pause and resume, for every file of it, GET and HEAD).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createStreamTokens } from '../../src/api/stream-token.js';
import { ChillyError } from '../../src/domain/errors.js';
import type { DownloadService } from '../../src/service/download-service.js';
import type { JobFileStream } from '../../src/service/download-service-api.js';
import { checkedInject } from '../helpers/api-contract.js';
import { type ApiTestServer, createApiTestServer, testMagnet } from '../helpers/api-test-server.js';

const MOVIE = Buffer.alloc(64 * 1024, 7);

/** In-memory files for every job (the mock engine cannot stream); unknown jobs answer as the service does. */
function fakeFiles(service: DownloadService): void {
  service.openFile = async (id: string, fileIndex?: number): Promise<JobFileStream> => {
    service.get(id);
    const index = fileIndex ?? 0;
    if (index > 1) throw new ChillyError('file_not_found', `No file #${index}.`);
    return {
      jobId: id,
      index,
      path: index === 0 ? 'Film/Film.mkv' : 'Film/Film.srt',
      length: MOVIE.length,
      read(start, end) {
        return (async function* () {
          yield MOVIE.subarray(start, end + 1);
        })();
      },
    };
  };
}

describe('stream links are bound to the torrent as well as the job id', () => {
  let server: ApiTestServer;
  const open = (url: string, method: 'GET' | 'HEAD' = 'GET') =>
    checkedInject(server.app, { method, url, headers: method === 'GET' ? { range: 'bytes=0-15' } : {} });
  const linkFor = async (id: string, query = ''): Promise<string> => {
    const response = await checkedInject(server.app, {
      method: 'GET',
      url: `/download/stream-url/${id}${query}`,
      headers: server.auth,
    });
    assert.equal(response.statusCode, 200, response.body);
    const url = new URL((JSON.parse(response.body) as { url: string }).url);
    return `${url.pathname}${url.search}`;
  };

  before(async () => {
    server = await createApiTestServer();
    fakeFiles(server.service);
  });
  after(() => server.close());

  it("a link keeps working for its own job, through pause and resume, for all of the job's files", async () => {
    await server.service.add({ id: 'film', sourceType: 'torrent', sourceUrn: testMagnet('the first film') });
    const link = await linkFor('film');
    assert.equal((await open(link)).statusCode, 206);
    assert.equal((await open(link, 'HEAD')).statusCode, 200);
    const token = new URL(link, 'http://localhost').searchParams.get('t');
    assert.equal((await open(`/stream/film/files/1?t=${token}`)).statusCode, 206, 'another file of the same job');
    await server.service.pause('film');
    await server.service.resume('film');
    assert.equal((await open(link)).statusCode, 206, 'after pause and resume');
    await server.service.cancel('film', { keepData: false });
  });

  it('a link given for one torrent is refused (401) once another torrent holds the same job id', async () => {
    await server.service.add({ id: 'movie', sourceType: 'torrent', sourceUrn: testMagnet('torrent A') });
    const first = server.service.get('movie').infoHash;
    const oldLink = await linkFor('movie');
    const oldFileLink = await linkFor('movie', '?fileIndex=0');
    assert.equal((await open(oldLink)).statusCode, 206);

    await server.service.cancel('movie', { keepData: false });
    await server.service.add({ id: 'movie', sourceType: 'torrent', sourceUrn: testMagnet('torrent B') });
    assert.notEqual(server.service.get('movie').infoHash, first, 'another torrent under the same id');

    for (const [what, url, method] of [
      ['GET', oldLink, 'GET'],
      ['HEAD', oldLink, 'HEAD'],
      ['GET of a file', oldFileLink, 'GET'],
    ] as const) {
      const refused = await open(url, method);
      assert.equal(refused.statusCode, 401, `${what} with the old link`);
      assert.equal(refused.headers['www-authenticate'], 'Bearer');
    }
    assert.equal((await open(await linkFor('movie'))).statusCode, 206, 'a link given for the new torrent opens it');
  });
});

describe('stream tokens for a job and its torrent', () => {
  const now = Date.UTC(2026, 0, 1);
  const tokens = createStreamTokens('the-api-token-0123456789', { now: () => now });
  const hashA = 'a'.repeat(40);
  const hashB = 'b'.repeat(40);

  it('open the job id and torrent they were made for, and neither without the other', () => {
    const { token } = tokens.issue({ jobId: 'film', infoHash: hashA });
    assert.equal(tokens.check(token, { jobId: 'film', infoHash: hashA }), 'valid');
    assert.equal(tokens.check(token, { jobId: 'film', infoHash: hashA.toUpperCase() }), 'valid', 'hex in any case');
    assert.equal(tokens.check(token, { jobId: 'film', infoHash: hashB }), 'bad_signature', 'another torrent');
    assert.equal(tokens.check(token, { jobId: 'film2', infoHash: hashA }), 'bad_signature', 'another job');
    assert.equal(tokens.check(token, { jobId: 'film', infoHash: '' }), 'bad_signature', 'no torrent');
  });

  it('keep the job id and the info-hash apart (no shifting of characters between them)', () => {
    const { token } = tokens.issue({ jobId: 'a', infoHash: 'bc' });
    assert.equal(tokens.check(token, { jobId: 'ab', infoHash: 'c' }), 'bad_signature');
  });

  it('an expired link for the right torrent says so; for another torrent it does not', () => {
    const expired = tokens.sign({ jobId: 'film', infoHash: hashA }, Math.floor(now / 1000) - 1);
    assert.equal(tokens.check(expired, { jobId: 'film', infoHash: hashA }), 'expired');
    assert.equal(tokens.check(expired, { jobId: 'film', infoHash: hashB }), 'bad_signature');
  });
});
