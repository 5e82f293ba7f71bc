/**
 * A direct download writes its one file in order, so "which bytes are on disk" is one number:
 * the watermark. A player's reader waits until the watermark passes the bytes it wants; every wait
 * has a deadline, follows an abort signal, and ends when the download stops.
 */
import { ChillyError } from '../../domain/errors.js';
import type { RangeWaiter, RangeWaitOptions } from '../downloader.js';

const DEFAULT_TIMEOUT_MS = 30_000;

interface Waiter {
  /** Resolved once the watermark is past this byte. */
  end: number;
  settle: (error?: unknown) => void;
}

export class ByteWatermark {
  #bytes = 0;
  readonly #waiters = new Set<Waiter>();

  /** Bytes `0..bytes - 1` are on disk. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Moves the watermark (down too: a file that changed on the server is downloaded again from zero). */
  set(bytes: number): void {
    this.#bytes = bytes;
    for (const waiter of this.#waiters) if (waiter.end < bytes) waiter.settle();
  }

  /** Ends every wait in progress with `error` (the download paused, failed or was cancelled). */
  stop(error: () => ChillyError): void {
    for (const waiter of [...this.#waiters]) waiter.settle(error());
  }

  /** Resolves once byte `end` is on disk; rejects at `deadline` (`stream_timeout`) or on abort. */
  wait(end: number, deadline: number, signal: AbortSignal | undefined): Promise<void> {
    if (end < this.#bytes) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = (): void => waiter.settle(signal?.reason);
      const timer = setTimeout(
        () => waiter.settle(new ChillyError('stream_timeout', 'The data did not arrive within the time allowed.')),
        Math.max(0, deadline - Date.now()),
      );
      const waiter: Waiter = {
        end,
        settle: (error?: unknown) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          this.#waiters.delete(waiter);
          if (error === undefined) resolve();
          else reject(error);
        },
      };
      this.#waiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/** What a reader needs to know of its job. */
export interface WatermarkSource {
  watermark: ByteWatermark;
  /** The file's size, when the server said. */
  length(): number | undefined;
  /** Whether bytes are still coming (a transfer runs, or waits to retry). */
  running(): boolean;
}

/** One reader of a direct download's file: nothing to prioritise (the order is fixed), only waiting. */
export class WatermarkRangeWaiter implements RangeWaiter {
  #closed = false;

  constructor(private readonly source: WatermarkSource) {}

  async waitFor(start: number, end: number, options: RangeWaitOptions = {}): Promise<void> {
    const { signal, timeoutMs = DEFAULT_TIMEOUT_MS } = options;
    signal?.throwIfAborted();
    if (this.#closed) throw new ChillyError('stream_unavailable', 'This reader is closed.');
    const length = this.source.length();
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start) {
      throw new ChillyError('range_not_satisfiable', `Bytes ${start}-${end} are not a byte range.`);
    }
    if (length !== undefined && end >= length) {
      throw new ChillyError('range_not_satisfiable', `Bytes ${start}-${end} are outside the ${length}-byte file.`);
    }
    if (end < this.source.watermark.bytes) return;
    if (!this.source.running()) {
      throw new ChillyError('stream_unavailable', 'The job is not downloading: resume it to stream what is missing.');
    }
    await this.source.watermark.wait(end, Date.now() + timeoutMs, signal);
  }

  close(): void {
    this.#closed = true;
  }
}
