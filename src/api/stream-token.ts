/**
 * Signed stream links. Video players cannot send an `Authorization` header, so a stream URL
 * carries `?t=<expiresAt>.<signature>` instead: `expiresAt` in Unix seconds, the signature
 * HMAC-SHA256 over `stream:<jobId>:<expiresAt>`, base64url. The key is derived from the API
 * token, so a link opens one job's files until it expires, nothing else, and replacing the API
 * token (delete the token file, or change CHILLY_TOKEN) revokes every link given out.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Six hours: a long film, paused for dinner, still plays; a leaked link dies the same evening. */
export const DEFAULT_STREAM_TOKEN_SECONDS = 6 * 60 * 60;

const KEY_LABEL = 'chilly-stream-key';
/** `<1-12 digits>.<43 base64url characters>`: anything else is refused before any hashing. */
const TOKEN_PATTERN = /^([0-9]{1,12})\.([A-Za-z0-9_-]{43})$/;

export type StreamTokenCheck = 'valid' | 'missing' | 'malformed' | 'bad_signature' | 'expired';

export interface StreamTokens {
  /** A token for `jobId` that expires `lifetimeSeconds` from now (default: six hours). */
  issue(jobId: string, lifetimeSeconds?: number): { token: string; expiresAt: number };
  /** A token for `jobId` that expires at `expiresAt` (Unix seconds); for tests and tools. */
  sign(jobId: string, expiresAt: number): string;
  /** Whether `token` opens `jobId` now. Signatures are compared in constant time. */
  check(token: unknown, jobId: string): StreamTokenCheck;
}

export interface StreamTokenOptions {
  /** Milliseconds clock; tests pass a fake one. */
  now?: () => number;
  defaultLifetimeSeconds?: number;
}

export function createStreamTokens(apiToken: string, options: StreamTokenOptions = {}): StreamTokens {
  // A key of its own: a stream link never reveals anything usable as (or about) the API token.
  const key = createHmac('sha256', apiToken).update(KEY_LABEL, 'utf8').digest();
  const now = options.now ?? Date.now;
  const defaultLifetime = options.defaultLifetimeSeconds ?? DEFAULT_STREAM_TOKEN_SECONDS;
  const signature = (jobId: string, expiresAt: number): string =>
    createHmac('sha256', key).update(`stream:${jobId}:${expiresAt}`, 'utf8').digest('base64url');
  const sign = (jobId: string, expiresAt: number): string => {
    if (!Number.isSafeInteger(expiresAt) || expiresAt < 0 || expiresAt > 999_999_999_999) {
      throw new RangeError(`expiresAt must be Unix seconds, not ${expiresAt}`);
    }
    return `${expiresAt}.${signature(jobId, expiresAt)}`;
  };
  return {
    sign,
    issue(jobId, lifetimeSeconds = defaultLifetime) {
      if (!Number.isInteger(lifetimeSeconds) || lifetimeSeconds < 1) {
        throw new RangeError(`lifetimeSeconds must be a positive integer, not ${lifetimeSeconds}`);
      }
      const expiresAt = Math.floor(now() / 1000) + lifetimeSeconds;
      return { token: sign(jobId, expiresAt), expiresAt };
    },
    check(token, jobId) {
      if (token === undefined || token === '') return 'missing';
      const match = typeof token === 'string' ? TOKEN_PATTERN.exec(token) : null;
      if (match?.[1] === undefined || match[2] === undefined) return 'malformed';
      const expiresAt = Number(match[1]);
      // Compare the canonical text, not decoded bytes: base64url has several spellings of the same
      // bytes (the last character's spare bits), and a tampered link must never pass.
      const expected = Buffer.from(signature(jobId, expiresAt), 'utf8');
      const presented = Buffer.from(match[2], 'utf8');
      if (!timingSafeEqual(presented, expected)) return 'bad_signature';
      // Checked after the signature, so only a link this server made learns that it expired.
      return expiresAt * 1000 > now() ? 'valid' : 'expired';
    },
  };
}
