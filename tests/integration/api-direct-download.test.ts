/**
 * Issue 15: `sourceType: "http"` through the API as `npm start` wires it (startServer: the
 * embedded engine for torrents, the HTTP driver beside it): a direct URL of a video file is a job
 * like any other — added, downloaded byte for byte, streamed, paused, cancelled — kept across a
 * restart, and never stored with credentials.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type RunningServer, startServer } from '../../src/app.js';
import { loadConfig } from '../../src/config/resolve-config.js';
import type { Job } from '../../src/domain/job.js';
import { type HttpFileServer, seededBytes, startHttpFileServer } from '../helpers/http-file-server.js';
import { tempDir, waitUntil } from '../helpers/wait.js';

const FILM = seededBytes(3 * 1024 * 1024 + 17, 7);

/** What the routes answer, as far as these tests read it. */
type Answer = Partial<Job> & { job?: Job; jobs?: Job[]; error?: { code: string; message: string } };

describe('direct downloads (sourceType "http") through the API', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  let files: HttpFileServer;
  before(async () => {
    work = await tempDir();
    files = await startHttpFileServer();
    files.files.set('/films/The.Kid.1921.mkv', { body: FILM });
  });
  after(async () => {
    await files.close();
    await work.cleanup();
  });

  function config() {
    return loadConfig(
      {
        CHILLY_DATA_DIR: path.join(work.dir, 'data'),
        CHILLY_NETWORK: 'loopback',
        CHILLY_TOKEN: 'a-test-token-long-enough',
      },
      { host: '127.0.0.1', port: 0 },
    );
  }

  async function call(server: RunningServer, method: string, route: string, body?: unknown) {
    const response = await fetch(`${server.url}${route}`, {
      method,
      headers: {
        authorization: 'Bearer a-test-token-long-enough',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as Answer) };
  }

  test('added without an id, named after the file, downloaded byte for byte, and the same URL is the same job', async () => {
    const server = await startServer({ config: config(), logger: false });
    try {
      const url = files.url('/films/The.Kid.1921.mkv');
      const added = await call(server, 'POST', '/download/start', { sourceType: 'http', sourceUrn: url });
      assert.equal(added.status, 201, JSON.stringify(added.body));
      const job = added.body?.job ?? added.body ?? {};
      assert.equal(job.id, 'the-kid-1921');
      assert.equal(job.sourceType, 'http');
      assert.equal(job.sourceUrn, url);
      await waitUntil(
        async () => (await call(server, 'GET', '/download/status/the-kid-1921')).body?.status === 'completed',
        {
          what: 'completed',
        },
      );
      const done = (await call(server, 'GET', '/download/status/the-kid-1921')).body ?? {};
      const onDisk = await readFile(path.join(done.savePath ?? '', done.files?.[0]?.path ?? ''));
      assert.equal(createHash('sha256').update(onDisk).digest('hex'), createHash('sha256').update(FILM).digest('hex'));
      const again = await call(server, 'POST', '/download/start', { sourceType: 'http', sourceUrn: url });
      assert.equal(again.status, 200, 'the same URL answers its job');
      const list = await call(server, 'GET', '/downloads');
      assert.equal(list.body?.jobs?.length, 1);
    } finally {
      await server.close();
    }
    // A restart keeps the job as it was: completed, its file checked.
    const restarted = await startServer({ config: config(), logger: false });
    try {
      const job = (await call(restarted, 'GET', '/download/status/the-kid-1921')).body ?? {};
      assert.equal(job.status, 'completed');
      assert.equal(job.sourceType, 'http');
      const cancelled = await call(restarted, 'POST', '/download/cancel', { id: 'the-kid-1921', keepData: false });
      assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
      assert.ok(job.savePath !== undefined);
      assert.equal(existsSync(job.savePath), false, 'cancel with delete removes the folder it made');
    } finally {
      await restarted.close();
    }
  });

  test('the same URL added twice at once is one job', async () => {
    const server = await startServer({ config: config(), logger: false });
    try {
      const url = files.url('/films/Twice.At.Once.1930.mkv');
      files.files.set('/films/Twice.At.Once.1930.mkv', { body: FILM });
      const [first, second] = await Promise.all([
        server.service.add({ sourceType: 'http', sourceUrn: url }),
        server.service.add({ sourceType: 'http', sourceUrn: url }),
      ]);
      assert.equal(first.job.id, second.job.id);
      assert.deepEqual([first.created, second.created].sort(), [false, true]);
    } finally {
      await server.close();
    }
  });

  test('a URL with a user name or password is refused, and so is a URL given as a torrent', async () => {
    const server = await startServer({ config: config(), logger: false });
    try {
      const withCredentials = files.url('/films/The.Kid.1921.mkv').replace('http://', 'http://user:secret@');
      const refused = await call(server, 'POST', '/download/start', { sourceType: 'http', sourceUrn: withCredentials });
      assert.equal(refused.status, 400);
      assert.equal(refused.body?.error?.code, 'invalid_source');
      assert.doesNotMatch(JSON.stringify(refused.body), /secret/);
      const asTorrent = await call(server, 'POST', '/download/start', {
        sourceType: 'torrent',
        sourceUrn: files.url('/films/The.Kid.1921.mkv'),
      });
      assert.equal(asTorrent.status, 400);
    } finally {
      await server.close();
    }
  });
});
