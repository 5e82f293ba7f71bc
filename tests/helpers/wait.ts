import type { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

/** Resolves with the event's arguments once `predicate` accepts them; rejects after `timeoutMs`. */
export function waitForEvent<A extends unknown[]>(
  emitter: EventEmitter,
  event: string,
  options: { timeoutMs?: number; predicate?: (...args: A) => boolean } = {},
): Promise<A> {
  const { timeoutMs = 30_000, predicate = () => true } = options;
  return new Promise<A>((resolve, reject) => {
    const onEvent = (...args: unknown[]) => {
      if (!predicate(...(args as A))) return;
      cleanup();
      resolve(args as A);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for '${event}'`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      emitter.off(event, onEvent);
    };
    emitter.on(event, onEvent);
  });
}

/** Polls `check` every `intervalMs` until it returns true; rejects after `timeoutMs`. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  { timeoutMs = 30_000, intervalMs = 50, what = 'condition' } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether `promise` resolves within `ms` (false when the time runs out first; its rejection is passed on). */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const timer = new AbortController();
  const timedOut = delay(ms, false, { signal: timer.signal }).catch(() => false);
  const result = await Promise.race([promise.then(() => true), timedOut]);
  timer.abort();
  return result;
}

/** A fresh temp folder, removed by the returned `cleanup`. */
export async function tempDir(prefix = 'chilly-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
