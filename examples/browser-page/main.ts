/**
 * A web page served from another origin (say a Vite dev server on http://localhost:5173) that
 * drives a Chilly server through `chilly-movies/client`. The server must allow the page's origin:
 *
 *   CHILLY_ALLOWED_ORIGINS=http://localhost:5173 npm start
 *
 * and the user pastes the API token (`chilly token`) once; the page keeps it for the session only.
 * Type-checked by `npm run typecheck` (examples/tsconfig.json).
 */
import {
  ChillyApiError,
  type ChillyClient,
  createChillyClient,
  type Job,
  openJobEvents,
  unwrap,
} from 'chilly-movies/client';

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`#${id} is missing`);
  return found as T;
}

const rows = new Map<string, HTMLLIElement>();

function show(job: Job): void {
  let row = rows.get(job.id);
  if (row === undefined) {
    row = document.createElement('li');
    rows.set(job.id, row);
    element('jobs').append(row);
  }
  const percent = (job.progress.fraction * 100).toFixed(1);
  // textContent, never innerHTML: names come from strangers' torrents.
  row.textContent = `${job.name ?? job.id}: ${job.status} ${percent} %`;
}

async function listAll(client: ChillyClient): Promise<void> {
  const page = unwrap(await client.GET('/downloads', { params: { query: { limit: 100 } } }));
  for (const job of page.jobs) show(job);
}

/** Live updates: replays what was missed after a reconnect (lastEventId), or says `resync`. */
async function follow(baseUrl: string, token: string, client: ChillyClient, signal: AbortSignal): Promise<void> {
  let lastEventId: number | undefined;
  while (!signal.aborted) {
    try {
      for await (const message of await openJobEvents({ baseUrl, token, lastEventId, signal })) {
        if (message.event === 'resync') await listAll(client);
        else {
          lastEventId = message.data.id;
          show(message.data.job);
        }
      }
    } catch (error) {
      if (error instanceof ChillyApiError && error.code === 'unauthorized') throw error;
      await new Promise((resolve) => setTimeout(resolve, 2_000)); // the server restarted: try again
    }
  }
}

element<HTMLFormElement>('connect').addEventListener('submit', (submit) => {
  submit.preventDefault();
  const baseUrl = element<HTMLInputElement>('server').value;
  const token = element<HTMLInputElement>('token').value;
  const client = createChillyClient({ baseUrl, token });
  const stop = new AbortController();
  element('add').hidden = false;
  element<HTMLFormElement>('add').addEventListener('submit', async (add) => {
    add.preventDefault();
    const sourceUrn = element<HTMLInputElement>('magnet').value;
    try {
      show(
        unwrap(
          await client.POST('/download/start', {
            body: { id: `film-${Date.now()}`, sourceType: 'torrent', sourceUrn },
          }),
        ),
      );
    } catch (error) {
      // A ChillyApiError carries the API's stable code and a sentence for people.
      alert(error instanceof ChillyApiError ? `${error.code}: ${error.message}` : String(error));
    }
  });
  listAll(client)
    .then(() => follow(baseUrl, token, client, stop.signal))
    .catch((error: unknown) => alert(String(error)));
});
