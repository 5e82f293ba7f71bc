/**
 * Follows one job on the server until it settles, from GET /events: each (re)connection first
 * re-reads the job's status, so nothing that happened before or between connections is missed,
 * and a reconnect sends Last-Event-ID. Every wait is bounded.
 */
import type { Job, JobEventStream, JobStatus } from '../client/index.js';
import { ApiError, type CliApi } from './api.js';
import { CliError } from './io.js';

/** States in which a job will not move on by itself, so following it ends. */
export const SETTLED_STATUSES: ReadonlySet<JobStatus> = new Set([
  'completed',
  'error',
  'cancelled',
  'files_missing',
  'paused',
]);

export interface FollowOptions {
  onUpdate(job: Job): void;
  signal: AbortSignal;
  /** The server sends a heartbeat every 15 s: silence this long means a dead connection. Default 45 s. */
  idleTimeoutMs?: number;
  /** Consecutive failed connections before giving up. Default 10. */
  maxReconnects?: number;
  reconnectDelayMs?: number;
}

export async function followJob(api: CliApi, id: string, options: FollowOptions): Promise<Job> {
  const idleTimeoutMs = options.idleTimeoutMs ?? 45_000;
  const maxReconnects = options.maxReconnects ?? 10;
  const reconnectDelayMs = options.reconnectDelayMs ?? 1_000;
  let lastEventId: number | undefined;
  let failures = 0;
  let seenOnce = false;

  const settled = (job: Job): boolean => {
    seenOnce = true;
    options.onUpdate(job);
    return SETTLED_STATUSES.has(job.status);
  };
  const readStatus = async (): Promise<Job> => {
    try {
      return await api.call(api.client.GET('/download/status/{id}', { params: { path: { id } } }));
    } catch (error) {
      if (seenOnce && error instanceof ApiError && error.code === 'job_not_found') {
        throw new CliError(`Job ${id} is gone: it was cancelled.`, { code: 'job_not_found' });
      }
      throw error;
    }
  };

  for (;;) {
    options.signal.throwIfAborted();
    let stream: JobEventStream | undefined;
    let idle: NodeJS.Timeout | undefined;
    try {
      stream = await api.openEvents({
        signal: options.signal,
        ...(lastEventId === undefined ? {} : { lastEventId }),
      });
      const open = stream;
      const armIdle = (): void => {
        clearTimeout(idle);
        idle = setTimeout(() => open.close(), idleTimeoutMs);
      };
      armIdle();
      const current = await readStatus();
      failures = 0;
      if (settled(current)) return current;
      for await (const message of open) {
        armIdle();
        if (message.id !== undefined && /^\d+$/.test(message.id)) lastEventId = Number(message.id);
        if (message.event === 'resync') {
          const job = await readStatus();
          if (settled(job)) return job;
        } else if (message.data.job.id === id && settled(message.data.job)) {
          return message.data.job;
        }
      }
      // The stream ended (server closing, or silence): reconnect and catch up.
    } catch (error) {
      if (options.signal.aborted) throw error;
      // A wrong token or a job that does not exist will not get better by retrying.
      if (error instanceof ApiError) throw error;
      if (error instanceof CliError && error.code !== 'server_unreachable') throw error;
      failures += 1;
      if (failures > maxReconnects) throw error;
    } finally {
      clearTimeout(idle);
      stream?.close();
    }
    await delay(reconnectDelayMs, options.signal);
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
