import { ChillyError } from '../domain/errors.js';
import type { Job } from '../domain/job.js';
import type { FileOptions } from './download-service-api.js';

/** The selection as given, checked against the job's files; undefined means "all files". */
function validSelection(selection: number[] | null | undefined, job: Job): number[] | undefined {
  if (selection === null || selection === undefined) return undefined;
  if (job.files === undefined) {
    throw new ChillyError('validation_failed', 'The torrent metadata is not known yet: choose files once it is.');
  }
  const count = job.files.length;
  const unique = [...new Set(selection)].sort((a, b) => a - b);
  if (unique.length === 0 || unique.some((index) => !Number.isInteger(index) || index < 0 || index >= count)) {
    throw new ChillyError('validation_failed', `selectedFiles must list file indexes from 0 to ${count - 1}.`);
  }
  return unique;
}

/** A job's file options after a `setFileOptions` call. */
export interface FileOptionsChange {
  /** The files to download (undefined: all): the new selection, or the job's own when none was given. */
  selectedFiles: number[] | undefined;
  sequential: boolean;
  /** A finished job was asked for files it did not download: it must download again. */
  widened: boolean;
}

/** Checks `options` against the job and says what changes; throws `validation_failed`. */
export function fileOptionsChange(job: Job, options: FileOptions): FileOptionsChange {
  const selection = validSelection(options.selectedFiles, job);
  const selectedFiles = options.selectedFiles === undefined ? job.selectedFiles : selection;
  const before = job.selectedFiles;
  const widened =
    job.status === 'completed' &&
    before !== undefined &&
    (selectedFiles === undefined || selectedFiles.some((index) => !before.includes(index)));
  return { selectedFiles, sequential: options.sequential ?? job.sequential, widened };
}
