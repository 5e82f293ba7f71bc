/**
 * The one door to the server. Everything goes through the client generated from the contract
 * (src/client), same origin, with the session cookie the browser sends by itself. Every request
 * carries `X-Requested-By: chilly`: the server refuses a change made with the cookie without it,
 * and a page on another site cannot add it (the anti-CSRF proof).
 */
import {
  ChillyApiError,
  type ChillyClient,
  type components,
  createChillyClient,
  type Job,
  JobEventStreamError,
  openJobEvents,
  type ReadJobEventsOptions,
  unwrap,
} from '../../src/client/index.js';

export type { Job, JobFile, JobMovie, JobStatus, LibraryItem, MovieSummary } from '../../src/client/index.js';
export { ChillyApiError, unwrap };

export const REQUESTED_BY = { 'X-Requested-By': 'chilly' } as const;

export type SessionState = components['schemas']['SessionState'];
export type ServerSettings = components['schemas']['Settings'];
export type ServerCheck = ServerSettings['checks'][number];
export type Engine = ServerSettings['engine'];
export type JobPeer = components['schemas']['JobPeer'];
export type JobTracker = components['schemas']['JobTracker'];
export type RateLimits = components['schemas']['RateLimits'];
export type QueueMove = components['schemas']['QueueMoveRequest']['move'];

/** Called when the server says the session is gone (expired, signed out elsewhere, server restarted). */
let sessionLost: () => void = () => undefined;

export function onSessionLost(callback: () => void): void {
  sessionLost = callback;
}

export function notifySessionLost(): void {
  sessionLost();
}

export const client: ChillyClient = createChillyClient({
  baseUrl: location.origin,
  headers: REQUESTED_BY,
  credentials: 'same-origin',
});

client.use({
  onResponse({ request, response }) {
    // A 401 from the sign-in itself is a wrong code or token, not a lost session.
    if (response.status === 401 && new URL(request.url).pathname !== '/auth/session') sessionLost();
    return undefined;
  },
});

/** GET /auth/session: the session, or null when this browser is not signed in (401). */
export async function getSession(): Promise<SessionState | null> {
  const result = await client.GET('/auth/session');
  if (result.response.status === 401) return null;
  return unwrap(result);
}

/** POST /auth/session with a sign-in code (from a `chilly open` link) or the pasted API token. */
export async function signIn(credentials: { code: string } | { token: string }): Promise<void> {
  const result = await client.POST('/auth/session', { body: credentials });
  if (!result.response.ok) throw apiError(result);
}

/** DELETE /auth/session: ends the session on the server and clears the cookie. */
export async function signOut(): Promise<void> {
  const result = await client.DELETE('/auth/session');
  if (!result.response.ok) throw apiError(result);
}

export async function getSettings(): Promise<ServerSettings> {
  return unwrap(await client.GET('/settings'));
}

/** The job events (GET /events), over fetch, with the cookie and the same header as every request. */
export function openEvents(options: Pick<ReadJobEventsOptions, 'lastEventId' | 'signal'>) {
  return openJobEvents({ baseUrl: location.origin, headers: REQUESTED_BY, credentials: 'same-origin', ...options });
}

/** Whether an error says the session is gone. */
export function isUnauthorized(error: unknown): boolean {
  return error instanceof ChillyApiError && error.status === 401;
}

/** For answers without a body on success: the error of a failed one. */
function apiError(result: { error?: unknown; response: Response }): ChillyApiError {
  try {
    unwrap(result);
  } catch (error) {
    if (error instanceof ChillyApiError) return error;
  }
  return new ChillyApiError(result.response.status, 'unexpected_response', `HTTP ${result.response.status}`);
}

/** An error in words, with the API's code first: `invalid_magnet: The magnet URI …`. */
export function describeError(error: unknown): string {
  if (error instanceof ChillyApiError || error instanceof JobEventStreamError) {
    return error.message === '' ? error.code : `${error.code}: ${error.message}`;
  }
  // fetch rejects with a TypeError when there is no answer at all.
  if (error instanceof TypeError) {
    return 'Cannot reach the Chilly Movies server. Is `chilly serve` running on this computer?';
  }
  if (error instanceof Error) return error.message;
  return String(error);
}

/** A job's stream link, as a path on this origin (the server may name itself otherwise than the address bar). */
export interface StreamLink {
  src: string;
  url: string;
  expiresAt: string;
  /** The file the link plays (null until a magnet's metadata is known). */
  fileIndex: number | null;
  /** The job's subtitles as WebVTT links on this origin, signed like `src`. */
  subtitles: { src: string; label: string; language: string | null; sdh: boolean; videoIndex: number | null }[];
}

export async function streamUrl(id: string): Promise<StreamLink> {
  const link = unwrap(await client.GET('/download/stream-url/{id}', { params: { path: { id } } }));
  const onThisOrigin = (absolute: string) => {
    const url = new URL(absolute, location.origin);
    return `${url.pathname}${url.search}`;
  };
  return {
    src: onThisOrigin(link.url),
    url: link.url,
    expiresAt: link.expiresAt,
    fileIndex: link.fileIndex,
    subtitles: link.subtitles.map((subtitle) => ({
      src: onThisOrigin(subtitle.url),
      label: subtitle.label,
      language: subtitle.language,
      sdh: subtitle.sdh,
      videoIndex: subtitle.videoIndex,
    })),
  };
}

/** The job's display name: the torrent's name once known, else its id. */
export function jobName(job: Pick<Job, 'id' | 'name'>): string {
  return job.name ?? job.id;
}
