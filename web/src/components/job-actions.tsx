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
  const [cancelling, setCancelling] = useState(false);
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
        <button type="button" class="secondary" onClick={() => setCancelling(true)}>
          Cancel<span class="visually-hidden"> {name}</span>
        </button>
        {showPlay && (
          <a class="button secondary" href={href({ screen: 'play', id: job.id })}>
            Play<span class="visually-hidden"> {name}</span>
          </a>
        )}
      </div>
      <ErrorMessage message={error} />
      {cancelling && <CancelDialog job={job} onClose={() => setCancelling(false)} onCancelled={onCancelled} />}
    </div>
  );
}
