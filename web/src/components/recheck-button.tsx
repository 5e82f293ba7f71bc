/** "Check data again": every piece on disk is read and hashed again, then the job goes on (POST /download/recheck). */
import { useState } from 'preact/hooks';
import { client, describeError, type Job, type JobStatus, jobName, unwrap } from '../api.js';
import { cannot, useEngine } from '../engine.js';
import { jobsStore } from '../jobs-store.js';
import { announce } from './announcer.js';
import { ErrorMessage } from './error-message.js';

/** The states with data to check (the server refuses the others). */
const CHECKABLE: ReadonlySet<JobStatus> = new Set([
  'downloading',
  'stalled',
  'paused',
  'completed',
  'error',
  'files_missing',
]);

/** Why the button does nothing now. */
const WAITING: Partial<Record<JobStatus, string>> = {
  queued: 'Its data is checked when its turn comes.',
  verifying: 'Its data is being checked now.',
  cancelled: 'The download was cancelled.',
};

export function RecheckButton({ job }: { job: Job }) {
  const why = cannot(useEngine(), 'recheck');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [pressed, setPressed] = useState(false);
  if (why !== undefined) return <p class="muted">{why}</p>;
  const checkable = CHECKABLE.has(job.status);
  // Nothing on disk yet: nothing to offer. Once pressed, it stays (marked unusable while the check
  // waits or runs), so that the focus stays on it.
  if (!checkable && !pressed && job.progress.bytesDone === 0) return null;

  async function recheck() {
    if (busy || !checkable) return;
    setBusy(true);
    setPressed(true);
    setError(undefined);
    try {
      const updated = unwrap(await client.POST('/download/recheck', { body: { id: job.id } }));
      jobsStore.upsert(updated);
      announce(`${jobName(job)}: checking the data again`);
    } catch (failure) {
      setError(describeError(failure));
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <p class="buttons">
        <button
          type="button"
          class="secondary"
          aria-busy={busy}
          aria-disabled={!checkable}
          aria-describedby="recheck-hint"
          onClick={recheck}
        >
          Check data again
        </button>
        <span class="hint" id="recheck-hint">
          {checkable ? 'Reads every piece on disk; damaged or missing ones are downloaded again.' : WAITING[job.status]}
        </span>
      </p>
      <ErrorMessage message={error} />
    </>
  );
}
