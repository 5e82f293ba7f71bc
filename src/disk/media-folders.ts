/**
 * The media root and the folders of running jobs, for every driver that writes to this machine's
 * disk. The root is found in order before a job writes (made for a first download; once any job
 * has data there, only checked, never made again on the disk underneath an unmounted one). While
 * jobs run, every few seconds, each one's folder must still be the folder it opened and its files
 * must still have a name: a folder or file deleted mid-download fails the job (`path_missing`)
 * instead of filling a deleted inode.
 */

import { type ChillyError, toChillyError } from '../domain/errors.js';
import { assertSameFolder, type FolderIdentity, openJobFolder } from './job-folders.js';
import { MediaRoot } from './media-root.js';

/** A running job to check, and what to do when its data is gone. */
export interface WatchEntry {
  folder: string;
  folderIdentity: FolderIdentity | undefined;
  /** The driver's own check of the files it has open; throws (`path_missing`) when one was deleted. */
  checkFiles?: () => Promise<void>;
  gone: (error: ChillyError) => void;
}

export class MediaFolders {
  readonly #root: MediaRoot;
  readonly #dirMode: number;
  readonly #everyMs: number;
  /** Found in order once (later only checked), or known to hold data. */
  #rootReady = false;
  #rootHasData = false;
  #running: () => WatchEntry[] = () => [];
  #timer: NodeJS.Timeout | undefined;
  #pass: Promise<void> | undefined;
  #stopped = false;

  constructor(root: string, options: { dirMode: number; checkEveryMs: number }) {
    this.#root = new MediaRoot(root, options.dirMode);
    this.#dirMode = options.dirMode;
    this.#everyMs = options.checkEveryMs;
  }

  /** See `Downloader.prepareMediaRoot`. */
  async prepare(options: { expectData: boolean; adopt?: boolean }): Promise<void> {
    this.#rootHasData ||= options.expectData;
    if (options.adopt === true) await this.#root.adopt();
    else if (this.#rootHasData) await this.#root.verify();
    // Without data there yet, the root is made (or marked) when the first job opens its folder.
    this.#rootReady = options.adopt === true || this.#rootHasData;
  }

  /** The job's folder, after the root: made when the job had no data yet, else `path_missing` if gone. */
  async open(folder: string, hasData: boolean): Promise<{ created: boolean; identity: FolderIdentity }> {
    if (this.#rootReady) {
      await this.#root.check();
    } else {
      this.#rootHasData ||= hasData;
      await (this.#rootHasData ? this.#root.verify() : this.#root.ensure());
      this.#rootReady = true;
    }
    return openJobFolder(folder, { hasData, mode: this.#dirMode });
  }

  /** Checks the jobs `running` lists every few seconds, for as long as it lists any. */
  watch(running: () => WatchEntry[]): void {
    this.#running = running;
    if (this.#timer === undefined && this.#pass === undefined && !this.#stopped) this.#schedule();
  }

  /** Stops the checks; waits for one in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#pass;
  }

  #schedule(): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const entries = this.#running();
      if (entries.length === 0) return;
      // One pass at a time: the next is scheduled when this one is over.
      this.#pass = this.#check(entries).finally(() => {
        this.#pass = undefined;
        if (!this.#stopped) this.#schedule();
      });
    }, this.#everyMs);
    this.#timer.unref();
  }

  async #check(entries: WatchEntry[]): Promise<void> {
    const rootProblem = await this.#root.check().then(
      () => undefined,
      (error: unknown) => error,
    );
    for (const { folder, folderIdentity, checkFiles, gone } of entries) {
      try {
        if (rootProblem !== undefined) throw rootProblem;
        if (folderIdentity !== undefined) await assertSameFolder(folder, folderIdentity);
        await checkFiles?.();
      } catch (error) {
        gone(toChillyError(error, 'path_missing'));
      }
    }
  }
}
