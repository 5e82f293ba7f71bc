import { ChillyError } from '../../domain/errors.js';
import type { Torrent } from '../../engine/bittorrent-engine.js';
import type { RangeWaiter, RangeWaitOptions } from '../downloader.js';

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * One reader's view of one file of a torrent: it asks the engine for the pieces under the reader
 * first (critical), keeps a read-ahead window after them at high priority, and resolves when a
 * byte range is verified on disk. Every wait is bounded and abortable, and cleans up its
 * listeners; `close()` drops the read-ahead window.
 */
export class TorrentRangeWaiter implements RangeWaiter {
  private window: { torrent: Torrent; from: number; to: number } | undefined;
  private closed = false;

  constructor(
    private readonly currentTorrent: () => Torrent | undefined,
    private readonly fileIndex: number,
    private readonly readAheadBytes: number,
  ) {}

  async waitFor(start: number, end: number, options: RangeWaitOptions = {}): Promise<void> {
    const { signal, timeoutMs = DEFAULT_TIMEOUT_MS } = options;
    signal?.throwIfAborted();
    if (this.closed) throw new ChillyError('stream_unavailable', 'This reader is closed.');
    const deadline = Date.now() + timeoutMs;
    const torrent = await this.readyTorrent(deadline, signal);
    const file = torrent.files[this.fileIndex];
    if (file === undefined) throw new ChillyError('validation_failed', `The torrent has no file #${this.fileIndex}.`);
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end >= file.length) {
      throw new ChillyError('range_not_satisfiable', `Bytes ${start}-${end} are outside ${file.length}-byte file.`);
    }
    const first = Math.floor((file.offset + start) / torrent.pieceLength);
    const last = Math.floor((file.offset + end) / torrent.pieceLength);
    this.moveWindow(
      torrent,
      first,
      Math.floor((file.offset + Math.min(file.length - 1, end + this.readAheadBytes)) / torrent.pieceLength),
    );
    const missing = new Set<number>();
    for (let piece = first; piece <= last; piece++) if (!torrent.bitfield?.get(piece)) missing.add(piece);
    if (missing.size === 0) return;
    torrent.critical(first, last);
    await waitForPieces(torrent, missing, deadline, signal);
  }

  close(): void {
    this.closed = true;
    this.dropWindow();
  }

  /** The job's torrent once its data has been checked; a paused job has none. */
  private async readyTorrent(deadline: number, signal: AbortSignal | undefined): Promise<Torrent> {
    const torrent = this.currentTorrent();
    if (torrent === undefined || torrent.destroyed) {
      throw new ChillyError('stream_unavailable', 'The job is not downloading: resume it to stream what is missing.');
    }
    if (torrent.ready) return torrent;
    await waitForReady(torrent, deadline, signal);
    return torrent;
  }

  private moveWindow(torrent: Torrent, from: number, to: number): void {
    const current = this.window;
    if (current?.torrent === torrent && current.from === from && current.to === to) return;
    this.dropWindow();
    torrent._select(from, to, 1, null, true);
    this.window = { torrent, from, to };
  }

  private dropWindow(): void {
    const current = this.window;
    this.window = undefined;
    if (current !== undefined && !current.torrent.destroyed) current.torrent._deselect(current.from, current.to, true);
  }
}

/**
 * Waits until `watch` calls its `done`, the torrent closes (job paused or cancelled), the
 * deadline passes or the signal aborts; every listener and the timer are removed in all cases.
 */
function waitOnTorrent(
  torrent: Torrent,
  what: string,
  deadline: number,
  signal: AbortSignal | undefined,
  watch: (done: () => void) => () => void,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    // The signal may have fired while the caller was between awaits, when no listener was on it.
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const finish = (error?: unknown) => {
      clearTimeout(timer);
      unwatch();
      torrent.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onClose = () =>
      finish(new ChillyError('stream_unavailable', `The download stopped while waiting for ${what}.`));
    const onAbort = () => finish(signal?.reason);
    const timer = setTimeout(
      () => finish(new ChillyError('stream_timeout', `${what} did not arrive within the time allowed.`)),
      Math.max(0, deadline - Date.now()),
    );
    const unwatch = watch(() => finish());
    torrent.once('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function waitForPieces(torrent: Torrent, missing: Set<number>, deadline: number, signal?: AbortSignal): Promise<void> {
  return waitOnTorrent(torrent, 'the data', deadline, signal, (done) => {
    const onVerified = (index: number) => {
      missing.delete(index);
      if (missing.size === 0) done();
    };
    torrent.on('verified', onVerified);
    return () => torrent.off('verified', onVerified);
  });
}

function waitForReady(torrent: Torrent, deadline: number, signal?: AbortSignal): Promise<void> {
  return waitOnTorrent(torrent, 'the torrent metadata', deadline, signal, (done) => {
    torrent.once('ready', done);
    return () => torrent.off('ready', done);
  });
}
