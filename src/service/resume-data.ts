import { closeSync, constants, fsyncSync, lstatSync, openSync } from 'node:fs';
import path from 'node:path';
import type { JobFile } from '../domain/job.js';
import type { ResumeState } from '../downloaders/downloader.js';
import { type BootMark, currentBoot, sameBoot } from '../storage/boot-identity.js';
import type { FileStat, StoredResumeData } from '../storage/resume-repository.js';

function statFiles(folder: string, files: readonly JobFile[]): FileStat[] {
  return files.map((file) => {
    try {
      const stat = lstatSync(path.join(folder, file.path));
      return { path: file.path, size: stat.size, mtimeMs: stat.mtimeMs };
    } catch {
      return { path: file.path, size: -1, mtimeMs: 0 };
    }
  });
}

/** Forces a job's files to disk, so its bitfield stays true across a power loss. */
export function syncFiles(folder: string, files: readonly JobFile[]): void {
  for (const file of files) {
    let fd: number | undefined;
    try {
      // Never through a link: only the job's own files are touched.
      fd = openSync(path.join(folder, file.path), constants.O_RDWR | (constants.O_NOFOLLOW ?? 0));
      fsyncSync(fd);
    } catch {
      // A file not written yet has nothing to sync.
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
}

export function captureResumeData(
  state: ResumeState,
  folder: string,
  files: readonly JobFile[],
  options: { synced: boolean; boot?: BootMark },
): StoredResumeData {
  return {
    bitfield: state.bitfield,
    torrentFile: state.torrentFile,
    fileStats: statFiles(folder, files),
    boot: options.boot ?? currentBoot(),
    synced: options.synced,
    savedAt: new Date().toISOString(),
  };
}

/**
 * Whether a saved bitfield can still be trusted, or the data must be fully re-checked.
 *
 * Pieces are only ever added after a save, so a file that grew or got a newer mtime is expected.
 * A file that shrank, vanished or went back in time was changed by someone else; and after a
 * reboot, writes the bitfield counts may never have reached the disk unless they were synced
 * (a boot that cannot be told apart from this one counts as another).
 */
export function resumeDataStillValid(
  data: StoredResumeData,
  folder: string,
  boot: BootMark = currentBoot(),
): { valid: boolean; reason?: string } {
  if (!data.synced && sameBoot(data.boot, boot) !== true) {
    return {
      valid: false,
      reason: 'the machine may have restarted since the bitfield was saved, and the data was not synced',
    };
  }
  for (const saved of data.fileStats) {
    if (saved.size < 0) continue;
    let now: { size: number; mtimeMs: number };
    try {
      const stats = lstatSync(path.join(folder, saved.path));
      if (!stats.isFile()) return { valid: false, reason: `${saved.path} is no longer a regular file` };
      now = stats;
    } catch {
      return { valid: false, reason: `${saved.path} is missing` };
    }
    if (now.size < saved.size) return { valid: false, reason: `${saved.path} shrank` };
    if (now.mtimeMs < saved.mtimeMs) return { valid: false, reason: `${saved.path} was replaced by an older file` };
  }
  return { valid: true };
}

/** Completed jobs: every file is there at its full size. */
export function missingFiles(folder: string, files: readonly JobFile[]): string[] {
  return files
    .filter((file) => {
      try {
        // A file replaced by a symbolic link (or anything else) is not the downloaded file.
        const stats = lstatSync(path.join(folder, file.path));
        return !stats.isFile() || stats.size !== file.length;
      } catch {
        return true;
      }
    })
    .map((file) => file.path);
}
