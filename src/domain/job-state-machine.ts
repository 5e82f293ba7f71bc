import { ChillyError, type ErrorCode } from './errors.js';
import type { Job, JobStatus } from './job.js';

export type Command = 'pause' | 'resume' | 'cancel';

/**
 * The one state machine of a job, for the service and every driver alike (a driver's jobs take a
 * subset of these states). Which command each state allows. Anything else is an `invalid_transition` error, never a
 * silent no-op: a UI that pauses a finished job has a bug worth seeing.
 * `resume` of a failed job retries it; of a `files_missing` job downloads it again.
 */
const ALLOWED: Record<JobStatus, readonly Command[]> = {
  queued: ['pause', 'cancel'],
  verifying: ['pause', 'cancel'],
  downloading: ['pause', 'cancel'],
  stalled: ['pause', 'cancel'],
  paused: ['resume', 'cancel'],
  error: ['resume', 'cancel'],
  files_missing: ['resume', 'cancel'],
  completed: ['cancel'],
  cancelled: [],
};

/** Errors that retrying cannot fix: the torrent itself is bad. */
const PERMANENT_ERRORS: ReadonlySet<ErrorCode> = new Set([
  'unsafe_path',
  'invalid_torrent',
  'unsupported_torrent_version',
]);

export function assertTransition(job: Job, command: Command): void {
  if (!ALLOWED[job.status].includes(command)) {
    throw new ChillyError(
      'invalid_transition',
      `Cannot ${command} job ${JSON.stringify(job.id)}: it is ${job.status}.`,
    );
  }
  if (command === 'resume' && job.error !== undefined && PERMANENT_ERRORS.has(job.error.code)) {
    throw new ChillyError('invalid_transition', `Cannot resume job ${JSON.stringify(job.id)}: ${job.error.message}`);
  }
}
