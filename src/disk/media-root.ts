/**
 * The media root: the folder that holds every job's folder. It may live on a disk that is not
 * always there (a USB disk, a NAS share). When it is missing, or is an empty mount point with the
 * disk unmounted, downloads must stop with `path_missing`, never write onto the disk underneath
 * by recreating the folder there.
 *
 * The folder carries a marker file (MARKER_FILE) from the day it is first used. A root without
 * the marker is only adopted when no job has data there yet (a first start, or an upgrade whose
 * job folders are all there).
 */
import { lstat, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ChillyError } from '../domain/errors.js';

export const MARKER_FILE = '.chilly-media-root';

const MARKER_TEXT = `This folder holds Chilly Movies downloads, one folder per download.
Chilly Movies checks for this file to tell this folder from an empty mount point when its disk
is not mounted: please leave it here.
`;

function missing(root: string, why: string): ChillyError {
  return new ChillyError(
    'path_missing',
    `The media folder ${root} ${why}: is its disk mounted? Downloads with data there stop until it is back.`,
  );
}

async function exists(file: string): Promise<boolean> {
  try {
    await lstat(file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

export class MediaRoot {
  /** Device of the root when it was last found in order: a change means another disk is there now. */
  private device: number | undefined;

  constructor(
    readonly path: string,
    private readonly dirMode = 0o700,
  ) {}

  /** Throws `path_missing` unless the root is there with its marker (some job has data in it). */
  async verify(): Promise<void> {
    if (!(await exists(path.join(this.path, MARKER_FILE)))) {
      const why = (await exists(this.path)) ? 'has lost its marker file (an empty mount point?)' : 'is missing';
      throw missing(this.path, why);
    }
    this.device = (await stat(this.path)).dev;
  }

  /** Makes the root ready for a first download: created when missing, marked when it is not yet. */
  async ensure(): Promise<void> {
    if (!(await exists(this.path))) await mkdir(this.path, { recursive: true, mode: this.dirMode });
    if (!(await exists(path.join(this.path, MARKER_FILE)))) await this.writeMarker();
    this.device = (await stat(this.path)).dev;
  }

  /** Writes the marker into a root that holds our data but predates markers. */
  async adopt(): Promise<void> {
    if (!(await exists(path.join(this.path, MARKER_FILE)))) await this.writeMarker();
    this.device = (await stat(this.path)).dev;
  }

  /** Throws `path_missing` unless the root is still the folder `ensure` found (marker, same disk). */
  async check(): Promise<void> {
    let device: number;
    try {
      device = (await stat(this.path)).dev;
      await readFile(path.join(this.path, MARKER_FILE));
    } catch {
      throw missing(this.path, 'is missing or was unmounted');
    }
    if (this.device !== undefined && device !== this.device) {
      throw missing(this.path, 'is now on another disk (was its disk unmounted?)');
    }
    this.device ??= device;
  }

  private async writeMarker(): Promise<void> {
    await writeFile(path.join(this.path, MARKER_FILE), MARKER_TEXT, { mode: 0o644, flag: 'wx' }).catch(
      (error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      },
    );
    this.device = (await stat(this.path)).dev;
  }
}
