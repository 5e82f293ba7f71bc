/**
 * The typed client (src/client) against a real server on 127.0.0.1 (the API on the real
 * DownloadService, a MockDownloader driven by a fake clock): jobs started, read, paused and resumed
 * through `createChillyClient`, their events read with `openJobEvents`/`readJobEvents`, resumed
 * from `lastEventId`, and the typed errors. Every answer the client gets is checked against the
 * contract too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ChillyApiError,
  type ChillyClient,
  createChillyClient,
  type JobEventStream,
  type JobStreamMessage,
  openJobEvents,
  readJobEvents,
  unwrap,
} from '../../src/client/index.js';
import { assertMatchesContract } from '../helpers/api-contract.js';
import { type ApiTestServer, createApiTestServer, makeTorrentFile, testMagnet } from '../helpers/api-test-server.js';

const MiB = 1024 * 1024;

/** Reads messages from `iterator` until `done` holds for the ones read so far; fails after `timeoutMs`. */
async function readUntil(
  iterator: AsyncIterator<JobStreamMessage>,
  done: (messages: readonly JobStreamMessage[]) => boolean,
  timeoutMs = 5_000,
): Promise<JobStreamMessage[]> {
  const messages: JobStreamMessage[] = [];
  const deadline = Date.now() + timeoutMs;
  while (!done(messages)) {
    const left = deadline - Date.now();
    let timer: NodeJS.Timeout | undefined;
    const next = await Promise.race([
      iterator.next(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`timed out; got ${JSON.stringify(messages.map(brief))}`)),
          Math.max(0, left),
        );
      }),
    ]).finally(() => clearTimeout(timer));
    if (next.done === true) throw new Error(`the stream ended; got ${JSON.stringify(messages.map(brief))}`);
    messages.push(next.value);
  }
  return messages;
}

function brief(message: JobStreamMessage): string {
  return message.event === 'resync' ? 'resync' : `${message.data.id}:${message.data.type}:${message.data.job.id}`;
}

/** The job events among `messages` for job `id`, as their types. */
function typesFor(messages: readonly JobStreamMessage[], id: string): string[] {
  return messages.flatMap((message) =>
    message.event === 'message' && message.data.job.id === id ? [message.data.type] : [],
  );
}

describe('the typed client against a real server', () => {
  let server: ApiTestServer;
  let baseUrl: string;
  let client: ChillyClient;
  const streams: JobEventStream[] = [];

  before(async () => {
    server = await createApiTestServer({ mock: { totalBytes: 4 * MiB, bytesPerSecond: 4 * MiB, tickMs: 250 } });
    baseUrl = `http://127.0.0.1:${await server.listen()}`;
    client = createChillyClient({ baseUrl, token: server.token });
    client.use({
      async onResponse({ request, response, options }) {
        const body = options.parseAs === 'stream' ? '' : await response.clone().text();
        assertMatchesContract(request.method, request.url, {
          statusCode: response.status,
          headers: Object.fromEntries(response.headers),
          body,
        });
        return undefined;
      },
    });
  });
  after(async () => {
    for (const stream of streams) stream.close();
    // Node 20's fetch (undici) opens a fresh connection when a response it was reading is cut
    // short (a closed event stream); the server would wait for that idle one to time out.
    server.app.server.closeAllConnections();
    await server.close();
  });

  const open = async (lastEventId?: number): Promise<JobEventStream> => {
    const stream = await openJobEvents({ baseUrl, token: server.token, lastEventId });
    streams.push(stream);
    return stream;
  };

  it('starts, reads, pauses and resumes a job, and its events arrive on /events', async () => {
    assert.deepEqual(unwrap(await createChillyClient({ baseUrl }).GET('/health')), {
      ok: true,
      activeDownloads: 0,
      queued: 0,
      metadata: { configured: false, autoIdentify: false },
    });
    const stream = await open();
    const events = stream[Symbol.asyncIterator]();

    const started = await client.POST('/download/start', {
      body: { id: 'night-1968', sourceType: 'torrent', sourceUrn: testMagnet('night-1968') },
    });
    assert.equal(started.response.status, 201);
    assert.equal(started.response.headers.get('location'), '/download/status/night-1968');
    const job = unwrap(started);
    assert.equal(job.id, 'night-1968');

    const again = await client.POST('/download/start', {
      body: { id: 'night-1968', sourceType: 'torrent', sourceUrn: testMagnet('night-1968') },
    });
    assert.equal(again.response.status, 200, 'the same id and source: the existing job');

    const status = unwrap(await client.GET('/download/status/{id}', { params: { path: { id: 'night-1968' } } }));
    assert.ok(['queued', 'downloading'].includes(status.status), status.status);
    assert.equal(status.progress.bytesTotal, 4 * MiB);

    const paused = unwrap(await client.POST('/download/pause', { body: { id: 'night-1968' } }));
    assert.equal(paused.status, 'paused');
    const resumed = unwrap(await client.POST('/download/resume', { body: { id: 'night-1968' } }));
    assert.ok(['queued', 'downloading'].includes(resumed.status), resumed.status);

    const page = unwrap(await client.GET('/downloads', { params: { query: { status: ['paused', 'downloading'] } } }));
    assert.deepEqual(
      page.jobs.map((listed) => listed.id),
      ['night-1968'],
    );

    server.clock.advance(2_000);
    const seen = await readUntil(events, (messages) => typesFor(messages, 'night-1968').includes('completed'));
    const types = typesFor(seen, 'night-1968');
    assert.equal(types[0], 'added');
    for (const type of ['paused', 'resumed', 'progress']) assert.ok(types.includes(type), `${type} in ${types}`);
    assert.ok(types.indexOf('paused') < types.indexOf('resumed'));
    const ids = seen.flatMap((message) => (message.event === 'message' ? [message.data.id] : []));
    assert.deepEqual(
      ids,
      ids.map((_, index) => (ids[0] ?? 0) + index),
      'event ids run on with no gap',
    );
    for (const message of seen) {
      if (message.event === 'message') assert.equal(message.id, String(message.data.id), 'id: is the event id');
    }
    const completed = seen.at(-1);
    assert.ok(completed?.event === 'message' && completed.data.job.status === 'completed');
    assert.equal(completed.data.job.progress.fraction, 1);
    stream.close();
  });

  it('uploads a .torrent file as bytes', async () => {
    const torrent = await makeTorrentFile('sintel.mkv', Buffer.alloc(64 * 1024, 7));
    const answer = await client.POST('/download/upload', {
      params: { query: { id: 'sintel' } },
      body: torrent,
      headers: { 'Content-Type': 'application/x-bittorrent' },
    });
    assert.equal(answer.response.status, 201);
    const job = unwrap(answer);
    assert.equal(job.id, 'sintel');
    assert.match(job.sourceUrn, /^torrent:[0-9a-f]{40}$/);
    assert.equal(job.sourceUrn, `torrent:${job.infoHash}`);
  });

  it('resumes from lastEventId: the events missed while away come first, then live ones', async () => {
    const first = await open();
    const firstEvents = first[Symbol.asyncIterator]();
    unwrap(
      await client.POST('/download/start', {
        body: { id: 'away', sourceType: 'torrent', sourceUrn: testMagnet('away') },
      }),
    );
    const before = await readUntil(firstEvents, (messages) => typesFor(messages, 'away').includes('added'));
    const last = before.at(-1);
    assert.ok(last?.event === 'message');
    const lastSeen = last.data.id;
    first.close();

    // While nobody listens.
    unwrap(await client.POST('/download/pause', { body: { id: 'away' } }));
    unwrap(await client.POST('/download/resume', { body: { id: 'away' } }));

    const resumed = readJobEvents({ baseUrl, token: server.token, lastEventId: lastSeen });
    const replayed = await readUntil(resumed, (messages) => typesFor(messages, 'away').includes('resumed'));
    const firstReplayed = replayed[0];
    assert.ok(firstReplayed?.event === 'message');
    assert.equal(firstReplayed.data.id, lastSeen + 1, 'nothing missed, nothing twice');
    const missed = typesFor(replayed, 'away');
    assert.ok(missed.includes('paused') && missed.indexOf('paused') < missed.indexOf('resumed'), `${missed}`);

    unwrap(await client.POST('/download/cancel', { body: { id: 'away', keepData: false } }));
    const live = await readUntil(resumed, (messages) => typesFor(messages, 'away').includes('cancelled'));
    assert.ok(live.length > 0);
    await resumed.return(undefined);
  });

  it('sends resync first when the events asked for are no longer kept', async () => {
    const stream = await open(1_000_000);
    const [first] = await readUntil(stream[Symbol.asyncIterator](), (messages) => messages.length >= 1);
    assert.deepEqual(first, { event: 'resync', id: undefined, data: { reason: 'events_lost' } });
    stream.close();
  });

  it('a wrong token or an unknown job is a ChillyApiError with status and code', async () => {
    const wrong = createChillyClient({ baseUrl, token: 'not-the-token-at-all-0123456789' });
    await assert.rejects(
      async () => unwrap(await wrong.GET('/downloads')),
      (error: unknown) => error instanceof ChillyApiError && error.status === 401 && error.code === 'unauthorized',
    );
    await assert.rejects(
      openJobEvents({ baseUrl, token: 'not-the-token-at-all-0123456789' }),
      (error: unknown) => error instanceof ChillyApiError && error.status === 401 && error.code === 'unauthorized',
    );
    await assert.rejects(
      async () => unwrap(await client.GET('/download/status/{id}', { params: { path: { id: 'no-such-job' } } })),
      (error: unknown) =>
        error instanceof ChillyApiError &&
        error.status === 404 &&
        error.code === 'job_not_found' &&
        error.message.includes('no-such-job'),
    );
    await assert.rejects(
      async () => unwrap(await client.POST('/download/pause', { body: { id: 'night-1968' } })),
      (error: unknown) =>
        error instanceof ChillyApiError && error.status === 409 && error.code === 'invalid_transition',
    );
  });
});
