/** Pause / resume, cancel (through the dialog) and play: the same buttons on the list and the job page. */
import { useState } from 'preact/hooks';
import { client, describeError, type Job, jobName, unwrap } from '../api.js';
import { canPause, canResume } from '../format.js';
import { jobsStore } from '../jobs-store.js';
import { href } from '../router.js';
import { announce } from './announcer.js';
import { CancelDialog } from './cancel-dialog.js';
import { ErrorMessage } from './error-message.js';

export function JobActions({
  job,
  showPlay = true,
  onCancelled,
}: {
  job: Job;
  showPlay?: boolean;
  onCancelled?: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  /**
   * Which opening of the cancel dialog is shown (0: none). A dialog's `close` event comes with the
   * browser's next frame: a Cancel pressed again before it opens a new dialog, which that late event
   * of the old one must not close.
   */
  const [cancelDialog, setCancelDialog] = useState(0);
  const name = jobName(job);

  async function run(action: 'pause' | 'resume') {
    if (busy) return;
    setBusy(true);
    setError(undefined);
    try {
      const body = { id: job.id };
      const updated = unwrap(
        action === 'pause'
          ? await client.POST('/download/pause', { body })
          : await client.POST('/download/resume', { body }),
      );
      jobsStore.upsert(updated);
      announce(`${name}: ${action === 'pause' ? 'paused' : 'resumed'}`);
    } catch (failure) {
      setError(describeError(failure));
    } finally {
      setBusy(false);
    }
  }

  const pausable = canPause(job.status);
  const resumable = canResume(job.status);
  return (
    <div class="job-actions">
      <div class="buttons">
        {(pausable || resumable) && (
          <button type="button" aria-busy={busy} onClick={() => run(pausable ? 'pause' : 'resume')}>
            {pausable ? 'Pause' : 'Resume'}
            <span class="visually-hidden"> {name}</span>
          </button>
        )}
        <button type="button" class="secondary" onClick={() => setCancelDialog((shown) => shown + 1)}>
          Cancel<span class="visually-hidden"> {name}</span>
        </button>
        {showPlay && (
          <a class="button secondary" href={href({ screen: 'play', id: job.id })}>
            Play<span class="visually-hidden"> {name}</span>
          </a>
        )}
      </div>
      <ErrorMessage message={error} />
      {cancelDialog > 0 && (
        <CancelDialog
          key={cancelDialog}
          job={job}
          onClose={() => setCancelDialog((shown) => (shown === cancelDialog ? 0 : shown))}
          onCancelled={onCancelled}
        />
      )}
    </div>
  );
}
