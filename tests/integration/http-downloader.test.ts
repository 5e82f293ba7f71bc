import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { inspect } from 'node:util';
import type { ChillyError } from '../../src/domain/errors.js';
import type { Job } from '../../src/domain/job.js';
import type { StartOptions } from '../../src/downloaders/downloader.js';
import { HttpDownloader, type HttpDownloaderOptions } from '../../src/downloaders/http/http-downloader.js';
import { STATE_FILE } from '../../src/downloaders/http/http-state-file.js';
import { type HttpFileServer, type ServedFile, seededBytes, startHttpFileServer } from '../helpers/http-file-server.js';
import { freeLoopbackPort } from '../helpers/ports.js';
import { sleep, tempDir, waitForEvent, waitUntil } from '../helpers/wait.js';

const MiB = 1024 * 1024;

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

async function assertSameFile(file: string, expected: Buffer): Promise<void> {
  const actual = await readFile(file);
  assert.equal(actual.length, expected.length, `size of ${path.basename(file)}`);
  assert.equal(sha256(actual), sha256(expected), `content of ${path.basename(file)}`);
}

/** Starts a job and resolves once it completes, rejects on its error; no listener or timer is left behind. */
async function download(downloader: HttpDownloader, id: string, url: string): Promise<Job> {
  const done = new Promise<Job>((resolve, reject) => {
    const onCompleted = (job: Job) => job.id === id && settle(() => resolve(job));
    const onError = (error: ChillyError, job: Job) => job.id === id && settle(() => reject(error));
    const timer = setTimeout(() => settle(() => reject(new Error(`${id} did not finish within 60 s`))), 60_000);
    const settle = (outcome: () => void) => {
      clearTimeout(timer);
      downloader.off('completed', onCompleted).off('error', onError);
      outcome();
    };
    downloader.on('completed', onCompleted).on('error', onError);
  });
  await downloader.start({ id, sourceType: 'http', sourceUrn: url });
  return done;
}

function rangesAsked(server: HttpFileServer): Array<string | undefined> {
  return server.requests.map((request) => request.headers.range);
}

describe('HttpDownloader against a loopback HTTP server', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let server: HttpFileServer;
  let count = 0;
  const drivers: HttpDownloader[] = [];
  /** A fresh driver in a fresh media root; destroyed after the suite. */
  const newDriver = (options: HttpDownloaderOptions = {}, mediaRoot = path.join(work.dir, `media-${++count}`)) => {
    const driver = new HttpDownloader({ mediaRoot, minRetryDelayMs: 50, maxRetryDelayMs: 5_000, ...options });
    drivers.push(driver);
    return driver;
  };

  before(async () => {
    work = await tempDir('chilly-http-');
    server = await startHttpFileServer();
  });
  after(async () => {
    await Promise.all(drivers.map((driver) => driver.destroy()));
    await server.close();
    await work.cleanup();
  });
  const reset = () => {
    server.requests.length = 0;
    server.files.clear();
    server.bytesPerSecond = undefined;
    server.dropNextAfter = undefined;
    server.intercept = undefined;
  };
  /** Serves `size` seeded bytes at `pathname`, at `pace` bytes a second when given; returns them. */
  const serve = (pathname: string, size: number, file: Omit<ServedFile, 'body'> & { pace?: number } = {}) => {
    const { pace, ...headers } = file;
    const body = seededBytes(size, pathname.length * 7919 + size);
    server.files.set(pathname, { body, ...headers });
    server.bytesPerSecond = pace;
    return body;
  };
  const startJob = (driver: HttpDownloader, id: string, pathname: string, options?: StartOptions) =>
    driver.start({ id, sourceType: 'http', sourceUrn: server.url(pathname) }, options);

  test('downloads a file byte for byte, with events in order and at most 4 progress events a second', async () => {
    reset();
    const body = seededBytes(6 * MiB + 123, 1);
    server.files.set('/Night.of.the.Living.Dead.1968.mkv', { body, etag: '"v1"' });
    server.bytesPerSecond = 8 * MiB;
    const driver = newDriver();
    const events: Array<{ name: string; at: number; job: Job }> = [];
    for (const name of ['started', 'metadata', 'progress', 'completed'] as const) {
      driver.on(name, (job) => events.push({ name, at: Date.now(), job }));
    }
    const done = await download(driver, 'night', server.url('/Night.of.the.Living.Dead.1968.mkv'));

    const folder = path.join(driver.mediaRoot, 'night');
    assert.equal(done.status, 'completed');
    assert.equal(done.sourceType, 'http');
    assert.equal(done.name, 'Night.of.the.Living.Dead.1968.mkv');
    assert.deepEqual(done.files, [{ path: 'Night.of.the.Living.Dead.1968.mkv', length: body.length }]);
    assert.equal(done.progress.fraction, 1);
    assert.equal(done.progress.bytesDone, body.length);
    await assertSameFile(path.join(folder, 'Night.of.the.Living.Dead.1968.mkv'), body);

    const names = events.map((event) => event.name);
    assert.equal(names[0], 'started');
    assert.equal(names[1], 'metadata');
    assert.equal(names.at(-1), 'completed');
    const progress = events.filter((event) => event.name === 'progress');
    assert.ok(progress.length >= 2, `several progress events (${progress.length})`);
    for (let index = 1; index < progress.length; index++) {
      const [previous, current] = [progress[index - 1], progress[index]];
      assert.ok(previous !== undefined && current !== undefined);
      assert.ok(current.at - previous.at >= 200, `progress events ${current.at - previous.at} ms apart`);
      assert.ok(current.job.progress.bytesDone >= previous.job.progress.bytesDone);
    }
    assert.ok(
      progress.some((event) => event.job.progress.downloadSpeed > 0),
      'a download speed is reported',
    );
    assert.deepEqual(driver.footprint('night'), {
      folderCreated: true,
      created: [STATE_FILE, 'Night.of.the.Living.Dead.1968.mkv'],
    });
    assert.equal(server.requests[0]?.headers['accept-encoding'], 'identity');
  });

  test('pause moves no byte and asks nothing; resume continues with Range and If-Range', async () => {
    reset();
    const body = serve('/film.mkv', 8 * MiB, { etag: '"etag-2"', pace: 4 * MiB });
    const driver = newDriver();
    await startJob(driver, 'paused', '/film.mkv');
    await waitUntil(() => (driver.get('paused')?.progress.bytesDone ?? 0) >= 2 * MiB, { what: '2 MiB' });
    const paused = await driver.pause('paused');
    assert.equal(paused.status, 'paused');
    const file = path.join(driver.mediaRoot, 'paused', 'film.mkv');
    const onDisk = (await stat(file)).size;
    assert.equal(paused.progress.bytesDone, onDisk, 'the job reports what is on disk');
    await waitUntil(() => server.openResponses() === 0, { timeoutMs: 2_000, what: 'the connection to close' });
    const [requests, sent] = [server.requests.length, server.bytesSent()];
    await sleep(1_000);
    assert.equal(server.requests.length, requests, 'no request while paused');
    assert.equal(server.bytesSent(), sent, 'no byte sent while paused');
    assert.equal((await stat(file)).size, onDisk, 'no byte written while paused');

    const completed = waitForEvent<[Job]>(driver, 'completed', { timeoutMs: 30_000 });
    assert.equal((await driver.resume('paused')).status, 'downloading');
    await completed;
    const resumed = server.requests[requests];
    assert.equal(resumed?.headers.range, `bytes=${onDisk}-`);
    assert.equal(resumed?.headers['if-range'], '"etag-2"');
    assert.equal(resumed?.status, 206);
    await assertSameFile(file, body);
  });

  test('a connection dropped mid-body is resumed where it stopped', async () => {
    reset();
    const body = seededBytes(5 * MiB + 7, 3);
    server.files.set('/drop.mp4', { body, lastModified: 'Wed, 21 Oct 2015 07:28:00 GMT', contentType: 'video/mp4' });
    server.dropNextAfter = 2 * MiB + 5;
    const driver = newDriver();
    await download(driver, 'drop', server.url('/drop.mp4'));
    await assertSameFile(path.join(driver.mediaRoot, 'drop', 'drop.mp4'), body);
    assert.equal(server.requests.length, 2);
    const second = server.requests[1];
    const from = Number(/^bytes=(\d+)-$/.exec(second?.headers.range ?? '')?.[1]);
    assert.ok(from > 0 && from <= 2 * MiB + 5, `resumed from ${from}`);
    assert.equal(second?.headers['if-range'], 'Wed, 21 Oct 2015 07:28:00 GMT', 'Last-Modified when there is no ETag');
    assert.equal(server.bytesSent() - body.length, 2 * MiB + 5 - from, 'only what never reached the disk again');
  });

  test('a server without ranges: a drop starts over from zero; drops at the same place every time fail the job', async () => {
    reset();
    const body = serve('/norange.mkv', 2 * MiB, { etag: '"n"', ranges: false });
    server.dropNextAfter = MiB;
    const driver = newDriver({ maxAttempts: 3, minRetryDelayMs: 10 });
    await download(driver, 'norange', server.url('/norange.mkv'));
    assert.match(server.requests[1]?.headers.range ?? '', /^bytes=\d+-$/, 'a range was asked for');
    assert.equal(server.requests[1]?.status, 200, '…and the whole file came');
    await assertSameFile(path.join(driver.mediaRoot, 'norange', 'norange.mkv'), body);

    // Every answer is cut at 512 KiB: starting over again and again is not progress.
    server.requests.length = 0;
    server.intercept = () => {
      server.dropNextAfter = 512 * 1024;
      return false;
    };
    const failed = waitForEvent<[ChillyError, Job]>(driver, 'error', { timeoutMs: 20_000 });
    await startJob(driver, 'cut', '/norange.mkv');
    const [error, job] = await failed;
    assert.equal(error.code, 'download_failed');
    assert.equal(job.status, 'error');
    assert.equal(server.requests.length, 4, 'the first cut moved bytes; the 3 attempts after it did not');
  });

  test('503 with Retry-After: 1 waits about a second (stalled), then completes', async () => {
    reset();
    const body = seededBytes(MiB, 4);
    server.files.set('/busy.mkv', { body, etag: '"busy"' });
    let refused = 0;
    server.intercept = (_request, response, log) => {
      if (refused++ > 0) return false;
      log.status = 503;
      response.writeHead(503, { 'retry-after': '1' }).end();
      return true;
    };
    const driver = newDriver({ minRetryDelayMs: 10 });
    const completed = waitForEvent<[Job]>(driver, 'completed', { timeoutMs: 30_000 });
    await driver.start({ id: 'busy', sourceType: 'http', sourceUrn: server.url('/busy.mkv') });
    await waitUntil(() => driver.get('busy')?.status === 'stalled', { timeoutMs: 900, what: 'stalled' });
    await completed;
    const [first, second] = server.requests;
    assert.ok(first !== undefined && second !== undefined);
    const waited = second.at - first.at;
    assert.ok(waited >= 950 && waited < 2_500, `waited ${waited} ms`);
    await assertSameFile(path.join(driver.mediaRoot, 'busy', 'busy.mkv'), body);
  });

  test('a file that changed on the server (new ETag) is downloaded again from zero', async () => {
    reset();
    serve('/changing.mkv', 4 * MiB, { etag: '"old"', pace: 4 * MiB });
    const fresh = seededBytes(MiB + 99, 6);
    const driver = newDriver();
    await startJob(driver, 'changing', '/changing.mkv');
    await waitUntil(() => (driver.get('changing')?.progress.bytesDone ?? 0) >= 2 * MiB, { what: '2 MiB' });
    await driver.pause('changing');
    server.files.set('/changing.mkv', { body: fresh, etag: '"new"' });
    server.bytesPerSecond = undefined;
    const completed = waitForEvent<[Job]>(driver, 'completed', { timeoutMs: 30_000 });
    await driver.resume('changing');
    const [done] = await completed;
    const last = server.requests.at(-1);
    assert.equal(last?.headers['if-range'], '"old"');
    assert.equal(last?.status, 200, 'If-Range did not match: the whole new file');
    assert.equal(done.progress.bytesTotal, fresh.length);
    await assertSameFile(path.join(driver.mediaRoot, 'changing', 'changing.mkv'), fresh);
  });

  test('a server that ignores If-Range but shows a new ETag is not spliced: the download starts over', async () => {
    reset();
    const old = seededBytes(3 * MiB, 7);
    const fresh = seededBytes(3 * MiB, 8);
    server.files.set('/liar.mkv', { body: old, etag: '"a"' });
    server.dropNextAfter = MiB;
    let swapped = false;
    server.intercept = (request) => {
      if (request.headers.range !== undefined && !swapped) {
        swapped = true;
        // Same size, new content, and a server that answers ranges whatever If-Range says.
        server.files.set('/liar.mkv', { body: fresh, etag: '"b"' });
        delete request.headers['if-range'];
      }
      return false;
    };
    const driver = newDriver();
    await download(driver, 'liar', server.url('/liar.mkv'));
    const [whole, range, again] = rangesAsked(server);
    assert.equal(whole, undefined);
    assert.match(range ?? '', /^bytes=\d+-$/);
    assert.equal(again, undefined, 'the new ETag on the 206 sends it back to byte 0');
    assert.equal(server.requests.length, 3);
    await assertSameFile(path.join(driver.mediaRoot, 'liar', 'liar.mkv'), fresh);
  });

  test('after a kill, a new driver with hasData and the same folder resumes from the bytes on disk', async () => {
    reset();
    const size = 64 * MiB;
    const body = serve('/big.mkv', size, { etag: '"big"', pace: 32 * MiB });
    const mediaRoot = path.join(work.dir, 'killed');
    const first = newDriver({}, mediaRoot);
    await startJob(first, 'big', '/big.mkv');
    const file = path.join(mediaRoot, 'big', 'big.mkv');
    await waitUntil(async () => ((await stat(file).catch(() => undefined))?.size ?? 0) >= size / 2, {
      intervalMs: 5,
      what: 'half the file on disk',
    });
    // No cancel, no pause: the process "dies" (its connection and file are simply dropped).
    await first.destroy();
    const onDiskAtKill = (await stat(file)).size;
    const sentBeforeKill = server.bytesSent();
    const requestsBefore = server.requests.length;

    server.bytesPerSecond = undefined;
    const second = newDriver({}, mediaRoot);
    const completed = waitForEvent<[Job]>(second, 'completed', { timeoutMs: 60_000 });
    const restarted = await second.start(
      { id: 'big', sourceType: 'http', sourceUrn: server.url('/big.mkv') },
      { savePath: path.join(mediaRoot, 'big'), hasData: true },
    );
    assert.equal(restarted.name, 'big.mkv', 'the file is known from its state file');
    assert.equal(restarted.progress.bytesDone, onDiskAtKill, 'progress starts from what is on disk');
    await completed;
    const resumedFrom = Number(/^bytes=(\d+)-$/.exec(server.requests[requestsBefore]?.headers.range ?? '')?.[1]);
    assert.ok(resumedFrom >= onDiskAtKill, `resumed from ${resumedFrom}, ${onDiskAtKill} bytes on disk`);
    await assertSameFile(file, body);
    const refetched = onDiskAtKill - resumedFrom + (server.bytesSent() - sentBeforeKill - (size - resumedFrom));
    console.log(
      `# kill at ${((onDiskAtKill / size) * 100).toFixed(1)} % of a 64 MiB file: ${refetched} bytes re-fetched ` +
        `(resumed at byte ${resumedFrom}; ${sentBeforeKill - onDiskAtKill} bytes were in flight when it was killed)`,
    );
  });

  test('names from Content-Disposition or the URL, hostile ones included, end up safe inside the folder', async () => {
    reset();
    const cases: Array<{ path: string; disposition?: string; type?: string; expected: string }> = [
      {
        path: '/download',
        disposition: 'attachment; filename="Night of the Living Dead (1968).mkv"',
        expected: 'Night of the Living Dead (1968).mkv',
      },
      {
        path: '/download',
        disposition: `attachment; filename="fallback.mp4"; filename*=UTF-8''%C3%89t%C3%A9%20%E2%80%94%20film.mp4`,
        expected: 'Été — film.mp4',
      },
      { path: '/get', disposition: 'attachment; filename="../../etc/passwd"', type: 'text/plain', expected: 'passwd' },
      { path: '/get', disposition: 'attachment; filename="CON.mp4"', expected: '_CON.mp4' },
      {
        path: '/get',
        disposition: `attachment; filename*=UTF-8''evil%01%1B%5B31m%E2%80%AE4pm.exe`,
        type: 'video/mp4',
        expected: 'evil__[31m_4pm.exe.mp4',
      },
      { path: '/get', disposition: `attachment; filename="${STATE_FILE}"`, type: 'x/y', expected: `_${STATE_FILE}` },
      { path: '/films/%2E%2E%2F%2E%2E%2Fescape.mkv', expected: 'escape.mkv' },
      { path: `/films/${'long'.repeat(100)}.mkv`, expected: `${'long'.repeat(62)}lon.mkv` },
    ];
    const driver = newDriver();
    const body = seededBytes(1000, 10);
    for (const [index, item] of cases.entries()) {
      server.files.set(new URL(item.path, 'http://x').pathname, {
        body,
        ...(item.disposition === undefined ? {} : { contentDisposition: item.disposition }),
        ...(item.type === undefined ? {} : { contentType: item.type }),
      });
      const job = await download(driver, `name-${index}`, server.url(item.path));
      const folder = path.join(driver.mediaRoot, `name-${index}`);
      assert.equal(job.name, item.expected, item.disposition ?? item.path);
      assert.deepEqual((await readdir(folder)).sort(), [STATE_FILE, item.expected].sort());
      const real = await realpath(path.join(folder, item.expected));
      assert.equal(path.dirname(real), await realpath(folder));
      await assertSameFile(real, body);
    }
  });

  test('redirects: followed (up to 5), a loop and a non-http target refused', async () => {
    reset();
    const body = seededBytes(2000, 11);
    server.files.set('/target/Film.2001.mkv', { body });
    server.intercept = (request, response, log) => {
      const redirect = {
        '/old': '/hop',
        '/hop': '/target/Film.2001.mkv',
        '/loop': '/loop',
        '/evil': 'file:///etc/passwd',
      };
      const location = redirect[request.url as keyof typeof redirect];
      if (location === undefined) return false;
      log.status = 302;
      response.writeHead(302, { location }).end();
      return true;
    };
    const driver = newDriver();
    const followed = await download(driver, 'redirected', server.url('/old'));
    assert.equal(followed.name, 'Film.2001.mkv', 'named after the URL that answered');
    await assertSameFile(path.join(driver.mediaRoot, 'redirected', 'Film.2001.mkv'), body);

    for (const [id, target, words] of [
      ['loop', '/loop', /redirects/],
      ['evil', '/evil', /not an http\(s\) URL/],
    ] as const) {
      server.requests.length = 0;
      const failed = waitForEvent<[ChillyError, Job]>(driver, 'error', { timeoutMs: 10_000 });
      await driver.start({ id, sourceType: 'http', sourceUrn: server.url(target) });
      const [error, job] = await failed;
      assert.equal(error.code, 'download_failed');
      assert.match(error.message, words);
      assert.equal(job.status, 'error');
      assert.equal(server.requests.length, id === 'loop' ? 6 : 1, 'refused at once, never retried');
    }
  });

  test('credentials in the URL go to the server but never into an error', async () => {
    reset();
    server.intercept = (_request, response, log) => {
      log.status = 403;
      response.writeHead(403).end();
      return true;
    };
    const driver = newDriver();
    const secretUrl = server
      .url('/private/film.mkv?token=tok-123456789&quality=hd')
      .replace('//', '//alice:s3cr3t-pass@');
    const failed = waitForEvent<[ChillyError, Job]>(driver, 'error', { timeoutMs: 10_000 });
    await driver.start({ id: 'secret', sourceType: 'http', sourceUrn: secretUrl });
    const [error, job] = await failed;
    assert.equal(
      server.requests[0]?.headers.authorization,
      `Basic ${Buffer.from('alice:s3cr3t-pass').toString('base64')}`,
    );
    assert.match(error.message, /403 Forbidden/);
    for (const text of [error.message, inspect(error, { depth: 8 }), JSON.stringify(job.error)]) {
      for (const secret of ['s3cr3t', 'tok-123456789', 'alice'])
        assert.ok(!text.includes(secret), `${secret} in ${text}`);
    }

    // A host that refuses connections: the network error is as clean.
    const closedPort = await freeLoopbackPort();
    const refusing = newDriver({ maxAttempts: 2, minRetryDelayMs: 10 });
    const refused = waitForEvent<[ChillyError, Job]>(refusing, 'error', { timeoutMs: 10_000 });
    await refusing.start({
      id: 'refused',
      sourceType: 'http',
      sourceUrn: `http://bob:hunter2-pw@127.0.0.1:${closedPort}/film.mkv?api_key=key-987654321`,
    });
    const [networkError] = await refused;
    assert.match(networkError.message, /ECONNREFUSED/);
    const shown = inspect(networkError, { depth: 8 });
    for (const secret of ['hunter2', 'key-987654321', 'bob'])
      assert.ok(!shown.includes(secret), `${secret} in ${shown}`);
  });

  test('openRangeWaiter resolves as the bytes arrive, and refuses what cannot come', async () => {
    reset();
    const body = serve('/stream.mkv', 6 * MiB, { etag: '"s"', pace: 3 * MiB });
    const driver = newDriver();
    await startJob(driver, 'stream', '/stream.mkv');
    const waiter = driver.openRangeWaiter('stream', 0);
    const file = path.join(driver.mediaRoot, 'stream', 'stream.mkv');
    await waiter.waitFor(0, 1023);
    assert.ok((await stat(file)).size >= 1024);
    const end = body.length - 1;
    const early = (await stat(file)).size;
    assert.ok(early < body.length, 'the end is not there yet');
    await waiter.waitFor(5 * MiB, end, { timeoutMs: 10_000 });
    assert.equal((await stat(file)).size, body.length, 'resolved once the last byte was on disk');
    const onDisk = await readFile(file);
    assert.ok(onDisk.subarray(5 * MiB).equals(body.subarray(5 * MiB)));
    await assert.rejects(waiter.waitFor(0, body.length), { code: 'range_not_satisfiable' });
    assert.throws(() => driver.openRangeWaiter('stream', 1), { code: 'file_not_found' });
    waiter.close();
    await assert.rejects(waiter.waitFor(0, 1), { code: 'stream_unavailable' });

    // A paused job cannot bring what is missing; a wait in progress ends when it pauses.
    server.files.set('/slow.mkv', { body, etag: '"slow"' });
    server.bytesPerSecond = MiB;
    await driver.start({ id: 'slow', sourceType: 'http', sourceUrn: server.url('/slow.mkv') });
    const slow = driver.openRangeWaiter('slow', 0);
    const pending = assert.rejects(slow.waitFor(end - 10, end, { timeoutMs: 20_000 }), { code: 'stream_unavailable' });
    await waitUntil(() => (driver.get('slow')?.progress.bytesDone ?? 0) > 0, { what: 'first bytes' });
    await driver.pause('slow');
    await pending;
    await assert.rejects(slow.waitFor(end - 10, end), { code: 'stream_unavailable' });
    await assert.rejects(slow.waitFor(0, end, { timeoutMs: 50 }), { code: 'stream_unavailable' });
  });

  test('a size that does not fit on the disk is refused before anything is written', async () => {
    reset();
    server.intercept = (_request, response, log) => {
      log.status = 200;
      response.writeHead(200, { 'content-length': String(2 ** 50), etag: '"huge"' });
      response.write(Buffer.alloc(1024));
      return true;
    };
    const driver = newDriver();
    const failed = waitForEvent<[ChillyError, Job]>(driver, 'error', { timeoutMs: 10_000 });
    await driver.start({ id: 'huge', sourceType: 'http', sourceUrn: server.url('/huge.mkv') });
    const [error, job] = await failed;
    assert.equal(error.code, 'insufficient_space');
    assert.equal(job.status, 'error');
    assert.deepEqual(await readdir(path.join(driver.mediaRoot, 'huge')), []);
    assert.equal(server.requests.length, 1, 'not retried');
  });

  test('a server that goes silent mid-body times out and is asked again from where it stopped', async () => {
    reset();
    const body = seededBytes(2 * MiB, 14);
    server.files.set('/silent.mkv', { body, etag: '"quiet"' });
    let hung = false;
    server.intercept = (_request, response, log) => {
      if (hung) return false;
      hung = true;
      log.status = 200;
      response.writeHead(200, { 'content-length': String(body.length), etag: '"quiet"' });
      response.write(body.subarray(0, 300_000));
      log.bytesSent = 300_000;
      return true; // …and never another byte.
    };
    const driver = newDriver({ stalledAfterMs: 300 });
    const started = Date.now();
    await download(driver, 'silent', server.url('/silent.mkv'));
    assert.ok(Date.now() - started >= 300, 'the silence was waited out');
    assert.equal(server.requests[1]?.headers.range, 'bytes=300000-');
    await assertSameFile(path.join(driver.mediaRoot, 'silent', 'silent.mkv'), body);
  });

  test('retries are bounded: a server that stays unavailable fails the job; a 404 is not retried', async () => {
    reset();
    server.intercept = (request, response, log) => {
      log.status = request.url === '/gone.mkv' ? 404 : 503;
      response.writeHead(log.status).end();
      return true;
    };
    const driver = newDriver({ maxAttempts: 3, minRetryDelayMs: 20, maxRetryDelayMs: 40 });
    const failed = waitForEvent<[ChillyError, Job]>(driver, 'error', { timeoutMs: 10_000 });
    await driver.start({ id: 'down', sourceType: 'http', sourceUrn: server.url('/down.mkv') });
    const [error, job] = await failed;
    assert.equal(error.code, 'download_failed');
    assert.match(error.message, /503 Service Unavailable/);
    assert.equal(job.status, 'error');
    assert.deepEqual(job.error, error.toJSON());
    assert.equal(server.requests.length, 3);

    server.requests.length = 0;
    const gone = waitForEvent<[ChillyError, Job]>(driver, 'error', { timeoutMs: 10_000 });
    await driver.start({ id: 'gone', sourceType: 'http', sourceUrn: server.url('/gone.mkv') });
    assert.match((await gone)[0].message, /404 Not Found/);
    assert.equal(server.requests.length, 1);

    // Time bounds attempts too: a wait that would pass retryForMs is not taken.
    server.requests.length = 0;
    const patient = newDriver({ maxAttempts: 100, retryForMs: 1_000, minRetryDelayMs: 10 });
    server.intercept = (_request, response, log) => {
      log.status = 429;
      response.writeHead(429, { 'retry-after': '2' }).end();
      return true;
    };
    const limited = waitForEvent<[ChillyError, Job]>(patient, 'error', { timeoutMs: 10_000 });
    await patient.start({ id: 'limited', sourceType: 'http', sourceUrn: server.url('/limited.mkv') });
    assert.match((await limited)[0].message, /429 Too Many Requests/);
    assert.equal(server.requests.length, 1, 'a Retry-After past the time allowed is not waited for');
  });

  test('a completed job started again is complete at once, without asking the server', async () => {
    reset();
    const body = seededBytes(300_000, 15);
    server.files.set('/done.mkv', { body, etag: '"done"' });
    const mediaRoot = path.join(work.dir, 'done-again');
    await download(newDriver({}, mediaRoot), 'done', server.url('/done.mkv'));
    server.requests.length = 0;
    const again = newDriver({}, mediaRoot);
    const completed = waitForEvent<[Job]>(again, 'completed', { timeoutMs: 10_000 });
    await again.start(
      { id: 'done', sourceType: 'http', sourceUrn: server.url('/done.mkv') },
      { savePath: path.join(mediaRoot, 'done'), hasData: true },
    );
    const [job] = await completed;
    assert.equal(job.progress.bytesDone, body.length);
    assert.deepEqual(server.requests, []);
    // Its data is gone: hasData says it was there, so that is `path_missing`, not a fresh start.
    await again.cancel('done');
    await assert.rejects(
      newDriver({}, mediaRoot).start(
        { id: 'done', sourceType: 'http', sourceUrn: server.url('/done.mkv') },
        { savePath: path.join(mediaRoot, 'elsewhere'), hasData: true },
      ),
      { code: 'path_missing' },
    );
  });

  test('bad input is refused with typed errors; a destroyed driver refuses everything', async () => {
    const driver = newDriver();
    const cases: Array<[unknown, string]> = [
      [null, 'validation_failed'],
      [{ id: '../x', sourceType: 'http', sourceUrn: 'http://127.0.0.1/a.mkv' }, 'invalid_job_id'],
      [{ id: 'a', sourceType: 'torrent', sourceUrn: 'http://127.0.0.1/a.mkv' }, 'invalid_source'],
      [{ id: 'a', sourceType: 'http', sourceUrn: 'ftp://127.0.0.1/a.mkv' }, 'invalid_source'],
      [{ id: 'a', sourceType: 'http', sourceUrn: 'file:///etc/passwd' }, 'invalid_source'],
      [{ id: 'a', sourceType: 'http', sourceUrn: 'not a url' }, 'invalid_source'],
      [{ id: 'a', sourceType: 'http' }, 'invalid_source'],
    ];
    for (const [input, code] of cases) {
      await assert.rejects(driver.start(input as Parameters<HttpDownloader['start']>[0]), { code });
    }
    assert.deepEqual(driver.list(), []);
    await assert.rejects(driver.pause('nope'), { code: 'job_not_found' });
    assert.throws(() => driver.openRangeWaiter('nope', 0), { code: 'job_not_found' });
    assert.throws(() => new HttpDownloader({ progressIntervalMs: 100 }), { code: 'validation_failed' });
    assert.throws(() => new HttpDownloader({ maxRedirects: 6 }), { code: 'validation_failed' });
    await driver.destroy();
    await driver.destroy();
    await assert.rejects(driver.start({ id: 'late', sourceType: 'http', sourceUrn: server.url('/x') }), {
      code: 'downloader_destroyed',
    });
  });

  test('cancel deletes what the job created and nothing else; keepData keeps it', async () => {
    reset();
    serve('/cancel.mkv', 4 * MiB, { etag: '"c"', pace: 2 * MiB });
    const driver = newDriver();
    for (const keepData of [false, true]) {
      const id = `cancel-${keepData}`;
      await startJob(driver, id, '/cancel.mkv');
      await waitUntil(() => (driver.get(id)?.progress.bytesDone ?? 0) > 0, { what: 'first bytes' });
      const cancelled = await driver.cancel(id, { keepData });
      assert.equal(cancelled.status, 'cancelled');
      assert.equal(driver.get(id), undefined);
      const left = await readdir(path.join(driver.mediaRoot, id)).catch(() => undefined);
      assert.deepEqual(left?.sort(), keepData ? [STATE_FILE, 'cancel.mkv'].sort() : undefined);
    }
    await assert.rejects(driver.pause('cancel-true'), { code: 'job_not_found' });
  });
});
