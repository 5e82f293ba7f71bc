/**
 * GET /events (Server-Sent Events) read with `fetch` and eventsource-parser, so that the
 * Authorization header can be sent (a browser's `EventSource` cannot), and every message typed from
 * the contract's `x-sse-events`: an unnamed message is a `JobEvent`, `resync` a `ResyncEvent`.
 *
 * ```ts
 * for await (const message of readJobEvents({ baseUrl, token, signal })) {
 *   if (message.event === 'resync') reloadTheList();   // events were lost: re-read GET /downloads
 *   else show(message.data.job);                       // message.data: JobEvent
 * }
 * ```
 *
 * Memory stays bounded: the body is read one chunk at a time, only when the consumer asks for the
 * next message, and an event longer than `maxEventLength` ends the stream with an error instead of
 * being buffered. Leaving the loop, `close()` or aborting `signal` cancels the body.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { type ChillyClientOptions, createChillyClient, type JobEvent, type ResyncEvent } from './chilly-client.js';
import { apiErrorFromResponse, ChillyApiError, isRecord, UNEXPECTED_RESPONSE } from './errors.js';
import type { serverSentEvents } from './openapi-types.js';

/** The events of GET /events, by SSE event name (`message`: unnamed). */
export type JobStreamEvents = serverSentEvents['/events'];

/** One message of the stream: `event` tells which, `data` is its JSON, `id` the SSE `id:` (job events have one). */
export type JobStreamMessage = {
  [Name in keyof JobStreamEvents]: { event: Name; id: string | undefined; data: JobStreamEvents[Name] };
}[keyof JobStreamEvents];

/** Default bound on one event's text (a job with a very long file list is the largest there is). */
export const DEFAULT_MAX_EVENT_LENGTH = 16 * 1024 * 1024;

export interface ReadJobEventsOptions extends ChillyClientOptions {
  /**
   * The `id` of the last event received (a `JobEvent`'s `id`, or `message.id`): the server first
   * replays every later event, or sends `resync` when it no longer has them all.
   */
  lastEventId?: string | number | undefined;
  /** Aborting it ends the stream; the iteration then throws the signal's reason. */
  signal?: AbortSignal | undefined;
  /** The longest event, in characters, that is buffered (default 16 Mi); a longer one is an error. */
  maxEventLength?: number | undefined;
}

export type JobEventStreamErrorCode = 'malformed_event' | 'event_too_large';

/** The stream broke the contract: an event whose data is not what the contract says, or one too long to hold. */
export class JobEventStreamError extends Error {
  override readonly name = 'JobEventStreamError';
  readonly code: JobEventStreamErrorCode;

  constructor(code: JobEventStreamErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}

/** An open event stream: iterate it once; `close()` ends the iteration quietly and cancels the body. */
export interface JobEventStream extends AsyncIterable<JobStreamMessage> {
  /** The server's answer (status 200, `text/event-stream`); its body is read by the iteration. */
  readonly response: Response;
  close(): void;
}

/**
 * Connects to GET /events and resolves once the server has answered `200 text/event-stream` (it
 * then sends every event from that moment on); rejects with a `ChillyApiError` for any other answer
 * (a wrong token is `401 unauthorized`), or with fetch's own error when there is no answer.
 * Iterate the stream, or `close()` it: an open stream holds a connection.
 */
export async function openJobEvents(options: ReadJobEventsOptions): Promise<JobEventStream> {
  const { lastEventId, signal, maxEventLength = DEFAULT_MAX_EVENT_LENGTH, ...clientOptions } = options;
  signal?.throwIfAborted();
  const controller = new AbortController();
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let closed = false;
  const close = (reason?: unknown): void => {
    if (closed) return;
    closed = true;
    signal?.removeEventListener('abort', onAbort);
    // Cancelling the reader ends a pending read at once and lets the connection go; the abort
    // covers a request that has no answer yet.
    reader?.cancel(reason).catch(() => undefined);
    controller.abort(reason);
  };
  const onAbort = (): void => close(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });

  let result: Awaited<ReturnType<typeof requestEvents>>;
  try {
    result = await requestEvents(clientOptions, lastEventId, controller.signal);
  } catch (error) {
    close();
    throw error;
  }
  const { response } = result;
  if (!response.ok) {
    close();
    throw apiErrorFromResponse(response, result.error);
  }
  const body = result.data;
  const type = response.headers.get('content-type') ?? '';
  if (response.status !== 200 || body === null || body === undefined || !/^text\/event-stream\s*(;|$)/i.test(type)) {
    body?.cancel().catch(() => undefined);
    close();
    throw new ChillyApiError(
      response.status,
      UNEXPECTED_RESPONSE,
      `HTTP ${response.status} with ${type === '' ? 'no Content-Type' : `Content-Type ${type}`} where an event stream (text/event-stream) was expected.`,
    );
  }
  if (closed) {
    // Aborted while the answer was on its way.
    body.cancel().catch(() => undefined);
    throw signal?.reason;
  }
  const bodyReader = body.getReader();
  reader = bodyReader;

  const decoder = new TextDecoder();
  /** Messages parsed from the chunk just read, not yet handed out: at most one chunk's worth. */
  const ready: JobStreamMessage[] = [];
  let failure: JobEventStreamError | undefined;
  const parser = createParser({
    maxBufferSize: maxEventLength,
    onEvent(message) {
      if (failure !== undefined) return;
      const decoded = decodeMessage(message);
      if (decoded instanceof JobEventStreamError) failure = decoded;
      else if (decoded !== undefined) ready.push(decoded);
    },
    onError(error) {
      // Unknown fields and invalid `retry:` values are ignored, as the SSE standard says.
      if (error.type === 'max-buffer-size-exceeded') {
        failure ??= new JobEventStreamError('event_too_large', `An event is longer than ${maxEventLength} characters.`);
      }
    },
  });

  let ended = false;
  /** Whether the last text fed ends in CR, which may be the first half of a CRLF. */
  let endsInCr = false;
  const feed = (text: string): void => {
    if (text === '') return;
    endsInCr = text.endsWith('\r');
    parser.feed(text);
  };

  async function* messages(): AsyncGenerator<JobStreamMessage, void, undefined> {
    try {
      for (;;) {
        if (signal?.aborted) throw signal.reason;
        if (closed) return;
        const next = ready.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        if (failure !== undefined) throw failure;
        if (ended) return;
        let chunk: Awaited<ReturnType<typeof bodyReader.read>>;
        try {
          chunk = await bodyReader.read();
        } catch (error) {
          // Our own close or the caller's abort (checked above); anything else is a dropped connection.
          if (closed || signal?.aborted) continue;
          throw error;
        }
        if (!chunk.done) {
          feed(decoder.decode(chunk.value, { stream: true }));
          continue;
        }
        if (closed || signal?.aborted) continue;
        // The server ended the stream. A CR at its very end ends a line (the parser waits for a
        // possible LF); an event left unfinished is dropped, as the standard says.
        ended = true;
        feed(decoder.decode());
        if (endsInCr && failure === undefined) parser.feed('\n');
      }
    } finally {
      close();
    }
  }

  const iterator = messages();
  return {
    response,
    close: () => close(),
    [Symbol.asyncIterator]: () => iterator,
  };
}

/**
 * The messages of GET /events, from the moment of connection (or replayed from `lastEventId`) until
 * the server ends the stream, the loop is left, or `signal` is aborted. Connects on the first
 * iteration; errors as `openJobEvents`, and `JobEventStreamError` when an event breaks the contract.
 */
export async function* readJobEvents(options: ReadJobEventsOptions): AsyncGenerator<JobStreamMessage, void, undefined> {
  const stream = await openJobEvents(options);
  try {
    yield* stream;
  } finally {
    stream.close();
  }
}

function requestEvents(options: ChillyClientOptions, lastEventId: string | number | undefined, signal: AbortSignal) {
  return createChillyClient(options).GET('/events', {
    params: lastEventId === undefined ? {} : { header: { 'Last-Event-ID': String(lastEventId) } },
    headers: { Accept: 'text/event-stream' },
    parseAs: 'stream',
    signal,
  });
}

/** Event names this client reads; the type makes it list exactly the contract's. */
const EVENT_NAMES = { message: true, resync: true } as const satisfies Record<keyof JobStreamEvents, true>;

function isKnownEvent(name: string): name is keyof JobStreamEvents {
  return Object.hasOwn(EVENT_NAMES, name);
}

function decodeMessage(message: EventSourceMessage): JobStreamMessage | JobEventStreamError | undefined {
  const name = message.event ?? 'message';
  // A name this client does not know (a newer server's) is skipped, as EventSource skips events
  // nobody listens to.
  if (!isKnownEvent(name)) return undefined;
  const malformed = (what: string): JobEventStreamError =>
    new JobEventStreamError(
      'malformed_event',
      `The ${name === 'message' ? 'job event' : `"${name}" event`}${message.id === undefined ? '' : ` ${message.id}`} ${what}.`,
    );
  let data: unknown;
  try {
    data = JSON.parse(message.data);
  } catch {
    return malformed('has data that is not JSON');
  }
  switch (name) {
    case 'message':
      return isJobEvent(data) ? { event: name, id: message.id, data } : malformed('is not a JobEvent');
    case 'resync':
      return isResyncEvent(data) ? { event: name, id: message.id, data } : malformed('is not a ResyncEvent');
    default:
      return name satisfies never;
  }
}

/** What a consumer relies on (the event's id and type, the job's id, status and progress); not a full schema check. */
function isJobEvent(value: unknown): value is JobEvent {
  return (
    isRecord(value) &&
    typeof value.id === 'number' &&
    typeof value.type === 'string' &&
    typeof value.at === 'string' &&
    isRecord(value.job) &&
    typeof value.job.id === 'string' &&
    typeof value.job.status === 'string' &&
    isRecord(value.job.progress)
  );
}

function isResyncEvent(value: unknown): value is ResyncEvent {
  return isRecord(value) && typeof value.reason === 'string';
}
