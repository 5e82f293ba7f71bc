/**
 * readJobEvents / openJobEvents (src/client/job-events.ts) against a stub `fetch` whose body arrives
 * in whatever chunks the test chooses: line endings, lines and UTF-8 characters split across chunks,
 * comments, multi-line data, error answers, and that leaving or aborting cancels the body.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  ChillyApiError,
  type Job,
  type JobEvent,
  JobEventStreamError,
  type JobStreamMessage,
  openJobEvents,
  readJobEvents,
} from '../../src/client/index.js';

const BASE_URL = 'http://127.0.0.1:9';

function job(id: string, name?: string): Job {
  return {
    id,
    sourceType: 'torrent',
    sourceUrn: `magnet:?xt=urn:btih:${'0'.repeat(40)}`,
    status: 'downloading',
    ...(name === undefined ? {} : { name }),
    progress: {
      fraction: 0.25,
      bytesDone: 256,
      bytesTotal: 1024,
      downloadSpeed: 10,
      uploadSpeed: 0,
      bytesUploaded: 0,
      peers: 1,
      etaSeconds: 77,
    },
    sequential: true,
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:01.000Z',
  };
}

function jobEvent(id: number, jobId = 'film', name?: string): JobEvent {
  return { id, type: 'progress', job: job(jobId, name), at: '2026-01-01T00:00:01.000Z' };
}

interface StubBody {
  /** Requests the client sent. */
  requests: Request[];
  /** Whether the client cancelled the body. */
  cancelled(): boolean;
  fetch(input: Request): Promise<Response>;
}

/**
 * A fetch that answers with `chunks` as the body, one chunk per read; `hang` keeps the body open
 * after the last chunk (as a live stream does) until the client cancels it.
 */
function stubFetch(
  chunks: ReadonlyArray<string | Uint8Array>,
  options: { status?: number; contentType?: string; hang?: boolean } = {},
): StubBody {
  const requests: Request[] = [];
  let cancelled = false;
  return {
    requests,
    cancelled: () => cancelled,
    async fetch(input) {
      requests.push(input);
      const encoder = new TextEncoder();
      let index = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          const chunk = chunks[index];
          index += 1;
          if (chunk !== undefined) {
            controller.enqueue(typeof chunk === 'string' ? encoder.encode(chunk) : chunk);
            return undefined;
          }
          if (options.hang !== true) {
            controller.close();
            return undefined;
          }
          return new Promise<void>(() => undefined);
        },
        cancel() {
          cancelled = true;
        },
      });
      return new Response(body, {
        status: options.status ?? 200,
        headers: { 'content-type': options.contentType ?? 'text/event-stream; charset=utf-8' },
      });
    },
  };
}

async function collect(stub: StubBody, extra: { maxEventLength?: number } = {}): Promise<JobStreamMessage[]> {
  const messages: JobStreamMessage[] = [];
  for await (const message of readJobEvents({ baseUrl: BASE_URL, fetch: (input) => stub.fetch(input), ...extra })) {
    messages.push(message);
  }
  return messages;
}

describe('readJobEvents: parsing', () => {
  it('reads job events and resync from CRLF, CR and LF lines, split lines, comments and multi-line data', async () => {
    const first = jobEvent(7);
    const pretty = JSON.stringify(jobEvent(8, 'other'), null, 2).split('\n');
    const stub = stubFetch([
      'retry: 2000\n\n: heart',
      'beat\r\n\r\nid: 7\r\ndata: ',
      JSON.stringify(first).slice(0, 40),
      `${JSON.stringify(first).slice(40)}\r`,
      '\n\r\n',
      `id: 8\n${pretty.map((line) => `data:${line}`).join('\n')}\n\n`,
      'event: resync\rdata: {"reason":"events_lost"}\r\r',
      'unknown-field: ignored\nevent: not-in-the-contract\ndata: {}\n\n',
      ': bye\n\n',
    ]);
    assert.deepEqual(await collect(stub), [
      { event: 'message', id: '7', data: first },
      { event: 'message', id: '8', data: jobEvent(8, 'other') },
      { event: 'resync', id: undefined, data: { reason: 'events_lost' } },
    ]);
    assert.equal(stub.requests.length, 1);
    assert.equal(stub.requests[0]?.headers.get('accept'), 'text/event-stream');
  });

  it('decodes UTF-8 characters split between chunks', async () => {
    const event = jobEvent(1, 'film', 'Amélie 千と千尋 🎬');
    const bytes = new TextEncoder().encode(`id: 1\ndata: ${JSON.stringify(event)}\n\n`);
    const emoji = bytes.indexOf(0xf0);
    assert.ok(emoji > 0);
    const stub = stubFetch([bytes.slice(0, emoji + 2), bytes.slice(emoji + 2)]);
    assert.deepEqual(await collect(stub), [{ event: 'message', id: '1', data: event }]);
  });

  it('keeps an event whose last line ends the stream with a CR; drops an unfinished one', async () => {
    const event = jobEvent(3);
    assert.deepEqual(await collect(stubFetch([`data: ${JSON.stringify(event)}\r\r`])), [
      { event: 'message', id: undefined, data: event },
    ]);
    assert.deepEqual(await collect(stubFetch([`data: ${JSON.stringify(event)}\n`])), []);
  });

  it('fails with malformed_event when data is not JSON or not a JobEvent, after the events before it', async () => {
    const event = jobEvent(1);
    const stub = stubFetch([`data: ${JSON.stringify(event)}\n\ndata: {not json\n\ndata: {}\n\n`], { hang: true });
    const seen: JobStreamMessage[] = [];
    await assert.rejects(
      (async () => {
        for await (const message of readJobEvents({ baseUrl: BASE_URL, fetch: (input) => stub.fetch(input) })) {
          seen.push(message);
        }
      })(),
      (error: unknown) => error instanceof JobEventStreamError && error.code === 'malformed_event',
    );
    assert.deepEqual(seen, [{ event: 'message', id: undefined, data: event }]);
    assert.equal(stub.cancelled(), true, 'the body is cancelled');

    await assert.rejects(
      collect(stubFetch(['event: resync\ndata: {"why":1}\n\n'])),
      (error: unknown) => error instanceof JobEventStreamError && /resync/.test(error.message),
    );
    await assert.rejects(
      collect(stubFetch(['data: {"id":1,"type":"progress","at":"x"}\n\n'])),
      (error: unknown) => error instanceof JobEventStreamError && error.code === 'malformed_event',
    );
  });

  it('bounds what it buffers: an event longer than maxEventLength is an error, never held whole', async () => {
    const stub = stubFetch(['data: ', 'x'.repeat(600), 'x'.repeat(600), '\n\n'], { hang: true });
    await assert.rejects(
      collect(stub, { maxEventLength: 1_000 }),
      (error: unknown) => error instanceof JobEventStreamError && error.code === 'event_too_large',
    );
    assert.equal(stub.cancelled(), true);
    // A line without an end, too.
    await assert.rejects(
      collect(stubFetch([':', ' '.repeat(2_000)], { hang: true }), { maxEventLength: 1_000 }),
      (error: unknown) => error instanceof JobEventStreamError && error.code === 'event_too_large',
    );
  });
});

describe('readJobEvents: answers that are not an event stream', () => {
  it('turns the API error body into a ChillyApiError with status, code and message', async () => {
    const stub = stubFetch(
      [JSON.stringify({ error: { code: 'unauthorized', message: 'A valid API token is required.' } })],
      {
        status: 401,
        contentType: 'application/json',
      },
    );
    await assert.rejects(collect(stub), (error: unknown) => {
      assert.ok(error instanceof ChillyApiError);
      assert.equal(error.status, 401);
      assert.equal(error.code, 'unauthorized');
      assert.equal(error.message, 'A valid API token is required.');
      return true;
    });
  });

  it('is unexpected_response for another program (an HTML page, or 200 with JSON)', async () => {
    await assert.rejects(
      collect(stubFetch(['<html>nope</html>'], { status: 404, contentType: 'text/html' })),
      (error: unknown) =>
        error instanceof ChillyApiError && error.status === 404 && error.code === 'unexpected_response',
    );
    const json = stubFetch(['{"ok":true}'], { contentType: 'application/json' });
    await assert.rejects(
      collect(json),
      (error: unknown) =>
        error instanceof ChillyApiError && error.status === 200 && error.code === 'unexpected_response',
    );
    assert.equal(json.cancelled(), true, 'the unread body is cancelled');
  });
});

describe('readJobEvents: the request and its end', () => {
  it('sends the token (a string or a function asked each time) and Last-Event-ID', async () => {
    const stub = stubFetch([]);
    await collect(stub);
    for await (const _ of readJobEvents({
      baseUrl: BASE_URL,
      token: 'static-token',
      lastEventId: 41,
      fetch: (input) => stub.fetch(input),
    })) {
      // nothing comes
    }
    let rotations = 0;
    const token = async (): Promise<string> => {
      rotations += 1;
      return `token-${rotations}`;
    };
    for (let round = 0; round < 2; round += 1) {
      for await (const _ of readJobEvents({ baseUrl: BASE_URL, token, fetch: (input) => stub.fetch(input) })) {
        // nothing comes
      }
    }
    const sent = stub.requests.map((request) => ({
      url: request.url,
      authorization: request.headers.get('authorization'),
      lastEventId: request.headers.get('last-event-id'),
    }));
    assert.deepEqual(sent, [
      { url: `${BASE_URL}/events`, authorization: null, lastEventId: null },
      { url: `${BASE_URL}/events`, authorization: 'Bearer static-token', lastEventId: '41' },
      { url: `${BASE_URL}/events`, authorization: 'Bearer token-1', lastEventId: null },
      { url: `${BASE_URL}/events`, authorization: 'Bearer token-2', lastEventId: null },
    ]);
  });

  it('leaving the loop cancels the body reader', async () => {
    const stub = stubFetch([`id: 1\ndata: ${JSON.stringify(jobEvent(1))}\n\n`], { hang: true });
    for await (const message of readJobEvents({ baseUrl: BASE_URL, fetch: (input) => stub.fetch(input) })) {
      assert.equal(message.event, 'message');
      break;
    }
    assert.equal(stub.cancelled(), true);
  });

  it('aborting the signal while a read waits cancels the body and throws the reason', async () => {
    const stub = stubFetch([': open\n\n'], { hang: true });
    const controller = new AbortController();
    const messages: JobStreamMessage[] = [];
    setTimeout(() => controller.abort(new Error('stop')), 20);
    await assert.rejects(async () => {
      for await (const message of readJobEvents({
        baseUrl: BASE_URL,
        fetch: (input) => stub.fetch(input),
        signal: controller.signal,
      })) {
        messages.push(message);
      }
    }, /stop/);
    assert.deepEqual(messages, []);
    assert.equal(stub.cancelled(), true);
  });

  it('close() ends a pending iteration quietly and cancels the body; an aborted signal refuses to start', async () => {
    const stub = stubFetch([': open\n\n'], { hang: true });
    const stream = await openJobEvents({ baseUrl: BASE_URL, fetch: (input) => stub.fetch(input) });
    assert.equal(stream.response.status, 200);
    setTimeout(() => stream.close(), 20);
    const messages = [];
    for await (const message of stream) messages.push(message);
    assert.deepEqual(messages, []);
    assert.equal(stub.cancelled(), true);

    await assert.rejects(
      openJobEvents({ baseUrl: BASE_URL, fetch: (input) => stub.fetch(input), signal: AbortSignal.abort() }),
      { name: 'AbortError' },
    );
  });
});

/** How a valid stream may be written: the same events, in any line endings and spacing. */
const streamPiece = fc.oneof(
  fc.record({
    kind: fc.constant('job' as const),
    id: fc.integer({ min: 1, max: 1_000_000 }),
    name: fc.option(fc.string({ unit: 'grapheme', maxLength: 12 }), { nil: undefined }),
    pretty: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('resync' as const) }),
  fc.record({ kind: fc.constant('comment' as const), text: fc.string({ unit: 'grapheme-ascii', maxLength: 10 }) }),
  fc.record({ kind: fc.constant('retry' as const), ms: fc.nat({ max: 100_000 }) }),
);

const validStream = fc
  .record({
    pieces: fc.array(streamPiece, { maxLength: 8 }),
    eol: fc.constantFrom('\n', '\r\n', '\r'),
    space: fc.constantFrom('', ' '),
  })
  .map(({ pieces, eol, space }) => {
    const expected: JobStreamMessage[] = [];
    let text = '';
    for (const piece of pieces) {
      if (piece.kind === 'job') {
        const event = jobEvent(piece.id, `job-${piece.id}`, piece.name);
        const lines = JSON.stringify(event, null, piece.pretty ? 2 : undefined).split('\n');
        text += `id:${space}${piece.id}${eol}${lines.map((line) => `data:${space}${line}${eol}`).join('')}${eol}`;
        expected.push({ event: 'message', id: String(piece.id), data: event });
      } else if (piece.kind === 'resync') {
        text += `event:${space}resync${eol}data:${space}{"reason":"events_lost"}${eol}${eol}`;
        expected.push({ event: 'resync', id: undefined, data: { reason: 'events_lost' } });
      } else if (piece.kind === 'comment') {
        // Comments hold no line break (fc's ASCII graphemes include CR and LF: take them out).
        text += `:${piece.text.replace(/[\r\n]/g, '')}${eol}`;
      } else {
        text += `retry:${space}${piece.ms}${eol}${eol}`;
      }
    }
    return { bytes: new TextEncoder().encode(text), expected };
  });

describe('readJobEvents: any chunking of a valid stream', () => {
  it('fuzzed: yields the same events as the whole stream in one chunk, and the events written', async () => {
    await fc.assert(
      fc.asyncProperty(validStream, fc.array(fc.nat(), { maxLength: 12 }), async ({ bytes, expected }, cuts) => {
        const points = [...new Set(cuts.map((cut) => (bytes.length === 0 ? 0 : cut % bytes.length)))].sort(
          (a, b) => a - b,
        );
        const chunks: Uint8Array[] = [];
        let start = 0;
        for (const point of [...points, bytes.length]) {
          chunks.push(bytes.slice(start, point));
          start = point;
        }
        assert.deepEqual(await collect(stubFetch(chunks)), expected);
        assert.deepEqual(await collect(stubFetch([bytes])), expected);
      }),
      { seed: 20_260_101, numRuns: 300 },
    );
  });
});
