/**
 * "Move data…": moves a job's folder into another folder on the server (POST /download/move-data),
 * and how far a move has come (the job's `move`, live).
 */
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { ChillyApiError, client, describeError, type Job, jobName, unwrap } from '../api.js';
import { cannot, useEngine } from '../engine.js';
import { formatBytes } from '../format.js';
import { jobsStore } from '../jobs-store.js';
import { announce } from './announcer.js';
import { ErrorMessage } from './error-message.js';

/** The folder that holds `folder` (`/media/film` → `/media`), as the server wrote it. */
function parentOf(folder: string): string {
  const trimmed = folder.replace(/[\\/]+$/, '');
  const cut = Math.max(trimmed.lastIndexOf('/'), trimmed.lastIndexOf('\\'));
  return cut <= 0 ? trimmed.slice(0, cut + 1) : trimmed.slice(0, cut);
}

function baseName(folder: string): string {
  return (
    folder
      .replace(/[\\/]+$/, '')
      .split(/[\\/]/)
      .pop() ?? folder
  );
}

/** The move's refusal in plain words (the server's message says what, this says what it means). */
export function moveErrorText(failure: unknown): string {
  if (!(failure instanceof ChillyApiError)) return describeError(failure);
  switch (failure.code) {
    case 'invalid_destination':
      return `The data cannot go to that folder. ${failure.message}`;
    case 'validation_failed':
      return `That is not a folder the server can use. ${failure.message}`;
    case 'move_in_progress':
      return 'The data is already moving: wait until it is in its new place, then try again.';
    case 'capability_unsupported':
      return failure.message;
    case 'insufficient_space':
    case 'disk_full':
      return `There is not enough free space there. ${failure.message}`;
    default:
      return describeError(failure);
  }
}

/** While the data moves: where to, and how much is copied (a rename has nothing to copy). */
export function MoveProgress({ job }: { job: Job }) {
  const move = job.move;
  if (move === undefined) return null;
  const copying = move.bytesTotal > 0;
  return (
    <div class="move-progress">
      <p>
        Moving the data to <code class="path">{move.destination}</code>
        {copying ? `: ${formatBytes(move.bytesDone)} of ${formatBytes(move.bytesTotal)} copied` : '…'}
      </p>
      {copying && <progress max={move.bytesTotal} value={move.bytesDone} aria-label={`${jobName(job)}: data moved`} />}
    </div>
  );
}

export function MoveDataForm({ job }: { job: Job }) {
  const why = cannot(useEngine(), 'moveData');
  const toggle = useRef<HTMLButtonElement>(null);
  const field = useRef<HTMLInputElement>(null);
  const [open, setOpen] = useState(false);
  const [destination, setDestination] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [done, setDone] = useState<string>();

  // In the render that shows the field (not after the next paint): a click on "Move data…" is
  // followed at once by typing.
  useLayoutEffect(() => {
    if (open) field.current?.focus();
  }, [open]);

  if (why !== undefined) return <p class="muted">{why}</p>;
  const savePath = job.savePath;
  if (savePath === undefined) return null;
  const shown = destination ?? parentOf(savePath);

  function close() {
    setOpen(false);
    setError(undefined);
    toggle.current?.focus();
  }

  async function submit(event: Event) {
    event.preventDefault();
    if (busy) return;
    const wanted = shown.trim();
    if (wanted === '') {
      setError('Give the folder to move the data into, as a full path on the server (such as /srv/films).');
      field.current?.focus();
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const updated = unwrap(await client.POST('/download/move-data', { body: { id: job.id, destination: wanted } }));
      jobsStore.upsert(updated);
      const where = updated.savePath ?? wanted;
      setDone(`Moved to ${where}.`);
      setDestination(undefined);
      announce(`${jobName(job)}: data moved to ${where}`);
      close();
    } catch (failure) {
      setError(moveErrorText(failure));
      field.current?.focus();
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <p class="buttons">
        <button
          ref={toggle}
          type="button"
          class="secondary"
          aria-expanded={open}
          aria-controls="move-data-form"
          onClick={() => {
            setDone(undefined);
            if (open) close();
            else setOpen(true);
          }}
        >
          Move data…
        </button>
        {done !== undefined && !open && (
          <span class="muted" role="status">
            {done}
          </span>
        )}
      </p>
      <form id="move-data-form" onSubmit={submit} hidden={!open}>
        <div class="field">
          <label for="move-destination">Folder to move the data into (on the server)</label>
          <input
            ref={field}
            type="text"
            id="move-destination"
            autoComplete="off"
            spellcheck={false}
            value={shown}
            aria-describedby="move-destination-hint"
            aria-invalid={error !== undefined}
            onInput={(event) => setDestination(event.currentTarget.value)}
          />
          <p class="hint" id="move-destination-hint">
            A full path inside the media folder, or a folder the server allows moves to (CHILLY_MOVE_ROOTS). The data
            goes into it as <code class="path">{baseName(savePath)}</code>; the download goes on from there.
          </p>
        </div>
        <ErrorMessage message={error} />
        <div class="buttons">
          <button type="submit" aria-busy={busy}>
            Move the data
          </button>
          <button type="button" class="secondary" onClick={close}>
            Close
          </button>
        </div>
      </form>
    </>
  );
}
