/**
 * Browser sessions for the web app, so nobody copies a token into a page:
 * - `chilly open` (holding the API token) asks for a **sign-in code**: random, single-use, valid
 *   60 s, carried in the link's fragment (`/#signin=<code>`, never sent in a URL the server logs);
 * - the page trades it (or the token, pasted) for a **session**: a random id in an `HttpOnly`,
 *   `SameSite=Strict` cookie, valid 12 hours, ended server-side by signing out.
 * Codes and sessions are kept in memory only, by their SHA-256 (a heap dump shows no usable id):
 * a restart signs everyone out, which `chilly open` undoes in one command.
 */
import { createHash, randomBytes } from 'node:crypto';

export const SESSION_COOKIE = 'chilly_session';
/** How long a sign-in code may wait to be used. */
export const SIGN_IN_CODE_TTL_MS = 60_000;
/** How long a session lasts (not extended by use: a stolen cookie dies on its own). */
export const SESSION_TTL_MS = 12 * 60 * 60_000;
/** Bounds memory whatever a client does (codes are made only with the token, sessions only with a code or the token). */
const MAX_CODES = 100;
const MAX_SESSIONS = 1_000;

function digest(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

export interface SessionsOptions {
  now?: () => number;
  codeTtlMs?: number;
  sessionTtlMs?: number;
}

export class Sessions {
  /** Digest of each unused code → when it expires. */
  readonly #codes = new Map<string, number>();
  /** Digest of each session id → when it expires. */
  readonly #sessions = new Map<string, number>();
  readonly #now: () => number;
  readonly #codeTtlMs: number;
  readonly #sessionTtlMs: number;

  constructor(options: SessionsOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#codeTtlMs = options.codeTtlMs ?? SIGN_IN_CODE_TTL_MS;
    this.#sessionTtlMs = options.sessionTtlMs ?? SESSION_TTL_MS;
  }

  /** A new sign-in code and when it expires. */
  issueCode(): { code: string; expiresAt: Date } {
    this.#prune();
    const code = newSecret();
    const expires = this.#now() + this.#codeTtlMs;
    this.#codes.set(digest(code), expires);
    dropOldest(this.#codes, MAX_CODES);
    return { code, expiresAt: new Date(expires) };
  }

  /** Uses a code up: true once, while it has not expired; false for any other string. */
  redeemCode(code: string): boolean {
    const key = digest(code);
    const expires = this.#codes.get(key);
    this.#codes.delete(key);
    return expires !== undefined && expires > this.#now();
  }

  /** A new session: its id (for the cookie) and when it expires. */
  open(): { id: string; expiresAt: Date } {
    this.#prune();
    const id = newSecret();
    const expires = this.#now() + this.#sessionTtlMs;
    this.#sessions.set(digest(id), expires);
    dropOldest(this.#sessions, MAX_SESSIONS);
    return { id, expiresAt: new Date(expires) };
  }

  /** When the session with this id expires, or undefined when there is no such live session. */
  expiresAt(id: string | undefined): Date | undefined {
    if (id === undefined || id === '') return undefined;
    const expires = this.#sessions.get(digest(id));
    if (expires === undefined || expires <= this.#now()) return undefined;
    return new Date(expires);
  }

  /** Ends a session (sign out). */
  close(id: string | undefined): void {
    if (id !== undefined) this.#sessions.delete(digest(id));
  }

  #prune(): void {
    const now = this.#now();
    for (const [key, expires] of this.#codes) if (expires <= now) this.#codes.delete(key);
    for (const [key, expires] of this.#sessions) if (expires <= now) this.#sessions.delete(key);
  }
}

/** Keeps a map (in insertion order) to `max` entries by dropping the oldest. */
function dropOldest(map: Map<string, number>, max: number): void {
  for (const key of map.keys()) {
    if (map.size <= max) return;
    map.delete(key);
  }
}

/** The value of one cookie in a Cookie header (undefined when absent). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const at = part.indexOf('=');
    if (at < 0) continue;
    if (part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
  }
  return undefined;
}

/** The Set-Cookie header for a session (an empty id and a date in the past end it in the browser). */
export function sessionCookie(id: string, expiresAt: Date): string {
  return [
    `${SESSION_COOKIE}=${id}`,
    'HttpOnly',
    'SameSite=Strict',
    'Path=/',
    `Expires=${expiresAt.toUTCString()}`,
  ].join('; ');
}
