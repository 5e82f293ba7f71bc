/**
 * Where the request log goes by default: a file descriptor (stdout), written asynchronously and in
 * order, through a bounded buffer. A write the system refuses loses those log lines and nothing
 * else: on a full disk (ENOSPC), a closed pipe (EPIPE) or a failing device (EIO) the server keeps
 * answering, says once on stderr that log lines are being lost, and writes again as soon as the
 * descriptor takes data (a full disk may get space back). A reader that is merely slow (EAGAIN on
 * a non-blocking pipe) is waited for, until the buffer is full; lines beyond it are dropped.
 *
 * Why not pino's own destination (sonic-boom 4): it emits such errors as an unhandled 'error'
 * event, which ends the process, and its exit handler then retries the failed write forever
 * (flushSync sleeps and loops on any error but EAGAIN), so the server hangs without answering.
 */
import { write } from 'node:fs';

export interface LogDestinationOptions {
  /** Default 1 (stdout). */
  fd?: number;
  /** Bytes waiting to be written beyond which new lines are dropped. Default 4 MiB. */
  maxBufferedBytes?: number;
  /** How long to wait before writing again to a descriptor that answered EAGAIN. Default 20 ms. */
  retryDelayMs?: number;
  /** Told once, the first time lines are lost. Default: a line on stderr, if stderr takes it. */
  onLoss?: (message: string) => void;
}

/** Errors after which the descriptor will never take data again: stop trying. */
const FOR_GOOD = new Set(['EPIPE', 'EBADF', 'EINVAL', 'ECONNRESET', 'ERR_STREAM_DESTROYED']);
/** The largest single write: a backlog goes out in pieces, so a failure loses at most this much. */
const MAX_WRITE_BYTES = 64 * 1024;

export class LogDestination {
  readonly #fd: number;
  readonly #maxBufferedBytes: number;
  readonly #retryDelayMs: number;
  readonly #onLoss: (message: string) => void;
  #queue: Buffer[] = [];
  #queuedBytes = 0;
  #writing = false;
  /** The descriptor is gone (EPIPE, EBADF…): every later line is lost without trying. */
  #gone = false;
  #lostLines = 0;
  #reported = false;
  readonly #idle = new Set<() => void>();

  constructor(options: LogDestinationOptions = {}) {
    this.#fd = options.fd ?? 1;
    this.#maxBufferedBytes = options.maxBufferedBytes ?? 4 * 1024 * 1024;
    this.#retryDelayMs = options.retryDelayMs ?? 20;
    this.#onLoss = options.onLoss ?? writeToStderr;
  }

  /** Log lines lost so far (never written, or cut short by a failed write). */
  get lostLines(): number {
    return this.#lostLines;
  }

  /** Queues one serialized log line (pino calls this). Never throws. */
  write(line: string): boolean {
    const bytes = Buffer.from(line, 'utf8');
    if (this.#gone) {
      this.#lose(bytes, undefined);
      return true;
    }
    if (this.#queuedBytes + bytes.length > this.#maxBufferedBytes) {
      this.#lose(bytes, 'the buffer is full: the log is not being read fast enough');
      return false;
    }
    this.#queue.push(bytes);
    this.#queuedBytes += bytes.length;
    if (!this.#writing) this.#writeNext();
    return true;
  }

  /** Resolves once everything queued is written or lost, or after `timeoutMs` (for closing). */
  whenWritten(timeoutMs: number): Promise<void> {
    if (!this.#writing) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#idle.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      timer.unref();
      this.#idle.add(done);
    });
  }

  #writeNext(): void {
    if (this.#queue.length === 0 || this.#gone) {
      this.#writing = false;
      for (const done of [...this.#idle]) done();
      return;
    }
    this.#writing = true;
    const chunk = this.#takeChunk();
    write(this.#fd, chunk, 0, chunk.length, null, (error, written) => this.#written(chunk, error, written));
  }

  /** Up to MAX_WRITE_BYTES from the head of the queue, as one buffer (lines are never split). */
  #takeChunk(): Buffer {
    let count = 0;
    let bytes = 0;
    for (const buffer of this.#queue) {
      if (count > 0 && bytes + buffer.length > MAX_WRITE_BYTES) break;
      count += 1;
      bytes += buffer.length;
    }
    const taken = this.#queue.splice(0, count);
    this.#queuedBytes -= bytes;
    return taken.length === 1 && taken[0] !== undefined ? taken[0] : Buffer.concat(taken, bytes);
  }

  #written(chunk: Buffer, error: NodeJS.ErrnoException | null, written: number): void {
    if (error === null) {
      if (written < chunk.length) this.#requeue(chunk.subarray(written));
      this.#writeNext();
      return;
    }
    if (error.code === 'EAGAIN' || error.code === 'EWOULDBLOCK' || error.code === 'EBUSY') {
      // A slow reader: the same bytes, a little later.
      this.#requeue(chunk);
      setTimeout(() => this.#writeNext(), this.#retryDelayMs).unref();
      return;
    }
    if (FOR_GOOD.has(error.code ?? '')) {
      this.#gone = true;
      for (const buffer of this.#queue.splice(0)) this.#lose(buffer, undefined);
      this.#queuedBytes = 0;
    }
    // Node's message names the code already: "ENOSPC: no space left on device, write".
    this.#lose(chunk, error.message);
    this.#writeNext();
  }

  #requeue(rest: Buffer): void {
    this.#queue.unshift(rest);
    this.#queuedBytes += rest.length;
  }

  #lose(bytes: Buffer, reason: string | undefined): void {
    let lines = 0;
    for (let index = bytes.indexOf(10); index >= 0; index = bytes.indexOf(10, index + 1)) lines += 1;
    this.#lostLines += Math.max(1, lines);
    if (this.#reported) return;
    this.#reported = true;
    const where = this.#fd === 1 ? 'stdout' : `file descriptor ${this.#fd}`;
    try {
      this.#onLoss(
        `chilly: the request log cannot be written to ${where} (${reason ?? 'it is closed'}); ` +
          'log lines are being dropped, and the server carries on.',
      );
    } catch {
      // Nobody to tell: the loss itself is all that happens.
    }
  }
}

function writeToStderr(message: string): void {
  write(2, `${message}\n`, () => undefined);
}
