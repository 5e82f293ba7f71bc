/**
 * A job's trackers and how each is doing (GET /download/trackers/{id}, asked again every few
 * seconds while the job runs), with a form to add one and a Remove button each (POST /download/trackers).
 */
import { type ComponentChildren, Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { client, describeError, type Job, type JobTracker, jobName, unwrap } from '../api.js';
import { cannot, useEngine } from '../engine.js';
import { formatMoment, formatRelative, isRunning } from '../format.js';
import { usePolled } from '../polling.js';
import { AddTrackerForm } from './add-tracker-form.js';
import { announce } from './announcer.js';
import { ErrorMessage } from './error-message.js';
import { TableScroll } from './table-scroll.js';

const STATUS_WORDS: Record<JobTracker['status'], string> = {
  working: 'Working',
  contacting: 'Contacting',
  error: 'Error',
  stopped: 'Stopped (the download is not running)',
};

export function TrackerTable({ job }: { job: Job }) {
  const why = cannot(useEngine(), 'trackerList');
  return (
    <section aria-labelledby="trackers-heading">
      <h2 id="trackers-heading" tabIndex={-1}>
        Trackers
      </h2>
      {why === undefined ? <Trackers job={job} /> : <p class="muted">{why}</p>}
    </section>
  );
}

function Trackers({ job }: { job: Job }) {
  const running = isRunning(job);
  const trackers = usePolled(job.id, running, async (signal) => {
    const answer = unwrap(await client.GET('/download/trackers/{id}', { params: { path: { id: job.id } }, signal }));
    return answer.trackers;
  });
  const [removing, setRemoving] = useState<string>();
  const [error, setError] = useState<string>();
  const name = jobName(job);

  async function remove(url: string) {
    if (removing !== undefined) return;
    setRemoving(url);
    setError(undefined);
    try {
      const answer = unwrap(await client.POST('/download/trackers', { body: { id: job.id, remove: [url] } }));
      trackers.replace(answer.trackers);
      // The row and its button are gone: the focus goes to the section's heading.
      document.getElementById('trackers-heading')?.focus();
      announce(`${name}: tracker ${url} removed`);
    } catch (failure) {
      setError(describeError(failure));
    } finally {
      setRemoving(undefined);
    }
  }

  const list = trackers.data;
  return (
    <>
      <ErrorMessage message={trackers.error} />
      {list === undefined ? (
        trackers.error === undefined && <p class="muted">Asking for the trackers…</p>
      ) : list.length === 0 ? (
        <p class="muted">No trackers: add one below, or peers come only from other peers.</p>
      ) : (
        <TableScroll label="Tracker table">
          <table class="settings" aria-labelledby="trackers-heading">
            <thead>
              <tr>
                <th scope="col">Tracker</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {list.map((tracker) => (
                <tr key={tracker.url}>
                  <th scope="row">
                    <code class="path">{tracker.url}</code>
                    <br />
                    <span class="muted">{tracker.origin === 'added' ? 'added by you' : 'from the torrent'}</span>
                  </th>
                  <td>
                    <strong>{STATUS_WORDS[tracker.status] ?? tracker.status}</strong>
                    {tracker.message !== null && tracker.message !== '' && (
                      <>
                        : <span class="job-error">{tracker.message}</span>
                      </>
                    )}
                    <TrackerFigures tracker={tracker} />
                    <p class="buttons">
                      <button
                        type="button"
                        class="secondary"
                        aria-busy={removing === tracker.url}
                        onClick={() => remove(tracker.url)}
                      >
                        Remove<span class="visually-hidden"> {tracker.url}</span>
                      </button>
                    </p>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
      <ErrorMessage message={error} />
      <AddTrackerForm job={job} onChanged={trackers.replace} />
    </>
  );
}

/** `1 seeder, 2 leechers · answered 3 s ago · next in 25 s`, on a line of its own; what is not known is left out. */
function TrackerFigures({ tracker }: { tracker: JobTracker }) {
  const { seeders, leechers, lastAnnounce, nextAnnounce } = tracker;
  const parts: Array<{ key: string; part: ComponentChildren }> = [];
  if (seeders !== null || leechers !== null) {
    const count = (value: number | null, one: string, many: string) =>
      value === null ? `? ${many}` : `${value} ${value === 1 ? one : many}`;
    parts.push({
      key: 'peers',
      part: `${count(seeders, 'seeder', 'seeders')}, ${count(leechers, 'leecher', 'leechers')}`,
    });
  }
  if (lastAnnounce !== null || tracker.status !== 'stopped') {
    parts.push({ key: 'last', part: <Moment label="answered" iso={lastAnnounce} /> });
  }
  if (nextAnnounce !== null) parts.push({ key: 'next', part: <Moment label="next" iso={nextAnnounce} /> });
  if (parts.length === 0) return null;
  return (
    <>
      <br />
      <span class="muted">
        {parts.map(({ key, part }, index) => (
          <Fragment key={key}>
            {index > 0 && ' · '}
            {part}
          </Fragment>
        ))}
      </span>
    </>
  );
}

/** `answered 3 s ago`, `next in 2 min 5 s`, `next any moment` (the moment itself on hover); `not answered yet`. */
function Moment({ label, iso }: { label: 'answered' | 'next'; iso: string | null }) {
  if (iso === null) return <>not {label} yet</>;
  const relative = formatRelative(iso);
  const soon = label === 'next' && (relative === 'now' || Date.parse(iso) < Date.now());
  return (
    <>
      {label}{' '}
      <time dateTime={iso} title={formatMoment(iso)}>
        {soon ? 'any moment' : relative === 'now' ? 'just now' : relative}
      </time>
    </>
  );
}
