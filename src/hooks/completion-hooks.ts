/**
 * What runs when a film is done (CHILLY_ON_COMPLETE_COMMAND, CHILLY_ON_COMPLETE_WEBHOOK): a program
 * of the user's, run without a shell (no word of a torrent's name is ever parsed as a command),
 * with the job described in environment variables; and a webhook, POSTed the job as JSON, retried
 * with backoff on failure, a bounded number of times. Neither ever holds up a download: failures
 * are reported (`warn`), never thrown.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Job } from '../domain/job.js';
import { parseRetryAfter, retry } from '../retry.js';

export interface CompletionHooksOptions {
  /** An executable's path, run with no arguments and no shell. */
  command?: string | undefined;
  /** An http(s) URL POSTed `{ "event": "completed", "job": … }`. */
  webhook?: string | undefined;
  warn: (message: string) => void;
  /** Attempts of the webhook (default 6: about a minute of backoff in all). */
  webhookAttempts?: number;
  /** First wait between attempts (default 1 s, doubling, with jitter; 30 s at most). */
  webhookMinDelayMs?: number;
  /** A command still running after this long is stopped (default 10 min). */
  commandTimeoutMs?: number;
}

const WEBHOOK_TIMEOUT_MS = 10_000;

/** The job in environment variables, for the command. */
export function jobEnvironment(job: Job): Record<string, string> {
  const files = job.files ?? [];
  const wanted = files.filter((_, index) => job.selectedFiles?.includes(index) ?? true);
  const main = [...wanted].sort((a, b) => b.length - a.length)[0];
  const variables: Record<string, string | undefined> = {
    CHILLY_JOB_ID: job.id,
    CHILLY_JOB_NAME: job.name,
    CHILLY_JOB_STATUS: job.status,
    CHILLY_JOB_SOURCE_TYPE: job.sourceType,
    CHILLY_JOB_INFO_HASH: job.infoHash,
    CHILLY_JOB_SAVE_PATH: job.savePath,
    CHILLY_JOB_SIZE: job.progress.bytesTotal === null ? undefined : String(job.progress.bytesTotal),
    CHILLY_JOB_MAIN_FILE:
      main === undefined || job.savePath === undefined ? undefined : path.join(job.savePath, main.path),
    CHILLY_JOB_FILES: wanted.map((file) => file.path).join('\n'),
    CHILLY_JOB_MOVIE_TITLE: job.movie?.title,
    CHILLY_JOB_MOVIE_YEAR:
      job.movie?.year === undefined || job.movie?.year === null ? undefined : String(job.movie.year),
  };
  return Object.fromEntries(
    Object.entries(variables).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

export class CompletionHooks {
  readonly #options: CompletionHooksOptions;
  readonly #running = new Set<Promise<unknown>>();

  constructor(options: CompletionHooksOptions) {
    this.#options = options;
  }

  /** Starts the hooks for a completed job and returns at once. */
  completed(job: Job): void {
    if (this.#options.command !== undefined) this.#track(this.#runCommand(job));
    if (this.#options.webhook !== undefined) this.#track(this.#postWebhook(job, this.#options.webhook));
  }

  /** Resolves once every hook started has ended (for closing, and for tests). */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }

  #track(run: Promise<unknown>): void {
    this.#running.add(run);
    void run.finally(() => this.#running.delete(run));
  }

  async #runCommand(job: Job): Promise<void> {
    const command = this.#options.command ?? '';
    const timeoutMs = this.#options.commandTimeoutMs ?? 10 * 60_000;
    await new Promise<void>((resolve) => {
      const child = spawn(command, [], {
        shell: false,
        stdio: 'ignore',
        env: { ...process.env, ...jobEnvironment(job) },
      });
      // Our own deadline: spawn's `timeout` option leaves its timer running when the program
      // cannot start at all (no 'exit' ever comes), which held a process open for 10 minutes.
      const deadline = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
      deadline.unref();
      child.once('error', (error) => {
        clearTimeout(deadline);
        this.#options.warn(`Job ${job.id}: the completion command ${command} did not start (${error.message}).`);
        resolve();
      });
      child.once('exit', (code, signal) => {
        clearTimeout(deadline);
        if (code !== 0) {
          this.#options.warn(
            `Job ${job.id}: the completion command ${command} ${signal === null ? `exited with ${code}` : `was stopped (${signal})`}.`,
          );
        }
        resolve();
      });
    });
  }

  async #postWebhook(job: Job, url: string): Promise<void> {
    const where = redactedUrl(url);
    try {
      await retry(
        async () => {
          const response = await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'user-agent': 'ChillyMovies' },
            body: JSON.stringify({ event: 'completed', job }),
            redirect: 'error',
            signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
          });
          await response.body?.cancel();
          if (!response.ok) {
            throw Object.assign(new Error(`HTTP ${response.status}`), {
              retryAfter: response.headers.get('retry-after'),
            });
          }
        },
        {
          maxAttempts: this.#options.webhookAttempts ?? 6,
          minDelayMs: this.#options.webhookMinDelayMs ?? 1_000,
          maxDelayMs: 30_000,
          retryAfterMs: (error) => parseRetryAfter((error as { retryAfter?: string | null }).retryAfter),
          onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
            const why = error instanceof Error ? error.message : String(error);
            this.#options.warn(
              `Job ${job.id}: the completion webhook ${where} failed (${why}); attempt ${attemptNumber}, ${retriesLeft} left.`,
            );
          },
        },
      );
    } catch {
      // Every attempt was reported already.
    }
  }
}

/** The webhook's address for messages: no user name, password or query (which may hold a secret). */
function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}
