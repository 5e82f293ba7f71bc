/**
 * Retry with exponential backoff and jitter, for every call that crosses the network (TMDB, trackers, …).
 * Modelled on sindresorhus/p-retry, but with injectable time and randomness so tests never really wait.
 */
import { ChillyError } from './domain/errors.js';

/** Defaults: 200 ms, doubling per failed attempt, capped at 30 s, full jitter. */
export interface BackoffOptions {
  minDelayMs?: number;
  /** Caps every wait, `Retry-After` hints included. */
  maxDelayMs?: number;
  factor?: number;
  /** 'full' waits a random time in [0, computed] so clients that failed together do not retry together. */
  jitter?: 'full' | 'none';
}

export interface AttemptContext {
  readonly attemptNumber: number;
  readonly retriesLeft: number;
  /** Hand it on (e.g. to fetch) so an abort also cancels the attempt in flight. */
  readonly signal: AbortSignal | undefined;
}

export interface FailedAttemptContext {
  readonly error: unknown;
  readonly attemptNumber: number;
  readonly retriesLeft: number;
  /** Wait before the next attempt; 0 when none is left. `shouldRetry` may still veto that attempt. */
  readonly nextDelayMs: number;
}

export interface RetryOptions extends BackoffOptions {
  /** Total attempts, the first included. Default 5. */
  maxAttempts?: number;
  signal?: AbortSignal;
  shouldRetry?: (error: unknown, context: FailedAttemptContext) => boolean | Promise<boolean>;
  /** Runs before `shouldRetry`, for every failure except an AbortRetryError. */
  onFailedAttempt?: (context: FailedAttemptContext) => void | Promise<void>;
  /** The server's own wait (e.g. from `Retry-After`, see parseRetryAfter) in ms, or undefined for backoff. */
  retryAfterMs?: (error: unknown) => number | undefined;
  random?: () => number;
  sleep?: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
}

const DEFAULTS = { maxAttempts: 5, minDelayMs: 200, maxDelayMs: 30_000, factor: 2, jitter: 'full' } as const;
// setTimeout fires after ~1 ms for anything longer, which would turn a long wait into a hot loop.
const MAX_TIMER_MS = 2_147_483_647;

type ResolvedOptions = Required<BackoffOptions> & { maxAttempts: number };

/** Thrown from an operation to stop retrying: retry() rethrows the original error (the cause). */
export class AbortRetryError extends Error {
  override readonly name = 'AbortRetryError';

  constructor(causeOrMessage: unknown) {
    const isMessage = typeof causeOrMessage === 'string';
    const message = causeOrMessage instanceof Error ? causeOrMessage.message : String(causeOrMessage);
    super(message, isMessage ? undefined : { cause: causeOrMessage });
  }
}

/** The wait after failed attempt `attemptNumber` (1-based), before any `Retry-After` override. */
export function computeBackoffDelay(attemptNumber: number, options: BackoffOptions = {}, random = Math.random): number {
  const min = options.minDelayMs ?? DEFAULTS.minDelayMs;
  const max = options.maxDelayMs ?? DEFAULTS.maxDelayMs;
  const growth = (options.factor ?? DEFAULTS.factor) ** Math.max(0, attemptNumber - 1);
  // growth reaches Infinity after enough attempts, and 0 * Infinity is NaN.
  const capped = min === 0 ? 0 : Math.min(max, min * growth);
  return Math.round((options.jitter ?? DEFAULTS.jitter) === 'full' ? random() * capped : capped);
}

/** Retry-After (RFC 9110 §10.2.3) as ms from `now`; undefined when the value is not usable. */
export function parseRetryAfter(headerValue: string | null | undefined, now: number = Date.now()): number | undefined {
  const value = headerValue?.trim();
  if (!value) return undefined;
  // Negative seconds are not valid HTTP, but their only sensible reading is "retry now".
  if (/^-?\d+$/.test(value)) return Math.max(0, Number(value) * 1000);
  const date = parseHttpDate(value, now);
  return date === undefined ? undefined : Math.max(0, date - now);
}

export async function retry<T>(
  operation: (context: AttemptContext) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const resolved = resolveOptions(options);
  const { signal } = options;
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? defaultSleep;
  const delayAfter = (error: unknown, attemptNumber: number): number => {
    const hinted = options.retryAfterMs?.(error);
    if (hinted === undefined || Number.isNaN(hinted)) return computeBackoffDelay(attemptNumber, resolved, random);
    // The server knows best, but a buggy or hostile header must not stall us past the cap.
    return Math.min(resolved.maxDelayMs, Math.max(0, Math.round(hinted)));
  };

  for (let attemptNumber = 1; ; attemptNumber++) {
    signal?.throwIfAborted();
    const retriesLeft = resolved.maxAttempts - attemptNumber;
    try {
      return await operation(Object.freeze({ attemptNumber, retriesLeft, signal }));
    } catch (error) {
      if (error instanceof AbortRetryError) throw 'cause' in error ? error.cause : error;
      // An abort mid-attempt usually surfaces as the operation's own AbortError; the caller expects its reason.
      signal?.throwIfAborted();
      const nextDelayMs = retriesLeft === 0 ? 0 : delayAfter(error, attemptNumber);
      const context: FailedAttemptContext = Object.freeze({ error, attemptNumber, retriesLeft, nextDelayMs });
      await options.onFailedAttempt?.(context);
      if (retriesLeft === 0 || !(await (options.shouldRetry?.(error, context) ?? true))) throw error;
      await sleep(nextDelayMs, signal);
    }
  }
}

function resolveOptions(options: RetryOptions): ResolvedOptions {
  const { maxAttempts = DEFAULTS.maxAttempts, minDelayMs = DEFAULTS.minDelayMs, factor = DEFAULTS.factor } = options;
  const { maxDelayMs = DEFAULTS.maxDelayMs, jitter = DEFAULTS.jitter } = options;
  const checks: Array<[ok: boolean, problem: string]> = [
    [Number.isInteger(maxAttempts) && maxAttempts >= 1, `maxAttempts must be an integer >= 1 (got ${maxAttempts})`],
    [Number.isFinite(minDelayMs) && minDelayMs >= 0, `minDelayMs must be a finite number >= 0 (got ${minDelayMs})`],
    [maxDelayMs >= minDelayMs && maxDelayMs <= MAX_TIMER_MS, `maxDelayMs must be in [minDelayMs, ${MAX_TIMER_MS}]`],
    [Number.isFinite(factor) && factor >= 1, `factor must be a finite number >= 1 (got ${factor})`],
    [jitter === 'full' || jitter === 'none', `jitter must be 'full' or 'none' (got ${String(jitter)})`],
  ];
  const failed = checks.find(([ok]) => !ok);
  if (failed) throw new ChillyError('validation_failed', `retry: ${failed[1]}`);
  return { maxAttempts, minDelayMs, maxDelayMs, factor, jitter };
}

function defaultSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      // A live timer would keep the process up for the rest of the wait after the caller gave up.
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const TIME = '(?<hour>\\d{2}):(?<minute>\\d{2}):(?<second>\\d{2})';
// RFC 9110 §5.6.7: senders use IMF-fixdate, but recipients must also accept RFC 850 and asctime dates.
const HTTP_DATES = [
  new RegExp(`^[a-z]{3}, (?<day>\\d{2}) (?<month>[a-z]{3}) (?<year>\\d{4}) ${TIME} GMT$`, 'i'),
  new RegExp(`^[a-z]{6,9}, (?<day>\\d{2})-(?<month>[a-z]{3})-(?<year>\\d{2}) ${TIME} GMT$`, 'i'),
  new RegExp(`^[a-z]{3} (?<month>[a-z]{3}) (?<day>[ \\d]\\d) ${TIME} (?<year>\\d{4})$`, 'i'),
];

function parseHttpDate(value: string, now: number): number | undefined {
  const groups = HTTP_DATES.map((pattern) => pattern.exec(value)?.groups).find((found) => found !== undefined);
  if (groups === undefined) return undefined;
  let year = Number(groups.year);
  if (groups.year?.length === 2) {
    // §5.6.7: a two-digit year more than 50 years ahead belongs to the previous century.
    year += 2000;
    if (year > new Date(now).getUTCFullYear() + 50) year -= 100;
  }
  const month = MONTHS.indexOf(groups.month?.toLowerCase() ?? '');
  const field = (name: string): number => Number(groups[name]);
  const [day, hour, minute, second] = [field('day'), field('hour'), field('minute'), field('second')] as const;
  const time = Date.UTC(year, month, day, hour, minute, second);
  const date = new Date(time);
  // Date.UTC quietly rolls 31 Feb into March and maps years 0-99 to 19xx; such input is garbage.
  const inRange = month >= 0 && hour < 24 && minute < 60 && second < 60;
  return inRange && date.getUTCDate() === day && date.getUTCFullYear() === year ? time : undefined;
}
