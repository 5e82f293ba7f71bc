/**
 * followJob against a scripted server on 127.0.0.1: what happens when the event stream drops,
 * goes quiet, asks for a resync, or the token is wrong.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { ApiError, CliApi } from '../../src/cli/api.js';
import { followJob } from '../../src/cli/follow.js';
import { emptyProgress, type Job, type JobStatus } from '../../src/domain/job.js';

function job(status: JobStatus, fraction = 0): Job {
  return {
    id: 'film',
    sourceType: 'torrent',
    sourceUrn: 'magnet:?xt=urn:btih:0000000000000000000000000000000000000000',
    status,
    sequential: false,
    progress: { ...emptyProgress(), fraction },
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
  };
}

function event(id: number, type: string, value: Job): string {
  return `id: ${id}\ndata: ${JSON.stringify({ id, type, job: value, at: value.updatedAt })}\n\n`;
}

/** Each connection to /events runs the next script; /download/status answers `status()`. */
type Script = (response: http.ServerResponse, request: http.IncomingMessage) => void;

describe('followJob', () => {
  let server: http.Server;
  let port = 0;
  let scripts: Script[] = [];
  let status: () => Job = () => job('downloading');
  const seenLastEventIds: Array<string | undefined> = [];
  const open = new Set<http.ServerResponse>();

  before(async () => {
    server = http.createServer((request, response) => {
      if (request.headers.authorization !== 'Bearer a-token-of-sixteen-chars') {
        response.writeHead(401, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: { code: 'unauthorized', message: 'A valid API token is required.' } }));
        return;
      }
      if (request.url === '/events') {
        seenLastEventIds.push(request.headers['last-event-id'] as string | undefined);
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        response.write('retry: 2000\n\n');
        open.add(response);
        response.on('close', () => open.delete(response));
        const script = scripts.shift();
        if (script === undefined) response.end();
        else script(response, request);
        return;
      }
      if (request.url === '/download/status/film') {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify(status()));
        return;
      }
      response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const address = server.address();
    port = typeof address === 'object' && address !== null ? address.port : 0;
  });
  after(async () => {
    for (const response of open) response.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const client = (token = 'a-token-of-sixteen-chars') =>
    new CliApi({ baseUrl: `http://127.0.0.1:${port}`, token, timeoutMs: 5_000 });

  it('reconnects with Last-Event-ID after a drop, and handles resync by re-reading the status', async () => {
    seenLastEventIds.length = 0;
    let statusReads = 0;
    status = () => {
      statusReads += 1;
      return job('downloading', statusReads === 1 ? 0.1 : 0.6);
    };
    scripts = [
      (response) => {
        response.write(event(1, 'progress', job('downloading', 0.3)));
        response.end(); // the connection drops
      },
      (response) => {
        response.write('event: resync\ndata: {"reason":"events_lost"}\n\n');
        response.write(event(2, 'progress', { ...job('downloading', 0.9), id: 'another-job' }));
        response.write(event(3, 'completed', job('completed', 1)));
      },
    ];
    const updates: number[] = [];
    const final = await followJob(client(), 'film', {
      signal: AbortSignal.timeout(10_000),
      reconnectDelayMs: 10,
      onUpdate: (value) => updates.push(value.progress.fraction),
    });
    assert.equal(final.status, 'completed');
    assert.deepEqual(seenLastEventIds, [undefined, '1']);
    // status on connect, the event, status on reconnect, status on resync, the completion.
    assert.deepEqual(updates, [0.1, 0.3, 0.6, 0.6, 1]);
  });

  it('returns at once when the job has already settled', async () => {
    status = () => job('paused', 0.5);
    scripts = [];
    const final = await followJob(client(), 'film', { signal: AbortSignal.timeout(5_000), onUpdate: () => undefined });
    assert.equal(final.status, 'paused');
  });

  it('treats a silent stream as dead and reconnects', async () => {
    seenLastEventIds.length = 0;
    status = () => job('downloading');
    scripts = [
      () => undefined, // open, then nothing at all: not even heartbeats
      (response) =>
        response.write(event(4, 'error', { ...job('error'), error: { code: 'disk_full', message: 'full' } })),
    ];
    const final = await followJob(client(), 'film', {
      signal: AbortSignal.timeout(10_000),
      idleTimeoutMs: 200,
      reconnectDelayMs: 10,
      onUpdate: () => undefined,
    });
    assert.equal(final.status, 'error');
    assert.equal(seenLastEventIds.length, 2);
  });

  it('gives up at once on a rejected token, and stops when aborted', async () => {
    await assert.rejects(
      followJob(client('wrong-token-but-long-enough'), 'film', {
        signal: AbortSignal.timeout(5_000),
        onUpdate: () => undefined,
      }),
      (error: unknown) => error instanceof ApiError && error.code === 'unauthorized',
    );

    status = () => job('downloading');
    scripts = [() => undefined];
    const controller = new AbortController();
    const following = followJob(client(), 'film', { signal: controller.signal, onUpdate: () => controller.abort() });
    await assert.rejects(following);
  });
});
