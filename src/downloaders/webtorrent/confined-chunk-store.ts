/**
 * WebTorrent's storage for one torrent (an abstract-chunk-store: put/get of whole pieces), in
 * place of fs-chunk-store. It writes each file where the file layout says (src/torrent/
 * file-layout.ts: names safe on every file system, collisions told apart), and only through
 * confined opens (src/disk/confined-files.ts: no symbolic link followed, nothing outside the job's
 * folder), with the media's file modes, and it reports every file and folder it creates so that
 * cancelling deletes exactly those.
 *
 * At most MAX_OPEN_FILES descriptors stay open; the least recently used idle one is closed first,
 * so a torrent of many files cannot run the process out of descriptors.
 */
import { fstat, read, write } from 'node:fs';
import { closeFd, openInside } from '../../disk/confined-files.js';
import { planFileLayout } from '../../torrent/file-layout.js';
import type { InfoDictionary } from '../../torrent/info-dictionary.js';

const MAX_OPEN_FILES = 64;

/** What the downloader adds to WebTorrent's store options (`storeOpts`). */
export interface ConfinedStoreOptions {
  /** Disk path of every file (as stored for the job); computed from the info dictionary when absent. */
  diskPaths?: readonly string[];
  modes: { file: number; dir: number };
  onCreate: (relativePath: string, kind: 'file' | 'dir') => void;
  /** Called with the store once WebTorrent has made it (to check its files while it runs). */
  onStore?: (store: ConfinedChunkStore) => void;
}

/** What WebTorrent passes to a store's constructor, besides our own options. */
interface EngineStoreOptions extends ConfinedStoreOptions {
  /** The job's folder. */
  path: string;
  files: ReadonlyArray<{ length: number; offset: number }>;
  length: number;
  torrent: { info?: InfoDictionary };
}

type Callback<T = void> = (error: Error | null, value?: T) => void;

interface StoredFile {
  diskPath: string;
  length: number;
  offset: number;
  fd: number | undefined;
  opening: { promise: Promise<number>; creating: boolean } | undefined;
  /** A read found no file: later reads fail at once (a check of a new download reads every piece) until a write makes it. */
  missing: Error | undefined;
  /** Reads and writes in flight: an idle descriptor only can be closed. */
  busy: number;
  lastUsed: number;
}

/** One file's share of a piece: bytes `from..to` of the piece at `offset` in the file. */
interface Target {
  file: StoredFile;
  from: number;
  to: number;
  offset: number;
}

export class ConfinedChunkStore {
  readonly chunkLength: number;
  /** The engine may assemble pieces in reused buffers: this store keeps none after a write. */
  readonly keepsNoBuffers = true;
  private readonly folder: string;
  private readonly files: StoredFile[];
  private readonly chunkMap: Target[][] = [];
  private readonly lastChunkIndex: number;
  private readonly lastChunkLength: number;
  private readonly options: ConfinedStoreOptions;
  private closed = false;
  private useCounter = 0;
  private openCount = 0;

  constructor(chunkLength: number, options: EngineStoreOptions) {
    this.chunkLength = chunkLength;
    this.folder = options.path;
    this.options = options;
    const info = options.torrent.info;
    const diskPaths =
      options.diskPaths?.length === options.files.length
        ? options.diskPaths
        : info === undefined
          ? undefined
          : planFileLayout(info).map((file) => file.diskPath);
    if (diskPaths === undefined || diskPaths.length !== options.files.length) {
      throw new Error('The store needs the file layout of the torrent.');
    }
    this.files = options.files.map((file, index) => ({
      diskPath: diskPaths[index] ?? '',
      length: file.length,
      offset: file.offset,
      fd: undefined,
      opening: undefined,
      missing: undefined,
      busy: 0,
      lastUsed: 0,
    }));
    const length = options.length;
    this.lastChunkIndex = Math.ceil(length / chunkLength) - 1;
    this.lastChunkLength = length - this.lastChunkIndex * chunkLength;
    for (const file of this.files) {
      // An empty file belongs to the piece its offset falls in, so that it is created as well.
      const first = Math.min(this.lastChunkIndex, Math.floor(file.offset / chunkLength));
      const last = file.length === 0 ? first : Math.floor((file.offset + file.length - 1) / chunkLength);
      for (let piece = first; piece <= last; piece++) {
        const start = piece * chunkLength;
        const from = Math.max(0, file.offset - start);
        const to = Math.min(chunkLength, file.offset + file.length - start);
        const target = { file, from, to: Math.max(from, to), offset: Math.max(0, start - file.offset) };
        const targets = this.chunkMap[piece] ?? [];
        targets.push(target);
        this.chunkMap[piece] = targets;
      }
    }
    options.onStore?.(this);
  }

  put(index: number, buf: Uint8Array, cb: Callback = noop): void {
    if (this.closed) {
      later(cb, new Error('Storage is closed'));
      return;
    }
    const expected = this.lengthOf(index);
    if (expected === undefined || buf.length !== expected) {
      later(cb, new Error(`Piece ${index} must be ${expected ?? 0} bytes, not ${buf.length}`));
      return;
    }
    const targets = this.chunkMap[index] ?? [];
    const done = allOf(targets.length, (error) => cb(error));
    if (targets.length === 0) {
      later(cb, null);
      return;
    }
    for (const target of targets) {
      const slice = targets.length === 1 ? buf : buf.subarray(target.from, target.to);
      this.withFile(
        target.file,
        true,
        (fd, release) => {
          if (slice.length === 0) {
            release();
            done(null);
            return;
          }
          writeFully(fd, slice, target.offset, (error) => {
            release();
            done(error);
          });
        },
        done,
      );
    }
  }

  get(
    index: number,
    opts: { offset?: number; length?: number } | null | Callback<Uint8Array>,
    cb?: Callback<Uint8Array>,
  ): void {
    if (typeof opts === 'function') {
      this.get(index, null, opts);
      return;
    }
    const callback = cb ?? noop;
    if (this.closed) {
      later(callback, new Error('Storage is closed'));
      return;
    }
    const pieceLength = this.lengthOf(index);
    if (pieceLength === undefined) {
      later(callback, new Error(`No piece ${index}`));
      return;
    }
    const rangeFrom = opts?.offset ?? 0;
    const rangeTo = opts?.length ? rangeFrom + opts.length : pieceLength;
    if (
      !Number.isInteger(rangeFrom) ||
      !Number.isInteger(rangeTo) ||
      rangeFrom < 0 ||
      rangeTo > pieceLength ||
      rangeTo < rangeFrom
    ) {
      later(callback, new Error('Invalid offset and/or length'));
      return;
    }
    const size = rangeTo - rangeFrom;
    const targets = (this.chunkMap[index] ?? []).filter(
      (target) => target.to > rangeFrom && target.from < rangeTo && target.to > target.from,
    );
    if (size === 0 || targets.length === 0) {
      later(callback, null, new Uint8Array(size));
      return;
    }
    // Made once a file is open: checking a new download reads every piece of files not there yet,
    // and a piece-sized buffer for each of those reads would only feed the garbage collector.
    let out: Buffer | undefined;
    const done = allOf(targets.length, (error) => (error ? callback(error) : callback(null, out)));
    for (const target of targets) {
      const from = Math.max(target.from, rangeFrom);
      const to = Math.min(target.to, rangeTo);
      const position = target.offset + (from - target.from);
      this.withFile(
        target.file,
        false,
        (fd, release) => {
          // Every byte is read into it before it is handed out: no need to zero it first.
          out ??= Buffer.allocUnsafeSlow(size);
          readFully(fd, out.subarray(from - rangeFrom, to - rangeFrom), position, (error) => {
            release();
            done(error);
          });
        },
        done,
      );
    }
  }

  close(cb: Callback = noop): void {
    if (this.closed) {
      later(cb, null);
      return;
    }
    this.closed = true;
    void Promise.all(
      this.files.map(async (file) => {
        const fd = file.fd ?? (await file.opening?.promise.catch(() => undefined));
        file.fd = undefined;
        if (fd !== undefined) await closeFd(fd).catch(() => undefined);
      }),
    ).then(() => cb(null));
  }

  /** Only closes: deleting a job's data is the service's decision (only what the job created). */
  destroy(cb: Callback = noop): void {
    this.close(cb);
  }

  /**
   * Files this store has open whose name is gone from disk (deleted, or their disk unmounted
   * lazily): writing on would only fill a deleted inode. Empty when all is well.
   */
  async unlinkedFiles(): Promise<string[]> {
    const gone: string[] = [];
    await Promise.all(
      this.files.map(
        (file) =>
          new Promise<void>((resolve) => {
            if (file.fd === undefined) {
              resolve();
              return;
            }
            fstat(file.fd, (error, stats) => {
              if (!error && stats.nlink === 0) gone.push(file.diskPath);
              resolve();
            });
          }),
      ),
    );
    return gone;
  }

  private lengthOf(index: number): number | undefined {
    if (!Number.isInteger(index) || index < 0 || index > this.lastChunkIndex) return undefined;
    return index === this.lastChunkIndex ? this.lastChunkLength : this.chunkLength;
  }

  /** Runs `use` with the file's descriptor (opened, and created when writing, on first use). */
  private withFile(
    file: StoredFile,
    writing: boolean,
    use: (fd: number, release: () => void) => void,
    fail: (error: Error) => void,
  ): void {
    file.busy += 1;
    file.lastUsed = ++this.useCounter;
    const release = (): void => {
      file.busy -= 1;
    };
    if (file.fd !== undefined) {
      use(file.fd, release);
      return;
    }
    if (!writing && file.missing !== undefined) {
      release();
      fail(file.missing);
      return;
    }
    if (file.opening === undefined) {
      file.opening = { promise: this.openFile(file, writing), creating: writing };
    } else if (writing && !file.opening.creating) {
      // A read found no file yet: this write creates it.
      file.opening = { promise: file.opening.promise.catch(() => this.openFile(file, true)), creating: true };
    }
    const opening = file.opening.promise;
    const settled = (): void => {
      // A failed open (a read of a file not there yet) may be followed by a write that creates it.
      if (file.opening?.promise === opening) file.opening = undefined;
    };
    opening.then(
      (fd) => {
        settled();
        if (this.closed) {
          release();
          fail(new Error('Storage is closed'));
          return;
        }
        use(fd, release);
      },
      (error: Error) => {
        settled();
        release();
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') file.missing = error;
        fail(error);
      },
    );
  }

  private async openFile(file: StoredFile, creating: boolean): Promise<number> {
    // Read and write even when only reading: the same descriptor later takes the piece's writes.
    const fd = await openInside(this.folder, file.diskPath, {
      write: true,
      create: creating,
      modes: this.options.modes,
      onCreate: this.options.onCreate,
    });
    if (this.closed) {
      await closeFd(fd).catch(() => undefined);
      throw new Error('Storage is closed');
    }
    file.fd = fd;
    file.missing = undefined;
    this.openCount += 1;
    this.closeIdleFiles();
    return fd;
  }

  private closeIdleFiles(): void {
    if (this.openCount <= MAX_OPEN_FILES) return;
    const idle = this.files
      .filter((file) => file.fd !== undefined && file.busy === 0)
      .sort((a, b) => a.lastUsed - b.lastUsed);
    for (const file of idle.slice(0, this.openCount - MAX_OPEN_FILES)) {
      const fd = file.fd;
      file.fd = undefined;
      this.openCount -= 1;
      if (fd !== undefined) void closeFd(fd).catch(() => undefined);
    }
  }
}

function writeFully(fd: number, data: Uint8Array, position: number, cb: (error: Error | null) => void): void {
  write(fd, data, 0, data.length, position, (error, written) => {
    if (error) cb(error);
    else if (written < data.length) writeFully(fd, data.subarray(written), position + written, cb);
    else cb(null);
  });
}

function readFully(fd: number, into: Uint8Array, position: number, cb: (error: Error | null) => void): void {
  read(fd, into, 0, into.length, position, (error, bytesRead) => {
    if (error) cb(error);
    else if (bytesRead === 0) cb(new Error('The file is shorter than the torrent says'));
    else if (bytesRead < into.length) readFully(fd, into.subarray(bytesRead), position + bytesRead, cb);
    else cb(null);
  });
}

/** A callback for `count` parts: `finish` once all have succeeded, or at the first failure. */
function allOf(count: number, finish: (error: Error | null) => void): (error: Error | null) => void {
  let pending = count;
  let failed = false;
  return (error) => {
    if (failed) return;
    if (error) {
      failed = true;
      finish(error);
    } else if (--pending === 0) {
      finish(null);
    }
  };
}

function later<T>(cb: Callback<T>, error: Error | null, value?: T): void {
  queueMicrotask(() => cb(error, value));
}

function noop(): void {}
