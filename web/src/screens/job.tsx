/** One job: progress, actions, where its data is, its error, the files to download, its film. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { client, describeError, type Job, jobName, unwrap } from '../api.js';
import { announce } from '../components/announcer.js';
import { ErrorMessage } from '../components/error-message.js';
import { JobActions } from '../components/job-actions.js';
import { JobProgress, JobStats } from '../components/job-progress.js';
import { MoveDataForm, MoveProgress } from '../components/move-data-form.js';
import { MovieLink } from '../components/movie-link.js';
import { PeerTable } from '../components/peer-table.js';
import { QueueControls } from '../components/queue-controls.js';
import { RecheckButton } from '../components/recheck-button.js';
import { ScreenTitle } from '../components/screen-title.js';
import { SeedingControls } from '../components/seeding-controls.js';
import { TrackerTable } from '../components/tracker-table.js';
import { isTorrent } from '../engine.js';
import { formatBytes, jobStatusText } from '../format.js';
import { jobsStore, useJobs } from '../jobs-store.js';
import { href, navigate } from '../router.js';

/**
 * The job, from the list, or asked of the server once when the list does not hold it (an old job,
 * an address typed in). A job that leaves the list (cancelled, here or elsewhere) is not asked for again.
 */
export function useJob(id: string): { job: Job | undefined; error: string | undefined } {
  const store = useJobs();
  const job = store.job(id);
  const seen = useRef(false);
  const [fetching, setFetching] = useState(false);
  const [error, setError] = useState<string>();
  if (job !== undefined) seen.current = true;
  const ask = job === undefined && store.loaded && !seen.current && !fetching && error === undefined;
  useEffect(() => {
    if (!ask) return;
    setFetching(true);
    jobsStore.fetchJob(id).then(
      () => setFetching(false),
      (failure: unknown) => {
        setError(describeError(failure));
        setFetching(false);
      },
    );
  }, [id, ask]);
  if (job === undefined && seen.current) {
    return { job, error: `The download ${id} is no longer in the list: it was cancelled.` };
  }
  return { job, error };
}

export function JobScreen({ id }: { id: string }) {
  const { job, error } = useJob(id);
  if (job === undefined) {
    return (
      <>
        <BackLink />
        <ScreenTitle>Download {id}</ScreenTitle>
        {error === undefined ? <p class="muted">Loading…</p> : <ErrorMessage message={error} />}
      </>
    );
  }
  return (
    <>
      <BackLink />
      <ScreenTitle>{jobName(job)}</ScreenTitle>
      <p class={`status status-${job.status}`}>{jobStatusText(job)}</p>
      <JobProgress job={job} />
      <JobStats job={job} />
      <JobActions job={job} onCancelled={() => navigate({ screen: 'downloads' })} />
      <QueueControls job={job} />
      {isTorrent(job) && <SeedingControls job={job} />}
      {job.error !== undefined && (
        <section aria-labelledby="job-error-heading">
          <h2 id="job-error-heading">What went wrong</h2>
          <p class="job-error">
            {job.error.code}: {job.error.message}
          </p>
        </section>
      )}
      <section aria-labelledby="where-heading">
        <h2 id="where-heading">Where the data is</h2>
        {job.savePath === undefined ? (
          <p class="muted">Not on disk yet.</p>
        ) : (
          <p>
            <code class="path">{job.savePath}</code>
          </p>
        )}
        <MoveProgress job={job} />
        <p class="muted">
          Id <code>{job.id}</code> · source <code class="path">{job.sourceUrn}</code>
        </p>
        {isTorrent(job) && <RecheckButton job={job} />}
        <MoveDataForm job={job} />
      </section>
      <FileChoice job={job} />
      {isTorrent(job) && (
        <>
          <PeerTable job={job} />
          <TrackerTable job={job} />
        </>
      )}
      <section aria-labelledby="film-heading">
        <h2 id="film-heading">Film</h2>
        <MovieLink job={job} />
      </section>
    </>
  );
}

function BackLink() {
  return (
    <nav aria-label="Breadcrumb" class="breadcrumb">
      <a href={href({ screen: 'downloads' })}>← Downloads</a>
    </nav>
  );
}

/** The files, with a checkbox each, and the piece order: POST /download/files. */
function FileChoice({ job }: { job: Job }) {
  const files = job.files;
  // The user's choices, until saved; what the server says otherwise (live updates never undo a tick).
  const [edited, setEdited] = useState<Set<number>>();
  const [sequentialEdit, setSequentialEdit] = useState<boolean>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [saved, setSaved] = useState<string>();

  if (files === undefined) {
    return (
      <section aria-labelledby="files-heading">
        <h2 id="files-heading">Files</h2>
        <p class="muted">The file list arrives with the torrent's metadata from the first peers.</p>
      </section>
    );
  }

  const selected = edited ?? new Set(job.selectedFiles ?? files.map((_, index) => index));
  const sequential = sequentialEdit ?? job.sequential;
  const all = selected.size === files.length;
  const wanted = files.reduce((sum, file, index) => sum + (selected.has(index) ? file.length : 0), 0);

  function toggle(index: number, on: boolean) {
    const next = new Set(selected);
    if (on) next.add(index);
    else next.delete(index);
    setEdited(next);
    setSaved(undefined);
  }

  async function save(event: Event) {
    event.preventDefault();
    if (busy) return;
    if (selected.size === 0) {
      setError('Choose at least one file (or cancel the download).');
      return;
    }
    const selection = all ? null : [...selected].sort((a, b) => a - b);
    const before = job.selectedFiles === undefined ? null : job.selectedFiles;
    const selectionChanged = JSON.stringify(selection) !== JSON.stringify(before);
    const orderChanged = sequential !== job.sequential;
    if (!selectionChanged && !orderChanged) {
      setSaved('Nothing to change.');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const updated = unwrap(
        await client.POST('/download/files', {
          body: {
            id: job.id,
            ...(selectionChanged ? { selectedFiles: selection } : {}),
            ...(orderChanged ? { sequential } : {}),
          },
        }),
      );
      jobsStore.upsert(updated);
      setEdited(undefined);
      setSequentialEdit(undefined);
      setSaved('Saved.');
      announce('File choices saved');
    } catch (failure) {
      setError(describeError(failure));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="files-heading">
      <h2 id="files-heading">Files</h2>
      <form onSubmit={save}>
        <fieldset>
          <legend>
            Files to download: {selected.size} of {files.length}, {formatBytes(wanted)}
          </legend>
          <ul class="files">
            {files.map((file, index) => (
              <li key={file.path}>
                <input
                  type="checkbox"
                  id={`file-${index}`}
                  checked={selected.has(index)}
                  onChange={(event) => toggle(index, event.currentTarget.checked)}
                />
                <label for={`file-${index}`} class="path">
                  {file.path}
                </label>
                <span class="size">{formatBytes(file.length)}</span>
              </li>
            ))}
          </ul>
        </fieldset>
        <div class="check">
          <input
            type="checkbox"
            id="sequential"
            checked={sequential}
            onChange={(event) => {
              setSequentialEdit(event.currentTarget.checked);
              setSaved(undefined);
            }}
          />
          <label for="sequential">Download in order (best for watching while it downloads)</label>
        </div>
        <ErrorMessage message={error} />
        <div class="buttons">
          <button type="submit" aria-busy={busy}>
            Save file choices
          </button>
          {saved !== undefined && (
            <span class="muted" role="status">
              {saved}
            </span>
          )}
        </div>
      </form>
    </section>
  );
}
