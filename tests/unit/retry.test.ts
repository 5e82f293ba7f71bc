import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ChillyError, isChillyError } from '../../src/domain/errors.js';
import {
  AbortRetryError,
  type AttemptContext,
  computeBackoffDelay,
  type FailedAttemptContext,
  parseRetryAfter,
  type RetryOptions,
  retry,
} from '../../src/retry.js';

/** A sleep that records what it was asked to wait and returns at once, so no test really waits. */
function recordingSleep(): { delays: number[]; sleep: NonNullable<RetryOptions['sleep']> } {
  const delays: number[] = [];
  return { delays, sleep: async (ms) => void delays.push(ms) };
}

/** An operation that throws a fresh, numbered error `failures` times, then resolves with `value`. */
function flaky<T>(
  failures: number,
  value: T,
): { calls: AttemptContext[]; operation: (c: AttemptContext) => Promise<T> } {
  const calls: AttemptContext[] = [];
  return {
    calls,
    operation: async (context) => {
      calls.push(context);
      if (calls.length <= failures) throw new Error(`failure ${calls.length}`);
      return value;
    },
  };
}

describe('retry', () => {
  test('resolves on the first try without sleeping', async () => {
    const { delays, sleep } = recordingSleep();
    const { calls, operation } = flaky(0, 'ok');
    assert.equal(await retry(operation, { sleep }), 'ok');
    assert.deepEqual(delays, []);
    assert.equal(calls.length, 1);
    assert.deepEqual({ ...calls[0] }, { attemptNumber: 1, retriesLeft: 4, signal: undefined });
    assert.ok(Object.isFrozen(calls[0]));
  });

  test('retries after failures with delays growing exponentially up to maxDelayMs', async () => {
    const { delays, sleep } = recordingSleep();
    const { calls, operation } = flaky(5, 42);
    const options = { maxAttempts: 6, minDelayMs: 100, maxDelayMs: 1000, factor: 2, jitter: 'none', sleep } as const;
    assert.equal(await retry(operation, options), 42);
    assert.deepEqual(delays, [100, 200, 400, 800, 1000]);
    assert.deepEqual(
      calls.map((c) => [c.attemptNumber, c.retriesLeft]),
      [
        [1, 5],
        [2, 4],
        [3, 3],
        [4, 2],
        [5, 1],
        [6, 0],
      ],
    );
  });

  test('full jitter scales each delay by random() in [0, computed]', async () => {
    const { delays, sleep } = recordingSleep();
    const draws = [0, 0.5, 0.999_999];
    const random = (): number => draws.shift() ?? assert.fail('random() called too often');
    await retry(flaky(3, 'ok').operation, { minDelayMs: 100, maxDelayMs: 10_000, sleep, random });
    assert.deepEqual(delays, [0, 100, 400]);
    assert.equal(draws.length, 0);
  });

  test('gives up after maxAttempts and rethrows the last error', async () => {
    const { delays, sleep } = recordingSleep();
    const { calls, operation } = flaky(Number.POSITIVE_INFINITY, 'never');
    await assert.rejects(retry(operation, { maxAttempts: 3, sleep, random: () => 1 }), { message: 'failure 3' });
    assert.equal(calls.length, 3);
    assert.deepEqual(delays, [200, 400]);
  });

  test('maxAttempts 1 means no retry at all', async () => {
    const { delays, sleep } = recordingSleep();
    await assert.rejects(retry(flaky(1, 'ok').operation, { maxAttempts: 1, sleep }), { message: 'failure 1' });
    assert.deepEqual(delays, []);
  });

  test('AbortRetryError stops at once and rethrows its cause', async () => {
    const original = new Error('404 not found');
    const { delays, sleep } = recordingSleep();
    let calls = 0;
    const seen: FailedAttemptContext[] = [];
    const operation = async (): Promise<never> => {
      calls++;
      throw new AbortRetryError(original);
    };
    const rejection = retry(operation, { sleep, onFailedAttempt: (c) => void seen.push(c) });
    await assert.rejects(rejection, (error) => error === original);
    assert.equal(calls, 1);
    assert.deepEqual(delays, []);
    assert.deepEqual(seen, []);
  });

  test('AbortRetryError built from a message is rethrown itself', async () => {
    const operation = async (): Promise<never> => {
      throw new AbortRetryError('bad API key');
    };
    await assert.rejects(retry(operation), { name: 'AbortRetryError', message: 'bad API key' });
  });

  test('shouldRetry returning false stops and rethrows that error', async () => {
    const { delays, sleep } = recordingSleep();
    const { calls, operation } = flaky(Number.POSITIVE_INFINITY, 'never');
    const asked: Array<[string, number]> = [];
    const shouldRetry = async (error: unknown, context: FailedAttemptContext): Promise<boolean> => {
      asked.push([(error as Error).message, context.attemptNumber]);
      return context.attemptNumber < 2;
    };
    await assert.rejects(retry(operation, { sleep, shouldRetry }), { message: 'failure 2' });
    assert.equal(calls.length, 2);
    assert.equal(delays.length, 1);
    assert.deepEqual(asked, [
      ['failure 1', 1],
      ['failure 2', 2],
    ]);
  });

  test('shouldRetry is not consulted once no attempt is left', async () => {
    let asked = 0;
    const shouldRetry = (): boolean => {
      asked++;
      return true;
    };
    const options = { maxAttempts: 2, sleep: recordingSleep().sleep, shouldRetry };
    await assert.rejects(retry(flaky(Number.POSITIVE_INFINITY, 'never').operation, options));
    assert.equal(asked, 1);
  });

  test('onFailedAttempt gets a frozen context with the right numbers, before the wait', async () => {
    const events: string[] = [];
    const seen: FailedAttemptContext[] = [];
    const sleep = async (ms: number): Promise<void> => void events.push(`sleep ${ms}`);
    const onFailedAttempt = async (context: FailedAttemptContext): Promise<void> => {
      seen.push(context);
      events.push(`failed ${context.attemptNumber}`);
    };
    const options = { maxAttempts: 3, jitter: 'none', sleep, onFailedAttempt } as const;
    await assert.rejects(retry(flaky(Number.POSITIVE_INFINITY, 'never').operation, options));
    assert.deepEqual(
      seen.map(({ error, ...numbers }) => ({ message: (error as Error).message, ...numbers })),
      [
        { message: 'failure 1', attemptNumber: 1, retriesLeft: 2, nextDelayMs: 200 },
        { message: 'failure 2', attemptNumber: 2, retriesLeft: 1, nextDelayMs: 400 },
        { message: 'failure 3', attemptNumber: 3, retriesLeft: 0, nextDelayMs: 0 },
      ],
    );
    assert.deepEqual(events, ['failed 1', 'sleep 200', 'failed 2', 'sleep 400', 'failed 3']);
    for (const context of seen) {
      assert.ok(Object.isFrozen(context));
      assert.throws(() => {
        (context as { attemptNumber: number }).attemptNumber = 99;
      }, TypeError);
    }
  });

  test('retryAfterMs overrides the backoff delay and is capped by maxDelayMs', async () => {
    const { delays, sleep } = recordingSleep();
    const hints = new Map<string, number>([
      ['failure 1', 1500],
      ['failure 2', 60_000],
    ]);
    const retryAfterMs = (error: unknown): number | undefined => hints.get((error as Error).message);
    const options = { maxDelayMs: 5000, jitter: 'none', sleep, retryAfterMs, random: () => assert.fail() } as const;
    await retry(flaky(3, 'ok').operation, options);
    assert.deepEqual(delays, [1500, 5000, 800]);
  });

  test('an aborted signal rejects with its reason before the first attempt', async () => {
    const reason = new Error('user cancelled');
    let calls = 0;
    const operation = async (): Promise<string> => `call ${++calls}`;
    await assert.rejects(retry(operation, { signal: AbortSignal.abort(reason) }), (error) => error === reason);
    assert.equal(calls, 0);
  });

  test('an abort during the real default sleep rejects promptly and clears the timer', async () => {
    const reason = new Error('shutting down');
    const controller = new AbortController();
    const timersBefore = process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
    setTimeout(() => controller.abort(reason), 50);
    const { calls, operation } = flaky(Number.POSITIVE_INFINITY, 'never');
    const options = { minDelayMs: 60_000, maxDelayMs: 60_000, jitter: 'none', signal: controller.signal } as const;
    const started = performance.now();
    await assert.rejects(retry(operation, options), (error) => error === reason);
    assert.ok(performance.now() - started < 1000, 'rejected promptly instead of waiting the full delay');
    assert.equal(calls.length, 1);
    const timersAfter = process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
    assert.equal(timersAfter, timersBefore, 'no timer is left to keep the process alive');
  });

  test('an abort during an attempt rejects with the reason instead of retrying', async () => {
    const reason = new Error('user cancelled');
    const controller = new AbortController();
    const { delays, sleep } = recordingSleep();
    let calls = 0;
    const operation = async (): Promise<never> => {
      calls++;
      controller.abort(reason);
      throw new Error('fetch aborted');
    };
    await assert.rejects(retry(operation, { signal: controller.signal, sleep }), (error) => error === reason);
    assert.equal(calls, 1);
    assert.deepEqual(delays, []);
  });

  test('invalid options are rejected up front with validation_failed', async () => {
    const invalid: RetryOptions[] = [
      { maxAttempts: 0 },
      { maxAttempts: -1 },
      { maxAttempts: 2.5 },
      { maxAttempts: Number.NaN },
      { minDelayMs: -1 },
      { minDelayMs: Number.POSITIVE_INFINITY },
      { minDelayMs: 500, maxDelayMs: 100 },
      { maxDelayMs: 2 ** 31 },
      { factor: 0.5 },
      { factor: Number.NaN },
      { jitter: 'some' as 'full' },
    ];
    for (const options of invalid) {
      let called = false;
      const operation = async (): Promise<void> => {
        called = true;
      };
      await assert.rejects(
        retry(operation, options),
        (error) => isChillyError(error, 'validation_failed') && error instanceof ChillyError,
        JSON.stringify(options),
      );
      assert.equal(called, false);
    }
  });
});

describe('computeBackoffDelay', () => {
  test('grows by factor, caps at maxDelayMs and never yields NaN', () => {
    const none = { minDelayMs: 100, maxDelayMs: 1000, factor: 3, jitter: 'none' } as const;
    assert.deepEqual(
      [1, 2, 3, 4].map((n) => computeBackoffDelay(n, none)),
      [100, 300, 900, 1000],
    );
    assert.equal(computeBackoffDelay(5000, none), 1000);
    assert.equal(computeBackoffDelay(5000, { ...none, minDelayMs: 0 }), 0);
    assert.equal(
      computeBackoffDelay(3, {}, () => 0.25),
      200,
    );
  });
});

describe('parseRetryAfter', () => {
  const now = Date.UTC(2025, 0, 1, 12, 0, 0);

  test('reads delay-seconds', () => {
    assert.equal(parseRetryAfter('120', now), 120_000);
    assert.equal(parseRetryAfter(' 0 ', now), 0);
    assert.equal(parseRetryAfter('-5', now), 0);
  });

  test('reads the three HTTP-date forms as a delay from now, past dates as 0', () => {
    assert.equal(parseRetryAfter('Wed, 01 Jan 2025 12:01:30 GMT', now), 90_000);
    assert.equal(parseRetryAfter('Wednesday, 01-Jan-25 12:00:10 GMT', now), 10_000);
    assert.equal(parseRetryAfter('Wed Jan  1 12:00:05 2025', now), 5000);
    assert.equal(parseRetryAfter('Tue, 31 Dec 2024 23:59:59 GMT', now), 0);
  });

  test('returns undefined for garbage, impossible dates and empty values', () => {
    for (const value of ['soon', '1.5', '12abc', 'Sun, 31 Feb 2025 10:00:00 GMT', 'Wed, 01 Jan 2025 25:00:00 GMT']) {
      assert.equal(parseRetryAfter(value, now), undefined, value);
    }
    for (const value of ['', '   ', null, undefined]) {
      assert.equal(parseRetryAfter(value, now), undefined, String(value));
    }
  });
});
