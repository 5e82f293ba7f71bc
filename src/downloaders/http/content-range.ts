/**
 * `Content-Range` of a 206 or 416 answer (RFC 9110 §14.4), read strictly: the server's word on
 * which bytes its body holds decides where they are written, so anything odd is refused.
 */

/** `bytes first-last/complete` (complete undefined for `*`), or `bytes * /complete` (a 416's). */
export type ContentRange =
  | { kind: 'range'; first: number; last: number; complete: number | undefined }
  | { kind: 'unsatisfied'; complete: number };

/** A longer header cannot be a valid one (16 digits is past the largest safe integer). */
const MAX_HEADER_LENGTH = 128;
const RANGE = /^bytes[ \t]+(\d{1,16})-(\d{1,16})\/(\d{1,16}|\*)$/i;
const UNSATISFIED = /^bytes[ \t]+\*\/(\d{1,16})$/i;

/** The header's range, or undefined when it is missing, malformed or inconsistent. */
export function parseContentRange(header: string | null | undefined): ContentRange | undefined {
  if (typeof header !== 'string' || header.length > MAX_HEADER_LENGTH) return undefined;
  const value = header.trim();
  const unsatisfied = UNSATISFIED.exec(value);
  if (unsatisfied !== null) {
    const complete = safeInteger(unsatisfied[1]);
    return complete === undefined ? undefined : { kind: 'unsatisfied', complete };
  }
  const range = RANGE.exec(value);
  if (range === null) return undefined;
  const first = safeInteger(range[1]);
  const last = safeInteger(range[2]);
  const complete = range[3] === '*' ? undefined : safeInteger(range[3]);
  if (first === undefined || last === undefined || last < first) return undefined;
  if (range[3] !== '*' && (complete === undefined || last >= complete)) return undefined;
  return { kind: 'range', first, last, complete };
}

function safeInteger(digits: string | undefined): number | undefined {
  if (digits === undefined) return undefined;
  const value = Number(digits);
  return Number.isSafeInteger(value) ? value : undefined;
}
