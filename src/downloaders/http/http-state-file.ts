/**
 * What a direct download needs to continue after a pause, a crash or a restart, besides the bytes
 * already in its file (whose size says how far it got): the file's name, the server's validator
 * (ETag / Last-Modified, sent back as `If-Range`) and the size the server announced. It lives in a
 * small hidden file in the job's folder, written through the confined opens like every other file
 * (no symbolic link followed) and recorded in the job's footprint. Nothing else is persisted.
 */
import {
  fdatasync as fdatasyncCallback,
  fstat as fstatCallback,
  ftruncate as ftruncateCallback,
  read as readCallback,
  write as writeCallback,
} from 'node:fs';
import { promisify } from 'node:util';
import { closeFd, openInside } from '../../disk/confined-files.js';
import { sanitizeComponent } from '../../torrent/file-layout.js';

export const STATE_FILE = '.chilly-http.json';
/** A state file larger than this is not ours (ours is a few hundred bytes). */
const MAX_STATE_BYTES = 8 * 1024;
/** Validators are echoed in a request header: printable ASCII only, and short. */
const HEADER_VALUE = /^[\x20-\x7e]{1,512}$/;

export const fstat = promisify(fstatCallback);
export const ftruncate = promisify(ftruncateCallback);
export const fdatasync = promisify(fdatasyncCallback);
const read = promisify(readCallback);
function writeSome(fd: number, data: Uint8Array, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    writeCallback(fd, data, offset, length, position, (error, written) => (error ? reject(error) : resolve(written)));
  });
}

export interface HttpState {
  /** The data file's name inside the job's folder (one safe component). */
  fileName: string;
  etag?: string;
  lastModified?: string;
  /** The size the server announced; absent when it did not say. */
  totalBytes?: number;
  /** Every byte is on disk: a restart needs no network. */
  complete?: boolean;
}

export interface ConfinedWriteOptions {
  modes: { file: number; dir: number };
  onCreate: (relativePath: string, kind: 'file' | 'dir') => void;
}

/** Writes all of `data` at `position` (a write may be short). */
export async function writeAt(fd: number, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.byteLength) {
    done += await writeSome(fd, data, done, data.byteLength - done, position + done);
  }
}

/** The state kept in `folder`, or undefined when there is none or it is not a valid one of ours. */
export async function readHttpState(folder: string): Promise<HttpState | undefined> {
  let fd: number;
  try {
    fd = await openInside(folder, STATE_FILE, { create: false });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const { size } = await fstat(fd);
    if (size > MAX_STATE_BYTES) return undefined;
    const buffer = Buffer.alloc(size);
    const { bytesRead } = await read(fd, buffer, 0, size, 0);
    return validState(JSON.parse(buffer.subarray(0, bytesRead).toString('utf8')));
  } catch (error) {
    // A state file cut short by a crash reads as no state: the download then starts over.
    if (error instanceof SyntaxError) return undefined;
    throw error;
  } finally {
    await closeFd(fd).catch(() => undefined);
  }
}

/** Replaces the state kept in `folder`. */
export async function writeHttpState(folder: string, state: HttpState, options: ConfinedWriteOptions): Promise<void> {
  const fd = await openInside(folder, STATE_FILE, { create: true, ...options });
  try {
    const data = Buffer.from(`${JSON.stringify(state)}\n`);
    await ftruncate(fd, 0);
    await writeAt(fd, data, 0);
    await fdatasync(fd);
  } finally {
    await closeFd(fd).catch(() => undefined);
  }
}

/** Only what this module writes: a safe file name, header-safe validators, a whole size. */
export function validState(value: unknown): HttpState | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const record = value as Record<string, unknown>;
  const { fileName, etag, lastModified, totalBytes, complete } = record;
  if (typeof fileName !== 'string' || sanitizeComponent(fileName) !== fileName || fileName.startsWith('.')) {
    return undefined;
  }
  const state: HttpState = { fileName };
  if (typeof etag === 'string' && HEADER_VALUE.test(etag)) state.etag = etag;
  if (typeof lastModified === 'string' && HEADER_VALUE.test(lastModified)) state.lastModified = lastModified;
  if (typeof totalBytes === 'number' && Number.isSafeInteger(totalBytes) && totalBytes >= 0) {
    state.totalBytes = totalBytes;
  }
  if (complete === true && state.totalBytes !== undefined) state.complete = true;
  return state;
}

/** A response header as one printable value, or undefined (absent, repeated or not safe to send back). */
export function headerValue(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' && HEADER_VALUE.test(value) ? value : undefined;
}
