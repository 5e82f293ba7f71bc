/**
 * Each job's folder under the media root. A new job always gets a folder of its own that did not
 * exist before (`<id>`, else `<id>-2`, `<id>-3`, …), so its files never mix with the user's and
 * deleting its data never touches anything that was there first.
 */
import { lstat, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ChillyError } from '../domain/errors.js';
import { realFolder } from './confined-files.js';

/** Folders tried for one id before giving up (a media root with that many `<id>-n` folders is odd). */
const MAX_CANDIDATES = 1_000;

/** Identifies a folder on disk: a different one at the same path means the job's data is gone. */
export interface FolderIdentity {
  dev: number;
  ino: number;
}

function errnoOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

/**
 * A new folder for job `id` in `root`: the first of `<id>`, `<id>-2`, … that neither exists nor is
 * another job's (`isTaken`). It is made when the job first starts (see `openJobFolder`), so a job
 * refused before it starts (no room, a bad torrent) leaves nothing behind.
 */
export async function chooseJobFolder(
  root: string,
  id: string,
  options: { isTaken?: (folder: string) => boolean } = {},
): Promise<string> {
  for (let n = 1; n <= MAX_CANDIDATES; n++) {
    const folder = path.join(root, n === 1 ? id : `${id}-${n}`);
    if (options.isTaken?.(folder) === true) continue;
    try {
      await lstat(folder);
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') return folder;
      throw error;
    }
  }
  throw new ChillyError('validation_failed', `No free folder name for job ${JSON.stringify(id)} in ${root}.`);
}

/**
 * The job's folder before the engine writes into it: it must be a real folder (not a symbolic
 * link). A missing one is made again only when the job never had data there (`hasData` false);
 * otherwise the data is gone, and that is `path_missing`.
 */
export async function openJobFolder(
  folder: string,
  options: { hasData: boolean; mode: number },
): Promise<{ created: boolean; identity: FolderIdentity }> {
  try {
    await realFolder(folder);
    return { created: false, identity: await folderIdentity(folder) };
  } catch (error) {
    if (!(error instanceof ChillyError) || error.code !== 'path_missing' || options.hasData) throw error;
  }
  try {
    await mkdir(folder, { mode: options.mode });
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') {
      throw new ChillyError(
        'path_missing',
        `The media folder ${path.dirname(folder)} is missing: is its disk mounted?`,
        {
          cause: error,
        },
      );
    }
    throw error;
  }
  return { created: true, identity: await folderIdentity(folder) };
}

export async function folderIdentity(folder: string): Promise<FolderIdentity> {
  const stats = await lstat(folder);
  return { dev: stats.dev, ino: stats.ino };
}

/** Throws `path_missing` unless `folder` is still the folder `identity` describes. */
export async function assertSameFolder(folder: string, identity: FolderIdentity): Promise<void> {
  let now: FolderIdentity;
  try {
    const stats = await lstat(folder);
    if (!stats.isDirectory()) throw new Error('not a folder');
    now = { dev: stats.dev, ino: stats.ino };
  } catch (cause) {
    throw new ChillyError('path_missing', `The folder ${folder} was deleted, moved or unmounted.`, { cause });
  }
  if (now.dev !== identity.dev || now.ino !== identity.ino) {
    throw new ChillyError('path_missing', `The folder ${folder} was replaced (deleted and made again, or unmounted).`);
  }
}

/**
 * What deleting a job's data removes, from what it created (folders end with '/'): every file and
 * folder it made, and, in a folder the job made itself, also the files of its layout (a file made
 * just before a crash may not have been recorded yet).
 */
export function footprintToRemove(
  footprint: { folderCreated: boolean; created: readonly string[] },
  diskPaths: readonly string[] = [],
): { files: string[]; dirs: string[]; removeFolder: boolean } {
  const files = new Set<string>();
  const dirs = new Set<string>();
  const addDirsOf = (file: string): void => {
    const parts = file.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  };
  for (const entry of footprint.created) {
    if (entry.endsWith('/')) dirs.add(entry.slice(0, -1));
    else files.add(entry);
  }
  if (footprint.folderCreated) {
    for (const file of diskPaths) {
      files.add(file);
      addDirsOf(file);
    }
  }
  return { files: [...files], dirs: [...dirs], removeFolder: footprint.folderCreated };
}
