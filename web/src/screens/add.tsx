/** Add a download: a magnet link or info-hash, or a .torrent file (picked or dropped), under an optional id. */
import { useEffect, useState } from 'preact/hooks';
import { client, describeError, type Job, jobName, unwrap } from '../api.js';
import { announce } from '../components/announcer.js';
import { ErrorMessage } from '../components/error-message.js';
import { ScreenTitle } from '../components/screen-title.js';
import { formatBytes } from '../format.js';
import { jobsStore } from '../jobs-store.js';
import { navigate } from '../router.js';

/** The contract's JobId, for the browser's own check (`v` mode: `-` escaped in classes). */
const JOB_ID_PATTERN = '[A-Za-z0-9_\\-][A-Za-z0-9._\\-]{0,127}';
/** The server takes .torrent files up to 10 MiB. */
const MAX_TORRENT_BYTES = 10 * 1024 * 1024;

export function AddScreen() {
  const [source, setSource] = useState('');
  const [jobId, setJobId] = useState('');
  const [file, setFile] = useState<File>();
  const [dragging, setDragging] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  // A file dropped next to the drop zone must not make the browser leave the app to show it.
  useEffect(() => {
    const stop = (event: DragEvent) => event.preventDefault();
    addEventListener('dragover', stop);
    addEventListener('drop', stop);
    return () => {
      removeEventListener('dragover', stop);
      removeEventListener('drop', stop);
    };
  }, []);

  function choose(chosen: File | undefined) {
    setError(undefined);
    if (chosen === undefined) return;
    if (chosen.size > MAX_TORRENT_BYTES) {
      setError(`${chosen.name} is ${formatBytes(chosen.size)}: a .torrent file is at most 10 MiB.`);
      return;
    }
    setFile(chosen);
  }

  async function submit(event: Event) {
    event.preventDefault();
    if (busy) return;
    const urn = source.trim();
    const id = jobId.trim();
    if (urn === '' && file === undefined) {
      setError('Give a magnet link or info-hash, or choose a .torrent file.');
      return;
    }
    if (urn !== '' && file !== undefined) {
      setError('Give one source: the magnet link or the .torrent file (remove the file to use the link).');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const job: Job = unwrap(
        file === undefined
          ? await client.POST('/download/start', {
              body: { sourceType: 'torrent', sourceUrn: urn, ...(id === '' ? {} : { id }) },
            })
          : await client.POST('/download/upload', {
              params: { query: id === '' ? {} : { id } },
              // Sent as it is (src/client/chilly-client.ts), whatever type the browser gave the file.
              body: file,
              headers: { 'Content-Type': 'application/x-bittorrent' },
            }),
      );
      jobsStore.upsert(job);
      announce(`Added ${jobName(job)}`);
      navigate({ screen: 'job', id: job.id });
    } catch (failure) {
      setError(describeError(failure));
      setBusy(false);
    }
  }

  return (
    <div class="narrow">
      <ScreenTitle>Add a download</ScreenTitle>
      <form class="card add-form" onSubmit={submit}>
        <div class="field">
          <label for="source">Magnet link or info-hash</label>
          <input
            id="source"
            name="source"
            type="text"
            autocomplete="off"
            spellcheck={false}
            placeholder="magnet:?xt=urn:btih:…"
            aria-describedby="source-hint"
            value={source}
            onInput={(event) => setSource(event.currentTarget.value)}
          />
          <p id="source-hint" class="hint">
            A magnet URI, or the torrent's info-hash (40 hexadecimal characters).
          </p>
        </div>

        {/* biome-ignore lint/a11y/noStaticElementInteractions: dropping a file is a pointer shortcut; the file input inside is the way by keyboard. */}
        <div
          class={dragging ? 'drop-zone dragging' : 'drop-zone'}
          onDragEnter={(event) => {
            event.preventDefault();
            setDragging(true);
          }}
          onDragOver={(event) => {
            event.preventDefault();
            if (event.dataTransfer) event.dataTransfer.dropEffect = 'copy';
          }}
          onDragLeave={(event) => {
            if (!event.currentTarget.contains(event.relatedTarget as Node | null)) setDragging(false);
          }}
          onDrop={(event) => {
            event.preventDefault();
            setDragging(false);
            choose(event.dataTransfer?.files[0]);
          }}
        >
          <label for="torrent-file">Or a .torrent file</label>
          <input
            id="torrent-file"
            name="torrent"
            type="file"
            accept=".torrent,application/x-bittorrent"
            aria-describedby="torrent-hint"
            onChange={(event) => {
              choose(event.currentTarget.files?.[0]);
              event.currentTarget.value = '';
            }}
          />
          <p id="torrent-hint" class="hint">
            You can also drop the file here.
          </p>
          {file !== undefined && (
            <p class="chosen">
              <span>
                {file.name} ({formatBytes(file.size)})
              </span>{' '}
              <button type="button" class="link-button" onClick={() => setFile(undefined)}>
                Remove<span class="visually-hidden"> {file.name}</span>
              </button>
            </p>
          )}
        </div>

        <div class="field">
          <label for="job-id">Job id (optional)</label>
          <input
            id="job-id"
            name="id"
            type="text"
            autocomplete="off"
            spellcheck={false}
            pattern={JOB_ID_PATTERN}
            maxLength={128}
            aria-describedby="job-id-hint"
            value={jobId}
            onInput={(event) => setJobId(event.currentTarget.value)}
          />
          <p id="job-id-hint" class="hint">
            Letters, digits, dots, dashes and underscores; it names the download's folder. Without one, the torrent's
            name is used.
          </p>
        </div>

        <ErrorMessage message={error} />
        <button type="submit" aria-busy={busy}>
          Add download
        </button>
      </form>
    </div>
  );
}
