/**
 * Watch while it downloads, end to end: a real video seeded on a loopback swarm by a rate-limited
 * seeder, the real engine, service and HTTP server on 127.0.0.1, and ffprobe as the player.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { createServer } from '../../src/api/create-server.js';
import { createStreamTokens } from '../../src/api/stream-token.js';
import { loadConfig } from '../../src/config/resolve-config.js';
import type { Job } from '../../src/domain/job.js';
import { WebTorrentDownloader } from '../../src/downloaders/webtorrent/webtorrent-downloader.js';
import { DownloadService } from '../../src/service/download-service.js';
import { openDatabase } from '../../src/storage/database.js';
import { assertMatchesContract } from '../helpers/api-contract.js';
import { createLoopbackSwarm, type LoopbackSwarm, readBytes, sha256File } from '../helpers/loopback-swarm.js';
import {
  ffmpegUnavailableReason,
  killMediaTools,
  makeTestVideo,
  probeDuration,
  type SeededSwarm,
  seedFiles,
} from '../helpers/video-fixture.js';
import { tempDir, waitUntil } from '../helpers/wait.js';

const KiB = 1024;
const MiB = 1024 * KiB;

interface StreamingServer {
  app: FastifyInstance;
  service: DownloadService;
  downloader: WebTorrentDownloader;
  token: string;
  base: string;
  auth: Record<string, string>;
  close(): Promise<void>;
}

/** What `npm start` wires (engine → service → API), on 127.0.0.1:0 with the loopback network. */
async function startStreamingServer(options: { streamWaitMs?: number } = {}): Promise<StreamingServer> {
  const work = await tempDir('chilly-stream-api-');
  const config = loadConfig({ CHILLY_DATA_DIR: work.dir, CHILLY_NETWORK: 'loopback' }, { host: '127.0.0.1', port: 0 });
  const downloader = new WebTorrentDownloader({ mediaRoot: config.mediaRoot, network: 'loopback' });
  const service = await DownloadService.open({ database: openDatabase(':memory:'), downloader });
  const token = randomBytes(32).toString('base64url');
  const app = createServer({
    service,
    config,
    token,
    logger: false,
    ...(options.streamWaitMs === undefined ? {} : { limits: { streamWaitMs: options.streamWaitMs } }),
  });
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      await app.close();
      await service.close();
      await work.cleanup();
    })();
    return closed;
  };
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
  } catch (error) {
    await close();
    throw error;
  }
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening');
  return {
    app,
    service,
    downloader,
    token,
    base: `http://127.0.0.1:${address.port}`,
    auth: { authorization: `Bearer ${token}` },
    close,
  };
}

interface Received {
  statusCode: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/**
 * One request to the server, bounded in time. With `headersOnly` the connection is dropped as soon
 * as the headers are in (a player that only wanted to know). Every answer is checked against the
 * contract (HEAD answers: status and headers only).
 */
function request(
  url: string,
  options: { method?: string; headers?: Record<string, string>; headersOnly?: boolean; timeoutMs?: number } = {},
): Promise<Received> {
  const { method = 'GET', headers = {}, headersOnly = false, timeoutMs = 30_000 } = options;
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method,
        headers,
        agent: false,
      },
      (res) => {
        const done = (body: Buffer) => {
          const received = { statusCode: res.statusCode ?? 0, headers: res.headers, body };
          if (method === 'GET' && !(headersOnly && res.statusCode !== undefined && res.statusCode < 300)) {
            assertMatchesContract(method, `${target.pathname}${target.search}`, { ...received, body: body.toString() });
          }
          resolve(received);
        };
        if (headersOnly) {
          res.on('error', () => undefined);
          req.destroy();
          done(Buffer.alloc(0));
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => done(Buffer.concat(chunks)));
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${url} timed out after ${timeoutMs} ms`)));
    req.on('error', (error) => {
      if (!headersOnly) reject(error);
    });
    req.end();
  });
}

async function streamUrl(server: StreamingServer, id: string, fileIndex?: number): Promise<string> {
  const query = fileIndex === undefined ? '' : `?fileIndex=${fileIndex}`;
  const response = await request(`${server.base}/download/stream-url/${id}${query}`, { headers: server.auth });
  assert.equal(response.statusCode, 200, response.body.toString());
  return (JSON.parse(response.body.toString()) as { url: string }).url;
}

async function addMagnet(server: StreamingServer, id: string, magnet: string): Promise<Job> {
  const response = await server.service.add({ id, sourceType: 'torrent', sourceUrn: magnet });
  return response.job;
}

/** The job's torrent inside the engine, to count the listeners readers put on it. */
function engineTorrent(downloader: WebTorrentDownloader, infoHash: string) {
  const client = (
    downloader as unknown as {
      client: { torrents: Array<{ infoHash: string; listenerCount(event: string): number } & Record<string, unknown>> };
    }
  ).client;
  const torrent = client.torrents.find((candidate) => candidate.infoHash === infoHash);
  assert.ok(torrent !== undefined, 'the job has a torrent in the engine');
  return torrent;
}

function readerListeners(torrent: { listenerCount(event: string): number }): number {
  return torrent.listenerCount('verified') + torrent.listenerCount('close');
}

/** Read-only descriptors this process holds on `file` (the stream readers'; the engine writes r/w). */
function readOnlyHandles(file: string): number {
  let count = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) !== file) continue;
      const flags = /flags:\s+([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
      if (flags !== undefined && (Number.parseInt(flags, 8) & 3) === 0) count++;
    } catch {
      // Closed between listing and reading: not held.
    }
  }
  return count;
}

const ffmpegMissing = ffmpegUnavailableReason();

describe('a player watches a real video while it downloads', { skip: ffmpegMissing ?? false }, () => {
  let work: { dir: string; cleanup: () => Promise<void> };
  let swarm: SeededSwarm;
  let server: StreamingServer;
  let job: Job;
  let url: string;
  let film: { index: number; source: string; length: number };
  let sample: { index: number; source: string };

  before(async () => {
    work = await tempDir('chilly-video-');
    const mkv = path.join(work.dir, 'Film.mkv');
    const mp4 = path.join(work.dir, 'Film.sample.mp4');
    const srt = path.join(work.dir, 'Film.srt');
    await makeTestVideo({ file: mkv, seconds: 20, size: '640x360', videoKbps: 2_500 });
    await makeTestVideo({ file: mp4, seconds: 4, size: '320x240', videoKbps: 600 });
    await writeFile(srt, '1\n00:00:01,000 --> 00:00:03,000\nA test pattern.\n');
    // ~7 MB at 1 MiB/s: the data under the playhead is fetched on demand, long before the rest.
    swarm = await seedFiles({
      name: 'Film',
      files: [
        { path: 'Film.mkv', source: mkv },
        { path: 'Film.sample.mp4', source: mp4 },
        { path: 'Film.srt', source: srt },
      ],
      pieceLength: 64 * KiB,
      uploadLimit: 1 * MiB,
    });
    server = await startStreamingServer();
    job = await addMagnet(server, 'film', swarm.magnetURI);
    url = await streamUrl(server, 'film');
    await waitUntil(() => server.service.get('film').files !== undefined, { timeoutMs: 30_000, what: 'metadata' });
    const files = server.service.get('film').files ?? [];
    const at = (name: string) => {
      const index = files.findIndex((file) => file.path.endsWith(name));
      const seeded = swarm.files.find((file) => file.path.endsWith(name));
      assert.ok(index >= 0 && seeded !== undefined, name);
      return { index, source: seeded.source, length: seeded.length };
    };
    film = at('Film.mkv');
    sample = at('Film.sample.mp4');
  });
  after(async () => {
    killMediaTools();
    await server?.close();
    await swarm?.close();
    await work?.cleanup();
  });

  it('ffprobe reads the right duration from the stream URL before the download is done', async () => {
    assert.ok(server.service.get('film').progress.fraction < 1, 'the download is still under way');
    assert.equal(new URL(url).pathname, '/stream/film', 'the main video file, no index needed');
    const expected = await probeDuration(film.source);
    const started = Date.now();
    const duration = await probeDuration(url, { timeoutMs: 60_000 });
    assert.ok(Math.abs(duration - expected) < 0.05, `ffprobe says ${duration} s, the file has ${expected} s`);
    assert.ok(Math.abs(duration - 20) < 0.5, `a 20 s clip, not ${duration} s`);
    const other = await probeDuration(await streamUrl(server, 'film', sample.index), { timeoutMs: 60_000 });
    assert.ok(Math.abs(other - 4) < 0.2, `the 4 s sample by its index, not ${other} s`);
    assert.ok(Date.now() - started < 60_000);
  });

  it('a read at 50 % returns the right bytes, and several readers at once each get theirs', async () => {
    const middle = Math.floor(film.length / 2);
    const ranges = [
      [middle, middle + 64 * KiB - 1],
      [Math.floor(film.length * 0.8), Math.floor(film.length * 0.8) + 300 * KiB],
      [0, 100 * KiB],
      [film.length - 500, film.length - 1],
    ] as const;
    const responses = await Promise.all(
      ranges.map(([start, end]) => request(url, { headers: { range: `bytes=${start}-${end}` } })),
    );
    for (const [n, response] of responses.entries()) {
      const [start, end] = ranges[n] ?? [0, 0];
      assert.equal(response.statusCode, 206);
      assert.equal(response.headers['content-range'], `bytes ${start}-${end}/${film.length}`);
      assert.equal(response.headers['content-type'], 'video/x-matroska');
      const expected = await readBytes(film.source, start, end - start + 1);
      assert.ok(response.body.equals(expected), `reader ${n} (bytes ${start}-${end}) got the seeded bytes`);
    }
  });

  it('handles range edge cases per RFC 9110 on the real server', async () => {
    const suffix = await request(url, { headers: { range: 'bytes=-500' } });
    assert.equal(suffix.statusCode, 206);
    assert.ok(suffix.body.equals(await readBytes(film.source, film.length - 500, 500)));

    const pastEnd = await request(url, { headers: { range: `bytes=${film.length}-` } });
    assert.equal(pastEnd.statusCode, 416);
    assert.equal(pastEnd.headers['content-range'], `bytes */${film.length}`);

    for (const ignored of ['bytes=5-1', 'bytes=0-1,100-200', 'bytes=garbage', 'lines=1-2']) {
      const response = await request(url, { headers: { range: ignored }, headersOnly: true });
      assert.equal(response.statusCode, 200, ignored);
      assert.equal(response.headers['content-length'], String(film.length), ignored);
      assert.equal(response.headers['accept-ranges'], 'bytes');
    }

    const head = await request(url, { method: 'HEAD' });
    assert.equal(head.statusCode, 200);
    assert.equal(head.headers['content-length'], String(film.length));
    assert.equal(head.headers['content-type'], 'video/x-matroska');
    assert.equal(head.headers.etag, `"${swarm.infoHash}-${film.index}"`);
    assert.equal(head.body.length, 0);
  });

  it('opens with the signed link or the bearer token only', async () => {
    const plain = new URL(url);
    plain.search = '';
    const tokens = createStreamTokens(server.token);
    const subject = { jobId: 'film', infoHash: swarm.infoHash };
    const valid = new URL(url).searchParams.get('t') ?? '';
    const tampered = `${valid.slice(0, -2)}${valid.endsWith('AA') ? 'BB' : 'AA'}`;
    for (const [what, target] of [
      ['missing', plain.href],
      ['expired', `${plain.href}?t=${tokens.sign(subject, Math.floor(Date.now() / 1000) - 60)}`],
      ['another job', `${plain.href}?t=${tokens.issue({ ...subject, jobId: 'another-film' }).token}`],
      ['another torrent', `${plain.href}?t=${tokens.issue({ ...subject, infoHash: '0'.repeat(40) }).token}`],
      ['tampered', `${plain.href}?t=${tampered}`],
    ] as const) {
      const response = await request(target, { headers: { range: 'bytes=0-15' } });
      assert.equal(response.statusCode, 401, what);
    }
    const bearer = await request(plain.href, { headers: { range: 'bytes=0-15', ...server.auth } });
    assert.equal(bearer.statusCode, 206);
    assert.ok(bearer.body.equals(await readBytes(film.source, 0, 16)));
  });

  it('the whole file streams to the end and matches the seeded one', async () => {
    const whole = await request(url, { timeoutMs: 60_000 });
    assert.equal(whole.statusCode, 200);
    assert.equal(whole.body.length, film.length);
    assert.ok(whole.body.equals(readFileSync(film.source)));
    assert.equal(job.id, 'film');
  });
});

describe('a player that goes away, or data that does not come, leaves nothing behind', () => {
  let swarm: LoopbackSwarm;
  let server: StreamingServer;
  const pieceLength = 256 * KiB;
  const size = 16 * MiB;

  before(async () => {
    swarm = await createLoopbackSwarm({
      name: 'Leak.mkv',
      files: [{ path: 'Leak.mkv', size }],
      pieceLength,
      uploadLimit: 2 * MiB,
    });
    server = await startStreamingServer({ streamWaitMs: 1_500 });
  });
  after(async () => {
    await server?.close();
    await swarm?.close();
  });

  it('releases listeners and file handles on disconnect and on timeout; a paused job answers 409', async () => {
    await addMagnet(server, 'leak', swarm.magnetURI);
    const url = await streamUrl(server, 'leak');
    const first = await request(url, { headers: { range: `bytes=0-${pieceLength - 1}` } });
    assert.equal(first.statusCode, 206);
    const source = path.join(swarm.dataDir, 'Leak.mkv');
    assert.ok(first.body.equals(await readBytes(source, 0, pieceLength)));
    // From here on, what is missing stays missing.
    await swarm.stopSeeder();

    const torrent = engineTorrent(server.downloader, swarm.infoHash);
    const bitfield = torrent.bitfield as { get(index: number): boolean };
    const pieces = size / pieceLength;
    let missing = 1;
    while (missing < pieces && bitfield.get(missing)) missing++;
    assert.ok(missing < pieces, 'part of the file is still missing (the seeder is rate-limited)');
    const job = server.service.get('leak');
    const onDisk = path.join(job.savePath ?? '', job.files?.[0]?.path ?? '');
    const baseListeners = readerListeners(torrent);
    const baseHandles = readOnlyHandles(onDisk);

    // A player reads the piece before the gap, then waits for the gap, then goes away.
    const start = (missing - 1) * pieceLength;
    const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const target = new URL(url);
      const req = http.get(
        {
          host: target.hostname,
          port: target.port,
          path: `${target.pathname}${target.search}`,
          headers: { range: `bytes=${start}-` },
          agent: false,
        },
        resolve,
      );
      req.on('error', () => undefined);
      req.setTimeout(10_000, () => reject(new Error('no headers')));
    });
    assert.equal(response.statusCode, 206);
    await new Promise((resolve) => response.once('data', resolve));
    await waitUntil(() => readerListeners(torrent) > baseListeners, { timeoutMs: 5_000, what: 'the reader to wait' });
    assert.ok(readOnlyHandles(onDisk) > baseHandles, 'the reader holds the file open while it waits');
    response.destroy();
    await waitUntil(() => readerListeners(torrent) === baseListeners && readOnlyHandles(onDisk) === baseHandles, {
      timeoutMs: 5_000,
      what: 'the listeners and the file handle to be released after the disconnect',
    });

    // Data that does not come within the wait allowed: 504 before any byte, and nothing left over.
    const gap = missing * pieceLength;
    const timedOut = await request(url, { headers: { range: `bytes=${gap}-${gap + 99}` } });
    assert.equal(timedOut.statusCode, 504);
    assert.equal((JSON.parse(timedOut.body.toString()) as { error: { code: string } }).error.code, 'stream_timeout');
    assert.equal(readerListeners(torrent), baseListeners);
    assert.equal(readOnlyHandles(onDisk), baseHandles);

    await server.service.pause('leak');
    const paused = await request(url, { headers: { range: `bytes=${gap}-${gap + 99}` } });
    assert.equal(paused.statusCode, 409);
    assert.equal((JSON.parse(paused.body.toString()) as { error: { code: string } }).error.code, 'stream_unavailable');
  });
});

/** A POST with a body, bounded in time, checked against the contract. */
function post(url: string, headers: Record<string, string>, body: Buffer | string): Promise<Received> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const req = http.request(url, { method: 'POST', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const received = { statusCode: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) };
        assertMatchesContract('POST', `${target.pathname}${target.search}`, {
          ...received,
          body: received.body.toString(),
        });
        resolve(received);
      });
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`POST ${url} timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Adds a three-file torrent (by upload, so its files are known at once) while no peer has it,
 * chooses the small one through the API, then lets the seeder in and checks what it sent.
 */
async function downloadOneFileOfThree(options: { chooseWhile: 'checking' | 'downloading' }): Promise<void> {
  const swarm = await createLoopbackSwarm({
    name: 'Box',
    files: [
      { path: 'Feature.mkv', size: 8 * MiB },
      { path: 'Short.mkv', size: 1 * MiB + 1234 },
      { path: 'Trailer.mkv', size: 4 * MiB },
    ],
    pieceLength: 64 * KiB,
    seeder: false,
  });
  const server = await startStreamingServer();
  try {
    const torrentHeaders = { ...server.auth, 'content-type': 'application/x-bittorrent' };
    const uploaded = await post(`${server.base}/download/upload?id=box`, torrentHeaders, swarm.torrentFile);
    assert.equal(uploaded.statusCode, 201, uploaded.body.toString());
    const files = (JSON.parse(uploaded.body.toString()) as Job).files ?? [];
    const short = files.findIndex((file) => file.path.endsWith('Short.mkv'));
    const shortFile = files[short];
    assert.ok(shortFile !== undefined);
    if (options.chooseWhile === 'downloading') {
      await waitUntil(() => server.service.get('box').status === 'downloading', { timeoutMs: 10_000, what: 'check' });
    }
    const jsonHeaders = { ...server.auth, 'content-type': 'application/json' };
    const chosen = await post(
      `${server.base}/download/files`,
      jsonHeaders,
      JSON.stringify({ id: 'box', selectedFiles: [short] }),
    );
    assert.equal(chosen.statusCode, 200, chosen.body.toString());
    assert.deepEqual((JSON.parse(chosen.body.toString()) as Job).selectedFiles, [short]);

    await swarm.startSeeder();
    await waitUntil(() => server.service.get('box').status === 'completed', {
      timeoutMs: 60_000,
      what: 'the selected file to download',
    });
    const job = server.service.get('box');
    const shortSize = 1 * MiB + 1234;
    assert.equal(job.progress.bytesTotal, shortSize, 'sizes count the selected file only');
    const sent = swarm.seederTorrent?.uploaded ?? Number.POSITIVE_INFINITY;
    assert.ok(sent < shortSize + 512 * KiB, `the seeder sent ${sent} bytes for a ${shortSize}-byte selection`);
    const folder = job.savePath ?? '';
    const seeded = swarm.files.find((file) => file.path.endsWith('Short.mkv'));
    assert.equal(await sha256File(path.join(folder, shortFile.path)), seeded?.sha256);
    for (const [index, file] of files.entries()) {
      if (index === short) continue;
      const onDisk = path.join(folder, file.path);
      assert.ok(!existsSync(onDisk) || statSync(onDisk).blocks * 512 < 256 * KiB, `${file.path} was not downloaded`);
    }

    const whole = await request(await streamUrl(server, 'box', short));
    assert.equal(whole.statusCode, 200);
    assert.ok(whole.body.equals(readFileSync(path.join(folder, shortFile.path))));
    const unselected = await request(await streamUrl(server, 'box', short === 0 ? 1 : 0), {
      headers: { range: 'bytes=0-9' },
    });
    assert.equal(unselected.statusCode, 409, 'a file left out of a finished job cannot be streamed');
  } finally {
    await server.close();
    await swarm.close();
  }
}

describe('file selection through the API', () => {
  it('downloads only the chosen file, which then streams from disk', () =>
    downloadOneFileOfThree({ chooseWhile: 'downloading' }));

  // WebTorrent's check of the data on disk re-selects every missing piece of a torrent added
  // without `deselect`; a choice made during that check is lost until the engine applies the
  // selection again on 'ready' (see the note on issue 6). Runs, but does not fail the suite.
  it('downloads only the chosen file when it is chosen while the engine still checks the data', () =>
    downloadOneFileOfThree({ chooseWhile: 'checking' }));
});

if (ffmpegMissing !== null) {
  it(`SKIPPED real-video streaming tests: ${ffmpegMissing}`, { skip: ffmpegMissing }, () => undefined);
}
