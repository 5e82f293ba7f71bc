/**
 * Live progress of one job: a bar on a terminal (cli-progress), occasional plain lines
 * elsewhere (logs, pipes, CI), so nothing but text reaches a file.
 */
import cliProgress from 'cli-progress';
import type { Job } from '../client/index.js';
import { formatBytes, formatEta, formatPeers, formatSpeed, isTransferring, progressLine } from './format.js';
import { type OutputStream, println } from './io.js';
import { terminalSafe } from './terminal-text.js';

export interface ProgressView {
  update(job: Job): void;
  /** Removes nothing: the bar's last state stays on screen. Idempotent. */
  stop(): void;
}

export interface ProgressViewOptions {
  /** Minimum time between two plain lines when the state does not change. Default 5 s. */
  plainIntervalMs?: number;
  now?: () => number;
}

const STEPS = 1000;

export function createProgressView(stream: OutputStream, options: ProgressViewOptions = {}): ProgressView {
  return stream.isTTY === true ? new BarView(stream) : new PlainView(stream, options);
}

class BarView implements ProgressView {
  private readonly bar: cliProgress.SingleBar;
  private started = false;

  constructor(stream: OutputStream) {
    this.bar = new cliProgress.SingleBar({
      stream: stream as unknown as NodeJS.WritableStream,
      format: '{name} {bar} {percent} {size} | ↓ {down} ↑ {up} | {peers} | ETA {remaining} | {status}',
      barCompleteChar: '█',
      barIncompleteChar: '░',
      barsize: 24,
      hideCursor: true,
      clearOnComplete: false,
      fps: 8,
      autopadding: true,
    });
  }

  update(job: Job): void {
    const { progress } = job;
    const transferring = isTransferring(job);
    const payload = {
      name: truncate(terminalSafe(job.name ?? job.id), 32),
      percent: `${(Math.floor(progress.fraction * 1000) / 10).toFixed(1)}%`.padStart(6),
      size:
        progress.bytesTotal === null
          ? 'size unknown'
          : `${formatBytes(progress.bytesDone)}/${formatBytes(progress.bytesTotal)}`,
      down: transferring ? formatSpeed(progress.downloadSpeed) : '-',
      up: formatSpeed(progress.uploadSpeed),
      peers: formatPeers(transferring ? progress.peers : 0),
      // Not `eta`: cli-progress fills that one in itself, from its own estimate.
      remaining: transferring ? formatEta(progress.etaSeconds) : '-',
      status: job.status,
    };
    // Every figure comes from the server too, and need not be a number: none may reach the bar raw.
    const safe = Object.fromEntries(Object.entries(payload).map(([key, text]) => [key, terminalSafe(String(text))]));
    const value = Math.floor(progress.fraction * STEPS);
    if (this.started) {
      this.bar.update(value, safe);
    } else {
      this.started = true;
      this.bar.start(STEPS, value, safe);
    }
  }

  stop(): void {
    if (!this.started) return;
    this.started = false;
    this.bar.stop();
  }
}

class PlainView implements ProgressView {
  private lastStatus: string | undefined;
  private lastLineAt = Number.NEGATIVE_INFINITY;
  private readonly intervalMs: number;
  private readonly now: () => number;

  constructor(
    private readonly stream: OutputStream,
    options: ProgressViewOptions,
  ) {
    this.intervalMs = options.plainIntervalMs ?? 5_000;
    this.now = options.now ?? Date.now;
  }

  update(job: Job): void {
    const now = this.now();
    if (job.status === this.lastStatus && now - this.lastLineAt < this.intervalMs) return;
    this.lastStatus = job.status;
    this.lastLineAt = now;
    println(this.stream, progressLine(job));
  }

  stop(): void {}
}

/** Cut to `width` code points (never inside a character), or padded to it. */
function truncate(text: string, width: number): string {
  const chars = Array.from(text);
  return chars.length > width ? `${chars.slice(0, width - 1).join('')}…` : text + ' '.repeat(width - chars.length);
}
