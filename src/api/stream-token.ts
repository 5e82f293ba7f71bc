/**
 * Signed stream links. Video players cannot send an `Authorization` header, so a stream URL
 * carries `?t=<expiresAt>.<signature>` instead: `expiresAt` in Unix seconds, the signature
 * HMAC-SHA256 over the job id, the torrent's info-hash and `expiresAt`, base64url. The key is
 * derived from the API token, so a link opens the files of one torrent under one job id until it
 * expires, nothing else: a job cancelled and re-added under the same id with another torrent does
 * not open with the old job's links. Replacing the API token (delete the token file, or change
 * CHILLY_TOKEN) revokes every link given out.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Six hours: a long film, paused for dinner, still plays; a leaked link dies the same evening. */
export const DEFAULT_STREAM_TOKEN_SECONDS = 6 * 60 * 60;

const KEY_LABEL = 'chilly-stream-key';
/** `<1-12 digits>.<43 base64url characters>`: anything else is refused before any hashing. */
const TOKEN_PATTERN = /^([0-9]{1,12})\.([A-Za-z0-9_-]{43})$/;

export type StreamTokenCheck = 'valid' | 'missing' | 'malformed' | 'bad_signature' | 'expired';

/** What a link opens: a job id, while it holds the torrent with this info-hash. */
export interface StreamSubject {
  jobId: string;
  infoHash: string;
}

export interface StreamTokens {
  /** A token for `subject` that expires `lifetimeSeconds` from now (default: six hours). */
  issue(subject: StreamSubject, lifetimeSeconds?: number): { token: string; expiresAt: number };
  /** A token for `subject` that expires at `expiresAt` (Unix seconds); for tests and tools. */
  sign(subject: StreamSubject, expiresAt: number): string;
  /** Whether `token` opens `subject` now. Signatures are compared in constant time. */
  check(token: unknown, subject: StreamSubject): StreamTokenCheck;
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
  // A JSON array, so that no job id can run into the info-hash ("a:b" + "c" vs "a" + "b:c").
  // Info-hashes are compared in lower case: hex is case-insensitive, and base32 ones are upper case.
  const signature = (subject: StreamSubject, expiresAt: number): string => {
    const message = JSON.stringify(['stream', subject.jobId, subject.infoHash.toLowerCase(), expiresAt]);
    return createHmac('sha256', key).update(message, 'utf8').digest('base64url');
  };
  const sign = (subject: StreamSubject, expiresAt: number): string => {
    if (!Number.isSafeInteger(expiresAt) || expiresAt < 0 || expiresAt > 999_999_999_999) {
      throw new RangeError(`expiresAt must be Unix seconds, not ${expiresAt}`);
    }
    return `${expiresAt}.${signature(subject, expiresAt)}`;
  };
  return {
    sign,
    issue(subject, lifetimeSeconds = defaultLifetime) {
      if (!Number.isInteger(lifetimeSeconds) || lifetimeSeconds < 1) {
        throw new RangeError(`lifetimeSeconds must be a positive integer, not ${lifetimeSeconds}`);
      }
      const expiresAt = Math.floor(now() / 1000) + lifetimeSeconds;
      return { token: sign(subject, expiresAt), expiresAt };
    },
    check(token, subject) {
      if (token === undefined || token === '') return 'missing';
      const match = typeof token === 'string' ? TOKEN_PATTERN.exec(token) : null;
      if (match?.[1] === undefined || match[2] === undefined) return 'malformed';
      const expiresAt = Number(match[1]);
      // Compare the canonical text, not decoded bytes: base64url has several spellings of the same
      // bytes (the last character's spare bits), and a tampered link must never pass.
      const expected = Buffer.from(signature(subject, expiresAt), 'utf8');
      const presented = Buffer.from(match[2], 'utf8');
      if (!timingSafeEqual(presented, expected)) return 'bad_signature';
      // Checked after the signature, so only a link this server made learns that it expired.
      return expiresAt * 1000 > now() ? 'valid' : 'expired';
    },
  };
}
