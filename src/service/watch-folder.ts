/**
 * The watch folder (CHILLY_WATCH_DIR): a `.torrent` file that appears there is added, once.
 * - A file still being written waits: it is read only once its size and modification time have
 *   held for two looks in a row, and it is at least a second old.
 * - Added (or already a job): renamed `<name>.torrent.added`, so a restart adds nothing twice, and
 *   what was taken stays visible (Transmission's convention).
 * - Refused: renamed `<name>.torrent.invalid`, with `<name>.torrent.error.txt` beside it saying why.
 * Only regular files directly in the folder are read (no symbolic link is followed, no subfolder),
 * at most 10 MiB each; the folder is looked at every few seconds (polling works on every file
 * system, network mounts included, where change notifications do not).
 */
import { lstat, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isChillyError } from '../domain/errors.js';
import { MAX_TORRENT_FILE_BYTES } from '../downloaders/torrent-source.js';
import type { AddJobRequest, AddJobResult } from './download-service-api.js';

export interface WatchFolderOptions {
  folder: string;
  add: (request: AddJobRequest) => Promise<AddJobResult>;
  warn: (message: string) => void;
  /** Between two looks (default 2 s). */
  intervalMs?: number;
  /** A file must be at least this old to be read (default 1 s). */
  settleMs?: number;
}

interface Seen {
  size: number;
  mtimeMs: number;
}

export class WatchFolder {
  readonly #options: WatchFolderOptions;
  /** Size and time of each candidate at the previous look. */
  readonly #seen = new Map<string, Seen>();
  #timer: NodeJS.Timeout | undefined;
  #scanning: Promise<void> | undefined;
  #stopped = false;

  constructor(options: WatchFolderOptions) {
    this.#options = options;
  }

  start(): void {
    this.#schedule(0);
  }

  /** Stops looking; waits for a look in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#scanning;
  }

  /** One look at the folder (the timer's; tests call it directly). */
  scan(): Promise<void> {
    this.#scanning ??= this.#scanOnce().finally(() => {
      this.#scanning = undefined;
    });
    return this.#scanning;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      void this.scan().finally(() => this.#schedule(this.#options.intervalMs ?? 2_000));
    }, delayMs);
    this.#timer.unref();
  }

  async #scanOnce(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.#options.folder);
    } catch (error) {
      this.#options.warn(`The watch folder ${this.#options.folder} cannot be read (${(error as Error).message}).`);
      return;
    }
    const present = new Set(names.filter((name) => name.toLowerCase().endsWith('.torrent')));
    for (const name of this.#seen.keys()) if (!present.has(name)) this.#seen.delete(name);
    for (const name of present) {
      if (this.#stopped) return;
      await this.#consider(name);
    }
  }

  async #consider(name: string): Promise<void> {
    const file = path.join(this.#options.folder, name);
    const stats = await lstat(file).catch(() => undefined);
    if (stats === undefined || !stats.isFile()) return;
    const now: Seen = { size: stats.size, mtimeMs: stats.mtimeMs };
    const before = this.#seen.get(name);
    this.#seen.set(name, now);
    const settled =
      before !== undefined &&
      before.size === now.size &&
      before.mtimeMs === now.mtimeMs &&
      // Date.now() counts whole milliseconds and mtimeMs has fractions: a file written within the
      // current millisecond would otherwise look written in the future.
      Date.now() - Math.floor(now.mtimeMs) >= (this.#options.settleMs ?? 1_000);
    if (!settled) return;
    this.#seen.delete(name);
    if (now.size > MAX_TORRENT_FILE_BYTES) {
      await this.#refuse(file, `it is larger than a .torrent file can be (${MAX_TORRENT_FILE_BYTES} bytes)`);
      return;
    }
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (error) {
      this.#options.warn(`Watch folder: ${name} cannot be read (${(error as Error).message}); trying again later.`);
      return;
    }
    try {
      const { job, created } = await this.#options.add({ sourceType: 'torrent', torrentFile: new Uint8Array(bytes) });
      await rename(file, `${file}.added`);
      if (!created) this.#options.warn(`Watch folder: ${name} is job ${job.id} already.`);
    } catch (error) {
      if (isChillyError(error) && ['shutting_down', 'database_damaged'].includes(error.code)) return;
      await this.#refuse(
        file,
        error instanceof Error ? `${isChillyError(error) ? `${error.code}: ` : ''}${error.message}` : String(error),
      );
    }
  }

  async #refuse(file: string, why: string): Promise<void> {
    this.#options.warn(`Watch folder: ${path.basename(file)} was not added: ${why}`);
    try {
      await writeFile(`${file}.error.txt`, `${why}\n`);
      await rename(file, `${file}.invalid`);
    } catch (error) {
      this.#options.warn(`Watch folder: could not set ${path.basename(file)} aside (${(error as Error).message}).`);
    }
  }
}
