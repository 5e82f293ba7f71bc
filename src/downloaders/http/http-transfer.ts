/**
 * One direct download's transfer: requests, retries, and the body streamed into the job's file.
 *
 * Where to continue is what is on disk: the data file's size. A later request asks for
 * `Range: bytes=<size>-` with `If-Range: <validator>` (a strong ETag, else Last-Modified), so a
 * server whose file changed answers 200 with the whole new file, which then replaces ours from
 * byte 0. A 206 is used only when its `Content-Range` starts exactly where we asked and agrees with
 * the size we know. Without any validator or size to check a range against, it starts over.
 *
 * Failures the server or the network may get over (a dropped connection, a timeout, 429, 503, …)
 * are retried with backoff (src/retry.ts), honouring `Retry-After`, within a number of attempts and
 * a span of time; an attempt that moved bytes before it failed starts a fresh count, so a long
 * download over a flaky line is not failed for drops spread over hours.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { closeFd, openInside } from '../../disk/confined-files.js';
import { ChillyError, toChillyError } from '../../domain/errors.js';
import { AbortRetryError, retry } from '../../retry.js';
import { parseContentRange } from './content-range.js';
import { chooseFileName } from './file-name.js';
import {
  firstHeader,
  type HttpAnswer,
  HttpAttemptError,
  networkError,
  requestFollowingRedirects,
  statusError,
} from './http-request.js';
import {
  type ConfinedWriteOptions,
  fdatasync,
  fstat,
  ftruncate,
  type HttpState,
  headerValue,
  writeAt,
  writeHttpState,
} from './http-state-file.js';

/** The job a transfer works for: where to write, and whom to tell. */
export interface TransferJob {
  readonly url: URL;
  /** Values that must never show in an error (see http-request.ts). */
  readonly secrets: readonly string[];
  readonly folder: string;
  readonly files: ConfinedWriteOptions;
  /** What the state file says; replaced by the transfer when the server tells more. */
  state: HttpState | undefined;
  /** The data file while an attempt has it open (for the driver's checks). */
  fd: number | undefined;
  /** Bytes `0..bytes - 1` of the file are on disk. */
  setWritten(bytes: number): void;
  /** The file's name or size became known, or changed. */
  described(state: HttpState): void;
  /** A response body starts (true) or stops (false) flowing. */
  connected(open: boolean): void;
  /** The transfer waits `delayMs` before trying again after `error`. */
  waiting(error: HttpAttemptError, delayMs: number): void;
  /** Throws `insufficient_space` unless `bytes` more fit on the disk. */
  assertRoomFor(bytes: number): void;
}

export interface TransferOptions {
  signal: AbortSignal;
  /** Attempts in a row that move no byte before the job fails. */
  maxAttempts: number;
  /** How long a run of failed attempts may last before the job fails. */
  retryForMs: number;
  minDelayMs: number;
  /** Caps every wait, the server's `Retry-After` included. */
  maxDelayMs: number;
  timeoutMs: number;
  maxRedirects: number;
  userAgent: string;
}

/** What a response means for the file. */
type Plan =
  | { kind: 'write'; start: number; total: number | undefined; state: HttpState }
  | { kind: 'complete' }
  | { kind: 'start-over' };

/** An attempt that moved bytes before it failed: the retry count starts again. */
class MovedBytes extends Error {}

/** Downloads until every byte is on disk; rejects with the signal's reason when aborted. */
export async function runTransfer(job: TransferJob, options: TransferOptions): Promise<void> {
  const { signal } = options;
  for (;;) {
    let failingSince: number | undefined;
    try {
      await retry(
        async () => {
          const progress: AttemptProgress = { wrote: false, discarded: false };
          try {
            await attempt(job, options, progress);
          } catch (error) {
            // Progress is bytes added to the file; starting over (a server without ranges) is not.
            const moved = progress.wrote && !progress.discarded;
            if (!signal.aborted && moved && error instanceof HttpAttemptError && error.retryable) {
              throw new AbortRetryError(new MovedBytes());
            }
            throw error;
          }
        },
        {
          signal,
          maxAttempts: options.maxAttempts,
          minDelayMs: options.minDelayMs,
          maxDelayMs: options.maxDelayMs,
          retryAfterMs: (error) => (error instanceof HttpAttemptError ? error.retryAfterMs : undefined),
          shouldRetry: (error, context) => {
            if (!(error instanceof HttpAttemptError) || !error.retryable) return false;
            failingSince ??= Date.now();
            if (Date.now() - failingSince + context.nextDelayMs > options.retryForMs) return false;
            job.waiting(error, context.nextDelayMs);
            return true;
          },
        },
      );
      return;
    } catch (error) {
      if (!(error instanceof MovedBytes)) throw error;
      // Bytes moved, then the connection went: again soon, on a fresh count, never in a tight loop.
      await sleep(Math.random() * options.minDelayMs, { signal }).catch(() => signal.throwIfAborted());
    }
  }
}

/** What an attempt did to the file: wrote bytes, threw away bytes it had. */
interface AttemptProgress {
  wrote: boolean;
  discarded: boolean;
}

/** One request (or two, when the file changed on the server) and its body written to disk. */
async function attempt(job: TransferJob, options: TransferOptions, progress: AttemptProgress): Promise<void> {
  let fd = job.state === undefined ? undefined : await openData(job, job.state.fileName);
  try {
    let have = fd === undefined ? 0 : (await fstat(fd)).size;
    const known = job.state;
    if (fd !== undefined && known?.totalBytes !== undefined && have > known.totalBytes) {
      await ftruncate(fd, 0);
      progress.discarded = true;
      have = 0;
    }
    job.setWritten(have);
    if (known?.complete === true && have === known.totalBytes) return;
    // A range is asked for only when the answer can be checked: a validator or a known size.
    let ask = have > 0 && known !== undefined && (ifRangeOf(known) !== undefined || known.totalBytes !== undefined);
    for (let startedOver = 0; ; startedOver++) {
      const from = ask ? have : 0;
      const answer = await requestFollowingRedirects(job.url, {
        headers: requestHeaders(options.userAgent, ask ? from : 0, ask ? job.state : undefined),
        signal: options.signal,
        maxRedirects: options.maxRedirects,
        timeoutMs: options.timeoutMs,
        secrets: job.secrets,
      });
      try {
        const plan = planFor(job, answer, from, ask);
        if (plan.kind === 'complete' && fd !== undefined && known !== undefined) {
          // Every byte was there, only not yet recorded as complete (a crash just before the end).
          await finish(job, fd, known, have);
          return;
        }
        if (plan.kind === 'complete') return;
        if (plan.kind === 'start-over') {
          if (startedOver > 0) {
            throw new HttpAttemptError('The file keeps changing on the server.', { retryable: true });
          }
          ask = false;
          continue;
        }
        if (plan.total !== undefined) job.assertRoomFor(plan.total - plan.start);
        // Old bytes go before the new validator is kept: a crash in between must not splice two files.
        if (fd !== undefined && plan.start === 0 && have > 0) {
          await ftruncate(fd, 0);
          progress.discarded = true;
        }
        if (plan.state !== job.state) {
          await writeHttpState(job.folder, plan.state, job.files);
          job.state = plan.state;
        }
        fd ??= await openData(job, plan.state.fileName);
        have = plan.start;
        job.setWritten(have);
        job.described(plan.state);
        await streamBody(job, answer, fd, plan, { signal: options.signal, progress });
        return;
      } finally {
        answer.body.destroy();
      }
    }
  } finally {
    job.fd = undefined;
    if (fd !== undefined) await closeFd(fd).catch(() => undefined);
  }
}

async function openData(job: TransferJob, fileName: string): Promise<number> {
  const fd = await openInside(job.folder, fileName, { create: true, ...job.files });
  job.fd = fd;
  return fd;
}

function requestHeaders(userAgent: string, from: number, state: HttpState | undefined): Record<string, string> {
  // The bytes as stored: a compressed answer would not be the file, and its ranges not the file's.
  const headers: Record<string, string> = { 'accept-encoding': 'identity', 'user-agent': userAgent };
  if (from > 0 && state !== undefined) {
    headers.range = `bytes=${from}-`;
    const validator = ifRangeOf(state);
    if (validator !== undefined) headers['if-range'] = validator;
  }
  return headers;
}

/** RFC 9110 §13.1.5: a weak ETag never goes in If-Range; Last-Modified is the fallback. */
function ifRangeOf(state: HttpState): string | undefined {
  if (state.etag !== undefined && !state.etag.startsWith('W/')) return state.etag;
  return state.lastModified;
}

/** What the server's answer to a request from byte `from` means for the file. */
function planFor(job: TransferJob, answer: HttpAnswer, from: number, asked: boolean): Plan {
  const { status, headers } = answer;
  const known = job.state;
  if (status === 416 && asked) {
    const range = parseContentRange(firstHeader(headers['content-range']));
    const total = known?.totalBytes;
    const whole = total === from && (range === undefined || (range.kind === 'unsatisfied' && range.complete === total));
    return whole ? { kind: 'complete' } : { kind: 'start-over' };
  }
  if (status !== 200 && status !== 206) throw statusError(answer);
  const encoding = headerValue(headers['content-encoding'])?.toLowerCase() ?? 'identity';
  if (encoding !== 'identity') {
    throw new HttpAttemptError(`The server sent the file compressed (${encoding}), not as it is: refused.`, {
      retryable: false,
    });
  }
  const validator = { etag: headerValue(headers.etag), lastModified: headerValue(headers['last-modified']) };
  if (status === 200) {
    const length = Number(firstHeader(headers['content-length']) ?? Number.NaN);
    const total = Number.isSafeInteger(length) && length >= 0 ? length : undefined;
    const fileName =
      known?.fileName ??
      chooseFileName({
        contentDisposition: firstHeader(headers['content-disposition']),
        contentType: firstHeader(headers['content-type']),
        urls: [answer.url, job.url],
      });
    return { kind: 'write', start: 0, total, state: stateOf(fileName, validator, total) };
  }
  const range = parseContentRange(firstHeader(headers['content-range']));
  if (known === undefined || range?.kind !== 'range' || range.first !== from) return { kind: 'start-over' };
  const total = range.complete ?? known.totalBytes;
  const sizeChanged = known.totalBytes !== undefined && total !== known.totalBytes;
  // Checked only when the ETag was our If-Range: a server that ignores If-Range still shows it changed.
  const etagChanged =
    known.etag !== undefined &&
    ifRangeOf(known) === known.etag &&
    validator.etag !== undefined &&
    validator.etag !== known.etag;
  if (sizeChanged || etagChanged || (total !== undefined && range.last !== total - 1)) return { kind: 'start-over' };
  const state =
    total === known.totalBytes ? known : { ...known, ...(total === undefined ? {} : { totalBytes: total }) };
  return { kind: 'write', start: from, total, state };
}

function stateOf(
  fileName: string,
  validator: { etag: string | undefined; lastModified: string | undefined },
  total: number | undefined,
): HttpState {
  return {
    fileName,
    ...(validator.etag === undefined ? {} : { etag: validator.etag }),
    ...(validator.lastModified === undefined ? {} : { lastModified: validator.lastModified }),
    ...(total === undefined ? {} : { totalBytes: total }),
  };
}

/** The body into the file from `plan.start`, in order, one chunk at a time (the socket waits for the disk). */
async function streamBody(
  job: TransferJob,
  answer: HttpAnswer,
  fd: number,
  plan: Extract<Plan, { kind: 'write' }>,
  { signal, progress }: { signal: AbortSignal; progress: AttemptProgress },
): Promise<void> {
  let position = plan.start;
  job.connected(true);
  try {
    for await (const chunk of answer.body as AsyncIterable<Buffer>) {
      if (plan.total !== undefined && position + chunk.byteLength > plan.total) {
        throw new HttpAttemptError('The server sent more bytes than it announced.', { retryable: true });
      }
      try {
        await writeAt(fd, chunk, position);
      } catch (error) {
        throw toChillyError(error, 'download_failed');
      }
      position += chunk.byteLength;
      progress.wrote = true;
      job.setWritten(position);
    }
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    if (error instanceof ChillyError) throw error;
    throw networkError(error, answer.url, job.secrets);
  } finally {
    job.connected(false);
  }
  if (plan.total !== undefined && position < plan.total) {
    throw new HttpAttemptError(`The connection closed at byte ${position} of ${plan.total}.`, { retryable: true });
  }
  await finish(job, fd, plan.state, position);
}

/** Every byte is on disk: made durable, then recorded, so a restart needs no network. */
async function finish(job: TransferJob, fd: number, state: HttpState, size: number): Promise<void> {
  await fdatasync(fd);
  const complete: HttpState = { ...state, totalBytes: size, complete: true };
  await writeHttpState(job.folder, complete, job.files);
  job.state = complete;
  job.described(complete);
}
