/**
 * Artwork on disk, so a library shows posters offline: each image URL is downloaded once into
 * `<dataDir>/cache/posters/<sha256 of the URL>.<jpg|png|webp>` and served from there ever after.
 * Only real images are kept (Content-Type and the file's magic bytes must agree), never more than
 * `maxBytes`, and a file appears only complete (written aside, then renamed). The folder holds at
 * most `maxTotalBytes`: after each download the least recently used images go (a hit marks an
 * image used, at most once a day, through its modification time).
 *
 * One attempt per call, no retry: a missing poster is cosmetic and the next view asks again.
 * No credentials are sent: image hosts need none.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ChillyError } from '../domain/errors.js';
import { outboundRequest, parseHttpUrl } from '../http/outbound-request.js';

export interface PosterCacheOptions {
  /** Usually `PosterCache.dirFor(config.dataDir)`. */
  dir: string;
  /** Largest image accepted, in bytes. Default 5 MiB (a w500 poster is ~50-150 KiB). */
  maxBytes?: number;
  /** Whole download, body included. Default 15 s. */
  timeoutMs?: number;
  /** The whole folder, at most (least recently used images go first). Default 256 MiB. */
  maxTotalBytes?: number;
  fetch?: typeof fetch;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** A `.part` file this old was left by a process that died mid-write. */
const STALE_PART_MS = 60 * 60 * 1000;

export interface PosterFileInfo {
  path: string;
  contentType: ImageType['contentType'];
  bytes: number;
}

interface ImageType {
  extension: 'jpg' | 'png' | 'webp';
  contentType: 'image/jpeg' | 'image/png' | 'image/webp';
  matches: (bytes: Uint8Array) => boolean;
}

const IMAGE_TYPES: readonly ImageType[] = [
  {
    extension: 'jpg',
    contentType: 'image/jpeg',
    matches: (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff,
  },
  {
    extension: 'png',
    contentType: 'image/png',
    matches: (b) => [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a].every((byte, i) => b[i] === byte),
  },
  {
    extension: 'webp',
    contentType: 'image/webp',
    matches: (b) =>
      Buffer.from(b.subarray(0, 4)).toString('latin1') === 'RIFF' &&
      Buffer.from(b.subarray(8, 12)).toString('latin1') === 'WEBP',
  },
];

export class PosterCache {
  readonly dir: string;
  readonly #maxBytes: number;
  readonly #timeoutMs: number;
  readonly #maxTotalBytes: number;
  readonly #fetch: typeof fetch;
  #evicting: Promise<void> = Promise.resolve();
  readonly #inFlight = new Map<string, Promise<PosterFileInfo>>();

  static dirFor(dataDir: string): string {
    return path.join(dataDir, 'cache', 'posters');
  }

  constructor(options: PosterCacheOptions) {
    this.dir = path.resolve(options.dir);
    this.#maxBytes = options.maxBytes ?? 5 * 1024 * 1024;
    this.#timeoutMs = options.timeoutMs ?? 15_000;
    this.#maxTotalBytes = options.maxTotalBytes ?? 256 * 1024 * 1024;
    this.#fetch = options.fetch ?? globalThis.fetch;
  }

  /** The local file for `url` if it was downloaded before; never touches the network. */
  async cached(url: string): Promise<PosterFileInfo | undefined> {
    const base = this.#baseName(parseImageUrl(url));
    for (const type of IMAGE_TYPES) {
      const file = path.join(this.dir, `${base}.${type.extension}`);
      const info = await stat(file).catch(() => undefined);
      if (info?.isFile()) {
        await this.#markUsed(file, info.mtimeMs);
        return { path: file, contentType: type.contentType, bytes: info.size };
      }
    }
    return undefined;
  }

  /** The local file for `url`, downloading it first if needed. Concurrent calls share one download. */
  async get(url: string, options: { signal?: AbortSignal } = {}): Promise<PosterFileInfo> {
    const parsed = parseImageUrl(url);
    const hit = await this.cached(url);
    if (hit !== undefined) return hit;
    const key = parsed.href;
    let download = this.#inFlight.get(key);
    if (download === undefined) {
      download = this.#download(parsed, options.signal).finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, download);
    }
    return download;
  }

  #baseName(url: URL): string {
    return createHash('sha256').update(url.href).digest('hex').slice(0, 40);
  }

  async #download(url: URL, signal: AbortSignal | undefined): Promise<PosterFileInfo> {
    const where = `${url.host}${url.pathname}`;
    let declared = '';
    const { body: bytes } = await outboundRequest(url, {
      timeoutMs: this.#timeoutMs,
      maxBytes: this.#maxBytes,
      signal,
      headers: { accept: 'image/*' },
      redirect: 'follow',
      fetch: this.#fetch,
      beforeBody: (head) => {
        if (head.status !== 200) {
          throw new ChillyError('metadata_unavailable', `Poster ${where}: HTTP ${head.status}.`);
        }
        declared = (head.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
        if (!IMAGE_TYPES.some((type) => type.contentType === declared)) {
          throw new ChillyError('metadata_unavailable', `Poster ${where}: not an image (${declared || 'no type'}).`);
        }
      },
      failure: {
        code: 'metadata_unavailable',
        describe: (failure) => `Poster ${where}: ${failure.kind === 'network' ? 'network error' : failure.detail}.`,
      },
    });
    const type = IMAGE_TYPES.find((candidate) => candidate.contentType === declared);
    if (type === undefined || !type.matches(bytes)) {
      throw new ChillyError('metadata_unavailable', `Poster ${where}: the data is not a ${declared} image.`);
    }
    await mkdir(this.dir, { recursive: true });
    const file = path.join(this.dir, `${this.#baseName(url)}.${type.extension}`);
    const temporary = `${file}.${randomBytes(6).toString('hex')}.part`;
    try {
      await writeFile(temporary, bytes);
      await rename(temporary, file);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
    await this.#evict(file);
    return { path: file, contentType: type.contentType, bytes: bytes.byteLength };
  }

  /** Moves the image to the front of the eviction order (once a day at most: it is a write). */
  async #markUsed(file: string, mtimeMs: number): Promise<void> {
    const now = Date.now();
    if (now - mtimeMs < DAY_MS) return;
    const time = new Date(now);
    await utimes(file, time, time).catch(() => undefined); // a read-only cache still serves
  }

  /** Deletes the least recently used images until the folder fits `maxTotalBytes`; never `keep`. */
  #evict(keep: string): Promise<void> {
    // One pass at a time: concurrent downloads would otherwise count the same files twice.
    this.#evicting = this.#evicting.then(() => this.#evictNow(keep)).catch(() => undefined);
    return this.#evicting;
  }

  async #evictNow(keep: string): Promise<void> {
    const now = Date.now();
    const entries: { file: string; bytes: number; mtimeMs: number }[] = [];
    for (const name of await readdir(this.dir)) {
      const file = path.join(this.dir, name);
      const info = await stat(file).catch(() => undefined);
      if (info === undefined || !info.isFile()) continue;
      if (name.endsWith('.part')) {
        if (now - info.mtimeMs > STALE_PART_MS) await rm(file, { force: true });
        continue;
      }
      entries.push({ file, bytes: info.size, mtimeMs: info.mtimeMs });
    }
    let total = entries.reduce((sum, entry) => sum + entry.bytes, 0);
    entries.sort((a, b) => a.mtimeMs - b.mtimeMs);
    for (const entry of entries) {
      if (total <= this.#maxTotalBytes) break;
      if (entry.file === keep) continue;
      await rm(entry.file, { force: true });
      total -= entry.bytes;
    }
  }
}

function parseImageUrl(url: string): URL {
  return parseHttpUrl(url, { message: 'A poster URL must be an absolute http(s) URL.' });
}
