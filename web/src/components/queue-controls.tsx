/** A queued job's place in the queue: to the top, up, down, to the bottom (POST /download/queue). */
import { useState } from 'preact/hooks';
import { client, describeError, type Job, jobName, type QueueMove, unwrap } from '../api.js';
import { jobsStore, useJobs } from '../jobs-store.js';
import { announce } from './announcer.js';
import { ErrorMessage } from './error-message.js';

const MOVES: ReadonlyArray<{ move: QueueMove; label: string; done: string }> = [
  { move: 'top', label: 'Move to the top', done: 'moved to the top of the queue' },
  { move: 'up', label: 'Move up', done: 'moved up the queue' },
  { move: 'down', label: 'Move down', done: 'moved down the queue' },
  { move: 'bottom', label: 'Move to the bottom', done: 'moved to the bottom of the queue' },
];

export function QueueControls({ job }: { job: Job }) {
  const store = useJobs();
  const [busy, setBusy] = useState<QueueMove>();
  const [error, setError] = useState<string>();
  const position = job.queuePosition;
  if (job.status !== 'queued' || position === undefined) return null;
  const name = jobName(job);
  // The last place is known when the list holds every job.
  const queued = store.jobs.filter((each) => each.status === 'queued').length;
  const last = store.jobs.length === store.total ? queued : undefined;

  /** A move that would change nothing is offered but marked unavailable (the button keeps the focus). */
  const pointless = (move: QueueMove): boolean =>
    move === 'top' || move === 'up' ? position === 1 : last !== undefined && position >= last;

  async function run(move: QueueMove, done: string) {
    if (busy !== undefined || pointless(move)) return;
    setBusy(move);
    setError(undefined);
    try {
      const updated = unwrap(await client.POST('/download/queue', { body: { id: job.id, move } }));
      jobsStore.upsert(updated);
      const place = updated.queuePosition === undefined ? '' : `, now number ${updated.queuePosition}`;
      announce(`${name}: ${done}${place}`);
    } catch (failure) {
      setError(describeError(failure));
    } finally {
      setBusy(undefined);
    }
  }

  return (
    <section aria-labelledby="queue-heading">
      <h2 id="queue-heading">Place in the queue</h2>
      <p>
        Number {position}
        {last === undefined ? '' : ` of ${last}`}: it starts when a download before it ends.
      </p>
      <div class="buttons">
        {MOVES.map(({ move, label, done }) => (
          <button
            key={move}
            type="button"
            class="secondary"
            aria-busy={busy === move}
            aria-disabled={pointless(move)}
            onClick={() => run(move, done)}
          >
            {label}
          </button>
        ))}
      </div>
      <ErrorMessage message={error} />
    </section>
  );
}
