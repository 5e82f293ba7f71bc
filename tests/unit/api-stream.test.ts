import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { loadContract, type OpenApiResponse } from '../../src/api/contract.js';
import {
  decideRange,
  FALLBACK_MEDIA_TYPE,
  mediaTypeOf,
  type RangeDecision,
  STREAM_MEDIA_TYPES,
} from '../../src/api/routes/stream.js';
import { AuthFailureLimiter } from '../../src/api/security.js';
import { createStreamTokens, DEFAULT_STREAM_TOKEN_SECONDS } from '../../src/api/stream-token.js';
import { ChillyError } from '../../src/domain/errors.js';
import type { Job } from '../../src/domain/job.js';
import { VIDEO_MEDIA_TYPES } from '../../src/domain/media-types.js';
import type { DownloadService } from '../../src/service/download-service.js';
import type { JobFileStream } from '../../src/service/download-service-api.js';
import { isVideoFile } from '../../src/service/job-files.js';
import { assertMatchesContract, checkedInject, contractPathOf } from '../helpers/api-contract.js';
import { type ApiTestServer, createApiTestServer, testMagnet } from '../helpers/api-test-server.js';
import { waitUntil } from '../helpers/wait.js';

type Behaviour = 'ok' | 'timeout' | 'unavailable' | 'fail-after-first' | 'stall-after-first';

interface FakeFile {
  path: string;
  bytes: Buffer;
  behaviour?: Behaviour;
}

interface ReadRecord {
  start: number;
  end: number;
  signal: AbortSignal | undefined;
  released: boolean;
}

const CHUNK = 16 * 1024;

/** Adds a job through POST /download/start, as a client would, for a made-up magnet (`testMagnet(magnetSeed)`). */
function startMagnetJob(server: ApiTestServer, id: string, magnetSeed: string) {
  return checkedInject(server.app, {
    method: 'POST',
    url: '/download/start',
    headers: server.auth,
    payload: { id, sourceType: 'torrent', sourceUrn: testMagnet(magnetSeed) },
  });
}

function bytesOf(seed: string, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let offset = 0, n = 0; offset < length; offset += 32, n++) {
    createHash('sha256').update(`${seed}:${n}`).digest().copy(out, offset);
  }
  return out;
}

/**
 * Replaces the service's `openFile` with in-memory files (the mock engine cannot stream), keeping
 * the service's own answers for unknown jobs. Records every read, and whether it was released.
 */
function fakeFiles(service: DownloadService, files: FakeFile[]): ReadRecord[] {
  const reads: ReadRecord[] = [];
  service.openFile = async (id: string, fileIndex?: number): Promise<JobFileStream> => {
    service.get(id);
    const index = fileIndex ?? 0;
    const file = files[index];
    if (file === undefined) throw new ChillyError('file_not_found', `No file #${index}.`);
    return {
      jobId: id,
      index,
      path: file.path,
      length: file.bytes.length,
      read(start, end, options = {}) {
        if (start < 0 || end < start || end >= file.bytes.length) throw new ChillyError('range_not_satisfiable');
        const record: ReadRecord = { start, end, signal: options.signal, released: false };
        reads.push(record);
        return (async function* () {
          try {
            if (file.behaviour === 'timeout') throw new ChillyError('stream_timeout');
            if (file.behaviour === 'unavailable') throw new ChillyError('stream_unavailable');
            for (let position = start; position <= end; position += CHUNK) {
              options.signal?.throwIfAborted();
              if (position > start && file.behaviour === 'fail-after-first') throw new Error('engine exploded');
              if (position > start && file.behaviour === 'stall-after-first') {
                // Like the engine waiting for a piece that never comes: only an abort ends it.
                await new Promise((_resolve, reject) => {
                  options.signal?.addEventListener('abort', () => reject(options.signal?.reason), { once: true });
                });
              }
              yield file.bytes.subarray(position, Math.min(end, position + CHUNK - 1) + 1);
            }
          } finally {
            record.released = true;
          }
        })();
      },
    };
  };
  return reads;
}

/** The contract's `head` operations are checked here: documented status and headers, no body. */
function assertHeadMatchesContract(url: string, response: { statusCode: number; headers: object; body: string }) {
  const template = contractPathOf(url);
  assert.ok(template !== undefined, `${url} is in the contract`);
  const operation = loadContract().paths[template]?.head;
  assert.ok(operation !== undefined, `HEAD ${template} is in the contract`);
  const documented = operation.responses[String(response.statusCode)];
  assert.ok(documented !== undefined, `HEAD ${url} → ${response.statusCode} is documented`);
  const spec: OpenApiResponse | undefined =
    '$ref' in documented
      ? loadContract().components.responses[documented.$ref.replace('#/components/responses/', '')]
      : documented;
  const headers = response.headers as Record<string, unknown>;
  for (const [name, definition] of Object.entries(spec?.headers ?? {})) {
    const resolved =
      definition.$ref === undefined
        ? definition
        : loadContract().components.headers[definition.$ref.replace('#/components/headers/', '')];
    if (resolved?.required === true) assert.ok(headers[name.toLowerCase()] !== undefined, `HEAD ${url}: ${name}`);
  }
  assert.equal(response.body, '', `HEAD ${url} has no body`);
}

interface RawResponse {
  statusCode: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The connection ended before Content-Length bytes arrived. */
  cut: boolean;
}

function rawGet(port: number, url: string, headers: Record<string, string>): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path: url, headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      let cut = false;
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('aborted', () => {
        cut = true;
      });
      response.on('error', () => {
        cut = true;
      });
      response.on('close', () =>
        resolve({ statusCode: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks), cut }),
      );
    });
    request.setTimeout(10_000, () => request.destroy(new Error('timed out')));
    request.on('error', reject);
  });
}

/** A request sent with its path exactly as given (no URL normalisation), checked against the contract. */
async function checkedRawGet(port: number, url: string, headers: Record<string, string>) {
  const response = await rawGet(port, url, headers);
  const body = response.body.toString('utf8');
  assertMatchesContract('GET', url, { ...response, body });
  return { ...response, body };
}

describe('byte ranges (RFC 9110 §14)', () => {
  const whole: RangeDecision = { kind: 'whole' };
  const none: RangeDecision = { kind: 'unsatisfiable' };
  const part = (start: number, end: number): RangeDecision => ({ kind: 'partial', start, end });
  const cases: Array<[string | undefined, number, RangeDecision]> = [
    [undefined, 1000, whole],
    ['bytes=0-499', 1000, part(0, 499)],
    ['bytes=500-', 1000, part(500, 999)],
    ['bytes=0-0', 1000, part(0, 0)],
    ['bytes=999-999', 1000, part(999, 999)],
    ['bytes=990-5000', 1000, part(990, 999)],
    ['bytes=-500', 1000, part(500, 999)],
    ['bytes=-1', 1000, part(999, 999)],
    ['bytes=-5000', 1000, part(0, 999)],
    ['BYTES=0-1', 1000, part(0, 1)],
    ['bytes= 7-8 ,', 1000, part(7, 8)],
    ['bytes=,,3-4', 1000, part(3, 4)],
    ['bytes=00010-00020', 1000, part(10, 20)],
    ['bytes=0-99999999999999999999999', 1000, part(0, 999)],
    // Unsatisfiable: 416.
    ['bytes=1000-', 1000, none],
    ['bytes=1000-2000', 1000, none],
    ['bytes=99999999999999999999999-', 1000, none],
    ['bytes=-0', 1000, none],
    ['bytes=0-', 0, none],
    // Invalid, unparsable, other units, several ranges: ignored, the whole file.
    ['bytes=5-1', 1000, whole],
    ['bytes=0-1,5-6', 1000, whole],
    ['bytes=0-1, 0-1', 1000, whole],
    ['bytes=', 1000, whole],
    ['bytes=,', 1000, whole],
    ['bytes=-', 1000, whole],
    ['bytes=--1', 1000, whole],
    ['bytes=1--2', 1000, whole],
    ['bytes=a-b', 1000, whole],
    ['bytes=1.5-2', 1000, whole],
    ['bytes=0x10-', 1000, whole],
    ['bytes=-1e3', 1000, whole],
    ['bytes = 0-1', 1000, whole],
    ['bytes=0 - 1', 1000, whole],
    ['items=0-1', 1000, whole],
    ['0-1', 1000, whole],
    ['', 1000, whole],
    ['garbage', 1000, whole],
    ['bytes=\u00bd-1', 1000, whole],
    [`bytes=${'1-2,'.repeat(2000)}`, 1000, whole],
    ['bytes=-5', 0, whole],
  ];
  for (const [header, length, expected] of cases) {
    it(`${JSON.stringify(header)?.slice(0, 40)} on ${length} bytes → ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(decideRange(header, length), expected);
    });
  }
});

describe('stream media types', () => {
  it('come from the extension; anything else is octet-stream, never something a browser renders', () => {
    assert.equal(mediaTypeOf('Film/Film.2024.1080p.MKV'), 'video/x-matroska');
    assert.equal(mediaTypeOf('a.mp4'), 'video/mp4');
    assert.equal(mediaTypeOf('a.webm'), 'video/webm');
    assert.equal(mediaTypeOf('subs/a.srt'), 'application/x-subrip');
    for (const other of ['index.html', 'x.svg', 'readme.nfo', 'noext', '.mkv.exe', 'a.js']) {
      assert.equal(mediaTypeOf(other), FALLBACK_MEDIA_TYPE, other);
    }
  });

  it('serve every file the movie is chosen from as video, and only those', () => {
    for (const extension of Object.keys(VIDEO_MEDIA_TYPES)) {
      assert.ok(isVideoFile(`film${extension.toUpperCase()}`), extension);
      assert.match(mediaTypeOf(`film${extension}`), /^video\//, extension);
    }
    for (const [extension, type] of Object.entries(STREAM_MEDIA_TYPES)) {
      assert.equal(isVideoFile(`film${extension}`), type.startsWith('video/'), extension);
    }
  });

  it('are exactly the ones the contract documents for 200 and 206', () => {
    const served = [...new Set([...Object.values(STREAM_MEDIA_TYPES), FALLBACK_MEDIA_TYPE])].sort();
    for (const name of ['StreamWhole', 'StreamPart']) {
      const documented = Object.keys(loadContract().components.responses[name]?.content ?? {}).sort();
      assert.deepEqual(documented, served, name);
    }
  });
});

describe('stream tokens', () => {
  let now = Date.UTC(2026, 0, 1);
  const tokens = createStreamTokens('the-api-token-0123456789', { now: () => now });
  const film = { jobId: 'film', infoHash: 'ab'.repeat(20) };

  it('open the job they were made for until they expire, and nothing else', () => {
    const { token, expiresAt } = tokens.issue(film);
    assert.equal(expiresAt, now / 1000 + DEFAULT_STREAM_TOKEN_SECONDS);
    assert.match(token, /^[0-9]+\.[A-Za-z0-9_-]{43}$/);
    assert.equal(tokens.check(token, film), 'valid');
    assert.equal(tokens.check(token, { ...film, jobId: 'film2' }), 'bad_signature');
    assert.equal(tokens.check(token, { ...film, jobId: 'Film' }), 'bad_signature');
    assert.equal(tokens.check(token, { ...film, infoHash: 'cd'.repeat(20) }), 'bad_signature', 'another torrent');
    assert.equal(tokens.check(token, { ...film, infoHash: 'AB'.repeat(20) }), 'valid', 'hex in either case');
    assert.equal(createStreamTokens('another-api-token-012345').check(token, film), 'bad_signature');
    now += DEFAULT_STREAM_TOKEN_SECONDS * 1000 - 1;
    assert.equal(tokens.check(token, film), 'valid');
    now += 1;
    assert.equal(tokens.check(token, film), 'expired');
  });

  it('refuse every altered character, a moved expiry, and malformed input', () => {
    const token = tokens.sign(film, Math.floor(now / 1000) + 60);
    for (let position = 0; position < token.length; position++) {
      const original = token[position];
      if (original === '.') continue;
      // Another character of the same alphabet, so the pattern still matches and the MAC decides.
      const replacement = original === 'A' ? 'B' : original === '1' ? '2' : /[0-9]/.test(original ?? '') ? '1' : 'A';
      const altered = `${token.slice(0, position)}${replacement}${token.slice(position + 1)}`;
      assert.notEqual(tokens.check(altered, film), 'valid', `altered at ${position}: ${altered}`);
    }
    for (const bad of ['', 'x', '1.', '.abc', `${token}=`, `${token}.1`, ` ${token}`, token.replace('.', ':')]) {
      assert.notEqual(tokens.check(bad, film), 'valid', JSON.stringify(bad));
    }
    assert.equal(tokens.check(undefined, film), 'missing');
    assert.equal(tokens.check([token, token], film), 'malformed');
    assert.equal(tokens.check(42, film), 'malformed');
    assert.throws(() => tokens.sign(film, -1), RangeError);
    assert.throws(() => tokens.issue(film, 0), RangeError);
  });

  it('are keyed by a value derived from the API token, never the token itself', () => {
    const token = tokens.sign(film, 2_000_000_000);
    assert.ok(!token.includes('the-api-token'), 'the API token does not appear in a link');
  });
});

describe('stream routes (in-memory files through the real routes)', () => {
  let server: ApiTestServer;
  let reads: ReadRecord[];
  let job: Job;
  const movie = bytesOf('movie', 200_000);
  const subtitles = Buffer.from('1\n00:00:01,000 --> 00:00:02,000\nHello\n');
  const files: FakeFile[] = [
    { path: 'Film/Film.2024.mkv', bytes: movie },
    { path: 'Film/Film.srt', bytes: subtitles },
    { path: 'Film/index.html', bytes: Buffer.from('<script>alert(1)</script>') },
    { path: 'Film/slow.mp4', bytes: movie, behaviour: 'timeout' },
    { path: 'Film/paused.mp4', bytes: movie, behaviour: 'unavailable' },
    { path: 'Film/broken.mp4', bytes: movie, behaviour: 'fail-after-first' },
    { path: 'Film/stalled.mp4', bytes: movie, behaviour: 'stall-after-first' },
    { path: 'Film/empty.mkv', bytes: Buffer.alloc(0) },
  ];
  const get = (url: string, headers: Record<string, string> = {}) =>
    checkedInject(server.app, { method: 'GET', url, headers: { ...server.auth, ...headers } });
  const head = async (url: string, headers: Record<string, string> = server.auth) => {
    const response = await server.app.inject({ method: 'HEAD', url, headers });
    assertHeadMatchesContract(url, response);
    return response;
  };
  const errorCode = (response: { body: string }) =>
    (JSON.parse(response.body) as { error: { code: string } }).error.code;
  /** A link for the job as it is now: its id and its torrent. */
  const subject = (id: string, of: ApiTestServer = server) => ({
    jobId: id,
    infoHash: of.service.get(id).infoHash ?? '',
  });
  const link = (id: string) => `t=${createStreamTokens(server.token).issue(subject(id)).token}`;

  before(async () => {
    // Many deliberate failures below; the limiter itself is tested on a server of its own.
    server = await createApiTestServer({ authLimiter: new AuthFailureLimiter({ maxFailures: 1_000 }) });
    reads = fakeFiles(server.service, files);
    const started = await startMagnetJob(server, 'film', 'stream-film');
    job = JSON.parse(started.body) as Job;
    await startMagnetJob(server, 'other', 'stream-other');
  });
  after(() => server.close());

  it('sends the whole main file with 200, its length, type, Accept-Ranges and a strong ETag', async () => {
    const response = await get('/stream/film');
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['content-type'], 'video/x-matroska');
    assert.equal(response.headers['content-length'], String(movie.length));
    assert.equal(response.headers['accept-ranges'], 'bytes');
    assert.equal(response.headers.etag, `"${job.infoHash}-0"`);
    assert.equal(response.headers['content-range'], undefined);
    assert.ok(response.rawPayload.equals(movie));
  });

  it('answers single ranges with 206 and the right bytes: a-b, a-, the last n bytes', async () => {
    const middle = movie.length / 2;
    for (const [header, start, end] of [
      [`bytes=${middle}-${middle + 65_535}`, middle, middle + 65_535],
      [`bytes=${movie.length - 10}-`, movie.length - 10, movie.length - 1],
      ['bytes=-500', movie.length - 500, movie.length - 1],
      ['bytes=0-0', 0, 0],
      [`bytes=100-${movie.length * 2}`, 100, movie.length - 1],
    ] as const) {
      const response = await get('/stream/film', { range: header });
      assert.equal(response.statusCode, 206, header);
      assert.equal(response.headers['content-range'], `bytes ${start}-${end}/${movie.length}`, header);
      assert.equal(response.headers['content-length'], String(end - start + 1), header);
      assert.ok(response.rawPayload.equals(movie.subarray(start, end + 1)), header);
    }
  });

  it('answers 416 with Content-Range: bytes */length for a range past the end', async () => {
    for (const header of [`bytes=${movie.length}-`, `bytes=${movie.length + 5}-${movie.length + 10}`, 'bytes=-0']) {
      const response = await get('/stream/film', { range: header });
      assert.equal(response.statusCode, 416, header);
      assert.equal(response.headers['content-range'], `bytes */${movie.length}`);
      assert.equal(errorCode(response), 'range_not_satisfiable');
    }
  });

  it('ignores invalid, unparsable and multiple ranges: 200 with the whole file', async () => {
    for (const header of ['bytes=5-1', 'bytes=0-1,5-6', 'bytes=abc', 'pages=1-2', 'bytes=--1', '\u00ff\u00fe']) {
      const response = await get('/stream/film', { range: header });
      assert.equal(response.statusCode, 200, header);
      assert.equal(response.headers['content-length'], String(movie.length), header);
      assert.equal(response.rawPayload.length, movie.length, header);
    }
  });

  it('keeps the range when If-Range carries the ETag, and sends the whole file otherwise', async () => {
    const etag = `"${job.infoHash}-0"`;
    assert.equal((await get('/stream/film', { range: 'bytes=0-9', 'if-range': etag })).statusCode, 206);
    for (const other of ['"something-else"', `W/${etag}`, 'Wed, 21 Oct 2015 07:28:00 GMT']) {
      assert.equal((await get('/stream/film', { range: 'bytes=0-9', 'if-range': other })).statusCode, 200, other);
    }
  });

  it('HEAD describes the whole file without a body, and ignores Range', async () => {
    for (const url of ['/stream/film', '/stream/film/files/1', `/stream/film?${link('film')}`]) {
      const response = await head(url, url.includes('?') ? {} : { ...server.auth, range: 'bytes=0-9' });
      assert.equal(response.statusCode, 200, url);
      assert.equal(response.body, '');
      assert.equal(response.headers['accept-ranges'], 'bytes');
    }
    const main = await head('/stream/film');
    assert.equal(main.headers['content-length'], String(movie.length));
    assert.equal(main.headers['content-type'], 'video/x-matroska');
    assert.equal((await head('/stream/film', {})).statusCode, 401);
    assert.equal((await head('/stream/film/files/99')).statusCode, 404);
    assert.equal((await head('/stream/film/files/3')).statusCode, 200, 'HEAD reads nothing, so it cannot time out');
  });

  it('serves any file by index, typed by its extension; unknown extensions as octet-stream', async () => {
    const srt = await get('/stream/film/files/1');
    assert.equal(srt.statusCode, 200);
    assert.equal(srt.headers['content-type'], 'application/x-subrip');
    assert.equal(srt.headers.etag, `"${job.infoHash}-1"`);
    assert.equal(srt.body, subtitles.toString());
    const html = await get('/stream/film/files/2');
    assert.equal(html.headers['content-type'], 'application/octet-stream');
    assert.equal(html.headers['x-content-type-options'], 'nosniff');
    const empty = await get('/stream/film/files/7');
    assert.equal(empty.statusCode, 200);
    assert.equal(empty.headers['content-length'], '0');
    assert.equal((await get('/stream/film/files/7', { range: 'bytes=0-' })).statusCode, 416);
  });

  it('accepts a signed link or the bearer token, and nothing else', async () => {
    const tokens = createStreamTokens(server.token);
    const valid = tokens.issue(subject('film')).token;
    const ok = await checkedInject(server.app, {
      method: 'GET',
      url: `/stream/film?t=${valid}`,
      headers: { range: 'bytes=0-9' },
    });
    assert.equal(ok.statusCode, 206);
    const other = await checkedInject(server.app, { method: 'GET', url: `/stream/film/files/1?t=${valid}` });
    assert.equal(other.statusCode, 200, 'one link opens every file of its job');

    const expired = tokens.sign(subject('film'), Math.floor(Date.now() / 1000) - 1);
    const tampered = `${valid.slice(0, -3)}${valid.endsWith('AAA') ? 'BBB' : 'AAA'}`;
    const forOtherJob = tokens.issue({ ...subject('film'), jobId: 'other' }).token;
    const foreign = createStreamTokens('some-other-api-token-value').issue(subject('film')).token;
    for (const [what, url, headers] of [
      ['no token', '/stream/film', {}],
      ['expired', `/stream/film?t=${expired}`, {}],
      ['another job', `/stream/film?t=${forOtherJob}`, {}],
      ['tampered', `/stream/film?t=${tampered}`, {}],
      ['another server', `/stream/film?t=${foreign}`, {}],
      ['malformed', '/stream/film?t=garbage', {}],
      ['twice', `/stream/film?t=${valid}&t=${valid}`, {}],
      ['wrong bearer', '/stream/film', { authorization: 'Bearer wrong-token-wrong-token' }],
      ['the API token as a link', `/stream/film?t=${server.token}`, {}],
    ] as const) {
      const response = await checkedInject(server.app, { method: 'GET', url, headers });
      assert.equal(response.statusCode, 401, what);
      assert.equal(response.headers['www-authenticate'], 'Bearer', what);
      assert.equal(errorCode(response), 'unauthorized', what);
      if (what === 'expired') assert.match(response.body, /expired/);
    }
    // A link is for the stream routes only.
    const status = await checkedInject(server.app, { method: 'GET', url: `/download/status/film?t=${valid}` });
    assert.equal(status.statusCode, 401);
    const url = await checkedInject(server.app, { method: 'GET', url: `/download/stream-url/film?t=${valid}` });
    assert.equal(url.statusCode, 401);
  });

  it('counts wrong links as failed logins: 429 after five in a minute, while a valid link still opens', async () => {
    const own = await createApiTestServer();
    try {
      fakeFiles(own.service, files);
      await own.service.add({ id: 'film', sourceType: 'torrent', sourceUrn: testMagnet('limited-film') });
      for (let attempt = 0; attempt < 5; attempt++) {
        const wrong = await checkedInject(own.app, { method: 'GET', url: '/stream/film?t=1.wrong' });
        assert.equal(wrong.statusCode, 401);
      }
      const limited = await checkedInject(own.app, { method: 'GET', url: '/stream/film?t=1.wrong' });
      assert.equal(limited.statusCode, 429);
      assert.match(String(limited.headers['retry-after']), /^[0-9]+$/);
      const bearerElsewhere = await checkedInject(own.app, { method: 'GET', url: '/downloads?t=1', headers: {} });
      assert.equal(bearerElsewhere.statusCode, 429, 'one limiter for links and bearer tokens');
      const valid = createStreamTokens(own.token).issue(subject('film', own)).token;
      const opened = await checkedInject(own.app, {
        method: 'GET',
        url: `/stream/film?t=${valid}`,
        headers: { range: 'bytes=0-1' },
      });
      assert.equal(opened.statusCode, 206, 'a valid link always gets in');
    } finally {
      await own.close();
    }
  });

  it('gives out links with GET /download/stream-url/{id} (bearer only) that a player can open as they are', async () => {
    const before = Date.now();
    const response = await get('/download/stream-url/film', { host: 'localhost:3000' });
    assert.equal(response.statusCode, 200);
    assert.equal(response.statusCode, 200, response.body);
    const body = JSON.parse(response.body) as { url: string; expiresAt: string; fileIndex: number | null };
    assert.equal(body.fileIndex, 0);
    const url = new URL(body.url);
    assert.equal(url.origin, 'http://localhost:3000', 'the host the client used');
    assert.equal(url.pathname, '/stream/film');
    const expires = Date.parse(body.expiresAt);
    assert.ok(Math.abs(expires - (before + DEFAULT_STREAM_TOKEN_SECONDS * 1000)) < 5_000, body.expiresAt);
    const played = await checkedInject(server.app, {
      method: 'GET',
      url: `${url.pathname}${url.search}`,
      headers: { range: 'bytes=-10' },
    });
    assert.equal(played.statusCode, 206);
    assert.ok(played.rawPayload.equals(movie.subarray(-10)));

    const chosen = await get('/download/stream-url/film?fileIndex=0');
    assert.equal(chosen.statusCode, 200, chosen.body);
    assert.equal(new URL((JSON.parse(chosen.body) as { url: string }).url).pathname, '/stream/film/files/0');
    assert.equal((await get('/download/stream-url/film?fileIndex=5')).statusCode, 404, 'the mock job has one file');
    assert.equal((await get('/download/stream-url/film?fileIndex=-1')).statusCode, 400);
    assert.equal((await get('/download/stream-url/film?other=1')).statusCode, 400);
    assert.equal((await get('/download/stream-url/nope')).statusCode, 404);
    const anonymous = await checkedInject(server.app, { method: 'GET', url: '/download/stream-url/film' });
    assert.equal(anonymous.statusCode, 401);
  });

  it('answers a failure before the first byte with the usual JSON error', async () => {
    const slow = await get('/stream/film/files/3');
    assert.equal(slow.statusCode, 504);
    assert.equal(errorCode(slow), 'stream_timeout');
    const paused = await get('/stream/film/files/4', { range: 'bytes=0-1' });
    assert.equal(paused.statusCode, 409);
    assert.equal(errorCode(paused), 'stream_unavailable');
  });

  it('serves several readers of one file at once', async () => {
    const ranges = [
      [0, 70_000],
      [100_000, 199_999],
      [50_000, 150_000],
      [199_000, 199_999],
    ] as const;
    const responses = await Promise.all(ranges.map(([a, b]) => get('/stream/film', { range: `bytes=${a}-${b}` })));
    responses.forEach((response, n) => {
      const [a, b] = ranges[n] ?? [0, 0];
      assert.equal(response.statusCode, 206);
      assert.ok(response.rawPayload.equals(movie.subarray(a, b + 1)), `reader ${n}`);
    });
  });

  describe('over a real socket', () => {
    let port: number;
    before(async () => {
      port = await server.listen();
    });

    it('refuses path-like and malformed ids and indexes with 400, unknown ones with 404', async () => {
      for (const url of [
        '/stream/',
        '/stream/film/files/',
        '/stream/%2e%2e',
        '/stream/..',
        '/stream/.hidden',
        '/stream/..%2f..%2fetc%2fpasswd',
        '/stream/film%2f..%2f..',
        '/stream/film%00',
        '/stream/%00',
        `/stream/${'a'.repeat(99)}%0a`,
        '/stream/film/files/..',
        '/stream/film/files/%2e%2e',
        '/stream/film/files/-1',
        '/stream/film/files/1.5',
        '/stream/film/files/01',
        '/stream/film/files/1e3',
        '/stream/film/files/0x1',
        '/stream/film/files/%201',
        '/stream/film/files/1%00',
        '/stream/film/files/9999999',
        '/stream/film/files/abc',
      ]) {
        const response = await checkedRawGet(port, url, server.auth);
        assert.equal(response.statusCode, 400, url);
        assert.equal(errorCode(response), 'validation_failed', url);
      }
      const noFile = await checkedRawGet(port, '/stream/film/files/99', server.auth);
      assert.equal(noFile.statusCode, 404);
      assert.equal(errorCode(noFile), 'file_not_found');
      const noJob = await checkedRawGet(port, '/stream/nope', server.auth);
      assert.equal(noJob.statusCode, 404);
      assert.equal(errorCode(noJob), 'job_not_found');
      // The router sees these as other paths: no route, never a file.
      for (const url of ['/stream/film/files/0/..', '/stream/film/../../etc/passwd', '/stream/film/x/0']) {
        assert.equal((await checkedRawGet(port, url, server.auth)).statusCode, 404, url);
      }
    });

    it('cuts the connection when the read fails after the headers were sent', async () => {
      const response = await rawGet(port, '/stream/film/files/5', server.auth);
      assert.equal(response.statusCode, 200);
      assert.ok(response.cut, 'the body ended early, so the player knows');
      assert.ok(response.body.length < movie.length);
      const read = reads.at(-1);
      await waitUntil(() => read?.released === true, { timeoutMs: 5_000, what: 'the reader to be released' });
    });

    it('aborts the read when the player goes away, and releases it', async () => {
      const before = reads.length;
      const gotHeaders = new Promise<http.IncomingMessage>((resolve, reject) => {
        const request = http.get(
          { host: '127.0.0.1', port, path: '/stream/film/files/6', headers: server.auth, agent: false },
          resolve,
        );
        request.on('error', () => undefined);
        request.setTimeout(5_000, () => reject(new Error('no headers')));
      });
      const response = await gotHeaders;
      assert.equal(response.statusCode, 200);
      await new Promise((resolve) => response.once('data', resolve));
      const read = reads[before];
      assert.ok(read !== undefined);
      assert.equal(read.signal?.aborted, false, 'still waiting for data');
      response.destroy();
      await waitUntil(() => read.signal?.aborted === true && read.released, {
        timeoutMs: 5_000,
        what: 'the read to be aborted and released',
      });
    });

    it('ends open streams when the server closes', async () => {
      const own = await createApiTestServer();
      const ownReads = fakeFiles(own.service, files);
      try {
        await startMagnetJob(own, 'film', 'close-film');
        const ownPort = await own.listen();
        const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
          const request = http.get(
            { host: '127.0.0.1', port: ownPort, path: '/stream/film/files/6', headers: own.auth, agent: false },
            resolve,
          );
          request.on('error', reject);
        });
        response.on('error', () => undefined);
        response.resume();
        const started = Date.now();
        await own.close();
        assert.ok(Date.now() - started < 5_000, 'close did not wait for the player');
        await waitUntil(() => ownReads[0]?.released === true, { timeoutMs: 5_000, what: 'release' });
      } finally {
        await own.close();
      }
    });
  });
});

describe('POST /download/files', () => {
  let server: ApiTestServer;
  const post = (payload: unknown) =>
    checkedInject(server.app, {
      method: 'POST',
      url: '/download/files',
      headers: server.auth,
      payload: payload as object,
    });
  const errorCode = (response: { body: string }) =>
    (JSON.parse(response.body) as { error: { code: string } }).error.code;

  before(async () => {
    server = await createApiTestServer();
    await startMagnetJob(server, 'box', 'files-box');
  });
  after(() => server.close());

  it('chooses files and piece order, and answers with the job', async () => {
    const chosen = await post({ id: 'box', selectedFiles: [0] });
    assert.equal(chosen.statusCode, 200);
    assert.deepEqual((JSON.parse(chosen.body) as Job).selectedFiles, [0]);
    const order = await post({ id: 'box', sequential: false });
    assert.equal(order.statusCode, 200);
    const job = JSON.parse(order.body) as Job;
    assert.equal(job.sequential, false);
    assert.deepEqual(job.selectedFiles, [0], 'a field left out keeps its value');
    const all = await post({ id: 'box', selectedFiles: null, sequential: true });
    assert.equal(all.statusCode, 200);
    assert.equal((JSON.parse(all.body) as Job).selectedFiles, undefined);
    assert.equal(
      (
        JSON.parse(
          (await checkedInject(server.app, { method: 'GET', url: '/download/status/box', headers: server.auth })).body,
        ) as Job
      ).sequential,
      true,
    );
  });

  it('rejects bad bodies like every other route, and unknown jobs with 404', async () => {
    for (const payload of [
      { id: 'box' },
      { id: 'box', selectedFiles: [] },
      { id: 'box', selectedFiles: [-1] },
      { id: 'box', selectedFiles: ['0'] },
      { id: 'box', selectedFiles: [0.5] },
      { id: 'box', selectedFiles: 0 },
      { id: 'box', sequential: 'yes' },
      { id: 'box', selectedFiles: [0], extra: true },
      { id: '../box', selectedFiles: [0] },
      { selectedFiles: [0] },
    ]) {
      const response = await post(payload);
      assert.equal(response.statusCode, 400, JSON.stringify(payload));
      assert.equal(errorCode(response), 'validation_failed', JSON.stringify(payload));
    }
    const outOfRange = await post({ id: 'box', selectedFiles: [3] });
    assert.equal(outOfRange.statusCode, 400, 'the mock job has one file');
    const unknown = await post({ id: 'nope', selectedFiles: [0] });
    assert.equal(unknown.statusCode, 404);
    assert.equal(errorCode(unknown), 'job_not_found');
    const anonymous = await checkedInject(server.app, {
      method: 'POST',
      url: '/download/files',
      payload: { id: 'box', selectedFiles: [0] },
    });
    assert.equal(anonymous.statusCode, 401);
  });
});

it('the response checker knows the stream operations', () => {
  const ok = {
    statusCode: 206,
    headers: {
      'content-type': 'video/mp4',
      'accept-ranges': 'bytes',
      'content-length': '2',
      'content-range': 'bytes 0-1/9',
    },
    body: 'ab',
  };
  assert.doesNotThrow(() => assertMatchesContract('GET', '/stream/x', ok));
  assert.throws(() =>
    assertMatchesContract('GET', '/stream/x', { ...ok, headers: { ...ok.headers, 'content-range': 'bytes 0-1' } }),
  );
  assert.throws(() =>
    assertMatchesContract('GET', '/stream/x', { ...ok, headers: { ...ok.headers, 'content-type': 'text/html' } }),
  );
});
