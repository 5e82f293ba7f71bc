/** "Add a tracker": an announce address added to a job's trackers (POST /download/trackers), kept for its next starts. */
import { useRef, useState } from 'preact/hooks';
import { client, describeError, type Job, type JobTracker, jobName, unwrap } from '../api.js';
import { announce } from './announcer.js';
import { ErrorMessage } from './error-message.js';

export function AddTrackerForm({ job, onChanged }: { job: Job; onChanged: (trackers: JobTracker[]) => void }) {
  const field = useRef<HTMLInputElement>(null);
  const [url, setUrl] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  async function add(event: Event) {
    event.preventDefault();
    if (busy) return;
    const wanted = url.trim();
    if (wanted === '') {
      setError('Give the tracker’s announce address, such as udp://tracker.example.org:1337/announce.');
      field.current?.focus();
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const answer = unwrap(await client.POST('/download/trackers', { body: { id: job.id, add: [wanted] } }));
      onChanged(answer.trackers);
      setUrl('');
      announce(`${jobName(job)}: tracker ${wanted} added`);
    } catch (failure) {
      setError(describeError(failure));
      field.current?.focus();
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <h3 id="add-tracker-heading">Add a tracker</h3>
      <form class="search-form" aria-labelledby="add-tracker-heading" onSubmit={add}>
        <div class="field">
          <label for="tracker-url">Tracker address</label>
          <input
            ref={field}
            type="text"
            id="tracker-url"
            inputMode="url"
            autoComplete="off"
            spellcheck={false}
            value={url}
            aria-describedby="tracker-url-hint"
            aria-invalid={error !== undefined}
            onInput={(event) => {
              setUrl(event.currentTarget.value);
              setError(undefined);
            }}
          />
        </div>
        <button type="submit" aria-busy={busy}>
          Add tracker
        </button>
      </form>
      <p class="hint" id="tracker-url-hint">
        An http://, https:// or udp:// announce address. It is kept for the next starts too.
      </p>
      <ErrorMessage message={error} />
    </>
  );
}
