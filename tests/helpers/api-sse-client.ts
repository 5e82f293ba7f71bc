/**
 * A minimal SSE client on node:http for tests: connects to 127.0.0.1 only, collects messages,
 * and waits for conditions with a deadline so no test can hang.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { assertMatchesContract, assertSseMessage, parseSse, type SseMessage } from './api-contract.js';

export interface EventStream {
  statusCode: number;
  headers: http.IncomingHttpHeaders;
  /** Every message so far (comments included), each checked against the contract. */
  messages: SseMessage[];
  /** Resolves once `predicate` holds for the messages so far; rejects after `timeoutMs`. */
  waitFor(predicate: (messages: SseMessage[]) => boolean, timeoutMs?: number): Promise<SseMessage[]>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

export interface OpenStreamOptions {
  port: number;
  token?: string;
  path?: string;
  headers?: Record<string, string>;
}

export function openEventStream(options: OpenStreamOptions): Promise<EventStream> {
  const path = options.path ?? '/events';
  return new Promise((resolve, reject) => {
    const request = http.get({
      host: '127.0.0.1',
      port: options.port,
      path,
      // No keep-alive pool: a pooled socket would outlive the test.
      agent: false,
      headers: {
        accept: 'text/event-stream',
        ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
        ...options.headers,
      },
    });
    request.setTimeout(10_000, () => request.destroy(new Error('SSE request timed out')));
    request.once('error', reject);
    request.once('response', (response) => {
      request.setTimeout(0);
      let text = '';
      const messages: SseMessage[] = [];
      const problems: unknown[] = [];
      const waiters = new Set<() => void>();
      let endedResolve: () => void = () => undefined;
      const ended = new Promise<void>((done) => {
        endedResolve = done;
      });
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        text += chunk;
        if (response.statusCode !== 200) return;
        const complete = text.lastIndexOf('\n\n');
        if (complete < 0) return;
        for (const message of parseSse(text.slice(0, complete + 2))) {
          try {
            assertSseMessage(message);
          } catch (error) {
            // Thrown here it would crash the process; waitFor reports it instead.
            problems.push(error);
          }
          messages.push(message);
        }
        text = text.slice(complete + 2);
        for (const wake of waiters) wake();
      });
      response.once('close', () => {
        endedResolve();
        for (const wake of waiters) wake();
      });
      const stream: EventStream = {
        statusCode: response.statusCode ?? 0,
        headers: response.headers,
        messages,
        ended,
        waitFor(predicate, timeoutMs = 5_000) {
          return new Promise((done, fail) => {
            const check = (): void => {
              if (problems.length > 0) {
                cleanUp();
                fail(problems[0]);
              } else if (predicate(messages)) {
                cleanUp();
                done(messages);
              } else if (response.destroyed && response.readableEnded) {
                cleanUp();
                fail(new Error(`stream ended first; got ${JSON.stringify(messages)}`));
              }
            };
            const timer = setTimeout(() => {
              cleanUp();
              fail(new Error(`timed out after ${timeoutMs} ms; got ${JSON.stringify(messages)}`));
            }, timeoutMs);
            const cleanUp = (): void => {
              clearTimeout(timer);
              waiters.delete(check);
            };
            waiters.add(check);
            check();
          });
        },
        close() {
          request.destroy();
        },
      };
      if (response.statusCode !== 200) {
        // Error answers are plain JSON responses: read them whole and check them like any other.
        response.once('end', () => {
          assertMatchesContract('GET', path, {
            statusCode: response.statusCode ?? 0,
            headers: response.headers,
            body: text,
          });
          resolve(stream);
        });
        return;
      }
      assertMatchesContract('GET', path, { statusCode: 200, headers: response.headers, body: '' });
      resolve(stream);
    });
  });
}

/** The job events (unnamed messages) of a stream, parsed. */
export function jobEvents(messages: readonly SseMessage[]): Array<{ id: number; type: string; job: { id: string } }> {
  return messages
    .filter((message) => message.event === undefined && message.data !== undefined)
    .map((message) => JSON.parse(message.data ?? '') as { id: number; type: string; job: { id: string } });
}

export function assertContiguous(ids: readonly number[], from: number): void {
  assert.deepEqual(
    ids,
    ids.map((_, index) => from + index),
    `event ids ${ids.join(',')} run on from ${from} with no gap and no repeat`,
  );
}
