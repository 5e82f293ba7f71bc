import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { JobEvent } from '../../src/domain/job-event.js';
import { checkedInject } from '../helpers/api-contract.js';
import { assertContiguous, type EventStream, jobEvents, openEventStream } from '../helpers/api-sse-client.js';
import { type ApiTestServer, createApiTestServer, testMagnet } from '../helpers/api-test-server.js';

describe('GET /events over a real socket', () => {
  let server: ApiTestServer;
  let port: number;
  let subscriptions = 0;
  const streams: EventStream[] = [];
  const open = async (options: { headers?: Record<string, string>; path?: string; token?: string } = {}) => {
    const stream = await openEventStream({ port, token: server.token, ...options });
    streams.push(stream);
    return stream;
  };
  const act = async (url: string, payload: Record<string, unknown>) => {
    const response = await checkedInject(server.app, { method: 'POST', url, headers: server.auth, payload });
    assert.ok(response.statusCode < 300, `${url}: ${response.body}`);
  };
  /** The id of the newest event the service holds. */
  const latestId = (): number => (server.service.eventsSince(0) ?? []).at(-1)?.id ?? 0;
  const waitForSubscriptions = async (count: number) => {
    const deadline = Date.now() + 5_000;
    while (subscriptions !== count && Date.now() < deadline) await new Promise((done) => setTimeout(done, 10));
    assert.equal(subscriptions, count, 'subscriptions');
  };

  before(async () => {
    server = await createApiTestServer({ limits: { heartbeatMs: 100 } });
    // Count live subscriptions, to see that a departed client is unsubscribed.
    const subscribe = server.service.subscribe.bind(server.service);
    server.service.subscribe = (listener: (event: JobEvent) => void) => {
      subscriptions += 1;
      const unsubscribe = subscribe(listener);
      return () => {
        subscriptions -= 1;
        unsubscribe();
      };
    };
    port = await server.listen();
  });
  afterEach(() => {
    for (const stream of streams.splice(0)) stream.close();
  });
  after(() => server.close());

  it('streams job events live, with id: set to the event id, and heartbeats', async () => {
    const stream = await open();
    assert.equal(stream.statusCode, 200);
    assert.match(String(stream.headers['content-type']), /^text\/event-stream/);
    assert.equal(stream.headers['cache-control'], 'no-store');
    await act('/download/start', { id: 'live', sourceType: 'torrent', sourceUrn: testMagnet('live') });
    const messages = await stream.waitFor((all) => jobEvents(all).some((event) => event.type === 'added'));
    const added = jobEvents(messages).find((event) => event.type === 'added');
    assert.equal(added?.job.id, 'live');
    await stream.waitFor((all) => all.some((message) => message.comment === 'heartbeat'), 2_000);
  });

  it('replays what a client missed when it reconnects with Last-Event-ID, then goes live, missing nothing', async () => {
    const first = await open();
    await act('/download/start', { id: 'gap', sourceType: 'torrent', sourceUrn: testMagnet('gap') });
    await first.waitFor((all) => jobEvents(all).some((event) => event.job.id === 'gap'));
    const seen = jobEvents(first.messages);
    const lastSeen = seen.at(-1)?.id ?? 0;
    assert.ok(lastSeen > 0);
    first.close();
    await waitForSubscriptions(0);

    // While nobody listens: a pause, a resume and some progress.
    await act('/download/pause', { id: 'gap' });
    await act('/download/resume', { id: 'gap' });
    server.clock.advance(1_000);
    const missedUpTo = latestId();
    assert.ok(missedUpTo >= lastSeen + 2, 'events happened while disconnected');

    const second = await open({ headers: { 'last-event-id': String(lastSeen) } });
    await second.waitFor((all) => (jobEvents(all).at(-1)?.id ?? 0) >= missedUpTo);
    await act('/download/pause', { id: 'gap' });
    await second.waitFor((all) => jobEvents(all).some((event) => event.type === 'paused' && event.id > missedUpTo));
    const replayed = jobEvents(second.messages);
    assertContiguous(
      replayed.map((event) => event.id),
      lastSeen + 1,
    );
    const expected = (server.service.eventsSince(lastSeen) ?? []).map((event) => ({ id: event.id, type: event.type }));
    assert.deepEqual(
      replayed.map((event) => ({ id: event.id, type: event.type })),
      expected.slice(0, replayed.length),
    );
    const types = replayed.filter((event) => event.job.id === 'gap').map((event) => event.type);
    assert.ok(types.indexOf('paused') < types.indexOf('resumed'), `missed pause and resume arrive in order: ${types}`);
  });

  it('accepts lastEventId in the query for polyfills; the header wins when both are sent', async () => {
    await act('/download/start', { id: 'query', sourceType: 'torrent', sourceUrn: testMagnet('query') });
    const from = latestId() - 1;
    const byQuery = await open({ path: `/events?lastEventId=${from}` });
    await byQuery.waitFor((all) => jobEvents(all).length >= 1);
    assert.equal(jobEvents(byQuery.messages)[0]?.id, from + 1);

    const both = await open({ path: `/events?lastEventId=0`, headers: { 'last-event-id': String(from) } });
    await both.waitFor((all) => jobEvents(all).length >= 1);
    assert.equal(jobEvents(both.messages)[0]?.id, from + 1);
  });

  it('sends a resync event first when the missed events are no longer kept (e.g. an id from before a restart)', async () => {
    const stream = await open({ headers: { 'last-event-id': String(latestId() + 1_000) } });
    await stream.waitFor((all) => all.some((message) => message.event === 'resync'));
    const firstData = stream.messages.find((message) => message.data !== undefined);
    assert.equal(firstData?.event, 'resync');
    assert.deepEqual(JSON.parse(firstData?.data ?? ''), { reason: 'events_lost' });
    await act('/download/start', { id: 'after-resync', sourceType: 'torrent', sourceUrn: testMagnet('after-resync') });
    await stream.waitFor((all) => jobEvents(all).some((event) => event.job.id === 'after-resync'));
  });

  it('rejects a malformed Last-Event-ID and needs the token', async () => {
    const bad = await open({ headers: { 'last-event-id': 'abc' } });
    assert.equal(bad.statusCode, 400);
    const anonymous = await openEventStream({ port });
    assert.equal(anonymous.statusCode, 401);
  });

  it('unsubscribes when clients leave, and closing the server ends open streams', async () => {
    await waitForSubscriptions(0);
    const a = await open();
    const b = await open();
    await waitForSubscriptions(2);
    a.close();
    await waitForSubscriptions(1);

    const other = await createApiTestServer();
    try {
      const otherPort = await other.listen();
      const stream = await openEventStream({ port: otherPort, token: other.token });
      const closed = other.app.close();
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        stream.ended,
        new Promise((_, fail) => {
          timer = setTimeout(() => fail(new Error('stream not ended by close')), 5_000);
        }),
      ]).finally(() => clearTimeout(timer));
      await closed;
    } finally {
      await other.close();
    }
    b.close();
    await waitForSubscriptions(0);
  });
});
