/**
 * "Cancel this download?": keep the files or delete them, in a modal dialog (focus stays inside,
 * Escape goes back, focus returns to the Cancel button).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { client, describeError, type Job, jobName, unwrap } from '../api.js';
import { formatBytes } from '../format.js';
import { jobsStore } from '../jobs-store.js';
import { announce } from './announcer.js';
import { ErrorMessage } from './error-message.js';
import { focusScreenTitle } from './screen-title.js';

export function CancelDialog({
  job,
  onClose,
  onCancelled,
}: {
  job: Job;
  onClose: () => void;
  onCancelled?: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const back = useRef<HTMLButtonElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const name = jobName(job);
  const done = job.progress.bytesDone;

  useEffect(() => {
    const element = dialog.current;
    if (element === null) return;
    element.showModal();
    // The harmless choice first: Enter on an unexpected dialog must not delete anything.
    back.current?.focus();
    return () => {
      if (element.open) element.close();
    };
  }, []);

  async function cancel(keepData: boolean) {
    if (busy) return;
    setBusy(true);
    setError(undefined);
    try {
      unwrap(await client.POST('/download/cancel', { body: { id: job.id, keepData } }));
      announce(`${name}: cancelled${keepData ? ', files kept' : ', data deleted'}`);
      dialog.current?.close();
      // The card (and its Cancel button, where focus would return) is about to go.
      if (onCancelled === undefined) focusScreenTitle();
      else onCancelled();
      jobsStore.remove(job.id);
    } catch (failure) {
      setError(describeError(failure));
      setBusy(false);
    }
  }

  return (
    <dialog
      ref={dialog}
      class="dialog"
      aria-labelledby={`cancel-title-${job.id}`}
      aria-describedby={`cancel-text-${job.id}`}
      onClose={onClose}
    >
      <h2 id={`cancel-title-${job.id}`}>Cancel “{name}”?</h2>
      <p id={`cancel-text-${job.id}`}>
        The download stops and leaves the list.{' '}
        {done > 0
          ? `What should happen to the ${formatBytes(done)} already on disk?`
          : 'Nothing has been downloaded yet.'}
      </p>
      <ErrorMessage message={error} />
      <div class="dialog-actions">
        <button type="button" class="danger" onClick={() => cancel(false)}>
          Cancel and delete the data
        </button>
        <button type="button" class="secondary" onClick={() => cancel(true)}>
          Cancel and keep the files
        </button>
        <button type="button" class="secondary" ref={back} onClick={() => dialog.current?.close()}>
          Back
        </button>
      </div>
    </dialog>
  );
}
