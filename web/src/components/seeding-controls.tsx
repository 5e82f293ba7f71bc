/** A completed job's upload: whether it seeds, its ratio of the limit, when it ends; Stop / Seed again (POST /download/seeding). */
import { useState } from 'preact/hooks';
import { client, describeError, type Job, jobName, unwrap } from '../api.js';
import { formatMoment } from '../format.js';
import { jobsStore } from '../jobs-store.js';
import { announce } from './announcer.js';
import { ErrorMessage } from './error-message.js';

type Seeding = NonNullable<Job['seeding']>;

/** `Seeding: ratio 0.12 of 1.00, ends at 15:42` / `Not seeding: ratio 0.12 of 1.00`. */
export function seedingText(seeding: Seeding): string {
  const ratio = seeding.ratio.toFixed(2);
  const limit =
    seeding.ratioLimit === 0
      ? `ratio ${ratio} (no seeding by the policy)`
      : `ratio ${ratio} of ${seeding.ratioLimit.toFixed(2)}`;
  if (!seeding.active) return `Not seeding: ${limit}`;
  const ends = seeding.endsAt === null ? '' : `, ends at ${formatMoment(seeding.endsAt)} at the latest`;
  return `Seeding: ${limit}${ends}`;
}

export function SeedingControls({ job }: { job: Job }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const seeding = job.seeding;
  if (job.status !== 'completed' || seeding === undefined) return null;
  const name = jobName(job);

  async function change(on: boolean) {
    if (busy) return;
    setBusy(true);
    setError(undefined);
    try {
      const updated = unwrap(await client.POST('/download/seeding', { body: { id: job.id, seeding: on } }));
      jobsStore.upsert(updated);
      announce(on ? `${name}: seeding again once its data is checked` : `${name}: seeding stopped`);
    } catch (failure) {
      setError(describeError(failure));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="seeding-heading">
      <h2 id="seeding-heading">Seeding</h2>
      <p class="seeding-line">{seedingText(seeding)}</p>
      {seeding.policy === 'job' && <p class="hint">This download has its own seeding limits.</p>}
      <div class="buttons">
        <button type="button" class="secondary" aria-busy={busy} onClick={() => change(!seeding.active)}>
          {seeding.active ? 'Stop seeding' : 'Seed again'}
        </button>
        {!seeding.active && (
          <span class="hint">The data is checked first, then it uploads until the ratio or the time is reached.</span>
        )}
      </div>
      <ErrorMessage message={error} />
    </section>
  );
}
