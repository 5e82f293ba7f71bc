/**
 * The library folder (issue 18): finished films laid out the way Plex, Jellyfin and Kodi expect,
 *
 *   <root>/Night of the Living Dead (1968)/Night of the Living Dead (1968).mkv
 *                                          Night of the Living Dead (1968).en.srt
 *                                          poster.jpg
 *                                          movie.nfo
 *                                          .chilly-library.json   (who placed what)
 *
 * while the torrent keeps seeding from the job's own folder. The film is a hard link to the job's
 * file when the library is on the same file system (no extra space, nothing to copy), otherwise a
 * copy. Pure file system: no database, no HTTP; the caller stores the returned `LibraryPlacement`.
 *
 * Why each rule (naming conventions and their sources are in library-names.ts):
 * - The library is the user's: a file or folder Chilly did not put there is never overwritten or
 *   deleted. What Chilly placed is recorded in `.chilly-library.json` inside each movie folder,
 *   with each file's device, inode and size, so "is this still ours?" has an answer; a file the
 *   user replaced or edited is theirs from then on.
 * - A crash never leaves a half-written file under a final name: copies and small files are
 *   written to `.<name>.<random>.chilly-partial`, fsynced, then linked (or renamed) into place
 *   without replacing anything; `recover()` deletes leftover partial files at start-up. The
 *   manifest lists a file as `pending` before it is placed, so a restart adopts a file whose
 *   placement finished but whose record did not.
 * - Nothing is written outside the root, and no symbolic link planted inside it is followed:
 *   folders are opened with O_DIRECTORY|O_NOFOLLOW and, on Linux, every later operation goes
 *   through `/proc/self/fd/<fd>/<name>` (openat semantics: the folder that was checked is the
 *   folder written to, whatever is renamed or swapped meanwhile). Files are created with
 *   O_CREAT|O_EXCL|O_NOFOLLOW. A planted link is skipped (another folder name is chosen) or
 *   refused with `unsafe_path`. Elsewhere than Linux the path is checked again right before use,
 *   which narrows the window but cannot close it.
 * - Versions and namesakes: a second job for the same film (same TMDB id) joins its folder with a
 *   ` - 1080p` suffix (Plex's and Jellyfin's "multiple versions"); a different film with the same
 *   title and year gets its own folder, `Title (Year) [tmdbid-123]`, or `Title (Year) (2)` without
 *   an id.
 *
 * Operations on one LibraryFolder run one at a time. Two processes sharing a library are not
 * coordinated (the manifest is rewritten whole); the server is the only writer.
 */
import { randomBytes } from 'node:crypto';
import { constants, existsSync, type Stats } from 'node:fs';
import {
  chmod,
  type FileHandle,
  link,
  lstat,
  mkdir,
  open,
  readdir,
  realpath,
  rename,
  rmdir,
  unlink,
} from 'node:fs/promises';
import path from 'node:path';
import { ChillyError } from '../domain/errors.js';
import {
  copyDisambiguator,
  movieFolderName,
  safeLabel,
  tmdbDisambiguator,
  truncateUtf8,
  utf8Length,
  validYear,
} from './library-names.js';
import { type MovieNfoInput, movieNfo } from './movie-nfo.js';

/** The record of what Chilly placed in a movie folder. */
export const MANIFEST_NAME = '.chilly-library.json';
/** Ends the name of every temporary file; `recover()` deletes what a crash left. */
export const PARTIAL_SUFFIX = '.chilly-partial';
export const POSTER_NAME = 'poster.jpg';
export const NFO_NAME = 'movie.nfo';
/** Media servers often run as another user: the library is readable by all. */
export const LIBRARY_MODES = { file: 0o644, dir: 0o755 } as const;

const MANIFEST_FORMAT = 'chilly-library';
const MANIFEST_VERSION = 1;
const COPY_CHUNK_BYTES = 1024 * 1024;
/** Subtitles and posters are read whole: anything bigger is not one. */
const MAX_SMALL_FILE_BYTES = 32 * 1024 * 1024;
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_FOLDER_CANDIDATES = 100;
const MAX_NAME_CANDIDATES = 100;
/** The name length limit of ext4, XFS, btrfs, APFS, NTFS (in UTF-16 units, looser), exFAT (likewise). */
const NAME_MAX_BYTES = 255;

const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const O_DIRECTORY = constants.O_DIRECTORY ?? 0;
const HAS_PROC_FD = process.platform === 'linux' && existsSync('/proc/self/fd');
/** link(2) failures that mean "no hard link here", not "something is wrong": copy instead. */
const NO_HARD_LINK = new Set(['EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK', 'EACCES']);

export type LibraryFileRole = 'video' | 'subtitle' | 'poster' | 'nfo';

/** One file Chilly placed, and how to recognise it later (same device, inode and size). */
export interface LibraryPlacedFile {
  role: LibraryFileRole;
  /** The file's name inside the movie folder. */
  name: string;
  dev: number;
  ino: number;
  size: number;
  /** A hard link to the job's own file (no extra space used) rather than a copy. */
  linked: boolean;
}

/** What `place` did for a job: JSON-serialisable, stored by the caller and passed back later. */
export interface LibraryPlacement {
  jobId: string;
  /** The movie folder, relative to the library root (one path component). */
  folder: string;
  files: LibraryPlacedFile[];
}

/** The film an entry is for: what its folder is named after and its movie.nfo says. */
export type LibraryMovie = MovieNfoInput;

export interface LibrarySubtitleInput {
  /** Absolute path of the subtitle file (in the job's folder, or a downloaded one). */
  path: string;
  /** ISO 639 code (`en`, `pt-BR`), or null when unknown. */
  language: string | null;
  forced?: boolean;
  /** For the deaf and hard of hearing. */
  sdh?: boolean;
  /** `srt`, `ass`, `ssa`, `vtt`, … (also `subrip`, `webvtt`). */
  format: string;
}

export interface LibraryEntryInput {
  jobId: string;
  movie: LibraryMovie;
  /** A version label such as `1080p`, used when the film already has a version in the library. */
  quality?: string | null;
  video: { path: string };
  subtitles: readonly LibrarySubtitleInput[];
  /** The poster image (JPEG), or null/absent for none. */
  poster?: Uint8Array | null;
  /** What was placed for this job before: the entry is kept, or moved when the movie changed. */
  existing?: LibraryPlacement | null;
}

export interface LibraryPlaceOptions {
  /** Bytes copied so far out of the video's size (called once with both equal for a hard link). */
  onProgress?(done: number, total: number): void;
  /** Aborts a copy between chunks; the partial file is deleted. */
  signal?: AbortSignal;
}

export interface LibraryRemoval {
  /** Paths relative to the root of the files deleted. */
  removed: string[];
  /** Paths relative to the root of the files left: changed by the user, or still used by another job's version. */
  kept: string[];
}

export type LibraryFileState = 'ok' | 'missing' | 'changed' | 'pending';

export interface LibraryListing {
  /** The movie folder, relative to the root. */
  folder: string;
  /** The jobs that placed files here (one, or one per version of the film). */
  jobIds: string[];
  movie: { title: string; year: number | null; tmdbId: number | null };
  files: { jobId: string; role: LibraryFileRole; name: string; state: LibraryFileState }[];
}

// ---------------------------------------------------------------------------------------------
// The manifest

interface ManifestFile extends LibraryPlacedFile {
  /** Listed before it was placed: adopted if found, its identity not yet known. */
  pending?: true;
}

interface ManifestMovie {
  title: string;
  year: number | null;
  tmdbId: number | null;
}

interface ManifestEntry {
  jobId: string;
  movie: ManifestMovie;
  files: ManifestFile[];
}

interface Manifest {
  format: typeof MANIFEST_FORMAT;
  version: typeof MANIFEST_VERSION;
  entries: ManifestEntry[];
}

type ManifestRead = { state: 'absent' } | { state: 'invalid' } | { state: 'ok'; manifest: Manifest; text: string };

const ROLES: readonly LibraryFileRole[] = ['video', 'subtitle', 'poster', 'nfo'];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** A single path component: not empty, `.` or `..`, no separator or NUL, at most 255 bytes. */
function isPlainName(name: unknown): name is string {
  return (
    typeof name === 'string' &&
    name !== '' &&
    name !== '.' &&
    name !== '..' &&
    !name.includes('/') &&
    !name.includes('\\') &&
    !name.includes('\0') &&
    utf8Length(name) <= NAME_MAX_BYTES
  );
}

function parseFile(value: unknown): ManifestFile | null {
  if (!isRecord(value)) return null;
  const { role, name, dev, ino, size, linked, pending } = value;
  if (!ROLES.includes(role as LibraryFileRole) || !isPlainName(name) || name === MANIFEST_NAME) return null;
  if (!isCount(dev) || !isCount(ino) || !isCount(size) || typeof linked !== 'boolean') return null;
  const file: ManifestFile = { role: role as LibraryFileRole, name, dev, ino, size, linked };
  if (pending === true) file.pending = true;
  return file;
}

function parseManifest(text: string): Manifest | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isRecord(value) || value.format !== MANIFEST_FORMAT || value.version !== MANIFEST_VERSION) return null;
  if (!Array.isArray(value.entries)) return null;
  const entries: ManifestEntry[] = [];
  for (const raw of value.entries) {
    if (!isRecord(raw) || typeof raw.jobId !== 'string' || raw.jobId === '' || !isRecord(raw.movie)) return null;
    if (!Array.isArray(raw.files)) return null;
    const movie = raw.movie;
    entries.push({
      jobId: raw.jobId,
      movie: {
        title: typeof movie.title === 'string' ? movie.title : '',
        year: isCount(movie.year) ? movie.year : null,
        tmdbId: isCount(movie.tmdbId) ? movie.tmdbId : null,
      },
      files: raw.files.map(parseFile).filter((file): file is ManifestFile => file !== null),
    });
  }
  return { format: MANIFEST_FORMAT, version: MANIFEST_VERSION, entries };
}

function serializeManifest(manifest: Manifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function errnoOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

function unsafe(message: string): ChillyError {
  return new ChillyError('unsafe_path', message);
}

function conflict(message: string): ChillyError {
  return new ChillyError('library_conflict', message);
}

function invalid(message: string): ChillyError {
  return new ChillyError('validation_failed', message);
}

function sameFile(stats: Stats | null, record: { dev: number; ino: number; size: number }): boolean {
  return stats?.isFile() === true && stats.dev === record.dev && stats.ino === record.ino && stats.size === record.size;
}

function identity(stats: Stats): { dev: number; ino: number; size: number } {
  return { dev: stats.dev, ino: stats.ino, size: stats.size };
}

function partialName(name: string): string {
  return `.${truncateUtf8(name, 180)}.${randomBytes(4).toString('hex')}${PARTIAL_SUFFIX}`;
}

function isPartialName(name: string): boolean {
  return name.startsWith('.') && name.endsWith(PARTIAL_SUFFIX);
}

/** `.mkv` for a video path, '' when it has none worth keeping. */
function extensionOf(file: string): string {
  const ext = path.extname(file).toLowerCase();
  return /^\.[a-z0-9]{1,8}$/.test(ext) ? ext : '';
}

const SUBTITLE_FORMAT_ALIASES: Record<string, string> = { subrip: 'srt', webvtt: 'vtt' };

function subtitleExtension(subtitle: LibrarySubtitleInput): string {
  const format = String(subtitle.format ?? '')
    .toLowerCase()
    .replace(/^\./, '');
  const named = SUBTITLE_FORMAT_ALIASES[format] ?? format;
  if (/^[a-z0-9]{1,8}$/.test(named)) return `.${named}`;
  return extensionOf(subtitle.path) || '.srt';
}

/** `en`, `pt-BR`, `zh-Hant`; null for anything that is not an ISO 639 code with an optional subtag. */
function languageTag(language: string | null): string | null {
  if (typeof language !== 'string') return null;
  const match = /^([a-z]{2,3})(?:[-_]([a-z0-9]{2,8}))?$/i.exec(language.trim());
  if (match === null) return null;
  const primary = (match[1] ?? '').toLowerCase();
  const subtag = match[2];
  if (subtag === undefined) return primary;
  const region = subtag.length === 2 ? subtag.toUpperCase() : subtag[0]?.toUpperCase() + subtag.slice(1).toLowerCase();
  return `${primary}-${region}`;
}

function movieOf(movie: LibraryMovie): ManifestMovie {
  const tmdbId = movie.tmdbId;
  return {
    title: movie.title,
    year: validYear(movie.year),
    tmdbId: typeof tmdbId === 'number' && Number.isSafeInteger(tmdbId) && tmdbId > 0 ? tmdbId : null,
  };
}

function* folderCandidates(movie: ManifestMovie): Generator<string> {
  const base = { title: movie.title, year: movie.year };
  yield movieFolderName(base);
  if (movie.tmdbId !== null) yield movieFolderName({ ...base, disambiguator: tmdbDisambiguator(movie.tmdbId) });
  for (let n = 2; n <= MAX_FOLDER_CANDIDATES; n++) {
    yield movieFolderName({ ...base, disambiguator: copyDisambiguator(n) });
  }
}

/** Other jobs' entries allow this job in: all are versions of the same film (same TMDB id). */
function compatible(manifest: Manifest, jobId: string, movie: ManifestMovie): boolean {
  return manifest.entries.every(
    (entry) => entry.jobId === jobId || (movie.tmdbId !== null && entry.movie.tmdbId === movie.tmdbId),
  );
}

// ---------------------------------------------------------------------------------------------
// Folders opened once and then used through their descriptor

class Dir {
  private constructor(
    private readonly handle: FileHandle,
    /** The real path, for messages and where /proc/self/fd is missing. */
    readonly real: string,
    readonly stats: Stats,
  ) {}

  /** Opens the folder `at` names (never through a final symbolic link) and checks it is a folder. */
  static async open(at: string, real: string): Promise<Dir> {
    const handle = await open(at, constants.O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    try {
      const stats = await handle.stat();
      if (!stats.isDirectory()) throw unsafe(`${real} is not a folder.`);
      if (!HAS_PROC_FD) {
        const now = await lstat(real);
        if (now.isSymbolicLink() || now.dev !== stats.dev || now.ino !== stats.ino) {
          throw unsafe(`${real} changed while it was being opened.`);
        }
      }
      return new Dir(handle, real, stats);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** The path of `name` inside this very folder. */
  at(name: string): string {
    return HAS_PROC_FD ? `/proc/self/fd/${this.handle.fd}/${name}` : path.join(this.real, name);
  }

  /** The path of this very folder (for readdir). */
  self(): string {
    return HAS_PROC_FD ? `/proc/self/fd/${this.handle.fd}` : this.real;
  }

  sameAs(other: Dir): boolean {
    return this.stats.dev === other.stats.dev && this.stats.ino === other.stats.ino;
  }

  chmod(mode: number): Promise<void> {
    return this.handle.chmod(mode);
  }

  /** Makes renames and links in this folder durable. */
  async sync(): Promise<void> {
    await this.handle.sync().catch(() => undefined);
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

type Child = { kind: 'missing' } | { kind: 'blocked'; why: string } | { kind: 'dir'; dir: Dir };

async function openChild(parent: Dir, name: string): Promise<Child> {
  try {
    return { kind: 'dir', dir: await Dir.open(parent.at(name), path.join(parent.real, name)) };
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'ENOENT') return { kind: 'missing' };
    if (code === 'ELOOP' || code === 'ENOTDIR' || code === 'EMLINK') {
      const stats = await lstat(parent.at(name)).catch(() => null);
      return { kind: 'blocked', why: stats?.isSymbolicLink() === true ? 'a symbolic link' : 'not a folder' };
    }
    if (error instanceof ChillyError && error.code === 'unsafe_path') return { kind: 'blocked', why: error.message };
    throw error;
  }
}

async function lstatAt(dir: Dir, name: string): Promise<Stats | null> {
  try {
    return await lstat(dir.at(name));
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return null;
    throw error;
  }
}

async function namesIn(dir: Dir): Promise<Set<string>> {
  return new Set(await readdir(dir.self()));
}

async function readManifest(dir: Dir): Promise<ManifestRead> {
  let handle: FileHandle;
  try {
    handle = await open(dir.at(MANIFEST_NAME), constants.O_RDONLY | O_NOFOLLOW);
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'ENOENT') return { state: 'absent' };
    if (code === 'ELOOP' || code === 'EMLINK' || code === 'EISDIR') return { state: 'invalid' };
    throw error;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile() || stats.size > MAX_MANIFEST_BYTES) return { state: 'invalid' };
    const text = await handle.readFile('utf8');
    const manifest = parseManifest(text);
    return manifest === null ? { state: 'invalid' } : { state: 'ok', manifest, text };
  } finally {
    await handle.close();
  }
}

/**
 * `name` in `dir` with `bytes`, written aside and then placed: never over anything, or over
 * `replacing` (Chilly's own out-of-date file), atomically.
 */
async function writeSmall(
  dir: Dir,
  name: string,
  bytes: Uint8Array,
  replacing: ManifestFile | undefined,
): Promise<Stats> {
  const temporary = await writeTemporary(dir, name, bytes);
  await finish(dir, temporary, name, replacing);
  return lstat(dir.at(name));
}

/** A new file under `name` in `dir`: never one that exists, never through a symbolic link. */
function createNew(dir: Dir, name: string): Promise<FileHandle> {
  return open(dir.at(name), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW, LIBRARY_MODES.file);
}

async function writeTemporary(dir: Dir, name: string, bytes: Uint8Array): Promise<string> {
  const temporary = partialName(name);
  const handle = await createNew(dir, temporary);
  let done = false;
  try {
    await handle.writeFile(bytes);
    await handle.chmod(LIBRARY_MODES.file);
    await handle.sync();
    done = true;
  } finally {
    await handle.close();
    if (!done) await unlink(dir.at(temporary)).catch(() => undefined);
  }
  return temporary;
}

/**
 * Gives the finished temporary file its final name without ever replacing what is there: link(2)
 * fails on an existing name, and the temporary name goes after. Where hard links are not
 * supported (exFAT, some network shares) the name is checked, then renamed.
 */
async function publish(dir: Dir, temporary: string, name: string): Promise<void> {
  try {
    await link(dir.at(temporary), dir.at(name));
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'EEXIST')
      throw conflict(`${path.join(dir.real, name)} appeared while Chilly was writing it: left alone.`);
    if (code === undefined || !NO_HARD_LINK.has(code) || code === 'EXDEV') throw error;
    if ((await lstatAt(dir, name)) !== null) {
      throw conflict(`${path.join(dir.real, name)} appeared while Chilly was writing it: left alone.`);
    }
    await rename(dir.at(temporary), dir.at(name));
    return;
  }
  await unlink(dir.at(temporary));
}

/** Moves a file between folders of the library without replacing anything; false when it cannot (another file system). */
async function moveFile(from: Dir, fromName: string, to: Dir, toName: string, record: ManifestFile): Promise<boolean> {
  try {
    await link(from.at(fromName), to.at(toName));
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'EEXIST')
      throw conflict(`${path.join(to.real, toName)} appeared while Chilly was moving a file there.`);
    if (code === 'EXDEV' || code === 'ENOENT') return false;
    if (code === undefined || !NO_HARD_LINK.has(code)) throw error;
    if ((await lstatAt(to, toName)) !== null) {
      throw conflict(`${path.join(to.real, toName)} appeared while Chilly was moving a file there.`);
    }
    if (!sameFile(await lstatAt(from, fromName), record)) return false;
    await rename(from.at(fromName), to.at(toName));
    return true;
  }
  // What was linked must be what the record says (the old name could have been swapped meanwhile).
  if (!sameFile(await lstatAt(to, toName), record)) {
    await unlink(to.at(toName)).catch(() => undefined);
    return false;
  }
  await unlink(from.at(fromName)).catch((error: unknown) => {
    if (errnoOf(error) !== 'ENOENT') throw error;
  });
  return true;
}

interface Source {
  path: string;
  handle: FileHandle;
  stats: Stats;
}

async function openSource(file: string, what: string): Promise<Source> {
  if (typeof file !== 'string' || !path.isAbsolute(file)) throw invalid(`The ${what} path must be absolute.`);
  let handle: FileHandle;
  try {
    handle = await open(file, constants.O_RDONLY | O_NOFOLLOW);
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'ENOENT') {
      throw new ChillyError('files_missing', `The ${what} ${file} is missing.`, { cause: error });
    }
    if (code === 'ELOOP' || code === 'EMLINK') throw unsafe(`The ${what} ${file} is a symbolic link: refused.`);
    throw error;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw unsafe(`The ${what} ${file} is not a regular file.`);
    return { path: file, handle, stats };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

async function readSmallSource(file: string, what: string): Promise<Buffer> {
  const source = await openSource(file, what);
  try {
    if (source.stats.size > MAX_SMALL_FILE_BYTES) throw invalid(`The ${what} ${file} is too large.`);
    return await source.handle.readFile();
  } finally {
    await source.handle.close();
  }
}

async function readSmallAt(dir: Dir, name: string): Promise<Buffer | null> {
  let handle: FileHandle;
  try {
    handle = await open(dir.at(name), constants.O_RDONLY | O_NOFOLLOW);
  } catch (error) {
    if (['ENOENT', 'ELOOP', 'EMLINK'].includes(errnoOf(error) ?? '')) return null;
    throw error;
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile() || stats.size > MAX_SMALL_FILE_BYTES) return null;
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/**
 * Gives a finished temporary file its final name: without replacing anything (see `publish`), or,
 * when `replacing` is Chilly's out-of-date file under that name, in its place (rename(2), atomic)
 * after checking it is still that file.
 */
async function finish(dir: Dir, temporary: string, name: string, replacing: ManifestFile | undefined): Promise<void> {
  try {
    const now = replacing === undefined ? null : await lstatAt(dir, name);
    if (replacing === undefined || now === null) {
      await publish(dir, temporary, name);
    } else if (sameFile(now, replacing)) {
      await rename(dir.at(temporary), dir.at(name));
    } else {
      throw conflict(`${path.join(dir.real, name)} changed while Chilly was updating it: left alone.`);
    }
  } catch (error) {
    await unlink(dir.at(temporary)).catch(() => undefined);
    throw error;
  }
}

/** Copies the video into `dir` as `name`: in chunks, with progress, abortable, fsynced, placed whole or not at all. */
async function copyVideo(
  source: Source,
  dir: Dir,
  name: string,
  options: LibraryPlaceOptions,
  replacing: ManifestFile | undefined,
): Promise<void> {
  const temporary = partialName(name);
  const total = source.stats.size;
  const out = await createNew(dir, temporary);
  let done = false;
  try {
    await out.chmod(LIBRARY_MODES.file);
    const buffer = Buffer.allocUnsafe(Math.min(COPY_CHUNK_BYTES, Math.max(total, 1)));
    let position = 0;
    options.onProgress?.(0, total);
    while (position < total) {
      options.signal?.throwIfAborted();
      const { bytesRead } = await source.handle.read(buffer, 0, Math.min(buffer.length, total - position), position);
      if (bytesRead === 0) {
        throw new ChillyError('files_missing', `The video ${source.path} became shorter while it was being copied.`);
      }
      let written = 0;
      while (written < bytesRead) {
        const { bytesWritten } = await out.write(buffer, written, bytesRead - written, position + written);
        written += bytesWritten;
      }
      position += bytesRead;
      options.onProgress?.(position, total);
    }
    options.signal?.throwIfAborted();
    await out.sync();
    done = true;
  } finally {
    await out.close();
    if (!done) await unlink(dir.at(temporary)).catch(() => undefined);
  }
  await finish(dir, temporary, name, replacing);
}

/**
 * Puts the job's video in `dir` as `name`: a hard link when the library shares the job's file
 * system (checked afterwards to be the very file that was opened), otherwise a copy.
 */
async function linkOrCopyVideo(
  source: Source,
  dir: Dir,
  name: string,
  options: LibraryPlaceOptions,
  replacing: ManifestFile | undefined,
): Promise<{ stats: Stats; linked: boolean }> {
  // A new name is linked directly (link(2) never replaces); an out-of-date file via a temporary name.
  const linkName = replacing === undefined ? name : partialName(name);
  let linked = false;
  try {
    await link(source.path, dir.at(linkName));
    linked = true;
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'EEXIST') throw conflict(`${path.join(dir.real, name)} appeared while Chilly was placing the film.`);
    if (code === undefined || !NO_HARD_LINK.has(code)) throw error;
  }
  if (linked) {
    const stats = await lstat(dir.at(linkName));
    if (stats.dev !== source.stats.dev || stats.ino !== source.stats.ino) {
      await unlink(dir.at(linkName)).catch(() => undefined);
      throw unsafe(`The video ${source.path} was replaced while it was being linked: refused.`);
    }
    // A library is for media servers, which often run as another user: the film must be readable by
    // them. A hard link is the job's file itself, so the job's copy becomes readable too (the user
    // asked for a library; downloads stay private otherwise).
    if ((stats.mode & 0o044) !== 0o044) await chmod(dir.at(linkName), (stats.mode & 0o7777) | 0o044);
    if (linkName !== name) await finish(dir, linkName, name, replacing);
    options.onProgress?.(source.stats.size, source.stats.size);
    return { stats: await lstat(dir.at(name)), linked: true };
  }
  await copyVideo(source, dir, name, options, replacing);
  return { stats: await lstat(dir.at(name)), linked: false };
}

// ---------------------------------------------------------------------------------------------
// Placing

/** A movie folder being worked on: its descriptor, its manifest, the names in it. */
interface Folder {
  name: string;
  /** The library root, to remove the folder by name when it is left empty. */
  parent: Dir;
  dir: Dir;
  created: boolean;
  manifest: Manifest;
  /** The manifest as on disk (null: none yet), to write only when something changed. */
  text: string | null;
  names: Set<string>;
}

type Plan =
  | { kind: 'keep'; record: ManifestFile }
  | { kind: 'shared'; record: ManifestFile }
  | {
      kind: 'create';
      role: LibraryFileRole;
      name: string;
      bytes?: Uint8Array;
      /** Chilly's own file under this name, out of date: replaced atomically. */
      previous?: ManifestFile;
    }
  | { kind: 'replace'; record: ManifestFile; bytes: Uint8Array };

function emptyManifest(): Manifest {
  return { format: MANIFEST_FORMAT, version: MANIFEST_VERSION, entries: [] };
}

function withEntry(manifest: Manifest, jobId: string, entry: ManifestEntry | null): Manifest {
  const entries = manifest.entries.filter((other) => other.jobId !== jobId);
  if (entry !== null) entries.push(entry);
  return { ...manifest, entries };
}

function pendingRecord(role: LibraryFileRole, name: string): ManifestFile {
  return { role, name, dev: 0, ino: 0, size: 0, linked: false, pending: true };
}

function placedRecord(role: LibraryFileRole, name: string, stats: Stats, linked: boolean): ManifestFile {
  return { role, name, ...identity(stats), linked };
}

function settled(record: ManifestFile): ManifestFile {
  const { pending: _pending, ...rest } = record;
  return rest;
}

function publicRecord(record: ManifestFile): LibraryPlacedFile {
  const { role, name, dev, ino, size, linked } = record;
  return { role, name, dev, ino, size, linked };
}

function checkInput(input: LibraryEntryInput): void {
  if (!isRecord(input)) throw invalid('A library entry is required.');
  if (typeof input.jobId !== 'string' || input.jobId === '' || input.jobId.length > 256) {
    throw invalid('A library entry needs a job id.');
  }
  if (!isRecord(input.movie) || typeof input.movie.title !== 'string') throw invalid('A library entry needs a title.');
  if (!isRecord(input.video) || typeof input.video.path !== 'string') throw invalid('A library entry needs a video.');
  if (!Array.isArray(input.subtitles)) throw invalid('A library entry lists its subtitles (possibly none).');
  if (input.existing != null && input.existing.jobId !== input.jobId) {
    throw invalid('The existing placement belongs to another job.');
  }
}

function checkPlacement(placement: LibraryPlacement): void {
  if (!isRecord(placement) || typeof placement.jobId !== 'string' || placement.jobId === '') {
    throw invalid('A library placement needs a job id.');
  }
  if (!isPlainName(placement.folder)) {
    throw unsafe(`Refusing the library folder ${JSON.stringify(placement.folder)}: it could leave the library.`);
  }
  for (const file of placement.files ?? []) {
    if (!isPlainName(file?.name) || file.name === MANIFEST_NAME) {
      throw unsafe(`Refusing the library file ${JSON.stringify(file?.name)}: it could leave its folder.`);
    }
  }
}

function toDiskFull(error: unknown): unknown {
  const code = errnoOf(error);
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new ChillyError('disk_full', 'The library disk is full: free some space, then try again.', { cause: error });
  }
  return error;
}

export interface LibraryFolderOptions {
  /** The library folder; created (0o755) when absent. */
  root: string;
}

/** The library folder: see the module comment. */
export class LibraryFolder {
  readonly root: string;
  private rootInfo: Promise<{ real: string; dev: number; ino: number }> | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: LibraryFolderOptions) {
    if (typeof options?.root !== 'string' || options.root === '') throw invalid('The library folder needs a path.');
    this.root = path.resolve(options.root);
  }

  /** The root's real path (created on first use). */
  async realRoot(): Promise<string> {
    return (await this.rootIdentity()).real;
  }

  /**
   * Places a finished job's film in the library (see the module comment for the rules), or
   * moves it when `existing` names a placement for another film. Idempotent: the same input
   * again returns the same placement and writes nothing.
   */
  place(entry: LibraryEntryInput, options: LibraryPlaceOptions = {}): Promise<LibraryPlacement> {
    return this.exclusive(async () => {
      try {
        return await this.placeNow(entry, options);
      } catch (error) {
        throw toDiskFull(error);
      }
    });
  }

  /**
   * Removes what `placement` placed, as far as it is still Chilly's (same device, inode and size
   * as recorded): a file the user replaced or edited stays, and so does a poster or movie.nfo
   * another version of the film still uses. The folder goes when nothing else is left in it.
   */
  remove(placement: LibraryPlacement): Promise<LibraryRemoval> {
    return this.exclusive(() => this.removeNow(placement));
  }

  /** At start-up: deletes the temporary files a crash left (`*.chilly-partial`), never through a link. */
  recover(): Promise<void> {
    return this.exclusive(() => this.recoverNow());
  }

  /** The movie folders Chilly placed films in, with their jobs and files (for `chilly library`). */
  list(): Promise<LibraryListing[]> {
    return this.exclusive(() => this.listNow());
  }

  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private rootIdentity(): Promise<{ real: string; dev: number; ino: number }> {
    if (this.rootInfo === null) {
      this.rootInfo = (async () => {
        const made = await mkdir(this.root, { recursive: true, mode: LIBRARY_MODES.dir });
        const real = await realpath(this.root);
        if (made !== undefined) await chmod(real, LIBRARY_MODES.dir);
        const stats = await lstat(real);
        if (!stats.isDirectory())
          throw new ChillyError('invalid_destination', `The library ${this.root} is not a folder.`);
        return { real, dev: stats.dev, ino: stats.ino };
      })();
      this.rootInfo.catch(() => {
        this.rootInfo = null;
      });
    }
    return this.rootInfo;
  }

  private async openRoot(): Promise<Dir> {
    const root = await this.rootIdentity();
    let dir: Dir;
    try {
      dir = await Dir.open(root.real, root.real);
    } catch (error) {
      if (errnoOf(error) === 'ENOENT' || errnoOf(error) === 'ENOTDIR' || errnoOf(error) === 'ELOOP') {
        throw new ChillyError('path_missing', `The library folder ${root.real} is missing (deleted or not mounted).`, {
          cause: error,
        });
      }
      throw error;
    }
    if (dir.stats.dev !== root.dev || dir.stats.ino !== root.ino) {
      await dir.close();
      throw new ChillyError('path_missing', `The library folder ${root.real} was replaced (unmounted, or made again).`);
    }
    return dir;
  }

  private async placeNow(input: LibraryEntryInput, options: LibraryPlaceOptions): Promise<LibraryPlacement> {
    checkInput(input);
    options.signal?.throwIfAborted();
    const movie = movieOf(input.movie);
    const root = await this.openRoot();
    const opened: Dir[] = [];
    let source: Source | null = null;
    try {
      source = await openSource(input.video.path, 'video');
      const old = await this.openExisting(root, input, opened);
      const target = await this.chooseFolder(root, input.jobId, movie, old, opened);
      try {
        return await this.placeInto(target, old === null || old.dir.sameAs(target.dir) ? null : old, input, movie, {
          source,
          options,
        });
      } catch (error) {
        // A folder made for this call and left without any entry goes again.
        if (target.created && target.manifest.entries.length === 0) {
          await rmdir(root.at(target.name)).catch(() => undefined);
        }
        throw error;
      }
    } finally {
      await source?.handle.close();
      for (const dir of opened) await dir.close().catch(() => undefined);
      await root.close();
    }
  }

  /** The folder of `existing`, when it still holds this job's entry. */
  private async openExisting(root: Dir, input: LibraryEntryInput, opened: Dir[]): Promise<Folder | null> {
    const existing = input.existing;
    if (existing == null) return null;
    checkPlacement(existing);
    const child = await openChild(root, existing.folder);
    if (child.kind !== 'dir') return null;
    opened.push(child.dir);
    const read = await readManifest(child.dir);
    if (read.state !== 'ok' || !read.manifest.entries.some((entry) => entry.jobId === input.jobId)) return null;
    return {
      name: existing.folder,
      parent: root,
      dir: child.dir,
      created: false,
      manifest: read.manifest,
      text: read.text,
      names: await namesIn(child.dir),
    };
  }

  /**
   * The movie folder for this job: the first candidate name (`Title (Year)`, `… [tmdbid-N]`,
   * `… (2)`, …) that is missing (made now), this job's own, or another version of the same film.
   * Folders without Chilly's manifest, symbolic links and files are passed over.
   */
  private async chooseFolder(
    root: Dir,
    jobId: string,
    movie: ManifestMovie,
    old: Folder | null,
    opened: Dir[],
  ): Promise<Folder> {
    for (const name of folderCandidates(movie)) {
      if (old !== null && name === old.name) {
        if (compatible(old.manifest, jobId, movie)) return old;
        continue;
      }
      for (let attempt = 0; attempt < 3; attempt++) {
        const child = await openChild(root, name);
        if (child.kind === 'blocked') break;
        if (child.kind === 'missing') {
          try {
            await mkdir(root.at(name), { mode: LIBRARY_MODES.dir });
          } catch (error) {
            if (errnoOf(error) === 'EEXIST') continue; // made meanwhile: look at it again
            throw error;
          }
          const dir = await Dir.open(root.at(name), path.join(root.real, name));
          opened.push(dir);
          await dir.chmod(LIBRARY_MODES.dir);
          return { name, parent: root, dir, created: true, manifest: emptyManifest(), text: null, names: new Set() };
        }
        opened.push(child.dir);
        if (old !== null && child.dir.sameAs(old.dir)) {
          // The same folder under another spelling (a case-insensitive file system).
          if (compatible(old.manifest, jobId, movie)) return old;
          break;
        }
        const read = await readManifest(child.dir);
        if (read.state === 'ok' && compatible(read.manifest, jobId, movie)) {
          return {
            name,
            parent: root,
            dir: child.dir,
            created: false,
            manifest: read.manifest,
            text: read.text,
            names: await namesIn(child.dir),
          };
        }
        break;
      }
    }
    throw conflict(`No free folder name for ${movieFolderName(movie)} in ${root.real}.`);
  }

  private async placeInto(
    target: Folder,
    old: Folder | null,
    input: LibraryEntryInput,
    movie: ManifestMovie,
    context: { source: Source; options: LibraryPlaceOptions },
  ): Promise<LibraryPlacement> {
    const { source, options } = context;
    const jobId = input.jobId;
    const ours = new Map<string, ManifestFile>();
    for (const file of target.manifest.entries.find((entry) => entry.jobId === jobId)?.files ?? []) {
      ours.set(file.name, file);
    }
    const othersNames = new Set<string>();
    for (const entry of target.manifest.entries) {
      if (entry.jobId !== jobId) for (const file of entry.files) othersNames.add(file.name);
    }
    const oldEntry = old?.manifest.entries.find((entry) => entry.jobId === jobId) ?? null;
    const chosen = new Set<string>();
    const usable = (name: string): boolean =>
      utf8Length(name) <= NAME_MAX_BYTES &&
      name !== MANIFEST_NAME &&
      !isPartialName(name) &&
      !chosen.has(name) &&
      !othersNames.has(name) &&
      (ours.has(name) || !target.names.has(name));
    const pick = (role: LibraryFileRole, candidates: string[]): string => {
      const mine = candidates.find((name) => ours.get(name)?.role === role && !chosen.has(name));
      const name = mine ?? candidates.find(usable);
      if (name === undefined) throw conflict(`No free ${role} file name in ${target.dir.real}.`);
      chosen.add(name);
      return name;
    };

    // Names: the film, then its subtitles (named after the film's file), then poster and nfo.
    const plans: Plan[] = [];
    const ext = extensionOf(source.path);
    const quality = safeLabel(input.quality ?? '');
    const videoCandidates = [`${target.name}${ext}`];
    for (let n = 1; n <= MAX_NAME_CANDIDATES; n++) {
      if (quality !== '') videoCandidates.push(`${target.name} - ${quality}${n === 1 ? '' : ` (${n})`}${ext}`);
      else if (n > 1) videoCandidates.push(`${target.name} - ${n}${ext}`);
    }
    const videoName = pick('video', videoCandidates);
    const videoStem = videoName.slice(0, videoName.length - ext.length);
    plans.push(await this.planVideo(target, ours.get(videoName) ?? null, videoName, source));

    for (const subtitle of input.subtitles) {
      const bytes = await readSmallSource(subtitle.path, 'subtitle');
      const language = languageTag(subtitle.language);
      const stem = `${videoStem}${language === null ? '' : `.${language}`}${subtitle.forced === true ? '.forced' : ''}${
        subtitle.sdh === true ? '.sdh' : ''
      }`;
      const subExt = subtitleExtension(subtitle);
      const candidates = [`${stem}${subExt}`];
      for (let n = 2; n <= MAX_NAME_CANDIDATES; n++) candidates.push(`${stem}.${n}${subExt}`);
      const name = pick('subtitle', candidates);
      plans.push(await this.planSmall(target, ours.get(name) ?? null, 'subtitle', name, bytes));
    }

    const oldPoster = oldEntry?.files.find((file) => file.role === 'poster') ?? null;
    let posterBytes: Uint8Array | null = input.poster != null && input.poster.length > 0 ? input.poster : null;
    if (
      posterBytes === null &&
      old !== null &&
      oldPoster !== null &&
      sameFile(await lstatAt(old.dir, oldPoster.name), oldPoster)
    ) {
      posterBytes = await readSmallAt(old.dir, oldPoster.name);
    }
    const extras: [LibraryFileRole, string, Uint8Array | null][] = [
      ['poster', POSTER_NAME, posterBytes],
      ['nfo', NFO_NAME, Buffer.from(movieNfo({ ...input.movie, year: movie.year, tmdbId: movie.tmdbId }), 'utf8')],
    ];
    for (const [role, name, bytes] of extras) {
      const plan = await this.planExtra(target, othersNames, ours.get(name) ?? null, role, name, bytes);
      if (plan !== null) {
        chosen.add(name);
        plans.push(plan);
      }
    }

    // Files of this job's entry no longer wanted here (a renamed film, a dropped subtitle).
    const stale = [...ours.values()].filter((file) => !chosen.has(file.name));

    // Record the intent before touching anything, so a restart can adopt what got placed.
    const intended: ManifestFile[] = plans.map((plan) => {
      if (plan.kind === 'keep' || plan.kind === 'shared') return plan.record;
      if (plan.kind === 'replace') return { ...plan.record, pending: true };
      return pendingRecord(plan.role, plan.name);
    });
    await this.saveManifest(
      target,
      withEntry(target.manifest, jobId, {
        jobId,
        movie,
        files: [...intended, ...stale.filter((file) => !file.pending)],
      }),
    );

    // Where the film was before, when it moves: another folder, or another name in this one.
    const previousVideo =
      old !== null
        ? (oldEntry?.files.find((file) => file.role === 'video' && file.pending !== true) ?? null)
        : (stale.find((file) => file.role === 'video' && file.pending !== true) ?? null);
    const moveFrom = previousVideo === null ? null : { dir: (old ?? target).dir, record: previousVideo };

    const done: ManifestFile[] = [];
    try {
      for (const plan of plans) {
        done.push(await this.carryOut(plan, target, moveFrom, source, options));
      }
    } catch (error) {
      // Keep what got placed (recorded as Chilly's), forget what did not; an empty new folder goes.
      const untouched = plans.slice(done.length).flatMap((plan): ManifestFile[] => {
        if (plan.kind === 'create') return plan.previous === undefined ? [] : [plan.previous];
        return plan.record.pending === true ? [] : [settled(plan.record)];
      });
      const remaining = [...done, ...untouched, ...stale.filter((file) => !file.pending)];
      const entry = remaining.length > 0 ? { jobId, movie, files: remaining } : null;
      await this.saveManifest(target, withEntry(target.manifest, jobId, entry)).catch(() => undefined);
      throw error;
    }

    for (const file of stale) {
      if (!file.pending && sameFile(await lstatAt(target.dir, file.name), file)) {
        await unlink(target.dir.at(file.name)).catch(() => undefined);
      }
    }
    await this.saveManifest(target, withEntry(target.manifest, jobId, { jobId, movie, files: done }));
    await target.dir.sync();
    if (old !== null && oldEntry !== null) await this.leave(old, jobId, oldEntry);
    return { jobId, folder: target.name, files: done.map(publicRecord) };
  }

  /** What to do about the film's file under `name`. */
  private async planVideo(target: Folder, record: ManifestFile | null, name: string, source: Source): Promise<Plan> {
    const stats = target.names.has(name) ? await lstatAt(target.dir, name) : null;
    if (record === null || stats === null) return { kind: 'create', role: 'video', name };
    const isSource = stats.isFile() && stats.dev === source.stats.dev && stats.ino === source.stats.ino;
    if (record.pending === true) {
      // Placed just before a crash: the job's file itself, or a copy of its size (copies appear whole).
      if (isSource || (stats.isFile() && stats.size === source.stats.size)) {
        return { kind: 'keep', record: placedRecord('video', name, stats, isSource) };
      }
      throw conflict(`${path.join(target.dir.real, name)} is not the film Chilly was placing: left alone.`);
    }
    if (!sameFile(stats, record)) {
      throw conflict(`${path.join(target.dir.real, name)} was replaced or changed since Chilly placed it: left alone.`);
    }
    // The job's file changed (downloaded again, another file chosen): place it again.
    const outOfDate = record.linked ? !isSource : stats.size !== source.stats.size;
    if (outOfDate) return { kind: 'create', role: 'video', name, previous: settled(record) };
    return { kind: 'keep', record: settled(record) };
  }

  /**
   * What to do about a subtitle under `name`: keep, write or rewrite. One of this job's that the
   * user replaced or edited is `library_conflict` (theirs now, and the name is this job's).
   */
  private async planSmall(
    target: Folder,
    record: ManifestFile | null,
    role: LibraryFileRole,
    name: string,
    bytes: Uint8Array,
  ): Promise<Plan> {
    const stats = target.names.has(name) ? await lstatAt(target.dir, name) : null;
    if (record === null || stats === null) return { kind: 'create', role, name, bytes };
    const current = await readSmallAt(target.dir, name);
    const equal = current !== null && Buffer.compare(current, bytes) === 0;
    if (record.pending === true) {
      if (stats.isFile() && equal) return { kind: 'keep', record: placedRecord(role, name, stats, false) };
    } else if (sameFile(stats, record)) {
      return equal ? { kind: 'keep', record } : { kind: 'replace', record, bytes };
    }
    throw conflict(`${path.join(target.dir.real, name)} was replaced or changed since Chilly placed it: left alone.`);
  }

  /**
   * poster.jpg and movie.nfo: one per folder. Shared with another version of the film when that
   * job placed them; the user's own (or one they edited) is left alone and not recorded.
   */
  private async planExtra(
    target: Folder,
    othersNames: Set<string>,
    record: ManifestFile | null,
    role: LibraryFileRole,
    name: string,
    bytes: Uint8Array | null,
  ): Promise<Plan | null> {
    const stats = target.names.has(name) ? await lstatAt(target.dir, name) : null;
    if (othersNames.has(name)) {
      if (stats === null || !stats.isFile()) return null;
      const other = target.manifest.entries.flatMap((entry) => entry.files).find((file) => file.name === name);
      if (other === undefined || !sameFile(stats, other)) return null;
      return { kind: 'shared', record: { ...settled(other), role } };
    }
    if (stats === null) return bytes === null ? null : { kind: 'create', role, name, bytes };
    if (record === null) return null; // the user's
    if (record.pending === true || !sameFile(stats, record)) {
      const current = await readSmallAt(target.dir, name);
      if (
        record.pending === true &&
        stats.isFile() &&
        bytes !== null &&
        current !== null &&
        Buffer.compare(current, bytes) === 0
      ) {
        return { kind: 'keep', record: placedRecord(role, name, stats, false) };
      }
      return null; // edited by the user: theirs now
    }
    if (bytes === null) return { kind: 'keep', record };
    const current = await readSmallAt(target.dir, name);
    if (current !== null && Buffer.compare(current, bytes) === 0) return { kind: 'keep', record };
    return { kind: 'replace', record, bytes };
  }

  private async carryOut(
    plan: Plan,
    target: Folder,
    moveFrom: { dir: Dir; record: ManifestFile } | null,
    source: Source,
    options: LibraryPlaceOptions,
  ): Promise<ManifestFile> {
    if (plan.kind === 'keep' || plan.kind === 'shared') return settled(plan.record);
    if (plan.kind === 'replace') {
      const stats = await writeSmall(target.dir, plan.record.name, plan.bytes, plan.record);
      return placedRecord(plan.record.role, plan.record.name, stats, false);
    }
    if (plan.role !== 'video') {
      const stats = await writeSmall(target.dir, plan.name, plan.bytes ?? new Uint8Array(), plan.previous);
      return placedRecord(plan.role, plan.name, stats, false);
    }
    options.signal?.throwIfAborted();
    // The film placed before under another name (the movie changed): moved along, not copied again.
    const previous = plan.previous === undefined ? moveFrom : null;
    if (previous !== null && sameFile(await lstatAt(previous.dir, previous.record.name), previous.record)) {
      const record = previous.record;
      const isSource = record.dev === source.stats.dev && record.ino === source.stats.ino;
      const fits = record.linked ? isSource : record.size === source.stats.size;
      if (fits && (await moveFile(previous.dir, record.name, target.dir, plan.name, record))) {
        options.onProgress?.(source.stats.size, source.stats.size);
        return placedRecord('video', plan.name, await lstat(target.dir.at(plan.name)), record.linked);
      }
    }
    const placed = await linkOrCopyVideo(source, target.dir, plan.name, options, plan.previous);
    return placedRecord('video', plan.name, placed.stats, placed.linked);
  }

  /** Writes a folder's manifest (none when no entry is left) if it changed. */
  private async saveManifest(folder: Folder, manifest: Manifest): Promise<void> {
    if (manifest.entries.length === 0) {
      if (folder.text !== null) {
        await unlink(folder.dir.at(MANIFEST_NAME)).catch((error: unknown) => {
          if (errnoOf(error) !== 'ENOENT') throw error;
        });
      }
      folder.manifest = manifest;
      folder.text = null;
      return;
    }
    const text = serializeManifest(manifest);
    if (text !== folder.text) {
      const temporary = await writeTemporary(folder.dir, MANIFEST_NAME, Buffer.from(text, 'utf8'));
      try {
        await rename(folder.dir.at(temporary), folder.dir.at(MANIFEST_NAME));
      } catch (error) {
        await unlink(folder.dir.at(temporary)).catch(() => undefined);
        throw error;
      }
      await folder.dir.sync();
    }
    folder.manifest = manifest;
    folder.text = text;
  }

  /** After a move: this job's files left in its old folder go, then its entry, then the folder if empty. */
  private async leave(old: Folder, jobId: string, entry: ManifestEntry): Promise<void> {
    const othersNames = new Set(
      old.manifest.entries.filter((other) => other.jobId !== jobId).flatMap((other) => other.files.map((f) => f.name)),
    );
    for (const file of entry.files) {
      if (file.pending === true || othersNames.has(file.name)) continue;
      if (sameFile(await lstatAt(old.dir, file.name), file)) {
        await unlink(old.dir.at(file.name)).catch(() => undefined);
      }
    }
    await this.saveManifest(old, withEntry(old.manifest, jobId, null));
    await old.dir.sync();
    if (old.manifest.entries.length === 0) await rmdir(old.parent.at(old.name)).catch(() => undefined);
  }

  private async removeNow(placement: LibraryPlacement): Promise<LibraryRemoval> {
    checkPlacement(placement);
    const root = await this.openRoot();
    try {
      const child = await openChild(root, placement.folder);
      if (child.kind === 'missing') return { removed: [], kept: [] };
      if (child.kind === 'blocked') {
        throw unsafe(`${path.join(root.real, placement.folder)} is ${child.why}: refusing to remove through it.`);
      }
      const dir = child.dir;
      try {
        const read = await readManifest(dir);
        const manifest = read.state === 'ok' ? read.manifest : null;
        const others = new Set(
          (manifest?.entries ?? [])
            .filter((entry) => entry.jobId !== placement.jobId)
            .flatMap((entry) => entry.files.map((file) => file.name)),
        );
        // Both records count: the caller's (perhaps older) and the manifest's (perhaps newer).
        const records = new Map<string, ManifestFile[]>();
        const mine = manifest?.entries.find((entry) => entry.jobId === placement.jobId)?.files ?? [];
        for (const file of [...(placement.files ?? []), ...mine]) {
          if ((file as ManifestFile).pending === true) continue;
          records.set(file.name, [...(records.get(file.name) ?? []), file]);
        }
        for (const file of mine) if (file.pending === true && !records.has(file.name)) records.set(file.name, []);
        const removed: string[] = [];
        const kept: string[] = [];
        for (const [name, candidates] of records) {
          const relative = `${placement.folder}/${name}`;
          const stats = await lstatAt(dir, name);
          if (stats === null) continue;
          if (others.has(name) || !candidates.some((record) => sameFile(stats, record))) {
            kept.push(relative);
            continue;
          }
          try {
            await unlink(dir.at(name));
            removed.push(relative);
          } catch (error) {
            if (errnoOf(error) !== 'ENOENT') kept.push(relative);
          }
        }
        if (manifest !== null) {
          const folder: Folder = {
            name: placement.folder,
            parent: root,
            dir,
            created: false,
            manifest,
            text: read.state === 'ok' ? read.text : null,
            names: new Set(),
          };
          await this.saveManifest(folder, withEntry(manifest, placement.jobId, null));
        }
        await dir.sync();
        if (manifest === null || manifest.entries.every((entry) => entry.jobId === placement.jobId)) {
          await rmdir(root.at(placement.folder)).catch(() => undefined);
        }
        return { removed, kept };
      } finally {
        await dir.close();
      }
    } finally {
      await root.close();
    }
  }

  private async recoverNow(): Promise<void> {
    const root = await this.openRoot();
    try {
      await removePartials(root);
      for (const entry of await readdir(root.self(), { withFileTypes: true })) {
        if (!entry.isDirectory()) continue; // readdir's types never follow a link
        const child = await openChild(root, entry.name);
        if (child.kind !== 'dir') continue;
        try {
          await removePartials(child.dir);
        } finally {
          await child.dir.close();
        }
      }
    } finally {
      await root.close();
    }
  }

  private async listNow(): Promise<LibraryListing[]> {
    const root = await this.openRoot();
    const listings: LibraryListing[] = [];
    try {
      const entries = await readdir(root.self(), { withFileTypes: true });
      for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
        if (!entry.isDirectory()) continue;
        const child = await openChild(root, entry.name);
        if (child.kind !== 'dir') continue;
        try {
          const read = await readManifest(child.dir);
          if (read.state !== 'ok' || read.manifest.entries.length === 0) continue;
          const files: LibraryListing['files'] = [];
          for (const job of read.manifest.entries) {
            for (const file of job.files) {
              const stats = await lstatAt(child.dir, file.name);
              const state: LibraryFileState =
                file.pending === true
                  ? 'pending'
                  : stats === null
                    ? 'missing'
                    : sameFile(stats, file)
                      ? 'ok'
                      : 'changed';
              files.push({ jobId: job.jobId, role: file.role, name: file.name, state });
            }
          }
          const first = read.manifest.entries[0]?.movie ?? { title: '', year: null, tmdbId: null };
          listings.push({
            folder: entry.name,
            jobIds: read.manifest.entries.map((job) => job.jobId),
            movie: { ...first },
            files,
          });
        } finally {
          await child.dir.close();
        }
      }
    } finally {
      await root.close();
    }
    return listings;
  }
}

async function removePartials(dir: Dir): Promise<void> {
  for (const entry of await readdir(dir.self(), { withFileTypes: true })) {
    if (!entry.isFile() || !isPartialName(entry.name)) continue;
    await unlink(dir.at(entry.name)).catch((error: unknown) => {
      if (errnoOf(error) !== 'ENOENT') throw error;
    });
  }
}
