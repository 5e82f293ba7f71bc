/**
 * The jobs, kept live: GET /downloads once, then the job events (GET /events over fetch). A dropped
 * stream reconnects with the last event id and misses nothing; `resync` (events were lost, or the
 * server restarted) reloads the list. Every screen reads jobs from here.
 */
import { useEffect, useState } from 'preact/hooks';
import {
  client,
  describeError,
  isUnauthorized,
  type Job,
  jobName,
  notifySessionLost,
  openEvents,
  unwrap,
} from './api.js';
import { announce } from './components/announcer.js';
import { statusLabel } from './format.js';

export type Connection =
  | { state: 'connecting' }
  | { state: 'live' }
  | { state: 'retrying'; message: string; retryInSeconds: number };

/** The newest jobs listed; events keep adding newer ones. */
export const LIST_LIMIT = 500;
const FIRST_RETRY_MS = 1_000;
const LAST_RETRY_MS = 15_000;

/** How long to wait before connecting again: at once after one drop, then 1 s doubling to 15 s. */
function retryDelay(failures: number): number {
  if (failures <= 1) return 250;
  return Math.min(FIRST_RETRY_MS * 2 ** (failures - 2), LAST_RETRY_MS);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}

class JobsStore {
  #jobs = new Map<string, Job>();
  #sorted: Job[] | undefined;
  #total = 0;
  #loaded = false;
  #connection: Connection = { state: 'connecting' };
  readonly #listeners = new Set<() => void>();
  #controller: AbortController | undefined;

  /** Newest first. */
  get jobs(): readonly Job[] {
    this.#sorted ??= [...this.#jobs.values()].sort(
      (a, b) => b.createdAt.localeCompare(a.createdAt) || a.id.localeCompare(b.id),
    );
    return this.#sorted;
  }

  /** How many jobs the server has (the list may show fewer). */
  get total(): number {
    return Math.max(this.#total, this.#jobs.size);
  }

  /** Whether the list has been read at least once. */
  get loaded(): boolean {
    return this.#loaded;
  }

  get connection(): Connection {
    return this.#connection;
  }

  job(id: string): Job | undefined {
    return this.#jobs.get(id);
  }

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Starts following the server (once signed in); `stop()` ends it. */
  start(): void {
    if (this.#controller !== undefined) return;
    const controller = new AbortController();
    this.#controller = controller;
    void this.#follow(controller.signal);
  }

  stop(): void {
    this.#controller?.abort();
    this.#controller = undefined;
    this.#jobs.clear();
    this.#loaded = false;
    this.#total = 0;
    this.#connection = { state: 'connecting' };
    this.#changed();
  }

  /** A job as an action answered it (before its event arrives). */
  upsert(job: Job): void {
    const known = this.#jobs.has(job.id);
    this.#jobs.set(job.id, job);
    if (!known) this.#total += 1;
    this.#changed();
  }

  remove(id: string): void {
    if (this.#jobs.delete(id)) this.#total = Math.max(0, this.#total - 1);
    this.#changed();
  }

  /** GET /download/status/{id}: for a job not in the list (an old one, or an address typed in). */
  async fetchJob(id: string): Promise<Job> {
    const job = unwrap(await client.GET('/download/status/{id}', { params: { path: { id } } }));
    this.#jobs.set(job.id, job);
    this.#changed();
    return job;
  }

  async reload(): Promise<void> {
    const page = unwrap(await client.GET('/downloads', { params: { query: { limit: LIST_LIMIT } } }));
    this.#jobs = new Map(page.jobs.map((job) => [job.id, job]));
    this.#total = page.total;
    this.#loaded = true;
    this.#changed();
  }

  async #follow(signal: AbortSignal): Promise<void> {
    let lastEventId: number | undefined;
    /** Failures since the stream was last live. */
    let failures = 0;
    while (!signal.aborted) {
      try {
        // Connected first, then listed: nothing that happens in between is missed.
        const stream = await openEvents({ lastEventId, signal });
        if (lastEventId === undefined || !this.#loaded) await this.reload();
        this.#setConnection({ state: 'live' });
        failures = 0;
        for await (const message of stream) {
          if (message.event === 'resync') {
            await this.reload();
            continue;
          }
          lastEventId = message.data.id;
          this.#apply(message.data.type, message.data.job);
        }
        // The server ended the stream (it dropped a slow reader, or is closing): connect again.
      } catch (error) {
        if (signal.aborted) return;
        if (isUnauthorized(error)) {
          notifySessionLost();
          return;
        }
        failures += 1;
        // A dropped connection is picked up again quietly; the page says so when the server stays away.
        if (failures > 1) {
          this.#setConnection({
            state: 'retrying',
            message: describeError(error),
            retryInSeconds: Math.round(retryDelay(failures) / 1000),
          });
        }
      }
      if (signal.aborted) return;
      await sleep(retryDelay(failures), signal);
    }
  }

  #apply(type: string, job: Job): void {
    if (type === 'cancelled') {
      if (this.#jobs.has(job.id)) announce(`${jobName(job)}: cancelled`);
      this.remove(job.id);
      return;
    }
    const before = this.#jobs.get(job.id);
    // An event from before the list was read carries an older state than the list's.
    if (before !== undefined && job.updatedAt < before.updatedAt) return;
    if (before !== undefined && before.status !== job.status) announce(`${jobName(job)}: ${statusLabel(job.status)}`);
    if (before === undefined) this.#total += 1;
    this.#jobs.set(job.id, job);
    this.#changed();
  }

  #setConnection(connection: Connection): void {
    this.#connection = connection;
    this.#changed();
  }

  #changed(): void {
    this.#sorted = undefined;
    for (const listener of this.#listeners) listener();
  }
}

export const jobsStore = new JobsStore();

/** Re-renders the calling component whenever the jobs change. */
export function useJobs(): JobsStore {
  const [, setVersion] = useState(0);
  useEffect(() => jobsStore.subscribe(() => setVersion((version) => version + 1)), []);
  return jobsStore;
}
