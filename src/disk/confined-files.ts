/**
 * Opening, creating and deleting files inside one folder (a job's folder) without ever leaving
 * it: every file the product writes, reads, serves or deletes under the media root goes through
 * here. A symbolic link planted anywhere on the way (the job folder, a folder inside it, the file
 * itself) is refused, not followed, so a download can never overwrite, and a stream never serve,
 * a file elsewhere on the machine.
 *
 * The race: a check and an open are two steps, and a link could be swapped in between. The file
 * itself is opened with O_NOFOLLOW, and after the open the descriptor's real path is read back
 * from the kernel (/proc/self/fd on Linux) and must still lie inside the folder: whatever was
 * swapped, what was opened is what is checked. Elsewhere the check compares the open file with
 * what the path names now (device and inode), which narrows the window to the open itself.
 */
import { close as closeCallback, constants, fstat as fstatCallback, open as openCallback, type Stats } from 'node:fs';
import { lstat, mkdir, readlink, realpath, rmdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { ChillyError } from '../domain/errors.js';

/** Files a download creates are the user's own: private unless they chose to share them. */
export const PRIVATE_MODES = { file: 0o600, dir: 0o700 } as const;
/** For media servers (Plex, Jellyfin, Kodi) running as another user. */
export const SHARED_MODES = { file: 0o644, dir: 0o755 } as const;
export type MediaAccess = 'private' | 'shared';

export function modesFor(access: MediaAccess): { file: number; dir: number } {
  return access === 'shared' ? SHARED_MODES : PRIVATE_MODES;
}

// Raw descriptors (not FileHandles): callers read and write with the fast callback API.
const open = promisify(openCallback) as (file: string, flags: number, mode?: number) => Promise<number>;
const fstat = promisify(fstatCallback);
export const closeFd = promisify(closeCallback);

const HAS_PROC_FD = process.platform === 'linux';
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;

function unsafe(message: string): ChillyError {
  return new ChillyError('unsafe_path', message);
}

function errnoOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

/** The '/'-separated relative path as checked components (never empty, `.` or `..`). */
export function pathComponents(relativePath: string): string[] {
  const parts = relativePath.split('/');
  for (const part of parts) {
    if (part === '' || part === '.' || part === '..' || part.includes('\\') || part.includes('\0')) {
      throw unsafe(`Refusing the path ${JSON.stringify(relativePath)}: it could leave its folder.`);
    }
  }
  return parts;
}

/**
 * Throws unless `folder` is a real directory (not a symbolic link); returns its real path.
 * `path_missing` when it does not exist.
 */
export async function realFolder(folder: string): Promise<string> {
  let stats: Stats;
  try {
    stats = await lstat(folder);
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') {
      throw new ChillyError('path_missing', `The folder ${folder} is missing (deleted, moved or not mounted).`, {
        cause: error,
      });
    }
    throw error;
  }
  if (stats.isSymbolicLink()) throw unsafe(`${folder} is a symbolic link: refusing to write or read through it.`);
  if (!stats.isDirectory()) throw unsafe(`${folder} is not a folder.`);
  return realpath(folder);
}

export interface OpenInsideOptions {
  /** Open for reading and writing (default: reading only). */
  write?: boolean;
  /** Create the file (and its folders) when missing; implies `write`. */
  create: boolean;
  /** For what is created. */
  modes?: { file: number; dir: number };
  /** Told of every file and folder this call created, by path relative to the folder. */
  onCreate?: (relativePath: string, kind: 'file' | 'dir') => void;
}

/**
 * Opens `relativePath` inside `folder` and returns the file descriptor: for reading only, for
 * reading and writing, or (with `create`) creating missing folders and the file. Throws
 * `unsafe_path` for a symbolic link or anything but a regular file on the way, ENOENT-coded
 * errors (as fs does) for a missing file when not creating.
 */
export async function openInside(folder: string, relativePath: string, options: OpenInsideOptions): Promise<number> {
  const parts = pathComponents(relativePath);
  const modes = options.modes ?? PRIVATE_MODES;
  const root = await realFolder(folder);
  let current = folder;
  for (const [index, part] of parts.slice(0, -1).entries()) {
    current = path.join(current, part);
    await ensureRealDirectory(current, options.create, modes.dir, () =>
      options.onCreate?.(parts.slice(0, index + 1).join('/'), 'dir'),
    );
  }
  const file = path.join(folder, ...parts);
  const fd = await openNoFollow(file, options, modes.file);
  try {
    const stats = await fstat(fd.fd);
    if (!stats.isFile()) throw unsafe(`${file} is not a regular file.`);
    await assertOpenedInside(fd.fd, file, root, stats);
  } catch (error) {
    await closeFd(fd.fd).catch(() => undefined);
    throw error;
  }
  if (fd.created) options.onCreate?.(parts.join('/'), 'file');
  return fd.fd;
}

async function ensureRealDirectory(dir: string, create: boolean, mode: number, created: () => void): Promise<void> {
  try {
    const stats = await lstat(dir);
    if (stats.isSymbolicLink()) throw unsafe(`${dir} is a symbolic link: refusing to write or read through it.`);
    if (!stats.isDirectory()) throw unsafe(`${dir} is not a folder.`);
    return;
  } catch (error) {
    if (errnoOf(error) !== 'ENOENT' || !create) throw error;
  }
  try {
    await mkdir(dir, { mode });
    created();
  } catch (error) {
    // Made by a concurrent open of a sibling file: check what is there now.
    if (errnoOf(error) !== 'EEXIST') throw error;
    await ensureRealDirectory(dir, false, mode, created);
  }
}

async function openNoFollow(
  file: string,
  options: OpenInsideOptions,
  mode: number,
): Promise<{ fd: number; created: boolean }> {
  const refuseLink = (error: unknown): never => {
    // ELOOP: the last component is a symbolic link (O_NOFOLLOW); macOS says EMLINK… or ELOOP.
    if (errnoOf(error) === 'ELOOP' || errnoOf(error) === 'EMLINK') {
      throw unsafe(`${file} is a symbolic link: refusing to write or read through it.`);
    }
    throw error;
  };
  if (!options.create) {
    const access = options.write === true ? constants.O_RDWR : constants.O_RDONLY;
    return { fd: await open(file, access | O_NOFOLLOW).catch(refuseLink), created: false };
  }
  try {
    return {
      fd: await open(file, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW, mode),
      created: true,
    };
  } catch (error) {
    if (errnoOf(error) !== 'EEXIST') refuseLink(error);
  }
  return { fd: await open(file, constants.O_RDWR | O_NOFOLLOW).catch(refuseLink), created: false };
}

async function assertOpenedInside(fd: number, file: string, root: string, opened: Stats): Promise<void> {
  let real: string;
  if (HAS_PROC_FD) {
    real = await readlink(`/proc/self/fd/${fd}`);
  } else {
    real = await realpath(file);
    const now = await lstat(file);
    if (now.ino !== opened.ino || now.dev !== opened.dev) throw unsafe(`${file} changed while it was being opened.`);
  }
  if (!real.startsWith(root + path.sep)) {
    throw unsafe(`${file} resolves to ${real}, outside its folder ${root}: refusing it.`);
  }
}

/**
 * Deletes what a job created inside `folder`: the files, then the folders deepest first (only
 * when empty: anything the user put there stays), then `folder` itself if `removeFolder` and it is
 * empty. Never recursive, never through a symbolic link: a folder that has become a link is left
 * alone with everything behind it. Returns what could not be removed.
 */
export async function removeCreated(
  folder: string,
  created: { files: readonly string[]; dirs: readonly string[]; removeFolder: boolean },
): Promise<string[]> {
  const left: string[] = [];
  let root: string;
  try {
    root = await realFolder(folder);
  } catch (error) {
    if (error instanceof ChillyError && error.code === 'path_missing') return [];
    throw error;
  }
  const inside = async (relative: string): Promise<string | undefined> => {
    const parts = pathComponents(relative);
    const parent = path.join(folder, ...parts.slice(0, -1));
    const realParent = await realpath(parent).catch(() => undefined);
    if (realParent === undefined) return undefined;
    if (realParent !== root && !realParent.startsWith(root + path.sep)) return undefined;
    // Every folder on the way must be real: a folder swapped for a link would lead elsewhere.
    if (path.relative(root, realParent) !== parts.slice(0, -1).join(path.sep)) return undefined;
    return path.join(realParent, parts.at(-1) ?? '');
  };
  for (const relative of created.files) {
    const target = await inside(relative);
    if (target === undefined) continue;
    // unlink never follows: a file replaced by a link loses the link, not what it points to.
    await unlink(target).catch((error: unknown) => {
      if (errnoOf(error) !== 'ENOENT') left.push(relative);
    });
  }
  const dirs = [...created.dirs].sort((a, b) => b.split('/').length - a.split('/').length || b.localeCompare(a));
  for (const relative of dirs) {
    const target = await inside(relative);
    if (target === undefined) continue;
    const stats = await lstat(target).catch(() => undefined);
    if (stats === undefined || !stats.isDirectory()) continue;
    await rmdir(target).catch((error: unknown) => {
      if (errnoOf(error) !== 'ENOENT') left.push(`${relative}/`);
    });
  }
  if (created.removeFolder) {
    await rmdir(folder).catch((error: unknown) => {
      if (errnoOf(error) !== 'ENOENT') left.push('./');
    });
  }
  return left;
}
